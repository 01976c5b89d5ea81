//! Member mutations: admit, update, move within a base, transfer between bases (release, then accept, reject
//! or cancel), record a death, remove. Each is one audited transaction; updates carry the version the client
//! read.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::Datelike;
use entity::member::MemberStatus as DbStatus;
use entity::transfer::TransferStatus as DbTransferStatus;
use entity::{chapter, member, transfer};
use sea_orm::{ActiveValue::Set, DatabaseTransaction, EntityTrait};

use super::history::Transfer;
use super::loaders::*;
use super::member::{Member, MemberType, Sex, WarInvalidStatus};
use super::mutation::{Outcome, check_version, insert, mutate, now, update_member, update_transfer};
use super::scalars::Date;
use super::{load, state};
use crate::audit::diff;
use crate::auth::Principal;
use crate::auth::policy::{Capability, Position, authorize, can_see_member, can_see_transfer};
use crate::error::{AppError, AppResult};
use crate::ids::{GlobalId, NodeKind};
use crate::input;
use crate::store::write::{self, MemberData};

/// Roster fields shared by admission and update.
const TEXT_MAX: usize = 200;

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

impl UpdateMemberInput {
    /// Whether the update touches only everyday contact data.
    fn contact_only(&self) -> bool {
        self.family_name.is_none()
            && self.middle_name.is_none()
            && self.given_name.is_none()
            && self.sex.is_none()
            && self.member_type.is_none()
            && self.birth_date.is_undefined()
            && self.birth_year.is_undefined()
            && self.enlistment_date.is_undefined()
            && self.discharge_date.is_undefined()
            && self.military_rank.is_undefined()
            && self.last_unit.is_undefined()
            && self.joined_date.is_undefined()
            && self.party_member.is_none()
            && self.war_invalid_status.is_none()
            && self.card_number.is_undefined()
    }
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

fn maybe<T: Clone, U>(patch: &MaybeUndefined<T>, current: Option<U>, f: impl FnOnce(T) -> U) -> Option<U> {
    match patch {
        MaybeUndefined::Undefined => current,
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(v) => Some(f(v.clone())),
    }
}

/// A patched date field: the calendar check names the field.
fn maybe_date(
    field: &str,
    patch: &MaybeUndefined<Date>,
    current: Option<chrono::NaiveDate>,
) -> AppResult<Option<chrono::NaiveDate>> {
    match patch {
        MaybeUndefined::Undefined => Ok(current),
        MaybeUndefined::Null => Ok(None),
        MaybeUndefined::Value(d) => d.get(field).map(Some),
    }
}

/// Checks a whole roster record, whichever way it was assembled.
fn validate(mut data: MemberData) -> AppResult<MemberData> {
    data.family_name = input::name_part("input.familyName", &data.family_name, true)?;
    data.middle_name = input::name_part("input.middleName", &data.middle_name, false)?;
    data.given_name = input::name_part("input.givenName", &data.given_name, true)?;
    data.birth_date = input::past_date("input.birthDate", data.birth_date)?;
    let this_year = chrono::Utc::now().year();
    data.birth_year = input::year("input.birthYear", data.birth_year, 1900..=this_year)?;
    if let (Some(d), Some(y)) = (data.birth_date, data.birth_year)
        && d.year() != y
    {
        return Err(AppError::bad_input("input.birthYear", "does not match birthDate"));
    }
    data.enlisted_on = input::past_date("input.enlistmentDate", data.enlisted_on)?;
    data.discharged_on = input::past_date("input.dischargeDate", data.discharged_on)?;
    data.joined_on = input::past_date("input.joinedDate", data.joined_on)?;
    if let (Some(e), Some(d)) = (data.enlisted_on, data.discharged_on)
        && d < e
    {
        return Err(AppError::bad_input("input.dischargeDate", "is before enlistmentDate"));
    }
    let born = data.birth_date.map(|d| d.year()).or(data.birth_year);
    if let (Some(b), Some(e)) = (born, data.enlisted_on)
        && e.year() < b + 14
    {
        return Err(AppError::bad_input(
            "input.enlistmentDate",
            "is too soon after the birth year",
        ));
    }
    data.home_town = input::opt_text("input.homeTown", data.home_town.as_deref(), TEXT_MAX)?;
    data.address = input::opt_text("input.address", data.address.as_deref(), TEXT_MAX)?;
    data.phone = input::phone("input.phone", data.phone.as_deref())?;
    data.military_rank = input::opt_text("input.militaryRank", data.military_rank.as_deref(), 50)?;
    data.last_unit = input::opt_text("input.lastUnit", data.last_unit.as_deref(), TEXT_MAX)?;
    data.card_number = match data.card_number.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(c) => Some(input::code("input.cardNumber", c, 30)?),
        None => None,
    };
    Ok(data)
}

