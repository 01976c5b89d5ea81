//! Award proposals (đề nghị khen thưởng): proposing, forwarding, approving, rejecting and withdrawing.
//!
//! A proposal travels up the tree: a chapter proposes to its base, a base to the province, the province to the
//! central committee. The level holding it may approve it if it may grant the kind (the award is created in the
//! same transaction, through the same writer as a direct grant), reject it with a reason, or forward it upward;
//! the proposer may withdraw it while it is open.

use chrono::Datelike;
use entity::award::{AwardKind, GrantingLevel};
use entity::award_proposal::{self as proposal, ProposalStatus};
use sea_orm::{ActiveValue::NotSet, ActiveValue::Set, DatabaseTransaction, EntityTrait, QuerySelect, SqlErr};

use super::awards::{granting_body, position_of, visible_recipient};
use super::{Actor, Outcome, check_version, map_write_error, now, update_proposal};
use crate::audit::diff;
use crate::auth::policy::{
    Position, authorize_proposal_decision, can_see_proposal, grantable_from, level_above, proposal_entry_level,
};
use crate::error::{AppError, AppResult};
use crate::ids::NodeKind;
use crate::store::write::{self, AwardData, Recipient};

/// A new proposal, its text already checked at the edge.
pub struct NewProposal {
    pub kind: AwardKind,
    pub recipient: Recipient,
    pub year: i32,
    pub movement: String,
    pub citation: Option<String>,
}

/// The decision that approves a proposal, as the award will carry it.
pub struct Decision {
    pub number: String,
    pub date: Option<chrono::NaiveDate>,
    pub event: Option<String>,
}

/// Where a proposal sits in the tree, as the policy takes it.
pub fn position(p: &proposal::Model) -> Position {
    Position {
        province_id: p.province_id,
        base_id: p.base_id,
        chapter_id: p.chapter_id,
        member_id: p.member_id,
    }
}

fn level_name(level: GrantingLevel) -> &'static str {
    match level {
        GrantingLevel::Central => "central",
        GrantingLevel::Province => "province",
        GrantingLevel::Base => "base",
    }
}

/// Proposes an award for a member or unit in the proposer's subtree, at the level the proposer's role sends
/// proposals to.
pub async fn propose(who: Actor<'_>, txn: &DatabaseTransaction, input: NewProposal) -> AppResult<Outcome> {
    if input.kind == AwardKind::EmulationFlag && matches!(input.recipient, Recipient::Member(_)) {
        return Err(AppError::bad_input(
            "input.kind",
            "a Cờ thi đua (emulation flag) goes to collectives only, never to an individual",
        ));
    }
    let resolved = visible_recipient(who, txn, input.recipient, "recipient").await?;
    let at = position_of(&resolved);
    let level = proposal_entry_level(who.viewer, &at)?;
    if !grantable_from(level, input.kind) {
        return Err(AppError::bad_input(
            "input.kind",
            format!(
                "no level from the {} up grants this kind; the level that does grants it with grantAward",
                level_name(level)
            ),
        ));
    }
    let created = proposal::ActiveModel {
        id: NotSet,
        kind: Set(input.kind),
        recipient_type: Set(resolved.kind),
        recipient_id: Set(resolved.id),
        recipient_name: Set(resolved.name.clone()),
        province_id: Set(resolved.province_id),
        base_id: Set(resolved.base_id),
        chapter_id: Set(resolved.chapter_id),
        member_id: Set(resolved.member_id),
        year: Set(input.year),
        movement: Set(input.movement),
        citation: Set(input.citation),
        level: Set(level),
        status: Set(ProposalStatus::Pending),
        proposed_by: Set(who.principal.subject.clone()),
        proposed_at: Set(now()),
        decided_by: Set(None),
        decided_at: Set(None),
        rejection_reason: Set(None),
        award_id: Set(None),
        version: Set(1),
    };
    let created = sea_orm::ActiveModelTrait::insert(created, txn).await.map_err(|e| {
        AppError::from_db(e, |sql| match sql {
            SqlErr::UniqueConstraintViolation(_) => Some(AppError::Conflict(
                "an open proposal for this achievement (recipient, kind, year, movement) exists".into(),
            )),
            _ => None,
        })
    })?;
    let (before, after) = diff(None, Some(&created));
    Ok(Outcome {
        target: (NodeKind::Proposal, created.id),
        position: at,
        before,
        after,
        reason: None,
        member: None,
    })
}

/// Sends an open proposal to the level above (base → province → central), by an official of the level holding it.
pub async fn forward(
    who: Actor<'_>,
    txn: &DatabaseTransaction,
    id: i64,
    expected: i32,
    note: Option<String>,
) -> AppResult<Outcome> {
    step(who, txn, id, expected, note, async |current| {
        authorize_proposal_decision(who.viewer, current.level, &position(current))?;
        let next = level_above(current.level)
            .filter(|l| grantable_from(*l, current.kind))
            .ok_or_else(|| {
                AppError::bad_input(
                    "input.id",
                    format!(
                        "no level above the {} grants this kind: approve or reject it",
                        level_name(current.level)
                    ),
                )
            })?;
        Ok(proposal::ActiveModel {
            level: Set(next),
            ..Default::default()
        })
    })
    .await
}

