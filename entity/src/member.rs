//! A member (hội viên). The row carries the ids of all its ancestors (province, base, chapter), kept right by
//! moves and transfers, so any subtree filter is one indexed predicate.

use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum Sex {
    #[sea_orm(string_value = "MALE")]
    Male,
    #[sea_orm(string_value = "FEMALE")]
    Female,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum MemberType {
    /// Cựu chiến binh: served in wartime or in combat units.
    #[sea_orm(string_value = "VETERAN")]
    Veteran,
    /// Cựu quân nhân: ex-serviceman.
    #[sea_orm(string_value = "EX_SERVICEMAN")]
    ExServiceman,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum WarInvalid {
    #[sea_orm(string_value = "NONE")]
    None,
    /// Thương binh.
    #[sea_orm(string_value = "WAR_INVALID")]
    WarInvalid,
    /// Bệnh binh.
    #[sea_orm(string_value = "SICK_SOLDIER")]
    SickSoldier,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum MemberStatus {
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    #[sea_orm(string_value = "TRANSFERRED_OUT")]
    TransferredOut,
    #[sea_orm(string_value = "DECEASED")]
    Deceased,
    #[sea_orm(string_value = "REMOVED")]
    Removed,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "members")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub province_id: i64,
    pub base_id: i64,
    pub chapter_id: i64,
    pub family_name: String,
    pub middle_name: String,
    pub given_name: String,
    /// "family middle given", folded for search.
    pub search_name: String,
    /// Byte-ordered key: given name, then family name, then middle name, in Vietnamese alphabetical order.
    pub sort_key: String,
    pub sex: Sex,
    pub birth_date: Option<Date>,
    /// Older records often carry only the year of birth; set whenever `birth_date` is.
    pub birth_year: Option<i32>,
    pub home_town: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub enlisted_on: Option<Date>,
    pub discharged_on: Option<Date>,
    pub military_rank: Option<String>,
    pub last_unit: Option<String>,
    pub member_type: MemberType,
    pub joined_on: Option<Date>,
    pub party_member: bool,
    pub war_invalid: WarInvalid,
    pub card_number: Option<String>,
    pub status: MemberStatus,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
    /// When the member died or was removed.
    pub left_on: Option<Date>,
    pub left_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::chapter::Entity",
        from = "Column::ChapterId",
        to = "super::chapter::Column::Id"
    )]
    Chapter,
}

impl Related<super::chapter::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Chapter.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
