//! Provinces, bases and chapters: the public organisation tree, with pages down, links up, counts and awards.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::award::RecipientType;
use entity::base::BaseKind as DbBaseKind;

use super::award::{AwardConnection, AwardFilterInput, AwardOrder};
use super::connection::connection;
use super::loaders::*;
use super::member::{MemberConnection, MemberFilterInput, MemberOrder};
use super::{list_args, load, page_complexity, page_of, state, window};
use crate::error::{AppError, AppResult};
use crate::ids::{GlobalId, NodeKind};
use crate::store::stats::{Counts, Level};
use crate::store::tree::{self as store, UnitFilter};

/// The kind of a base association.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::base::BaseKind")]
pub enum BaseKind {
    /// Phường.
    Ward,
    /// Xã.
    Commune,
    /// Đặc khu.
    SpecialZone,
    /// Agency (cơ quan) in the agency/enterprise bloc.
    Agency,
    /// Enterprise (doanh nghiệp) in the agency/enterprise bloc.
    Enterprise,
}

/// Territorial bases (communes, wards, special zones) or the agency/enterprise bloc.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum BaseCategory {
    Territorial,
    Bloc,
}

/// Orderings of units.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnitOrder {
    /// Vietnamese alphabetical order of the name.
    #[default]
    Name,
    /// The unit code.
    Code,
}

impl UnitOrder {
    fn order(self) -> crate::store::page::Order {
        match self {
            Self::Name => store::BY_NAME,
            Self::Code => store::BY_CODE,
        }
    }
}

/// Filters for units.
#[derive(InputObject, Default, Clone)]
pub struct UnitFilterInput {
    /// Words that must all occur in the name, ignoring diacritics and case ("dong trieu" finds "Đông Triều").
    pub search: Option<String>,
    /// Include closed units (default: only open ones).
    #[graphql(default)]
    pub include_closed: bool,
    /// Bases only: keep these kinds.
    pub kinds: Option<Vec<BaseKind>>,
    /// Bases only: keep territorial bases or the bloc.
    pub category: Option<BaseCategory>,
}

/// The longest search text accepted.
pub const MAX_SEARCH_LEN: usize = 100;

/// Refuses a search that has characters but no letter or digit (`%`, `_`, `\`, punctuation): those fold away,
/// and an empty search would match everything, which is not what was asked. An empty or blank search is
/// the same as no search.
pub fn check_search_has_words(field: &str, raw: &str) -> AppResult<()> {
    if !raw.trim().is_empty() && crate::text::fold(raw).is_empty() {
        return Err(AppError::bad_input(
            field,
            "has no letter or digit to search for (punctuation and symbols are ignored)",
        ));
    }
    Ok(())
}

impl UnitFilterInput {
    /// The filter of a list of provinces or chapters: `kinds` and `category` describe bases only, and are
    /// refused by name rather than reaching a table without a `kind` column.
    pub fn parse_not_bases(self) -> AppResult<UnitFilter> {
        if self.kinds.is_some() {
            return Err(AppError::bad_input("filter.kinds", "applies to lists of bases only"));
        }
        if self.category.is_some() {
            return Err(AppError::bad_input("filter.category", "applies to lists of bases only"));
        }
        self.parse()
    }

    pub fn parse(self) -> AppResult<UnitFilter> {
        if let Some(s) = &self.search
            && s.chars().count() > MAX_SEARCH_LEN
        {
            return Err(AppError::bad_input(
                "filter.search",
                format!("at most {MAX_SEARCH_LEN} characters"),
            ));
        }
        if let Some(s) = &self.search {
            check_search_has_words("filter.search", s)?;
        }
        let mut kinds: Option<Vec<DbBaseKind>> = self.kinds.map(|ks| ks.into_iter().map(Into::into).collect());
        if let Some(category) = self.category {
            let territorial = category == BaseCategory::Territorial;
            let all = [
                DbBaseKind::Ward,
                DbBaseKind::Commune,
                DbBaseKind::SpecialZone,
                DbBaseKind::Agency,
                DbBaseKind::Enterprise,
            ];
            let in_category = all.into_iter().filter(|k| k.is_territorial() == territorial);
            kinds = Some(match kinds {
                Some(ks) => in_category.filter(|k| ks.contains(k)).collect(),
                None => in_category.collect(),
            });
        }
        Ok(UnitFilter {
            search: self.search,
            include_closed: self.include_closed,
            kinds,
            parent: None,
        })
    }
}

/// Counts of a tree node: open units and active members below it. Counts that do not apply to a level are 0.
#[derive(SimpleObject)]
pub struct Stats {
    pub base_count: i64,
    /// Bases in communes, wards and special zones.
    pub territorial_base_count: i64,
    /// Bases in the agency/enterprise bloc.
    pub bloc_base_count: i64,
    pub chapter_count: i64,
    /// Active members.
    pub member_count: i64,
    /// Active members who are veterans (CCB).
    pub veteran_count: i64,
    /// Active members who are ex-servicemen (cựu quân nhân).
    pub ex_serviceman_count: i64,
    pub female_member_count: i64,
    pub party_member_count: i64,
}

