//! Unit commands: create, rename and close bases and chapters. Closing keeps the unit and its history; a unit
//! with active members cannot be closed until they are moved.

use entity::base::BaseKind;
use entity::{base, chapter, province};
use sea_orm::{ActiveValue::Set, DatabaseTransaction, EntityTrait};

use super::{Actor, Outcome, check_version, map_write_error, now, update_base, update_chapter};
use crate::audit::diff;
use crate::auth::policy::{Capability, Position, authorize};
use crate::error::{AppError, AppResult};
use crate::ids::NodeKind;
use crate::store::write::{self, Unit};

/// The longest unit name.
pub const NAME_MAX: usize = 150;
/// The longest unit code.
pub const CODE_MAX: usize = 32;

async fn find_base(txn: &DatabaseTransaction, field: &str, id: i64) -> AppResult<base::Model> {
    base::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::bad_input(field, "no such base"))
}

async fn find_chapter(txn: &DatabaseTransaction, field: &str, id: i64) -> AppResult<chapter::Model> {
    chapter::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::bad_input(field, "no such chapter"))
}

fn base_outcome(before: Option<&base::Model>, after: &base::Model, reason: Option<String>) -> Outcome {
    let (before, after_json) = diff(before, Some(after));
    Outcome {
        target: (NodeKind::Base, after.id),
        position: Position::base(after),
        before,
        after: after_json,
        reason,
        member: None,
    }
}

fn chapter_outcome(before: Option<&chapter::Model>, after: &chapter::Model, reason: Option<String>) -> Outcome {
    let (before, after_json) = diff(before, Some(after));
    Outcome {
        target: (NodeKind::Chapter, after.id),
        position: Position::chapter(after),
        before,
        after: after_json,
        reason,
        member: None,
    }
}

/// A unit's name and code, already checked by the caller's input rules.
pub struct NewUnit {
    pub code: String,
    pub name: String,
}

/// Creates a base association in a province.
pub async fn create_base(
    who: Actor<'_>,
    txn: &DatabaseTransaction,
    province_id: i64,
    unit: NewUnit,
    kind: BaseKind,
) -> AppResult<Outcome> {
    let found = province::Entity::find_by_id(province_id).one(txn).await?;
    let p = found.ok_or_else(|| AppError::bad_input("input.provinceId", "no such province"))?;
    authorize(who.viewer, Capability::ManageBases, &Position::province(p.id))?;
    let created = write::insert_base(txn, p.id, &unit.code, &unit.name, kind)
        .await
        .map_err(map_write_error)?;
    Ok(base_outcome(None, &created, None))
}

/// Creates a chapter in an open base.
pub async fn create_chapter(
    who: Actor<'_>,
    txn: &DatabaseTransaction,
    base_id: i64,
    unit: NewUnit,
) -> AppResult<Outcome> {
    let b = find_base(txn, "input.baseId", base_id).await?;
    authorize(who.viewer, Capability::ManageChapters, &Position::base(&b))?;
    if b.closed_at.is_some() {
        return Err(AppError::bad_input("input.baseId", "the base is closed"));
    }
    let created = write::insert_chapter(txn, &b, &unit.code, &unit.name)
        .await
        .map_err(map_write_error)?;
    Ok(chapter_outcome(None, &created, None))
}

/// Renames a base (province officials and admins) or a chapter.
pub async fn rename(
    who: Actor<'_>,
    txn: &DatabaseTransaction,
    unit: Unit,
    expected: i32,
    name: String,
) -> AppResult<Outcome> {
    let search = crate::text::fold(&name);
    let sort = crate::text::sort_key(&[&name]);
    match unit {
        Unit::Base(id) => {
            let current = find_base(txn, "input.id", id).await?;
            authorize(who.viewer, Capability::ManageBases, &Position::base(&current))?;
            check_version("base", current.version, expected)?;
            let changes = base::ActiveModel {
                name: Set(name),
                name_search: Set(search),
                sort_key: Set(sort),
                ..Default::default()
            };
            let updated = update_base(txn, id, expected, changes).await?;
            Ok(base_outcome(Some(&current), &updated, None))
        }
        Unit::Chapter(id) => {
            let current = find_chapter(txn, "input.id", id).await?;
            authorize(who.viewer, Capability::ManageChapters, &Position::chapter(&current))?;
            check_version("chapter", current.version, expected)?;
            let changes = chapter::ActiveModel {
                name: Set(name),
                name_search: Set(search),
                sort_key: Set(sort),
                ..Default::default()
            };
            let updated = update_chapter(txn, id, expected, changes).await?;
            Ok(chapter_outcome(Some(&current), &updated, None))
        }
    }
}

/// Refuses to close a unit that still has active members.
async fn require_no_active_members(txn: &DatabaseTransaction, unit: Unit) -> AppResult<()> {
    let active = write::active_members(txn, unit).await?;
    if active == 0 {
        return Ok(());
    }
    Err(AppError::Conflict(match unit {
        Unit::Base(_) => format!("the base still has {active} active members; move or transfer them first"),
        Unit::Chapter(_) => format!("the chapter still has {active} active members; move them first"),
    }))
}

/// Closes a unit with no active members; a base's open chapters close with it. Nothing is deleted.
pub async fn close(
    who: Actor<'_>,
    txn: &DatabaseTransaction,
    unit: Unit,
    expected: i32,
    reason: String,
) -> AppResult<Outcome> {
    let at = now();
    match unit {
        Unit::Base(id) => {
            let current = find_base(txn, "input.id", id).await?;
            authorize(who.viewer, Capability::ManageBases, &Position::base(&current))?;
            check_version("base", current.version, expected)?;
            if current.closed_at.is_some() {
                return Err(AppError::Conflict("the base is already closed".into()));
            }
            require_no_active_members(txn, unit).await?;
            write::close_open_chapters(txn, id, at).await?;
            let changes = base::ActiveModel {
                closed_at: Set(Some(at)),
                ..Default::default()
            };
            let updated = update_base(txn, id, expected, changes).await?;
            Ok(base_outcome(Some(&current), &updated, Some(reason)))
        }
        Unit::Chapter(id) => {
            let current = find_chapter(txn, "input.id", id).await?;
            authorize(who.viewer, Capability::ManageChapters, &Position::chapter(&current))?;
            check_version("chapter", current.version, expected)?;
            if current.closed_at.is_some() {
                return Err(AppError::Conflict("the chapter is already closed".into()));
            }
            require_no_active_members(txn, unit).await?;
            let changes = chapter::ActiveModel {
                closed_at: Set(Some(at)),
                ..Default::default()
            };
            let updated = update_chapter(txn, id, expected, changes).await?;
            Ok(chapter_outcome(Some(&current), &updated, Some(reason)))
        }
    }
}
