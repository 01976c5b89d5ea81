//! Reads of members: filters, diacritic-insensitive search through the full-text index, orderings.

use entity::member::{MemberStatus, MemberType, Sex};
use sea_orm::{ActiveEnum, DbBackend};

use crate::auth::policy::Subtree;
use crate::sql::{Filter, Sql};
use crate::store::page::{ListQuery, Narrowed, Order, Page, RankedHits, Row, Window};
use crate::text;

pub const BY_NAME: Order = Order {
    tag: "member:NAME",
    columns: &[("sort_key", true), ("id", false)],
    descending: false,
};
pub const BY_NAME_DESC: Order = Order {
    tag: "member:NAME_DESC",
    columns: &[("sort_key", true), ("id", false)],
    descending: true,
};
pub const BY_ID: Order = Order {
    tag: "member:ID",
    columns: &[("id", false)],
    descending: false,
};
pub const BY_ID_DESC: Order = Order {
    tag: "member:ID_DESC",
    columns: &[("id", false)],
    descending: true,
};

/// Best match first: members whose name holds every search word as a whole word ("an" is the name's "An",
/// not the start of "Anh"), then those where some word is only a prefix; roster order within each.
pub const BEST_MATCH: Order = Order {
    tag: "member:BEST_MATCH",
    columns: &[("match_tier", false), ("sort_key", true), ("id", false)],
    descending: false,
};

/// The most words a search may have; more are refused rather than turned into a huge statement.
pub const MAX_SEARCH_WORDS: usize = 8;

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct MemberFilter {
    /// Folded words; each must be the prefix of a word of the member's name.
    pub search_words: Vec<String>,
    /// `None`: every status.
    pub statuses: Option<Vec<MemberStatus>>,
    pub member_type: Option<MemberType>,
    pub sex: Option<Sex>,
    pub birth_year_from: Option<i32>,
    pub birth_year_to: Option<i32>,
    pub province_id: Option<i64>,
    pub base_id: Option<i64>,
    pub chapter_id: Option<i64>,
    pub party_member: Option<bool>,
    /// Which columns a page of the list reads (not a filter: pages of different columns are kept apart).
    pub columns: Columns,
}

/// The columns a page of members reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Columns {
    /// Every column.
    #[default]
    All,
    /// The ids, the names, the order's keys, the short enumerations, the flags, the timestamps and the version;
    /// the other text and date columns (addresses, phone, dates of birth and service, card number, the folded
    /// name) come as `NULL` or `''`. For a page whose nodes select only fields that read these
    /// (`graphql::member::page_columns` decides): a tree page of names then moves and decodes a fraction of
    /// each row (measured on the tree page: the member statement ~12 ms to ~6 ms end to end in `psql`).
    Names,
    /// The id, the names, the roster order's key, the enumerations and the version: what the record's leaves read
    /// (`graphql::member::page_columns` decides), and the keys of every order's cursors (`sort_key`, `id`). The
    /// tree page's nodes select nothing else; its member statement then sends 10 columns a row instead of 16,
    /// leaving out the unit ids, the flag and the timestamps (BENCHMARKS.md, sixteenth round).
    Leaves,
}

/// The columns [`Columns::Leaves`] selects, in `entity::member::Column` order; the others decode as empty
/// ([`SUBSETS`]).
const LEAVES_COLUMNS: [&str; 10] = [
    "id",
    "family_name",
    "middle_name",
    "given_name",
    "sort_key",
    "sex",
    "member_type",
    "war_invalid",
    "status",
    "version",
];

/// The columns [`Columns::Names`] selects, in `entity::member::Column` order: the ones it reads for real. The
/// others are not selected at all and decode as empty ([`SUBSETS`]): sent as `NULL` placeholders they
/// still cost a column each to move and to decode, thirteen per row of a tree page.
const NAMES_COLUMNS: [&str; 16] = [
    "id",
    "province_id",
    "base_id",
    "chapter_id",
    "family_name",
    "middle_name",
    "given_name",
    "sort_key",
    "sex",
    "member_type",
    "party_member",
    "war_invalid",
    "status",
    "created_at",
    "updated_at",
    "version",
];

/// [`NAMES_COLUMNS`] as a select list.
static NAMES_SELECT_LIST: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| NAMES_COLUMNS.map(|column| format!("t.{column}")).join(", "));

/// [`LEAVES_COLUMNS`] as a select list.
static LEAVES_SELECT_LIST: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| LEAVES_COLUMNS.map(|column| format!("t.{column}")).join(", "));

impl Columns {
    /// The select list of a member row of `t` with these columns.
    pub(crate) fn select_list(self) -> &'static str {
        match self {
            Columns::All => crate::store::select_list("members"),
            Columns::Names => NAMES_SELECT_LIST.as_str(),
            Columns::Leaves => LEAVES_SELECT_LIST.as_str(),
        }
    }

    /// These columns of a member row under `alias`, each as `, alias."col" AS "alias_col"`, in the order
    /// [`model`] finds them in (`prefix` `alias_`).
    pub(crate) fn prefixed(self, alias: &str) -> String {
        match self {
            Columns::All => prefixed_columns::<entity::member::Entity>(alias),
            Columns::Names => subset_prefixed(&NAMES_COLUMNS, alias),
            Columns::Leaves => subset_prefixed(&LEAVES_COLUMNS, alias),
        }
    }
}

/// The columns `subset` of a member row under `alias`, as [`Columns::prefixed`] lists them.
fn subset_prefixed(subset: &[&str], alias: &str) -> String {
    subset
        .iter()
        .map(|col| format!(", {alias}.\"{col}\" AS \"{alias}_{col}\""))
        .collect()
}

impl MemberFilter {
    /// Splits a raw search string into folded words.
    pub fn search_words(raw: &str) -> Vec<String> {
        text::fold(raw)
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    }

