//! HTTP middleware of the server: limits checked on every request before any handler runs.

use axum::extract::{Request, State as AxumState};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::refusal::Refusal;

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
