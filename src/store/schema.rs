//! Statements about the database itself rather than its rows: the lock that serialises migrations, the
//! readiness ping and the migration versions a database has applied.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

/// The PostgreSQL advisory lock key that several instances starting at once take before migrating.
const MIGRATION_LOCK: i64 = 727274;

/// Takes the migration lock (PostgreSQL; SQLite has one writer anyway and this does nothing).
pub async fn lock_migrations(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
            .await?;
    }
    Ok(())
}

/// Releases the lock [`lock_migrations`] took.
pub async fn unlock_migrations(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
            .await?;
    }
    Ok(())
}

/// The cheapest statement a pooled connection can answer: the readiness check.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// The migration versions recorded in the database; an error when it was never migrated (no such table).
pub async fn applied_migrations(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    let stmt = Statement::from_string(db.get_database_backend(), "SELECT version FROM seaql_migrations");
    let rows = db.query_all_raw(stmt).await?;
    Ok(rows
        .iter()
        .filter_map(|r| r.try_get_by_index::<String>(0).ok())
        .collect())
}
