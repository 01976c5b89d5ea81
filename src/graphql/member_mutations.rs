//! Member mutations over GraphQL: each resolver parses its input into the typed input of a member command
//! (`crate::domain::members`), runs the command in the mutation frame (one audited transaction, replay by
//! `clientMutationId`) and shapes the payload. The rules themselves live in the domain layer.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};

use super::load;
use super::loaders::*;
use super::member::{Member, MemberType, Sex, WarInvalidStatus};
use super::mutation::{Outcome, actor, mutate, mutate_member_update};
use super::scalars::Date;
use super::state;
use super::transfer::Transfer;
use crate::auth::Principal;
use crate::domain::members::{self as commands, Leaving, MemberPatch, Patch, Withdrawal};
use crate::error::AppResult;
use crate::ids::{GlobalId, NodeKind};
use crate::input;
use crate::store::write::MemberData;
use sea_orm::{DatabaseTransaction, EntityTrait};

/// The result of a member mutation.
#[derive(SimpleObject)]
pub struct MemberPayload {
    /// The member as it is now, if the viewer may still see it.
    pub member: Option<Member>,
    pub client_mutation_id: Option<String>,
}

/// The result of a transfer mutation.
#[derive(SimpleObject)]
pub struct TransferPayload {
    pub transfer: Option<Transfer>,
    pub member: Option<Member>,
    pub client_mutation_id: Option<String>,
}

#[derive(InputObject)]
pub struct AdmitMemberInput {
    /// The chapter the member joins.
    pub chapter_id: ID,
    pub family_name: String,
    #[graphql(default)]
    pub middle_name: String,
    pub given_name: String,
    pub sex: Sex,
    pub member_type: MemberType,
    pub birth_date: Option<Date>,
    /// For records that carry only the year; must agree with `birthDate` when both are given.
    pub birth_year: Option<i32>,
    pub home_town: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub enlistment_date: Option<Date>,
    pub discharge_date: Option<Date>,
    pub military_rank: Option<String>,
    pub last_unit: Option<String>,
    pub joined_date: Option<Date>,
    #[graphql(default)]
    pub party_member: bool,
    pub war_invalid_status: Option<WarInvalidStatus>,
    pub card_number: Option<String>,
    /// Repeat a submission with the same id and the first one's result comes back; nothing is written twice.
    pub client_mutation_id: Option<String>,
}

/// Changes to a member: absent fields stay, `null` clears an optional field.
#[derive(InputObject)]
pub struct UpdateMemberInput {
    pub id: ID,
    /// The `version` the client read; a stale one gets `CONFLICT`.
    pub expected_version: i32,
    pub family_name: Option<String>,
    pub middle_name: Option<String>,
    pub given_name: Option<String>,
    pub sex: Option<Sex>,
    pub member_type: Option<MemberType>,
    pub birth_date: MaybeUndefined<Date>,
    pub birth_year: MaybeUndefined<i32>,
    /// Contact data: chapter leaders and members themselves may change it.
    pub home_town: MaybeUndefined<String>,
    /// Contact data.
    pub address: MaybeUndefined<String>,
    /// Contact data.
    pub phone: MaybeUndefined<String>,
    pub enlistment_date: MaybeUndefined<Date>,
    pub discharge_date: MaybeUndefined<Date>,
    pub military_rank: MaybeUndefined<String>,
    pub last_unit: MaybeUndefined<String>,
    pub joined_date: MaybeUndefined<Date>,
    pub party_member: Option<bool>,
    pub war_invalid_status: Option<WarInvalidStatus>,
    pub card_number: MaybeUndefined<String>,
    pub client_mutation_id: Option<String>,
}

#[derive(InputObject)]
pub struct MoveMemberInput {
    pub id: ID,
    /// A chapter of the same base; moving to another base is a transfer.
    pub chapter_id: ID,
    pub expected_version: i32,
    pub client_mutation_id: Option<String>,
}

#[derive(InputObject)]
pub struct ReleaseMemberInput {
    pub id: ID,
    /// The base association the member moves to.
    pub to_base_id: ID,
    pub expected_version: i32,
    pub note: Option<String>,
    pub client_mutation_id: Option<String>,
}

#[derive(InputObject)]
pub struct AcceptTransferInput {
    pub transfer_id: ID,
    /// The chapter of the destination base that takes the member in.
    pub chapter_id: ID,
    pub client_mutation_id: Option<String>,
}

