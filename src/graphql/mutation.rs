//! The frame every mutation runs in: authentication, idempotent replay by client mutation id, one IMMEDIATE
//! transaction (SQLite takes the write lock up front, so concurrent writers queue instead of failing), the
//! audit event written inside that transaction, and version-checked updates that turn a stale write into
//! `CONFLICT`. A member's update, the commonest write, has its own frame ([`mutate_member_update`]): on
//! PostgreSQL its write and its audit event are one statement, without a transaction around it.

use async_graphql::Context;
use sea_orm::{
    DatabaseTransaction, DbBackend, DbErr, SqlErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use super::state;
use crate::audit::{self, Event};
use crate::auth::Principal;
use crate::auth::policy::{Capability, Position, members_writable, require_account};
use crate::domain::members::{ContactChange, MemberUpdate};
pub use crate::domain::{
    Outcome, check_version, insert, map_write_error, now, stale, update_award, update_base, update_chapter,
    update_member, update_transfer,
};
use crate::error::{AppError, AppResult};
use crate::ids::NodeKind;
use crate::store;
use crate::store::changes::Entry;
use crate::store::reader::Reads;

/// Runs `body` as one audited, all-or-nothing write and returns the target it changed. A repeated submission
/// with the same `client_mutation_id` by the same actor returns the first submission's target and writes nothing.
pub async fn mutate(
    ctx: &Context<'_>,
    action: &'static str,
    client_mutation_id: Option<&str>,
    body: impl AsyncFnOnce(&DatabaseTransaction, &Principal) -> AppResult<Outcome>,
) -> AppResult<(NodeKind, i64)> {
    match open(ctx, action, client_mutation_id).await? {
        Opened::Replayed(target) => Ok(target),
        Opened::Fresh(frame) => in_transaction(ctx, &frame, action, body).await.map(Finished::target),
    }
}

/// Runs a member update (`plan`: its checks and reads, then the write it plans) as one audited write, like
/// [`mutate`], and returns the member's id with the record as written (`None` when a submission was replayed).
///
/// On PostgreSQL the plan reads outside any transaction and the write, its audit event and its change-log row
/// go as one statement (`UPDATE` in a data-modifying `WITH`, [`crate::store::changes::write_with_event`]): two
/// round trips in all instead of five (`BEGIN`, read, `UPDATE`, event, `COMMIT`). Reading first is safe because
/// the write checks the version it read: a write by anyone else in between turns it into `CONFLICT`. A change
/// of contact data only (`contact`, [`crate::domain::members::contact_change`]) needs no read: it is sent at
/// once with the writer's reach and the version in its `WHERE`, one round trip, and only when that writes
/// nothing does the plan run, to say why (or to write, if the record changed in between). SQLite writes in one
/// IMMEDIATE transaction, as [`mutate`] does.
pub async fn mutate_member_update(
    ctx: &Context<'_>,
    action: &'static str,
    client_mutation_id: Option<&str>,
    contact: Option<ContactChange>,
    plan: impl AsyncFnOnce(&Reads<'_>, &Principal) -> AppResult<MemberUpdate>,
) -> AppResult<(i64, Option<entity::member::Model>)> {
    let frame = match open(ctx, action, client_mutation_id).await? {
        Opened::Replayed((_, id)) => return Ok((id, None)),
        Opened::Fresh(frame) => frame,
    };
    let st = state(ctx);
    // The plan's reads, the change entry's (if it needs one) and the write run on the connections the
    // request's reader keeps (on PostgreSQL), so none pays sqlx's release ping: each completes before its
    // connection is used again.
    let db = Reads(&st.db);
    let postgres = st.db.get_database_backend() == DbBackend::Postgres;
    if postgres
        && let Some(contact) = contact
        && let Some(reach) = members_writable(&st.viewer, &st.scope, Capability::EditContact)
    {
        let event = Event {
            action,
            target: (NodeKind::Member, contact.id),
            // The member's place is filled in from the row by the statement.
            position: Position::default(),
            before: None,
            after: None,
            reason: None,
            client_mutation_id: frame.client_mutation_id.as_deref(),
            member: None,
        };
        let change = Entry::fixed(
            action,
            NodeKind::Member,
            contact.id,
            false,
            (None, None, None),
            Some(contact.id),
        );
        let row = audit::event_row(&frame.actor, event);
        let (id, expected) = (contact.id, contact.expected);
        let sent = store::write::update_contact_with_event(&db, id, expected, &contact.changes, &reach, row, &change);
        match sent.await {
            Ok(Some(written)) => {
                st.services.realtime.committed();
                return Ok((id, Some(written)));
            }
            // Missing, out of reach or at another version: the plan reads the record and tells which.
            Ok(None) => {}
            Err(e) => return lost_race(ctx, &frame, action, e).await.map(|(_, id)| (id, None)),
        }
    }
    let planned = plan(&db, &frame.actor).await?;
    let id = planned.current.id;
    if !postgres {
        let mut written = None;
        let finished = in_transaction(ctx, &frame, action, async |txn, _| {
            let member = update_member(txn, id, planned.expected, planned.changes.clone()).await?;
            let outcome = planned.outcome(&member);
            written = Some(member);
            Ok(outcome)
        })
        .await?;
        // The record written is the answer only if this write committed, not a concurrent submission it lost to.
        return Ok(match finished {
            Finished::Committed((_, id)) => (id, written),
            Finished::Replayed((_, id)) => (id, None),
        });
    }
    let predicted = planned.predicted()?;
    let outcome = planned.outcome(&predicted);
    let event = frame.event(action, &outcome);
    let change = audit::change_of(&db, &event).await?;
    let row = audit::event_row(&frame.actor, event);
    let sent =
        store::write::update_member_with_event(&db, id, planned.expected, &planned.changes, row, change.as_ref()).await;
    match sent {
        Ok(Some(written)) => {
            st.services.realtime.committed();
            Ok((id, Some(written)))
        }
        Ok(None) => Err(stale("member", planned.expected)),
        Err(e) => lost_race(ctx, &frame, action, e).await.map(|(_, id)| (id, None)),
    }
}

/// A mutation under way: its authenticated actor and the client's mutation id, checked.
struct Frame {
    actor: Principal,
    client_mutation_id: Option<String>,
}

impl Frame {
    /// The audit event of `outcome`.
    fn event<'a>(&'a self, action: &'static str, outcome: &'a Outcome) -> Event<'a> {
        Event {
            action,
            target: outcome.target,
            position: outcome.position,
            before: outcome.before.clone(),
            after: outcome.after.clone(),
            reason: outcome.reason.as_deref(),
            client_mutation_id: self.client_mutation_id.as_deref(),
            member: outcome.member.as_ref(),
        }
    }
}

