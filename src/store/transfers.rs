//! Transfers: the list a viewer may see, and members' pending transfers.

use entity::transfer::{self, TransferStatus};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use crate::auth::policy::Subtree;
use crate::sql::{Filter, Sql};
use crate::store::page::{ListQuery, Order};

/// Transfers newest first.
pub const NEWEST: Order = Order {
    tag: "transfer:NEWEST",
    columns: &[("id", false)],
    descending: true,
};

/// Transfers with either end inside `scope`, in `statuses` when given.
pub fn list(scope: Subtree, statuses: Option<&[TransferStatus]>, order: Order) -> ListQuery {
    let mut filter = Filter::default();
    if let Some(cond) = scope.transfers_condition() {
        filter.and(cond);
    }
    if let Some(statuses) = statuses {
        let values: Vec<sea_orm::Value> = statuses
            .iter()
            .map(|s| sea_orm::ActiveEnum::to_value(s).into())
            .collect();
        let mut cond = Sql::new("t.status IN ");
        cond.bind_list(&values);
        filter.and(cond);
    }
    ListQuery::new("transfers", filter, order)
}

/// The pending transfers of these members (at most one each: a partial unique index sees to it).
pub async fn pending_of<C: ConnectionTrait>(db: &C, member_ids: &[i64]) -> Result<Vec<transfer::Model>, DbErr> {
    transfer::Entity::find()
        .filter(transfer::Column::Status.eq(TransferStatus::Pending))
        .filter(transfer::Column::MemberId.is_in(member_ids.iter().copied()))
        .all(db)
        .await
}

/// A member's pending transfer, if any.
pub async fn pending<C: ConnectionTrait>(db: &C, member_id: i64) -> Result<Option<transfer::Model>, DbErr> {
    Ok(pending_of(db, &[member_id]).await?.into_iter().next())
}
