//! GraphQL over HTTP on `/graphql`, as the GraphQL-over-HTTP spec describes it: queries by GET (mutations
//! refused 405), any operation by POST as JSON (one request or a capped batch) or in the GraphQL multipart
//! request spec for file uploads; refusing what must not run (other content types, oversized bodies, multipart
//! without a preflight header) before any work; executing as the authenticated viewer; and answering in
//! `application/graphql-response+json` or `application/json`, by `Accept`, with the status codes each calls for.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_graphql::futures_util::{StreamExt, future::join_all};
use async_graphql::http::MultipartOptions;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{BatchRequest, ParseRequestError, Variables};
use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State as AxumState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::compat::TokioAsyncReadCompatExt;

use super::layers::RequestFacts;
use super::refusal::{MediaType, Refusal};
use super::{AppState, viewer};
use crate::auth::Viewer;
use crate::config::HttpSettings;
use crate::error::AppError;
use crate::graphql;

/// Headers a cross-site HTML form cannot send: a multipart request must carry one of them, so the browser
/// preflights it and CORS decides (the same rule as Apollo Server's CSRF prevention).
pub const PREFLIGHT_HEADERS: [&str; 2] = ["apollo-require-preflight", "x-apollo-operation-name"];

/// `GET /graphql`: a WebSocket upgrade (subscriptions), GraphiQL for a browser that asks for a page, or a query
/// in the URL (`query`, `variables`, `operationName`, `extensions`, `documentId`). Mutations are refused 405:
/// a GET must be safe to repeat, prefetch and cache.
pub async fn graphql_get(AxumState(state): AxumState<AppState>, request: Request) -> Response {
    if crate::realtime::ws::is_upgrade(request.headers()) {
        return crate::realtime::ws::upgrade(state, request).await;
    }
    let (parts, _) = request.into_parts();
    let raw_query = parts.uri.query().unwrap_or_default();
    let params = match Query::<GetParams>::try_from_uri(&parts.uri) {
        Ok(Query(params)) => params,
        Err(e) => return Refusal::bad_request("query string", e.body_text()).into_response(),
    };
    if params.is_empty() && wants_html(&parts.headers) {
        return super::graphiql().await.into_response();
    }
    let media = match negotiate(&parts.headers) {
        Ok(media) => media,
        Err(refusal) => return refusal.into_response(),
    };
    let limit = state.services.config.http.max_body_bytes;
    if raw_query.len() > limit {
        return Refusal::new(
            StatusCode::URI_TOO_LONG,
            "URI_TOO_LONG",
            format!(
                "the query string is {} bytes, over the limit of {limit} (MAX_BODY_BYTES); send long documents \
                 with POST, or as persisted queries",
                raw_query.len()
            ),
        )
        .detail("limit", limit)
        .detail("measured", raw_query.len())
        .detail("setting", "MAX_BODY_BYTES")
        .render(media);
    }
    let request = match params.into_request() {
        Ok(request) => request,
        Err(refusal) => return refusal.render(media),
    };
    let request = match resolve_persisted(&state, request, media).await {
        Ok(request) => request,
        Err(refusal) => return refusal.render(media),
    };
    if let Some(refusal) = refuse_unless_query(&request) {
        return refusal.render(media);
    }
    let client = parts.extensions.get::<super::client::ClientAddr>().copied();
    run(&state, &parts.headers, client, BatchRequest::Single(request), media).await
}

/// A browser navigating to the endpoint: it asks for HTML.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("text/html"))
}

/// The parameters of a GET request; `variables` and `extensions` are JSON text.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
    document_id: Option<String>,
}

impl GetParams {
    fn is_empty(&self) -> bool {
        self.query.is_none() && self.extensions.is_none() && self.document_id.is_none()
    }

    fn into_request(self) -> Result<async_graphql::Request, Refusal> {
        let json = |name: &str, text: Option<String>| -> Result<Value, Refusal> {
            match text.filter(|t| !t.trim().is_empty()) {
                None => Ok(Value::Null),
                Some(text) => {
                    serde_json::from_str(&text).map_err(|e| Refusal::bad_request(name, format!("not JSON: {e}")))
                }
            }
        };
        let mut object = serde_json::Map::new();
        object.insert("query".into(), self.query.map_or(Value::Null, Value::String));
        object.insert(
            "operationName".into(),
            self.operation_name.map_or(Value::Null, Value::String),
        );
        object.insert("variables".into(), json("variables", self.variables)?);
        object.insert("extensions".into(), json("extensions", self.extensions)?);
        object.insert("documentId".into(), self.document_id.map_or(Value::Null, Value::String));
        wire_request(Value::Object(object), "")
    }
}

