//! Persisted queries: Apollo's automatic persisted queries (APQ). A request may carry
//! `extensions.persistedQuery { version: 1, sha256Hash }` instead of its document; the document is looked up
//! by that hash in the database (shared by every instance, bounded by `APQ_MAX_DOCUMENTS`, least recently
//! used evicted first) behind a small in-process cache. An unknown hash is answered `PERSISTED_QUERY_NOT_FOUND`
//! so the client sends the document once with its hash, which registers it after the hash is verified.
//!
//! Trusted documents: a manifest generated from a client's build (`TRUSTED_DOCUMENTS_MANIFEST`) whose ids are
//! accepted as hashes; with `TRUSTED_DOCUMENTS_ONLY=true` nothing else runs, whether sent by hash or in full.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use axum::http::StatusCode;
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};

use super::refusal::{MediaType, Refusal};
use crate::store::persisted as store;

/// How many documents the in-process cache holds in front of the database.
const CACHE_CAPACITY: usize = 512;
/// A document served from the cache has its database `last_used_at` refreshed at most this often, so the
/// least-recently-used order stays right without a write per request.
const TOUCH_EVERY_MS: i64 = 60_000;

/// The persisted-query store of one server instance: the database table and a bounded cache in front of it.
pub struct PersistedQueries {
    max_documents: usize,
    trusted: Option<Trusted>,
    trusted_only: bool,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    tick: u64,
    /// hash → (document, last use in this cache, last time the database row was touched).
    entries: HashMap<String, (String, u64, i64)>,
}

impl Cache {
    fn get(&mut self, hash: &str, now: i64) -> Option<(String, bool)> {
        self.tick += 1;
        let tick = self.tick;
        let entry = self.entries.get_mut(hash)?;
        entry.1 = tick;
        let stale = now - entry.2 >= TOUCH_EVERY_MS;
        if stale {
            entry.2 = now;
        }
        Some((entry.0.clone(), stale))
    }