    pub fn to_filter(&self, scope: &Subtree, backend: DbBackend) -> Filter {
        let search = (!self.search_words.is_empty()).then(|| search_condition(&self.search_words, backend));
        self.filter_with(scope, search)
    }

    /// The same list as [`Self::to_filter`]'s, with the search found through the index of word pairs
    /// ([`narrowed_search_condition`]); `None` when that index has nothing to add (one word, SQLite).
    pub fn narrowed_filter(&self, scope: &Subtree, backend: DbBackend, pairs: &PairFrequencies) -> Option<Narrowed> {
        if backend != DbBackend::Postgres {
            return None;
        }
        // A list confined to a base or a chapter (by scope or by filter) is found faster through its own index,
        // a few hundred members checked word by word, than through the pairs' lists ("nguyen van an" as a base
        // official: 2.6 ms through the base's members, 8.5 ms through `ngu|an` and `van|an`).
        let confined = matches!(scope, Subtree::Base(_) | Subtree::Chapter(_) | Subtree::Member(_))
            || self.base_id.is_some()
            || self.chapter_id.is_some();
        if confined {
            return None;
        }
        let (search, breadth) = narrowed_search_condition(&self.search_words, |pair| pairs.share(pair))?;
        Some(Narrowed {
            filter: self.filter_with(scope, Some(search)),
            probe_limit: match breadth {
                PairBreadth::Rare => SEARCH_PROBE_LIMIT,
                PairBreadth::Common => SEARCH_COUNT_LIMIT,
            },
        })
    }

    fn filter_with(&self, scope: &Subtree, search: Option<Sql>) -> Filter {
        let mut filter = Filter::default();
        if let Some(cond) = scope.members_condition() {
            filter.and(cond);
        }
        if let Some(search) = search {
            filter.and(search);
        }
        if let Some(statuses) = &self.statuses {
            let mut cond = Sql::new("t.status IN ");
            cond.bind_list(&statuses.iter().map(|s| s.to_value()).collect::<Vec<_>>());
            filter.and(cond);
        }
        if let Some(kind) = self.member_type {
            let mut cond = Sql::new("t.member_type = ");
            cond.bind(kind.to_value());
            filter.and(cond);
        }
        if let Some(sex) = self.sex {
            let mut cond = Sql::new("t.sex = ");
            cond.bind(sex.to_value());
            filter.and(cond);
        }
        if let Some(from) = self.birth_year_from {
            let mut cond = Sql::new("t.birth_year >= ");
            cond.bind(from);
            filter.and(cond);
        }
        if let Some(to) = self.birth_year_to {
            let mut cond = Sql::new("t.birth_year <= ");
            cond.bind(to);
            filter.and(cond);
        }
        if let Some(party) = self.party_member {
            let mut cond = Sql::new("t.party_member = ");
            cond.bind(party);
            filter.and(cond);
        }
        for (column, id) in [
            ("province_id", self.province_id),
            ("base_id", self.base_id),
            ("chapter_id", self.chapter_id),
        ] {
            if let Some(id) = id {
                let mut cond = Sql::new(&format!("t.{column} = "));
                cond.bind(id);
                filter.and(cond);
            }
        }
        filter
    }
}

/// Where the count of a search's matches stops: past it, `totalCount` answers "at least this many".
pub const SEARCH_COUNT_LIMIT: i64 = 1_000;

/// How many matches a search found through the pairs index reads before it calls itself broad. Up to this
/// many, a search past [`SEARCH_COUNT_LIMIT`] is sparse: its page in registration order is cut from its matches
/// through the pairs index (reading them all costs less than walking the primary key past the rows between
/// them: for "tran thi hoa", 1,088 matches among 1.9 million, the walk reads 41,000 rows for one page). Past
/// it, the matches are dense enough that the walk finds a page after a few thousand rows.
pub const SEARCH_PROBE_LIMIT: i64 = 5_000;

pub fn list(filter: &MemberFilter, scope: &Subtree, order: Order, backend: DbBackend) -> ListQuery {
    let mut query = ListQuery::new("members", filter.to_filter(scope, backend), order);
    if filter.columns != Columns::All {
        query.columns = Some(filter.columns.select_list());
    }
    if !filter.search_words.is_empty() {
        query.count_limit = Some(SEARCH_COUNT_LIMIT);
    }
    if order == BEST_MATCH {
        query.source = Some(ranked_members(&filter.search_words, "members"));
        query.source_columns = ", t.match_tier";
        query.ranked_hits = Some(RankedHits {
            columns: ", t.sort_key, t.search_name",
            source: ranked_members(&filter.search_words, "hits__"),
        });
    }
    query
}

/// [`list`] for a search of the whole scope (`Query.members`): its matches are found through the index of word
/// pairs where that helps ([`MemberFilter::narrowed_filter`]).
pub fn search_list(
    filter: &MemberFilter,
    scope: &Subtree,
    order: Order,
    backend: DbBackend,
    pairs: &PairFrequencies,
) -> ListQuery {
    let mut query = list(filter, scope, order, backend);
    query.narrowed = filter.narrowed_filter(scope, backend, pairs);
    query
}

/// A pair at most this common is rare: a search with one is likely sparse ([`PairBreadth::Rare`]), and a rare
/// pair narrows a search alone. A lone common pair does not: for a pair of 3 % ("van|an", 57,000 names), the
/// planner preferred walking the primary key to the probe's 5,001st match, running the pair function on every
/// match (45 µs each; 110 ms a search, measured at national scale), and "van an" costs the same 28 ms through
/// either index; at 1 % reading the index costs the planner less than any walk.
pub const COMMON_PAIR: f64 = 0.01;

