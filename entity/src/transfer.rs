//! A transfer of a member from one base to another: the origin releases (PENDING), the destination accepts
//! into one of its chapters (ACCEPTED) or rejects, or the origin cancels. The member stays in the origin
//! chapter until it is accepted.

use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum TransferStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "ACCEPTED")]
    Accepted,
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "transfers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub member_id: i64,
    /// The member's name when released, so the destination can see whom it is asked to accept.
    pub member_name: String,
    pub from_province_id: i64,
    pub from_base_id: i64,
    pub from_chapter_id: i64,
    pub to_province_id: i64,
    pub to_base_id: i64,
    pub to_chapter_id: Option<i64>,
    pub status: TransferStatus,
    pub note: Option<String>,
    pub released_at: DateTimeUtc,
    pub released_by: String,
    pub decided_at: Option<DateTimeUtc>,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