    fn put(&mut self, hash: &str, document: &str, now: i64) {
        self.tick += 1;
        if self.entries.len() >= CACHE_CAPACITY && !self.entries.contains_key(hash) {
            let oldest = self.entries.iter().min_by_key(|(_, e)| e.1).map(|(h, _)| h.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.entries
            .insert(hash.to_owned(), (document.to_owned(), self.tick, now));
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The lowercase hex SHA-256 of a document's text, as Apollo's client computes it.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const HASH_FIELD: &str = "extensions.persistedQuery.sha256Hash";
const VERSION_FIELD: &str = "extensions.persistedQuery.version";

impl PersistedQueries {
    /// The store for these settings, with the trusted-documents manifest read and checked; an error says
    /// what is wrong with the manifest, and start-up stops on it.
    pub fn load(http: &crate::config::HttpSettings) -> Result<Self, String> {
        let trusted = match &http.trusted_documents_manifest {
            Some(path) => Some(Trusted::read(path)?),
            None if http.trusted_documents_only => {
                return Err(
                    "TRUSTED_DOCUMENTS_ONLY=true needs TRUSTED_DOCUMENTS_MANIFEST (the path to the manifest \
                            of allowed operations)"
                        .into(),
                );
            }
            None => None,
        };
        if let Some(trusted) = &trusted {
            tracing::info!(
                operations = trusted.by_id.len(),
                only = http.trusted_documents_only,
                "loaded the trusted documents manifest"
            );
        }
        Ok(Self {
            max_documents: http.apq_max_documents,
            trusted,
            trusted_only: http.trusted_documents_only,
            cache: Mutex::new(Cache::default()),
        })
    }

    fn cached(&self, hash: &str, now: i64) -> Option<(String, bool)> {
        self.cache.lock().ok()?.get(hash, now)
    }

    fn remember(&self, hash: &str, document: &str, now: i64) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.put(hash, document, now);
        }
    }

    /// Fills in the document of a request that names a persisted query, or registers the document it carries
    /// with its hash. A request without `extensions.persistedQuery` is returned as it came.
    pub async fn resolve(
        &self,
        db: &DatabaseConnection,
        max_document_bytes: usize,
        mut request: async_graphql::Request,
        media: MediaType,
    ) -> Result<async_graphql::Request, Refusal> {
        let Some(persisted) = request.extensions.remove("persistedQuery") else {
            if self.trusted_only && !self.trusted.as_ref().is_some_and(|t| t.bodies.contains(&request.query)) {
                return Err(not_allowed());
            }
            return Ok(request);
        };
        let async_graphql::Value::Object(persisted) = persisted else {
            return Err(Refusal::bad_request(
                "extensions.persistedQuery",
                "must be an object { version: 1, sha256Hash }",
            ));
        };
        match persisted.get("version") {
            Some(async_graphql::Value::Number(n)) if n.as_u64() == Some(1) => {}
            Some(_) => {
                return Err(Refusal::bad_request(
                    VERSION_FIELD,
                    "only version 1 (SHA-256) is supported",
                ));
            }
            None => return Err(Refusal::bad_request(VERSION_FIELD, "required: 1")),
        }
        // A manifest id (any string) names a trusted document.
        if let (Some(trusted), Some(async_graphql::Value::String(id))) = (&self.trusted, persisted.get("sha256Hash"))
            && let Some(document) = trusted.by_id.get(id.as_str())
        {
            if !request.query.trim().is_empty() && request.query != *document {
                return Err(Refusal::bad_request(
                    HASH_FIELD,
                    "names a trusted document other than the `query` sent",
                ));
            }
            request.query = document.clone();
            return Ok(request);
        }
        if self.trusted_only {
            return Err(not_allowed());
        }
        let hash = match persisted.get("sha256Hash") {
            Some(async_graphql::Value::String(h)) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
                h.to_ascii_lowercase()
            }
            Some(_) => {
                return Err(Refusal::bad_request(
                    HASH_FIELD,
                    "must be the 64 hexadecimal digits of a SHA-256",
                ));
            }
            None => return Err(Refusal::bad_request(HASH_FIELD, "required")),
        };
        let now = now_ms();
        if !request.query.trim().is_empty() {
            if request.query.len() > max_document_bytes {
                return Err(Refusal::too_large(
                    "MAX_BODY_BYTES",
                    max_document_bytes,
                    "a persisted query document",
                ));
            }
            let computed = sha256_hex(&request.query);
            if computed != hash {
                return Err(Refusal::bad_request(
                    HASH_FIELD,
                    format!("does not match the SHA-256 of `query` ({computed})"),
                )
                .detail("computed", computed));
            }
            store::store(db, &hash, &request.query, now, self.max_documents as i64)
                .await
                .map_err(Refusal::from_app)?;
            self.remember(&hash, &request.query, now);
            return Ok(request);
        }
        if let Some((document, touch)) = self.cached(&hash, now) {
            if touch {
                // A failed touch only costs LRU precision; the request is served either way.
                if let Err(e) = store::touch(db, &hash, now).await {
                    tracing::warn!(error = %e.message(), "refreshing a persisted query's last use failed");
                }
            }
            request.query = document;
            return Ok(request);
        }
        match store::fetch(db, &hash, now).await.map_err(Refusal::from_app)? {
            Some(document) => {
                self.remember(&hash, &document, now);
                request.query = document;
                Ok(request)
            }
            None => {
                // application/json answers 200 (Apollo's link retries with the document on this code);
                // application/graphql-response+json calls it a request error, 400.
                let status = match media {
                    MediaType::Json => StatusCode::OK,
                    MediaType::GraphqlResponse => StatusCode::BAD_REQUEST,
                };
                Err(Refusal::new(
                    status,
                    "PERSISTED_QUERY_NOT_FOUND",
                    "PersistedQueryNotFound",
                ))
            }
        }
    }
}

fn not_allowed() -> Refusal {
    Refusal::new(
        StatusCode::BAD_REQUEST,
        "PERSISTED_QUERY_NOT_ALLOWED",
        "this server runs only the trusted documents of its manifest (TRUSTED_DOCUMENTS_ONLY), and this document \
         is not one of them",
    )
}

/// The operations of a trusted-documents manifest.
struct Trusted {
    /// Manifest id (a hash) → document.
    by_id: HashMap<String, String>,
    /// Every document text, to accept a trusted document sent in full.
    bodies: HashSet<String>,
}

impl Trusted {
    /// Reads Apollo's persisted-query manifest (`{ "format": "apollo-persisted-query-manifest", "version": 1,
    /// "operations": [{ "id", "name", "type", "body" }] }`) or graphql-codegen's `{ "<hash>": "<document>" }`.
    fn read(path: &std::path::Path) -> Result<Self, String> {
        let fail = |what: String| format!("TRUSTED_DOCUMENTS_MANIFEST {}: {what}", path.display());
        let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot be read: {e}")))?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| fail(format!("is not JSON: {e}")))?;
        let serde_json::Value::Object(object) = value else {
            return Err(fail("must be a JSON object".into()));
        };
        let mut by_id = HashMap::new();
        if let Some(format) = object.get("format") {
            if format != "apollo-persisted-query-manifest" {
                return Err(fail(format!(
                    "format {format} is not \"apollo-persisted-query-manifest\""
                )));
            }
            if object.get("version").and_then(|v| v.as_u64()) != Some(1) {
                return Err(fail("only version 1 of the Apollo manifest is supported".into()));
            }
            let Some(operations) = object.get("operations").and_then(|o| o.as_array()) else {
                return Err(fail("`operations` must be an array".into()));
            };
            for (i, operation) in operations.iter().enumerate() {
                let field = |name: &str| operation.get(name).and_then(|v| v.as_str());
                let (Some(id), Some(body)) = (field("id"), field("body")) else {
                    return Err(fail(format!("operations[{i}] needs a string `id` and `body`")));
                };
                by_id.insert(id.to_owned(), body.to_owned());
            }
        } else {
            for (id, body) in object {
                let serde_json::Value::String(body) = body else {
                    return Err(fail(format!(
                        "the value of {id:?} is not a document: expected an Apollo manifest or a map of hash to \
                         document"
                    )));
                };
                by_id.insert(id, body);
            }
        }
        for (id, body) in &by_id {
            if let Err(e) = async_graphql::parser::parse_query(body) {
                return Err(fail(format!("the document of {id:?} is not valid GraphQL: {e}")));
            }
        }
        let bodies = by_id.values().cloned().collect();
        Ok(Self { by_id, bodies })
    }
}