/// A pair more common than this share of the names is left out of a search's pairs: its posting list costs
/// more than it narrows ("ngu|van", Nguyễn Văn, is a fifth of the registry: 400,000 entries at national scale,
/// whose bitmap turns lossy and is rechecked row by row through the pair function). Below it, every pair is
/// asked for: what a probe of the index costs is mostly the rows it yields, so one more list to intersect
/// costs little and cuts them ("tran van minh": `tra|minh` (0.75 %) alone yields 14,076 names in 4.2 ms,
/// with `van|minh` (1.06 %) 1,734 in 2.3 ms, and a page of the 1,706 matches takes 7 ms instead of 42). Two
/// common pairs are enough without a rare one ("nguyen van an": `ngu|an` 2 % and `van|an` 3 % intersect in
/// 6.5 ms where the words' lists `nguyen`, `van` and `an` take 28 ms, both finding the same 22,984 names),
/// and the planner, multiplying their shares, expects few rows and keeps to the index.
pub const NARROWING_PAIR: f64 = 0.05;

/// How common the pairs a search is found through are ([`narrowed_search_condition`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairBreadth {
    /// At least one pair is rare ([`COMMON_PAIR`]): the search is likely sparse, and its probe reads up to
    /// [`SEARCH_PROBE_LIMIT`] matches to tell whether a page is cheaper cut from them.
    Rare,
    /// Only common pairs ([`NARROWING_PAIR`]): the matches are likely many, so the probe reads no further than
    /// the count's bound (a probe of 5,001 matches read 4,600 heap pages for "nguyen van an": 51 ms), and a
    /// page past the bound walks the primary key with the word condition, as without the pairs.
    Common,
}

/// How common the word pairs of names are, as PostgreSQL's statistics of the pairs index (migration 000012)
/// have them: the most common pairs with their share of the rows; a pair not listed is rarer than every listed
/// one. Refreshed by [`PairFrequencies::refresh`] (every few minutes, `crate::server`); until statistics exist
/// (a database never analysed), every pair counts as rare.
#[derive(Default)]
pub struct PairFrequencies {
    listed: std::sync::RwLock<std::collections::HashMap<String, f64>>,
}

impl PairFrequencies {
    /// The share of the names that hold `pair`; 0 for a pair rarer than every listed one.
    pub fn share(&self, pair: &str) -> f64 {
        let listed = self.listed.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        listed.get(pair).copied().unwrap_or(0.0)
    }

    /// Reads the statistics again (PostgreSQL only; SQLite has no pairs index).
    pub async fn refresh(&self, db: &sea_orm::DatabaseConnection) -> Result<(), sea_orm::DbErr> {
        use sea_orm::ConnectionTrait;
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let sql = Sql::new(
            "SELECT u.pair, u.share::float8 FROM pg_stats s, \
             unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS u(pair, share) \
             WHERE s.schemaname = current_schema() AND s.tablename = 'ix_members_search_pairs' AND u.pair IS NOT NULL",
        );
        let rows = db.query_all_raw(sql.build(DbBackend::Postgres)).await?;
        let mut listed = std::collections::HashMap::with_capacity(rows.len());
        for row in rows {
            listed.insert(row.try_get_by_index::<String>(0)?, row.try_get_by_index::<f64>(1)?);
        }
        *self.listed.write().unwrap_or_else(std::sync::PoisonError::into_inner) = listed;
        Ok(())
    }
}

/// The members with their `match_tier` for [`BEST_MATCH`]: 0 when every word is a whole word of the folded
/// name, else 1. Computed on the rows the search index found, so it costs what the matches cost; the words
/// are letters and digits only, so they hold no `LIKE` wildcard. `from`: the members' table, or the matches a
/// statement found with the columns the ranking reads ([`RankedHits`]).
fn ranked_members(words: &[String], from: &str) -> Sql {
    let mut sql = Sql::new("(SELECT m.*, CAST(");
    if words.is_empty() {
        sql.push("0");
    } else {
        sql.push("CASE WHEN ");
        for (i, word) in words.iter().enumerate() {
            if i > 0 {
                sql.push(" AND ");
            }
            sql.push("(' ' || m.search_name || ' ') LIKE ")
                .bind(format!("% {word} %"));
        }
        sql.push(" THEN 0 ELSE 1 END");
    }
    sql.push(&format!(" AS BIGINT) AS match_tier FROM {from} m)"));
    sql
}

/// A member as a list returns it, with how well it met the search under [`BEST_MATCH`] (0 otherwise).
#[derive(Clone, Debug)]
pub struct Listed {
    pub member: entity::member::Model,
    pub match_tier: i64,
}

/// A member's record from a row that holds it (by position where the row lays its columns out in entity order,
/// as [`Listed`] reads it), for the reads of whole records by id.
pub fn model(row: &sea_orm::QueryResult, prefix: &str) -> Result<entity::member::Model, sea_orm::DbErr> {
    use sea_orm::FromQueryResult;
    Ok(Listed::from_query_result(row, prefix)?.member)
}

impl sea_orm::FromQueryResult for Listed {
    fn from_query_result(row: &sea_orm::QueryResult, prefix: &str) -> Result<Self, sea_orm::DbErr> {
        let shape = member_columns_at(row, prefix);
        let (member, after) = match shape {
            None => {
                return Ok(Self {
                    member: entity::member::Model::from_query_result(row, prefix)?,
                    match_tier: row.try_get(prefix, "match_tier").unwrap_or(0),
                });
            }
            Some(columns @ MemberColumns::All(at)) => {
                let member = member_by_position(row, &columns)?;
                #[cfg(debug_assertions)]
                {
                    use sea_orm::Iterable;
                    assert_eq!(entity::member::Column::iter().count(), MEMBER_COLUMNS);
                }
                #[cfg(debug_assertions)]
                assert_eq!(
                    member,
                    entity::member::Model::from_query_result(row, prefix)?,
                    "a member decoded by position must equal the one decoded by name"
                );
                (member, at + MEMBER_COLUMNS)
            }
            Some(columns @ MemberColumns::Subset(at, subset)) => {
                #[cfg(debug_assertions)]
                for (i, name) in subset.names.iter().enumerate() {
                    assert_eq!(
                        column_name(row, at + i).and_then(|c| c.strip_prefix(prefix)),
                        Some(*name),
                        "a row's column {i} of {} member columns",
                        subset.names.len()
                    );
                }
                (member_by_position(row, &columns)?, at + subset.names.len())
            }
        };
        // Only ranked lists select the column, right after the member's.
        let match_tier = if column_name(row, after) == Some("match_tier") {
            row.try_get_by_index(after)?
        } else {
            0
        };
        Ok(Self { member, match_tier })
    }
}

