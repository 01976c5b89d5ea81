//! A province association (Hội CCB tỉnh): the top of the tree below the national level.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "provinces")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub code: String,
    pub name: String,
    /// The name folded for diacritic- and case-insensitive search.
    pub name_search: String,
    /// Byte-ordered key that sorts names in Vietnamese alphabetical order.
    pub sort_key: String,
    pub created_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::base::Entity")]
    Base,
}

impl Related<super::base::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Base.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
