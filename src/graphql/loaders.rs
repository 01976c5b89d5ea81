//! Per-request batch loaders. Each is built for one request with that viewer's scope, so its cache can never
//! carry one viewer's rows to another; each batches by parent id, so a nested level is one statement.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use entity::award::RecipientType;
use sea_orm::DatabaseConnection;

use crate::auth::policy::ReadScope;
use crate::error::AppError;
use crate::sql::Filter;
use crate::store::awards::{self, AwardFilter};
use crate::store::history;
use crate::store::members::{self, MemberFilter};
use crate::store::page::{ListQuery, Order, Page, Row, Window};
use crate::store::stats::{self, Counts, Level};
use crate::store::tree::{self, UnitFilter};
use crate::store::{self as st};

/// What the loaders read with: the database and the viewer's read scope, copied from the request's
/// [`super::State`] when its batcher is built. Deliberately not the whole state: a loader's rows may depend on
/// the read scope and nothing else about the viewer, which is what lets the request's cache answer every
/// resolver that asks for the same key.
pub struct Store {
    pub db: DatabaseConnection,
    pub scope: ReadScope,
}

/// Arguments of a nested list, shared by all the parents that ask with the same ones.
///
/// Hashed once, when made: a list key ([`MembersOfChapter`], …) is hashed some ten times on its way through
/// the request's loader (its cache, the batch's key set, the batch's grouping by arguments, the answers), once
/// per parent, and the filter, the order and the cursors are the costly part of it (2.7 % of a tree page's
/// profile before).
#[derive(Clone, Debug)]
pub struct ListArgs<F> {
    pub filter: F,
    pub order: Order,
    pub window: Window,
    /// Whether the query selects the lists' `totalCount`.
    pub total: bool,
    hash: u64,
}

impl<F: Hash> ListArgs<F> {
    pub fn new(filter: F, order: Order, window: Window, total: bool) -> Self {
        let mut hasher = std::hash::DefaultHasher::new();
        (&filter, &order, &window, total).hash(&mut hasher);
        Self {
            hash: hasher.finish(),
            filter,
            order,
            window,
            total,
        }
    }
}

impl<F: PartialEq> PartialEq for ListArgs<F> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
            && self.total == other.total
            && self.window == other.window
            && self.order == other.order
            && self.filter == other.filter
    }
}

impl<F: Eq> Eq for ListArgs<F> {}

impl<F> Hash for ListArgs<F> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

macro_rules! by_id_key {
    ($key:ident, $entity:ident, |$scope:ident| $filter:expr) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $key(pub i64);

        impl Loader<$key> for Store {
            type Value = entity::$entity::Model;
            type Error = AppError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, entity::$entity::Model>, AppError> {
                let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
                let $scope = &self.scope;
                let rows = st::by_ids::<entity::$entity::Entity>(&self.db, &ids, $filter).await?;
                Ok(rows.into_iter().map(|m| ($key(m.id), m)).collect())
            }
        }
    };
}

by_id_key!(ProvinceById, province, |_s| Filter::default());
by_id_key!(BaseById, base, |_s| Filter::default());
by_id_key!(ChapterById, chapter, |_s| Filter::default());
by_id_key!(AwardById, award, |_s| Filter::default());
by_id_key!(MemberById, member, |s| {
    let mut f = Filter::default();
    if let Some(cond) = s.members.members_condition() {
        f.and(cond);
    }
    f
});

/// A member whose columns other than those of [`members::Columns::Names`] may be empty: what an award page
/// whose member recipients select only fields read from those columns brings with its statement
/// (`graphql::award`). A key of its own, so that a resolver wanting the whole member (`MemberById`) never gets
/// one of these from the request's cache. Loaded, if ever, with every column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemberNamesById(pub i64);

impl Loader<MemberNamesById> for Store {
    type Value = entity::member::Model;
    type Error = AppError;

    async fn load(&self, keys: &[MemberNamesById]) -> Result<HashMap<MemberNamesById, Self::Value>, AppError> {
        let keys: Vec<MemberById> = keys.iter().map(|k| MemberById(k.0)).collect();
        let rows = <Self as Loader<MemberById>>::load(self, &keys).await?;
        Ok(rows.into_iter().map(|(k, m)| (MemberNamesById(k.0), m)).collect())
    }
}

/// Counts of one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StatsOf(pub Level, pub i64);

impl Loader<StatsOf> for Store {
    type Value = Counts;
    type Error = AppError;

