//! Unit mutations over GraphQL: create, rename and close bases and chapters. Each resolver checks its input,
//! runs the unit command (`crate::domain::units`) in the mutation frame and shapes the payload.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::load;
use super::loaders::*;
use super::mutation::{actor, mutate};
use super::tree::{Base, BaseKind, Chapter};
use crate::domain::units::{self as commands, CODE_MAX, NAME_MAX, NewUnit};
use crate::error::AppResult;
use crate::ids::{GlobalId, NodeKind};
use crate::input;
use crate::store::write::Unit;

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

/// A new unit's code and name, checked.
fn new_unit(code: &str, name: &str) -> AppResult<NewUnit> {
    Ok(NewUnit {
        code: input::code("input.code", code, CODE_MAX)?,
        name: input::text("input.name", name, NAME_MAX)?,
    })
}

#[derive(Default)]
pub struct UnitMutation;

#[Object]
impl UnitMutation {
    /// Creates a base association in a province.
    async fn create_base(&self, ctx: &Context<'_>, input: CreateBaseInput) -> AppResult<BasePayload> {
        let province_id = GlobalId::parse_kind("input.provinceId", &input.province_id, NodeKind::Province)?;
        let unit = new_unit(&input.code, &input.name)?;
        let kind = input.kind.into();
        let cmid = input.client_mutation_id;
        let (_, id) = mutate(ctx, "CREATE_BASE", cmid.as_deref(), async |txn, principal| {
            commands::create_base(actor(ctx, principal), txn, province_id, unit, kind).await
        })
        .await?;
        base_payload(ctx, id, cmid).await
    }

    /// Creates a chapter in a base.
    async fn create_chapter(&self, ctx: &Context<'_>, input: CreateChapterInput) -> AppResult<ChapterPayload> {
        let base_id = GlobalId::parse_kind("input.baseId", &input.base_id, NodeKind::Base)?;
        let unit = new_unit(&input.code, &input.name)?;
        let cmid = input.client_mutation_id;
        let (_, id) = mutate(ctx, "CREATE_CHAPTER", cmid.as_deref(), async |txn, principal| {
            commands::create_chapter(actor(ctx, principal), txn, base_id, unit).await
        })
        .await?;
        chapter_payload(ctx, id, cmid).await
    }

    /// Renames a base (province officials and admins).
    async fn rename_base(&self, ctx: &Context<'_>, input: RenameUnitInput) -> AppResult<BasePayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Base)?;
        let id = rename(ctx, input, "RENAME_BASE", Unit::Base(id)).await?;
        base_payload(ctx, id.0, id.1).await
    }

    /// Renames a chapter.
    async fn rename_chapter(&self, ctx: &Context<'_>, input: RenameUnitInput) -> AppResult<ChapterPayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Chapter)?;
        let id = rename(ctx, input, "RENAME_CHAPTER", Unit::Chapter(id)).await?;
        chapter_payload(ctx, id.0, id.1).await
    }

    /// Closes a base that has no active members; its open chapters close with it. Nothing is deleted.
    async fn close_base(&self, ctx: &Context<'_>, input: CloseUnitInput) -> AppResult<BasePayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Base)?;
        let id = close(ctx, input, "CLOSE_BASE", Unit::Base(id)).await?;
        base_payload(ctx, id.0, id.1).await
    }

    /// Closes a chapter that has no active members. Nothing is deleted.
    async fn close_chapter(&self, ctx: &Context<'_>, input: CloseUnitInput) -> AppResult<ChapterPayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Chapter)?;
        let id = close(ctx, input, "CLOSE_CHAPTER", Unit::Chapter(id)).await?;
        chapter_payload(ctx, id.0, id.1).await
    }
}

/// Runs a rename; the unit's id and the client mutation id, for the payload.
async fn rename(
    ctx: &Context<'_>,
    input: RenameUnitInput,
    action: &'static str,
    unit: Unit,
) -> AppResult<(i64, Option<String>)> {
    let name = input::text("input.name", &input.name, NAME_MAX)?;
    let cmid = input.client_mutation_id;
    let (_, id) = mutate(ctx, action, cmid.as_deref(), async |txn, principal| {
        commands::rename(actor(ctx, principal), txn, unit, input.expected_version, name).await
    })
    .await?;
    Ok((id, cmid))
}

/// Runs a closing; the unit's id and the client mutation id, for the payload.
async fn close(
    ctx: &Context<'_>,
    input: CloseUnitInput,
    action: &'static str,
    unit: Unit,
) -> AppResult<(i64, Option<String>)> {
    let reason = input::long_text("input.reason", &input.reason, 1000)?;
    let cmid = input.client_mutation_id;
    let (_, id) = mutate(ctx, action, cmid.as_deref(), async |txn, principal| {
        commands::close(actor(ctx, principal), txn, unit, input.expected_version, reason).await
    })
    .await?;
    Ok((id, cmid))
}