/// `None` when the request's operation is a query; a 405 refusal when it is a mutation or a subscription.
/// A document that does not parse, or names no operation it holds, is left to execution to report.
fn refuse_unless_query(request: &async_graphql::Request) -> Option<Refusal> {
    let document = async_graphql::parser::parse_query(&request.query).ok()?;
    let operation = match (&document.operations, request.operation_name.as_deref()) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name)?,
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next()?,
        _ => return None,
    };
    let kind = match operation.node.ty {
        OperationType::Query => return None,
        OperationType::Mutation => "a mutation",
        OperationType::Subscription => "a subscription",
    };
    Some(
        Refusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!("{kind} cannot run over GET: send it with POST"),
        )
        .header(header::ALLOW, "GET, POST"),
    )
}

/// `POST /graphql`.
pub async fn graphql_post(AxumState(state): AxumState<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let media = match negotiate(&parts.headers) {
        Ok(media) => media,
        Err(refusal) => return refusal.into_response(),
    };
    let settings = &state.services.config.http;
    let batch = match read_post(settings, &parts.headers, body).await {
        Ok(batch) => batch,
        Err(refusal) => return refusal.render(media),
    };
    if let BatchRequest::Batch(requests) = &batch
        && requests.len() > settings.max_batch_operations
    {
        return Refusal::new(
            StatusCode::BAD_REQUEST,
            "BATCH_TOO_LARGE",
            format!(
                "the batch holds {} operations; at most {} are accepted in one request (MAX_BATCH_OPERATIONS)",
                requests.len(),
                settings.max_batch_operations
            ),
        )
        .detail("limit", settings.max_batch_operations)
        .detail("measured", requests.len())
        .detail("setting", "MAX_BATCH_OPERATIONS")
        .render(media);
    }
    let batch = match batch {
        BatchRequest::Single(request) => match resolve_persisted(&state, request, media).await {
            Ok(request) => BatchRequest::Single(request),
            Err(refusal) => return refusal.render(media),
        },
        BatchRequest::Batch(requests) => {
            let mut resolved = Vec::with_capacity(requests.len());
            for request in requests {
                match resolve_persisted(&state, request, media).await {
                    Ok(request) => resolved.push(request),
                    Err(refusal) => return refusal.render(media),
                }
            }
            BatchRequest::Batch(resolved)
        }
    };
    let client = parts.extensions.get::<super::client::ClientAddr>().copied();
    run(&state, &parts.headers, client, batch, media).await
}

/// Looks up (or registers) the document of a request that carries `extensions.persistedQuery`.
async fn resolve_persisted(
    state: &AppState,
    request: async_graphql::Request,
    media: MediaType,
) -> Result<async_graphql::Request, Refusal> {
    let limit = state.services.config.http.max_body_bytes;
    state.persisted.resolve(&state.db, limit, request, media).await
}

/// What a request body holds, by its `Content-Type`.
enum BodyKind {
    Json,
    Multipart(String),
}

fn body_kind(headers: &HeaderMap) -> Result<BodyKind, Refusal> {
    let unsupported = |found: &str| {
        Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            format!(
                "Content-Type {found} is not accepted: send application/json, or multipart/form-data for file \
                 uploads"
            ),
        )
    };
    let Some(raw) = headers.get(header::CONTENT_TYPE) else {
        return Err(unsupported("(missing)"));
    };
    let text = raw.to_str().map_err(|_| unsupported("(not text)"))?;
    let mime: mime::Mime = text.parse().map_err(|_| unsupported(&format!("{text:?}")))?;
    match (mime.type_(), mime.subtype()) {
        (mime::APPLICATION, mime::JSON) => match mime.get_param(mime::CHARSET) {
            Some(charset) if !charset.as_str().eq_ignore_ascii_case("utf-8") => {
                Err(unsupported(&format!("{text:?} (only the utf-8 charset is accepted)")))
            }
            _ => Ok(BodyKind::Json),
        },
        (mime::MULTIPART, mime::FORM_DATA) => Ok(BodyKind::Multipart(text.to_owned())),
        _ => Err(unsupported(&format!("{:?}", mime.essence_str()))),
    }
}

