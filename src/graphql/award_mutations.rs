//! Award mutations: grant and revoke, with the rules of docs/domain.md §3 checked with clear errors (the schema's
//! constraints are the backstop): a Cờ thi đua never goes to an individual, a level grants only its kinds, one
//! achievement is rewarded once, decision numbers are unique per granting body and year.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::Datelike;
use entity::award::{AwardKind as DbKind, GrantingLevel as DbLevel, RecipientType as DbRecipient};
use entity::{award, base, province};
use sea_orm::{ActiveValue::Set, EntityTrait};

use super::award::{Award, AwardKind, GrantingLevel};
use super::loaders::*;
use super::mutation::{Outcome, check_version, map_write_error, mutate, now, update_award};
use super::scalars::Date;
use super::{load, state};
use crate::audit::diff;
use crate::auth::policy::{Capability, Position, authorize};
use crate::error::{AppError, AppResult};
use crate::ids::{GlobalId, NodeKind};
use crate::input;
use crate::store::write::{self, AwardData, GrantingBody, Recipient};

#[derive(SimpleObject)]
pub struct AwardPayload {
    pub award: Option<Award>,
    pub client_mutation_id: Option<String>,
}

#[derive(InputObject)]
pub struct GrantAwardInput {
    pub kind: AwardKind,
    /// CENTRAL (admins), PROVINCE (the recipient's province) or BASE (the recipient's base).
    pub granting_level: GrantingLevel,
    /// A Province, Base, Chapter or Member id.
    pub recipient_id: ID,
    /// The year of the achievement.
    pub year: i32,
    pub movement: String,
    /// Kept verbatim, e.g. "123/QĐ-CCB"; unique per granting body and year.
    pub decision_number: String,
    pub decision_date: Option<Date>,
    /// Where it was presented.
    pub event: Option<String>,
    pub citation: Option<String>,
    pub client_mutation_id: Option<String>,
}

#[derive(InputObject)]
pub struct RevokeAwardInput {
    pub id: ID,
    pub expected_version: i32,
    /// Required: why the award is revoked.
    pub reason: String,
    pub client_mutation_id: Option<String>,
}