/// How many columns a member row has: what [`crate::store::select_list`] selects for `members`, in the order of
/// `entity::member::Column`.
const MEMBER_COLUMNS: usize = 30;

/// The name of a result column.
fn column_name(row: &sea_orm::QueryResult, index: usize) -> Option<&str> {
    use sea_orm::sqlx::{Column, Row};
    if let Some(row) = row.try_as_pg_row() {
        return row.columns().get(index).map(|c| c.name());
    }
    row.try_as_sqlite_row()
        .and_then(|row| row.columns().get(index))
        .map(|c| c.name())
}

/// Where a list row's member columns start and which they are, if they are all there in
/// `entity::member::Column` order: every column ([`crate::store::select_list`]: the first `id`, with
/// `left_reason` as the last), or those of [`Columns::Names`] or [`Columns::Leaves`] (told apart by where
/// `sort_key` is, then checked by `version`, the last of each).
///
/// Columns named with a `prefix` (a member joined to another table's rows, `m_id`, …) are looked for anywhere in
/// the row, and only all of them.
fn member_columns_at(row: &sea_orm::QueryResult, prefix: &str) -> Option<MemberColumns> {
    if !prefix.is_empty() {
        let named =
            |index: usize, name: &str| column_name(row, index).and_then(|c| c.strip_prefix(prefix)) == Some(name);
        let at = (0..column_count(row)).find(|&i| named(i, "id"))?;
        if named(at + MEMBER_COLUMNS - 1, "left_reason") {
            return Some(MemberColumns::All(at));
        }
        return SUBSETS
            .iter()
            .find(|subset| named(at + subset.sort_key, "sort_key") && named(at + subset.names.len() - 1, "version"))
            .map(|subset| MemberColumns::Subset(at, subset));
    }
    let at = (0..4).find(|&i| column_name(row, i) == Some("id"))?;
    if column_name(row, at + MEMBER_COLUMNS - 1) == Some("left_reason") {
        return Some(MemberColumns::All(at));
    }
    let named = |index: usize, name: &str| column_name(row, index) == Some(name);
    SUBSETS
        .iter()
        .find(|subset| named(at + subset.sort_key, "sort_key") && named(at + subset.names.len() - 1, "version"))
        .map(|subset| MemberColumns::Subset(at, subset))
}

fn column_count(row: &sea_orm::QueryResult) -> usize {
    use sea_orm::sqlx::Row;
    if let Some(row) = row.try_as_pg_row() {
        return row.columns().len();
    }
    row.try_as_sqlite_row().map_or(0, |row| row.columns().len())
}

/// The member columns of a list row, starting at the index each holds.
#[derive(Clone, Copy)]
enum MemberColumns {
    All(usize),
    Subset(usize, &'static Subset),
}

/// The columns of [`Columns::Names`] or [`Columns::Leaves`]: their names in `entity::member::Column` order, where
/// `sort_key` is among them, and where each member column is among them, if there.
struct Subset {
    names: &'static [&'static str],
    sort_key: usize,
    at: std::sync::LazyLock<[Option<usize>; MEMBER_COLUMNS]>,
}

/// Where each member column (in `entity::member::Column` order) is among `names`, if there.
fn positions(names: &[&str]) -> [Option<usize>; MEMBER_COLUMNS] {
    use sea_orm::{ColumnTrait, Iterable};
    let mut at = [None; MEMBER_COLUMNS];
    for (slot, column) in at.iter_mut().zip(entity::member::Column::iter()) {
        let name = column.as_column_ref().1.to_string();
        *slot = names.iter().position(|selected| *selected == name);
    }
    at
}

/// The layouts of a member row with some of its columns, [`Columns::Names`] then [`Columns::Leaves`]; `sort_key` is
/// at a different place in each.
static SUBSETS: [Subset; 2] = [
    Subset {
        names: &NAMES_COLUMNS,
        sort_key: 7,
        at: std::sync::LazyLock::new(|| positions(&NAMES_COLUMNS)),
    },
    Subset {
        names: &LEAVES_COLUMNS,
        sort_key: 4,
        at: std::sync::LazyLock::new(|| positions(&LEAVES_COLUMNS)),
    },
];

