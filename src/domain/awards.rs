//! Award commands: grant and revoke, with the rules of docs/domain.md §3 checked with clear errors (the schema's
//! constraints are the backstop): a Cờ thi đua never goes to an individual, a level grants only its kinds, one
//! achievement is rewarded once, decision numbers are unique per granting body and year.

use chrono::Datelike;
use entity::award::{AwardKind, GrantingLevel, RecipientType};
use entity::{award, base, province};
use sea_orm::{ActiveValue::Set, DatabaseTransaction, EntityTrait};

use super::{Actor, Outcome, check_version, map_write_error, now, update_award};
use crate::audit::diff;
use crate::auth::policy::{Capability, Position, authorize};
use crate::error::{AppError, AppResult};
use crate::ids::NodeKind;
use crate::store::write::{self, AwardData, GrantingBody, Recipient};

/// An award to grant, its fields already checked one by one.
pub struct Grant {
    pub kind: AwardKind,
    pub level: GrantingLevel,
    pub recipient: Recipient,
    pub data: AwardData,
}

/// Who may receive a kind and which level grants it: checked before anything is looked up.
pub fn check_kind(kind: AwardKind, level: GrantingLevel, recipient: &Recipient) -> AppResult<()> {
    if kind == AwardKind::EmulationFlag && matches!(recipient, Recipient::Member(_)) {
        return Err(AppError::bad_input(
            "input.kind",
            "a Cờ thi đua (emulation flag) goes to collectives only, never to an individual",
        ));
    }
    if !level.may_grant(kind) {
        return Err(AppError::bad_input(
            "input.kind",
            format!("the {level:?} level may not grant this kind of award"),
        ));
    }
    Ok(())
}

impl Grant {
    /// The rules that need nothing looked up: [`check_kind`], and a decision dated no earlier than the year it
    /// rewards.
    pub fn check(&self) -> AppResult<()> {
        check_kind(self.kind, self.level, &self.recipient)?;
        if let Some(d) = self.data.decision_date
            && d.year() < self.data.year
        {
            return Err(AppError::bad_input(
                "input.decisionDate",
                "is before the year of the achievement",
            ));
        }
        Ok(())
    }
}

/// The recipient named by `recipient`, if it exists and the actor may see it: a member outside the actor's
/// scope is reported like a missing one (`not_found(what)`).
pub(super) async fn visible_recipient(
    who: Actor<'_>,
    txn: &DatabaseTransaction,
    recipient: write::Recipient,
    what: &str,
) -> AppResult<write::ResolvedRecipient> {
    write::resolve_recipient(txn, recipient)
        .await?
        .filter(|r| {
            r.kind != RecipientType::Member
                || who.scope.members.contains_member(
                    r.province_id,
                    r.base_id.unwrap_or(0),
                    r.chapter_id.unwrap_or(0),
                    r.id,
                )
        })
        .ok_or_else(|| AppError::not_found(what))
}

/// The body that grants at `level` for a recipient in `province_id` / `base_id`: the central committee, the
/// province's committee or the base's; `no_base` is the error when a base grants outside any base.
pub(super) async fn granting_body(
    txn: &DatabaseTransaction,
    level: GrantingLevel,
    province_id: i64,
    base_id: Option<i64>,
    no_base: impl FnOnce() -> AppError,
) -> AppResult<GrantingBody> {
    Ok(match level {
        GrantingLevel::Central => GrantingBody::central(),
        GrantingLevel::Province => {
            let p = province::Entity::find_by_id(province_id).one(txn).await?;
            GrantingBody::province(&p.ok_or_else(|| AppError::not_found("province"))?)
        }
        GrantingLevel::Base => {
            let b = base::Entity::find_by_id(base_id.ok_or_else(no_base)?).one(txn).await?;
            GrantingBody::base(&b.ok_or_else(|| AppError::not_found("base"))?)
        }
    })
}

/// Where a recipient sits in the tree, as the policy takes it.
pub(super) fn position_of(r: &write::ResolvedRecipient) -> Position {
    Position {
        province_id: r.province_id,
        base_id: r.base_id,
        chapter_id: r.chapter_id,
        member_id: r.member_id,
    }
}

/// Grants an award at a level allowed to grant its kind, to a recipient the actor may award.
pub async fn grant(who: Actor<'_>, txn: &DatabaseTransaction, grant: Grant) -> AppResult<Outcome> {
    grant.check()?;
    let resolved = visible_recipient(who, txn, grant.recipient, "recipient").await?;
    let position = position_of(&resolved);
    authorize(who.viewer, Capability::Award(grant.level), &position)?;
    let body = granting_body(txn, grant.level, resolved.province_id, resolved.base_id, || {
        AppError::bad_input(
            "input.grantingLevel",
            "a base grants only to its own chapters and members, or itself",
        )
    })
    .await?;
    let created = write::insert_award(txn, &body, &resolved, grant.data)
        .await
        .map_err(map_write_error)?;
    let (before, after) = diff(None, Some(&created));
    Ok(Outcome {
        target: (NodeKind::Award, created.id),
        position,
        before,
        after,
        reason: None,
        member: None,
    })
}

/// Revokes an award. The record stays, marked revoked with the reason; its achievement may be granted again.
pub async fn revoke(
    who: Actor<'_>,
    txn: &DatabaseTransaction,
    id: i64,
    expected: i32,
    reason: String,
) -> AppResult<Outcome> {
    let found = award::Entity::find_by_id(id).one(txn).await?;
    let current = found.ok_or_else(|| AppError::not_found("award"))?;
    let position = Position {
        province_id: current.province_id,
        base_id: current.base_id,
        chapter_id: current.chapter_id,
        member_id: current.member_id,
    };
    authorize(who.viewer, Capability::Award(current.granting_level), &position)?;
    check_version("award", current.version, expected)?;
    if current.revoked_at.is_some() {
        return Err(AppError::Conflict("the award is already revoked".into()));
    }
    let changes = award::ActiveModel {
        revoked_at: Set(Some(now())),
        revocation_reason: Set(Some(reason.clone())),
        ..Default::default()
    };
    let updated = update_award(txn, id, expected, changes).await?;
    let (before, after) = diff(Some(&current), Some(&updated));
    Ok(Outcome {
        target: (NodeKind::Award, id),
        position,
        before,
        after,
        reason: Some(reason),
        member: None,
    })
}