enum Opened {
    /// The same actor sent this client mutation id before: the first submission's target.
    Replayed((NodeKind, i64)),
    Fresh(Frame),
}

/// Starts a mutation: authentication, the client mutation id's form and its replay.
async fn open(ctx: &Context<'_>, action: &'static str, client_mutation_id: Option<&str>) -> AppResult<Opened> {
    let st = state(ctx);
    // A write makes anything loaded before it stale: from here on this request reads through to the database.
    st.loader.enable_all_cache(false);
    let actor = require_account(&st.viewer)?.clone();
    let client_mutation_id = crate::input::client_mutation_id(client_mutation_id)?;
    if let Some(id) = &client_mutation_id
        && let Some(previous) = audit::replay(&st.db, &actor, id).await?
    {
        return replayed(previous, action).map(Opened::Replayed);
    }
    Ok(Opened::Fresh(Frame {
        actor,
        client_mutation_id,
    }))
}

/// How a write in [`in_transaction`] ended: committed, or rolled back for a concurrent submission with the same
/// client mutation id that committed first (whose target is the answer).
enum Finished {
    Committed((NodeKind, i64)),
    Replayed((NodeKind, i64)),
}

impl Finished {
    fn target(self) -> (NodeKind, i64) {
        match self {
            Self::Committed(target) | Self::Replayed(target) => target,
        }
    }
}

/// Runs `body` and writes its audit event in one IMMEDIATE transaction (SQLite takes the write lock up front).
async fn in_transaction(
    ctx: &Context<'_>,
    frame: &Frame,
    action: &'static str,
    body: impl AsyncFnOnce(&DatabaseTransaction, &Principal) -> AppResult<Outcome>,
) -> AppResult<Finished> {
    let st = state(ctx);
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    let txn = st.db.begin_with_options(options).await?;
    // On any error below, `txn` is dropped unfinished and rolls back: nothing is half-written.
    let outcome = body(&txn, &frame.actor).await?;
    if let Err(e) = audit::record(&txn, &frame.actor, frame.event(action, &outcome)).await {
        drop(txn);
        return lost_race(ctx, frame, action, e).await.map(Finished::Replayed);
    }
    txn.commit().await?;
    st.services.realtime.committed();
    Ok(Finished::Committed(outcome.target))
}

/// The error of a write whose audit event could not be written. A unique violation with a client mutation id
/// means a concurrent submission with the same id committed first: the answer is its result. Anything else is
/// the write's own error, told by the constraint it broke.
async fn lost_race(ctx: &Context<'_>, frame: &Frame, action: &'static str, err: DbErr) -> AppResult<(NodeKind, i64)> {
    if let Some(id) = frame.client_mutation_id.as_deref()
        && matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
        && let Some(previous) = audit::replay(&state(ctx).db, &frame.actor, id).await?
    {
        return replayed(previous, action);
    }
    Err(map_write_error(err))
}

/// The actor of a domain command run inside [`mutate`]'s body: the account `mutate` authenticated, with the
/// request's viewer and read scope.
pub fn actor<'a>(ctx: &'a Context<'_>, principal: &'a Principal) -> crate::domain::Actor<'a> {
    let st = state(ctx);
    crate::domain::Actor {
        principal,
        viewer: &st.viewer,
        scope: &st.scope,
    }
}

fn replayed(previous: entity::audit_event::Model, action: &str) -> AppResult<(NodeKind, i64)> {
    if previous.action != action {
        return Err(AppError::Conflict(format!(
            "clientMutationId was already used for {}",
            previous.action
        )));
    }
    let kind = NodeKind::from_name(&previous.target_type)
        .ok_or_else(|| AppError::Internal(format!("audit event {} has an unknown target", previous.id)))?;
    Ok((kind, previous.target_id))
}
