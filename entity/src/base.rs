//! A base association (cơ sở hội): territorial (ward, commune, special zone) or in the agency/enterprise bloc.

use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum BaseKind {
    #[sea_orm(string_value = "WARD")]
    Ward,
    #[sea_orm(string_value = "COMMUNE")]
    Commune,
    #[sea_orm(string_value = "SPECIAL_ZONE")]
    SpecialZone,
    #[sea_orm(string_value = "AGENCY")]
    Agency,
    #[sea_orm(string_value = "ENTERPRISE")]
    Enterprise,
}

impl BaseKind {
    /// Territorial bases are the communes, wards and special zones; the rest form the agency/enterprise bloc.
    pub fn is_territorial(self) -> bool {
        matches!(self, Self::Ward | Self::Commune | Self::SpecialZone)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "bases")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub province_id: i64,
    pub code: String,
    pub name: String,
    pub name_search: String,
    pub sort_key: String,
    pub kind: BaseKind,
    pub created_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::province::Entity",
        from = "Column::ProvinceId",
        to = "super::province::Column::Id"
    )]
    Province,
    #[sea_orm(has_many = "super::chapter::Entity")]
    Chapter,
}

impl Related<super::province::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Province.def()
    }
}

impl Related<super::chapter::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Chapter.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
