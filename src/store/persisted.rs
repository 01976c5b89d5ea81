//! Rows of `persisted_queries` (a migration table without an entity): registered documents by hash with their
//! last use, the statements behind [`crate::server::persisted`].

use sea_orm::ConnectionTrait;

use crate::error::AppResult;
use crate::sql::Sql;

const TABLE: &str = "persisted_queries";

/// The document registered under `hash`, its last use set to `now` in the same statement.
pub async fn fetch(db: &impl ConnectionTrait, hash: &str, now: i64) -> AppResult<Option<String>> {
    let mut sql = Sql::new(&format!("UPDATE {TABLE} SET last_used_at = "));
    sql.bind(now)
        .push(" WHERE hash = ")
        .bind(hash.to_owned())
        .push(" RETURNING document");
    match db.query_one_raw(sql.build(db.get_database_backend())).await? {
        Some(row) => Ok(Some(row.try_get_by_index(0)?)),
        None => Ok(None),
    }
}

/// Sets the last use of the document under `hash` to `now`.
pub async fn touch(db: &impl ConnectionTrait, hash: &str, now: i64) -> AppResult<()> {
    let mut sql = Sql::new(&format!("UPDATE {TABLE} SET last_used_at = "));
    sql.bind(now).push(" WHERE hash = ").bind(hash.to_owned());
    db.execute_raw(sql.build(db.get_database_backend())).await?;
    Ok(())
}

/// Registers `document` under `hash` (or refreshes its last use), then evicts the least recently used past
/// `max_documents`.
pub async fn store(
    db: &impl ConnectionTrait,
    hash: &str,
    document: &str,
    now: i64,
    max_documents: i64,
) -> AppResult<()> {
    let backend = db.get_database_backend();
    let mut sql = Sql::insert(
        TABLE,
        vec![
            ("hash", hash.into()),
            ("document", document.into()),
            ("created_at", now.into()),
            ("last_used_at", now.into()),
        ],
    );
    sql.push(" ON CONFLICT (hash) DO UPDATE SET last_used_at = excluded.last_used_at");
    db.execute_raw(sql.build(backend)).await?;
    let mut evict = Sql::new(&format!(
        "DELETE FROM {TABLE} WHERE hash NOT IN (SELECT hash FROM {TABLE} \
         ORDER BY last_used_at DESC, created_at DESC LIMIT "
    ));
    evict.bind(max_documents).push(")");
    db.execute_raw(evict.build(backend)).await?;
    Ok(())
}
