//! The audit trail as GraphQL: `history` on members, units and awards, and the `Transfer` type. Histories are
//! for authenticated viewers; a member's personal data in them is masked outside the personal-data scope.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Json, Object};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::connection::connection;
use super::loaders::*;
use super::member::Member;
use super::tree::{Base, Chapter};
use super::{load, page_complexity, state, window};
use crate::audit::PERSONAL;
use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::ids::{GlobalId, NodeKind};

/// One change to a record: who made it, when, what it was before and after.
pub struct AuditEvent {
    model: entity::audit_event::Model,
    /// Whether the viewer may see the member's personal data named in this event.
    personal: bool,
}

impl From<entity::audit_event::Model> for AuditEvent {
    fn from(model: entity::audit_event::Model) -> Self {
        Self { model, personal: false }
    }
}

fn parse(raw: &Option<String>, personal: bool) -> Option<Json<Value>> {
    let mut value: Value = serde_json::from_str(raw.as_deref()?).ok()?;
    if !personal && let Value::Object(map) = &mut value {
        for key in PERSONAL {
            if map.contains_key(*key) {
                map.insert((*key).to_owned(), Value::String("(hidden)".into()));
            }
        }
    }
    Some(Json(value))
}

#[Object]
impl AuditEvent {
    async fn at(&self) -> DateTime<Utc> {
        self.model.at
    }
    /// What was done, e.g. `ADMIT_MEMBER`, `UPDATE_MEMBER`, `GRANT_AWARD`.
    async fn action(&self) -> &str {
        &self.model.action
    }
    /// The actor's token subject.
    async fn actor(&self) -> &str {
        &self.model.actor_subject
    }
    /// The actor's role at the time.
    async fn actor_role(&self) -> &str {
        &self.model.actor_role
    }
    /// The id of the node the actor's role was bound to.
    async fn actor_scope_id(&self) -> Option<&str> {
        self.model.actor_scope.as_deref()
    }
    /// The changed fields before the change (`null` on creation). Personal data outside the viewer's scope reads
    /// "(hidden)".
    async fn before(&self) -> Option<Json<Value>> {
        parse(&self.model.before_json, self.personal)
    }
    /// The changed fields after the change.
    async fn after(&self) -> Option<Json<Value>> {
        parse(&self.model.after_json, self.personal)
    }
    /// The reason given, where the action takes one.
    async fn reason(&self) -> Option<&str> {
        self.model.reason.as_deref()
    }
}

/// A page of audit events, newest first.
pub struct AuditEventConnection {
    page: crate::store::page::Page<entity::audit_event::Model>,
    personal: bool,
}

#[Object]
impl AuditEventConnection {
    async fn nodes(&self) -> Vec<AuditEvent> {
        self.page
            .rows
            .iter()
            .map(|m| AuditEvent {
                model: m.clone(),
                personal: self.personal,
            })
            .collect()
    }
    async fn edges(&self) -> Vec<AuditEventEdge> {
        self.page
            .rows
            .iter()
            .map(|m| AuditEventEdge {
                cursor: self.page.cursor_of(m),
                node: AuditEvent {
                    model: m.clone(),
                    personal: self.personal,
                },
            })
            .collect()
    }
    async fn page_info(&self) -> super::connection::PageInfo {
        super::connection::PageInfo {
            has_next_page: self.page.has_next,
            has_previous_page: self.page.has_previous,
            start_cursor: self.page.rows.first().map(|r| self.page.cursor_of(r)),
            end_cursor: self.page.rows.last().map(|r| self.page.cursor_of(r)),
        }
    }
    async fn total_count(&self, ctx: &Context<'_>) -> AppResult<i64> {
        self.page.total(&state(ctx).db).await
    }
}

/// An edge to an audit event.
#[derive(async_graphql::SimpleObject)]
pub struct AuditEventEdge {
    cursor: String,
    node: AuditEvent,
}

/// The history of a record the viewer can see. Anonymous viewers get an empty page.
pub async fn history(
    ctx: &Context<'_>,
    target: (NodeKind, i64),
    personal: bool,
    first: Option<i32>,
    after: Option<String>,
) -> AppResult<AuditEventConnection> {
    let order = HISTORY_ORDER;
    let w = window(&order, first, after, None, None)?;
    let args = Arc::new(ListArgs {
        filter: (),
        order,
        window: w.clone(),
        total: true,
    });
    let page = if matches!(state(ctx).viewer, Viewer::Anonymous) {
        crate::store::page::Page {
            rows: Vec::new().into(),
            order,
            has_next: false,
            has_previous: false,
            total: crate::store::page::Total::Known(0),
            counted: Default::default(),
        }
    } else {
        load(ctx, HistoryOf(target.0, target.1, args))
            .await?
            .ok_or_else(|| AppError::Internal("history page missing from batch".into()))?
    };
    Ok(AuditEventConnection { page, personal })
}

