//! Unit mutations: create, rename and close bases and chapters. Closing keeps the unit and its history; a unit
//! with active members cannot be closed until they are moved.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use entity::{base, chapter, province};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseTransaction, EntityTrait};

use super::loaders::*;
use super::mutation::{Outcome, check_version, map_write_error, mutate, now, update_base, update_chapter};
use super::tree::{Base, BaseKind, Chapter};
use super::{load, state};
use crate::audit::diff;
use crate::auth::policy::{Capability, Position, authorize};
use crate::error::{AppError, AppResult};
use crate::ids::{GlobalId, NodeKind};
use crate::input;
use crate::sql::Sql;
use crate::store::write;

const NAME_MAX: usize = 150;
const CODE_MAX: usize = 32;

#[derive(SimpleObject)]
pub struct BasePayload {
    pub base: Option<Base>,
    pub client_mutation_id: Option<String>,
}

#[derive(SimpleObject)]
pub struct ChapterPayload {
    pub chapter: Option<Chapter>,
    pub client_mutation_id: Option<String>,
}

#[derive(InputObject)]
pub struct CreateBaseInput {
    pub province_id: ID,
    /// A unique code, e.g. "QN-264".
    pub code: String,
    pub name: String,
    pub kind: BaseKind,
    pub client_mutation_id: Option<String>,
}

#[derive(InputObject)]
pub struct CreateChapterInput {
    pub base_id: ID,
    pub code: String,
    pub name: String,
    pub client_mutation_id: Option<String>,
}

#[derive(InputObject)]
pub struct RenameUnitInput {
    /// A base or a chapter.
    pub id: ID,
    pub expected_version: i32,
    pub name: String,
    pub client_mutation_id: Option<String>,
}

#[derive(InputObject)]
pub struct CloseUnitInput {
    /// A base or a chapter.
    pub id: ID,
    pub expected_version: i32,
    pub reason: String,
    pub client_mutation_id: Option<String>,
}

/// Active members at or below a unit (`column` = `base_id` or `chapter_id`).
async fn active_members(txn: &DatabaseTransaction, column: &str, id: i64) -> AppResult<i64> {
    let mut sql = Sql::new(&format!(
        "SELECT COUNT(*) FROM members WHERE status = 'ACTIVE' AND {column} = "
    ));
    sql.bind(id);
    let row = txn.query_one_raw(sql.build(txn.get_database_backend())).await?;
    Ok(row.map(|r| r.try_get_by_index::<i64>(0)).transpose()?.unwrap_or(0))
}

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

async fn base_payload(ctx: &Context<'_>, id: i64, cmid: Option<String>) -> AppResult<BasePayload> {
    Ok(BasePayload {
        base: load(ctx, BaseById(id)).await?.map(Base),
        client_mutation_id: cmid,
    })
}

async fn chapter_payload(ctx: &Context<'_>, id: i64, cmid: Option<String>) -> AppResult<ChapterPayload> {
    Ok(ChapterPayload {
        chapter: load(ctx, ChapterById(id)).await?.map(Chapter),
        client_mutation_id: cmid,
    })
}

fn name_fields(name: &str) -> (String, String) {
    (crate::text::fold(name), crate::text::sort_key(&[name]))
}

#[derive(Default)]
pub struct UnitMutation;

#[Object]
impl UnitMutation {
    /// Creates a base association in a province.
    async fn create_base(&self, ctx: &Context<'_>, input: CreateBaseInput) -> AppResult<BasePayload> {
        let province_id = GlobalId::parse_kind("input.provinceId", &input.province_id, NodeKind::Province)?;
        let code = input::code("input.code", &input.code, CODE_MAX)?;
        let name = input::text("input.name", &input.name, NAME_MAX)?;
        let cmid = input.client_mutation_id.clone();
        let (_, id) = mutate(ctx, "CREATE_BASE", cmid.as_deref(), async |txn, _| {
            let found = province::Entity::find_by_id(province_id).one(txn).await?;
            let p = found.ok_or_else(|| AppError::bad_input("input.provinceId", "no such province"))?;
            authorize(&state(ctx).viewer, Capability::ManageBases, &Position::province(p.id))?;
            let created = write::insert_base(txn, p.id, &code, &name, input.kind.into())
                .await
                .map_err(map_write_error)?;
            let (before, after) = diff(None, Some(&created));
            Ok(Outcome {
                target: (NodeKind::Base, created.id),
                position: Position::base(&created),
                before,
                after,
                reason: None,
            })
        })
        .await?;
        base_payload(ctx, id, cmid).await
    }

    /// Creates a chapter in a base.
    async fn create_chapter(&self, ctx: &Context<'_>, input: CreateChapterInput) -> AppResult<ChapterPayload> {
        let base_id = GlobalId::parse_kind("input.baseId", &input.base_id, NodeKind::Base)?;
        let code = input::code("input.code", &input.code, CODE_MAX)?;
        let name = input::text("input.name", &input.name, NAME_MAX)?;
        let cmid = input.client_mutation_id.clone();
        let (_, id) = mutate(ctx, "CREATE_CHAPTER", cmid.as_deref(), async |txn, _| {
            let b = find_base(txn, "input.baseId", base_id).await?;
            authorize(&state(ctx).viewer, Capability::ManageChapters, &Position::base(&b))?;
            if b.closed_at.is_some() {
                return Err(AppError::bad_input("input.baseId", "the base is closed"));
            }
            let created = write::insert_chapter(txn, &b, &code, &name)
                .await
                .map_err(map_write_error)?;
            let (before, after) = diff(None, Some(&created));
            Ok(Outcome {
                target: (NodeKind::Chapter, created.id),
                position: Position::chapter(&created),
                before,
                after,
                reason: None,
            })
        })
        .await?;
        chapter_payload(ctx, id, cmid).await
    }

