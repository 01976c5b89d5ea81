//! Sessions for apps: rotating refresh tokens, stored as SHA-256 hashes only (a stolen database copy yields no
//! usable token), following the OAuth 2.0 Security BCP (RFC 9700 §4.14): every `refresh` retires the token it
//! was given and issues a new pair; a retired token presented again means two parties hold the family, so the
//! whole session is revoked. `logout` revokes the session. Access tokens carry the session id (`sid`), and
//! [`check`] runs on every request that carries one, so revocation, a disabled account or a changed password
//! end a session's access tokens at once, not when they expire.

use std::collections::HashMap;

use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use sha2::{Digest, Sha256};

use super::token::TokenService;
use crate::config::Realtime;
use crate::error::{AppError, AppResult};
use crate::store::sessions::{self as store, Revoke};

/// What `login` and `refresh` hand out.
pub struct Issued {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
}

/// Why a session ended, as recorded in `sessions.revoked_reason`.
#[derive(Clone, Copy, Debug)]
pub enum Ending {
    Logout,
    Reuse,
    AccountDisabled,
    PasswordChanged,
}

impl Ending {
    fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "LOGOUT",
            Self::Reuse => "REFRESH_TOKEN_REUSED",
            Self::AccountDisabled => "ACCOUNT_DISABLED",
            Self::PasswordChanged => "PASSWORD_CHANGED",
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The hash a refresh token is stored and looked up by.
fn token_hash(raw: &str) -> String {
    sha256_hex(raw.as_bytes())
}

/// A short fingerprint of an account's password hash: a session records it at login and is void once the
/// password changes, wherever the change was made.
pub fn password_stamp(password_hash: &str) -> String {
    sha256_hex(password_hash.as_bytes())[..32].to_owned()
}

fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn ts(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_else(Utc::now)
}

async fn begin(db: &DatabaseConnection) -> AppResult<DatabaseTransaction> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    Ok(db.begin_with_options(options).await?)
}

/// Inserts a fresh refresh token for `session` and returns it with its expiry (capped by the session's own).
async fn add_refresh_token(
    txn: &DatabaseTransaction,
    session: i64,
    session_expires: i64,
    settings: &Realtime,
) -> AppResult<(String, i64)> {
    let now = Utc::now().timestamp();
    let raw = new_refresh_token();
    let expires = (now + settings.refresh_ttl_seconds).min(session_expires);
    store::add_refresh_token(txn, session, token_hash(&raw), now, expires).await?;
    Ok((raw, expires))
}

/// Starts a session for an account that has just proven its password, and issues its first pair.
pub async fn start(
    db: &DatabaseConnection,
    tokens: &TokenService,
    settings: &Realtime,
    account: &entity::account::Model,
) -> AppResult<Issued> {
    let principal = super::accounts::principal(account)?;
    let now = Utc::now().timestamp();
    let session_expires = now + settings.session_max_age_seconds;
    let txn = begin(db).await?;
    let session = store::add_session(
        &txn,
        account.id,
        password_stamp(&account.password_hash),
        now,
        session_expires,
    )
    .await?;
    let (refresh_token, refresh_expires) = add_refresh_token(&txn, session, session_expires, settings).await?;
    txn.commit().await?;
    let (token, expires_at) = tokens.issue_for_session(&principal, Some(session))?;
    Ok(Issued {
        token,
        expires_at,
        refresh_token,
        refresh_expires_at: ts(refresh_expires),
    })
}

async fn revoke_in(txn: &impl ConnectionTrait, session: i64, ending: Ending) -> AppResult<()> {
    store::revoke(txn, Revoke::Session(session), Utc::now().timestamp(), ending.as_str()).await?;
    revoked_here();
    Ok(())
}

/// Exchanges a refresh token for a new pair, retiring the one given. Any failure is `UNAUTHENTICATED` (the
/// app should ask for the password again); a retired token revokes its whole session first.
pub async fn refresh(
    db: &DatabaseConnection,
    tokens: &TokenService,
    settings: &Realtime,
    raw: &str,
) -> AppResult<Issued> {
    if raw.is_empty() || raw.len() > 128 {
        return Err(AppError::Unauthenticated);
    }
    let txn = begin(db).await?;
    let Some(store::RefreshRow {
        token_id,
        session,
        token_expires,
        retired,
        revoked,
        session_expires,
        stamp,
        account_id,
        disabled,
        password_hash,
    }) = store::refresh_token(&txn, token_hash(raw)).await?
    else {
        return Err(AppError::Unauthenticated);
    };
    let now = Utc::now().timestamp();
    if revoked.is_some() {
        return Err(AppError::Unauthenticated);
    }
    let ending = if retired.is_some() {
        tracing::warn!(
            session,
            account_id,
            "a retired refresh token was presented again: session revoked"
        );
        Some(Ending::Reuse)
    } else if disabled {
        Some(Ending::AccountDisabled)
    } else if stamp != password_stamp(&password_hash) {
        Some(Ending::PasswordChanged)
    } else {
        None
    };
    if let Some(ending) = ending {
        revoke_in(&txn, session, ending).await?;
        txn.commit().await?;
        return Err(AppError::Unauthenticated);
    }
    if token_expires <= now || session_expires <= now {
        return Err(AppError::Unauthenticated);
    }
    // Retire it only if nobody else did in between: two concurrent refreshes with one token are reuse too.
    if !store::retire_refresh_token(&txn, token_id, now).await? {
        revoke_in(&txn, session, Ending::Reuse).await?;
        txn.commit().await?;
        return Err(AppError::Unauthenticated);
    }
    let (refresh_token, refresh_expires) = add_refresh_token(&txn, session, session_expires, settings).await?;
    let account = entity::account::Entity::find_by_id(account_id)
        .one(&txn)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let principal = super::accounts::principal(&account)?;
    txn.commit().await?;
    let (token, expires_at) = tokens.issue_for_session(&principal, Some(session))?;
    Ok(Issued {
        token,
        expires_at,
        refresh_token,
        refresh_expires_at: ts(refresh_expires),
    })
}