/// The state of a transfer.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::transfer::TransferStatus")]
pub enum TransferStatus {
    /// Released by the origin, waiting for the destination.
    Pending,
    Accepted,
    Rejected,
    /// Withdrawn by the origin before the destination decided.
    Cancelled,
}

/// A transfer of a member from one base association to another.
pub struct Transfer(pub entity::transfer::Model);

impl From<entity::transfer::Model> for Transfer {
    fn from(m: entity::transfer::Model) -> Self {
        Self(m)
    }
}

#[Object]
impl Transfer {
    pub async fn id(&self) -> ID {
        GlobalId::new(NodeKind::Transfer, self.0.id).encode().into()
    }
    async fn status(&self) -> TransferStatus {
        self.0.status.into()
    }
    /// The member's name as released, visible to both ends.
    async fn member_name(&self) -> &str {
        &self.0.member_name
    }
    /// The member record, within the viewer's scope.
    async fn member(&self, ctx: &Context<'_>) -> AppResult<Option<Member>> {
        Ok(load(ctx, MemberById(self.0.member_id)).await?.map(Member))
    }
    async fn from_base(&self, ctx: &Context<'_>) -> AppResult<Option<Base>> {
        Ok(load(ctx, BaseById(self.0.from_base_id)).await?.map(Base))
    }
    async fn from_chapter(&self, ctx: &Context<'_>) -> AppResult<Option<Chapter>> {
        Ok(load(ctx, ChapterById(self.0.from_chapter_id)).await?.map(Chapter))
    }
    async fn to_base(&self, ctx: &Context<'_>) -> AppResult<Option<Base>> {
        Ok(load(ctx, BaseById(self.0.to_base_id)).await?.map(Base))
    }
    /// The chapter that accepted the member.
    async fn to_chapter(&self, ctx: &Context<'_>) -> AppResult<Option<Chapter>> {
        match self.0.to_chapter_id {
            Some(id) => Ok(load(ctx, ChapterById(id)).await?.map(Chapter)),
            None => Ok(None),
        }
    }
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    async fn released_at(&self) -> DateTime<Utc> {
        self.0.released_at
    }
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
    /// The reason given with a rejection or cancellation.
    async fn decision_reason(&self) -> Option<&str> {
        self.0.decision_reason.as_deref()
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    #[graphql(complexity = "page_complexity(child_complexity, first, None)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<AuditEventConnection> {
        history(ctx, (NodeKind::Transfer, self.0.id), false, first, after).await
    }
}

connection!(
    TransferConnection,
    TransferEdge,
    Transfer,
    entity::transfer::Model,
    "transfers"
);

/// Orderings of transfers: newest first.
const TRANSFERS_NEWEST: crate::store::page::Order = crate::store::page::Order {
    tag: "transfer:NEWEST",
    columns: &[("id", false)],
    descending: true,
};

#[derive(Default)]
pub struct TransferQuery;

#[Object]
impl TransferQuery {
    /// Transfers with either end inside the viewer's scope, newest first: a destination base sees the members
    /// released to it (by name) before it accepts them.
    #[graphql(complexity = "page_complexity(child_complexity, first, None)")]
    async fn transfers(
        &self,
        ctx: &Context<'_>,
        status: Option<Vec<TransferStatus>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<TransferConnection> {
        let order = TRANSFERS_NEWEST;
        let w = window(&order, first, after, None, None)?;
        let st = state(ctx);
        let mut filter = crate::sql::Filter::default();
        if let Some(cond) = st.scope.members.transfers_condition() {
            filter.and(cond);
        }
        if let Some(statuses) = status {
            let values: Vec<sea_orm::Value> = statuses
                .into_iter()
                .map(|s| sea_orm::ActiveEnum::to_value(&entity::transfer::TransferStatus::from(s)).into())
                .collect();
            let mut cond = crate::sql::Sql::new("t.status IN ");
            cond.bind_list(&values);
            filter.and(cond);
        }
        let query = crate::store::page::ListQuery::new("transfers", filter, order);
        Ok(TransferConnection(query.page(&st.db, &w).await?))
    }
}

impl crate::graphql::connection::Prefetch for Transfer {
    type Row = entity::transfer::Model;
}
