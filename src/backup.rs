//! The `backup` subcommand: a consistent copy of a SQLite database taken while the server keeps writing to
//! it. `VACUUM INTO` reads the database inside one read transaction, so the copy is the state of one commit,
//! never a torn mix, and writers are not blocked (WAL mode). PostgreSQL has its own tools (`pg_dump`, or base
//! backups with WAL archiving for point-in-time recovery); this command refuses it and says so.

use std::path::Path;

use sea_orm::{ConnectionTrait, DbBackend};

use crate::config::Database;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Writes a consistent copy of the SQLite database to `dest`, which must not exist yet.
pub async fn backup(database: &Database, dest: &Path) -> Result<(), BoxError> {
    if !database.url().starts_with("sqlite:") {
        return Err(
            "backup copies SQLite databases; for PostgreSQL use pg_dump (see the README's production guide)".into(),
        );
    }
    if dest.exists() {
        return Err(format!("{} exists already; backup never overwrites", dest.display()).into());
    }
    let dest_text = dest
        .to_str()
        .ok_or_else(|| format!("{} is not a UTF-8 path", dest.display()))?;
    let conn = crate::db::connect_maintenance(database).await?;
    if conn.get_database_backend() != DbBackend::Sqlite {
        return Err("backup copies SQLite databases only".into());
    }
    // A string literal with its quotes doubled: the only way SQLite takes the target of VACUUM INTO.
    let sql = format!("VACUUM INTO '{}'", dest_text.replace('\'', "''"));
    let result = conn.execute_unprepared(&sql).await;
    conn.close().await.ok();
    result?;
    Ok(())
}