#[derive(InputObject)]
pub struct DecideTransferInput {
    pub transfer_id: ID,
    pub reason: String,
    pub client_mutation_id: Option<String>,
}

#[derive(InputObject)]
pub struct RecordDeathInput {
    pub id: ID,
    pub expected_version: i32,
    pub date_of_death: Date,
    pub client_mutation_id: Option<String>,
}

#[derive(InputObject)]
pub struct RemoveMemberInput {
    pub id: ID,
    pub expected_version: i32,
    pub reason: String,
    /// Default: today.
    pub date: Option<Date>,
    pub client_mutation_id: Option<String>,
}

fn date(field: &str, d: Option<Date>) -> AppResult<Option<chrono::NaiveDate>> {
    d.map(|d| d.get(field)).transpose()
}

/// An optional field's patch as GraphQL says it: absent keeps, `null` clears, a value sets.
fn patch<T>(value: MaybeUndefined<T>) -> Patch<T> {
    match value {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(v) => Patch::Set(v),
    }
}

/// A patched date field; the calendar check names the field.
fn date_patch(field: &str, value: MaybeUndefined<Date>) -> AppResult<Patch<chrono::NaiveDate>> {
    Ok(match value {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(d) => Patch::Set(d.get(field)?),
    })
}

/// A day that must not be in the future.
fn past_day(field: &str, day: chrono::NaiveDate) -> AppResult<chrono::NaiveDate> {
    Ok(input::past_date(field, Some(day))?.unwrap_or(day))
}

impl AdmitMemberInput {
    /// The chapter and the roster record, with dates parsed. Every field is named (no `..`), so a field added
    /// to the input does not compile until it is carried into the record.
    fn into_command(self) -> AppResult<(i64, MemberData, Option<String>)> {
        let Self {
            chapter_id,
            family_name,
            middle_name,
            given_name,
            sex,
            member_type,
            birth_date,
            birth_year,
            home_town,
            address,
            phone,
            enlistment_date,
            discharge_date,
            military_rank,
            last_unit,
            joined_date,
            party_member,
            war_invalid_status,
            card_number,
            client_mutation_id,
        } = self;
        let chapter_id = GlobalId::parse_kind("input.chapterId", &chapter_id, NodeKind::Chapter)?;
        let data = MemberData {
            family_name,
            middle_name,
            given_name,
            sex: sex.into(),
            birth_date: date("input.birthDate", birth_date)?,
            birth_year,
            home_town,
            address,
            phone,
            enlisted_on: date("input.enlistmentDate", enlistment_date)?,
            discharged_on: date("input.dischargeDate", discharge_date)?,
            military_rank,
            last_unit,
            member_type: member_type.into(),
            joined_on: date("input.joinedDate", joined_date)?,
            party_member,
            war_invalid: war_invalid_status
                .map(Into::into)
                .unwrap_or(entity::member::WarInvalid::None),
            card_number,
        };
        Ok((chapter_id, data, client_mutation_id))
    }
}

impl UpdateMemberInput {
    /// The member, the version read and the patch. Every field is named (no `..`), so a field added to the
    /// input does not compile until it is carried into the patch, where its permission is decided.
    fn into_command(self) -> AppResult<(i64, i32, MemberPatch, Option<String>)> {
        let Self {
            id,
            expected_version,
            family_name,
            middle_name,
            given_name,
            sex,
            member_type,
            birth_date,
            birth_year,
            home_town,
            address,
            phone,
            enlistment_date,
            discharge_date,
            military_rank,
            last_unit,
            joined_date,
            party_member,
            war_invalid_status,
            card_number,
            client_mutation_id,
        } = self;
        let id = GlobalId::parse_kind("input.id", &id, NodeKind::Member)?;
        let patch = MemberPatch {
            family_name,
            middle_name,
            given_name,
            sex: sex.map(Into::into),
            member_type: member_type.map(Into::into),
            birth_date: date_patch("input.birthDate", birth_date)?,
            birth_year: patch(birth_year),
            home_town: patch(home_town),
            address: patch(address),
            phone: patch(phone),
            enlisted_on: date_patch("input.enlistmentDate", enlistment_date)?,
            discharged_on: date_patch("input.dischargeDate", discharge_date)?,
            military_rank: patch(military_rank),
            last_unit: patch(last_unit),
            joined_on: date_patch("input.joinedDate", joined_date)?,
            party_member,
            war_invalid: war_invalid_status.map(Into::into),
            card_number: patch(card_number),
        };
        Ok((id, expected_version, patch, client_mutation_id))
    }
}

