//! Local accounts: creating one and disabling or re-enabling it, by admins. Passwords, sessions and tokens are
//! `crate::auth`'s; these commands decide who may change an account and what the audit trail records of it.

use entity::account;
use sea_orm::{ActiveValue::Set, DatabaseTransaction, EntityTrait};
use serde_json::json;

use super::{Actor, Outcome};
use crate::auth::policy::{Capability, Position, authorize};
use crate::auth::{Role, ScopeNode, accounts, token};
use crate::error::{AppError, AppResult};
use crate::ids::NodeKind;

/// A new local account, its text already checked at the edge.
pub struct NewAccount {
    pub username: String,
    pub password: String,
    pub role: Role,
    pub scope: ScopeNode,
    pub display_name: String,
}

/// What the audit trail keeps of an account: never its password hash.
fn audit_view(a: &account::Model) -> serde_json::Value {
    json!({ "username": a.username, "role": a.role, "display_name": a.display_name, "disabled": a.disabled,
            "scope_id": accounts::principal(a).ok().and_then(|p| token::scope_claim(p.scope)) })
}

/// Creates a local account (admins only).
pub async fn create(who: Actor<'_>, txn: &DatabaseTransaction, input: NewAccount) -> AppResult<Outcome> {
    authorize(who.viewer, Capability::ManageAccounts, &Position::default())?;
    let created = accounts::create(
        txn,
        &input.username,
        &input.password,
        input.role,
        input.scope,
        &input.display_name,
    )
    .await?;
    Ok(Outcome {
        target: (NodeKind::Account, created.id),
        position: Position::default(),
        before: None,
        after: Some(audit_view(&created)),
        reason: None,
        member: None,
    })
}

/// Disables or re-enables an account (admins only; never one's own). Disabling ends every session of the
/// account in the same transaction.
pub async fn set_disabled(who: Actor<'_>, txn: &DatabaseTransaction, id: i64, disabled: bool) -> AppResult<Outcome> {
    authorize(who.viewer, Capability::ManageAccounts, &Position::default())?;
    if who.principal.subject == accounts::subject(id) && disabled {
        return Err(AppError::bad_input(
            "input.id",
            "an admin cannot disable their own account",
        ));
    }
    let found = account::Entity::find_by_id(id).one(txn).await?;
    let current = found.ok_or_else(|| AppError::not_found("account"))?;
    let mut changes: account::ActiveModel = current.clone().into();
    changes.disabled = Set(disabled);
    let updated = sea_orm::ActiveModelTrait::update(changes, txn).await?;
    if disabled {
        accounts::end_sessions(txn, id).await?;
    }
    Ok(Outcome {
        target: (NodeKind::Account, id),
        position: Position::default(),
        before: Some(audit_view(&current)),
        after: Some(audit_view(&updated)),
        reason: None,
        member: None,
    })
}