async fn read_post(settings: &HttpSettings, headers: &HeaderMap, body: Body) -> Result<BatchRequest, Refusal> {
    match body_kind(headers)? {
        BodyKind::Json => {
            let limit = settings.max_body_bytes;
            if declared_length(headers).is_some_and(|n| n > limit) {
                return Err(Refusal::too_large("MAX_BODY_BYTES", limit, "the request body"));
            }
            let bytes = read_limited(body, limit)
                .await?
                .ok_or_else(|| Refusal::too_large("MAX_BODY_BYTES", limit, "the request body"))?;
            parse_json_body(&bytes)
        }
        BodyKind::Multipart(content_type) => read_multipart(settings, headers, &content_type, body).await,
    }
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// Reads a body of at most `limit` bytes; `None` when it is longer.
async fn read_limited(body: Body, limit: usize) -> Result<Option<Bytes>, Refusal> {
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Refusal::bad_request("body", format!("could not be read: {e}")))?;
        if buf.len() + chunk.len() > limit {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Some(buf.into()))
}

/// A JSON body: one request object, or an array of them (a batch).
fn parse_json_body(bytes: &[u8]) -> Result<BatchRequest, Refusal> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| Refusal::bad_request("body", format!("not JSON: {e}")))?;
    match value {
        Value::Object(_) => Ok(BatchRequest::Single(wire_request(value, "")?)),
        Value::Array(items) => {
            if items.is_empty() {
                return Err(Refusal::bad_request("body", "a batch must hold at least one request"));
            }
            let requests = items
                .into_iter()
                .enumerate()
                .map(|(i, item)| wire_request(item, &format!("[{i}].")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(BatchRequest::Batch(requests))
        }
        _ => Err(Refusal::bad_request(
            "body",
            "a GraphQL request is a JSON object with `query` (or an array of them for a batch)",
        )),
    }
}

/// One GraphQL request from its JSON object, each member checked for its type so the error names it.
fn wire_request(value: Value, prefix: &str) -> Result<async_graphql::Request, Refusal> {
    let Value::Object(mut object) = value else {
        return Err(Refusal::bad_request(
            &format!("{prefix}request"),
            "must be a JSON object",
        ));
    };
    let field = |name: &str| format!("{prefix}{name}");
    let query = match object.remove("query") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(q)) => q,
        Some(_) => return Err(Refusal::bad_request(&field("query"), "must be a string")),
    };
    let mut request = async_graphql::Request::new(query);
    match object.remove("operationName") {
        None | Some(Value::Null) => {}
        Some(Value::String(name)) => request = request.operation_name(name),
        Some(_) => return Err(Refusal::bad_request(&field("operationName"), "must be a string")),
    }
    match object.remove("variables") {
        None | Some(Value::Null) => {}
        Some(v @ Value::Object(_)) => request = request.variables(Variables::from_json(v)),
        Some(_) => return Err(Refusal::bad_request(&field("variables"), "must be a JSON object")),
    }
    match object.remove("extensions") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (key, value) in map {
                let value = async_graphql::Value::from_json(value)
                    .map_err(|e| Refusal::bad_request(&field("extensions"), e))?;
                request.extensions.insert(key, value);
            }
        }
        Some(_) => return Err(Refusal::bad_request(&field("extensions"), "must be a JSON object")),
    }
    // A persisted document's id (GraphQL-over-HTTP persisted documents, `sha256:<hex>`) is looked up like
    // Apollo's `extensions.persistedQuery`.
    match object.remove("documentId") {
        None | Some(Value::Null) => {}
        Some(Value::String(id)) => {
            let hash = id.strip_prefix("sha256:").unwrap_or(&id).to_owned();
            let persisted = async_graphql::value!({ "version": 1, "sha256Hash": hash });
            request.extensions.insert("persistedQuery".into(), persisted);
        }
        Some(_) => return Err(Refusal::bad_request(&field("documentId"), "must be a string")),
    }
    if request.query.trim().is_empty() && !request.extensions.contains_key("persistedQuery") {
        return Err(Refusal::bad_request(
            &field("query"),
            "required: the GraphQL document to run (or a persisted query's hash in extensions.persistedQuery)",
        ));
    }
    Ok(request)
}

