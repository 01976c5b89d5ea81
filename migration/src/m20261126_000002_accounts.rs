//! Local accounts: username, Argon2id hash, role, the scope node, a disabled flag and login throttling state.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE TABLE accounts (
    id {ID},
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('ADMIN', 'PROVINCE_OFFICIAL', 'BASE_OFFICIAL', 'CHAPTER_LEADER', 'MEMBER')),
    province_id BIGINT REFERENCES provinces (id),
    base_id BIGINT REFERENCES bases (id),
    chapter_id BIGINT REFERENCES chapters (id),
    member_id BIGINT REFERENCES members (id),
    display_name TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until {TS},
    created_at {TS} NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CONSTRAINT ck_accounts_scope CHECK (
        (role = 'ADMIN' AND province_id IS NULL AND base_id IS NULL AND chapter_id IS NULL AND member_id IS NULL)
        OR (role = 'PROVINCE_OFFICIAL' AND province_id IS NOT NULL AND base_id IS NULL AND chapter_id IS NULL AND member_id IS NULL)
        OR (role = 'BASE_OFFICIAL' AND base_id IS NOT NULL AND province_id IS NULL AND chapter_id IS NULL AND member_id IS NULL)
        OR (role = 'CHAPTER_LEADER' AND chapter_id IS NOT NULL AND province_id IS NULL AND base_id IS NULL AND member_id IS NULL)
        OR (role = 'MEMBER' AND member_id IS NOT NULL AND province_id IS NULL AND base_id IS NULL AND chapter_id IS NULL))
)
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::ddl(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::ddl(manager, "DROP TABLE accounts").await
    }
}
