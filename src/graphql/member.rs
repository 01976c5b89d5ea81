//! Members (hội viên): the roster type, its filters and orderings, and `Query.members` across the viewer's
//! scope. Personal data resolves to `null` outside the viewer's personal-data scope; the schema is the same
//! for every role.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::award::RecipientType;

use super::award::{AwardConnection, AwardFilterInput, AwardOrder};
use super::connection::connection;
use super::loaders::*;
use super::scalars::Date;
use super::tree::{Base, Chapter, MAX_SEARCH_LEN};
use super::{list_args, load, opt_id, page_complexity, page_of, state, window};
use crate::error::{AppError, AppResult};
use crate::ids::{GlobalId, NodeKind};
use crate::store::members::{self as store, MAX_SEARCH_WORDS, MemberFilter};
use crate::store::page::{Bounded, Count};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::member::Sex")]
pub enum Sex {
    Male,
    Female,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::member::MemberType")]
pub enum MemberType {
    /// Cựu chiến binh.
    Veteran,
    /// Cựu quân nhân.
    ExServiceman,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::member::MemberStatus")]
pub enum MemberStatus {
    Active,
    /// Transferred to a base association outside this registry's tree, or released and not yet accepted.
    TransferredOut,
    Deceased,
    /// Removed from the association.
    Removed,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::member::WarInvalid")]
pub enum WarInvalidStatus {
    None,
    /// Thương binh.
    WarInvalid,
    /// Bệnh binh.
    SickSoldier,
}

/// Orderings of members. Without `orderBy`, a search is in `BEST_MATCH` order and any other list in `NAME`
/// order.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum MemberOrder {
    /// Vietnamese roster order: given name, then family name, then middle name ("Đ" after every "D").
    #[default]
    Name,
    NameDesc,
    /// Order of registration.
    Id,
    IdDesc,
    /// For a search: first the members whose name holds every search word as a whole word ("an" finds "An"
    /// before "Anh"), then the rest, each group in roster order. A search of `Query.members` that matches
    /// more than 1,000 members is too broad to rank and comes back in registration order (its cursors are `ID`
    /// cursors, and its next pages, asked with them, go on in that order): refine the search. Without a
    /// search, the same as `NAME`.
    BestMatch,
}

impl MemberOrder {
    /// The ordering of a list: `orderBy` if given, else best match for a search and roster order otherwise.
    pub fn resolve(order_by: Option<Self>, filter: &MemberFilter) -> crate::store::page::Order {
        let searching = !filter.search_words.is_empty();
        match order_by {
            None | Some(Self::BestMatch) if searching => store::BEST_MATCH,
            None | Some(Self::BestMatch) | Some(Self::Name) => store::BY_NAME,
            Some(Self::NameDesc) => store::BY_NAME_DESC,
            Some(Self::Id) => store::BY_ID,
            Some(Self::IdDesc) => store::BY_ID_DESC,
        }
    }
}

/// Filters for members. Everything is combined with AND.
#[derive(InputObject, Default, Clone)]
pub struct MemberFilterInput {
    /// Words that must each start a word of the name, ignoring diacritics and case: "truong" finds "Trường",
    /// "nguyen van t" finds "Nguyễn Văn Tâm".
    pub search: Option<String>,
    /// Default: `[ACTIVE]`.
    pub status: Option<Vec<MemberStatus>>,
    pub member_type: Option<MemberType>,
    pub sex: Option<Sex>,
    pub birth_year_from: Option<i32>,
    pub birth_year_to: Option<i32>,
    pub party_member: Option<bool>,
    pub province_id: Option<ID>,
    pub base_id: Option<ID>,
    pub chapter_id: Option<ID>,
}

impl MemberFilterInput {
    pub fn parse(self) -> AppResult<MemberFilter> {
        let search_words = match &self.search {
            Some(s) if s.chars().count() > MAX_SEARCH_LEN => {
                return Err(AppError::bad_input(
                    "filter.search",
                    format!("at most {MAX_SEARCH_LEN} characters"),
                ));
            }
            Some(s) => {
                super::tree::check_search_has_words("filter.search", s)?;
                MemberFilter::search_words(s)
            }
            None => Vec::new(),
        };
        if search_words.len() > MAX_SEARCH_WORDS {
            return Err(AppError::bad_input(
                "filter.search",
                format!("at most {MAX_SEARCH_WORDS} words"),
            ));
        }
        for (field, year) in [
            ("filter.birthYearFrom", self.birth_year_from),
            ("filter.birthYearTo", self.birth_year_to),
        ] {
            if let Some(y) = year
                && !(1900..=2100).contains(&y)
            {
                return Err(AppError::bad_input(field, "must be a year between 1900 and 2100"));
            }
        }
        if let (Some(from), Some(to)) = (self.birth_year_from, self.birth_year_to)
            && from > to
        {
            return Err(AppError::bad_input(
                "filter.birthYearTo",
                "must not be before birthYearFrom",
            ));
        }
        Ok(MemberFilter {
            search_words,
            statuses: Some(
                self.status
                    .unwrap_or_else(|| vec![MemberStatus::Active])
                    .into_iter()
                    .map(Into::into)
                    .collect(),
            ),
            member_type: self.member_type.map(Into::into),
            sex: self.sex.map(Into::into),
            birth_year_from: self.birth_year_from,
            birth_year_to: self.birth_year_to,
            party_member: self.party_member,
            province_id: opt_id("filter.provinceId", self.province_id.as_ref(), NodeKind::Province)?,
            base_id: opt_id("filter.baseId", self.base_id.as_ref(), NodeKind::Base)?,
            chapter_id: opt_id("filter.chapterId", self.chapter_id.as_ref(), NodeKind::Chapter)?,
            columns: store::Columns::All,
        })
    }
}

/// The fields of `Member` that read only what [`store::Columns::Names`] loads for real (ids, names, the short
/// enumerations, flags, timestamps, version), or load by the member's id, besides the record's leaves
/// ([`super::connection::Prefetch::LEAVES`], all read from those columns). A field added to `Member` is not here until it is
/// checked to be one of those; until then a page that selects it reads every column.
const NAMES_FIELDS: &[&str] = &[
    "__typename",
    "partyMember",
    "warInvalidStatus",
    "updatedAt",
    "chapter",
    "base",
    "history",
    "awards",
    "pendingTransfer",
];

/// The columns a page of members needs for what the query selects on its nodes (under `nodes` and
/// `edges { node }` of the list being resolved): only the leaves' when every field selected there is a leaf
/// read from the record ([`super::connection::Prefetch::LEAVES`]) or `__typename`, else as [`names_only`]
/// decides. (Not for an award's recipient: its loader keeps whole members and names-only ones apart, no third
/// kind.)
pub fn page_columns(ctx: &Context<'_>) -> store::Columns {
    let list = ctx.look_ahead();
    let nodes = [&list.field("nodes"), &list.field("edges").field("node")];
    if selects_only(&nodes, |name| {
        name == "__typename" || <Member as super::connection::Prefetch>::LEAVES.contains(&name)
    }) {
        store::Columns::Leaves
    } else if names_only(&nodes) {
        store::Columns::Names
    } else {
        store::Columns::All
    }
}

/// Whether members need only the names' columns ([`store::Columns::Names`]) for what `selections` (each of a
/// member, or of a union with members among its types) select of them: every field selected there is one of
/// [`NAMES_FIELDS`] or a leaf read from them. A field of another type of a union counts as a member's: at worst
/// every column is read.
pub fn names_only(selections: &[&async_graphql::Lookahead<'_>]) -> bool {
    selects_only(selections, |name| {
        NAMES_FIELDS.contains(&name) || <Member as super::connection::Prefetch>::LEAVES.contains(&name)
    })
}

/// Whether every field `selections` select on their objects is one `allowed` lets through.
fn selects_only(selections: &[&async_graphql::Lookahead<'_>], allowed: impl Fn(&str) -> bool) -> bool {
    selections.iter().all(|node| {
        node.selection_fields()
            .iter()
            .all(|field| field.selection_set().all(|f| allowed(f.name())))
    })
}

/// A member of the association.
pub struct Member(pub entity::member::Model);

impl From<entity::member::Model> for Member {
    fn from(m: entity::member::Model) -> Self {
        Self(m)
    }
}

impl From<store::Listed> for Member {
    fn from(row: store::Listed) -> Self {
        Self(row.member)
    }
}

impl Member {
    /// Personal data is shown only inside the viewer's personal-data scope.
    fn personal<'a, T>(&'a self, ctx: &Context<'_>, value: &'a Option<T>) -> Option<&'a T> {
        let m = &self.0;
        state(ctx)
            .scope
            .personal
            .contains_member(m.province_id, m.base_id, m.chapter_id, m.id)
            .then_some(value.as_ref())
            .flatten()
    }
}

#[Object]
impl Member {
    /// Changes to this record, newest first (authenticated viewers only).
    #[graphql(complexity = "page_complexity(child_complexity, first, None)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<super::history::AuditEventConnection> {
        super::history::history(
            ctx,
            (NodeKind::Member, self.0.id),
            self.personal(ctx, &Some(())).is_some(),
            first,
            after,
        )
        .await
    }
    pub async fn id(&self) -> ID {
        GlobalId::new(NodeKind::Member, self.0.id).encode().into()
    }
    /// Family, middle and given name in Vietnamese order.
    async fn full_name(&self) -> String {
        crate::text::full_name(&self.0.family_name, &self.0.middle_name, &self.0.given_name)
    }
    /// Họ.
    async fn family_name(&self) -> &str {
        &self.0.family_name
    }
    /// Tên đệm; empty when the member has none.
    async fn middle_name(&self) -> &str {
        &self.0.middle_name
    }
    /// Tên.
    async fn given_name(&self) -> &str {
        &self.0.given_name
    }
    async fn sex(&self) -> Sex {
        self.0.sex.into()
    }
    /// Personal data. Older records carry only `birthYear`.
    async fn birth_date(&self, ctx: &Context<'_>) -> Option<Date> {
        self.personal(ctx, &self.0.birth_date).copied().map(Date::of)
    }
    /// Personal data.
    async fn birth_year(&self, ctx: &Context<'_>) -> Option<i32> {
        self.personal(ctx, &self.0.birth_year).copied()
    }
    /// Personal data: quê quán.
    async fn home_town(&self, ctx: &Context<'_>) -> Option<&str> {
        self.personal(ctx, &self.0.home_town).map(String::as_str)
    }
    /// Personal data: residence.
    async fn address(&self, ctx: &Context<'_>) -> Option<&str> {
        self.personal(ctx, &self.0.address).map(String::as_str)
    }
    /// Personal data.
    async fn phone(&self, ctx: &Context<'_>) -> Option<&str> {
        self.personal(ctx, &self.0.phone).map(String::as_str)
    }
    /// Personal data: the membership card number, as issued by the admitting base.
    async fn card_number(&self, ctx: &Context<'_>) -> Option<&str> {
        self.personal(ctx, &self.0.card_number).map(String::as_str)
    }
    /// Personal data: thương binh / bệnh binh status.
    async fn war_invalid_status(&self, ctx: &Context<'_>) -> Option<WarInvalidStatus> {
        self.personal(ctx, &Some(self.0.war_invalid)).copied().map(Into::into)
    }
    async fn member_type(&self) -> MemberType {
        self.0.member_type.into()
    }
    async fn status(&self) -> MemberStatus {
        self.0.status.into()
    }
    /// Rank at discharge (cấp bậc), e.g. "Thượng úy". Roster detail: like personal data, shown only inside
    /// the viewer's personal-data scope (a member sees only the names of chapter mates).
    async fn military_rank(&self, ctx: &Context<'_>) -> Option<&str> {
        self.personal(ctx, &self.0.military_rank).map(String::as_str)
    }
    /// Roster detail.
    async fn last_unit(&self, ctx: &Context<'_>) -> Option<&str> {
        self.personal(ctx, &self.0.last_unit).map(String::as_str)
    }
    /// Roster detail.
    async fn enlistment_date(&self, ctx: &Context<'_>) -> Option<Date> {
        self.personal(ctx, &self.0.enlisted_on).copied().map(Date::of)
    }
    /// Roster detail.
    async fn discharge_date(&self, ctx: &Context<'_>) -> Option<Date> {
        self.personal(ctx, &self.0.discharged_on).copied().map(Date::of)
    }
    /// Roster detail: when the member joined the association.
    async fn joined_date(&self, ctx: &Context<'_>) -> Option<Date> {
        self.personal(ctx, &self.0.joined_on).copied().map(Date::of)
    }
    /// Roster detail: party membership.
    async fn party_member(&self, ctx: &Context<'_>) -> Option<bool> {
        self.personal(ctx, &Some(self.0.party_member)).copied()
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The record's version; pass it back with an update so a stale edit is refused.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Roster detail: the date of death or removal.
    async fn left_date(&self, ctx: &Context<'_>) -> Option<Date> {
        self.personal(ctx, &self.0.left_on).copied().map(Date::of)
    }
    /// Roster detail: the reason recorded with a removal.
    async fn left_reason(&self, ctx: &Context<'_>) -> Option<&str> {
        self.personal(ctx, &self.0.left_reason).map(String::as_str)
    }
    /// A transfer released by the member's base and not yet decided.
    async fn pending_transfer(&self, ctx: &Context<'_>) -> AppResult<Option<super::transfer::Transfer>> {
        Ok(load(ctx, PendingTransferOf(self.0.id))
            .await?
            .map(super::transfer::Transfer))
    }
    /// The chapter the member belongs to now.
    async fn chapter(&self, ctx: &Context<'_>) -> AppResult<Chapter> {
        load(ctx, ChapterById(self.0.chapter_id))
            .await?
            .map(Chapter)
            .ok_or_else(|| AppError::Internal(format!("member {} has no chapter", self.0.id)))
    }
    /// The base association the member belongs to now.
    async fn base(&self, ctx: &Context<'_>) -> AppResult<Base> {
        load(ctx, BaseById(self.0.base_id))
            .await?
            .map(Base)
            .ok_or_else(|| AppError::Internal(format!("member {} has no base", self.0.id)))
    }
    /// Awards the member received.
    #[graphql(complexity = "page_complexity(child_complexity, first, last)")]
    async fn awards(
        &self,
        ctx: &Context<'_>,
        filter: Option<AwardFilterInput>,
        #[graphql(default)] order_by: AwardOrder,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<AwardConnection> {
        let args = list_args(
            ctx,
            filter.unwrap_or_default().parse()?,
            order_by.order(),
            first,
            after,
            last,
            before,
        )?;
        Ok(AwardConnection(
            page_of(ctx, AwardsReceived(RecipientType::Member, self.0.id, args)).await?,
        ))
    }
}

/// The key of the `awards` page that a member's selection asks for, from the arguments its resolver will read,
/// so `node(id:)` loads the page alongside the member row instead of one round trip after it. `None` when the
/// selection has no `awards`, has it under several aliases, or its arguments do not parse (the resolver then
/// loads and reports in its place, as without this).
pub fn selected_awards_page(member_id: i64, selection: &async_graphql::Lookahead<'_>) -> Option<AwardsReceived> {
    use async_graphql::InputType;
    let awards = selection.field("awards");
    let [field] = awards.selection_fields().try_into().ok()?;
    let args = field.arguments().ok()?;
    let arg = |name: &str| args.iter().find(|(n, _)| n.as_str() == name).map(|(_, v)| v.clone());
    let filter = Option::<AwardFilterInput>::parse(arg("filter")).ok()?;
    let order = match arg("orderBy") {
        None => AwardOrder::default(),
        Some(v) => AwardOrder::parse(Some(v)).ok()?,
    };
    let first = Option::<i32>::parse(arg("first")).ok()?;
    let after = Option::<String>::parse(arg("after")).ok()?;
    let last = Option::<i32>::parse(arg("last")).ok()?;
    let before = Option::<String>::parse(arg("before")).ok()?;
    let total = awards.field("totalCount").exists();
    let order = order.order();
    let filter = filter.unwrap_or_default().parse().ok()?;
    let window = window(&order, first, after, last, before).ok()?;
    let args = ListArgs::new(filter, order, window, total);
    Some(AwardsReceived(
        RecipientType::Member,
        member_id,
        std::sync::Arc::new(args),
    ))
}

connection!(MemberConnection, MemberEdge, Member, store::Listed, "members");

#[derive(Default)]
pub struct MemberQuery;

#[Object]
impl MemberQuery {
    /// Members across the viewer's whole scope (nothing for anonymous viewers).
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
        let st = state(ctx);
        let backend = st.db.get_database_backend();
        let mut filter = filter.unwrap_or_default().parse()?;
        filter.columns = page_columns(ctx);
        let mut order = MemberOrder::resolve(order_by, &filter);
        // Ranking reads every match; past the count's bound the search is too broad to rank, and the page is
        // cut in registration order, which the primary key answers after a few rows (roster order can walk
        // thousands when the words are a family name that sorts mid-alphabet).
        let pairs = &st.services.pair_frequencies;
        let mut count = None;
        let mut sparse = false;
        if order == store::BEST_MATCH {
            // The page in registration order, for a search past the bound whose matches are sparse: cut from
            // them in the same statement. (A best-match cursor fits no such page.)
            let past = window(&store::BY_ID, first, after.clone(), last, before.clone()).ok();
            // A cursor in registration order continues a search that was past the bound when its earlier page
            // was cut: the pages go on in that order, whatever the count is now. The matches are still found
            // and counted once, for the count and to tell how the page is best read.
            let continuing = past.as_ref().is_some_and(|w| w.cursor.is_some());
            // Within the bound, the matches are found once and the ranked page cut from them (one statement).
            let w = if continuing {
                window(&order, first, None, last, None)?
            } else {
                window(&order, first, after.clone(), last, before.clone())?
            };
            let ranked = store::search_list(&filter, &st.scope.members, order, backend, pairs);
            let past = past.as_ref().map(|w| (store::BY_ID, w));
            let counted = match ranked.page_within_bound(&st.db, &w, past).await? {
                Bounded::Within { page, .. } if !continuing => return Ok(MemberConnection(page)),
                Bounded::Within { found, .. } => {
                    // Few matches now: the page is cut from them, as for a sparse search past the bound.
                    sparse = true;
                    Count {
                        value: found,
                        exact: true,
                    }
                }
                Bounded::Over {
                    limit,
                    page: Some(page),
                    ..
                } => {
                    let _ = page.counted.set(Count {
                        value: limit,
                        exact: false,
                    });
                    return Ok(MemberConnection(page));
                }
                Bounded::Over {
                    limit,
                    sparse: few,
                    page: None,
                } => {
                    sparse = few;
                    Count {
                        value: limit,
                        exact: false,
                    }
                }
                Bounded::Undecided => {
                    store::search_list(&filter, &st.scope.members, store::BY_NAME, backend, pairs)
                        .count(&st.db)
                        .await?
                }
            };
            if !counted.exact || continuing {
                order = store::BY_ID;
            }
            count = Some(counted);
        }
        let w = window(&order, first, after, last, before)?;
        let mut list = store::search_list(&filter, &st.scope.members, order, backend, pairs);
        if sparse {
            // Few matches past the bound: the page is cut from all of them, found through the pairs index, not
            // by walking the primary key across the rows between them.
            list.narrow();
        }
        let page = list.page(&st.db, &w, super::wants_total(ctx)).await?;
        if let Some(counted) = count {
            // The page's own count is the one just run; `totalCount` need not run it again.
            let _ = page.counted.set(counted);
        }
        Ok(MemberConnection(page))
    }
}

/// Warms the units above these members that `selection` (on a member) asks for.
pub async fn warm_member_units(
    ctx: &Context<'_>,
    rows: &[&entity::member::Model],
    selection: &async_graphql::Lookahead<'_>,
) -> AppResult<()> {
    let chapter = selection.field("chapter");
    let base = selection.field("base");
    let wants_bases = base.exists() || chapter.field("base").exists();
    let wants_provinces = chapter.field("province").exists()
        || chapter.field("base").field("province").exists()
        || base.field("province").exists();
    let pick = |wanted: bool, f: fn(&entity::member::Model) -> i64| -> Vec<i64> {
        if wanted {
            rows.iter().map(|m| f(m)).collect()
        } else {
            Vec::new()
        }
    };
    if chapter.exists() && (wants_bases || wants_provinces) {
        // A member's base and province are its chapter's: one joined statement brings all three.
        let chapters = pick(true, |m| m.chapter_id);
        return warm_chapters_with_units(ctx, &chapters, wants_bases, wants_provinces).await;
    }
    warm_units(
        ctx,
        pick(chapter.exists(), |m| m.chapter_id),
        pick(wants_bases, |m| m.base_id),
        pick(wants_provinces, |m| m.province_id),
    )
    .await
}

impl crate::graphql::connection::Prefetch for Member {
    const LEAVES: &'static [&'static str] = &[
        "id",
        "fullName",
        "familyName",
        "middleName",
        "givenName",
        "sex",
        "memberType",
        "status",
        "version",
    ];