    async fn load(&self, keys: &[StatsOf]) -> Result<HashMap<StatsOf, Counts>, AppError> {
        let mut out = HashMap::new();
        for level in [Level::Province, Level::Base, Level::Chapter] {
            let ids: Vec<i64> = keys.iter().filter(|k| k.0 == level).map(|k| k.1).collect();
            if ids.is_empty() {
                continue;
            }
            for (id, counts) in stats::counts(&self.db, level, &ids).await? {
                out.insert(StatsOf(level, id), counts);
            }
        }
        Ok(out)
    }
}

/// Loads the pages of many parents, one statement per distinct set of list arguments.
async fn child_pages<K, F, M>(
    keys: &[K],
    db: &DatabaseConnection,
    parent_column: &'static str,
    split: impl Fn(&K) -> (i64, &Arc<ListArgs<F>>),
    query: impl Fn(&ListArgs<F>) -> ListQuery,
) -> Result<HashMap<K, Page<M>>, AppError>
where
    K: Clone + Eq + Hash,
    F: Eq + Hash,
    M: Row,
{
    let mut groups: HashMap<&Arc<ListArgs<F>>, Vec<i64>> = HashMap::new();
    for key in keys {
        let (parent, args) = split(key);
        groups.entry(args).or_default().push(parent);
    }
    let mut pages: HashMap<(i64, &Arc<ListArgs<F>>), Page<M>> = HashMap::new();
    for (args, parents) in groups {
        let found = query(args)
            .pages_by_parent::<M>(db, parent_column, &parents, &args.window, args.total)
            .await?;
        for (parent, page) in found {
            pages.insert((parent, args), page);
        }
    }
    Ok(keys
        .iter()
        .filter_map(|k| {
            let (parent, args) = split(k);
            pages.remove(&(parent, args)).map(|p| (k.clone(), p))
        })
        .collect())
}

macro_rules! child_key {
    ($key:ident, $filter:ty, $model:ty, $column:expr, |$store:ident, $args:ident| $query:expr) => {
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub struct $key(pub i64, pub Arc<ListArgs<$filter>>);

        impl Loader<$key> for Store {
            type Value = Page<$model>;
            type Error = AppError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Page<$model>>, AppError> {
                let $store = self;
                child_pages(keys, &self.db, $column, |k| (k.0, &k.1), |$args| $query).await
            }
        }
    };
}

child_key!(
    BasesOf,
    UnitFilter,
    entity::base::Model,
    Level::Province.column(),
    |_s, a| { tree::bases(&a.filter, a.order) }
);
child_key!(
    ChaptersOf,
    UnitFilter,
    entity::chapter::Model,
    Level::Base.column(),
    |_s, a| { tree::chapters(&a.filter, a.order) }
);
child_key!(
    MembersOfChapter,
    MemberFilter,
    members::Listed,
    Level::Chapter.column(),
    |s, a| { members::list(&a.filter, &s.scope.members, a.order, s.db.get_database_backend()) }
);
child_key!(
    MembersOfBase,
    MemberFilter,
    members::Listed,
    Level::Base.column(),
    |s, a| { members::list(&a.filter, &s.scope.members, a.order, s.db.get_database_backend()) }
);

/// Awards received by a node itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AwardsReceived(pub RecipientType, pub i64, pub Arc<ListArgs<AwardFilter>>);

impl Loader<AwardsReceived> for Store {
    type Value = Page<entity::award::Model>;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[AwardsReceived],
    ) -> Result<HashMap<AwardsReceived, Page<entity::award::Model>>, AppError> {
        let mut out = HashMap::new();
        for kind in [
            RecipientType::Province,
            RecipientType::Base,
            RecipientType::Chapter,
            RecipientType::Member,
        ] {
            let of_kind: Vec<(i64, Arc<ListArgs<AwardFilter>>)> = keys
                .iter()
                .filter(|k| k.0 == kind)
                .map(|k| (k.1, k.2.clone()))
                .collect();
            if of_kind.is_empty() {
                continue;
            }
            let pages = child_pages(
                &of_kind,
                &self.db,
                awards::recipient_column(),
                |k| (k.0, &k.1),
                |a| awards::received_by(kind, &a.filter, a.order),
            )
            .await?;
            out.extend(
                pages
                    .into_iter()
                    .map(|((id, args), page)| (AwardsReceived(kind, id, args), page)),
            );
        }
        Ok(out)
    }
}

/// Awards to anything in a unit's subtree (the unit included): partitioned by the ancestor column.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AwardsWithin(pub Level, pub i64, pub Arc<ListArgs<AwardFilter>>);

