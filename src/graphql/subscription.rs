//! Subscriptions (over `graphql-transport-ws` on `/graphql`): events for members, units and awards as they
//! commit, on any instance. Each event is delivered only to viewers whose scope covers the record, before or
//! after the change; its record resolves through the same scoped loaders as queries, so personal fields are
//! masked exactly as there. A member who moves out of a viewer's scope reaches that viewer as `LEFT`.

use std::sync::Arc;

use async_graphql::futures_util::stream::{self, Stream, StreamExt};
use async_graphql::{Context, Enum, ID, Object, Subscription};
use chrono::{DateTime, Utc};
use tokio::sync::broadcast::error::RecvError;

use super::award::Award;
use super::member::Member;
use super::node::Node;
use super::{load, loaders::*, state};
use crate::error::AppResult;
use crate::ids::{GlobalId, NodeKind};
use crate::realtime::changes::{ChangeRow, Seen};

/// What happened to a member, from the viewer's side.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberEventKind {
    /// Admitted to the association.
    Admitted,
    /// Their record changed.
    Changed,
    /// Moved to another chapter the viewer also sees (or into the viewer's scope).
    Moved,
    /// Deceased, removed, or moved out of the viewer's scope: drop them.
    Left,
}

/// What happened to a unit.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitEventKind {
    Created,
    Changed,
    Closed,
}

/// What happened to an award.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AwardEventKind {
    Granted,
    Changed,
    Revoked,
}

/// The common part of every event.
struct Event<K> {
    kind: K,
    row: Arc<ChangeRow>,
}

/// A member event.
pub struct MemberEvent(Event<MemberEventKind>);

#[Object]
impl MemberEvent {
    async fn kind(&self) -> MemberEventKind {
        self.0.kind
    }
    async fn member_id(&self) -> ID {
        GlobalId::new(NodeKind::Member, self.0.row.target_id).encode().into()
    }
    /// The member as they are now; `null` for `LEFT`.
    async fn member(&self, ctx: &Context<'_>) -> AppResult<Option<Member>> {
        if self.0.kind == MemberEventKind::Left {
            return Ok(None);
        }
        Ok(load(ctx, MemberById(self.0.row.target_id)).await?.map(Member))
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.row.at
    }
    /// The change-log cursor of this event: `changes(after:)` from here catches up after a disconnect.
    async fn cursor(&self) -> String {
        super::changes::cursor(self.0.row.id)
    }
}

/// A unit (province, base, chapter) event.
pub struct UnitEvent(Event<UnitEventKind>);

#[Object]
impl UnitEvent {
    async fn kind(&self) -> UnitEventKind {
        self.0.kind
    }
    async fn unit_id(&self) -> ID {
        GlobalId::new(self.0.row.kind, self.0.row.target_id).encode().into()
    }
    /// The unit as it is now.
    async fn unit(&self, ctx: &Context<'_>) -> AppResult<Option<Node>> {
        super::node::fetch(ctx, GlobalId::new(self.0.row.kind, self.0.row.target_id)).await
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.row.at
    }
    async fn cursor(&self) -> String {
        super::changes::cursor(self.0.row.id)
    }
}

/// An award event.
pub struct AwardEvent(Event<AwardEventKind>);

#[Object]
impl AwardEvent {
    async fn kind(&self) -> AwardEventKind {
        self.0.kind
    }
    async fn award_id(&self) -> ID {
        GlobalId::new(NodeKind::Award, self.0.row.target_id).encode().into()
    }
    /// The award as it is now (a revoked award shows its revocation).
    async fn award(&self, ctx: &Context<'_>) -> AppResult<Option<Award>> {
        Ok(load(ctx, AwardById(self.0.row.target_id)).await?.map(Award))
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.row.at
    }
    async fn cursor(&self) -> String {
        super::changes::cursor(self.0.row.id)
    }
}

/// The committed changes this instance hears, as a stream (a subscriber that falls behind skips ahead).
fn committed(ctx: &Context<'_>) -> impl Stream<Item = Arc<ChangeRow>> + use<> {
    let receiver = state(ctx).services.realtime.subscribe();
    stream::unfold(receiver, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(row) => return Some((row, rx)),
                Err(RecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "a subscriber fell behind; events skipped");
                }
                Err(RecvError::Closed) => return None,
            }
        }
    })
}

fn member_event(row: Arc<ChangeRow>, seen: Seen) -> Option<MemberEvent> {
    let kind = match seen {
        Seen::Hidden => return None,
        Seen::Remove => MemberEventKind::Left,
        Seen::Upsert if row.action == "ADMIT_MEMBER" => MemberEventKind::Admitted,
        Seen::Upsert if row.moved() => MemberEventKind::Moved,
        Seen::Upsert => MemberEventKind::Changed,
    };
    Some(MemberEvent(Event { kind, row }))
}

#[derive(Default)]
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Members admitted, changed, moved or gone, within the viewer's scope (the public sees none).
    async fn member_events(&self, ctx: &Context<'_>) -> impl Stream<Item = MemberEvent> + use<> {
        let scope = state(ctx).scope.members;
        committed(ctx).filter_map(move |row| async move {
            if row.kind != NodeKind::Member {
                return None;
            }
            let seen = row.seen_by(scope);
            member_event(row, seen)
        })
    }

    /// Provinces, bases and chapters created, renamed or closed (units are public).
    async fn unit_events(&self, ctx: &Context<'_>) -> impl Stream<Item = UnitEvent> + use<> {
        committed(ctx).filter_map(|row| async move {
            if !matches!(row.kind, NodeKind::Province | NodeKind::Base | NodeKind::Chapter) {
                return None;
            }
            let kind = if row.action.starts_with("CREATE_") {
                UnitEventKind::Created
            } else if row.action.starts_with("CLOSE_") {
                UnitEventKind::Closed
            } else {
                UnitEventKind::Changed
            };
            Some(UnitEvent(Event { kind, row }))
        })
    }

    /// Awards granted, changed or revoked (the award roll is public; recipients resolve within the scope).
    async fn award_events(&self, ctx: &Context<'_>) -> impl Stream<Item = AwardEvent> + use<> {
        committed(ctx).filter_map(|row| async move {
            if row.kind != NodeKind::Award {
                return None;
            }
            let kind = if row.gone {
                AwardEventKind::Revoked
            } else if row.action == "GRANT_AWARD" {
                AwardEventKind::Granted
            } else {
                AwardEventKind::Changed
            };
            Some(AwardEvent(Event { kind, row }))
        })
    }
}