impl From<Counts> for Stats {
    fn from(c: Counts) -> Self {
        Self {
            base_count: c.bases,
            territorial_base_count: c.territorial_bases,
            bloc_base_count: c.bases - c.territorial_bases,
            chapter_count: c.chapters,
            member_count: c.members,
            veteran_count: c.veterans,
            ex_serviceman_count: c.ex_servicemen,
            female_member_count: c.women,
            party_member_count: c.party_members,
        }
    }
}

/// What provinces, bases and chapters have in common, written once: these fields are flattened into each of the
/// three objects (the type itself never appears in the schema).
///
/// The flattened field comes last in each object, after the fields that lead to the other two (`bases`,
/// `chapters`, `base`, `province`). async-graphql copies a flattened type's fields when the flattening object
/// is registered, and `awards` here leads back to all three objects (through an award's recipient): the other
/// two must already be under registration when this type is, or one of them would copy it half-registered and
/// lack these fields. The check of `schema.graphql` in CI shows it at once if that ever happens.
pub struct UnitFields<'a> {
    kind: NodeKind,
    level: Level,
    id: i64,
    code: &'a str,
    name: &'a str,
    closed_at: Option<DateTime<Utc>>,
    version: i32,
}

impl UnitFields<'_> {
    fn global_id(&self) -> String {
        GlobalId::new(self.kind, self.id).encode()
    }
}

#[Object]
impl UnitFields<'_> {
    /// Changes to this record, newest first (authenticated viewers only).
    #[graphql(complexity = "page_complexity(child_complexity, first, None)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<super::history::AuditEventConnection> {
        super::history::history(ctx, (self.kind, self.id), false, first, after).await
    }
    async fn id(&self) -> ID {
        self.global_id().into()
    }
    async fn code(&self) -> &str {
        self.code
    }
    async fn name(&self) -> &str {
        self.name
    }
    /// Set when the unit was closed or merged; its history stays.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.closed_at
    }
    /// The record's version; pass it back with a rename or close so a stale edit is refused.
    async fn version(&self) -> i32 {
        self.version
    }
    async fn stats(&self, ctx: &Context<'_>) -> AppResult<Stats> {
        Ok(load(ctx, StatsOf(self.level, self.id))
            .await?
            .unwrap_or_default()
            .into())
    }
    /// The year-end statistics of this unit (officials of this unit or above).
    async fn year_end_statistics(
        &self,
        ctx: &Context<'_>,
        year: i32,
    ) -> AppResult<super::statistics::YearEndStatistics> {
        super::statistics::year_end_of(ctx, &self.global_id(), year).await
    }
    /// Awards to the unit itself, or with `includeDescendants` to anything inside it (its units and members).
    #[graphql(complexity = "page_complexity(child_complexity, first, last)")]
    async fn awards(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] include_descendants: bool,
        filter: Option<AwardFilterInput>,
        #[graphql(default)] order_by: AwardOrder,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<AwardConnection> {
        let filter = filter.unwrap_or_default().parse()?;
        let args = list_args(ctx, filter, order_by.order(), first, after, last, before)?;
        let recipient = match self.level {
            Level::Province => RecipientType::Province,
            Level::Base => RecipientType::Base,
            Level::Chapter => RecipientType::Chapter,
        };
        Ok(AwardConnection(if include_descendants {
            page_of(ctx, AwardsWithin(self.level, self.id, args)).await?
        } else {
            page_of(ctx, AwardsReceived(recipient, self.id, args)).await?
        }))
    }
}

/// A unit object over its model: [`UnitFields`] over the model, and the `id` the `Node` interface asks for.
macro_rules! unit_object {
    ($object:ident, $model:ty, $kind:expr, $level:expr) => {
        impl From<$model> for $object {
            fn from(m: $model) -> Self {
                Self(m)
            }
        }

        impl $object {
            fn fields(&self) -> UnitFields<'_> {
                UnitFields {
                    kind: $kind,
                    level: $level,
                    id: self.0.id,
                    code: &self.0.code,
                    name: &self.0.name,
                    closed_at: self.0.closed_at,
                    version: self.0.version,
                }
            }

            /// The global id (what the `Node` interface resolves).
            pub async fn id(&self, _ctx: &Context<'_>) -> async_graphql::Result<ID> {
                Ok(self.fields().global_id().into())
            }

            /// The value of a leaf every unit has (`id`, `code`, `name`, `version`) of unit `m`, exactly as
            /// its resolver answers it.
            pub(crate) fn unit_leaf(m: &$model, name: &str) -> Option<async_graphql::Value> {
                use async_graphql::Value;
                Some(match name {
                    "id" => Value::String(GlobalId::new($kind, m.id).encode()),
                    "code" => Value::String(m.code.clone()),
                    "name" => Value::String(m.name.clone()),
                    "version" => Value::from(m.version),
                    _ => return None,
                })
            }
        }
    };
}

