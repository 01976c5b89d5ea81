//! Award mutations over GraphQL: grant and revoke. Each resolver checks its input field by field, runs the award
//! command (`crate::domain::awards`, where the award rules live) in the mutation frame and shapes the payload.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::Datelike;

use super::award::{Award, AwardKind, GrantingLevel};
use super::load;
use super::loaders::*;
use super::mutation::{actor, mutate};
use super::scalars::Date;
use crate::domain::awards::{self as commands, Grant};
use crate::error::{AppError, AppResult};
use crate::ids::{GlobalId, NodeKind};
use crate::input;
use crate::store::write::{AwardData, Recipient};

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

/// The recipient an `input.recipientId` names: a province, base, chapter or member.
pub(super) fn recipient_of(raw: &ID) -> AppResult<Recipient> {
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

async fn award_payload(ctx: &Context<'_>, id: i64, cmid: Option<String>) -> AppResult<AwardPayload> {
    Ok(AwardPayload {
        award: load(ctx, AwardById(id)).await?.map(Award),
        client_mutation_id: cmid,
    })
}

impl GrantAwardInput {
    /// The grant, each field checked and naming itself when wrong.
    fn into_command(self) -> AppResult<(Grant, Option<String>)> {
        let recipient = recipient_of(&self.recipient_id)?;
        let (kind, level) = (self.kind.into(), self.granting_level.into());
        commands::check_kind(kind, level, &recipient)?;
        let this_year = chrono::Utc::now().year();
        input::year("input.year", Some(self.year), 1945..=this_year)?;
        let data = AwardData {
            kind,
            year: self.year,
            movement: input::text("input.movement", &self.movement, 200)?,
            decision_number: input::decision_number("input.decisionNumber", &self.decision_number)?,
            decision_date: input::past_date(
                "input.decisionDate",
                self.decision_date.map(|d| d.get("input.decisionDate")).transpose()?,
            )?,
            event: input::opt_text("input.event", self.event.as_deref(), 300)?,
            citation: match self.citation.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                Some(c) => Some(input::long_text("input.citation", c, 2000)?),
                None => None,
            },
        };
        let grant = Grant {
            kind,
            level,
            recipient,
            data,
        };
        Ok((grant, self.client_mutation_id))
    }
}

#[derive(Default)]
pub struct AwardMutation;

#[Object]
impl AwardMutation {
    /// Grants an award.
    async fn grant_award(&self, ctx: &Context<'_>, input: GrantAwardInput) -> AppResult<AwardPayload> {
        let (grant, cmid) = input.into_command()?;
        let (_, id) = mutate(ctx, "GRANT_AWARD", cmid.as_deref(), async |txn, principal| {
            commands::grant(actor(ctx, principal), txn, grant).await
        })
        .await?;
        award_payload(ctx, id, cmid).await
    }

    /// Revokes an award. The record stays, marked revoked with the reason; its achievement may be granted again.
    async fn revoke_award(&self, ctx: &Context<'_>, input: RevokeAwardInput) -> AppResult<AwardPayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Award)?;
        let reason = input::long_text("input.reason", &input.reason, 1000)?;
        let cmid = input.client_mutation_id;
        let (_, id) = mutate(ctx, "REVOKE_AWARD", cmid.as_deref(), async |txn, principal| {
            commands::revoke(actor(ctx, principal), txn, id, input.expected_version, reason).await
        })
        .await?;
        award_payload(ctx, id, cmid).await
    }
}