/// A member from a row's columns: `$column(k)` is where the `k`-th column of `entity::member::Column` is in the
/// row, `None` if the row does not hold it (the field is then empty); `$get` reads a column, `$choice` an
/// enumeration's. One field list for every way a member row is decoded ([`member_by_position`],
/// [`pg_member_by_position`], every column or those of [`Columns::Names`]).
macro_rules! member_at {
    ($row:expr, $column:expr, $get:ident, $choice:ident) => {{
        let column = $column;
        entity::member::Model {
            id: $get($row, column(0))?,
            province_id: $get($row, column(1))?,
            base_id: $get($row, column(2))?,
            chapter_id: $get($row, column(3))?,
            family_name: $get($row, column(4))?,
            middle_name: $get($row, column(5))?,
            given_name: $get($row, column(6))?,
            search_name: $get($row, column(7))?,
            sort_key: $get($row, column(8))?,
            sex: $choice($row, column(9))?,
            birth_date: $get($row, column(10))?,
            birth_year: $get($row, column(11))?,
            home_town: $get($row, column(12))?,
            address: $get($row, column(13))?,
            phone: $get($row, column(14))?,
            enlisted_on: $get($row, column(15))?,
            discharged_on: $get($row, column(16))?,
            military_rank: $get($row, column(17))?,
            last_unit: $get($row, column(18))?,
            member_type: $choice($row, column(19))?,
            joined_on: $get($row, column(20))?,
            party_member: $get($row, column(21))?,
            war_invalid: $choice($row, column(22))?,
            card_number: $get($row, column(23))?,
            status: $choice($row, column(24))?,
            created_at: $get($row, column(25))?,
            updated_at: $get($row, column(26))?,
            version: $get($row, column(27))?,
            left_on: $get($row, column(28))?,
            left_reason: $get($row, column(29))?,
        }
    }};
}

/// Where the member columns of a row laid out as `columns` says are, starting at `at`.
fn column_of(columns: &MemberColumns) -> impl Fn(usize) -> Option<usize> {
    let columns = *columns;
    move |k| match columns {
        MemberColumns::All(at) => Some(at + k),
        MemberColumns::Subset(at, subset) => subset.at[k].map(|i| at + i),
    }
}

/// Decodes a member by position from the columns `columns` locates. Lists decode thousands of members per
/// request, and by name each column costs a formatted name and a hashed lookup (measured: about a fifth of the
/// tree page's CPU). The fields are in the entity's column order; debug builds (the test suite) check every
/// member decoded from all its columns against the by-name decoding, and the names of the columns of
/// [`Columns::Names`].
fn member_by_position(
    row: &sea_orm::QueryResult,
    columns: &MemberColumns,
) -> Result<entity::member::Model, sea_orm::DbErr> {
    if let Some(row) = row.try_as_pg_row() {
        return pg_member_by_position(row, columns);
    }
    fn get<T: sea_orm::TryGetable + Default>(
        row: &sea_orm::QueryResult,
        index: Option<usize>,
    ) -> Result<T, sea_orm::DbErr> {
        index.map_or_else(|| Ok(T::default()), |index| row.try_get_by_index(index))
    }
    fn choice<T: sea_orm::TryGetable>(row: &sea_orm::QueryResult, index: Option<usize>) -> Result<T, sea_orm::DbErr> {
        row.try_get_by_index(index.ok_or_else(not_selected)?)
    }
    Ok(member_at!(row, column_of(columns), get, choice))
}

/// [`member_by_position`] on PostgreSQL, straight from sqlx's row. Through sea-orm each `NULL` of an optional
/// column is first an error whose message is formatted, then dropped (`TryGetError::Null`): decoding members
/// was a quarter of the tree page's CPU in a profile, a fifth without the detour (`perf`, `bench/`). The types
/// are those sqlx decodes for the entity's fields; an enumeration is read as its stored text, as sea-orm reads
/// it.
fn pg_member_by_position(
    row: &sea_orm::sqlx::postgres::PgRow,
    columns: &MemberColumns,
) -> Result<entity::member::Model, sea_orm::DbErr> {
    use sea_orm::sqlx::{Decode, Postgres, Type};
    fn get<'r, T: Decode<'r, Postgres> + Type<Postgres> + Default>(
        row: &'r sea_orm::sqlx::postgres::PgRow,
        index: Option<usize>,
    ) -> Result<T, sea_orm::DbErr> {
        index.map_or_else(|| Ok(T::default()), |index| super::decode::get(row, index))
    }
    fn choice<E: sea_orm::ActiveEnum<Value = String>>(
        row: &sea_orm::sqlx::postgres::PgRow,
        index: Option<usize>,
    ) -> Result<E, sea_orm::DbErr> {
        super::decode::choice(row, index.ok_or_else(not_selected)?)
    }
    Ok(member_at!(row, column_of(columns), get, choice))
}

/// The error of an enumeration whose column a row does not hold (neither [`Columns::Names`] nor
/// [`Columns::Leaves`] leaves one out).
fn not_selected() -> sea_orm::DbErr {
    sea_orm::DbErr::Type("an enumeration's column is not selected".into())
}

impl crate::store::page::Row for Listed {
    fn key(&self, order: &Order) -> Vec<crate::ids::KeyValue> {
        let mut key = self.member.key(order);
        for ((column, _), value) in order.columns.iter().zip(key.iter_mut()) {
            if *column == "match_tier" {
                *value = crate::ids::KeyValue::Int(self.match_tier);
            }
        }
        key
    }
}

/// "Every search word begins a word of the member's name", answered by the search index (migration 000009).
/// - PostgreSQL: `members.search_prefixes`, a generated column holding every prefix of every word of the
///   folded name, under a GIN index; the words must all be among them (`@>`): exact entries, so the index
///   intersects posting lists instead of expanding each prefix into every word it starts.
/// - SQLite: the FTS5 table `member_search` with prefix queries (`"tran"* AND "thi"*`).
///
/// The words are folded (letters and digits only), so they hold neither the separator nor an operator of
/// either query language; they are still bound, never spliced.
pub fn search_condition(words: &[String], backend: DbBackend) -> Sql {
    match backend {
        DbBackend::Postgres => match words_array(words) {
            // The words as a constant of the statement, not a bound value: PostgreSQL plans a prepared
            // statement for its bound values five times, then may keep one generic plan, which cannot see a
            // bound array, costs the GIN index as a whole-index read and walks the table instead (measured on
            // the province under load: 89 ms a search instead of 1 ms; a national walk takes seconds). A
            // constant keeps the index in every plan. Only folded words (`[0-9a-z]`) are written this way.
            Some(array) => Sql::new(&format!("t.search_prefixes @> {array}")),
            None => {
                let mut cond = Sql::new("t.search_prefixes @> string_to_array(");
                cond.bind(words.join(" ")).push(", ' ')");
                cond
            }
        },
        _ => {
            let query = words
                .iter()
                .map(|w| format!("\"{w}\"*"))
                .collect::<Vec<_>>()
                .join(" AND ");
            let mut cond = Sql::new("t.id IN (SELECT rowid FROM member_search WHERE member_search MATCH ");
            cond.bind(query).push(")");
            cond
        }
    }
}