/// Runs a member command in the mutation frame and answers with the member as this write left it: read in the
/// write's own transaction, so a write by someone else that commits just after cannot show through (the client
/// would take that write's version for its own). A replayed submission answers with the member as it is now.
/// Either way the viewer's read scope applies, as to any read.
async fn member_mutation(
    ctx: &Context<'_>,
    action: &'static str,
    client_mutation_id: Option<String>,
    command: impl AsyncFnOnce(&DatabaseTransaction, &Principal) -> AppResult<Outcome>,
) -> AppResult<MemberPayload> {
    let mut written: Option<entity::member::Model> = None;
    let (_, id) = mutate(ctx, action, client_mutation_id.as_deref(), async |txn, principal| {
        let outcome = command(txn, principal).await?;
        written.clone_from(&outcome.member);
        Ok(outcome)
    })
    .await?;
    Ok(MemberPayload {
        member: member_as_written(ctx, written, id).await?.map(Member),
        client_mutation_id,
    })
}

/// The member `id` as the mutation's own write left it (`written`), seen through the viewer's read scope. A
/// concurrent submission with the same clientMutationId may have won after the mutation's body ran: the frame
/// then rolled this write back and answers with the winner's record, which is read fresh.
async fn member_as_written(
    ctx: &Context<'_>,
    written: Option<entity::member::Model>,
    id: i64,
) -> AppResult<Option<entity::member::Model>> {
    let scope = &state(ctx).scope.members;
    Ok(match written.filter(|m| m.id == id) {
        Some(m) => Some(m).filter(|m| scope.contains_member(m.province_id, m.base_id, m.chapter_id, m.id)),
        None => load(ctx, MemberById(id)).await?,
    })
}

/// Runs a transfer command in the mutation frame and answers with the transfer and its member as this write
/// left them, read in the write's own transaction, for the reason [`member_mutation`] gives.
async fn transfer_mutation(
    ctx: &Context<'_>,
    action: &'static str,
    client_mutation_id: Option<String>,
    command: impl AsyncFnOnce(&DatabaseTransaction, &Principal) -> AppResult<Outcome>,
) -> AppResult<TransferPayload> {
    let mut written: Option<(entity::transfer::Model, Option<entity::member::Model>)> = None;
    let (_, id) = mutate(ctx, action, client_mutation_id.as_deref(), async |txn, principal| {
        let outcome = command(txn, principal).await?;
        let transfer = entity::transfer::Entity::find_by_id(outcome.target.1).one(txn).await?;
        written = transfer.map(|t| (t, outcome.member.clone()));
        Ok(outcome)
    })
    .await?;
    let (transfer, member) = match written.filter(|(t, _)| t.id == id) {
        Some((t, member)) => (Some(t), member),
        None => (load(ctx, TransferById(id)).await?, None),
    };
    let member = match &transfer {
        Some(t) => member_as_written(ctx, member, t.member_id).await?,
        None => None,
    };
    Ok(TransferPayload {
        transfer: transfer.map(Transfer),
        member: member.map(Member),
        client_mutation_id,
    })
}

#[derive(Default)]
pub struct MemberMutation;

#[Object]
impl MemberMutation {
    /// Admits a new member into a chapter.
    async fn admit_member(&self, ctx: &Context<'_>, input: AdmitMemberInput) -> AppResult<MemberPayload> {
        let (chapter_id, data, cmid) = input.into_command()?;
        member_mutation(ctx, "ADMIT_MEMBER", cmid, async |txn, principal| {
            commands::admit(actor(ctx, principal), txn, chapter_id, data).await
        })
        .await
    }

    /// Updates a member's roster data. Chapter leaders and members themselves may change only contact data
    /// (`phone`, `address`, `homeTown`).
    async fn update_member(&self, ctx: &Context<'_>, input: UpdateMemberInput) -> AppResult<MemberPayload> {
        let (id, expected, patch, cmid) = input.into_command()?;
        let contact = commands::contact_change(id, expected, &patch);
        let (id, written) =
            mutate_member_update(ctx, "UPDATE_MEMBER", cmid.as_deref(), contact, async |db, principal| {
                commands::update(actor(ctx, principal), db, id, expected, patch).await
            })
            .await?;
        Ok(MemberPayload {
            member: member_as_written(ctx, written, id).await?.map(Member),
            client_mutation_id: cmid,
        })
    }

