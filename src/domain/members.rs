//! Member commands: admit, update, move within a base, transfer between bases (release, then accept, reject or
//! cancel), record a death, remove. Each runs inside the mutation's transaction and returns the outcome for its
//! audit event; updates carry the version the client read.

use chrono::{Datelike, NaiveDate};
use entity::member::{MemberStatus, MemberType, Sex, WarInvalid};
use entity::transfer::TransferStatus;
use entity::{chapter, member, transfer};
use sea_orm::{
    ActiveValue, ActiveValue::Set, ConnectionTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, TryIntoModel,
};

use super::{Actor, Outcome, changed_fields, check_version, insert, now, update_member, update_transfer};
use crate::audit::diff;
use crate::auth::policy::{Capability, Position, authorize, can_see_member, can_see_transfer};
use crate::error::{AppError, AppResult};
use crate::ids::NodeKind;
use crate::input;
use crate::store::transfers;
use crate::store::write::{self, MemberData};

/// The longest free text of a roster field (home town, address, last unit).
const TEXT_MAX: usize = 200;

/// A change to an optional field: left as it is, cleared, or set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Patch<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Self::Keep => current,
            Self::Clear => None,
            Self::Set(v) => Some(v),
        }
    }

    fn is_keep(&self) -> bool {
        matches!(self, Self::Keep)
    }
}

/// Changes to a member's roster record; `None` and [`Patch::Keep`] leave a field as it is.
#[derive(Clone, Debug, Default)]
pub struct MemberPatch {
    pub family_name: Option<String>,
    pub middle_name: Option<String>,
    pub given_name: Option<String>,
    pub sex: Option<Sex>,
    pub member_type: Option<MemberType>,
    pub birth_date: Patch<NaiveDate>,
    pub birth_year: Patch<i32>,
    pub home_town: Patch<String>,
    pub address: Patch<String>,
    pub phone: Patch<String>,
    pub enlisted_on: Patch<NaiveDate>,
    pub discharged_on: Patch<NaiveDate>,
    pub military_rank: Patch<String>,
    pub last_unit: Patch<String>,
    pub joined_on: Patch<NaiveDate>,
    pub party_member: Option<bool>,
    pub war_invalid: Option<WarInvalid>,
    pub card_number: Patch<String>,
}

impl MemberPatch {
    /// The permission this change needs: everyday contact data (home town, address, phone) is
    /// [`Capability::EditContact`], anything else [`Capability::ManageMembers`]. Every field is named here, with
    /// no `..`, so a field added to the patch does not compile until it is sorted into one of the two.
    pub fn capability(&self) -> Capability {
        let Self {
            family_name,
            middle_name,
            given_name,
            sex,
            member_type,
            birth_date,
            birth_year,
            home_town: _,
            address: _,
            phone: _,
            enlisted_on,
            discharged_on,
            military_rank,
            last_unit,
            joined_on,
            party_member,
            war_invalid,
            card_number,
        } = self;
        let roster_untouched = family_name.is_none()
            && middle_name.is_none()
            && given_name.is_none()
            && sex.is_none()
            && member_type.is_none()
            && birth_date.is_keep()
            && birth_year.is_keep()
            && enlisted_on.is_keep()
            && discharged_on.is_keep()
            && military_rank.is_keep()
            && last_unit.is_keep()
            && joined_on.is_keep()
            && party_member.is_none()
            && war_invalid.is_none()
            && card_number.is_keep();
        if roster_untouched {
            Capability::EditContact
        } else {
            Capability::ManageMembers
        }
    }

    /// The record `current` becomes under this patch, before validation.
    fn applied_to(self, current: MemberData) -> MemberData {
        let c = current;
        MemberData {
            family_name: self.family_name.unwrap_or(c.family_name),
            middle_name: self.middle_name.unwrap_or(c.middle_name),
            given_name: self.given_name.unwrap_or(c.given_name),
            sex: self.sex.unwrap_or(c.sex),
            // A new birth date without a year brings its own year.
            birth_year: match (&self.birth_date, self.birth_year) {
                (Patch::Set(_), Patch::Keep) => None,
                (_, year) => year.apply(c.birth_year),
            },
            birth_date: self.birth_date.apply(c.birth_date),
            home_town: self.home_town.apply(c.home_town),
            address: self.address.apply(c.address),
            phone: self.phone.apply(c.phone),
            enlisted_on: self.enlisted_on.apply(c.enlisted_on),
            discharged_on: self.discharged_on.apply(c.discharged_on),
            military_rank: self.military_rank.apply(c.military_rank),
            last_unit: self.last_unit.apply(c.last_unit),
            member_type: self.member_type.unwrap_or(c.member_type),
            joined_on: self.joined_on.apply(c.joined_on),
            party_member: self.party_member.unwrap_or(c.party_member),
            war_invalid: self.war_invalid.unwrap_or(c.war_invalid),
            card_number: self.card_number.apply(c.card_number),
        }
    }
}

