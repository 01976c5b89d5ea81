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
    /// A token that was genuine but has expired: answered as `UNAUTHENTICATED` with
    /// `extensions.reason: "TOKEN_EXPIRED"`, so an app knows to refresh rather than ask for the password.
    TokenExpired,
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
    /// A dependency is out of reach or saturated (the database is down, the pool is exhausted, a request ran
    /// out of time): retryable, answered as `SERVICE_UNAVAILABLE` with `extensions.retryable: true` (HTTP 503
    /// where the transport decides the status). The text is logged, never shown.
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
            Self::Unauthenticated | Self::TokenExpired => "UNAUTHENTICATED",
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
            Self::TokenExpired => "the access token has expired: refresh it, or log in again".into(),
            Self::Forbidden(m) => m.clone(),
            Self::NotFound(what) => format!("{what} not found"),
            Self::BadUserInput { field, message } => format!("{field}: {message}"),
            Self::Conflict(m) => m.clone(),
            Self::RateLimited { retry_after_seconds } => {
                format!("too many attempts; try again in {retry_after_seconds} s")
            }
            Self::Unavailable(_) => "the service is temporarily unavailable; retry shortly".into(),
            Self::Internal(_) => "internal server error".into(),
        }
    }

    /// A finer reason under the code, for clients that act on it (`TOKEN_EXPIRED`).
    pub fn reason(&self) -> Option<&'static str> {
        matches!(self, Self::TokenExpired).then_some("TOKEN_EXPIRED")
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

/// What each named constraint of the schema means for a client, in one table: (PostgreSQL constraint or index
/// name, the columns SQLite names for it, the client error). PostgreSQL reports the constraint's name; SQLite
/// reports no name, only `table.column, …` in its fixed "UNIQUE constraint failed: …" format, which is read
/// only to look the constraint up here. A violation of a constraint missing from this table answers a generic
/// `CONFLICT` and logs a warning, so a new constraint is noticed rather than silently misreported.
/// One row of [`CONSTRAINTS`]: PostgreSQL name, SQLite column list, the client error.
type ConstraintRule = (&'static str, &'static str, fn() -> AppError);

const CONSTRAINTS: &[ConstraintRule] = &[
    ("provinces_code_key", "provinces.code", unit_code_taken),
    ("bases_code_key", "bases.code", unit_code_taken),
    ("chapters_code_key", "chapters.code", unit_code_taken),
    ("members_card_number_key", "members.card_number", || {
        AppError::Conflict("this card number is already issued to another member".into())
    }),
    (
        "ux_awards_decision",
        "awards.granting_body_key, awards.year, awards.decision_number",
        || AppError::Conflict("this decision number is already used by the same granting body in that year".into()),
    ),
    (
        "ux_awards_achievement",
        "awards.recipient_type, awards.recipient_id, awards.kind, awards.year, awards.movement_key",
        || AppError::Conflict("this achievement (recipient, kind, year, movement) is already rewarded".into()),
    ),
    ("ux_transfers_pending", "transfers.member_id", || {
        AppError::Conflict("the member already has a pending transfer".into())
    }),
    ("accounts_username_key", "accounts.username", || {
        AppError::Conflict("an account with this username exists".into())
    }),
    (
        "ux_audit_client_mutation",
        "audit_events.actor_subject, audit_events.client_mutation_id",
        || AppError::Conflict("duplicate submission".into()),
    ),
];

fn unit_code_taken() -> AppError {
    AppError::Conflict("a unit with this code exists".into())
}

/// The database's own error inside a sea-orm error, if the statement reached the database.
fn database_error(err: &DbErr) -> Option<&dyn sea_orm::sqlx::error::DatabaseError> {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => match e.as_ref() {
            sea_orm::sqlx::Error::Database(db) => Some(db.as_ref()),
            _ => None,
        },
        _ => None,
    }
}

/// The name of the constraint a statement violated: PostgreSQL's constraint name, or SQLite's column list.
pub fn violated_constraint(err: &DbErr) -> Option<String> {
    let db = database_error(err)?;
    if let Some(name) = db.constraint() {
        return Some(name.to_owned());
    }
    db.message()
        .split_once("constraint failed: ")
        .map(|(_, columns)| columns.trim().to_owned())
}

