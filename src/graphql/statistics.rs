//! Year-end statistics (báo cáo tổng kết) in GraphQL: `yearEndStatistics(year:)` on every tree node and
//! `Query.yearEndStatistics(unitId:, year:)`, with the breakdown per unit one level down. The figures come from
//! aggregate SQL (`officials::statistics`); they count personal data, so a unit outside the viewer's
//! personal-data scope answers `FORBIDDEN`.

use async_graphql::{Context, ID, Object, SimpleObject};

use super::award::{AwardKind, GrantingLevel};
use super::state;
use crate::error::AppResult;
use crate::ids::GlobalId;
use crate::officials::exports::authorize_statistics;
use crate::officials::statistics::{self, ChildRow, Figures, Unit, YearEnd};

/// Awards of one kind from one granting level.
#[derive(SimpleObject)]
pub struct AwardCount {
    pub kind: AwardKind,
    pub granting_level: GrantingLevel,
    pub count: i64,
}

/// The figures of one unit for a year. Membership figures are the registry as it stands (the same as `stats`);
/// flows and awards are those dated in the year; ages are as at 31 December of the year.
#[derive(SimpleObject)]
pub struct YearEndFigures {
    /// Open bases (provinces only; 0 otherwise).
    pub base_count: i64,
    /// Open chapters (provinces and bases; 0 for a chapter).
    pub chapter_count: i64,
    /// Active members.
    pub member_count: i64,
    /// Active members who are veterans (CCB).
    pub veterans: i64,
    /// Active members who are ex-servicemen (CQN).
    pub ex_servicemen: i64,
    pub men: i64,
    pub women: i64,
    pub age_under_60: i64,
    pub age_60_to_69: i64,
    pub age_70_to_79: i64,
    pub age_80_and_over: i64,
    /// Active members whose birth year is not on record.
    pub age_unknown: i64,
    pub party_members: i64,
    /// Thương binh.
    pub war_invalids: i64,
    /// Bệnh binh.
    pub sick_soldiers: i64,
    /// Members whose date of joining the association falls in the year.
    pub admitted: i64,
    /// Transfers accepted into the unit during the year.
    pub transferred_in: i64,
    /// Transfers out of the unit accepted during the year.
    pub transferred_out: i64,
    /// Deaths recorded with a date in the year.
    pub deceased: i64,
    /// Removals recorded with a date in the year.
    pub removed: i64,
    /// Awards of the year (not revoked) to the unit and anyone in it, by kind and granting level.
    pub awards: Vec<AwardCount>,
    /// Bases rated "trong sạch, vững mạnh" for the year (yearly ratings recorded as earned).
    pub strong_bases: i64,
    /// Members rated "hội viên CCB gương mẫu" for the year.
    pub model_members: i64,
    /// Members' families rated "gia đình CCB văn hóa" for the year.
    pub cultured_families: i64,
}

impl From<&Figures> for YearEndFigures {
    fn from(f: &Figures) -> Self {
        Self {
            base_count: f.bases,
            chapter_count: f.chapters,
            member_count: f.members,
            veterans: f.veterans,
            ex_servicemen: f.ex_servicemen,
            men: f.men,
            women: f.women,
            age_under_60: f.age_under_60,
            age_60_to_69: f.age_60_to_69,
            age_70_to_79: f.age_70_to_79,
            age_80_and_over: f.age_80_and_over,
            age_unknown: f.age_unknown,
            party_members: f.party_members,
            war_invalids: f.war_invalids,
            sick_soldiers: f.sick_soldiers,
            admitted: f.admitted,
            transferred_in: f.transferred_in,
            transferred_out: f.transferred_out,
            deceased: f.deceased,
            removed: f.removed,
            awards: f
                .awards
                .iter()
                .map(|((k, l), n)| AwardCount {
                    kind: k.kind().into(),
                    granting_level: l.level().into(),
                    count: *n,
                })
                .collect(),
            strong_bases: f.strong_bases,
            model_members: f.model_members,
            cultured_families: f.cultured_families,
        }
    }
}

/// One unit one level down, with its figures.
pub struct YearEndUnit(ChildRow);

#[Object]
impl YearEndUnit {
    /// The unit's global id (a `Base` under a province, a `Chapter` under a base).
    async fn unit_id(&self) -> ID {
        GlobalId::new(self.0.kind, self.0.id).encode().into()
    }
    async fn code(&self) -> &str {
        &self.0.code
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Closed during or after the year but with figures to report.
    async fn closed(&self) -> bool {
        self.0.closed
    }
    async fn figures(&self) -> YearEndFigures {
        (&self.0.figures).into()
    }
}

/// The year-end statistics of a unit: its totals and one row per unit under it.
pub struct YearEndStatistics(YearEnd);

#[Object]
impl YearEndStatistics {
    async fn unit_id(&self) -> ID {
        self.0.unit.global_id().into()
    }
    async fn year(&self) -> i32 {
        self.0.year
    }
    /// The unit as a whole.
    async fn totals(&self) -> YearEndFigures {
        (&self.0.totals).into()
    }
    /// The bases of a province or the chapters of a base, in name order; empty for a chapter.
    async fn breakdown(&self) -> Vec<YearEndUnit> {
        self.0.breakdown.iter().cloned().map(YearEndUnit).collect()
    }
}

/// Computes the statistics of `unit` for the viewer.
pub async fn year_end(ctx: &Context<'_>, unit: Unit, year: i32) -> AppResult<YearEndStatistics> {
    let s = state(ctx);
    let year = statistics::check_year("year", year)?;
    authorize_statistics(&s.scope, &unit)?;
    Ok(YearEndStatistics(statistics::year_end(&s.db, unit, year).await?))
}

/// Computes the statistics of the unit with global id `unit_id`.
pub async fn year_end_of(ctx: &Context<'_>, unit_id: &str, year: i32) -> AppResult<YearEndStatistics> {
    let unit = statistics::resolve_unit(&state(ctx).db, "unitId", unit_id).await?;
    year_end(ctx, unit, year).await
}

#[derive(Default)]
pub struct StatisticsQuery;

#[Object]
impl StatisticsQuery {
    /// The year-end statistics of a province, base or chapter (officials of that unit or above).
    async fn year_end_statistics(&self, ctx: &Context<'_>, unit_id: ID, year: i32) -> AppResult<YearEndStatistics> {
        year_end_of(ctx, &unit_id, year).await
    }
}
