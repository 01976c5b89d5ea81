//! Rows of `login_throttle` (a migration table without an entity): failed logins per username, the statements
//! behind [`crate::auth::accounts::login`], which decides when a username is locked.

use sea_orm::ConnectionTrait;

use crate::error::{AppError, AppResult};
use crate::sql::Sql;

const TABLE: &str = "login_throttle";

/// Counts one attempt for `username` in one statement (a lapsed lock starts a new run at 1) and answers the
/// attempt's number in the current run with the lock, if any.
pub async fn count_attempt(db: &impl ConnectionTrait, username: &str, now: i64) -> AppResult<(i32, Option<i64>)> {
    let mut sql = Sql::insert(
        TABLE,
        vec![
            ("username", username.into()),
            ("failed", 1i32.into()),
            ("locked_until", Option::<i64>::None.into()),
            ("updated_at", now.into()),
        ],
    );
    sql.push(&format!(
        " ON CONFLICT (username) DO UPDATE SET \
         failed = CASE WHEN {TABLE}.locked_until IS NOT NULL AND {TABLE}.locked_until <= "
    ))
    .bind(now)
    .push(&format!(
        " THEN 1 ELSE {TABLE}.failed + 1 END, \
         locked_until = CASE WHEN {TABLE}.locked_until IS NOT NULL AND {TABLE}.locked_until <= "
    ))
    .bind(now)
    .push(&format!(" THEN NULL ELSE {TABLE}.locked_until END, updated_at = "))
    .bind(now)
    .push(" RETURNING failed, locked_until");
    let row = db
        .query_one_raw(sql.build(db.get_database_backend()))
        .await?
        .ok_or_else(|| AppError::Internal("the login throttle upsert returned no row".into()))?;
    Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?))
}

/// Forgets `username`'s failures (after a successful login).
pub async fn forget(db: &impl ConnectionTrait, username: &str) -> AppResult<()> {
    let mut sql = Sql::new(&format!("DELETE FROM {TABLE} WHERE username = "));
    sql.bind(username.to_owned());
    db.execute_raw(sql.build(db.get_database_backend())).await?;
    Ok(())
}

/// Locks `username` until `until`.
pub async fn lock(db: &impl ConnectionTrait, username: &str, until: i64) -> AppResult<()> {
    let mut sql = Sql::new(&format!("UPDATE {TABLE} SET locked_until = "));
    sql.bind(until).push(" WHERE username = ").bind(username.to_owned());
    db.execute_raw(sql.build(db.get_database_backend())).await?;
    Ok(())
}

/// Forgets usernames untouched since `quiet_since` whose lock, if any, has lapsed by `now`.
pub async fn prune(db: &impl ConnectionTrait, quiet_since: i64, now: i64) -> AppResult<()> {
    let mut sql = Sql::new(&format!("DELETE FROM {TABLE} WHERE updated_at < "));
    sql.bind(quiet_since)
        .push(" AND (locked_until IS NULL OR locked_until < ")
        .bind(now)
        .push(")");
    db.execute_raw(sql.build(db.get_database_backend())).await?;
    Ok(())
}
