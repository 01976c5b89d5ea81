//! Refusals of the HTTP layer: requests answered before (or instead of) executing any GraphQL, such as a body
//! over the size limit, a content type that must not run, or a missing credential. Each carries an HTTP status,
//! a stable `extensions.code`, a message that names what to change, and the numbers involved, and is rendered
//! as a GraphQL response without `data` (a request error in the GraphQL spec's terms).

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::error::AppError;

/// The media type of a GraphQL response, chosen by the request's `Accept` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaType {
    /// `application/json`: the traditional type; every well-formed request is answered 200.
    Json,
    /// `application/graphql-response+json`: request errors are answered with a 4xx status.
    GraphqlResponse,
}

impl MediaType {
    pub fn content_type(self) -> HeaderValue {
        match self {
            MediaType::Json => HeaderValue::from_static("application/json; charset=utf-8"),
            MediaType::GraphqlResponse => HeaderValue::from_static("application/graphql-response+json; charset=utf-8"),
        }
    }
}

/// A request the HTTP layer refuses.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Further `extensions` entries: the limit and the measured value, the field at fault.
    pub details: Map<String, Value>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Refusal {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Map::new(),
            headers: Vec::new(),
        }
    }

    /// Input the client must fix, naming the part of the request at fault (400 `BAD_USER_INPUT`).
    pub fn bad_request(field: &str, message: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", format!("{field}: {message}")).detail("field", field)
    }

    /// A body over a size limit (413), naming the setting and the numbers.
    pub fn too_large(setting: &'static str, limit: usize, what: &str) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("{what} is larger than the limit of {limit} bytes ({setting})"),
        )
        .detail("limit", limit)
        .detail("setting", setting)
    }

    /// An [`AppError`] raised before execution, with the status that fits it.
    pub fn from_app(err: AppError) -> Self {
        let status = match &err {
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadUserInput { .. } => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(detail) => {
                tracing::error!(%detail, "internal error answered as INTERNAL_SERVER_ERROR");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let mut refusal = Self::new(status, err.code(), err.message());
        match err {
            AppError::BadUserInput { field, .. } => refusal = refusal.detail("field", field),
            AppError::RateLimited { retry_after_seconds } => {
                refusal = refusal
                    .detail("retryAfterSeconds", retry_after_seconds)
                    .header(header::RETRY_AFTER, &retry_after_seconds.to_string());
            }
            _ => {}
        }
        refusal
    }

    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    pub fn header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.push((name, value));
        }
        self
    }

    /// The refusal as a GraphQL response in the given media type.
    pub fn render(self, media: MediaType) -> Response {
        let mut extensions = Map::new();
        extensions.insert("code".into(), json!(self.code));
        extensions.extend(self.details);
        let body = json!({ "errors": [{ "message": self.message, "extensions": extensions }] });
        let mut response = (self.status, body.to_string()).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, media.content_type());
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        self.render(MediaType::Json)
    }
}