fn data_of(m: &member::Model) -> MemberData {
    MemberData {
        family_name: m.family_name.clone(),
        middle_name: m.middle_name.clone(),
        given_name: m.given_name.clone(),
        sex: m.sex,
        birth_date: m.birth_date,
        birth_year: m.birth_year,
        home_town: m.home_town.clone(),
        address: m.address.clone(),
        phone: m.phone.clone(),
        enlisted_on: m.enlisted_on,
        discharged_on: m.discharged_on,
        military_rank: m.military_rank.clone(),
        last_unit: m.last_unit.clone(),
        member_type: m.member_type,
        joined_on: m.joined_on,
        party_member: m.party_member,
        war_invalid: m.war_invalid,
        card_number: m.card_number.clone(),
    }
}

/// Loads a member the viewer may see, inside the transaction; otherwise `NOT_FOUND`.
async fn visible_member(ctx: &Context<'_>, txn: &DatabaseTransaction, id: i64) -> AppResult<member::Model> {
    let found = write::find_member(txn, id).await?;
    found
        .filter(|m| can_see_member(&state(ctx).scope, m))
        .ok_or_else(|| AppError::not_found("member"))
}

async fn open_chapter(txn: &DatabaseTransaction, field: &str, id: i64) -> AppResult<chapter::Model> {
    let found = chapter::Entity::find_by_id(id).one(txn).await?;
    let chapter = found.ok_or_else(|| AppError::bad_input(field, "no such chapter"))?;
    if chapter.closed_at.is_some() {
        return Err(AppError::bad_input(field, "the chapter is closed"));
    }
    Ok(chapter)
}

fn require_active(m: &member::Model) -> AppResult<()> {
    if m.status != DbStatus::Active {
        return Err(AppError::Conflict("the member is no longer active".into()));
    }
    Ok(())
}

async fn pending_transfer(txn: &DatabaseTransaction, member_id: i64) -> AppResult<Option<transfer::Model>> {
    use sea_orm::{ColumnTrait, QueryFilter};
    Ok(transfer::Entity::find()
        .filter(transfer::Column::MemberId.eq(member_id))
        .filter(transfer::Column::Status.eq(DbTransferStatus::Pending))
        .one(txn)
        .await?)
}

/// Writes a new roster record over a member, with the derived search and sort columns (the search index
/// follows `search_name` by itself).
async fn write_roster(
    txn: &DatabaseTransaction,
    current: &member::Model,
    expected: i32,
    data: MemberData,
) -> AppResult<member::Model> {
    let changes = member::ActiveModel {
        updated_at: Set(now()),
        ..data.into_roster()
    };
    update_member(txn, current.id, expected, changes).await
}

/// Moves a member (and the ancestor ids of the member's awards) to a chapter.
async fn relocate(
    txn: &DatabaseTransaction,
    m: &member::Model,
    expected: i32,
    to: &chapter::Model,
) -> AppResult<member::Model> {
    let changes = member::ActiveModel {
        province_id: Set(to.province_id),
        base_id: Set(to.base_id),
        chapter_id: Set(to.id),
        updated_at: Set(now()),
        ..Default::default()
    };
    let moved = update_member(txn, m.id, expected, changes).await?;
    let mut sql = crate::sql::Sql::new("UPDATE awards SET province_id = ");
    sql.bind(to.province_id)
        .push(", base_id = ")
        .bind(to.base_id)
        .push(", chapter_id = ")
        .bind(to.id);
    sql.push(" WHERE recipient_type = 'MEMBER' AND member_id = ").bind(m.id);
    sea_orm::ConnectionTrait::execute_raw(txn, sql.build(sea_orm::ConnectionTrait::get_database_backend(txn))).await?;
    Ok(moved)
}

async fn member_payload(ctx: &Context<'_>, id: i64, client_mutation_id: Option<String>) -> AppResult<MemberPayload> {
    Ok(MemberPayload {
        member: load(ctx, MemberById(id)).await?.map(Member),
        client_mutation_id,
    })
}

