//! Reads of the organisation tree: provinces, bases, chapters. Unit names are public (docs/access.md), so units
//! carry no row scope; closed units are hidden unless asked for.

use entity::base::BaseKind;

use super::stats::Level;
use crate::sql::{Filter, Sql};
use crate::store::page::{ListQuery, Order};
use crate::text;

pub const BY_NAME: Order = Order {
    tag: "unit:NAME",
    columns: &[("sort_key", true), ("id", false)],
    descending: false,
};
pub const BY_CODE: Order = Order {
    tag: "unit:CODE",
    columns: &[("code", true), ("id", false)],
    descending: false,
};

/// Filters common to every level of units.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct UnitFilter {
    /// Diacritic- and case-insensitive words that must all occur in the name.
    pub search: Option<String>,
    pub include_closed: bool,
    /// Bases only.
    pub kinds: Option<Vec<BaseKind>>,
    /// Root lists only: keep the children of one unit (a province's bases or chapters, a base's chapters).
    pub parent: Option<(Level, i64)>,
}

impl UnitFilter {
    pub fn to_filter(&self) -> Filter {
        let mut filter = Filter::default();
        if !self.include_closed {
            filter.and_text("t.closed_at IS NULL");
        }
        if let Some(search) = &self.search {
            // Unit tables are small (hundreds to a few thousand rows per province), so a substring match on the
            // stored folded name is cheap; members use the token index instead.
            for word in text::fold(search).split(' ').filter(|w| !w.is_empty()) {
                let mut cond = Sql::new("t.name_search LIKE ");
                cond.bind(format!("%{word}%"));
                filter.and(cond);
            }
        }
        if let Some(kinds) = &self.kinds {
            let mut cond = Sql::new("t.kind IN ");
            cond.bind_list(&kinds.iter().map(sea_orm::ActiveEnum::to_value).collect::<Vec<_>>());
            filter.and(cond);
        }
        if let Some((level, id)) = self.parent {
            let mut cond = Sql::new(&format!("t.{} = ", level.column()));
            cond.bind(id);
            filter.and(cond);
        }
        filter
    }
}

pub fn provinces(filter: &UnitFilter, order: Order) -> ListQuery {
    ListQuery::new("provinces", filter.to_filter(), order)
}

pub fn bases(filter: &UnitFilter, order: Order) -> ListQuery {
    ListQuery::new("bases", filter.to_filter(), order)
}

pub fn chapters(filter: &UnitFilter, order: Order) -> ListQuery {
    ListQuery::new("chapters", filter.to_filter(), order)
}

/// A chapter with the units above it that were asked for.
pub struct ChapterWithUnits {
    pub chapter: entity::chapter::Model,
    pub base: Option<entity::base::Model>,
    pub province: Option<entity::province::Model>,
}

/// Chapters by id, each with its base and province when asked for, in one statement: the units above a page
/// of members (a member's base is its chapter's) in one round trip instead of one per level.
pub async fn chapters_with_units(
    db: &sea_orm::DatabaseConnection,
    ids: &[i64],
    base: bool,
    province: bool,
) -> crate::error::AppResult<Vec<ChapterWithUnits>> {
    use entity::{base, chapter, province};

    use super::members::{prefixed_columns, unit_join};

    let backend = db.get_database_backend();
    let mut sql = Sql::new("SELECT t.*");
    let mut joins = String::new();
    if base {
        sql.push(&prefixed_columns::<base::Entity>("b"));
        joins.push_str(&unit_join(backend, "bases", "b", "base_id"));
    }
    if province {
        sql.push(&prefixed_columns::<province::Entity>("p"));
        joins.push_str(&unit_join(backend, "provinces", "p", "province_id"));
    }
    sql.push(" FROM chapters t").push(&joins).push(" WHERE t.id IN ");
    sql.bind_list(ids);
    let rows = super::reader::query_all(db, sql.build(backend)).await?;
    rows.iter()
        .map(|row| {
            Ok(ChapterWithUnits {
                chapter: super::decode::decode::<chapter::Model>(row, "")?,
                base: base
                    .then(|| super::decode::decode::<base::Model>(row, "b_"))
                    .transpose()?,
                province: province
                    .then(|| super::decode::decode::<province::Model>(row, "p_"))
                    .transpose()?,
            })
        })
        .collect()
}
