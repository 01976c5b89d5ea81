//! The frame every mutation runs in: authentication, idempotent replay by client mutation id, one IMMEDIATE
//! transaction (SQLite takes the write lock up front, so concurrent writers queue instead of failing), the
//! audit event written inside that transaction, and version-checked updates that turn a stale write into
//! `CONFLICT`.

use async_graphql::Context;
use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, SqlErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use serde_json::Value as Json;

use super::state;
use crate::audit::{self, Event};
use crate::auth::Principal;
use crate::auth::policy::{Position, require_account};
use crate::error::{AppError, AppResult};
use crate::ids::NodeKind;

/// What a mutation did, for its audit event and its payload.
pub struct Outcome {
    pub target: (NodeKind, i64),
    pub position: Position,
    pub before: Option<Json>,
    pub after: Option<Json>,
    pub reason: Option<String>,
}

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
    Ok(outcome.target)
}

fn replayed(previous: entity::audit_event::Model, action: &str) -> AppResult<(NodeKind, i64)> {
    if previous.action != action {
        return Err(AppError::Conflict(format!(
            "clientMutationId was already used for {}",
            previous.action
        )));
    }
    let kind = [
        NodeKind::Province,
        NodeKind::Base,
        NodeKind::Chapter,
        NodeKind::Member,
        NodeKind::Award,
        NodeKind::Transfer,
        NodeKind::Account,
        NodeKind::Proposal,
        NodeKind::YearlyRating,
    ]
    .into_iter()
    .find(|k| k.name() == previous.target_type)
    .ok_or_else(|| AppError::Internal(format!("audit event {} has an unknown target", previous.id)))?;
    Ok((kind, previous.target_id))
}

/// The error of a version check that found another version.
pub fn stale(what: &str, expected: i32) -> AppError {
    AppError::Conflict(format!(
        "the {what} was changed by someone else since version {expected}; read it again and retry"
    ))
}

/// Checks the version a client read before it is overwritten.
pub fn check_version(what: &str, current: i32, expected: i32) -> AppResult<()> {
    if current == expected {
        Ok(())
    } else {
        Err(stale(what, expected))
    }
}

macro_rules! versioned_update {
    ($name:ident, $module:ident, $what:literal) => {
        /// Writes the set fields of `changes` if the row is still at `expected` version, bumping the version;
        /// otherwise `CONFLICT`. The check is in the `UPDATE`'s `WHERE`, so two concurrent writers cannot both
        /// pass it.
        pub async fn $name(
            txn: &DatabaseTransaction,
            id: i64,
            expected: i32,
            changes: entity::$module::ActiveModel,
        ) -> AppResult<entity::$module::Model> {
            use entity::$module::{Column, Entity};
            let result = Entity::update_many()
                .set(changes)
                .col_expr(Column::Version, Expr::col(Column::Version).add(1))
                .filter(Column::Id.eq(id))
                .filter(Column::Version.eq(expected))
                .exec(txn)
                .await
                .map_err(map_write_error)?;
            if result.rows_affected == 0 {
                return Err(stale($what, expected));
            }
            Entity::find_by_id(id)
                .one(txn)
                .await?
                .ok_or_else(|| AppError::not_found($what))
        }
    };
}

versioned_update!(update_member, member, "member");
versioned_update!(update_base, base, "base");
versioned_update!(update_chapter, chapter, "chapter");
versioned_update!(update_award, award, "award");
versioned_update!(update_transfer, transfer, "transfer");

/// Turns constraint violations of a write into client errors that say which rule was broken.
pub fn map_write_error(err: sea_orm::DbErr) -> AppError {
    AppError::from_db(err, |sql| match sql {
        SqlErr::UniqueConstraintViolation(detail) => Some(AppError::Conflict(unique_message(detail))),
        SqlErr::ForeignKeyConstraintViolation(_) => {
            Some(AppError::bad_input("input", "refers to a record that does not exist"))
        }
        _ => None,
    })
}

fn unique_message(detail: &str) -> String {
    let d = detail.to_lowercase();
    if d.contains("card_number") {
        "this card number is already issued to another member".into()
    } else if d.contains("ux_awards_decision") || d.contains("decision_number") {
        "this decision number is already used by the same granting body in that year".into()
    } else if d.contains("ux_awards_achievement") || d.contains("movement_key") {
        "this achievement (recipient, kind, year, movement) is already rewarded".into()
    } else if d.contains("code") {
        "a unit with this code exists".into()
    } else if d.contains("ux_transfers_pending") || d.contains("transfers") {
        "the member already has a pending transfer".into()
    } else {
        "a record with these values exists".into()
    }
}

/// Inserts an active model inside the mutation's transaction, mapping constraint violations.
pub async fn insert<A>(txn: &DatabaseTransaction, model: A) -> AppResult<<A::Entity as EntityTrait>::Model>
where
    A: ActiveModelTrait + sea_orm::ActiveModelBehavior + Send,
    <A::Entity as EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
{
    model.insert(txn).await.map_err(map_write_error)
}

/// Now, for `updated_at` and decision times.
pub fn now() -> chrono::DateTime<Utc> {
    Utc::now()
}
