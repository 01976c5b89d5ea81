//! Rows of `sessions` and `refresh_tokens` (migration tables without an entity): the statements behind
//! [`crate::auth::sessions`], which keeps the rotation rules and decides what each row means.

use sea_orm::ConnectionTrait;

use crate::error::{AppError, AppResult};
use crate::sql::Sql;

const SESSIONS: &str = "sessions";
const REFRESH_TOKENS: &str = "refresh_tokens";

fn accounts() -> &'static str {
    super::table::<entity::account::Entity>()
}

/// Inserts a refresh token (by its hash) for `session`.
pub async fn add_refresh_token(
    db: &impl ConnectionTrait,
    session: i64,
    token_hash: String,
    issued_at: i64,
    expires_at: i64,
) -> AppResult<()> {
    let sql = Sql::insert(
        REFRESH_TOKENS,
        vec![
            ("session_id", session.into()),
            ("token_hash", token_hash.into()),
            ("issued_at", issued_at.into()),
            ("expires_at", expires_at.into()),
        ],
    );
    db.execute_raw(sql.build(db.get_database_backend())).await?;
    Ok(())
}

/// Inserts a session and answers its id.
pub async fn add_session(
    db: &impl ConnectionTrait,
    account_id: i64,
    password_stamp: String,
    created_at: i64,
    expires_at: i64,
) -> AppResult<i64> {
    let mut sql = Sql::insert(
        SESSIONS,
        vec![
            ("account_id", account_id.into()),
            ("password_stamp", password_stamp.into()),
            ("created_at", created_at.into()),
            ("expires_at", expires_at.into()),
        ],
    );
    sql.push(" RETURNING id");
    let row = db
        .query_one_raw(sql.build(db.get_database_backend()))
        .await?
        .ok_or_else(|| AppError::Internal("session insert returned no id".into()))?;
    Ok(row.try_get_by_index(0)?)
}

/// Which sessions a revocation ends.
pub enum Revoke {
    Session(i64),
    Account(i64),
}

/// Marks the open sessions `which` names revoked at `now` for `reason`; answers how many it ended.
pub async fn revoke(db: &impl ConnectionTrait, which: Revoke, now: i64, reason: &str) -> AppResult<u64> {
    let mut sql = Sql::new(&format!("UPDATE {SESSIONS} SET revoked_at = "));
    sql.bind(now).push(", revoked_reason = ").bind(reason.to_owned());
    match which {
        Revoke::Session(id) => sql.push(" WHERE id = ").bind(id),
        Revoke::Account(id) => sql.push(" WHERE account_id = ").bind(id),
    };
    sql.push(" AND revoked_at IS NULL");
    Ok(db
        .execute_raw(sql.build(db.get_database_backend()))
        .await?
        .rows_affected())
}

/// A refresh token with its session and the session's account, as a refresh needs them.
pub struct RefreshRow {
    pub token_id: i64,
    pub session: i64,
    pub token_expires: i64,
    pub retired: Option<i64>,
    pub revoked: Option<i64>,
    pub session_expires: i64,
    pub stamp: String,
    pub account_id: i64,
    pub disabled: bool,
    pub password_hash: String,
}

/// The refresh token stored under `token_hash`, with its session and account.
pub async fn refresh_token(db: &impl ConnectionTrait, token_hash: String) -> AppResult<Option<RefreshRow>> {
    let mut sql = Sql::new(&format!(
        "SELECT r.id, r.session_id, r.expires_at, r.retired_at, s.revoked_at, s.expires_at, s.password_stamp, \
         a.id, a.disabled, a.password_hash \
         FROM {REFRESH_TOKENS} r JOIN {SESSIONS} s ON s.id = r.session_id JOIN {} a ON a.id = s.account_id \
         WHERE r.token_hash = ",
        accounts()
    ));
    sql.bind(token_hash);
    let Some(row) = db.query_one_raw(sql.build(db.get_database_backend())).await? else {
        return Ok(None);
    };
    Ok(Some(RefreshRow {
        token_id: row.try_get_by_index(0)?,
        session: row.try_get_by_index(1)?,
        token_expires: row.try_get_by_index(2)?,
        retired: row.try_get_by_index(3)?,
        revoked: row.try_get_by_index(4)?,
        session_expires: row.try_get_by_index(5)?,
        stamp: row.try_get_by_index(6)?,
        account_id: row.try_get_by_index(7)?,
        disabled: row.try_get_by_index(8)?,
        password_hash: row.try_get_by_index(9)?,
    }))
}

/// Retires a refresh token unless it already was; answers whether this call retired it.
pub async fn retire_refresh_token(db: &impl ConnectionTrait, token_id: i64, now: i64) -> AppResult<bool> {
    let mut sql = Sql::new(&format!("UPDATE {REFRESH_TOKENS} SET retired_at = "));
    sql.bind(now)
        .push(" WHERE id = ")
        .bind(token_id)
        .push(" AND retired_at IS NULL");
    Ok(db
        .execute_raw(sql.build(db.get_database_backend()))
        .await?
        .rows_affected()
        > 0)
}

/// The session a refresh token (retired or not) belongs to.
pub async fn session_of_token(db: &impl ConnectionTrait, token_hash: String) -> AppResult<Option<i64>> {
    let mut sql = Sql::new(&format!("SELECT session_id FROM {REFRESH_TOKENS} WHERE token_hash = "));
    sql.bind(token_hash);
    match db.query_one_raw(sql.build(db.get_database_backend())).await? {
        Some(row) => Ok(Some(row.try_get_by_index(0)?)),
        None => Ok(None),
    }
}

/// A session with its account, as a check of an access token needs them.
pub struct SessionRow {
    pub revoked: Option<i64>,
    pub expires: i64,
    pub stamp: String,
    pub disabled: bool,
    pub password_hash: String,
}

/// Session `session` of account `account_id`, with the account; one statement.
pub async fn session(db: &impl ConnectionTrait, account_id: i64, session: i64) -> AppResult<Option<SessionRow>> {
    let mut sql = Sql::new(&format!(
        "SELECT s.revoked_at, s.expires_at, s.password_stamp, a.disabled, a.password_hash \
         FROM {SESSIONS} s JOIN {} a ON a.id = s.account_id WHERE s.id = ",
        accounts()
    ));
    sql.bind(session).push(" AND s.account_id = ").bind(account_id);
    let Some(row) = db.query_one_raw(sql.build(db.get_database_backend())).await? else {
        return Ok(None);
    };
    Ok(Some(SessionRow {
        revoked: row.try_get_by_index(0)?,
        expires: row.try_get_by_index(1)?,
        stamp: row.try_get_by_index(2)?,
        disabled: row.try_get_by_index(3)?,
        password_hash: row.try_get_by_index(4)?,
    }))
}
