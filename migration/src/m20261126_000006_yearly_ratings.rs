//! Yearly ratings (xếp loại hằng năm): a base rated "trong sạch, vững mạnh", a member "hội viên CCB gương mẫu",
//! a member's family "gia đình CCB văn hóa", one record per subject, kind and year, achieved or not. CHECK
//! constraints tie each kind to the kind of subject it rates.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE TABLE yearly_ratings (
    id {ID},
    kind TEXT NOT NULL CHECK (kind IN ('STRONG_BASE', 'MODEL_MEMBER', 'CULTURED_FAMILY')),
    subject_type TEXT NOT NULL CHECK (subject_type IN ('BASE', 'MEMBER')),
    subject_id BIGINT NOT NULL,
    subject_name TEXT NOT NULL,
    province_id BIGINT NOT NULL REFERENCES provinces (id),
    base_id BIGINT NOT NULL REFERENCES bases (id),
    chapter_id BIGINT REFERENCES chapters (id),
    member_id BIGINT REFERENCES members (id),
    year INTEGER NOT NULL,
    achieved BOOLEAN NOT NULL,
    note TEXT,
    recorded_by TEXT NOT NULL,
    recorded_at {TS} NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK ((kind = 'STRONG_BASE') = (subject_type = 'BASE')),
    CHECK ((subject_type = 'MEMBER') = (member_id IS NOT NULL AND chapter_id IS NOT NULL))
);
CREATE UNIQUE INDEX ux_ratings_subject_year ON yearly_ratings (kind, subject_type, subject_id, year);
CREATE INDEX ix_ratings_province ON yearly_ratings (province_id, year, id);
CREATE INDEX ix_ratings_base ON yearly_ratings (base_id, year, id)
"#;

const DOWN: &str = r#"
DROP TABLE yearly_ratings
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