/// A province association (Hội CCB tỉnh).
pub struct Province(pub entity::province::Model);

unit_object!(Province, entity::province::Model, NodeKind::Province, Level::Province);

#[Object]
impl Province {
    /// The base associations of the province.
    #[graphql(complexity = "page_complexity(child_complexity, first, last)")]
    async fn bases(
        &self,
        ctx: &Context<'_>,
        filter: Option<UnitFilterInput>,
        #[graphql(default)] order_by: UnitOrder,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<BaseConnection> {
        let filter = filter.unwrap_or_default().parse()?;
        let args = list_args(ctx, filter, order_by.order(), first, after, last, before)?;
        Ok(BaseConnection(page_of(ctx, BasesOf(self.0.id, args)).await?))
    }
    /// The fields every unit has ([`UnitFields`]); last, see there.
    #[graphql(flatten)]
    async fn unit(&self) -> UnitFields<'_> {
        self.fields()
    }
}

/// A base association (cơ sở hội).
pub struct Base(pub entity::base::Model);

unit_object!(Base, entity::base::Model, NodeKind::Base, Level::Base);

#[Object]
impl Base {
    async fn kind(&self) -> BaseKind {
        self.0.kind.into()
    }
    async fn category(&self) -> BaseCategory {
        BaseCategory::of(self.0.kind)
    }
    async fn province(&self, ctx: &Context<'_>) -> AppResult<Province> {
        load(ctx, ProvinceById(self.0.province_id))
            .await?
            .map(Province)
            .ok_or_else(|| AppError::Internal(format!("base {} has no province", self.0.id)))
    }
    /// The chapters of the base.
    #[graphql(complexity = "page_complexity(child_complexity, first, last)")]
    async fn chapters(
        &self,
        ctx: &Context<'_>,
        filter: Option<UnitFilterInput>,
        #[graphql(default)] order_by: UnitOrder,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<ChapterConnection> {
        let filter = filter.unwrap_or_default().parse_not_bases()?;
        let args = list_args(ctx, filter, order_by.order(), first, after, last, before)?;
        Ok(ChapterConnection(page_of(ctx, ChaptersOf(self.0.id, args)).await?))
    }
    /// Members of all chapters of the base, within the viewer's scope.
    #[graphql(complexity = "page_complexity(child_complexity, first, last)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        filter: Option<MemberFilterInput>,
        order_by: Option<MemberOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<MemberConnection> {
        let mut filter = filter.unwrap_or_default().parse()?;
        filter.columns = super::member::page_columns(ctx);
        let order = MemberOrder::resolve(order_by, &filter);
        let args = list_args(ctx, filter, order, first, after, last, before)?;
        Ok(MemberConnection(page_of(ctx, MembersOfBase(self.0.id, args)).await?))
    }
    /// The fields every unit has ([`UnitFields`]); last, see there.
    #[graphql(flatten)]
    async fn unit(&self) -> UnitFields<'_> {
        self.fields()
    }
}

/// A chapter (chi hội).
pub struct Chapter(pub entity::chapter::Model);

unit_object!(Chapter, entity::chapter::Model, NodeKind::Chapter, Level::Chapter);

#[Object]
impl Chapter {
    async fn base(&self, ctx: &Context<'_>) -> AppResult<Base> {
        load(ctx, BaseById(self.0.base_id))
            .await?
            .map(Base)
            .ok_or_else(|| AppError::Internal(format!("chapter {} has no base", self.0.id)))
    }
    async fn province(&self, ctx: &Context<'_>) -> AppResult<Province> {
        load(ctx, ProvinceById(self.0.province_id))
            .await?
            .map(Province)
            .ok_or_else(|| AppError::Internal(format!("chapter {} has no province", self.0.id)))
    }
    /// The chapter's members, within the viewer's scope.
    #[graphql(complexity = "page_complexity(child_complexity, first, last)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        filter: Option<MemberFilterInput>,
        order_by: Option<MemberOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<MemberConnection> {
        let mut filter = filter.unwrap_or_default().parse()?;
        filter.columns = super::member::page_columns(ctx);
        let order = MemberOrder::resolve(order_by, &filter);
        let args = list_args(ctx, filter, order, first, after, last, before)?;
        Ok(MemberConnection(page_of(ctx, MembersOfChapter(self.0.id, args)).await?))
    }
    /// The fields every unit has ([`UnitFields`]); last, see there.
    #[graphql(flatten)]
    async fn unit(&self) -> UnitFields<'_> {
        self.fields()
    }
}

