//! Sessions for apps and the change log for delta sync and subscriptions.
//!
//! `sessions` is one login (a refresh-token family); `refresh_tokens` holds only SHA-256 hashes of the tokens
//! handed out, each retired when it is exchanged, so a retired one coming back is detectable reuse. Times of
//! both are Unix seconds, compared as integers on every backend.
//!
//! `changes` is the change log: one row per record a committed mutation touched, with where the record is now
//! and where it was before, so each reader's scope decides between `UPSERT` and `REMOVE`. Its id is the
//! commit order (see `src/realtime/changes.rs` for how PostgreSQL is kept to that).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE TABLE sessions (
    id {ID},
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    password_stamp TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_reason TEXT
);
CREATE INDEX ix_sessions_account ON sessions (account_id);

CREATE TABLE refresh_tokens (
    id {ID},
    session_id BIGINT NOT NULL REFERENCES sessions (id),
    token_hash TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    retired_at BIGINT
);
CREATE UNIQUE INDEX ux_refresh_tokens_hash ON refresh_tokens (token_hash);
CREATE INDEX ix_refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE changes (
    id {ID},
    at {TS} NOT NULL,
    audit_event_id BIGINT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id BIGINT NOT NULL,
    gone BOOLEAN NOT NULL,
    province_id BIGINT,
    base_id BIGINT,
    chapter_id BIGINT,
    old_province_id BIGINT,
    old_base_id BIGINT,
    old_chapter_id BIGINT
);
CREATE INDEX ix_changes_chapter ON changes (chapter_id, id);
CREATE INDEX ix_changes_old_chapter ON changes (old_chapter_id, id)
"#;

const DOWN: &str = r#"
DROP TABLE changes;
DROP TABLE refresh_tokens;
DROP TABLE sessions
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::ddl(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::ddl(manager, DOWN).await
    }
}
