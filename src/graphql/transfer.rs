//! Transfers of members between base associations as GraphQL: the `Transfer` type and `Query.transfers`.

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};

use super::connection::connection;
use super::history::{AuditEventConnection, history};
use super::loaders::*;
use super::member::Member;
use super::tree::{Base, Chapter};
use super::{load, page_complexity, state, window};
use crate::error::AppResult;
use crate::ids::{GlobalId, NodeKind};

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
        let order = crate::store::transfers::NEWEST;
        let w = window(&order, first, after, None, None)?;
        let st = state(ctx);
        let statuses: Option<Vec<entity::transfer::TransferStatus>> =
            status.map(|s| s.into_iter().map(Into::into).collect());
        let query = crate::store::transfers::list(st.scope.members, statuses.as_deref(), order);
        Ok(TransferConnection(
            query.page(&st.db, &w, super::wants_total(ctx)).await?,
        ))
    }
}

impl crate::graphql::connection::Prefetch for Transfer {
    type Row = entity::transfer::Model;
}