connection!(
    ProvinceConnection,
    ProvinceEdge,
    Province,
    entity::province::Model,
    "provinces"
);
connection!(BaseConnection, BaseEdge, Base, entity::base::Model, "base associations");
connection!(
    ChapterConnection,
    ChapterEdge,
    Chapter,
    entity::chapter::Model,
    "chapters"
);

#[derive(Default)]
pub struct TreeQuery;

#[Object]
impl TreeQuery {
    /// The province associations.
    #[graphql(complexity = "page_complexity(child_complexity, first, last)")]
    async fn provinces(
        &self,
        ctx: &Context<'_>,
        filter: Option<UnitFilterInput>,
        #[graphql(default)] order_by: UnitOrder,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<ProvinceConnection> {
        let order = order_by.order();
        let w = window(&order, first, after, last, before)?;
        let query = store::provinces(&filter.unwrap_or_default().parse_not_bases()?, order);
        Ok(ProvinceConnection(
            query.page(&state(ctx).db, &w, super::wants_total(ctx)).await?,
        ))
    }

    /// Base associations across the tree, optionally of one province.
    #[graphql(complexity = "page_complexity(child_complexity, first, last)")]
    async fn bases(
        &self,
        ctx: &Context<'_>,
        province_id: Option<ID>,
        filter: Option<UnitFilterInput>,
        #[graphql(default)] order_by: UnitOrder,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<BaseConnection> {
        let order = order_by.order();
        let w = window(&order, first, after, last, before)?;
        let mut unit_filter = filter.unwrap_or_default().parse()?;
        unit_filter.parent =
            super::opt_id("provinceId", province_id.as_ref(), NodeKind::Province)?.map(|id| (Level::Province, id));
        Ok(BaseConnection(
            store::bases(&unit_filter, order)
                .page(&state(ctx).db, &w, super::wants_total(ctx))
                .await?,
        ))
    }

    /// Chapters across the tree, optionally of one base.
    #[graphql(complexity = "page_complexity(child_complexity, first, last)")]
    async fn chapters(
        &self,
        ctx: &Context<'_>,
        base_id: Option<ID>,
        filter: Option<UnitFilterInput>,
        #[graphql(default)] order_by: UnitOrder,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<ChapterConnection> {
        let order = order_by.order();
        let w = window(&order, first, after, last, before)?;
        let mut unit_filter = filter.unwrap_or_default().parse_not_bases()?;
        unit_filter.parent = super::opt_id("baseId", base_id.as_ref(), NodeKind::Base)?.map(|id| (Level::Base, id));
        Ok(ChapterConnection(
            store::chapters(&unit_filter, order)
                .page(&state(ctx).db, &w, super::wants_total(ctx))
                .await?,
        ))
    }
}

impl crate::graphql::connection::Prefetch for Province {
    type Row = entity::province::Model;
}

impl BaseCategory {
    fn of(kind: DbBaseKind) -> Self {
        if kind.is_territorial() {
            BaseCategory::Territorial
        } else {
            BaseCategory::Bloc
        }
    }
}

impl Base {
    /// [`Base::unit_leaf`], and the base's own leaves (`kind`, `category`).
    pub(crate) fn base_leaf(m: &entity::base::Model, name: &str) -> Option<async_graphql::Value> {
        use async_graphql::InputType;
        match name {
            "kind" => Some(BaseKind::from(m.kind).to_value()),
            "category" => Some(BaseCategory::of(m.kind).to_value()),
            name => Self::unit_leaf(m, name),
        }
    }
}

impl crate::graphql::connection::Prefetch for Base {
    type Row = entity::base::Model;

    async fn prefetch(
        ctx: &Context<'_>,
        rows: &[Self::Row],
        selection: &async_graphql::Lookahead<'_>,
    ) -> AppResult<()> {
        if selection.field("province").exists() {
            warm(ctx, rows.iter().map(|b| ProvinceById(b.province_id))).await?;
        }
        Ok(())
    }
}

impl crate::graphql::connection::Prefetch for Chapter {
    type Row = entity::chapter::Model;

    async fn prefetch(
        ctx: &Context<'_>,
        rows: &[Self::Row],
        selection: &async_graphql::Lookahead<'_>,
    ) -> AppResult<()> {
        let base = selection.field("base");
        let bases = if base.exists() {
            rows.iter().map(|c| c.base_id).collect()
        } else {
            Vec::new()
        };
        let provinces = if selection.field("province").exists() || base.field("province").exists() {
            rows.iter().map(|c| c.province_id).collect()
        } else {
            Vec::new()
        };
        warm_units(ctx, Vec::new(), bases, provinces).await
    }
}