impl Loader<AwardsWithin> for Store {
    type Value = Page<entity::award::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[AwardsWithin]) -> Result<HashMap<AwardsWithin, Page<entity::award::Model>>, AppError> {
        let mut out = HashMap::new();
        for level in [Level::Province, Level::Base, Level::Chapter] {
            let of_level: Vec<(i64, Arc<ListArgs<AwardFilter>>)> = keys
                .iter()
                .filter(|k| k.0 == level)
                .map(|k| (k.1, k.2.clone()))
                .collect();
            if of_level.is_empty() {
                continue;
            }
            let pages = child_pages(
                &of_level,
                &self.db,
                level.column(),
                |k| (k.0, &k.1),
                |a| awards::list(&a.filter, a.order),
            )
            .await?;
            out.extend(
                pages
                    .into_iter()
                    .map(|((id, args), page)| (AwardsWithin(level, id, args), page)),
            );
        }
        Ok(out)
    }
}

/// The audit trail of one record, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HistoryOf(pub crate::ids::NodeKind, pub i64, pub Arc<ListArgs<()>>);

pub use crate::store::history::ORDER as HISTORY_ORDER;

impl Loader<HistoryOf> for Store {
    type Value = Page<entity::audit_event::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[HistoryOf]) -> Result<HashMap<HistoryOf, Page<entity::audit_event::Model>>, AppError> {
        let mut kinds: Vec<crate::ids::NodeKind> = keys.iter().map(|k| k.0).collect();
        kinds.dedup();
        let mut out = HashMap::new();
        for kind in kinds {
            let of_kind: Vec<(i64, Arc<ListArgs<()>>)> = keys
                .iter()
                .filter(|k| k.0 == kind)
                .map(|k| (k.1, k.2.clone()))
                .collect();
            let pages = child_pages(
                &of_kind,
                &self.db,
                history::record_column(),
                |k| (k.0, &k.1),
                |a| history::of_kind(kind, a.order),
            )
            .await?;
            out.extend(
                pages
                    .into_iter()
                    .map(|((id, args), page)| (HistoryOf(kind, id, args), page)),
            );
        }
        Ok(out)
    }
}

by_id_key!(TransferById, transfer, |_s| Filter::default());

/// The pending transfer of a member, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PendingTransferOf(pub i64);

impl Loader<PendingTransferOf> for Store {
    type Value = entity::transfer::Model;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[PendingTransferOf],
    ) -> Result<HashMap<PendingTransferOf, entity::transfer::Model>, AppError> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = crate::store::transfers::pending_of(&self.db, &ids).await?;
        Ok(rows.into_iter().map(|t| (PendingTransferOf(t.member_id), t)).collect())
    }
}

/// Loads the given keys in one batch into the request's loader cache.
pub async fn warm<K>(ctx: &async_graphql::Context<'_>, keys: impl IntoIterator<Item = K>) -> Result<(), AppError>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    Store: Loader<K, Error = AppError>,
{
    let keys: std::collections::HashSet<K> = keys.into_iter().collect();
    if !keys.is_empty() {
        super::state(ctx).loader.load_many(keys).await?;
    }
    Ok(())
}

/// Warms the units above a set of rows: chapters, bases and provinces, each only if `selection` asks for it.
pub async fn warm_units(
    ctx: &async_graphql::Context<'_>,
    chapters: Vec<i64>,
    bases: Vec<i64>,
    provinces: Vec<i64>,
) -> Result<(), AppError> {
    let (a, b, c) = async_graphql::futures_util::future::join3(
        warm(ctx, chapters.into_iter().map(ChapterById)),
        warm(ctx, bases.into_iter().map(BaseById)),
        warm(ctx, provinces.into_iter().map(ProvinceById)),
    )
    .await;
    a.and(b).and(c)
}

/// Loads chapters with their bases and provinces (as asked) in one statement, into the request's cache; chapters
/// the cache already holds with the units asked for (brought joined to their members, say) are not read again.
pub async fn warm_chapters_with_units(
    ctx: &async_graphql::Context<'_>,
    ids: &[i64],
    bases: bool,
    provinces: bool,
) -> Result<(), AppError> {
    let state = super::state(ctx);
    let loader = &state.loader;
    let complete = |id: i64| {
        loader.cached(&ChapterById(id)).is_some_and(|c| {
            (!bases || loader.cached(&BaseById(c.base_id)).is_some())
                && (!provinces || loader.cached(&ProvinceById(c.province_id)).is_some())
        })
    };
    let mut ids: Vec<i64> = ids.iter().copied().filter(|id| !complete(*id)).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(());
    }
    let rows = crate::store::tree::chapters_with_units(&state.db, &ids, bases, provinces).await?;
    let mut units = JoinedUnits::default();
    for row in rows {
        units.add(Some(row.chapter), row.base, row.province);
    }
    units.feed(&state.loader);
    Ok(())
}

