//! The GraphQL schema: one file per domain type, roots merged per domain. The schema is built without runtime
//! data (so `print-schema` is one call); each request brings its own [`State`] with the viewer and loaders.

pub mod account;
pub mod award;
pub mod award_mutations;
pub mod batch;
pub mod changes;
pub mod connection;
pub mod direct;
pub mod engine;
pub mod history;
pub mod limits;
pub mod loaders;
pub mod member;
pub mod member_mutations;
pub mod mutation;
pub mod node;
pub mod officials;
pub mod order;
pub mod proposals;
pub mod ratings;
pub mod scalars;
pub mod statistics;
pub mod subscription;
pub mod transfer;
pub mod tree;
pub mod unit_mutations;
pub mod validated;
pub mod viewer;

use async_graphql::{Context, MergedObject, Schema, SchemaBuilder, ValidationMode};
use sea_orm::DatabaseConnection;

use crate::auth::Viewer;
use crate::auth::policy::ReadScope;
use crate::error::{AppError, AppResult};
use crate::ids::GlobalId;
use crate::store::page::Window;
pub use engine::Engine;
use loaders::Store;

#[derive(MergedObject, Default)]
pub struct Query(
    tree::TreeQuery,
    member::MemberQuery,
    award::AwardQuery,
    node::NodeQuery,
    viewer::ViewerQuery,
    transfer::TransferQuery,
    account::AccountQuery,
    changes::ChangesQuery,
    statistics::StatisticsQuery,
    proposals::ProposalQuery,
    ratings::RatingQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    viewer::ViewerMutation,
    unit_mutations::UnitMutation,
    member_mutations::MemberMutation,
    award_mutations::AwardMutation,
    account::AccountMutation,
    officials::OfficialsMutation,
    proposals::ProposalMutation,
    ratings::RatingMutation,
);

pub type AppSchema = Schema<Query, Mutation, subscription::Subscription>;

/// Builds the schema with the default limits. Needs no database: `print-schema` calls it.
pub fn build_schema() -> AppSchema {
    build_schema_with(&limits::Limits::default())
}

/// Builds the schema with the given document limits (see [`limits`]); the HTTP server calls it with the
/// configured ones.
pub fn build_schema_with(limits: &limits::Limits) -> AppSchema {
    builder(limits).finish()
}

/// The same schema with async-graphql's fast validation, for documents strict validation has already passed and
/// requests whose variables were checked ([`validated`] says why that is the same).
pub fn build_schema_for_validated(limits: &limits::Limits) -> AppSchema {
    builder(limits).validation_mode(ValidationMode::Fast).finish()
}

fn builder(limits: &limits::Limits) -> SchemaBuilder<Query, Mutation, subscription::Subscription> {
    // No extension: what runs around execution is the [`engine::Engine`]'s (see there why).
    let mut builder = Schema::build(Query::default(), Mutation::default(), subscription::Subscription);
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    if !limits.suggestions {
        builder = builder.disable_suggestions();
    }
    builder
}

/// The SDL of the schema, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    build_schema().sdl()
}

/// What one request carries: the database, the viewer, the viewer's read scope, per-request loaders and the
/// process-wide [`crate::Services`]. Built per request (and per viewer), so nothing in it outlives the request.
pub struct State {
    pub db: DatabaseConnection,
    pub viewer: Viewer,
    pub scope: ReadScope,
    pub loader: batch::Batcher,
    pub services: crate::Services,
}

impl State {
    pub fn new(db: DatabaseConnection, viewer: Viewer, scope: ReadScope, services: crate::Services) -> Self {
        // The cache lives for one request and one viewer; mutations switch it off (see `mutation::mutate`).
        let loader = batch::Batcher::new(Store { db: db.clone(), scope });
        Self {
            db,
            viewer,
            scope,
            loader,
            services,
        }
    }
}

/// The request's state. The server attaches one to every request it executes (`server::execute`), so it is
/// always present; every HTTP test goes through that path.
pub fn state<'a>(ctx: &'a Context<'_>) -> &'a State {
    ctx.data_unchecked::<State>()
}

/// Parses `first`/`after`/`last`/`before` for `order`.
pub fn window(
    order: &crate::store::page::Order,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> AppResult<Window> {
    Window::parse(order, first, after.as_deref(), last, before.as_deref())
}

/// Whether the query selects `totalCount` of the list being resolved.
pub fn wants_total(ctx: &Context<'_>) -> bool {
    ctx.look_ahead().field("totalCount").exists()
}

/// Parses the arguments of a nested list into the key part its loader batches by; whether the query selects
/// the list's `totalCount` is part of it, so a batch counts only when asked.
pub fn list_args<F: std::hash::Hash>(
    ctx: &Context<'_>,
    filter: F,
    order: crate::store::page::Order,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> AppResult<std::sync::Arc<loaders::ListArgs<F>>> {
    let window = window(&order, first, after, last, before)?;
    let total = wants_total(ctx);
    Ok(std::sync::Arc::new(loaders::ListArgs::new(
        filter, order, window, total,
    )))
}

/// Loads one parent's page of a nested list through the request's loader.
pub async fn page_of<K, M>(ctx: &Context<'_>, key: K) -> AppResult<crate::store::page::Page<M>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    Store: async_graphql::dataloader::Loader<K, Value = crate::store::page::Page<M>, Error = AppError>,
{
    load(ctx, key)
        .await?
        .ok_or_else(|| AppError::Internal("a page went missing from its batch".into()))
}

/// Parses an optional global id argument of one kind.
pub fn opt_id(field: &str, id: Option<&async_graphql::ID>, kind: crate::ids::NodeKind) -> AppResult<Option<i64>> {
    id.map(|raw| GlobalId::parse_kind(field, raw, kind)).transpose()
}

/// Parses an optional id of a province, base, chapter or member that a listed record must lie under.
pub fn opt_under(field: &str, id: Option<&async_graphql::ID>) -> AppResult<Option<crate::store::reviews::Under>> {
    use crate::store::reviews::Under;
    use crate::store::stats::Level;
    let Some(raw) = id else { return Ok(None) };
    let id = GlobalId::parse(field, raw)?;
    Ok(Some(match (Level::of(id.kind), id.kind) {
        (Some(level), _) => Under::Unit(level, id.id),
        (None, crate::ids::NodeKind::Member) => Under::Member(id.id),
        _ => {
            return Err(AppError::bad_input(
                field,
                "must be a province, base, chapter or member",
            ));
        }
    }))
}

/// Complexity of a connection field: its page size times what each node costs.
pub fn page_complexity(child: usize, first: Option<i32>, last: Option<i32>) -> usize {
    let n = first
        .or(last)
        .unwrap_or(crate::store::page::DEFAULT_PAGE_SIZE)
        .clamp(1, 1000) as usize;
    n.saturating_mul(child).saturating_add(2)
}

/// Loads one value through the request's loader.
pub async fn load<K>(
    ctx: &Context<'_>,
    key: K,
) -> AppResult<Option<<Store as async_graphql::dataloader::Loader<K>>::Value>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    Store: async_graphql::dataloader::Loader<K, Error = AppError>,
{
    state(ctx).loader.load_one(key).await
}