    fn leaf(row: &store::Listed, name: &str) -> Option<async_graphql::Value> {
        member_leaf(&row.member, name)
    }

    fn direct(
        cache: &super::batch::Batcher,
        row: &store::Listed,
        set: &async_graphql::parser::types::SelectionSet,
    ) -> Option<async_graphql::Value> {
        super::direct::member(cache, &row.member, set, &[])
    }

    type Row = store::Listed;

    async fn prefetch(
        ctx: &Context<'_>,
        rows: &[Self::Row],
        selection: &async_graphql::Lookahead<'_>,
    ) -> AppResult<()> {
        warm_member_units(ctx, &rows.iter().map(|r| &r.member).collect::<Vec<_>>(), selection).await
    }
}

/// The value of the leaf `name` (one of [`super::connection::Prefetch::LEAVES`] of `Member`) of member `m`,
/// exactly as its resolver answers it. Reads only columns of [`store::Columns::Leaves`] (and so of every other kind).
pub(crate) fn member_leaf(m: &entity::member::Model, name: &str) -> Option<async_graphql::Value> {
    use async_graphql::{InputType, Value};
    Some(match name {
        "id" => Value::String(GlobalId::new(NodeKind::Member, m.id).encode()),
        "fullName" => Value::String(crate::text::full_name(&m.family_name, &m.middle_name, &m.given_name)),
        "familyName" => Value::String(m.family_name.clone()),
        "middleName" => Value::String(m.middle_name.clone()),
        "givenName" => Value::String(m.given_name.clone()),
        "sex" => Sex::from(m.sex).to_value(),
        "memberType" => MemberType::from(m.member_type).to_value(),
        "status" => MemberStatus::from(m.status).to_value(),
        "version" => Value::from(m.version),
        _ => return None,
    })
}