/// Checks the kind rules before anything is looked up.
fn check_rules(kind: DbKind, level: DbLevel, recipient: &Recipient) -> AppResult<()> {
    if kind == DbKind::EmulationFlag && matches!(recipient, Recipient::Member(_)) {
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

fn recipient_of(raw: &ID) -> AppResult<Recipient> {
    let id = GlobalId::parse("input.recipientId", raw)?;
    Ok(match id.kind {
        NodeKind::Province => Recipient::Province(id.id),
        NodeKind::Base => Recipient::Base(id.id),
        NodeKind::Chapter => Recipient::Chapter(id.id),
        NodeKind::Member => Recipient::Member(id.id),
        _ => {
            return Err(AppError::bad_input(
                "input.recipientId",
                "must be a province, base, chapter or member",
            ));
        }
    })
}

fn position_of(r: &write::ResolvedRecipient) -> Position {
    Position {
        province_id: r.province_id,
        base_id: r.base_id,
        chapter_id: r.chapter_id,
        member_id: r.member_id,
    }
}

#[derive(Default)]
pub struct AwardMutation;

#[Object]
impl AwardMutation {
    /// Grants an award.
    async fn grant_award(&self, ctx: &Context<'_>, input: GrantAwardInput) -> AppResult<AwardPayload> {
        let kind: DbKind = input.kind.into();
        let level: DbLevel = input.granting_level.into();
        let recipient = recipient_of(&input.recipient_id)?;
        check_rules(kind, level, &recipient)?;
        let this_year = chrono::Utc::now().year();
        input::year("input.year", Some(input.year), 1945..=this_year)?;
        let data = AwardData {
            kind,
            year: input.year,
            movement: input::text("input.movement", &input.movement, 200)?,
            decision_number: input::decision_number("input.decisionNumber", &input.decision_number)?,
            decision_date: input::past_date(
                "input.decisionDate",
                input.decision_date.map(|d| d.get("input.decisionDate")).transpose()?,
            )?,
            event: input::opt_text("input.event", input.event.as_deref(), 300)?,
            citation: match input.citation.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                Some(c) => Some(input::long_text("input.citation", c, 2000)?),
                None => None,
            },
        };
        if let Some(d) = data.decision_date
            && d.year() < data.year
        {
            return Err(AppError::bad_input(
                "input.decisionDate",
                "is before the year of the achievement",
            ));
        }
        let cmid = input.client_mutation_id.clone();
        let (_, id) = mutate(ctx, "GRANT_AWARD", cmid.as_deref(), async |txn, _| {
            let viewer = &state(ctx).viewer;
            let resolved = write::resolve_recipient(txn, recipient).await?;
            // A member outside the viewer's scope is reported like a missing one.
            let resolved = resolved
                .filter(|r| {
                    r.kind != DbRecipient::Member
                        || state(ctx).scope.members.contains_member(
                            r.province_id,
                            r.base_id.unwrap_or(0),
                            r.chapter_id.unwrap_or(0),
                            r.id,
                        )
                })
                .ok_or_else(|| AppError::not_found("recipient"))?;
            let position = position_of(&resolved);
            authorize(viewer, Capability::Award(level), &position)?;
            let body = match level {
                DbLevel::Central => GrantingBody::central(),
                DbLevel::Province => {
                    let p = province::Entity::find_by_id(resolved.province_id).one(txn).await?;
                    GrantingBody::province(&p.ok_or_else(|| AppError::not_found("province"))?)
                }
                DbLevel::Base => {
                    let base_id = resolved.base_id.ok_or_else(|| {
                        AppError::bad_input(
                            "input.grantingLevel",
                            "a base grants only to its own chapters and members, or itself",
                        )
                    })?;
                    let b = base::Entity::find_by_id(base_id).one(txn).await?;
                    GrantingBody::base(&b.ok_or_else(|| AppError::not_found("base"))?)
                }
            };
            let created = write::insert_award(txn, &body, &resolved, data.clone())
                .await
                .map_err(map_write_error)?;
            let (before, after) = diff(None, Some(&created));
            Ok(Outcome {
                target: (NodeKind::Award, created.id),
                position,
                before,
                after,
                reason: None,
            })
        })
        .await?;
        Ok(AwardPayload {
            award: load(ctx, AwardById(id)).await?.map(Award),
            client_mutation_id: cmid,
        })
    }

    /// Revokes an award. The record stays, marked revoked with the reason; its achievement may be granted again.
    async fn revoke_award(&self, ctx: &Context<'_>, input: RevokeAwardInput) -> AppResult<AwardPayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Award)?;
        let reason = input::long_text("input.reason", &input.reason, 1000)?;
        let cmid = input.client_mutation_id.clone();
        let (_, id) = mutate(ctx, "REVOKE_AWARD", cmid.as_deref(), async |txn, _| {
            let found = award::Entity::find_by_id(id).one(txn).await?;
            let current = found.ok_or_else(|| AppError::not_found("award"))?;
            let position = Position {
                province_id: current.province_id,
                base_id: current.base_id,
                chapter_id: current.chapter_id,
                member_id: current.member_id,
            };
            authorize(&state(ctx).viewer, Capability::Award(current.granting_level), &position)?;
            check_version("award", current.version, input.expected_version)?;
            if current.revoked_at.is_some() {
                return Err(AppError::Conflict("the award is already revoked".into()));
            }
            let changes = award::ActiveModel {
                revoked_at: Set(Some(now())),
                revocation_reason: Set(Some(reason.clone())),
                ..Default::default()
            };
            let updated = update_award(txn, id, input.expected_version, changes).await?;
            let (before, after) = diff(Some(&current), Some(&updated));
            Ok(Outcome {
                target: (NodeKind::Award, id),
                position,
                before,
                after,
                reason: Some(reason.clone()),
            })
        })
        .await?;
        Ok(AwardPayload {
            award: load(ctx, AwardById(id)).await?.map(Award),
            client_mutation_id: cmid,
        })
    }
}