    /// Moves a member to another chapter of the same base.
    async fn move_member(&self, ctx: &Context<'_>, input: MoveMemberInput) -> AppResult<MemberPayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Member)?;
        let to = GlobalId::parse_kind("input.chapterId", &input.chapter_id, NodeKind::Chapter)?;
        let cmid = input.client_mutation_id;
        member_mutation(ctx, "MOVE_MEMBER", cmid, async |txn, principal| {
            commands::move_within_base(actor(ctx, principal), txn, id, input.expected_version, to).await
        })
        .await
    }

    /// First step of a transfer: the member's base releases the member to another base. The member stays in
    /// the current chapter until the destination accepts.
    async fn release_member(&self, ctx: &Context<'_>, input: ReleaseMemberInput) -> AppResult<TransferPayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Member)?;
        let to_base = GlobalId::parse_kind("input.toBaseId", &input.to_base_id, NodeKind::Base)?;
        let note = input::opt_text("input.note", input.note.as_deref(), 500)?;
        let cmid = input.client_mutation_id;
        transfer_mutation(ctx, "RELEASE_MEMBER", cmid, async |txn, principal| {
            commands::release(actor(ctx, principal), txn, id, input.expected_version, to_base, note).await
        })
        .await
    }

    /// Second step of a transfer: the destination base accepts the member into one of its chapters.
    async fn accept_transfer(&self, ctx: &Context<'_>, input: AcceptTransferInput) -> AppResult<TransferPayload> {
        let transfer_id = GlobalId::parse_kind("input.transferId", &input.transfer_id, NodeKind::Transfer)?;
        let chapter_id = GlobalId::parse_kind("input.chapterId", &input.chapter_id, NodeKind::Chapter)?;
        let cmid = input.client_mutation_id;
        transfer_mutation(ctx, "ACCEPT_TRANSFER", cmid, async |txn, principal| {
            commands::accept_transfer(actor(ctx, principal), txn, transfer_id, chapter_id).await
        })
        .await
    }

    /// The destination base declines a transfer; the member stays where they are.
    async fn reject_transfer(&self, ctx: &Context<'_>, input: DecideTransferInput) -> AppResult<TransferPayload> {
        withdraw(ctx, input, "REJECT_TRANSFER", Withdrawal::Rejected).await
    }

    /// The origin base withdraws a transfer it released.
    async fn cancel_transfer(&self, ctx: &Context<'_>, input: DecideTransferInput) -> AppResult<TransferPayload> {
        withdraw(ctx, input, "CANCEL_TRANSFER", Withdrawal::Cancelled).await
    }

    /// Records a member's death. The record stays; a pending transfer is cancelled.
    async fn record_death(&self, ctx: &Context<'_>, input: RecordDeathInput) -> AppResult<MemberPayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Member)?;
        let day = past_day("input.dateOfDeath", input.date_of_death.get("input.dateOfDeath")?)?;
        let cmid = input.client_mutation_id;
        member_mutation(ctx, "RECORD_DEATH", cmid, async |txn, principal| {
            let leaving = Leaving::Death(day);
            commands::leave(actor(ctx, principal), txn, id, input.expected_version, leaving).await
        })
        .await
    }

    /// Removes a member from the association (the record stays, with the reason).
    async fn remove_member(&self, ctx: &Context<'_>, input: RemoveMemberInput) -> AppResult<MemberPayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Member)?;
        let reason = input::long_text("input.reason", &input.reason, 1000)?;
        let today = chrono::Utc::now().date_naive();
        let day = past_day("input.date", date("input.date", input.date)?.unwrap_or(today))?;
        let cmid = input.client_mutation_id;
        member_mutation(ctx, "REMOVE_MEMBER", cmid, async |txn, principal| {
            let leaving = Leaving::Removal(day, reason);
            commands::leave(actor(ctx, principal), txn, id, input.expected_version, leaving).await
        })
        .await
    }
}

async fn withdraw(
    ctx: &Context<'_>,
    input: DecideTransferInput,
    action: &'static str,
    how: Withdrawal,
) -> AppResult<TransferPayload> {
    let transfer_id = GlobalId::parse_kind("input.transferId", &input.transfer_id, NodeKind::Transfer)?;
    let reason = input::long_text("input.reason", &input.reason, 1000)?;
    let cmid = input.client_mutation_id;
    transfer_mutation(ctx, action, cmid, async |txn, principal| {
        commands::withdraw_transfer(actor(ctx, principal), txn, transfer_id, how, reason).await
    })
    .await
}
