//! A yearly rating (xếp loại hằng năm): whether a base or a member earned a yearly title in a year. The subject's
//! ancestor ids are stored on the row so ratings take the same subtree filter as everything else.

use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum RatingKind {
    /// A base "trong sạch, vững mạnh".
    #[sea_orm(string_value = "STRONG_BASE")]
    StrongBase,
    /// A member "hội viên CCB gương mẫu".
    #[sea_orm(string_value = "MODEL_MEMBER")]
    ModelMember,
    /// A member's family "gia đình CCB văn hóa".
    #[sea_orm(string_value = "CULTURED_FAMILY")]
    CulturedFamily,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum RatingSubject {
    #[sea_orm(string_value = "BASE")]
    Base,
    #[sea_orm(string_value = "MEMBER")]
    Member,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "yearly_ratings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: RatingKind,
    pub subject_type: RatingSubject,
    pub subject_id: i64,
    pub subject_name: String,
    pub province_id: i64,
    pub base_id: i64,
    pub chapter_id: Option<i64>,
    pub member_id: Option<i64>,
    pub year: i32,
    pub achieved: bool,
    pub note: Option<String>,
    pub recorded_by: String,
    pub recorded_at: DateTimeUtc,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