/// The search of [`search_condition`] on PostgreSQL, found through the index of word pairs (migration 000012):
/// `member_name_pairs(t.search_name) @> ARRAY['tra|hoa', 'thi|hoa']`, with the word-prefix condition checked on
/// the rows the pairs find. The pairs' posting lists are a hundredth of the words' ("tran thi hoa" at national
/// scale: 20 ms to intersect the words' lists, 4 ms to find and check the rows through the pairs), and every
/// name that holds the words holds the pairs (see the migration), so the result is the same.
///
/// The word-prefix condition is written `(…) IS TRUE`, which no index answers (the array is never NULL, so it
/// means the same): otherwise the planner may intersect both indexes, and the words' lists are what this avoids.
/// The search asks for its pairs below [`NARROWING_PAIR`] when one of them is rare ([`COMMON_PAIR`]) or there
/// are two or more. `None` otherwise: one word, words of one letter, a lone common pair, very common pairs, or
/// words that are not folded. `share` is a pair's share of the names.
pub fn narrowed_search_condition(words: &[String], share: impl Fn(&str) -> f64) -> Option<(Sql, PairBreadth)> {
    let singles = words_array(words)?;
    let mut rare = false;
    let mut chosen = Vec::new();
    for pair in search_pairs(words) {
        let share = share(&pair);
        if share <= NARROWING_PAIR {
            rare |= share <= COMMON_PAIR;
            chosen.push(pair);
        }
    }
    let breadth = match (rare, chosen.len()) {
        (true, _) => PairBreadth::Rare,
        (false, 2..) => PairBreadth::Common,
        (false, _) => return None,
    };
    let condition = Sql::new(&format!(
        "(t.search_prefixes @> {singles}) IS TRUE AND member_name_pairs(t.search_name) @> {}",
        text_array(&chosen)
    ));
    Some((condition, breadth))
}

/// The pairs a search asks for: each word paired with one centre word, the last of two letters or more (a
/// Vietnamese name's given name, usually its rarest word, so each pair is about as rare as the centre is).
/// A pair is the first three letters of a word of three letters or more, a bar, and the other word whole:
/// `tran thi hoa` asks for `tra|hoa` and `thi|hoa`; `an tran` asks for `tra|an`. Words must be folded ASCII
/// (what [`words_array`] accepts), so byte slicing is letter slicing.
fn search_pairs(words: &[String]) -> Vec<String> {
    let Some(centre) = words.iter().rposition(|w| w.len() >= 2) else {
        return Vec::new();
    };
    let c = &words[centre];
    let mut pairs: Vec<String> = words
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != centre)
        .filter_map(|(_, w)| {
            if w.len() >= 3 {
                Some(format!("{}|{c}", &w[..3]))
            } else if c.len() >= 3 && w.len() >= 2 {
                Some(format!("{}|{w}", &c[..3]))
            } else {
                None
            }
        })
        .collect();
    pairs.sort();
    pairs.dedup();
    pairs
}

/// `ARRAY['tran','thi']::text[]` for folded search words, or `None` if a word holds anything but ASCII letters
/// and digits (it then stays a bound value).
fn words_array(words: &[String]) -> Option<String> {
    let safe = |w: &String| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if words.is_empty() || !words.iter().all(safe) {
        return None;
    }
    Some(text_array(words))
}

/// `ARRAY['a','b']::text[]` of items the caller has checked hold no quote.
fn text_array(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|w| format!("'{w}'")).collect();
    format!("ARRAY[{}]::text[]", quoted.join(","))
}

/// Which units above a member a read asks for, to be joined into the statement that loads the member.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Units {
    pub chapter: bool,
    pub base: bool,
    pub province: bool,
}

impl Units {
    pub fn any(self) -> bool {
        self.chapter || self.base || self.province
    }
}

/// A member with the units above it that were asked for.
pub struct WithUnits {
    pub member: entity::member::Model,
    pub chapter: Option<entity::chapter::Model>,
    pub base: Option<entity::base::Model>,
    pub province: Option<entity::province::Model>,
}

/// `, a."col" AS "a_col"` for every column of `E`: a unit's columns under a prefix of their own.
pub(crate) fn prefixed_columns<E: sea_orm::EntityTrait>(alias: &str) -> String {
    use sea_orm::{IdenStatic, Iterable};
    E::Column::iter()
        .map(|c| format!(", {alias}.\"{col}\" AS \"{alias}_{col}\"", col = c.as_str()))
        .collect()
}

/// ` JOIN` of the unit (`table`, under `alias`) a row of `t` points at by its `key` column. On PostgreSQL it is a
/// `LATERAL` probe of the unit's primary key per row (the `LIMIT` keeps the planner from flattening it into a
/// plain join): as a plain join, the planner hashes the whole unit table for a few dozen rows (every one of 1,802
/// chapters at province scale: 0.5 ms of a 38-member statement's 0.7, measured with `EXPLAIN ANALYZE`, and
/// 61,000 at national scale), where the probes cost 0.2 ms. SQLite's planner probes the key by itself.
pub(crate) fn unit_join(backend: sea_orm::DbBackend, table: &str, alias: &str, key: &str) -> String {
    match backend {
        sea_orm::DbBackend::Postgres => {
            format!(" CROSS JOIN LATERAL (SELECT * FROM {table} u WHERE u.id = t.{key} LIMIT 1) {alias}")
        }
        _ => format!(" JOIN {table} {alias} ON {alias}.id = t.{key}"),
    }
}

