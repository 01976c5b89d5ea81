//! The store of persisted GraphQL documents (Apollo automatic persisted queries), shared by every server
//! instance on the database: a document keyed by the lowercase hex SHA-256 of its text. Times are Unix
//! milliseconds, compared the same way on every backend; the least recently used documents are evicted first.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE TABLE persisted_queries (
    hash TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL
);
CREATE INDEX ix_persisted_queries_last_used ON persisted_queries (last_used_at)
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::ddl(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::ddl(manager, "DROP TABLE persisted_queries").await
    }
}
