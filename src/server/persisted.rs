//! Persisted queries: Apollo's automatic persisted queries (APQ). A request may carry
//! `extensions.persistedQuery { version: 1, sha256Hash }` instead of its document; the document is looked up
//! by that hash in the database (shared by every instance, bounded by `APQ_MAX_DOCUMENTS`, least recently
//! used evicted first) behind a small in-process cache. An unknown hash is answered `PERSISTED_QUERY_NOT_FOUND`
//! so the client sends the document once with its hash, which registers it after the hash is verified.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::StatusCode;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use sha2::{Digest, Sha256};

use super::refusal::{MediaType, Refusal};
use crate::error::AppError;
use crate::sql::Sql;

/// How many documents the in-process cache holds in front of the database.
const CACHE_CAPACITY: usize = 512;
/// A document served from the cache has its database `last_used_at` refreshed at most this often, so the
/// least-recently-used order stays right without a write per request.
const TOUCH_EVERY_MS: i64 = 60_000;

/// The persisted-query store of one server instance: the database table and a bounded cache in front of it.
pub struct PersistedQueries {
    max_documents: usize,
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
    pub fn new(max_documents: usize) -> Self {
        Self {
            max_documents,
            cache: Mutex::new(Cache::default()),
        }
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
            self.store(db, &hash, &request.query, now)
                .await
                .map_err(Refusal::from_app)?;
            self.remember(&hash, &request.query, now);
            return Ok(request);
        }
        if let Some((document, touch)) = self.cached(&hash, now) {
            if touch {
                // A failed touch only costs LRU precision; the request is served either way.
                if let Err(e) = self.touch(db, &hash, now).await {
                    tracing::warn!(error = %e.message(), "refreshing a persisted query's last use failed");
                }
            }
            request.query = document;
            return Ok(request);
        }
        match self.load(db, &hash, now).await.map_err(Refusal::from_app)? {
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

    async fn load(&self, db: &DatabaseConnection, hash: &str, now: i64) -> Result<Option<String>, AppError> {
        let mut sql = Sql::new("UPDATE persisted_queries SET last_used_at = ");
        sql.bind(now)
            .push(" WHERE hash = ")
            .bind(hash.to_owned())
            .push(" RETURNING document");
        let row = db.query_one_raw(sql.build(db.get_database_backend())).await?;
        match row {
            Some(row) => Ok(Some(row.try_get_by_index(0)?)),
            None => Ok(None),
        }
    }

    async fn touch(&self, db: &DatabaseConnection, hash: &str, now: i64) -> Result<(), AppError> {
        let mut sql = Sql::new("UPDATE persisted_queries SET last_used_at = ");
        sql.bind(now).push(" WHERE hash = ").bind(hash.to_owned());
        db.execute_raw(sql.build(db.get_database_backend())).await?;
        Ok(())
    }

    /// Registers a document (or refreshes its last use), then evicts the least recently used past the bound.
    async fn store(&self, db: &DatabaseConnection, hash: &str, document: &str, now: i64) -> Result<(), AppError> {
        let backend = db.get_database_backend();
        let mut sql = Sql::new("INSERT INTO persisted_queries (hash, document, created_at, last_used_at) VALUES (");
        sql.bind(hash.to_owned())
            .push(", ")
            .bind(document.to_owned())
            .push(", ")
            .bind(now)
            .push(", ")
            .bind(now)
            .push(") ON CONFLICT (hash) DO UPDATE SET last_used_at = excluded.last_used_at");
        db.execute_raw(sql.build(backend)).await?;
        let mut evict = Sql::new(
            "DELETE FROM persisted_queries WHERE hash NOT IN (SELECT hash FROM persisted_queries \
             ORDER BY last_used_at DESC, created_at DESC LIMIT ",
        );
        evict.bind(self.max_documents as i64).push(")");
        db.execute_raw(evict.build(backend)).await?;
        Ok(())
    }
}