/// Members by id inside `scope`, each with the units `units` asks for, in one statement: a `node(id:)` that
/// selects a member's chapter, base and province is one round trip instead of four.
pub async fn by_ids_with_units(
    db: &sea_orm::DatabaseConnection,
    scope: &Subtree,
    ids: &[i64],
    units: Units,
) -> crate::error::AppResult<Vec<WithUnits>> {
    let sql = with_units_sql(db.get_database_backend(), scope, ids, units, "");
    let rows = super::reader::query_all(db, sql.build(db.get_database_backend())).await?;
    rows.iter().map(|row| decode_with_units(row, units)).collect()
}

/// A member by id inside `scope` with the units `units` asks for and, in the same statement, a page of `list`
/// under the member (its rows whose `parent_column` is the member's id): a member's record with its first
/// awards is one round trip. PostgreSQL only (see [`ListQuery::with_parents`]). `None`: no such member in scope.
pub async fn by_id_with_units_and_page<M: Row + super::decode::ByPosition>(
    db: &sea_orm::DatabaseConnection,
    scope: &Subtree,
    id: i64,
    units: Units,
    list: &ListQuery,
    parent_column: &'static str,
    window: &Window,
    with_total: bool,
) -> crate::error::AppResult<Option<(WithUnits, Page<M>)>> {
    let member = with_units_sql(db.get_database_backend(), scope, &[id], units, ", t.id AS parent__");
    let found = list
        .with_parents::<M>(db, member, parent_column, window, with_total)
        .await?;
    found
        .into_iter()
        .next()
        .map(|(row, page)| Ok((decode_with_units(&row, units)?, page)))
        .transpose()
}

/// The statement of [`by_ids_with_units`], with `extra` columns after the member's and the units'.
fn with_units_sql(backend: sea_orm::DbBackend, scope: &Subtree, ids: &[i64], units: Units, extra: &str) -> Sql {
    use entity::{base, chapter, province};
    let mut sql = Sql::new(&format!("SELECT {}", crate::store::select_list("members")));
    let mut joins = String::new();
    if units.chapter {
        sql.push(&prefixed_columns::<chapter::Entity>("c"));
        joins.push_str(&unit_join(backend, "chapters", "c", "chapter_id"));
    }
    if units.base {
        sql.push(&prefixed_columns::<base::Entity>("b"));
        joins.push_str(&unit_join(backend, "bases", "b", "base_id"));
    }
    if units.province {
        sql.push(&prefixed_columns::<province::Entity>("p"));
        joins.push_str(&unit_join(backend, "provinces", "p", "province_id"));
    }
    sql.push(extra).push(" FROM members t").push(&joins);
    let mut filter = Filter::default();
    if let Some(cond) = scope.members_condition() {
        filter.and(cond);
    }
    let mut id_in = Sql::new("t.id IN ");
    id_in.bind_list(ids);
    filter.and(id_in);
    filter.render_where(&mut sql);
    sql
}

/// A row of [`with_units_sql`]: the member (its columns first, in list order, decoded by position like a
/// list's) and the units asked for.
fn decode_with_units(row: &sea_orm::QueryResult, units: Units) -> crate::error::AppResult<WithUnits> {
    use entity::{base, chapter, province};
    use sea_orm::FromQueryResult;
    Ok(WithUnits {
        member: Listed::from_query_result(row, "")?.member,
        chapter: units
            .chapter
            .then(|| super::decode::decode::<chapter::Model>(row, "c_"))
            .transpose()?,
        base: units
            .base
            .then(|| super::decode::decode::<base::Model>(row, "b_"))
            .transpose()?,
        province: units
            .province
            .then(|| super::decode::decode::<province::Model>(row, "p_"))
            .transpose()?,
    })
}