async fn transfer_payload(
    ctx: &Context<'_>,
    id: i64,
    client_mutation_id: Option<String>,
) -> AppResult<TransferPayload> {
    let found = load(ctx, TransferById(id)).await?;
    let member = match &found {
        Some(t) => load(ctx, MemberById(t.member_id)).await?.map(Member),
        None => None,
    };
    Ok(TransferPayload {
        transfer: found.map(Transfer),
        member,
        client_mutation_id,
    })
}

/// Ends a pending transfer because the member left the association.
async fn cancel_pending(txn: &DatabaseTransaction, actor: &Principal, member_id: i64, reason: &str) -> AppResult<()> {
    if let Some(t) = pending_transfer(txn, member_id).await? {
        let changes = transfer::ActiveModel {
            status: Set(DbTransferStatus::Cancelled),
            decided_at: Set(Some(now())),
            decided_by: Set(Some(actor.subject.clone())),
            decision_reason: Set(Some(reason.to_owned())),
            ..Default::default()
        };
        update_transfer(txn, t.id, t.version, changes).await?;
    }
    Ok(())
}

#[derive(Default)]
pub struct MemberMutation;

#[Object]
impl MemberMutation {
    /// Admits a new member into a chapter.
    async fn admit_member(&self, ctx: &Context<'_>, input: AdmitMemberInput) -> AppResult<MemberPayload> {
        let chapter_id = GlobalId::parse_kind("input.chapterId", &input.chapter_id, NodeKind::Chapter)?;
        let data = validate(MemberData {
            family_name: input.family_name,
            middle_name: input.middle_name,
            given_name: input.given_name,
            sex: input.sex.into(),
            birth_date: date("input.birthDate", input.birth_date)?,
            birth_year: input.birth_year,
            home_town: input.home_town,
            address: input.address,
            phone: input.phone,
            enlisted_on: date("input.enlistmentDate", input.enlistment_date)?,
            discharged_on: date("input.dischargeDate", input.discharge_date)?,
            military_rank: input.military_rank,
            last_unit: input.last_unit,
            member_type: input.member_type.into(),
            joined_on: date("input.joinedDate", input.joined_date)?,
            party_member: input.party_member,
            war_invalid: input
                .war_invalid_status
                .map(Into::into)
                .unwrap_or(entity::member::WarInvalid::None),
            card_number: input.card_number,
        })?;
        let cmid = input.client_mutation_id;
        let (_, id) = mutate(ctx, "ADMIT_MEMBER", cmid.as_deref(), async |txn, _actor| {
            let chapter = open_chapter(txn, "input.chapterId", chapter_id).await?;
            authorize(
                &state(ctx).viewer,
                Capability::ManageMembers,
                &Position::chapter(&chapter),
            )?;
            let created = write::insert_member(txn, &chapter, data)
                .await
                .map_err(super::mutation::map_write_error)?;
            let (before, after) = diff(None, Some(&created));
            Ok(Outcome {
                target: (NodeKind::Member, created.id),
                position: Position::member(&created),
                before,
                after,
                reason: None,
            })
        })
        .await?;
        member_payload(ctx, id, cmid).await
    }

    /// Updates a member's roster data. Chapter leaders and members themselves may change only contact data
    /// (`phone`, `address`, `homeTown`).
    async fn update_member(&self, ctx: &Context<'_>, input: UpdateMemberInput) -> AppResult<MemberPayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Member)?;
        let capability = if input.contact_only() {
            Capability::EditContact
        } else {
            Capability::ManageMembers
        };
        let cmid = input.client_mutation_id.clone();
        let (_, id) = mutate(ctx, "UPDATE_MEMBER", cmid.as_deref(), async |txn, _actor| {
            let current = visible_member(ctx, txn, id).await?;
            authorize(&state(ctx).viewer, capability, &Position::member(&current))?;
            check_version("member", current.version, input.expected_version)?;
            let c = data_of(&current);
            let data = validate(MemberData {
                family_name: input.family_name.clone().unwrap_or(c.family_name),
                middle_name: input.middle_name.clone().unwrap_or(c.middle_name),
                given_name: input.given_name.clone().unwrap_or(c.given_name),
                sex: input.sex.map(Into::into).unwrap_or(c.sex),
                birth_date: maybe_date("input.birthDate", &input.birth_date, c.birth_date)?,
                // A new birth date without a year brings its own year.
                birth_year: match (&input.birth_date, &input.birth_year) {
                    (MaybeUndefined::Value(_), MaybeUndefined::Undefined) => None,
                    _ => maybe(&input.birth_year, c.birth_year, |y| y),
                },
                home_town: maybe(&input.home_town, c.home_town, |s| s),
                address: maybe(&input.address, c.address, |s| s),
                phone: maybe(&input.phone, c.phone, |s| s),
                enlisted_on: maybe_date("input.enlistmentDate", &input.enlistment_date, c.enlisted_on)?,
                discharged_on: maybe_date("input.dischargeDate", &input.discharge_date, c.discharged_on)?,
                military_rank: maybe(&input.military_rank, c.military_rank, |s| s),
                last_unit: maybe(&input.last_unit, c.last_unit, |s| s),
                member_type: input.member_type.map(Into::into).unwrap_or(c.member_type),
                joined_on: maybe_date("input.joinedDate", &input.joined_date, c.joined_on)?,
                party_member: input.party_member.unwrap_or(c.party_member),
                war_invalid: input.war_invalid_status.map(Into::into).unwrap_or(c.war_invalid),
                card_number: maybe(&input.card_number, c.card_number, |s| s),
            })?;
            let updated = write_roster(txn, &current, input.expected_version, data).await?;
            let (before, after) = diff(Some(&current), Some(&updated));
            Ok(Outcome {
                target: (NodeKind::Member, id),
                position: Position::member(&updated),
                before,
                after,
                reason: None,
            })
        })
        .await?;
        member_payload(ctx, id, cmid).await
    }

