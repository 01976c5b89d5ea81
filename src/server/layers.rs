//! HTTP middleware of the server, applied to every route: a request id on every response and log line, CORS,
//! compression, panics answered instead of dropping the connection, a time limit, and a header size cap.

use std::time::Duration;

use axum::extract::{Request, State as AxumState};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;

use super::AppState;
use super::refusal::Refusal;
use crate::config::Config;
use crate::error::AppError;

/// The header carrying the request id, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static CURRENT_REQUEST_ID: String;
}

/// The id of the request being served on this task, if any.
pub fn current_request_id() -> Option<String> {
    CURRENT_REQUEST_ID.try_with(Clone::clone).ok()
}

/// An incoming id is kept when it is short and plain (a load balancer's or a client's trace id), so one id
/// follows a request across systems; anything else is replaced by a fresh random one.
fn sane(id: &str) -> bool {
    (8..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// Gives every request an id: in the `x-request-id` response header, in the log span of everything the request
/// does, and (through [`current_request_id`]) in every error's `extensions.requestId`.
pub async fn request_id(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane(v))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{:032x}", rand::random::<u128>()));
    let span =
        tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path());
    let mut response = CURRENT_REQUEST_ID
        .scope(id.clone(), next.run(request).instrument(span))
        .await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// What the GraphQL handler learnt about a request, handed to the access log through the response's
/// extensions: the operation name(s) and the viewer's role. Never variables, tokens or anything personal.
#[derive(Clone, Debug)]
pub struct RequestFacts {
    pub operation: Option<String>,
    pub role: Option<&'static str>,
}

impl RequestFacts {
    /// An operation name is the client's text: it is logged only when it looks like GraphQL names (a batch's
    /// are joined by commas) and is short, so a log line cannot be forged or flooded through it.
    pub fn new(operation: Option<String>, role: Option<&'static str>) -> Self {
        let plain = |name: &str| {
            name.split(',').all(|n| {
                n.bytes().next().is_some_and(|b| b == b'_' || b.is_ascii_alphabetic())
                    && n.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric())
            })
        };
        let operation = operation.map(|name| {
            if name.len() <= 200 && plain(&name) {
                name
            } else {
                "(not a GraphQL name)".into()
            }
        });
        Self { operation, role }
    }
}

/// One line per request once it is answered (health and metrics probes excepted): request id, method, route,
/// status, duration, and for GraphQL the operation name and the viewer's role.
pub fn access_log(route: &str, method: &Method, status: StatusCode, elapsed: Duration, facts: Option<&RequestFacts>) {
    if matches!(route, "/healthz" | "/readyz" | "/metrics") {
        return;
    }
    tracing::info!(
        request_id = current_request_id().as_deref().unwrap_or("-"),
        method = %method,
        route,
        status = status.as_u16(),
        duration_ms = (elapsed.as_secs_f64() * 1e4).round() / 10.0,
        operation = facts.and_then(|f| f.operation.as_deref()).unwrap_or("-"),
        role = facts.and_then(|f| f.role).unwrap_or("-"),
        "request answered"
    );
}

/// Answers a request still running after `REQUEST_TIMEOUT_SECONDS` with 503 `SERVICE_UNAVAILABLE`, which a
/// client may retry after `Retry-After`; the work in progress is dropped.
pub async fn time_limit(AxumState(state): AxumState<AppState>, request: Request, next: Next) -> Response {
    let seconds = state.services.config.http.request_timeout_seconds;
    match tokio::time::timeout(Duration::from_secs(seconds), next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(limit_seconds = seconds, "request cut off at the time limit");
            Refusal::from_app(AppError::Unavailable(format!(
                "the request took longer than the limit of {seconds} s (REQUEST_TIMEOUT_SECONDS); try again later"
            )))
            .detail("limit", seconds)
            .detail("setting", "REQUEST_TIMEOUT_SECONDS")
            .into_response()
        }
    }
}

/// Refuses requests whose headers (names and values, in bytes) exceed `MAX_HEADER_BYTES` with 431, before any
/// handler reads them.
pub async fn limit_headers(AxumState(state): AxumState<AppState>, request: Request, next: Next) -> Response {
    let limit = state.services.config.http.max_header_bytes;
    let size: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if size > limit {
        return Refusal::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "HEADERS_TOO_LARGE",
            format!("the request headers take {size} bytes, over the limit of {limit} (MAX_HEADER_BYTES)"),
        )
        .detail("limit", limit)
        .detail("measured", size)
        .detail("setting", "MAX_HEADER_BYTES")
        .into_response();
    }
    next.run(request).await
}

/// A panic anywhere below is answered as a GraphQL-shaped 500 `INTERNAL_SERVER_ERROR` with the request id; the
/// detail goes to the log only, and the process and the connection carry on.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic without a message".into());
    Refusal::from_app(AppError::Internal(format!("panic while serving a request: {detail}"))).into_response()
}

/// Whether `origin` is `http://localhost[:port]` or `http://127.0.0.1[:port]`: a front-end dev server.
fn is_local(origin: &HeaderValue) -> bool {
    let Ok(origin) = origin.to_str() else { return false };
    let rest = origin
        .strip_prefix("http://localhost")
        .or_else(|| origin.strip_prefix("http://127.0.0.1"));
    match rest {
        Some("") => true,
        Some(port) => port
            .strip_prefix(':')
            .is_some_and(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())),
        None => false,
    }
}

/// CORS: the configured origins; with none configured, no cross-origin access, except in the embedded demo,
/// where any local dev server may call the API. Preflights allow GET and POST with the headers clients send
/// (the token, the content type, and the headers that make a multipart upload preflighted), and are cached
/// by the browser for two hours (Chromium's cap).
pub fn cors(config: &Config) -> CorsLayer {
    let origins = &config.http.cors_allowed_origins;
    let allow_origin = if !origins.is_empty() {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    } else if config.database.is_embedded() {
        AllowOrigin::predicate(|origin, _| is_local(origin))
    } else {
        AllowOrigin::predicate(|_, _| false)
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("apollo-require-preflight"),
            HeaderName::from_static("x-apollo-operation-name"),
            HeaderName::from_static("apollographql-client-name"),
            HeaderName::from_static("apollographql-client-version"),
            REQUEST_ID,
        ])
        .expose_headers([REQUEST_ID, header::RETRY_AFTER, header::WWW_AUTHENTICATE])
        .max_age(Duration::from_secs(7200))
}

/// Smallest body worth compressing: below it the headers and CPU cost more than the bytes saved.
pub const COMPRESS_FROM_BYTES: u16 = 1024;

/// gzip, br or zstd, as the client's `Accept-Encoding` prefers, for bodies from [`COMPRESS_FROM_BYTES`].
pub fn compression() -> CompressionLayer<impl Predicate> {
    let predicate = SizeAbove::new(COMPRESS_FROM_BYTES)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE);
    CompressionLayer::new()
        .quality(CompressionLevel::Default)
        .compress_when(predicate)
}
