//! The change log: written inside every mutation's transaction with its audit event (`audit::record`, so no
//! mutation can forget it) and read by `Query.changes` and the subscription hub.
//!
//! Commit order. A reader resumes from "every change after my cursor", which is only safe if positions become
//! visible in increasing order. On SQLite there is one writer at a time, so a change is numbered as it is
//! written (`seq` = the highest so far + 1). On PostgreSQL an id is taken when the row is inserted, not when its
//! transaction commits: writer A may take id 7, writer B id 8 and commit first, and a reader that saw 8 would
//! skip 7 for ever. Ordering by id would need every writer to hold a lock from its insert to the end of its
//! commit (WAL flush included), one writer at a time. Instead a change row is written unnumbered and without a
//! lock, and the sequencer (`store::changes::sequence`) gives committed rows their `seq`, above every number
//! given before, in a short transaction of its own (one sequencer at a time). Readers read numbered rows only,
//! and number what is waiting first: `Query.changes` before each page, the hub whenever it is woken. Two
//! changes of one record keep their order: the second writer waits on the record's row lock until the first
//! commits, so the first row is committed (and numbered no later) before the second is written.
//!
//! Who sees a change. Units and the award roll are public. A member change is seen by readers whose member
//! scope holds the member now or held them before (then as a removal). An award proposal or a yearly rating is
//! seen exactly as its queries decide (`policy::proposals_condition` / `sees_proposal_at`,
//! `policy::ratings_condition` / `can_see_rating`), applied to the change row itself: the row carries the
//! record's `province_id`, `base_id`, `chapter_id` and `member_id`, and for a proposal the `level` it had
//! reached by that step, under the same column names as the records' tables. So a province official sees a
//! proposal from the step that brought it to the province, and the base it came from sees every step. Neither
//! kind ever leaves a reader's view (a proposal's recipient and a rating's subject are fixed on the row, and a
//! proposal's level only rises), so both are always `UPSERT`.

use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use serde_json::Value as Json;

use crate::auth::Viewer;
use crate::auth::policy::{Position, ReadScope, Subtree, can_see_rating, sees_proposal_at};
use crate::ids::NodeKind;
pub use crate::store::changes::{CHANNEL, ChangeRow, announce, count, head, read, sequence, visible};
use crate::store::changes::{Entry, Place};
use entity::member::{self, MemberStatus};

/// Whether the record is within `subtree` (a member scope) at `at`.
fn within(subtree: Subtree, kind: NodeKind, member: i64, at: Place) -> bool {
    if kind != NodeKind::Member {
        // Units and the award roll are public.
        return true;
    }
    match subtree {
        Subtree::All => true,
        Subtree::Nothing => false,
        Subtree::Province(id) => at.0 == Some(id),
        Subtree::Base(id) => at.1 == Some(id),
        Subtree::Chapter(id) => at.2 == Some(id),
        Subtree::Member(id) => member == id,
    }
}

/// How one change looks to a reader whose member scope is `scope`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// The record is (still) the reader's: fetch it.
    Upsert,
    /// The record left the reader's view: drop it.
    Remove,
    /// The reader never saw it and does not now.
    Hidden,
}

impl ChangeRow {
    /// How this change looks to `viewer`, whose read scope is `scope`.
    pub fn seen_by(&self, viewer: &Viewer, scope: &ReadScope) -> Seen {
        let visible = match self.kind {
            NodeKind::Proposal => self
                .level
                .is_some_and(|level| sees_proposal_at(viewer, &self.position(), level)),
            NodeKind::YearlyRating => can_see_rating(scope, &self.position()),
            _ => return self.member_seen_by(scope.members),
        };
        if visible { Seen::Upsert } else { Seen::Hidden }
    }

    /// Members move and leave; everything else that reaches here (units, awards) is public.
    fn member_seen_by(&self, scope: Subtree) -> Seen {
        let now = within(scope, self.kind, self.target_id, self.now);
        let before = within(scope, self.kind, self.target_id, self.before);
        match (self.gone, now, before) {
            (false, true, _) => Seen::Upsert,
            (_, _, true) | (true, true, _) => Seen::Remove,
            _ => Seen::Hidden,
        }
    }

    /// Where the record is now, as the policy's rules take it.
    fn position(&self) -> Position {
        Position {
            province_id: self.now.0.unwrap_or_default(),
            base_id: self.now.1,
            chapter_id: self.now.2,
            member_id: self.member_id,
        }
    }

