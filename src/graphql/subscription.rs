//! Subscriptions (over `graphql-transport-ws` on `/graphql`): events for members, units, awards, award
//! proposals and yearly ratings as they commit, on any instance. Each event is delivered only to viewers whose
//! scope covers the record, before or after the change (for proposals and ratings: the rule of their queries,
//! applied to the change as it was recorded, see `realtime::changes`); its record resolves through the same
//! scoped reads as queries, so personal fields are masked exactly as there. A member who moves out of a
//! viewer's scope reaches that viewer as `LEFT`.

use std::sync::Arc;

use async_graphql::futures_util::stream::{self, Stream, StreamExt};
use async_graphql::{Context, Enum, ID, Object, Subscription};
use chrono::{DateTime, Utc};
use tokio::sync::broadcast::error::RecvError;

use super::award::Award;
use super::member::Member;
use super::node::Node;
use super::proposals::{self, Proposal};
use super::ratings::{self, YearlyRating};
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

/// A step of an award proposal.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProposalEventKind {
    /// Proposed to the level above the proposer.
    Proposed,
    /// Sent on to the next level (for that level's officials, the proposal arrives with this event).
    Forwarded,
    /// Approved: the award exists (`awardEvents` announces it as `GRANTED`).
    Approved,
    /// Refused, with a reason.
    Rejected,
    /// Taken back by the proposer.
    Withdrawn,
}

impl ProposalEventKind {
    /// The event of a proposal step's audit action.
    fn of_action(action: &str) -> Option<Self> {
        Some(match action {
            proposals::PROPOSE_AWARD => Self::Proposed,
            proposals::FORWARD_PROPOSAL => Self::Forwarded,
            proposals::APPROVE_PROPOSAL => Self::Approved,
            proposals::REJECT_PROPOSAL => Self::Rejected,
            proposals::WITHDRAW_PROPOSAL => Self::Withdrawn,
            _ => return None,
        })
    }
}

/// What happened to a yearly rating.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum YearlyRatingEventKind {
    /// Recorded for the first time for its subject, kind and year.
    Recorded,
    /// Changed (earned or not, note).
    Changed,
}

impl YearlyRatingEventKind {
    fn of_action(action: &str) -> Option<Self> {
        Some(match action {
            ratings::RECORD_YEARLY_RATING => Self::Recorded,
            ratings::UPDATE_YEARLY_RATING => Self::Changed,
            _ => return None,
        })
    }
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
        super::changes::cursor(self.0.row.seq)
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
        super::changes::cursor(self.0.row.seq)
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
        super::changes::cursor(self.0.row.seq)
    }
}

/// An award proposal event.
pub struct ProposalEvent(Event<ProposalEventKind>);

#[Object]
impl ProposalEvent {
    async fn kind(&self) -> ProposalEventKind {
        self.0.kind
    }
    async fn proposal_id(&self) -> ID {
        GlobalId::new(NodeKind::Proposal, self.0.row.target_id).encode().into()
    }
    /// The proposal as it is now (a later step may already have moved it on).
    async fn proposal(&self, ctx: &Context<'_>) -> AppResult<Option<Proposal>> {
        proposals::visible(ctx, self.0.row.target_id).await
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.row.at
    }
    async fn cursor(&self) -> String {
        super::changes::cursor(self.0.row.seq)
    }
}

/// A yearly rating event.
pub struct YearlyRatingEvent(Event<YearlyRatingEventKind>);

#[Object]
impl YearlyRatingEvent {
    async fn kind(&self) -> YearlyRatingEventKind {
        self.0.kind
    }
    async fn rating_id(&self) -> ID {
        GlobalId::new(NodeKind::YearlyRating, self.0.row.target_id)
            .encode()
            .into()
    }
    /// The rating as it is now.
    async fn rating(&self, ctx: &Context<'_>) -> AppResult<Option<YearlyRating>> {
        ratings::visible(ctx, self.0.row.target_id).await
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.row.at
    }
    async fn cursor(&self) -> String {
        super::changes::cursor(self.0.row.seq)
    }
}

/// The committed changes of `kind` this viewer sees, with how they see each (never `Seen::Hidden`).
fn seen(ctx: &Context<'_>, kind: NodeKind) -> impl Stream<Item = (Arc<ChangeRow>, Seen)> + use<> {
    let st = state(ctx);
    let (viewer, scope) = (st.viewer.clone(), st.scope);
    committed(ctx).filter_map(move |row| {
        let seen = (row.kind == kind).then(|| row.seen_by(&viewer, &scope));
        async move {
            match seen {
                None | Some(Seen::Hidden) => None,
                Some(seen) => Some((row, seen)),
            }
        }
    })
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
        seen(ctx, NodeKind::Member).filter_map(|(row, seen)| async move { member_event(row, seen) })
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

    /// Award proposals proposed, forwarded, approved, rejected or withdrawn, seen by the levels they pass
    /// through exactly as `proposals` decides: the chapter or base they came from sees every step, a province
    /// official from the step that brought the proposal to the province (`FORWARDED`) on, admins all; members
    /// and the public none.
    async fn proposal_events(&self, ctx: &Context<'_>) -> impl Stream<Item = ProposalEvent> + use<> {
        seen(ctx, NodeKind::Proposal).filter_map(|(row, _)| async move {
            let kind = ProposalEventKind::of_action(&row.action)?;
            Some(ProposalEvent(Event { kind, row }))
        })
    }

    /// Yearly ratings recorded or changed, inside the viewer's scope as `yearlyRatings` decides.
    async fn yearly_rating_events(&self, ctx: &Context<'_>) -> impl Stream<Item = YearlyRatingEvent> + use<> {
        seen(ctx, NodeKind::YearlyRating).filter_map(|(row, _)| async move {
            let kind = YearlyRatingEventKind::of_action(&row.action)?;
            Some(YearlyRatingEvent(Event { kind, row }))
        })
    }
}
