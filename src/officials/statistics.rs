//! Year-end statistics of a unit (báo cáo tổng kết): for the unit and each unit under it, the open units,
//! active members by type, sex, age band, party membership and war-invalid status, the year's flows
//! (admitted, transferred in and out, deceased, removed) and the year's awards by kind and granting level.
//! Everything is aggregate SQL grouped by the child unit's column ([`crate::store::year_end`]): a few statements
//! whatever the size of the unit, never a member row loaded.
//!
//! Membership figures describe the registry as it stands (the same numbers as `stats`); the flows and awards
//! are those dated in the year asked for. Ages are counted as at the end of that year from the birth year.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use entity::{base, chapter, province};
use sea_orm::{DatabaseConnection, EntityTrait};

use crate::auth::policy::Subtree;
use crate::error::{AppError, AppResult};
use crate::ids::{GlobalId, NodeKind};
use crate::store::stats::Level;
use crate::store::year_end::{self as store, Within};
pub use crate::store::year_end::{AwardKindKey, Figures, GrantingLevelKey, KINDS, LEVELS};

/// The first year the association's records can describe (it was founded in 1989).
pub const FIRST_YEAR: i32 = 1989;

/// A node of the tree above members, with its ancestors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unit {
    pub kind: NodeKind,
    pub id: i64,
    pub province_id: i64,
    pub base_id: Option<i64>,
    pub chapter_id: Option<i64>,
    pub code: String,
    pub name: String,
}

impl Unit {
    /// The global id of the unit.
    pub fn global_id(&self) -> String {
        GlobalId::new(self.kind, self.id).encode()
    }

    /// The level of the tree the unit is at.
    pub fn level(&self) -> Level {
        // A unit is always one of the three (see `resolve_unit`).
        Level::of(self.kind).unwrap_or(Level::Chapter)
    }

    /// The rows inside the unit.
    pub fn within(&self) -> Within {
        Within {
            level: self.level(),
            id: self.id,
        }
    }

    /// Whether the unit lies inside `subtree` (a member-bound subtree contains no unit).
    pub fn inside(&self, subtree: &Subtree) -> bool {
        match *subtree {
            Subtree::All => true,
            Subtree::Province(id) => self.province_id == id,
            Subtree::Base(id) => self.base_id == Some(id),
            Subtree::Chapter(id) => self.chapter_id == Some(id),
            Subtree::Member(_) | Subtree::Nothing => false,
        }
    }
}

/// Resolves a tree-node id (province, base or chapter; units are public, so a missing one is `NOT_FOUND`).
pub async fn resolve_unit(db: &DatabaseConnection, field: &str, raw: &str) -> AppResult<Unit> {
    let gid = GlobalId::parse(field, raw)?;
    let not_found = || AppError::not_found("unit");
    match gid.kind {
        NodeKind::Province => {
            let p = province::Entity::find_by_id(gid.id)
                .one(db)
                .await?
                .ok_or_else(not_found)?;
            Ok(Unit {
                kind: gid.kind,
                id: p.id,
                province_id: p.id,
                base_id: None,
                chapter_id: None,
                code: p.code,
                name: p.name,
            })
        }
        NodeKind::Base => {
            let b = base::Entity::find_by_id(gid.id).one(db).await?.ok_or_else(not_found)?;
            Ok(Unit {
                kind: gid.kind,
                id: b.id,
                province_id: b.province_id,
                base_id: Some(b.id),
                chapter_id: None,
                code: b.code,
                name: b.name,
            })
        }
        NodeKind::Chapter => {
            let c = chapter::Entity::find_by_id(gid.id)
                .one(db)
                .await?
                .ok_or_else(not_found)?;
            Ok(Unit {
                kind: gid.kind,
                id: c.id,
                province_id: c.province_id,
                base_id: Some(c.base_id),
                chapter_id: Some(c.id),
                code: c.code,
                name: c.name,
            })
        }
        _ => Err(AppError::bad_input(
            field,
            "expected the id of a province, base or chapter",
        )),
    }
}

/// Checks a report year.
pub fn check_year(field: &str, year: i32) -> AppResult<i32> {
    let last = chrono::Datelike::year(&Utc::now().date_naive()) + 1;
    crate::input::year(field, Some(year), FIRST_YEAR..=last)?;
    Ok(year)
}

/// One row of the breakdown: a unit one level down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildRow {
    pub kind: NodeKind,
    pub id: i64,
    pub code: String,
    pub name: String,
    pub closed: bool,
    pub figures: Figures,
}

/// The year-end statistics of a unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YearEnd {
    pub unit: Unit,
    pub year: i32,
    pub totals: Figures,
    /// One row per unit one level down (bases of a province, chapters of a base; none for a chapter), in name
    /// order.
    pub breakdown: Vec<ChildRow>,
}

/// Computes the year-end statistics of `unit` for `year`.
pub async fn year_end(db: &DatabaseConnection, unit: Unit, year: i32) -> AppResult<YearEnd> {
    let (own, within, bounds) = (unit.level(), unit.within(), year_bounds(year)?);
    let mut totals = store::figures(db, within, year, bounds, own)
        .await?
        .remove(&unit.id)
        .unwrap_or_default();
    if own == Level::Province {
        totals.bases = store::open_units(db, within, Level::Base, own)
            .await?
            .remove(&unit.id)
            .unwrap_or(0);
    }
    if own != Level::Chapter {
        totals.chapters = store::open_units(db, within, Level::Chapter, own)
            .await?
            .remove(&unit.id)
            .unwrap_or(0);
    }
    let mut breakdown = Vec::new();
    if let Some(child) = own.child() {
        let mut by_child = store::figures(db, within, year, bounds, child).await?;
        let chapters = if child == Level::Base {
            store::open_units(db, within, Level::Chapter, child).await?
        } else {
            HashMap::new()
        };
        let kind = if child == Level::Base {
            NodeKind::Base
        } else {
            NodeKind::Chapter
        };
        for row in store::child_units(db, within, child).await? {
            let mut figures = by_child.remove(&row.id).unwrap_or_default();
            figures.chapters = chapters.get(&row.id).copied().unwrap_or(0);
            // A closed unit with nothing to report is history, not a row of this year's table.
            if row.closed && figures == Figures::default() {
                continue;
            }
            breakdown.push(ChildRow {
                kind,
                id: row.id,
                code: row.code,
                name: row.name,
                closed: row.closed,
                figures,
            });
        }
    }
    Ok(YearEnd {
        unit,
        year,
        totals,
        breakdown,
    })
}

fn year_bounds(year: i32) -> AppResult<(NaiveDate, NaiveDate)> {
    let start = NaiveDate::from_ymd_opt(year, 1, 1);
    let end = NaiveDate::from_ymd_opt(year, 12, 31);
    start
        .zip(end)
        .ok_or_else(|| AppError::bad_input("year", "not a calendar year"))
}
