//! The write side's tables: the audit trail (who did what, before and after, with the client's mutation id for
//! idempotent retries), transfers between bases (released by the origin, accepted by the destination), and the
//! date and reason a member left the association.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE TABLE audit_events (
    id {ID},
    at {TS} NOT NULL,
    actor_subject TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    actor_scope TEXT,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id BIGINT NOT NULL,
    province_id BIGINT,
    base_id BIGINT,
    chapter_id BIGINT,
    before_json TEXT,
    after_json TEXT,
    reason TEXT,
    client_mutation_id TEXT
);
CREATE INDEX ix_audit_target ON audit_events (target_type, target_id, id);
CREATE UNIQUE INDEX ux_audit_client_mutation ON audit_events (actor_subject, client_mutation_id) WHERE client_mutation_id IS NOT NULL;

CREATE TABLE transfers (
    id {ID},
    member_id BIGINT NOT NULL REFERENCES members (id),
    member_name TEXT NOT NULL,
    from_province_id BIGINT NOT NULL REFERENCES provinces (id),
    from_base_id BIGINT NOT NULL REFERENCES bases (id),
    from_chapter_id BIGINT NOT NULL REFERENCES chapters (id),
    to_province_id BIGINT NOT NULL REFERENCES provinces (id),
    to_base_id BIGINT NOT NULL REFERENCES bases (id),
    to_chapter_id BIGINT REFERENCES chapters (id),
    status TEXT NOT NULL CHECK (status IN ('PENDING', 'ACCEPTED', 'REJECTED', 'CANCELLED')),
    note TEXT,
    released_at {TS} NOT NULL,
    released_by TEXT NOT NULL,
    decided_at {TS},
    decided_by TEXT,
    decision_reason TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (from_base_id <> to_base_id),
    CHECK ((status = 'ACCEPTED') = (to_chapter_id IS NOT NULL))
);
CREATE UNIQUE INDEX ux_transfers_pending ON transfers (member_id) WHERE status = 'PENDING';
CREATE INDEX ix_transfers_from ON transfers (from_base_id, status, id);
CREATE INDEX ix_transfers_to ON transfers (to_base_id, status, id);
CREATE INDEX ix_transfers_from_province ON transfers (from_province_id, status, id);
CREATE INDEX ix_transfers_to_province ON transfers (to_province_id, status, id);

ALTER TABLE members ADD COLUMN left_on {DATE};
ALTER TABLE members ADD COLUMN left_reason TEXT
"#;

const DOWN: &str = r#"
ALTER TABLE members DROP COLUMN left_reason;
ALTER TABLE members DROP COLUMN left_on;
DROP TABLE transfers;
DROP TABLE audit_events
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
