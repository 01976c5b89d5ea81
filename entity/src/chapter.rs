//! A chapter (chi hội): one per village or residential group, inside one base. Carries its province id too, so
//! "inside this province" is one indexed predicate.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "chapters")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub province_id: i64,
    pub base_id: i64,
    pub code: String,
    pub name: String,
    pub name_search: String,
    pub sort_key: String,
    pub created_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::base::Entity",
        from = "Column::BaseId",
        to = "super::base::Column::Id"
    )]
    Base,
    #[sea_orm(has_many = "super::member::Entity")]
    Member,
}

impl Related<super::base::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Base.def()
    }
}

impl Related<super::member::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Member.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
