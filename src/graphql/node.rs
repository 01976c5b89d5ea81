//! `node(id:)` and `nodes(ids:)`: any object by its global id, through the same scoped loaders as the graph,
//! so a record outside the viewer's scope is `null` exactly like one that does not exist.

use async_graphql::{Context, ID, Interface, Object};

use super::award::Award;
use super::load;
use super::loaders::*;
use super::member::Member;
use super::tree::{Base, Chapter, Province};
use crate::error::{AppError, AppResult};
use crate::ids::{GlobalId, NodeKind};

/// An object with a global id.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    Province(Province),
    Base(Base),
    Chapter(Chapter),
    Member(Member),
    Award(Award),
    Transfer(super::transfer::Transfer),
    Proposal(super::proposals::Proposal),
    YearlyRating(super::ratings::YearlyRating),
}

/// The most ids one `nodes` call may ask for.
pub const MAX_NODES: usize = 100;

/// Any object by its global id through the scoped loaders; `None` when missing or outside the viewer's scope.
pub(super) async fn fetch(ctx: &Context<'_>, id: GlobalId) -> AppResult<Option<Node>> {
    Ok(match id.kind {
        NodeKind::Province => load(ctx, ProvinceById(id.id))
            .await?
            .map(|m| Node::Province(Province(m))),
        NodeKind::Base => load(ctx, BaseById(id.id)).await?.map(|m| Node::Base(Base(m))),
        NodeKind::Chapter => load(ctx, ChapterById(id.id)).await?.map(|m| Node::Chapter(Chapter(m))),
        NodeKind::Member => load(ctx, MemberById(id.id)).await?.map(|m| Node::Member(Member(m))),
        NodeKind::Award => load(ctx, AwardById(id.id)).await?.map(|m| Node::Award(Award(m))),
        NodeKind::Transfer => load(ctx, TransferById(id.id))
            .await?
            .filter(|t| crate::auth::policy::can_see_transfer(&super::state(ctx).scope, t))
            .map(|t| Node::Transfer(super::transfer::Transfer(t))),
        NodeKind::Proposal => super::proposals::visible(ctx, id.id).await?.map(Node::Proposal),
        NodeKind::YearlyRating => super::ratings::visible(ctx, id.id).await?.map(Node::YearlyRating),
        NodeKind::Account => None,
    })
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its id; `null` when it does not exist or is outside the viewer's scope.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<Node>> {
        let id = GlobalId::parse("id", &id)?;
        if id.kind == NodeKind::Member {
            // The member row (with the units above it) and its awards page come in one round trip (one
            // statement on PostgreSQL): neither waits for the other.
            let selection = ctx.look_ahead();
            match super::member::selected_awards_page(id.id, &selection) {
                Some(awards) => warm_member_with_awards(ctx, id.id, &selection, awards).await?,
                None => warm_members_with_units(ctx, &[id.id], &selection).await?,
            }
        }
        fetch(ctx, id).await
    }

    /// Several objects by id, in the order asked; `null` for each that does not exist or is out of scope.
    #[graphql(complexity = "ids.len().max(1) * child_complexity + 1")]
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> AppResult<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(AppError::bad_input("ids", format!("at most {MAX_NODES} ids")));
        }
        let parsed = ids
            .iter()
            .enumerate()
            .map(|(i, raw)| GlobalId::parse(&format!("ids[{i}]"), raw))
            .collect::<AppResult<Vec<_>>>()?;
        let members: Vec<i64> = parsed
            .iter()
            .filter(|id| id.kind == NodeKind::Member)
            .map(|id| id.id)
            .collect();
        warm_members_with_units(ctx, &members, &ctx.look_ahead()).await?;
        futures_join(ctx, parsed).await
    }
}

/// Fetches all ids concurrently, so the loaders batch them into one statement per kind.
async fn futures_join(ctx: &Context<'_>, ids: Vec<GlobalId>) -> AppResult<Vec<Option<Node>>> {
    let futures = ids.into_iter().map(|id| fetch(ctx, id));
    async_graphql::futures_util::future::try_join_all(futures).await
}