/// Checks a whole roster record, whichever way it was assembled; errors name the GraphQL input field.
pub fn validate(mut data: MemberData) -> AppResult<MemberData> {
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
    data.home_town = home_town(data.home_town.as_deref())?;
    data.address = address(data.address.as_deref())?;
    data.phone = phone(data.phone.as_deref())?;
    data.military_rank = input::opt_text("input.militaryRank", data.military_rank.as_deref(), 50)?;
    data.last_unit = input::opt_text("input.lastUnit", data.last_unit.as_deref(), TEXT_MAX)?;
    data.card_number = match data.card_number.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(c) => Some(input::code("input.cardNumber", c, 30)?),
        None => None,
    };
    Ok(data)
}

/// The contact fields' checks, each on its own: what [`validate`] and [`contact_change`] both apply.
fn home_town(raw: Option<&str>) -> AppResult<Option<String>> {
    input::opt_text("input.homeTown", raw, TEXT_MAX)
}

fn address(raw: Option<&str>) -> AppResult<Option<String>> {
    input::opt_text("input.address", raw, TEXT_MAX)
}

fn phone(raw: Option<&str>) -> AppResult<Option<String>> {
    input::phone("input.phone", raw)
}

/// Loads a member the actor may see, inside the transaction; otherwise `NOT_FOUND`.
async fn visible_member<C: ConnectionTrait>(who: Actor<'_>, db: &C, id: i64) -> AppResult<member::Model> {
    let found = write::find_member(db, id).await?;
    found
        .filter(|m| can_see_member(who.scope, m))
        .ok_or_else(|| AppError::not_found("member"))
}

/// Loads a transfer the actor may see; otherwise `NOT_FOUND`.
async fn visible_transfer(who: Actor<'_>, txn: &DatabaseTransaction, id: i64) -> AppResult<transfer::Model> {
    let found = transfer::Entity::find_by_id(id).one(txn).await?;
    found
        .filter(|t| can_see_transfer(who.scope, t))
        .ok_or_else(|| AppError::not_found("transfer"))
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
    if m.status != MemberStatus::Active {
        return Err(AppError::Conflict("the member is no longer active".into()));
    }
    Ok(())
}

fn require_pending(t: &transfer::Model) -> AppResult<()> {
    if t.status != TransferStatus::Pending {
        return Err(AppError::Conflict("the transfer was already decided".into()));
    }
    Ok(())
}

/// A member-target outcome between two states of the record.
fn member_outcome(before: Option<&member::Model>, after: &member::Model, reason: Option<String>) -> Outcome {
    let (before, after_json) = diff(before, Some(after));
    Outcome {
        target: (NodeKind::Member, after.id),
        position: Position::member(after),
        before,
        after: after_json,
        reason,
        member: Some(after.clone()),
    }
}

/// A transfer-target outcome between two states of the transfer, seen at `position`; `member` is the member as
/// the step left them.
fn transfer_outcome(
    before: Option<&transfer::Model>,
    after: &transfer::Model,
    position: Position,
    reason: Option<String>,
    member: Option<member::Model>,
) -> Outcome {
    let (before, after_json) = diff(before, Some(after));
    Outcome {
        target: (NodeKind::Transfer, after.id),
        position,
        before,
        after: after_json,
        reason,
        member,
    }
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
    write::move_member_awards(txn, m.id, to).await?;
    Ok(moved)
}

/// Admits a new member into an open chapter.
pub async fn admit(who: Actor<'_>, txn: &DatabaseTransaction, chapter_id: i64, data: MemberData) -> AppResult<Outcome> {
    let data = validate(data)?;
    let chapter = open_chapter(txn, "input.chapterId", chapter_id).await?;
    authorize(who.viewer, Capability::ManageMembers, &Position::chapter(&chapter))?;
    let created = write::insert_member(txn, &chapter, data)
        .await
        .map_err(super::map_write_error)?;
    Ok(member_outcome(None, &created, None))
}

/// Checks a change to a member's roster record and plans its write ([`MemberUpdate`]). The permission follows
/// from the fields touched ([`MemberPatch::capability`]).
pub async fn update<C: ConnectionTrait>(
    who: Actor<'_>,
    db: &C,
    id: i64,
    expected: i32,
    patch: MemberPatch,
) -> AppResult<MemberUpdate> {
    let current = visible_member(who, db, id).await?;
    authorize(who.viewer, patch.capability(), &Position::member(&current))?;
    check_version("member", current.version, expected)?;
    let data = validate(patch.applied_to(MemberData::of(&current)))?;
    let changes = member::ActiveModel {
        updated_at: Set(now()),
        ..changed_fields(current.clone().into_active_model(), data.into_roster())
    };
    Ok(MemberUpdate {
        current,
        expected,
        changes,
    })
}