/// A request in the GraphQL multipart request spec, with its files held in memory within the upload limits.
async fn read_multipart(
    settings: &HttpSettings,
    headers: &HeaderMap,
    content_type: &str,
    body: Body,
) -> Result<BatchRequest, Refusal> {
    let preflighted = PREFLIGHT_HEADERS
        .iter()
        .any(|name| headers.get(*name).is_some_and(|v| !v.as_bytes().is_empty()));
    if !preflighted {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "PREFLIGHT_HEADER_REQUIRED",
            "a multipart/form-data request must carry a non-empty `apollo-require-preflight` or \
             `x-apollo-operation-name` header (a cross-site form cannot send either, which keeps uploads safe \
             from request forgery)",
        ));
    }
    // The files at their limits, plus room for the `operations` and `map` parts.
    let cap = settings
        .upload_max_files
        .saturating_mul(settings.upload_max_file_bytes)
        .saturating_add(settings.max_body_bytes);
    let over_total = || {
        Refusal::too_large(
            "UPLOAD_MAX_FILES × UPLOAD_MAX_FILE_BYTES",
            cap,
            "the multipart request body",
        )
        .detail("maxFiles", settings.upload_max_files)
        .detail("maxFileBytes", settings.upload_max_file_bytes)
    };
    if declared_length(headers).is_some_and(|n| n > cap) {
        return Err(over_total());
    }
    let seen = Arc::new(AtomicUsize::new(0));
    let exceeded = Arc::new(AtomicBool::new(false));
    let stream = {
        let (seen, exceeded) = (seen.clone(), exceeded.clone());
        body.into_data_stream().map(move |chunk| {
            let chunk = chunk.map_err(std::io::Error::other)?;
            if seen.fetch_add(chunk.len(), Ordering::Relaxed) + chunk.len() > cap {
                exceeded.store(true, Ordering::Relaxed);
                return Err(std::io::Error::other("request body over the limit"));
            }
            Ok(chunk)
        })
    };
    let reader = tokio_util::io::StreamReader::new(stream).compat();
    // Only the per-file limit goes to the parser: the total is enforced above, and the count below.
    let options = MultipartOptions::default().max_file_size(settings.upload_max_file_bytes);
    let batch = match async_graphql::http::receive_batch_body(Some(content_type), reader, options).await {
        Ok(batch) => batch,
        Err(_) if exceeded.load(Ordering::Relaxed) => return Err(over_total()),
        Err(ParseRequestError::PayloadTooLarge) => {
            return Err(Refusal::too_large(
                "UPLOAD_MAX_FILE_BYTES",
                settings.upload_max_file_bytes,
                "a file (or part) of the multipart request",
            ));
        }
        Err(e) => {
            return Err(Refusal::bad_request(
                "body",
                format!("not a GraphQL multipart request: {e}"),
            ));
        }
    };
    let files: usize = match &batch {
        BatchRequest::Single(r) => r.uploads.len(),
        BatchRequest::Batch(rs) => rs.iter().map(|r| r.uploads.len()).sum(),
    };
    if files > settings.upload_max_files {
        return Err(Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!(
                "the request carries {files} files; at most {} are accepted (UPLOAD_MAX_FILES)",
                settings.upload_max_files
            ),
        )
        .detail("limit", settings.upload_max_files)
        .detail("measured", files)
        .detail("setting", "UPLOAD_MAX_FILES"));
    }
    Ok(batch)
}

/// The response media type the client asked for in `Accept`: `application/graphql-response+json` when it
/// prefers it, `application/json` when it prefers that, sends no `Accept`, or accepts anything; 406 when it
/// accepts neither.
pub fn negotiate(headers: &HeaderMap) -> Result<MediaType, Refusal> {
    let accept: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if accept.is_empty() {
        return Ok(MediaType::Json);
    }
    let mut best: Option<(f32, u8, MediaType)> = None;
    for range in accept.iter().flat_map(|v| v.split(',')) {
        let mut params = range.split(';').map(str::trim);
        let essence = params.next().unwrap_or_default().to_ascii_lowercase();
        let q = params
            .filter_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        // Among equal weights an exact type beats a wildcard, and the newer type beats the older.
        let candidate = match essence.as_str() {
            "application/graphql-response+json" => (q, 3, MediaType::GraphqlResponse),
            "application/json" => (q, 2, MediaType::Json),
            "application/*" | "*/*" => (q, 1, MediaType::Json),
            _ => continue,
        };
        if candidate.0 > 0.0 && best.is_none_or(|b| (candidate.0, candidate.1) > (b.0, b.1)) {
            best = Some(candidate);
        }
    }
    best.map(|b| b.2).ok_or_else(|| {
        Refusal::new(
            StatusCode::NOT_ACCEPTABLE,
            "NOT_ACCEPTABLE",
            "Accept names no type this endpoint answers in: application/graphql-response+json or application/json",
        )
    })
}

/// Authenticates once, executes every operation of the request, and writes the answer; its reads on the
/// connections the server keeps for them (`store::reader`).
pub(crate) async fn run(
    state: &AppState,
    headers: &HeaderMap,
    client: Option<super::client::ClientAddr>,
    batch: BatchRequest,
    media: MediaType,
) -> Response {
    let reader = state.services.reader.clone();
    crate::store::reader::scope(reader, answer(state, headers, client, batch, media)).await
}

