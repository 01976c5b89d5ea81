//! Reads of awards. The award roll is public (docs/access.md): awards carry no row scope, and an individual
//! recipient's member record is resolved only inside the viewer's member scope.

use entity::award::{AwardKind, GrantingLevel, RecipientType};
use sea_orm::ActiveEnum;

use crate::sql::{Filter, Sql};
use crate::store::page::{ListQuery, Order};
use crate::text;

pub const NEWEST_FIRST: Order = Order {
    tag: "award:NEWEST",
    columns: &[("year", false), ("id", false)],
    descending: true,
};
pub const OLDEST_FIRST: Order = Order {
    tag: "award:OLDEST",
    columns: &[("year", false), ("id", false)],
    descending: false,
};

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AwardFilter {
    pub year: Option<i32>,
    pub year_from: Option<i32>,
    pub year_to: Option<i32>,
    pub kinds: Option<Vec<AwardKind>>,
    pub granting_level: Option<GrantingLevel>,
    pub recipient_type: Option<RecipientType>,
    pub movement: Option<String>,
    pub decision_number: Option<String>,
    pub include_revoked: bool,
    /// Awards to anything inside this subtree (the unit itself included).
    pub province_id: Option<i64>,
    pub base_id: Option<i64>,
    pub chapter_id: Option<i64>,
    pub member_id: Option<i64>,
}

impl AwardFilter {
    pub fn to_filter(&self) -> Filter {
        let mut filter = Filter::default();
        if !self.include_revoked {
            filter.and_text("t.revoked_at IS NULL");
        }
        let ints = [
            ("t.year = ", self.year),
            ("t.year >= ", self.year_from),
            ("t.year <= ", self.year_to),
        ];
        for (prefix, value) in ints {
            if let Some(v) = value {
                let mut cond = Sql::new(prefix);
                cond.bind(v);
                filter.and(cond);
            }
        }
        let ids = [
            ("t.province_id = ", self.province_id),
            ("t.base_id = ", self.base_id),
            ("t.chapter_id = ", self.chapter_id),
            ("t.member_id = ", self.member_id),
        ];
        for (prefix, value) in ids {
            if let Some(v) = value {
                let mut cond = Sql::new(prefix);
                cond.bind(v);
                filter.and(cond);
            }
        }
        if let Some(kinds) = &self.kinds {
            let mut cond = Sql::new("t.kind IN ");
            cond.bind_list(&kinds.iter().map(|k| k.to_value()).collect::<Vec<_>>());
            filter.and(cond);
        }
        if let Some(level) = self.granting_level {
            let mut cond = Sql::new("t.granting_level = ");
            cond.bind(level.to_value());
            filter.and(cond);
        }
        if let Some(kind) = self.recipient_type {
            let mut cond = Sql::new("t.recipient_type = ");
            cond.bind(kind.to_value());
            filter.and(cond);
        }
        if let Some(movement) = &self.movement {
            let mut cond = Sql::new("t.movement_key = ");
            cond.bind(text::fold(movement));
            filter.and(cond);
        }
        if let Some(number) = &self.decision_number {
            let mut cond = Sql::new("t.decision_number = ");
            cond.bind(text::clean(number));
            filter.and(cond);
        }
        filter
    }
}

pub fn list(filter: &AwardFilter, order: Order) -> ListQuery {
    ListQuery::new("awards", filter.to_filter(), order)
}

/// The column awards received by one node are partitioned by ([`received_by`]).
pub fn recipient_column() -> &'static str {
    sea_orm::IdenStatic::as_str(&entity::award::Column::RecipientId)
}

/// Awards received by one node itself (not its descendants): [`recipient_column`] is the partition column.
pub fn received_by(kind: RecipientType, filter: &AwardFilter, order: Order) -> ListQuery {
    let mut f = filter.to_filter();
    let mut cond = Sql::new("t.recipient_type = ");
    cond.bind(kind.to_value());
    f.and(cond);
    ListQuery::new("awards", f, order)
}