/// The chapter a member belongs to, `None` if there is no such member: what a member's own read scope needs.
pub async fn chapter_of<C: sea_orm::ConnectionTrait>(db: &C, member_id: i64) -> Result<Option<i64>, sea_orm::DbErr> {
    use sea_orm::{EntityTrait, QuerySelect};
    entity::member::Entity::find_by_id(member_id)
        .select_only()
        .column(entity::member::Column::ChapterId)
        .into_tuple::<i64>()
        .one(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::{PairBreadth, SUBSETS, narrowed_search_condition, search_pairs, words_array};

    #[test]
    fn the_subsets_columns_are_listed_and_located_in_entity_order() {
        use sea_orm::{ColumnTrait, Iterable};
        let columns: Vec<String> = entity::member::Column::iter()
            .map(|c| c.as_column_ref().1.to_string())
            .collect();
        for (kind, subset) in [super::Columns::Names, super::Columns::Leaves]
            .into_iter()
            .zip(&SUBSETS)
        {
            let listed: Vec<&str> = kind
                .select_list()
                .split(',')
                .map(|item| item.trim().trim_start_matches("t."))
                .collect();
            assert_eq!(listed, subset.names);
            assert_eq!(subset.names[subset.sort_key], "sort_key");
            assert_eq!(subset.names.last(), Some(&"version"));
            // Each member column is where the subset says among its columns, or not there at all.
            assert_eq!(columns.len(), subset.at.len());
            for (column, at) in columns.iter().zip(*subset.at) {
                assert_eq!(subset.names.iter().position(|name| name == column), at, "{column}");
            }
            let in_entity_order: Vec<usize> = subset.at.iter().flatten().copied().collect();
            assert_eq!(in_entity_order, (0..subset.names.len()).collect::<Vec<_>>());
        }
        // The prefixed form lists the same columns under the alias.
        assert!(
            super::Columns::Leaves
                .prefixed("m")
                .starts_with(", m.\"id\" AS \"m_id\", m.\"family_name\"")
        );
    }

    #[test]
    fn a_search_asks_for_each_word_paired_with_the_last_word_of_two_letters_or_more() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let pairs = |w: &[&str]| search_pairs(&words(w));
        assert_eq!(pairs(&["tran", "thi", "hoa"]), vec!["thi|hoa", "tra|hoa"]);
        assert_eq!(pairs(&["nguyen", "van", "an"]), vec!["ngu|an", "van|an"]);
        // A short word pairs under the centre's first letters; a one-letter word is left to the word condition.
        assert_eq!(pairs(&["an", "tran"]), vec!["tra|an"]);
        assert_eq!(pairs(&["nguyen", "van", "t"]), vec!["ngu|van"]);
        assert_eq!(pairs(&["le", "an"]), Vec::<String>::new());
        assert_eq!(pairs(&["hoa"]), Vec::<String>::new());
        assert_eq!(pairs(&["van", "van"]), vec!["van|van"]);
    }

    #[test]
    fn a_search_is_narrowed_by_its_rare_pairs_or_else_by_two_common_ones() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // Shares from the national set's statistics; here every other pair is rare.
        let national = |pair: &str| match pair {
            "ngu|van" => 0.2097,
            "ngu|an" => 0.0202,
            "van|an" => 0.0294,
            "thi|hoa" => 0.0095,
            "van|van" => 0.5452,
            "tra|minh" => 0.0075,
            "van|minh" => 0.0106,
            "ngu|hoa" => 0.0096,
            "van|hoa" => 0.0380,
            _ => 0.0,
        };
        let narrowed = |w: &[&str]| {
            narrowed_search_condition(&words(w), national)
                .map(|(sql, breadth)| (sql.build(sea_orm::DbBackend::Postgres).sql, breadth))
        };
        assert!(narrowed(&["tran", "Hoa"]).is_none(), "not folded");
        assert!(narrowed(&["hoa"]).is_none(), "one word: no pair");
        // A rare pair with the common ones below the bound.
        let (sql, breadth) = narrowed(&["tran", "thi", "hoa"]).unwrap();
        assert_eq!(breadth, PairBreadth::Rare);
        assert!(sql.contains("@> ARRAY['thi|hoa','tra|hoa']::text[]"), "{sql}");
        let (sql, breadth) = narrowed(&["tran", "van", "minh"]).unwrap();
        assert_eq!(breadth, PairBreadth::Rare);
        assert!(sql.contains("@> ARRAY['tra|minh','van|minh']::text[]"), "{sql}");
        let (sql, breadth) = narrowed(&["nguyen", "van", "thi", "hoa"]).unwrap();
        assert_eq!(breadth, PairBreadth::Rare);
        assert!(sql.contains("@> ARRAY['ngu|hoa','thi|hoa','van|hoa']::text[]"), "{sql}");
        // Two common pairs, and the words still decide the match.
        let (sql, breadth) = narrowed(&["nguyen", "van", "an"]).unwrap();
        assert_eq!(breadth, PairBreadth::Common);
        assert!(sql.contains("@> ARRAY['ngu|an','van|an']::text[]"), "{sql}");
        assert!(
            sql.contains("(t.search_prefixes @> ARRAY['nguyen','van','an']::text[]) IS TRUE"),
            "{sql}"
        );
        // A lone common pair, or a very common one, is left to the words' index.
        assert!(narrowed(&["van", "an"]).is_none());
        assert!(narrowed(&["nguyen", "van"]).is_none());
        assert!(
            narrowed(&["nguyen", "van", "van"]).is_none(),
            "ngu|van is a fifth of the names"
        );
    }

    #[test]
    fn a_search_confined_to_a_base_or_a_chapter_is_found_through_its_own_index() {
        use super::{MemberFilter, PairFrequencies, Subtree};
        use sea_orm::DatabaseBackend::{Postgres, Sqlite};
        // Without statistics every pair counts as rare, so a search of the whole registry is narrowed.
        let pairs = PairFrequencies::default();
        let filter = MemberFilter {
            search_words: ["tran", "thi", "hoa"].map(String::from).to_vec(),
            ..Default::default()
        };
        let narrowed = |f: &MemberFilter, scope: Subtree| f.narrowed_filter(&scope, Postgres, &pairs).is_some();
        assert!(narrowed(&filter, Subtree::All));
        assert!(narrowed(&filter, Subtree::Province(1)));
        assert!(!narrowed(&filter, Subtree::Base(1)));
        assert!(!narrowed(&filter, Subtree::Chapter(1)));
        let in_base = MemberFilter {
            base_id: Some(3),
            ..filter.clone()
        };
        assert!(!narrowed(&in_base, Subtree::All));
        let in_chapter = MemberFilter {
            chapter_id: Some(3),
            ..filter.clone()
        };
        assert!(!narrowed(&in_chapter, Subtree::Province(1)));
        assert!(filter.narrowed_filter(&Subtree::All, Sqlite, &pairs).is_none());
    }

    #[test]
    fn only_folded_words_become_a_constant_array() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            words_array(&words(&["tran", "thi", "hoa2"])).as_deref(),
            Some("ARRAY['tran','thi','hoa2']::text[]")
        );
        assert_eq!(words_array(&words(&["o'brien"])), None);
        assert_eq!(words_array(&words(&["Tran"])), None);
        assert_eq!(words_array(&words(&["trần"])), None);
        assert_eq!(words_array(&words(&["a?"])), None);
        assert_eq!(words_array(&words(&[""])), None);
        assert_eq!(words_array(&[]), None);
    }
}