/// Approves an open proposal at a level allowed to grant its kind: the award is created in the same
/// transaction, granted by this level's body, and audited as its own record.
pub async fn approve(
    who: Actor<'_>,
    txn: &DatabaseTransaction,
    id: i64,
    expected: i32,
    decision: Decision,
) -> AppResult<Outcome> {
    step(who, txn, id, expected, None, async |current| {
        let at = position(current);
        authorize_proposal_decision(who.viewer, current.level, &at)?;
        if !current.level.may_grant(current.kind) {
            return Err(AppError::Forbidden(format!(
                "the {} level may not grant this kind of award; forward the proposal",
                level_name(current.level)
            )));
        }
        if let Some(d) = decision.date
            && d.year() < current.year
        {
            return Err(AppError::bad_input(
                "input.decisionDate",
                "is before the year of the achievement",
            ));
        }
        let recipient = Recipient::stored(current.recipient_type, current.recipient_id);
        let resolved = write::resolve_recipient(txn, recipient)
            .await?
            .ok_or_else(|| AppError::not_found("recipient"))?;
        let body = granting_body(txn, current.level, current.province_id, current.base_id, || {
            AppError::not_found("base")
        })
        .await?;
        let data = AwardData {
            kind: current.kind,
            year: current.year,
            movement: current.movement.clone(),
            decision_number: decision.number.clone(),
            decision_date: decision.date,
            event: decision.event.clone(),
            citation: current.citation.clone(),
        };
        let award = write::insert_award(txn, &body, &resolved, data)
            .await
            .map_err(map_write_error)?;
        // The grant is audited as its own record too, in this transaction, so the award's history starts with
        // the decision that created it.
        let (before, after) = diff(None, Some(&award));
        crate::audit::record(
            txn,
            who.principal,
            crate::audit::Event {
                action: "GRANT_AWARD",
                target: (NodeKind::Award, award.id),
                position: at,
                before,
                after,
                reason: None,
                client_mutation_id: None,
                member: None,
            },
        )
        .await?;
        Ok(proposal::ActiveModel {
            award_id: Set(Some(award.id)),
            ..decided(who, ProposalStatus::Approved)
        })
    })
    .await
}

/// Refuses an open proposal, with the reason, by an official of the level holding it.
pub async fn reject(
    who: Actor<'_>,
    txn: &DatabaseTransaction,
    id: i64,
    expected: i32,
    reason: String,
) -> AppResult<Outcome> {
    step(who, txn, id, expected, Some(reason.clone()), async |current| {
        authorize_proposal_decision(who.viewer, current.level, &position(current))?;
        Ok(proposal::ActiveModel {
            rejection_reason: Set(Some(reason.clone())),
            ..decided(who, ProposalStatus::Rejected)
        })
    })
    .await
}

/// Takes back an open proposal; only its proposer may.
pub async fn withdraw(
    who: Actor<'_>,
    txn: &DatabaseTransaction,
    id: i64,
    expected: i32,
    reason: Option<String>,
) -> AppResult<Outcome> {
    step(who, txn, id, expected, reason, async |current| {
        if current.proposed_by != who.principal.subject {
            return Err(AppError::Forbidden("only the proposer may withdraw a proposal".into()));
        }
        Ok(decided(who, ProposalStatus::Withdrawn))
    })
    .await
}

/// Loads an open proposal the actor may see, at the version the client read. On PostgreSQL the row is locked
/// here, first: every step then takes the proposal's row lock before the change log's lock, which an approval
/// takes early when it records the award it creates. Two officials deciding the same proposal at once then
/// queue on the row, and the second finds the version moved (`CONFLICT`) instead of the two deadlocking.
/// SQLite has one writer at a time anyway.
async fn open_proposal(
    who: Actor<'_>,
    txn: &DatabaseTransaction,
    id: i64,
    expected: i32,
) -> AppResult<proposal::Model> {
    let found = proposal::Entity::find_by_id(id).lock_exclusive().one(txn).await?;
    let p = found
        .filter(|p| can_see_proposal(who.viewer, p))
        .ok_or_else(|| AppError::not_found("proposal"))?;
    check_version("proposal", p.version, expected)?;
    if p.status != ProposalStatus::Pending {
        return Err(AppError::Conflict(format!(
            "the proposal is already {}",
            format!("{:?}", p.status).to_lowercase()
        )));
    }
    Ok(p)
}

/// One step on an open proposal: `change` is what it writes, given the proposal as loaded.
async fn step(
    who: Actor<'_>,
    txn: &DatabaseTransaction,
    id: i64,
    expected: i32,
    reason: Option<String>,
    change: impl AsyncFnOnce(&proposal::Model) -> AppResult<proposal::ActiveModel>,
) -> AppResult<Outcome> {
    let current = open_proposal(who, txn, id, expected).await?;
    let changes = change(&current).await?;
    let updated = update_proposal(txn, id, expected, changes).await?;
    let (before, after) = diff(Some(&current), Some(&updated));
    Ok(Outcome {
        target: (NodeKind::Proposal, id),
        position: position(&updated),
        before,
        after,
        reason,
        member: None,
    })
}

fn decided(who: Actor<'_>, status: ProposalStatus) -> proposal::ActiveModel {
    proposal::ActiveModel {
        status: Set(status),
        decided_by: Set(Some(who.principal.subject.clone())),
        decided_at: Set(Some(now())),
        ..Default::default()
    }
}
