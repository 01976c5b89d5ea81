//! An award proposal (đề nghị khen thưởng): what a chapter or base asks for, the level deciding it now, and how
//! it ended. The recipient's ancestor ids are stored on the row so every level above it can filter in SQL.

use sea_orm::entity::prelude::*;

use crate::award::{AwardKind, GrantingLevel, RecipientType};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum ProposalStatus {
    /// Waiting for the level named in `level`.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// Granted: `award_id` names the award.
    #[sea_orm(string_value = "APPROVED")]
    Approved,
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
    /// Taken back by the proposer before a decision.
    #[sea_orm(string_value = "WITHDRAWN")]
    Withdrawn,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "award_proposals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: AwardKind,
    pub recipient_type: RecipientType,
    pub recipient_id: i64,
    pub recipient_name: String,
    pub province_id: i64,
    pub base_id: Option<i64>,
    pub chapter_id: Option<i64>,
    pub member_id: Option<i64>,
    pub year: i32,
    pub movement: String,
    pub citation: Option<String>,
    /// The level that decides it now; it only rises as the proposal is forwarded.
    pub level: GrantingLevel,
    pub status: ProposalStatus,
    pub proposed_by: String,
    pub proposed_at: DateTimeUtc,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTimeUtc>,
    pub rejection_reason: Option<String>,
    pub award_id: Option<i64>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
