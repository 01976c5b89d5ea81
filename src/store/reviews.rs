//! Lists of award proposals and yearly ratings (the two records officials review each year): the filters their
//! queries take, as conditions on the tables' columns, over the access policy's condition.

use entity::award::AwardKind;
use entity::award_proposal::{self, ProposalStatus};
use entity::yearly_rating::{self, RatingKind};
use sea_orm::ActiveEnum;

use super::page::{ListQuery, Order};
use super::stats::Level;
use crate::sql::{Filter, Sql};

/// Proposals newest first.
pub const PROPOSALS_NEWEST: Order = Order {
    tag: "proposal:NEWEST",
    columns: &[("id", false)],
    descending: true,
};

/// Ratings newest first.
pub const RATINGS_NEWEST: Order = Order {
    tag: "rating:NEWEST",
    columns: &[("id", false)],
    descending: true,
};

/// What a record lies under: a unit (its ancestor column) or a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Under {
    Unit(Level, i64),
    Member(i64),
}

/// `t.<column> = value` for each given value, over `scope` (the policy's condition, if any).
fn conditions(scope: Option<Sql>, equal: Vec<(&str, Option<sea_orm::Value>)>, under: Option<Under>) -> Filter {
    let mut filter = Filter::default();
    if let Some(scope) = scope {
        filter.and(scope);
    }
    for (column, value) in equal {
        if let Some(value) = value {
            let mut cond = Sql::new(&format!("t.{column} = "));
            cond.bind(value);
            filter.and(cond);
        }
    }
    if let Some(under) = under {
        let (column, id) = match under {
            Under::Unit(level, id) => (level.column(), id),
            Under::Member(id) => ("member_id", id),
        };
        let mut cond = Sql::new(&format!("t.{column} = "));
        cond.bind(id);
        filter.and(cond);
    }
    filter
}

/// Which proposals to list.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProposalFilter {
    pub status: Option<ProposalStatus>,
    pub kind: Option<AwardKind>,
    pub year: Option<i32>,
    pub under: Option<Under>,
}

/// The proposals `filter` keeps inside `scope`.
pub fn proposals(scope: Option<Sql>, filter: ProposalFilter, order: Order) -> ListQuery {
    let equal = vec![
        ("status", filter.status.map(|s| s.to_value().into())),
        ("kind", filter.kind.map(|k| k.to_value().into())),
        ("year", filter.year.map(Into::into)),
    ];
    ListQuery::new(
        super::table::<award_proposal::Entity>(),
        conditions(scope, equal, filter.under),
        order,
    )
}

/// Which ratings to list.
#[derive(Clone, Copy, Debug, Default)]
pub struct RatingFilter {
    pub kind: Option<RatingKind>,
    pub year: Option<i32>,
    pub achieved: Option<bool>,
    pub under: Option<Under>,
}

/// The ratings `filter` keeps inside `scope`.
pub fn ratings(scope: Option<Sql>, filter: RatingFilter, order: Order) -> ListQuery {
    let equal = vec![
        ("kind", filter.kind.map(|k| k.to_value().into())),
        ("year", filter.year.map(Into::into)),
        ("achieved", filter.achieved.map(Into::into)),
    ];
    ListQuery::new(
        super::table::<yearly_rating::Entity>(),
        conditions(scope, equal, filter.under),
        order,
    )
}
