//! Yearly ratings (xếp loại hằng năm): recording and changing a base's or a member's title for a year. A base is
//! rated by its province, a member (and the member's family) by the member's base; one record per subject,
//! kind and year.

use entity::yearly_rating::{self as rating, RatingKind, RatingSubject};
use sea_orm::{ActiveValue::NotSet, ActiveValue::Set, DatabaseTransaction, EntityTrait, SqlErr};

use super::awards::{position_of, visible_recipient};
use super::{Actor, Outcome, check_version, now, update_rating};
use crate::audit::diff;
use crate::auth::policy::{Position, authorize_rating, can_see_rating};
use crate::error::{AppError, AppResult};
use crate::ids::NodeKind;
use crate::store::write::Recipient;

/// A new rating, its text already checked at the edge.
pub struct NewRating {
    pub kind: RatingKind,
    pub subject: Recipient,
    pub year: i32,
    pub achieved: bool,
    pub note: Option<String>,
}

/// Where a rating sits in the tree, as the policy takes it.
pub fn position(r: &rating::Model) -> Position {
    Position {
        province_id: r.province_id,
        base_id: Some(r.base_id),
        chapter_id: r.chapter_id,
        member_id: r.member_id,
    }
}

/// Records a subject's rating for a year, by the level that rates that kind.
pub async fn record(who: Actor<'_>, txn: &DatabaseTransaction, input: NewRating) -> AppResult<Outcome> {
    let strong_base = input.kind == RatingKind::StrongBase;
    let resolved = visible_recipient(who, txn, input.subject, "subject").await?;
    let base_id = resolved.base_id.ok_or_else(|| AppError::not_found("base"))?;
    let at = position_of(&resolved);
    authorize_rating(who.viewer, strong_base, &at)?;
    let created = rating::ActiveModel {
        id: NotSet,
        kind: Set(input.kind),
        subject_type: Set(if strong_base {
            RatingSubject::Base
        } else {
            RatingSubject::Member
        }),
        subject_id: Set(resolved.id),
        subject_name: Set(resolved.name.clone()),
        province_id: Set(resolved.province_id),
        base_id: Set(base_id),
        chapter_id: Set(resolved.chapter_id),
        member_id: Set(resolved.member_id),
        year: Set(input.year),
        achieved: Set(input.achieved),
        note: Set(input.note),
        recorded_by: Set(who.principal.subject.clone()),
        recorded_at: Set(now()),
        version: Set(1),
    };
    let created = sea_orm::ActiveModelTrait::insert(created, txn).await.map_err(|e| {
        AppError::from_db(e, |sql| match sql {
            SqlErr::UniqueConstraintViolation(_) => Some(AppError::Conflict(
                "this rating is already recorded for that year; change it with updateYearlyRating".into(),
            )),
            _ => None,
        })
    })?;
    let (before, after) = diff(None, Some(&created));
    Ok(Outcome {
        target: (NodeKind::YearlyRating, created.id),
        position: at,
        before,
        after,
        reason: None,
        member: None,
    })
}

/// Changes a recorded rating, by the same levels that may record it.
pub async fn change(
    who: Actor<'_>,
    txn: &DatabaseTransaction,
    id: i64,
    expected: i32,
    achieved: bool,
    note: Option<String>,
) -> AppResult<Outcome> {
    let current = rating::Entity::find_by_id(id)
        .one(txn)
        .await?
        .filter(|r| can_see_rating(who.scope, &position(r)))
        .ok_or_else(|| AppError::not_found("rating"))?;
    let at = position(&current);
    authorize_rating(who.viewer, current.kind == RatingKind::StrongBase, &at)?;
    check_version("rating", current.version, expected)?;
    let changes = rating::ActiveModel {
        achieved: Set(achieved),
        note: Set(note),
        recorded_by: Set(who.principal.subject.clone()),
        recorded_at: Set(now()),
        ..Default::default()
    };
    let updated = update_rating(txn, id, expected, changes).await?;
    let (before, after) = diff(Some(&current), Some(&updated));
    Ok(Outcome {
        target: (NodeKind::YearlyRating, id),
        position: at,
        before,
        after,
        reason: None,
        member: None,
    })
}
