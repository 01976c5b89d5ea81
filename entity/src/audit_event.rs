//! One entry of the audit trail: who (subject, role, scope) did what (action) to which record, with the values
//! before and after as JSON, the reason where one was given, and the client's mutation id.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    pub actor_subject: String,
    pub actor_role: String,
    pub actor_scope: Option<String>,
    pub action: String,
    /// `Province`, `Base`, `Chapter`, `Member`, `Award` or `Transfer`.
    pub target_type: String,
    pub target_id: i64,
    pub province_id: Option<i64>,
    pub base_id: Option<i64>,
    pub chapter_id: Option<i64>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub reason: Option<String>,
    pub client_mutation_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