/// The client error for a constraint violation, looked up by the constraint's name; `None` when `err` is not
/// a constraint violation.
pub fn constraint_error(err: &DbErr) -> Option<AppError> {
    use sea_orm::sqlx::error::ErrorKind;
    let db = database_error(err)?;
    let kind = db.kind();
    let name = violated_constraint(err);
    if let Some(name) = &name
        && let Some((_, _, make)) = CONSTRAINTS.iter().find(|(pg, sqlite, _)| name == pg || name == sqlite)
    {
        return Some(make());
    }
    match kind {
        ErrorKind::UniqueViolation => {
            tracing::warn!(constraint = ?name, "a unique constraint missing from the error table was violated");
            Some(AppError::Conflict("a record with these values exists".into()))
        }
        ErrorKind::ForeignKeyViolation => Some(AppError::bad_input("input", "refers to a record that does not exist")),
        _ => None,
    }
}

/// Whether a database error is a passing fault the client may retry: the database is unreachable or
/// restarting, the pool is exhausted, a statement or lock timed out, a deadlock or serialization failure was
/// resolved against this transaction, the database is busy or its disk is full.
pub fn is_transient(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => match e.as_ref() {
            Sqlx::Io(_)
            | Sqlx::Tls(_)
            | Sqlx::Protocol(_)
            | Sqlx::PoolTimedOut
            | Sqlx::PoolClosed
            | Sqlx::WorkerCrashed => true,
            Sqlx::Database(db) => {
                let code = db.code().unwrap_or_default();
                if db
                    .try_downcast_ref::<sea_orm::sqlx::postgres::PgDatabaseError>()
                    .is_some()
                {
                    // Class 08 connection, 53 insufficient resources (disk full, too many connections), 57P0x
                    // shutdown, 57014 statement timeout, 55P03 lock timeout, 40001/40P01 serialization/deadlock.
                    code.starts_with("08")
                        || code.starts_with("53")
                        || code.starts_with("57P0")
                        || matches!(code.as_ref(), "57014" | "55P03" | "40001" | "40P01")
                } else {
                    // SQLite's primary result code is the low byte: BUSY 5, LOCKED 6, IOERR 10, FULL 13.
                    code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6 | 10 | 13))
                }
            }
            _ => false,
        },
        _ => false,
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        if is_transient(&err) {
            tracing::warn!(error = ?err, "database unavailable; answered as retryable");
            return Self::Unavailable(err.to_string());
        }
        if let Some(mapped) = constraint_error(&err) {
            return mapped;
        }
        tracing::error!(error = ?err, "database error");
        Self::Internal(err.to_string())
    }
}

/// Gives an error from outside the resolvers (parsing, validation) the code it lacks: those are the client's
/// to fix, so `BAD_USER_INPUT`. Errors that already carry a code (resolver errors, limit refusals) keep theirs.
pub fn ensure_code(error: &mut async_graphql::ServerError) {
    let has_code = error.extensions.as_ref().is_some_and(|e| e.get("code").is_some());
    if !has_code {
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", "BAD_USER_INPUT");
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        match &err {
            AppError::Internal(detail) => tracing::error!(%detail, "internal error answered as INTERNAL_SERVER_ERROR"),
            AppError::Unavailable(detail) => tracing::warn!(%detail, "answered as SERVICE_UNAVAILABLE"),
            _ => {}
        }
        let code = err.code();
        let mut out = async_graphql::Error::new(err.message()).extend_with(|_, e| e.set("code", code));
        match err {
            AppError::BadUserInput { field, .. } => out = out.extend_with(|_, e| e.set("field", field)),
            AppError::RateLimited { retry_after_seconds } => {
                out = out.extend_with(|_, e| e.set("retryAfterSeconds", retry_after_seconds))
            }
            AppError::TokenExpired => out = out.extend_with(|_, e| e.set("reason", "TOKEN_EXPIRED")),
            AppError::Unavailable(_) => out = out.extend_with(|_, e| e.set("retryable", true)),
            _ => {}
        }
        out
    }
}

pub type AppResult<T> = Result<T, AppError>;
