//! A local account that can `login`. Its role is bound to exactly one node (none for ADMIN).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub username: String,
    /// Argon2id PHC string; never leaves the server.
    pub password_hash: String,
    /// `ADMIN`, `PROVINCE_OFFICIAL`, `BASE_OFFICIAL`, `CHAPTER_LEADER` or `MEMBER`.
    pub role: String,
    pub province_id: Option<i64>,
    pub base_id: Option<i64>,
    pub chapter_id: Option<i64>,
    pub member_id: Option<i64>,
    pub display_name: String,
    pub disabled: bool,
    pub failed_logins: i32,
    pub locked_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
