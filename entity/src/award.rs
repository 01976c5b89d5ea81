//! An award (khen thưởng) to a collective (province, base, chapter) or an individual (member). The recipient's
//! ancestor ids are stored on the row, so award lists take the same subtree filter as everything else.

use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum AwardKind {
    /// Cờ thi đua: collectives only.
    #[sea_orm(string_value = "EMULATION_FLAG")]
    EmulationFlag,
    /// Bằng khen.
    #[sea_orm(string_value = "CERTIFICATE_OF_MERIT")]
    CertificateOfMerit,
    /// Giấy khen.
    #[sea_orm(string_value = "CERTIFICATE_OF_COMMENDATION")]
    CertificateOfCommendation,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum GrantingLevel {
    #[sea_orm(string_value = "CENTRAL")]
    Central,
    #[sea_orm(string_value = "PROVINCE")]
    Province,
    #[sea_orm(string_value = "BASE")]
    Base,
}

impl GrantingLevel {
    /// The kinds a level of the association may grant (docs/domain.md §3).
    pub fn may_grant(self, kind: AwardKind) -> bool {
        match self {
            Self::Central => matches!(kind, AwardKind::EmulationFlag | AwardKind::CertificateOfMerit),
            Self::Province => kind == AwardKind::CertificateOfMerit,
            Self::Base => kind == AwardKind::CertificateOfCommendation,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum RecipientType {
    #[sea_orm(string_value = "PROVINCE")]
    Province,
    #[sea_orm(string_value = "BASE")]
    Base,
    #[sea_orm(string_value = "CHAPTER")]
    Chapter,
    #[sea_orm(string_value = "MEMBER")]
    Member,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "awards")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: AwardKind,
    pub granting_level: GrantingLevel,
    /// The granting body's name as it appears on the decision.
    pub granting_body: String,
    /// `CENTRAL`, `PROVINCE:<id>` or `BASE:<id>`: decision numbers are unique per body and year.
    pub granting_body_key: String,
    pub recipient_type: RecipientType,
    pub recipient_id: i64,
    /// The recipient's name as written on the decision (the public award roll shows it).
    pub recipient_name: String,
    pub province_id: i64,
    pub base_id: Option<i64>,
    pub chapter_id: Option<i64>,
    pub member_id: Option<i64>,
    pub year: i32,
    pub movement: String,
    /// The movement folded, so "CCB gương mẫu" and "ccb guong mau" are one achievement.
    pub movement_key: String,
    pub decision_number: String,
    pub decision_date: Option<Date>,
    pub event: Option<String>,
    pub citation: Option<String>,
    pub created_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    pub revocation_reason: Option<String>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