async fn answer(
    state: &AppState,
    headers: &HeaderMap,
    client: Option<super::client::ClientAddr>,
    batch: BatchRequest,
    media: MediaType,
) -> Response {
    let operations = match &batch {
        BatchRequest::Single(request) => request.operation_name.clone(),
        BatchRequest::Batch(requests) => {
            let names: Vec<&str> = requests.iter().filter_map(|r| r.operation_name.as_deref()).collect();
            (!names.is_empty()).then(|| names.join(","))
        }
    };
    let (viewer, scope) = match viewer(state, headers).await {
        Ok(v) => v,
        Err(err) => {
            let mut response = Refusal::from_app(err).render(media);
            response.extensions_mut().insert(RequestFacts::new(operations, None));
            return response;
        }
    };
    let role = match &viewer {
        Viewer::Anonymous => "ANONYMOUS",
        Viewer::Account(principal) => principal.role.claim(),
    };
    let facts = RequestFacts::new(operations, Some(role));
    let execute = |request: async_graphql::Request| {
        let data = graphql::State::new(state.db.clone(), viewer.clone(), scope, state.services.clone());
        let mut request = request
            .data(data)
            .data(state.tokens.clone())
            .data(state.login_throttle.clone());
        if let Some(client) = client {
            request = request.data(client);
        }
        async move { with_codes(state.engine.execute(request).await) }
    };
    let mut response = match batch {
        BatchRequest::Single(request) => render(vec![execute(request).await], false, media),
        BatchRequest::Batch(requests) => render(join_all(requests.into_iter().map(execute)).await, true, media),
    };
    response.extensions_mut().insert(facts);
    response
}

/// Gives every error a stable `extensions.code` (see [`crate::error::ensure_code`]).
fn with_codes(mut response: async_graphql::Response) -> async_graphql::Response {
    for error in &mut response.errors {
        crate::error::ensure_code(error);
    }
    response
}

/// An error raised before execution began (parsing, validation, limits): the response has no `data` at all,
/// as the GraphQL spec requires, and no error has a path.
fn is_request_error(response: &async_graphql::Response) -> bool {
    matches!(response.data, async_graphql::Value::Null)
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// One response as it goes on the wire: `errors` first (so a reader sees them before a long `data`), `data`
/// only when execution began, then `extensions`. `data` is serialized straight from the executor's ordered
/// map, so keys keep their order.
#[derive(Serialize)]
struct WireResponse<'a> {
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [async_graphql::ServerError],
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a async_graphql::Value>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
}

impl<'a> WireResponse<'a> {
    fn of(response: &'a async_graphql::Response) -> Self {
        Self {
            errors: &response.errors,
            data: (!is_request_error(response)).then_some(&response.data),
            extensions: &response.extensions,
        }
    }
}

/// The longest `extensions.retryAfterSeconds` of a `RATE_LIMITED` error, for the `Retry-After` header.
fn retry_after(responses: &[async_graphql::Response]) -> Option<u64> {
    responses
        .iter()
        .flat_map(|r| r.errors.iter())
        .filter_map(|e| e.extensions.as_ref())
        .filter(|x| matches!(x.get("code"), Some(async_graphql::Value::String(c)) if c == "RATE_LIMITED"))
        .filter_map(|x| match x.get("retryAfterSeconds") {
            Some(async_graphql::Value::Number(n)) => n.as_u64(),
            _ => None,
        })
        .max()
}

fn render(mut responses: Vec<async_graphql::Response>, batch: bool, media: MediaType) -> Response {
    if let Some(id) = super::layers::current_request_id() {
        for error in responses.iter_mut().flat_map(|r| r.errors.iter_mut()) {
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("requestId", id.as_str());
        }
    }
    let wire: Vec<WireResponse<'_>> = responses.iter().map(WireResponse::of).collect();
    let body = match (batch, wire.first()) {
        (false, Some(single)) => serde_json::to_vec(single),
        _ => serde_json::to_vec(&wire),
    };
    let body = match body {
        Ok(body) => body,
        Err(e) => return Refusal::from_app(AppError::Internal(format!("serializing a response: {e}"))).render(media),
    };
    // application/json answers every well-formed request with 200; the newer type says "request error" with 400.
    let status = if media == MediaType::GraphqlResponse && !batch && responses.iter().all(is_request_error) {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    if let Some(seconds) = retry_after(&responses) {
        response.headers_mut().insert(header::RETRY_AFTER, seconds.into());
    }
    response
}
