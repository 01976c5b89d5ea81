//! On PostgreSQL, a chapter's or a base's members in id order come from one index range, with no sort and no
//! visit to members past the page.
//!
//! The tree page asks every chapter of twenty bases for its first ten active members by id. The indexes on a
//! chapter's members were ordered by sort key (`ix_members_chapter`) or by the statistics' columns
//! (`ix_members_chapter_stats`: chapter, status, member type, sex, party membership), so each chapter's page
//! read every one of its members from the table, about thirty rows on thirty pages, and sorted them to keep
//! ten: 145 chapters cost 4,600 row visits, 7.6 ms of one core, the largest part of the request (measured on
//! the demo province).
//!
//! The statistics indexes of chapters and bases now order by `(unit, status, id)` and carry the statistics'
//! columns as `INCLUDE` columns: the same index serves the page (`WHERE chapter_id = ? AND status = ? ORDER BY
//! id LIMIT n` reads n entries and n rows), the counts of a unit's members (index-only, as before) and the
//! statistics (index-only; member type, sex and party membership are read from the index entries instead of
//! narrowing the range, which at a chapter's or a base's size costs nothing measurable). No index is added.
//!
//! The province's statistics index keeps its order: a province's members by id are read from the primary key
//! (the province's members are a large share of all members), and its statistics count ranges of tens of
//! thousands of entries, where narrowing by member type pays. SQLite gets nothing here: every SQLite index
//! already ends with the row id, and its pages are numbered per parent (`src/store/page.rs`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
DROP INDEX ix_members_chapter_stats;
CREATE INDEX ix_members_chapter_stats ON members (chapter_id, status, id) INCLUDE (member_type, sex, party_member);
DROP INDEX ix_members_base_stats;
CREATE INDEX ix_members_base_stats ON members (base_id, status, id) INCLUDE (member_type, sex, party_member)
"#;

const DOWN: &str = r#"
DROP INDEX ix_members_chapter_stats;
CREATE INDEX ix_members_chapter_stats ON members (chapter_id, status, member_type, sex, party_member);
DROP INDEX ix_members_base_stats;
CREATE INDEX ix_members_base_stats ON members (base_id, status, member_type, sex, party_member)
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::ddl_on_postgres(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::ddl_on_postgres(manager, DOWN).await
    }
}