    /// Whether the record moved between units in this change.
    pub fn moved(&self) -> bool {
        self.now != self.before
    }
}

/// The unit ids a record's `before` image of the audit trail names, over `fallback` where it names none.
fn place_before(before: Option<&Json>, fallback: Place) -> Place {
    let get = |key: &str, dflt: Option<i64>| before.and_then(|b| b.get(key)).and_then(Json::as_i64).or(dflt);
    (
        get("province_id", fallback.0),
        get("base_id", fallback.1),
        get("chapter_id", fallback.2),
    )
}

/// The change-log row of a mutation, written with its audit event (`audit::record`): which record it touched,
/// where that is now and where it was. Transfers are recorded as the member they move; proposals with the level
/// they stand at after this step. `member` is the member as the mutation left it, when it has it, so that it
/// is not read again. `None`: nothing a client syncs (accounts).
pub async fn entry<C: ConnectionTrait>(
    db: &C,
    action: &'static str,
    target: (NodeKind, i64),
    position: Position,
    before: Option<&Json>,
    member: Option<&member::Model>,
) -> Result<Option<Entry>, DbErr> {
    let unit_place = (Some(position.province_id), position.base_id, position.chapter_id);
    // The member the mutation wrote, or as stored now.
    let member_now = async |id: i64| -> Result<Option<member::Model>, DbErr> {
        match member.filter(|m| m.id == id) {
            Some(m) => Ok(Some(m.clone())),
            None => member::Entity::find_by_id(id).one(db).await,
        }
    };
    let entry = match target.0 {
        NodeKind::Province | NodeKind::Base | NodeKind::Chapter => {
            Some(Entry::fixed(action, target.0, target.1, false, unit_place, None))
        }
        NodeKind::Member => match member_now(target.1).await? {
            Some(m) => {
                let now = (Some(m.province_id), Some(m.base_id), Some(m.chapter_id));
                Some(Entry {
                    was: place_before(before, now),
                    ..Entry::fixed(
                        action,
                        NodeKind::Member,
                        m.id,
                        m.status != MemberStatus::Active,
                        now,
                        Some(m.id),
                    )
                })
            }
            None => Some(Entry::fixed(
                action,
                NodeKind::Member,
                target.1,
                true,
                unit_place,
                Some(target.1),
            )),
        },
        NodeKind::Transfer => match entity::transfer::Entity::find_by_id(target.1).one(db).await? {
            Some(t) => member_now(t.member_id).await?.map(|m| {
                let now = (Some(m.province_id), Some(m.base_id), Some(m.chapter_id));
                Entry {
                    was: (Some(t.from_province_id), Some(t.from_base_id), Some(t.from_chapter_id)),
                    ..Entry::fixed(
                        action,
                        NodeKind::Member,
                        m.id,
                        m.status != MemberStatus::Active,
                        now,
                        Some(m.id),
                    )
                }
            }),
            None => None,
        },
        NodeKind::Award => match entity::award::Entity::find_by_id(target.1).one(db).await? {
            Some(a) => {
                let place = (Some(a.province_id), a.base_id, a.chapter_id);
                Some(Entry::fixed(
                    action,
                    NodeKind::Award,
                    a.id,
                    a.revoked_at.is_some(),
                    place,
                    a.member_id,
                ))
            }
            None => Some(Entry::fixed(action, NodeKind::Award, target.1, true, unit_place, None)),
        },
        NodeKind::Proposal => entity::award_proposal::Entity::find_by_id(target.1)
            .one(db)
            .await?
            .map(|p| Entry {
                level: Some(p.level),
                ..Entry::fixed(
                    action,
                    NodeKind::Proposal,
                    p.id,
                    false,
                    (Some(p.province_id), p.base_id, p.chapter_id),
                    p.member_id,
                )
            }),
        NodeKind::YearlyRating => entity::yearly_rating::Entity::find_by_id(target.1)
            .one(db)
            .await?
            .map(|r| {
                let place = (Some(r.province_id), Some(r.base_id), r.chapter_id);
                Entry::fixed(action, NodeKind::YearlyRating, r.id, false, place, r.member_id)
            }),
        // Accounts are not synced.
        NodeKind::Account => None,
    };
    Ok(entry)
}
