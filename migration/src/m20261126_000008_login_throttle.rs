//! Login throttling per username, whether or not an account has that username, so the lockout cannot tell
//! which usernames exist. Times are Unix seconds, compared the same way on every backend.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE TABLE login_throttle (
    username TEXT PRIMARY KEY,
    failed INTEGER NOT NULL DEFAULT 0,
    locked_until BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX ix_login_throttle_updated ON login_throttle (updated_at)
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::ddl(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::ddl(manager, "DROP TABLE login_throttle").await
    }
}
