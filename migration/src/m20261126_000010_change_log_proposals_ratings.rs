//! The change log carries award proposals and yearly ratings. Whether a reader sees one of those is decided by
//! the same rule as their queries, which needs two facts a unit or member change does not: the member the
//! record is about (`member_id`, for a reader whose scope is one member) and, for a proposal, the level it had
//! reached at that change (`level`: `BASE`, `PROVINCE`, `CENTRAL`), since a province official sees a proposal
//! only from the step that brought it to the province. Both are named as on `award_proposals` and
//! `yearly_ratings`, so the queries' SQL conditions apply to a change row unchanged.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
ALTER TABLE changes ADD COLUMN member_id BIGINT;
ALTER TABLE changes ADD COLUMN level TEXT CHECK (level IN ('BASE', 'PROVINCE', 'CENTRAL'))
"#;

const DOWN: &str = r#"
ALTER TABLE changes DROP COLUMN level;
ALTER TABLE changes DROP COLUMN member_id
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