/// A member update that changes contact data only (home town, address, phone), each field checked on its own.
/// Nothing else in the record bears on such a change, and any role may make it within its subtree, so on
/// PostgreSQL it is written without reading the record first: the checks that need the record (the writer's
/// reach, the version) go in the write's `WHERE` ([`crate::store::write::update_contact_with_event`]). When that
/// writes nothing, the general update ([`update`]) reads the record and says why.
pub struct ContactChange {
    pub id: i64,
    pub expected: i32,
    /// The contact fields to write, and `updated_at`.
    pub changes: member::ActiveModel,
}

/// The contact change `patch` makes to member `id` read at version `expected`: `Some` when it touches contact
/// data only ([`MemberPatch::capability`]) and every field it sets passes its check; otherwise `None`, and the
/// general update checks the patch and names what is wrong.
pub fn contact_change(id: i64, expected: i32, patch: &MemberPatch) -> Option<ContactChange> {
    if patch.capability() != Capability::EditContact {
        return None;
    }
    type Check = fn(Option<&str>) -> AppResult<Option<String>>;
    let checked = |field: &Patch<String>, check: Check| match field {
        Patch::Keep => Some(ActiveValue::NotSet),
        Patch::Clear => Some(Set(None)),
        Patch::Set(value) => check(Some(value)).ok().map(Set),
    };
    let changes = member::ActiveModel {
        home_town: checked(&patch.home_town, home_town)?,
        address: checked(&patch.address, address)?,
        phone: checked(&patch.phone, phone)?,
        updated_at: Set(now()),
        ..Default::default()
    };
    Some(ContactChange { id, expected, changes })
}

/// A member update checked against the rules and the actor's permissions, not yet written: the record as read,
/// the version it was read at and the fields to write. The mutation frame sends it with its audit event; the
/// version check in the write's `WHERE` makes reading before the write safe, since any other write in between
/// changed the version.
pub struct MemberUpdate {
    pub current: member::Model,
    pub expected: i32,
    pub changes: member::ActiveModel,
}

impl MemberUpdate {
    /// The record as the write will leave it: the fields set, the next version.
    pub fn predicted(&self) -> AppResult<member::Model> {
        let mut after = self
            .changes
            .clone()
            .try_into_model()
            .map_err(|e| AppError::Internal(format!("a member update left a field unset: {e}")))?;
        after.version = self.expected + 1;
        Ok(after)
    }

    /// The outcome of the write for the audit trail, given the record as written (or as predicted).
    pub fn outcome(&self, written: &member::Model) -> Outcome {
        member_outcome(Some(&self.current), written, None)
    }
}

/// Moves a member to another chapter of the same base.
pub async fn move_within_base(
    who: Actor<'_>,
    txn: &DatabaseTransaction,
    id: i64,
    expected: i32,
    to_chapter: i64,
) -> AppResult<Outcome> {
    let current = visible_member(who, txn, id).await?;
    authorize(who.viewer, Capability::ManageMembers, &Position::member(&current))?;
    check_version("member", current.version, expected)?;
    require_active(&current)?;
    let chapter = open_chapter(txn, "input.chapterId", to_chapter).await?;
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
    authorize(who.viewer, Capability::ManageMembers, &Position::chapter(&chapter))?;
    if transfers::pending(txn, current.id).await?.is_some() {
        return Err(AppError::Conflict(
            "the member has a pending transfer; cancel it first".into(),
        ));
    }
    let moved = relocate(txn, &current, expected, &chapter).await?;
    Ok(member_outcome(Some(&current), &moved, None))
}

/// First step of a transfer: the member's base releases the member to another base. The member stays in the
/// current chapter until the destination accepts.
pub async fn release(
    who: Actor<'_>,
    txn: &DatabaseTransaction,
    id: i64,
    expected: i32,
    to_base: i64,
    note: Option<String>,
) -> AppResult<Outcome> {
    let current = visible_member(who, txn, id).await?;
    authorize(who.viewer, Capability::Transfer, &Position::member(&current))?;
    check_version("member", current.version, expected)?;
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
            status: Set(TransferStatus::Pending),
            note: Set(note.clone()),
            released_at: Set(now()),
            released_by: Set(who.principal.subject.clone()),
            decided_at: Set(None),
            decided_by: Set(None),
            decision_reason: Set(None),
            version: Set(1),
            ..Default::default()
        },
    )
    .await?;
    let position = Position::member(&current);
    Ok(transfer_outcome(None, &created, position, note, Some(current)))
}