    /// Moves a member to another chapter of the same base.
    async fn move_member(&self, ctx: &Context<'_>, input: MoveMemberInput) -> AppResult<MemberPayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Member)?;
        let to = GlobalId::parse_kind("input.chapterId", &input.chapter_id, NodeKind::Chapter)?;
        let cmid = input.client_mutation_id.clone();
        let (_, id) = mutate(ctx, "MOVE_MEMBER", cmid.as_deref(), async |txn, _actor| {
            let current = visible_member(ctx, txn, id).await?;
            let viewer = &state(ctx).viewer;
            authorize(viewer, Capability::ManageMembers, &Position::member(&current))?;
            check_version("member", current.version, input.expected_version)?;
            require_active(&current)?;
            let chapter = open_chapter(txn, "input.chapterId", to).await?;
            if chapter.base_id != current.base_id {
                return Err(AppError::bad_input(
                    "input.chapterId",
                    "is in another base; transfer the member with releaseMember",
                ));
            }
            if chapter.id == current.chapter_id {
                return Err(AppError::bad_input(
                    "input.chapterId",
                    "the member is already in this chapter",
                ));
            }
            authorize(viewer, Capability::ManageMembers, &Position::chapter(&chapter))?;
            if pending_transfer(txn, current.id).await?.is_some() {
                return Err(AppError::Conflict(
                    "the member has a pending transfer; cancel it first".into(),
                ));
            }
            let moved = relocate(txn, &current, input.expected_version, &chapter).await?;
            let (before, after) = diff(Some(&current), Some(&moved));
            Ok(Outcome {
                target: (NodeKind::Member, id),
                position: Position::member(&moved),
                before,
                after,
                reason: None,
            })
        })
        .await?;
        member_payload(ctx, id, cmid).await
    }

    /// First step of a transfer: the member's base releases the member to another base. The member stays in
    /// the current chapter until the destination accepts.
    async fn release_member(&self, ctx: &Context<'_>, input: ReleaseMemberInput) -> AppResult<TransferPayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Member)?;
        let to_base = GlobalId::parse_kind("input.toBaseId", &input.to_base_id, NodeKind::Base)?;
        let note = input::opt_text("input.note", input.note.as_deref(), 500)?;
        let cmid = input.client_mutation_id.clone();
        let (_, transfer_id) = mutate(ctx, "RELEASE_MEMBER", cmid.as_deref(), async |txn, actor| {
            let current = visible_member(ctx, txn, id).await?;
            authorize(&state(ctx).viewer, Capability::Transfer, &Position::member(&current))?;
            check_version("member", current.version, input.expected_version)?;
            require_active(&current)?;
            let destination = entity::base::Entity::find_by_id(to_base).one(txn).await?;
            let destination = destination.ok_or_else(|| AppError::bad_input("input.toBaseId", "no such base"))?;
            if destination.closed_at.is_some() {
                return Err(AppError::bad_input("input.toBaseId", "the base is closed"));
            }
            if destination.id == current.base_id {
                return Err(AppError::bad_input(
                    "input.toBaseId",
                    "is the member's own base; use moveMember",
                ));
            }
            let created = insert(
                txn,
                transfer::ActiveModel {
                    member_id: Set(current.id),
                    member_name: Set(crate::text::full_name(
                        &current.family_name,
                        &current.middle_name,
                        &current.given_name,
                    )),
                    from_province_id: Set(current.province_id),
                    from_base_id: Set(current.base_id),
                    from_chapter_id: Set(current.chapter_id),
                    to_province_id: Set(destination.province_id),
                    to_base_id: Set(destination.id),
                    to_chapter_id: Set(None),
                    status: Set(DbTransferStatus::Pending),
                    note: Set(note.clone()),
                    released_at: Set(now()),
                    released_by: Set(actor.subject.clone()),
                    decided_at: Set(None),
                    decided_by: Set(None),
                    decision_reason: Set(None),
                    version: Set(1),
                    ..Default::default()
                },
            )
            .await?;
            let (before, after) = diff(None, Some(&created));
            Ok(Outcome {
                target: (NodeKind::Transfer, created.id),
                position: Position::member(&current),
                before,
                after,
                reason: note.clone(),
            })
        })
        .await?;
        transfer_payload(ctx, transfer_id, cmid).await
    }

