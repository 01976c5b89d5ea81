//! The change log is ordered by `seq`, a number given to a change after its transaction has committed, instead
//! of by its `id`, taken when the row is inserted.
//!
//! On PostgreSQL an id is taken at insert, so a writer that took a lower id may commit after one that took a
//! higher id, and a reader resuming "after id N" would skip it. Keeping ids in commit order needed a lock held
//! from the insert to the end of the commit (WAL flush included), which let one writer commit at a time. Now a
//! change row is written with `seq` empty, and the sequencer (`src/store/changes.rs`, `sequence`) numbers the
//! committed ones, in a short transaction of its own, before they are read: a number is only ever given to a
//! committed row, and always above every number given before, so "after seq N" never skips one. SQLite, with one
//! writer at a time, numbers a change in the statement that writes it.
//!
//! Rows already written keep their order: their `seq` is their `id`, so a client's stored cursor (the position
//! it last read, which was an id) resumes where it was.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
ALTER TABLE changes ADD COLUMN seq BIGINT;
UPDATE changes SET seq = id;
CREATE UNIQUE INDEX ux_changes_seq ON changes (seq);
CREATE INDEX ix_changes_unsequenced ON changes (id) WHERE seq IS NULL;
DROP INDEX ix_changes_chapter;
DROP INDEX ix_changes_old_chapter;
CREATE INDEX ix_changes_chapter ON changes (chapter_id, seq);
CREATE INDEX ix_changes_old_chapter ON changes (old_chapter_id, seq)
"#;

const DOWN: &str = r#"
DROP INDEX ix_changes_old_chapter;
DROP INDEX ix_changes_chapter;
CREATE INDEX ix_changes_chapter ON changes (chapter_id, id);
CREATE INDEX ix_changes_old_chapter ON changes (old_chapter_id, id);
DROP INDEX ix_changes_unsequenced;
DROP INDEX ux_changes_seq;
ALTER TABLE changes DROP COLUMN seq
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
