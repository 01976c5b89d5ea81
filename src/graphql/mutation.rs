//! The frame every mutation runs in: authentication, idempotent replay by client mutation id, one IMMEDIATE
//! transaction (SQLite takes the write lock up front, so concurrent writers queue instead of failing), the
//! audit event written inside that transaction, and version-checked updates that turn a stale write into
//! `CONFLICT`.

use async_graphql::Context;
use sea_orm::{DatabaseTransaction, SqlErr, SqliteTransactionMode, TransactionOptions, TransactionTrait};

use super::state;
use crate::audit::{self, Event};
use crate::auth::Principal;
use crate::auth::policy::require_account;
pub use crate::domain::{
    Outcome, check_version, insert, map_write_error, now, stale, update_award, update_base, update_chapter,
    update_member, update_transfer,
};
use crate::error::{AppError, AppResult};
use crate::ids::NodeKind;

/// Runs `body` as one audited, all-or-nothing write and returns the target it changed. A repeated submission
/// with the same `client_mutation_id` by the same actor returns the first submission's target and writes nothing.
pub async fn mutate(
    ctx: &Context<'_>,
    action: &'static str,
    client_mutation_id: Option<&str>,
    body: impl AsyncFnOnce(&DatabaseTransaction, &Principal) -> AppResult<Outcome>,
) -> AppResult<(NodeKind, i64)> {
    let st = state(ctx);
    // A write makes anything loaded before it stale: from here on this request reads through to the database.
    st.loader.enable_all_cache(false);
    let actor = require_account(&st.viewer)?.clone();
    let cmid = crate::input::client_mutation_id(client_mutation_id)?;
    if let Some(id) = &cmid
        && let Some(previous) = audit::replay(&st.db, &actor, id).await?
    {
        return replayed(previous, action);
    }
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    let txn = st.db.begin_with_options(options).await?;
    // On any error below, `txn` is dropped unfinished and rolls back: nothing is half-written.
    let outcome = body(&txn, &actor).await?;
    let event = Event {
        action,
        target: outcome.target,
        position: outcome.position,
        before: outcome.before,
        after: outcome.after,
        reason: outcome.reason.as_deref(),
        client_mutation_id: cmid.as_deref(),
        member: outcome.member.as_ref(),
    };
    match audit::record(&txn, &actor, event).await {
        Ok(_) => {}
        Err(e) if cmid.is_some() && matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            // A concurrent submission with the same id committed first: answer with its result.
            drop(txn);
            let id = cmid.as_deref().unwrap_or_default();
            let previous = audit::replay(&st.db, &actor, id).await?;
            return previous.map_or_else(
                || Err(AppError::Conflict("duplicate submission".into())),
                |p| replayed(p, action),
            );
        }
        Err(e) => return Err(e.into()),
    }
    txn.commit().await?;
    st.services.realtime.committed();
    Ok(outcome.target)
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