    /// Second step of a transfer: the destination base accepts the member into one of its chapters.
    async fn accept_transfer(&self, ctx: &Context<'_>, input: AcceptTransferInput) -> AppResult<TransferPayload> {
        let transfer_id = GlobalId::parse_kind("input.transferId", &input.transfer_id, NodeKind::Transfer)?;
        let chapter_id = GlobalId::parse_kind("input.chapterId", &input.chapter_id, NodeKind::Chapter)?;
        let cmid = input.client_mutation_id.clone();
        let (_, id) = mutate(ctx, "ACCEPT_TRANSFER", cmid.as_deref(), async |txn, actor| {
            let t = visible_transfer(ctx, txn, transfer_id).await?;
            let chapter = open_chapter(txn, "input.chapterId", chapter_id).await?;
            if chapter.base_id != t.to_base_id {
                return Err(AppError::bad_input(
                    "input.chapterId",
                    "is not a chapter of the destination base",
                ));
            }
            authorize(&state(ctx).viewer, Capability::Transfer, &Position::chapter(&chapter))?;
            require_pending(&t)?;
            let found = write::find_member(txn, t.member_id).await?;
            let m = found.ok_or_else(|| AppError::Internal(format!("transfer {} lost its member", t.id)))?;
            require_active(&m)?;
            relocate(txn, &m, m.version, &chapter).await?;
            let changes = transfer::ActiveModel {
                status: Set(DbTransferStatus::Accepted),
                to_chapter_id: Set(Some(chapter.id)),
                decided_at: Set(Some(now())),
                decided_by: Set(Some(actor.subject.clone())),
                ..Default::default()
            };
            let decided = update_transfer(txn, t.id, t.version, changes).await?;
            let (before, after) = diff(Some(&t), Some(&decided));
            Ok(Outcome {
                target: (NodeKind::Transfer, t.id),
                position: Position::chapter(&chapter),
                before,
                after,
                reason: None,
            })
        })
        .await?;
        transfer_payload(ctx, id, cmid).await
    }

    /// The destination base declines a transfer; the member stays where they are.
    async fn reject_transfer(&self, ctx: &Context<'_>, input: DecideTransferInput) -> AppResult<TransferPayload> {
        decide(ctx, input, "REJECT_TRANSFER", DbTransferStatus::Rejected).await
    }

    /// The origin base withdraws a transfer it released.
    async fn cancel_transfer(&self, ctx: &Context<'_>, input: DecideTransferInput) -> AppResult<TransferPayload> {
        decide(ctx, input, "CANCEL_TRANSFER", DbTransferStatus::Cancelled).await
    }

    /// Records a member's death. The record stays; a pending transfer is cancelled.
    async fn record_death(&self, ctx: &Context<'_>, input: RecordDeathInput) -> AppResult<MemberPayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Member)?;
        let day = input::past_date("input.dateOfDeath", Some(input.date_of_death.get("input.dateOfDeath")?))?;
        let cmid = input.client_mutation_id.clone();
        let (_, id) = mutate(ctx, "RECORD_DEATH", cmid.as_deref(), async |txn, actor| {
            leave(
                ctx,
                txn,
                actor,
                id,
                input.expected_version,
                DbStatus::Deceased,
                day,
                None,
            )
            .await
        })
        .await?;
        member_payload(ctx, id, cmid).await
    }