    /// Renames a base (province officials and admins).
    async fn rename_base(&self, ctx: &Context<'_>, input: RenameUnitInput) -> AppResult<BasePayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Base)?;
        let name = input::text("input.name", &input.name, NAME_MAX)?;
        let cmid = input.client_mutation_id.clone();
        let (_, id) = mutate(ctx, "RENAME_BASE", cmid.as_deref(), async |txn, _| {
            let current = find_base(txn, "input.id", id).await?;
            authorize(&state(ctx).viewer, Capability::ManageBases, &Position::base(&current))?;
            check_version("base", current.version, input.expected_version)?;
            let (search, sort) = name_fields(&name);
            let changes = base::ActiveModel {
                name: Set(name.clone()),
                name_search: Set(search),
                sort_key: Set(sort),
                ..Default::default()
            };
            let updated = update_base(txn, id, input.expected_version, changes).await?;
            let (before, after) = diff(Some(&current), Some(&updated));
            Ok(Outcome {
                target: (NodeKind::Base, id),
                position: Position::base(&updated),
                before,
                after,
                reason: None,
            })
        })
        .await?;
        base_payload(ctx, id, cmid).await
    }

    /// Renames a chapter.
    async fn rename_chapter(&self, ctx: &Context<'_>, input: RenameUnitInput) -> AppResult<ChapterPayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Chapter)?;
        let name = input::text("input.name", &input.name, NAME_MAX)?;
        let cmid = input.client_mutation_id.clone();
        let (_, id) = mutate(ctx, "RENAME_CHAPTER", cmid.as_deref(), async |txn, _| {
            let current = find_chapter(txn, "input.id", id).await?;
            authorize(
                &state(ctx).viewer,
                Capability::ManageChapters,
                &Position::chapter(&current),
            )?;
            check_version("chapter", current.version, input.expected_version)?;
            let (search, sort) = name_fields(&name);
            let changes = chapter::ActiveModel {
                name: Set(name.clone()),
                name_search: Set(search),
                sort_key: Set(sort),
                ..Default::default()
            };
            let updated = update_chapter(txn, id, input.expected_version, changes).await?;
            let (before, after) = diff(Some(&current), Some(&updated));
            Ok(Outcome {
                target: (NodeKind::Chapter, id),
                position: Position::chapter(&updated),
                before,
                after,
                reason: None,
            })
        })
        .await?;
        chapter_payload(ctx, id, cmid).await
    }

    /// Closes a base that has no active members; its open chapters close with it. Nothing is deleted.
    async fn close_base(&self, ctx: &Context<'_>, input: CloseUnitInput) -> AppResult<BasePayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Base)?;
        let reason = input::long_text("input.reason", &input.reason, 1000)?;
        let cmid = input.client_mutation_id.clone();
        let (_, id) = mutate(ctx, "CLOSE_BASE", cmid.as_deref(), async |txn, _| {
            let current = find_base(txn, "input.id", id).await?;
            authorize(&state(ctx).viewer, Capability::ManageBases, &Position::base(&current))?;
            check_version("base", current.version, input.expected_version)?;
            if current.closed_at.is_some() {
                return Err(AppError::Conflict("the base is already closed".into()));
            }
            let active = active_members(txn, "base_id", id).await?;
            if active > 0 {
                return Err(AppError::Conflict(format!(
                    "the base still has {active} active members; move or transfer them first"
                )));
            }
            let at = now();
            let mut close_chapters = Sql::new("UPDATE chapters SET closed_at = ");
            close_chapters
                .bind(at)
                .push(", version = version + 1 WHERE closed_at IS NULL AND base_id = ")
                .bind(id);
            txn.execute_raw(close_chapters.build(txn.get_database_backend()))
                .await?;
            let changes = base::ActiveModel {
                closed_at: Set(Some(at)),
                ..Default::default()
            };
            let updated = update_base(txn, id, input.expected_version, changes).await?;
            let (before, after) = diff(Some(&current), Some(&updated));
            Ok(Outcome {
                target: (NodeKind::Base, id),
                position: Position::base(&updated),
                before,
                after,
                reason: Some(reason.clone()),
            })
        })
        .await?;
        base_payload(ctx, id, cmid).await
    }

    /// Closes a chapter that has no active members. Nothing is deleted.
    async fn close_chapter(&self, ctx: &Context<'_>, input: CloseUnitInput) -> AppResult<ChapterPayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Chapter)?;
        let reason = input::long_text("input.reason", &input.reason, 1000)?;
        let cmid = input.client_mutation_id.clone();
        let (_, id) = mutate(ctx, "CLOSE_CHAPTER", cmid.as_deref(), async |txn, _| {
            let current = find_chapter(txn, "input.id", id).await?;
            authorize(
                &state(ctx).viewer,
                Capability::ManageChapters,
                &Position::chapter(&current),
            )?;
            check_version("chapter", current.version, input.expected_version)?;
            if current.closed_at.is_some() {
                return Err(AppError::Conflict("the chapter is already closed".into()));
            }
            let active = active_members(txn, "chapter_id", id).await?;
            if active > 0 {
                return Err(AppError::Conflict(format!(
                    "the chapter still has {active} active members; move them first"
                )));
            }
            let changes = chapter::ActiveModel {
                closed_at: Set(Some(now())),
                ..Default::default()
            };
            let updated = update_chapter(txn, id, input.expected_version, changes).await?;
            let (before, after) = diff(Some(&current), Some(&updated));
            Ok(Outcome {
                target: (NodeKind::Chapter, id),
                position: Position::chapter(&updated),
                before,
                after,
                reason: Some(reason.clone()),
            })
        })
        .await?;
        chapter_payload(ctx, id, cmid).await
    }
}