/// Units that came joined to other rows, on their way into the request's cache.
#[derive(Default)]
struct JoinedUnits {
    chapters: Vec<(ChapterById, entity::chapter::Model)>,
    bases: Vec<(BaseById, entity::base::Model)>,
    provinces: Vec<(ProvinceById, entity::province::Model)>,
}

impl JoinedUnits {
    fn add(
        &mut self,
        chapter: Option<entity::chapter::Model>,
        base: Option<entity::base::Model>,
        province: Option<entity::province::Model>,
    ) {
        self.chapters.extend(chapter.map(|c| (ChapterById(c.id), c)));
        self.bases.extend(base.map(|b| (BaseById(b.id), b)));
        self.provinces.extend(province.map(|p| (ProvinceById(p.id), p)));
    }

    fn feed(self, loader: &super::batch::Batcher) {
        loader.feed_many(self.chapters);
        loader.feed_many(self.bases);
        loader.feed_many(self.provinces);
    }
}

/// Loads one member with the units above it that `selection` asks for and the member's page of awards
/// `awards` (the key its `awards` field will ask for), into the request's cache: one statement on PostgreSQL
/// ([`members::by_id_with_units_and_page`]), the member's statement and the page's side by side elsewhere. A
/// member outside the viewer's scope brings nothing, its page included.
pub async fn warm_member_with_awards(
    ctx: &async_graphql::Context<'_>,
    id: i64,
    selection: &async_graphql::Lookahead<'_>,
    awards: AwardsReceived,
) -> Result<(), AppError> {
    let state = super::state(ctx);
    if state.db.get_database_backend() != sea_orm::DbBackend::Postgres {
        let (member, page) = async_graphql::futures_util::future::join(
            warm_members_with_units(ctx, &[id], selection),
            super::page_of(ctx, awards),
        )
        .await;
        member?;
        return page.map(|_| ());
    }
    let units = member_units(selection);
    let args = &awards.2;
    let list = awards::received_by(awards.0, &args.filter, args.order);
    let found = members::by_id_with_units_and_page::<entity::award::Model>(
        &state.db,
        &state.scope.members,
        id,
        units,
        &list,
        awards::recipient_column(),
        &args.window,
        args.total,
    )
    .await?;
    match found {
        Some((row, page)) => {
            let mut joined = JoinedUnits::default();
            joined.add(row.chapter, row.base, row.province);
            joined.feed(&state.loader);
            state.loader.feed_many([(MemberById(row.member.id), row.member)]);
            state.loader.feed_many([(awards, page)]);
        }
        // No such member in the viewer's scope: the node is `null` without another look.
        None => state.loader.feed_absent([MemberById(id)]),
    }
    Ok(())
}

/// The units above a member that `selection` (on a member) reaches: its chapter, base and province.
pub fn member_units(selection: &async_graphql::Lookahead<'_>) -> members::Units {
    let chapter = selection.field("chapter");
    let base = selection.field("base");
    members::Units {
        chapter: chapter.exists(),
        base: base.exists() || chapter.field("base").exists(),
        province: chapter.field("province").exists()
            || chapter.field("base").field("province").exists()
            || base.field("province").exists(),
    }
}

/// Loads members by id together with the units above them that `selection` asks for, in one statement, into
/// the request's cache; does nothing when the selection asks for no unit (the member loader then suffices).
pub async fn warm_members_with_units(
    ctx: &async_graphql::Context<'_>,
    ids: &[i64],
    selection: &async_graphql::Lookahead<'_>,
) -> Result<(), AppError> {
    let units = member_units(selection);
    if !units.any() || ids.is_empty() {
        return Ok(());
    }
    let state = super::state(ctx);
    let rows = members::by_ids_with_units(&state.db, &state.scope.members, ids, units).await?;
    let mut joined = JoinedUnits::default();
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        joined.add(row.chapter, row.base, row.province);
        found.push((MemberById(row.member.id), row.member));
    }
    joined.feed(&state.loader);
    // Read under the same scope as the member loader's: an id not found is missing for this request.
    let brought: std::collections::HashSet<i64> = found.iter().map(|(key, _)| key.0).collect();
    let missing = ids.iter().filter(|id| !brought.contains(id)).map(|id| MemberById(*id));
    state.loader.feed_absent(missing);
    state.loader.feed_many(found);
    Ok(())
}