    /// Removes a member from the association (the record stays, with the reason).
    async fn remove_member(&self, ctx: &Context<'_>, input: RemoveMemberInput) -> AppResult<MemberPayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Member)?;
        let reason = input::long_text("input.reason", &input.reason, 1000)?;
        let day = input::past_date(
            "input.date",
            Some(date("input.date", input.date)?.unwrap_or_else(|| chrono::Utc::now().date_naive())),
        )?;
        let cmid = input.client_mutation_id.clone();
        let (_, id) = mutate(ctx, "REMOVE_MEMBER", cmid.as_deref(), async |txn, actor| {
            leave(
                ctx,
                txn,
                actor,
                id,
                input.expected_version,
                DbStatus::Removed,
                day,
                Some(reason.clone()),
            )
            .await
        })
        .await?;
        member_payload(ctx, id, cmid).await
    }
}

#[allow(clippy::too_many_arguments)]
async fn leave(
    ctx: &Context<'_>,
    txn: &DatabaseTransaction,
    actor: &Principal,
    id: i64,
    expected: i32,
    status: DbStatus,
    day: Option<chrono::NaiveDate>,
    reason: Option<String>,
) -> AppResult<Outcome> {
    let current = visible_member(ctx, txn, id).await?;
    authorize(
        &state(ctx).viewer,
        Capability::ManageMembers,
        &Position::member(&current),
    )?;
    check_version("member", current.version, expected)?;
    require_active(&current)?;
    cancel_pending(txn, actor, current.id, "the member left the association").await?;
    let changes = member::ActiveModel {
        status: Set(status),
        left_on: Set(day),
        left_reason: Set(reason.clone()),
        updated_at: Set(now()),
        ..Default::default()
    };
    let updated = update_member(txn, id, expected, changes).await?;
    let (before, after) = diff(Some(&current), Some(&updated));
    Ok(Outcome {
        target: (NodeKind::Member, id),
        position: Position::member(&updated),
        before,
        after,
        reason,
    })
}

async fn visible_transfer(ctx: &Context<'_>, txn: &DatabaseTransaction, id: i64) -> AppResult<transfer::Model> {
    let found = transfer::Entity::find_by_id(id).one(txn).await?;
    found
        .filter(|t| can_see_transfer(&state(ctx).scope, t))
        .ok_or_else(|| AppError::not_found("transfer"))
}

fn require_pending(t: &transfer::Model) -> AppResult<()> {
    if t.status != DbTransferStatus::Pending {
        return Err(AppError::Conflict("the transfer was already decided".into()));
    }
    Ok(())
}

async fn decide(
    ctx: &Context<'_>,
    input: DecideTransferInput,
    action: &'static str,
    status: DbTransferStatus,
) -> AppResult<TransferPayload> {
    let transfer_id = GlobalId::parse_kind("input.transferId", &input.transfer_id, NodeKind::Transfer)?;
    let reason = input::long_text("input.reason", &input.reason, 1000)?;
    let cmid = input.client_mutation_id.clone();
    let (_, id) = mutate(ctx, action, cmid.as_deref(), async |txn, actor| {
        let t = visible_transfer(ctx, txn, transfer_id).await?;
        // Rejecting is the destination's call, cancelling the origin's.
        let side = if status == DbTransferStatus::Rejected {
            Position {
                province_id: t.to_province_id,
                base_id: Some(t.to_base_id),
                chapter_id: None,
                member_id: None,
            }
        } else {
            Position {
                province_id: t.from_province_id,
                base_id: Some(t.from_base_id),
                chapter_id: Some(t.from_chapter_id),
                member_id: Some(t.member_id),
            }
        };
        authorize(&state(ctx).viewer, Capability::Transfer, &side)?;
        require_pending(&t)?;
        let changes = transfer::ActiveModel {
            status: Set(status),
            decided_at: Set(Some(now())),
            decided_by: Set(Some(actor.subject.clone())),
            decision_reason: Set(Some(reason.clone())),
            ..Default::default()
        };
        let decided = update_transfer(txn, t.id, t.version, changes).await?;
        let (before, after) = diff(Some(&t), Some(&decided));
        Ok(Outcome {
            target: (NodeKind::Transfer, t.id),
            position: side,
            before,
            after,
            reason: Some(reason.clone()),
        })
    })
    .await?;
    transfer_payload(ctx, id, cmid).await
}
