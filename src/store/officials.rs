//! Reads behind the officials' files ([`crate::officials`]): the chapters and members an export or an import
//! covers and the award roll in batches. The year-end figures have their own module ([`super::year_end`]).

use entity::{award, chapter, member};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::page::query_models;
use super::stats::Level;
use super::year_end::Within;
use crate::auth::policy::Subtree;
use crate::error::AppResult;
use crate::sql::{Sql, literal};

/// The condition keeping chapters inside `unit`.
fn chapters_within(unit: Within) -> Condition {
    let column = match unit.level {
        Level::Province => chapter::Column::ProvinceId,
        Level::Base => chapter::Column::BaseId,
        Level::Chapter => chapter::Column::Id,
    };
    Condition::all().add(column.eq(unit.id))
}

/// The condition keeping chapters inside a subtree; `None` when the subtree holds no whole chapter (nothing,
/// or one member), `Some(everything)` for the whole tree.
fn chapters_in(scope: Subtree) -> Option<Condition> {
    let unit = match scope {
        Subtree::All => return Some(Condition::all()),
        Subtree::Nothing | Subtree::Member(_) => return None,
        Subtree::Province(id) => Within {
            level: Level::Province,
            id,
        },
        Subtree::Base(id) => Within { level: Level::Base, id },
        Subtree::Chapter(id) => Within {
            level: Level::Chapter,
            id,
        },
    };
    Some(chapters_within(unit))
}

/// The chapters (closed ones too) whose members a roster export covers: inside `unit` if given and inside the
/// reader's member scope (a member-bound scope is applied to the member rows, so it keeps every chapter), in
/// roster order, as `(id, code)`.
pub async fn roster_chapters(
    db: &DatabaseConnection,
    unit: Option<Within>,
    scope: Subtree,
) -> AppResult<Vec<(i64, String)>> {
    let by_scope = match scope {
        Subtree::Member(_) => Condition::all(),
        other => match chapters_in(other) {
            Some(condition) => condition,
            None => return Ok(Vec::new()),
        },
    };
    let mut query = chapter::Entity::find().filter(by_scope);
    if let Some(unit) = unit {
        query = query.filter(chapters_within(unit));
    }
    Ok(query
        .select_only()
        .columns([chapter::Column::Id, chapter::Column::Code])
        .order_by_asc(chapter::Column::ProvinceId)
        .order_by_asc(chapter::Column::BaseId)
        .order_by_asc(chapter::Column::SortKey)
        .order_by_asc(chapter::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

/// The open chapters inside `scope` (where an import may write members).
pub async fn open_chapters<C: sea_orm::ConnectionTrait>(db: &C, scope: Subtree) -> AppResult<Vec<chapter::Model>> {
    let Some(condition) = chapters_in(scope) else {
        return Ok(Vec::new());
    };
    Ok(chapter::Entity::find()
        .filter(chapter::Column::ClosedAt.is_null())
        .filter(condition)
        .all(db)
        .await?)
}

/// The active members of the chapters `chapter_ids` that `scope` keeps, in roster order within a chapter.
pub async fn active_members(
    db: &DatabaseConnection,
    chapter_ids: &[i64],
    scope: Subtree,
) -> AppResult<Vec<member::Model>> {
    let members = super::table::<member::Entity>();
    let mut sql = Sql::new(&format!(
        "SELECT {} FROM {members} t WHERE t.status = {} AND t.chapter_id IN ",
        super::select_list(members),
        literal(member::MemberStatus::Active)
    ));
    sql.bind_list(chapter_ids);
    if let Some(cond) = scope.members_condition() {
        sql.push(" AND ").append(&cond);
    }
    sql.push(" ORDER BY t.sort_key, t.id");
    query_models(db, sql).await
}

/// The members holding any of the card numbers `cards`.
pub async fn members_by_card(db: &DatabaseConnection, cards: &[String]) -> AppResult<Vec<member::Model>> {
    Ok(member::Entity::find()
        .filter(member::Column::CardNumber.is_in(cards.iter().cloned()))
        .all(db)
        .await?)
}

/// The next `limit` awards of the public roll after id `after`, inside `unit` and of `year` when given, in id
/// order (revoked awards are not on the roll).
pub async fn award_roll(
    db: &DatabaseConnection,
    after: i64,
    unit: Option<Within>,
    year: Option<i32>,
    limit: u64,
) -> AppResult<Vec<award::Model>> {
    let mut query = award::Entity::find()
        .filter(award::Column::RevokedAt.is_null())
        .filter(award::Column::Id.gt(after));
    if let Some(unit) = unit {
        let column = match unit.level {
            Level::Province => award::Column::ProvinceId,
            Level::Base => award::Column::BaseId,
            Level::Chapter => award::Column::ChapterId,
        };
        query = query.filter(column.eq(unit.id));
    }
    if let Some(year) = year {
        query = query.filter(award::Column::Year.eq(year));
    }
    Ok(query.order_by_asc(award::Column::Id).limit(limit).all(db).await?)
}
