//! Award proposals: an award asked for by a chapter or base and carried up the tree (base → province →
//! central) until a level allowed to grant its kind approves it (creating the award), rejects it, or the
//! proposer withdraws it. The CHECK constraints hold the status machine: only an approved proposal points at an
//! award, only a rejected one carries a rejection reason, and only an open one has no decision.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE TABLE award_proposals (
    id {ID},
    kind TEXT NOT NULL CHECK (kind IN ('EMULATION_FLAG', 'CERTIFICATE_OF_MERIT', 'CERTIFICATE_OF_COMMENDATION')),
    recipient_type TEXT NOT NULL CHECK (recipient_type IN ('PROVINCE', 'BASE', 'CHAPTER', 'MEMBER')),
    recipient_id BIGINT NOT NULL,
    recipient_name TEXT NOT NULL,
    province_id BIGINT NOT NULL REFERENCES provinces (id),
    base_id BIGINT REFERENCES bases (id),
    chapter_id BIGINT REFERENCES chapters (id),
    member_id BIGINT REFERENCES members (id),
    year INTEGER NOT NULL,
    movement TEXT NOT NULL,
    citation TEXT,
    level TEXT NOT NULL CHECK (level IN ('BASE', 'PROVINCE', 'CENTRAL')),
    status TEXT NOT NULL CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED', 'WITHDRAWN')),
    proposed_by TEXT NOT NULL,
    proposed_at {TS} NOT NULL,
    decided_by TEXT,
    decided_at {TS},
    rejection_reason TEXT,
    award_id BIGINT REFERENCES awards (id),
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (kind <> 'EMULATION_FLAG' OR recipient_type <> 'MEMBER'),
    CHECK ((status = 'APPROVED') = (award_id IS NOT NULL)),
    CHECK ((status = 'REJECTED') = (rejection_reason IS NOT NULL)),
    CHECK ((status = 'PENDING') = (decided_at IS NULL)),
    CHECK ((decided_at IS NULL) = (decided_by IS NULL)),
    CHECK (level <> 'BASE' OR base_id IS NOT NULL)
);
CREATE UNIQUE INDEX ux_proposals_open ON award_proposals (recipient_type, recipient_id, kind, year, movement) WHERE status = 'PENDING';
CREATE INDEX ix_proposals_province ON award_proposals (province_id, id);
CREATE INDEX ix_proposals_base ON award_proposals (base_id, id);
CREATE INDEX ix_proposals_chapter ON award_proposals (chapter_id, id)
"#;

const DOWN: &str = r#"
DROP TABLE award_proposals
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