/// Ends the session a refresh token belongs to (retired or not). Answers `false` for a token that is unknown
/// or already ended, so a repeated logout is harmless.
pub async fn logout(db: &DatabaseConnection, raw: &str) -> AppResult<bool> {
    if raw.is_empty() || raw.len() > 128 {
        return Ok(false);
    }
    let Some(session) = store::session_of_token(db, token_hash(raw)).await? else {
        return Ok(false);
    };
    let ended = store::revoke(
        db,
        Revoke::Session(session),
        Utc::now().timestamp(),
        Ending::Logout.as_str(),
    )
    .await?;
    revoked_here();
    Ok(ended > 0)
}

/// Ends every open session of an account (disabled, or its password changed).
pub async fn end_all(db: &impl ConnectionTrait, account_id: i64, ending: Ending) -> AppResult<()> {
    store::revoke(db, Revoke::Account(account_id), Utc::now().timestamp(), ending.as_str()).await?;
    revoked_here();
    Ok(())
}

/// Whether an access token's session still stands: the session exists, belongs to the token's account, is
/// not revoked or past its lifetime, the account is enabled and its password is the one the session began
/// with; answers when the session ends (Unix seconds). One statement.
pub async fn check(db: &DatabaseConnection, account_id: i64, session: i64) -> AppResult<i64> {
    let Some(store::SessionRow {
        revoked,
        expires,
        stamp,
        disabled,
        password_hash,
    }) = store::session(db, account_id, session).await?
    else {
        return Err(AppError::Unauthenticated);
    };
    if revoked.is_some() || expires <= Utc::now().timestamp() || disabled || stamp != password_stamp(&password_hash) {
        return Err(AppError::Unauthenticated);
    }
    Ok(expires)
}

/// Revocations (logouts, sessions ended by a password change or a disabled account) made by this process.
/// A session confirmed before the latest one is checked again.
static REVOCATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn revoked_here() {
    REVOCATIONS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

/// Sessions this instance checked a moment ago, so a burst of requests with one token costs one session read
/// instead of one per request. An entry holds for the configured few seconds, never past the session's own
/// end, and not across any revocation made by this process; a revocation made through another instance
/// takes effect here when the entry lapses.
pub struct ConfirmedSessions {
    ttl: std::time::Duration,
    entries: std::sync::Mutex<HashMap<(i64, i64), (std::time::Instant, u64)>>,
}

/// Entries kept at most; past it the map is emptied (every session is simply checked again).
const MAX_CONFIRMED: usize = 100_000;

impl ConfirmedSessions {
    pub fn new(ttl: std::time::Duration) -> Self {
        Self {
            ttl,
            entries: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Whether `(account, session)` was confirmed recently enough to skip the read.
    pub fn holds(&self, account: i64, session: i64) -> bool {
        if self.ttl.is_zero() {
            return false;
        }
        let generation = REVOCATIONS.load(std::sync::atomic::Ordering::SeqCst);
        let Ok(entries) = self.entries.lock() else {
            return false;
        };
        matches!(entries.get(&(account, session)),
            Some((until, seen)) if *seen == generation && *until > std::time::Instant::now())
    }

    /// Records a successful check of a session that ends at `expires` (Unix seconds).
    pub fn remember(&self, account: i64, session: i64, expires: i64) {
        if self.ttl.is_zero() {
            return;
        }
        let generation = REVOCATIONS.load(std::sync::atomic::Ordering::SeqCst);
        let left = u64::try_from(expires - Utc::now().timestamp()).unwrap_or(0);
        let until = std::time::Instant::now() + self.ttl.min(std::time::Duration::from_secs(left));
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_CONFIRMED {
                entries.clear();
            }
            entries.insert((account, session), (until, generation));
        }
    }
}
