//! The audit trail of one record as a page of `audit_events`, newest first.

use entity::audit_event;
use sea_orm::IdenStatic;

use super::page::{ListQuery, Order};
use crate::ids::NodeKind;
use crate::sql::{Filter, Sql};

/// History pages are ordered by event id, newest first.
pub const ORDER: Order = Order {
    tag: "history",
    columns: &[("id", false)],
    descending: true,
};

/// The column a record's events are partitioned by (with [`of_kind`] fixing the record's kind).
pub fn record_column() -> &'static str {
    audit_event::Column::TargetId.as_str()
}

/// The events of records of `kind`, to be partitioned by [`record_column`].
pub fn of_kind(kind: NodeKind, order: Order) -> ListQuery {
    let mut cond = Sql::new(&format!("t.{} = ", audit_event::Column::TargetType.as_str()));
    cond.bind(kind.name());
    let mut filter = Filter::default();
    filter.and(cond);
    ListQuery::new(super::table::<audit_event::Entity>(), filter, order)
}