/// Second step of a transfer: the destination base accepts the member into one of its chapters.
pub async fn accept_transfer(
    who: Actor<'_>,
    txn: &DatabaseTransaction,
    transfer_id: i64,
    chapter_id: i64,
) -> AppResult<Outcome> {
    let t = visible_transfer(who, txn, transfer_id).await?;
    let chapter = open_chapter(txn, "input.chapterId", chapter_id).await?;
    if chapter.base_id != t.to_base_id {
        return Err(AppError::bad_input(
            "input.chapterId",
            "is not a chapter of the destination base",
        ));
    }
    authorize(who.viewer, Capability::Transfer, &Position::chapter(&chapter))?;
    require_pending(&t)?;
    let found = write::find_member(txn, t.member_id).await?;
    let m = found.ok_or_else(|| AppError::Internal(format!("transfer {} lost its member", t.id)))?;
    require_active(&m)?;
    let moved = relocate(txn, &m, m.version, &chapter).await?;
    let changes = transfer::ActiveModel {
        status: Set(TransferStatus::Accepted),
        to_chapter_id: Set(Some(chapter.id)),
        decided_at: Set(Some(now())),
        decided_by: Set(Some(who.principal.subject.clone())),
        ..Default::default()
    };
    let decided = update_transfer(txn, t.id, t.version, changes).await?;
    let position = Position::chapter(&chapter);
    Ok(transfer_outcome(Some(&t), &decided, position, None, Some(moved)))
}

/// How a pending transfer ends without the member moving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Withdrawal {
    /// The destination base declines.
    Rejected,
    /// The origin base withdraws what it released.
    Cancelled,
}

/// Ends a pending transfer: rejecting is the destination's call, cancelling the origin's.
pub async fn withdraw_transfer(
    who: Actor<'_>,
    txn: &DatabaseTransaction,
    transfer_id: i64,
    how: Withdrawal,
    reason: String,
) -> AppResult<Outcome> {
    let t = visible_transfer(who, txn, transfer_id).await?;
    let (side, status) = match how {
        Withdrawal::Rejected => (
            Position {
                province_id: t.to_province_id,
                base_id: Some(t.to_base_id),
                chapter_id: None,
                member_id: None,
            },
            TransferStatus::Rejected,
        ),
        Withdrawal::Cancelled => (
            Position {
                province_id: t.from_province_id,
                base_id: Some(t.from_base_id),
                chapter_id: Some(t.from_chapter_id),
                member_id: Some(t.member_id),
            },
            TransferStatus::Cancelled,
        ),
    };
    authorize(who.viewer, Capability::Transfer, &side)?;
    require_pending(&t)?;
    let changes = transfer::ActiveModel {
        status: Set(status),
        decided_at: Set(Some(now())),
        decided_by: Set(Some(who.principal.subject.clone())),
        decision_reason: Set(Some(reason.clone())),
        ..Default::default()
    };
    let decided = update_transfer(txn, t.id, t.version, changes).await?;
    Ok(transfer_outcome(Some(&t), &decided, side, Some(reason), None))
}

/// Why a member leaves the association. The record stays either way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Leaving {
    /// Died on the day given.
    Death(NaiveDate),
    /// Removed on the day given, for the reason given.
    Removal(NaiveDate, String),
}

/// Records that a member left the association (death or removal); a pending transfer is cancelled.
pub async fn leave(
    who: Actor<'_>,
    txn: &DatabaseTransaction,
    id: i64,
    expected: i32,
    leaving: Leaving,
) -> AppResult<Outcome> {
    let current = visible_member(who, txn, id).await?;
    authorize(who.viewer, Capability::ManageMembers, &Position::member(&current))?;
    check_version("member", current.version, expected)?;
    require_active(&current)?;
    if let Some(t) = transfers::pending(txn, current.id).await? {
        let changes = transfer::ActiveModel {
            status: Set(TransferStatus::Cancelled),
            decided_at: Set(Some(now())),
            decided_by: Set(Some(who.principal.subject.clone())),
            decision_reason: Set(Some("the member left the association".to_owned())),
            ..Default::default()
        };
        update_transfer(txn, t.id, t.version, changes).await?;
    }
    let (status, day, reason) = match leaving {
        Leaving::Death(day) => (MemberStatus::Deceased, day, None),
        Leaving::Removal(day, reason) => (MemberStatus::Removed, day, Some(reason)),
    };
    let changes = member::ActiveModel {
        status: Set(status),
        left_on: Set(Some(day)),
        left_reason: Set(reason.clone()),
        updated_at: Set(now()),
        ..Default::default()
    };
    let updated = update_member(txn, id, expected, changes).await?;
    Ok(member_outcome(Some(&current), &updated, reason))
}
