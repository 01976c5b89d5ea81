//! The one error type of the API. Every variant has a stable `extensions.code`; internal failures are logged
//! with their detail and reach the client only as `INTERNAL_SERVER_ERROR`. This is the only place errors cross
//! into GraphQL.
//!
//! `AppError` deliberately does not implement `Display`: async-graphql converts any `Display` type into an
//! error without a code, and keeping that door shut makes `?` go through [`From<AppError>`] below.

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, RuntimeErr, SqlErr};

#[derive(Clone, Debug)]
pub enum AppError {
    /// 401-like: no valid credentials where they are needed, or a token that fails verification.
    Unauthenticated,
    /// 403-like: the viewer is known but the action is not theirs to take.
    Forbidden(String),
    /// The record does not exist, or it is outside the viewer's scope: the two answer the same.
    NotFound(String),
    /// Input that cannot be accepted; names the argument or field.
    BadUserInput { field: String, message: String },
    /// A uniqueness rule or a stale version.
    Conflict(String),
    /// Too many attempts; retry after the given number of seconds.
    RateLimited { retry_after_seconds: i64 },
    /// The server cannot answer now (a request over its time limit, an exhausted pool); retrying later may
    /// succeed. Answered 503 with `Retry-After` and `extensions.retryable: true`.
    Unavailable(String),
    /// Anything else: logged, never shown.
    Internal(String),
}

impl AppError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadUserInput { .. } => "BAD_USER_INPUT",
            Self::Conflict(_) => "CONFLICT",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Unavailable(_) => "SERVICE_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated => "authentication required: the credentials are missing, invalid or expired".into(),
            Self::Forbidden(m) => m.clone(),
            Self::NotFound(what) => format!("{what} not found"),
            Self::BadUserInput { field, message } => format!("{field}: {message}"),
            Self::Conflict(m) => m.clone(),
            Self::RateLimited { retry_after_seconds } => {
                format!("too many attempts; try again in {retry_after_seconds} s")
            }
            Self::Unavailable(m) => m.clone(),
            Self::Internal(_) => "internal server error".into(),
        }
    }

    /// Maps a database error: constraint violations become client errors via `constraint`, which names what
    /// the violated rule means for this operation; everything else is logged and hidden.
    pub fn from_db(err: DbErr, constraint: impl FnOnce(&SqlErr) -> Option<AppError>) -> Self {
        if let Some(sql_err) = err.sql_err()
            && let Some(mapped) = constraint(&sql_err)
        {
            return mapped;
        }
        Self::from(err)
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        // Pool exhaustion and dropped connections are operational, not bugs, but the client sees the same.
        if let DbErr::Conn(RuntimeErr::SqlxError(_)) | DbErr::ConnectionAcquire(_) = &err {
            tracing::error!(error = ?err, "database unavailable");
        } else {
            tracing::error!(error = ?err, "database error");
        }
        Self::Internal(err.to_string())
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        if let AppError::Internal(detail) = &err {
            tracing::error!(%detail, "internal error answered as INTERNAL_SERVER_ERROR");
        }
        let code = err.code();
        let mut out = async_graphql::Error::new(err.message()).extend_with(|_, e| e.set("code", code));
        match err {
            AppError::BadUserInput { field, .. } => out = out.extend_with(|_, e| e.set("field", field)),
            AppError::RateLimited { retry_after_seconds } => {
                out = out.extend_with(|_, e| e.set("retryAfterSeconds", retry_after_seconds))
            }
            AppError::Unavailable(_) => out = out.extend_with(|_, e| e.set("retryable", true)),
            _ => {}
        }
        out
    }
}

pub type AppResult<T> = Result<T, AppError>;
