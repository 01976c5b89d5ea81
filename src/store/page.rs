//! Keyset pagination, at the root and per parent. A root page is one `ORDER BY … LIMIT` statement (plus a
//! `COUNT` only if `totalCount` is asked for); the pages of many parents are one statement that cuts every
//! parent's page in SQL with `ROW_NUMBER() OVER (PARTITION BY parent …)` and carries each parent's total with
//! `COUNT(*) OVER (PARTITION BY parent)`, so a nested level costs one statement whatever the page sizes.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult, QueryResult};

use crate::error::{AppError, AppResult};
use crate::ids::{Cursor, KeyValue};
use crate::sql::{Filter, Sql};

/// The most rows one page may hold; `first`/`last` above it are refused, not silently cut.
pub const MAX_PAGE_SIZE: i32 = 100;
/// The page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: i32 = 20;

/// One ordering of a list: SQL columns of alias `t` (with whether each is text), all in one direction, the last
/// one unique (the primary key), so the order is total and keyset pagination is stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Order {
    pub tag: &'static str,
    pub columns: &'static [(&'static str, bool)],
    pub descending: bool,
}

impl Order {
    fn shape(&self) -> Vec<bool> {
        self.columns.iter().map(|(_, text)| *text).collect()
    }

    fn render(&self, alias: &str, reverse: bool) -> String {
        let dir = if self.descending != reverse { "DESC" } else { "ASC" };
        self.columns
            .iter()
            .map(|(c, _)| format!("{alias}.{c} {dir}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `(t.a, t.b) > (?, ?)`: the rows strictly after `cursor` in the direction of travel.
    fn keyset(&self, cursor: &Cursor, reverse: bool) -> Sql {
        let cols = self
            .columns
            .iter()
            .map(|(c, _)| format!("t.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let op = if self.descending != reverse { "<" } else { ">" };
        let mut sql = Sql::new(&format!("({cols}) {op} ("));
        for (i, v) in cursor.values.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            match v {
                KeyValue::Int(n) => sql.bind(*n),
                KeyValue::Text(s) => sql.bind(s.clone()),
            };
        }
        sql.push(")");
        sql
    }
}

/// A validated `first`/`after`/`last`/`before`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    pub size: u64,
    pub cursor: Option<Cursor>,
    pub backward: bool,
}

impl Window {
    pub fn parse(
        order: &Order,
        first: Option<i32>,
        after: Option<&str>,
        last: Option<i32>,
        before: Option<&str>,
    ) -> AppResult<Self> {
        let size = |field: &str, n: i32| {
            if !(0..=MAX_PAGE_SIZE).contains(&n) {
                return Err(AppError::bad_input(
                    field,
                    format!("must be between 0 and {MAX_PAGE_SIZE}"),
                ));
            }
            Ok(n as u64)
        };
        let cursor = |field: &str, raw: &str| Cursor::parse(field, raw, order.tag, &order.shape());
        if first.is_some() && last.is_some() {
            return Err(AppError::bad_input("last", "cannot be combined with first"));
        }
        if after.is_some() && before.is_some() {
            return Err(AppError::bad_input("before", "cannot be combined with after"));
        }
        let backward = last.is_some() || before.is_some();
        if backward && first.is_some() {
            return Err(AppError::bad_input("before", "goes with last, not first"));
        }
        if backward && after.is_some() {
            return Err(AppError::bad_input("after", "goes with first, not last"));
        }
        let (field, n, raw) = if backward {
            ("last", last, before)
        } else {
            ("first", first, after)
        };
        let cursor_field = if backward { "before" } else { "after" };
        Ok(Self {
            size: size(field, n.unwrap_or(DEFAULT_PAGE_SIZE))?,
            cursor: raw.map(|raw| cursor(cursor_field, raw)).transpose()?,
            backward,
        })
    }
}

/// A row that can be paged: it knows its key values in an ordering.
pub trait Row: FromQueryResult + Clone + Send + Sync + 'static {
    fn key(&self, order: &Order) -> Vec<KeyValue>;

    /// The row's model, from its unprefixed columns: by name, unless the model reads faster by position
    /// ([`crate::store::decode`]).
    fn decode(row: &QueryResult) -> Result<Self, sea_orm::DbErr> {
        Self::from_query_result(row, "")
    }
}

/// One page of rows with what `pageInfo` and `totalCount` need.
#[derive(Clone, Debug)]
pub struct Page<M> {
    /// Shared, not copied: a page is handed out of the request's loader cache once per parent that asks.
    pub rows: std::sync::Arc<[M]>,
    pub order: Order,
    pub has_next: bool,
    pub has_previous: bool,
    pub total: Total,
    /// The count once run, shared by `totalCount` and `totalCountIsExact`.
    pub counted: std::sync::Arc<tokio::sync::OnceCell<Count>>,
}

/// The total of a page's list: known from the page's own statement, or a count run only if asked for.
#[derive(Clone, Debug)]
pub enum Total {
    Known(i64),
    Deferred(Sql),
    /// A count that stops after `limit` rows (its statement reads at most `limit + 1`): a search for a common
    /// prefix must not cost as many rows as it matches.
    Bounded(Sql, i64),
    /// One parent's entry in the counts of a batch of parents, run once for all of them by the first
    /// `totalCount` asked.
    Grouped(std::sync::Arc<GroupedCount>, i64),
}

/// The totals of many parents' lists in one `GROUP BY` statement, run at most once.
#[derive(Debug)]
pub struct GroupedCount {
    sql: Sql,
    counts: tokio::sync::OnceCell<HashMap<i64, i64>>,
}

impl GroupedCount {
    async fn of(&self, db: &DatabaseConnection, parent: i64) -> AppResult<i64> {
        let counts = self
            .counts
            .get_or_try_init(|| async {
                let rows = super::reader::query_all(db, self.sql.clone().build(db.get_database_backend())).await?;
                rows.iter()
                    .map(|r| Ok((r.try_get_by_index::<i64>(0)?, r.try_get_by_index::<i64>(1)?)))
                    .collect::<AppResult<HashMap<i64, i64>>>()
            })
            .await?;
        Ok(counts.get(&parent).copied().unwrap_or(0))
    }
}

impl Total {
    /// Runs the count if it is not known.
    pub async fn count(&self, db: &DatabaseConnection) -> AppResult<Count> {
        let run = |sql: &Sql| {
            let statement = sql.clone().build(db.get_database_backend());
            async move {
                let row = super::reader::query_one(db, statement).await?;
                AppResult::Ok(row.map(|r| r.try_get_by_index::<i64>(0)).transpose()?.unwrap_or(0))
            }
        };
        Ok(match self {
            Self::Known(n) => Count { value: *n, exact: true },
            Self::Deferred(sql) => Count {
                value: run(sql).await?,
                exact: true,
            },
            Self::Bounded(sql, limit) => {
                let n = run(sql).await?;
                Count {
                    value: n.min(*limit),
                    exact: n <= *limit,
                }
            }
            Self::Grouped(counts, parent) => Count {
                value: counts.of(db, *parent).await?,
                exact: true,
            },
        })
    }
}

/// A list's total as `totalCount` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Count {
    /// The number of items, or the bound when there are more.
    pub value: i64,
    /// False when the list holds more than `value` items and counting stopped there.
    pub exact: bool,
}

impl<M: Row> Page<M> {
    pub fn cursor_of(&self, row: &M) -> String {
        Cursor {
            tag: self.order.tag.to_owned(),
            values: row.key(&self.order),
        }
        .encode()
    }

    pub async fn total(&self, db: &DatabaseConnection) -> AppResult<i64> {
        Ok(self.count(db).await?.value)
    }

    /// The list's total, counted once per page however many fields ask.
    pub async fn count(&self, db: &DatabaseConnection) -> AppResult<Count> {
        Ok(*self.counted.get_or_try_init(|| self.total.count(db)).await?)
    }

    fn empty(order: Order, window: &Window) -> Self {
        Self {
            rows: Vec::new().into(),
            order,
            has_next: window.backward && window.cursor.is_some(),
            has_previous: !window.backward && window.cursor.is_some(),
            total: Total::Known(0),
            counted: Default::default(),
        }
    }

    /// Trims the look-ahead row and puts a backward page back in list order.
    fn finish(mut rows: Vec<M>, order: Order, window: &Window, total: Total) -> Self {
        let more = rows.len() as u64 > window.size;
        rows.truncate(window.size as usize);
        if window.backward {
            rows.reverse();
        }
        let had_cursor = window.cursor.is_some();
        Self {
            rows: rows.into(),
            order,
            has_next: if window.backward { had_cursor } else { more },
            has_previous: if window.backward { more } else { had_cursor },
            total,
            counted: Default::default(),
        }
    }
}

/// What [`ListQuery::page_within_bound`] found.
pub enum Bounded<M> {
    /// The list is within its bound: the page, with the exact count `found`.
    Within { page: Page<M>, found: i64 },
    /// The list holds more than the bound `limit`. `sparse`: its matches were all found through the narrowed
    /// filter ([`ListQuery::narrowed`]) within the probe's limit, so a page of them is cheapest read the same
    /// way ([`ListQuery::narrow`]); `page`: that page, when the caller gave its ordering and window.
    Over {
        limit: i64,
        sparse: bool,
        page: Option<Page<M>>,
    },
    /// The list has no bound, or the window is empty: page it the usual way.
    Undecided,
}

/// A list to page: a table under alias `t`, its filter (scope included) and ordering.
pub struct ListQuery {
    pub table: &'static str,
    pub filter: Filter,
    pub order: Order,
    /// Where the root list's count stops (see [`Total::Bounded`]); `None` counts exactly.
    pub count_limit: Option<i64>,
    /// A derived table to read pages from instead of `table`, with the columns of `source_columns` (such as
    /// a rank the ordering needs) besides the table's; counts still read `table`.
    pub source: Option<Sql>,
    pub source_columns: &'static str,
    /// The ranking of `source` over the matches a statement already found ([`Self::page_within_bound`]'s
    /// `hits__`), so a page within the bound is ranked and cut from them instead of reading every match's row
    /// again; without it, a list with a `source` reads its matches' rows again for their rank.
    pub ranked_hits: Option<RankedHits>,
    /// The columns a page selects from `t` in place of the table's own (which [`crate::store::select_list`]
    /// gives): the same names in the same order, some of them as placeholders.
    pub columns: Option<&'static str>,
    /// The same list found through a narrower index, for the statements that look for its matches up to a
    /// bound (a search's, through the index of word pairs).
    pub narrowed: Option<Narrowed>,
}

/// [`ListQuery::source`]'s ranking, made over the rows of `hits__` (alias `m`) instead of the table's.
pub struct RankedHits {
    /// The table's columns the ranking and the ordering read, besides `id` (`, t.a, t.b`): `hits__` carries
    /// them from the rows it found.
    pub columns: &'static str,
    /// A derived table over `hits__` with the same columns as `source` for the ordering.
    pub source: Sql,
}

/// A filter that selects the same rows as a list's own, through another index, and how many matches a probe
/// of the list reads with it.
pub struct Narrowed {
    pub filter: Filter,
    pub probe_limit: i64,
}

impl ListQuery {
    pub fn new(table: &'static str, filter: Filter, order: Order) -> Self {
        Self {
            table,
            filter,
            order,
            count_limit: None,
            source: None,
            source_columns: "",
            ranked_hits: None,
            columns: None,
            narrowed: None,
        }
    }

    /// Pages the list through its narrowed filter, if it has one: for a list whose matches are few enough
    /// ([`Bounded::Over`]'s `sparse`) that reading them all through that index beats walking another.
    pub fn narrow(&mut self) {
        if let Some(narrowed) = self.narrowed.take() {
            self.filter = narrowed.filter;
        }
    }

    /// The filter that finds the list's matches up to a bound.
    fn finding_filter(&self) -> &Filter {
        self.narrowed.as_ref().map_or(&self.filter, |n| &n.filter)
    }

    /// The columns a page selects from `t`.
    fn select_list(&self) -> String {
        let mut list = self
            .columns
            .unwrap_or_else(|| crate::store::select_list(self.table))
            .to_owned();
        if self.source.is_some() {
            list.push_str(self.source_columns);
        }
        list
    }

    /// `FROM <table or source> t` for pages.
    fn push_from(&self, sql: &mut Sql) {
        sql.push(" FROM ");
        match &self.source {
            Some(source) => sql.append(source),
            None => sql.push(self.table),
        };
        sql.push(" t");
    }

    /// The list's total (bounded by `count_limit`), without a page.
    pub async fn count(&self, db: &DatabaseConnection) -> AppResult<Count> {
        self.count_total().count(db).await
    }

    /// The statement of the list's total: `COUNT(*)`, or a count of at most `limit + 1` rows.
    fn count_total(&self) -> Total {
        match self.count_limit {
            None => {
                let mut count = Sql::new(&format!("SELECT COUNT(*) FROM {} t", self.table));
                self.filter.render_where(&mut count);
                Total::Deferred(count)
            }
            Some(limit) => {
                let mut count = Sql::new(&format!("SELECT COUNT(*) FROM (SELECT 1 FROM {} t", self.table));
                self.finding_filter().render_where(&mut count);
                // The bound is the server's constant, written into the statement: a bound `LIMIT` would leave a
                // prepared statement's generic plan guessing, and it then prefers walking the table.
                count.push(&format!(" LIMIT {}) c", limit + 1));
                Total::Bounded(count, limit)
            }
        }
    }

    /// A page of the whole list.
    /// A page of the whole list. `with_total`: the query selects the list's `totalCount`; an exact total then
    /// comes in the page's statement (an uncorrelated subquery, run once), not in a statement of its own.
    pub async fn page<M: Row>(&self, db: &DatabaseConnection, window: &Window, with_total: bool) -> AppResult<Page<M>> {
        if window.size == 0 {
            return Ok(Page {
                total: self.count_total(),
                ..Page::empty(self.order, window)
            });
        }
        let inline_total = with_total && self.count_limit.is_none();
        let sql = self.page_sql(window, inline_total);
        let rows = decode_rows::<M>(db, sql).await?;
        let total = self.total_of(rows.first().map(|(_, row)| row), inline_total)?;
        Ok(Page::finish(
            rows.into_iter().map(|(m, _)| m).collect(),
            self.order,
            window,
            total,
        ))
    }

    /// The total of a page whose statement carried it as `total__` on its first row (`inline_total`); with no
    /// row to carry it (an empty page, or past the last cursor), a count run on its own if asked.
    fn total_of(&self, first: Option<&QueryResult>, inline_total: bool) -> AppResult<Total> {
        Ok(match first {
            Some(row) if inline_total => Total::Known(row.try_get("", "total__")?),
            _ => self.count_total(),
        })
    }

    /// A page of the whole list with rows of other tables joined to each of its rows, in one statement: the
    /// page's statement as the derived table `a`, then `columns` (each named, after the page's own) from
    /// `joins` (`LEFT JOIN`s over `a`), in the page's order. Returns the page and every row as it came (page
    /// columns first, by the names of [`Self::page`]'s rows), for the caller to read the joined columns from.
    pub async fn page_joined<M: Row>(
        &self,
        db: &DatabaseConnection,
        window: &Window,
        with_total: bool,
        columns: &str,
        joins: &Sql,
    ) -> AppResult<(Page<M>, Vec<QueryResult>)> {
        if window.size == 0 {
            return Ok((self.page(db, window, with_total).await?, Vec::new()));
        }
        let inline_total = with_total && self.count_limit.is_none();
        let mut sql = Sql::new("SELECT a.*");
        sql.push(columns).push(" FROM (");
        sql.append(&self.page_sql(window, inline_total))
            .push(") a")
            .append(joins);
        sql.push(&format!(" ORDER BY {}", self.order.render("a", window.backward)));
        let rows = super::reader::query_all(db, sql.build(db.get_database_backend())).await?;
        let total = self.total_of(rows.first(), inline_total)?;
        let models = rows.iter().map(M::decode).collect::<Result<Vec<M>, _>>()?;
        Ok((Page::finish(models, self.order, window, total), rows))
    }

    /// A page of a list with a count bound (`count_limit`), in one statement, when the list is within the bound:
    /// the list's rows (at most the bound and one more) are found once by its filter and counted, and only when
    /// there are no more than the bound is the page cut from them in the list's order. This is how a search is
    /// ranked: ranking reads every match, which is affordable only below the bound, and finding the matches is
    /// the costly part (the search index), so it is done once instead of once to count and once to page. Past
    /// the bound nothing is ranked (the page's condition on the count is decided once, before any row is read).
    /// The statement always returns a row: the count, with the page's columns `NULL` when there is no page.
    ///
    /// `past`: the ordering (by id alone) and window of the page the caller reads when the list is past the
    /// bound. When the matches are sparse (all found through the narrowed filter within the probe's limit),
    /// that page is cut from them in the same statement ([`Bounded::Over`]'s `page`) instead of being looked
    /// for again: its ids from the matches' ids, then its rows by key.
    pub async fn page_within_bound<M: Row>(
        &self,
        db: &DatabaseConnection,
        window: &Window,
        past: Option<(Order, &Window)>,
    ) -> AppResult<Bounded<M>> {
        let Some(limit) = self.count_limit else {
            return Ok(Bounded::Undecided);
        };
        if window.size == 0 {
            return Ok(Bounded::Undecided);
        }
        let mut sql = Sql::new(&format!(
            "WITH hits__ AS MATERIALIZED (SELECT t.id{} FROM {} t",
            self.hit_columns(),
            self.table
        ));
        self.finding_filter().render_where(&mut sql);
        // A constant, as in the count's statement (`count_total`). Through a narrowed filter the probe reads
        // further, to tell a sparse list past the bound from a dense one.
        let probe_limit = self.narrowed.as_ref().map_or(limit, |n| n.probe_limit.max(limit));
        sql.push(&format!(" LIMIT {}", probe_limit + 1));
        sql.push("), found__ AS MATERIALIZED (SELECT COUNT(*) AS total__ FROM hits__)");
        sql.push(" SELECT found__.total__, x.* FROM found__ LEFT JOIN (");
        let mut within = Sql::new("(SELECT total__ FROM found__) <= ");
        within.bind(limit);
        self.push_page_of_hits(&mut sql, self.order, window, within);
        let past = past.filter(|(order, _)| probe_limit > limit && matches!(order.columns, [("id", _)]));
        if let Some((order, past_window)) = past {
            let mut sparse = Sql::new("(SELECT total__ FROM found__) > ");
            sparse.bind(limit).push(" AND (SELECT total__ FROM found__) <= ");
            sparse.bind(probe_limit);
            sql.push(" UNION ALL ");
            self.push_page_of_hits(&mut sql, order, past_window, sparse);
        }
        // The join keeps one row when there is no page; each branch numbers its rows in its page's order.
        sql.push(") x ON 1 = 1 ORDER BY x.ord__");
        let rows = super::reader::query_all(db, sql.build(db.get_database_backend())).await?;
        let found: i64 = match rows.first() {
            Some(row) => row.try_get("", "total__")?,
            None => 0,
        };
        let mut page = Vec::with_capacity(rows.len());
        for row in &rows {
            // The left join's empty side: no page (no match, nothing past the cursor, or past the bound).
            if row.try_get::<Option<i64>>("", "id")?.is_some() {
                page.push(M::decode(row)?);
            }
        }
        if found > limit {
            let sparse = self.narrowed.is_some() && found <= probe_limit;
            let page = match past {
                Some((order, past_window)) if sparse => {
                    Some(Page::finish(page, order, past_window, self.count_total()))
                }
                _ => None,
            };
            return Ok(Bounded::Over { limit, sparse, page });
        }
        let page = Page::finish(page, self.order, window, Total::Known(found));
        Ok(Bounded::Within { page, found })
    }

    /// The columns `hits__` carries besides `id` (see [`Self::hits_in_order`]): those of [`RankedHits`], only
    /// for a list found through its narrowed filter, whose matches are likely few enough to be ranked within
    /// the bound. An unnarrowed search is mostly one broad word past the bound, where carrying them costs and
    /// serves nothing (0.3 ms per 1,000 matches: "nguyen" 2.8 → 3.1 ms).
    fn hit_columns(&self) -> &'static str {
        match &self.ranked_hits {
            Some(ranked) if self.narrowed.is_some() => ranked.columns,
            _ => "",
        }
    }

    /// Where a page in `order` is cut from the matches `hits__` holds, when it carries what `order` reads: an
    /// ordering by id always; the list's own ranking when `hits__` carries its columns ([`Self::hit_columns`]).
    fn hits_in_order(&self, order: Order) -> Option<Sql> {
        if matches!(order.columns, [("id", _)]) {
            return Some(Sql::new("hits__"));
        }
        match &self.ranked_hits {
            Some(ranked) if order == self.order && self.narrowed.is_some() => Some(ranked.source.clone()),
            _ => None,
        }
    }

    /// One branch of [`Self::page_within_bound`]'s page: the rows among `hits__` in `order` after the window's
    /// cursor, when `condition` (on the count) holds, numbered `ord__` in the page's order. The page's ids are
    /// cut from `hits__` first where it carries what the order reads ([`Self::hits_in_order`]), and only
    /// their rows are read: reading every match's row again to order them cost as much as finding them (670
    /// matches of "nguyen van an" on the province set: 3.4 ms of a 7.9 ms statement), and given all the
    /// matches' ids for an order by id, the planner walked the primary key in order, probing them (38 ms
    /// instead of 3 for "tran thi hoa" at national scale).
    fn push_page_of_hits(&self, sql: &mut Sql, order: Order, window: &Window, condition: Sql) {
        sql.push(&format!(
            "(SELECT s.*, row_number() OVER (ORDER BY {}) AS ord__ FROM (SELECT ",
            order.render("s", window.backward)
        ));
        sql.push(&self.select_list());
        self.push_from(sql);
        // The page's rows among the matches after the cursor, when `condition` holds.
        let mut cut = Filter::default();
        cut.and(condition.clone());
        if let Some(cursor) = &window.cursor {
            cut.and(order.keyset(cursor, window.backward));
        }
        if let Some(hits) = self.hits_in_order(order) {
            // The matches under the alias `t`, which the keyset names.
            let mut ids = Sql::new("t.id IN (SELECT t.id FROM ");
            ids.append(&hits).push(" t");
            cut.render_where(&mut ids);
            ids.push(&format!(" ORDER BY {} LIMIT ", order.render("t", window.backward)));
            ids.bind((window.size + 1) as i64).push(")");
            // The condition on the count also guards the rows' read, so that a branch not taken reads nothing
            // whatever plan the rows' read gets.
            cut = Filter::default();
            cut.and(condition);
            cut.and(ids);
        } else {
            cut.and_text("t.id IN (SELECT id FROM hits__)");
        }
        cut.render_where(sql);
        sql.push(&format!(" ORDER BY {} LIMIT ", order.render("t", window.backward)));
        sql.bind((window.size + 1) as i64);
        sql.push(") s)");
    }

    /// The statement of a root page, with the list's total as `total__` when `with_total`.
    fn page_sql(&self, window: &Window, with_total: bool) -> Sql {
        let mut filter = self.filter.clone();
        if let Some(cursor) = &window.cursor {
            filter.and(self.order.keyset(cursor, window.backward));
        }
        let mut sql = Sql::new(&format!("SELECT {}", self.select_list()));
        if with_total {
            // The same count as `count_total`'s: the list's filter without the cursor, over the table.
            sql.push(&format!(", (SELECT COUNT(*) FROM {} t", self.table));
            self.filter.render_where(&mut sql);
            sql.push(") AS total__");
        }
        self.push_from(&mut sql);
        filter.render_where(&mut sql);
        sql.push(&format!(" ORDER BY {} LIMIT ", self.order.render("t", window.backward)));
        sql.bind((window.size + 1) as i64);
        sql
    }

    /// PostgreSQL: each parent's page is its own `ORDER BY … LIMIT` inside a `LATERAL` join over the parent
    /// ids, so it reads the rows it returns from the parent's index instead of numbering every child of every
    /// parent (measured on the demo's tree page: 9.6 ms for 112 chapters' first 10 members, against 44.8 ms for
    /// the window form). The ids travel as one text parameter, so the statement is prepared once whatever the
    /// number of parents, and planned once per connection (see the `LIMIT` on the ids). When the query selects
    /// `totalCount`, each parent's count is one more `LATERAL` subquery of the same statement (an index-only
    /// count over the parent's rows); otherwise there is none, and a total asked after all is one `GROUP BY`
    /// statement for the whole batch.
    async fn pages_by_parent_lateral<M: Row>(
        &self,
        db: &DatabaseConnection,
        parent_column: &'static str,
        parents: &[i64],
        window: &Window,
        with_total: bool,
    ) -> AppResult<HashMap<i64, Page<M>>> {
        let ids = parents.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let mut sql = Sql::new("SELECT p.parent__");
        if with_total {
            sql.push(", c.total__");
        }
        sql.push(", x.* FROM (SELECT CAST(unnest(string_to_array(");
        // The `LIMIT` is the number of ids, so it cuts nothing; it is there for the planner. A prepared
        // statement's generic plan cannot count the ids in a parameter and guesses ten, so it looked ten times
        // dearer than the plan made for the actual ids, and PostgreSQL planned the statement again on every
        // execution (a member's awards page: 0.13 ms of planning for 0.03 ms of execution, measured). A
        // parameter `LIMIT` is guessed at a tenth of its input, one id here, so the generic plan (the same nested
        // loop over the parents' index) is taken after the first few executions and planning stops.
        sql.bind(ids.clone()).push(", ',')) AS BIGINT) AS parent__ LIMIT ");
        sql.bind(parents.len() as i64).push(") p");
        self.push_lateral_pages(&mut sql, parent_column, window, with_total);
        let counts = self.grouped_count(parent_column, ids);

        let mut grouped: HashMap<i64, (Vec<M>, Option<i64>)> = HashMap::new();
        let rows = super::reader::query_all(db, sql.build(db.get_database_backend())).await?;
        for row in rows {
            let parent: i64 = row.try_get("", "parent__")?;
            let entry = grouped.entry(parent).or_default();
            if with_total {
                entry.1 = Some(row.try_get("", "total__")?);
            }
            // The left join's empty side: no row past the cursor.
            if row.try_get::<Option<i64>>("", "id")?.is_some() {
                entry.0.push(M::decode(&row)?);
            }
        }
        Ok(parents
            .iter()
            .map(|p| {
                let (rows, total) = grouped.remove(p).unwrap_or_default();
                let total = match total {
                    Some(n) => Total::Known(n),
                    None => Total::Grouped(counts.clone(), *p),
                };
                (*p, Page::finish(rows, self.order, window, total))
            })
            .collect())
    }

    /// The `LATERAL` joins of a pages-by-parent statement, after `FROM <parents> p` where `p.parent__` is a
    /// parent's id: the parent's total as `c.total__` when `with_total`, and its page (past the window's cursor,
    /// one row more than the window) as `x`, left-joined so that a parent with an empty page still comes back.
    fn push_lateral_pages(&self, sql: &mut Sql, parent_column: &'static str, window: &Window, with_total: bool) {
        if with_total {
            sql.push(&format!(
                " CROSS JOIN LATERAL (SELECT COUNT(*) AS total__ FROM {} t",
                self.table
            ));
            let mut filter = self.filter.clone();
            filter.and_text(&format!("t.{parent_column} = p.parent__"));
            filter.render_where(sql);
            sql.push(") c");
        }
        sql.push(" LEFT JOIN LATERAL (SELECT ").push(&self.select_list());
        self.push_from(sql);
        let mut filter = self.filter.clone();
        filter.and_text(&format!("t.{parent_column} = p.parent__"));
        if let Some(cursor) = &window.cursor {
            filter.and(self.order.keyset(cursor, window.backward));
        }
        filter.render_where(sql);
        sql.push(&format!(" ORDER BY {} LIMIT ", self.order.render("t", window.backward)));
        sql.bind((window.size + 1) as i64);
        sql.push(") x ON TRUE");
    }

    /// The totals of the parents `ids` (comma-separated), one `GROUP BY` statement run only if a total is asked.
    fn grouped_count(&self, parent_column: &'static str, ids: String) -> std::sync::Arc<GroupedCount> {
        let mut count = Sql::new(&format!("SELECT t.{parent_column}, COUNT(*) FROM {} t", self.table));
        let mut count_filter = self.filter.clone();
        let mut parent_in = Sql::new(&format!("t.{parent_column} = ANY(CAST(string_to_array("));
        parent_in.bind(ids).push(", ',') AS BIGINT[]))");
        count_filter.and(parent_in);
        count_filter.render_where(&mut count);
        count.push(&format!(" GROUP BY t.{parent_column}"));
        std::sync::Arc::new(GroupedCount {
            sql: count,
            counts: tokio::sync::OnceCell::new(),
        })
    }

    /// PostgreSQL: rows of a parent and, in the same statement, the page of this list under each of them (the
    /// rows whose `parent_column` is the parent's id), so a record and its first page cost one round trip.
    /// `parent` is a statement whose rows carry the parent's id as `parent__`; each row of the answer is a
    /// parent row (its columns first, as `parent` names them) followed by one row of the page, its columns
    /// prefixed `x_` (`NULL` where the page is empty). Returns the parent rows, one per parent in `parent`'s
    /// order, and each parent's page.
    pub async fn with_parents<M: Row + super::decode::ByPosition>(
        &self,
        db: &DatabaseConnection,
        parent: Sql,
        parent_column: &'static str,
        window: &Window,
        with_total: bool,
    ) -> AppResult<Vec<(QueryResult, Page<M>)>> {
        let mut sql = Sql::new("SELECT p.*");
        if with_total {
            sql.push(", c.total__");
        }
        sql.push(&super::members::prefixed_columns::<<M as sea_orm::ModelTrait>::Entity>(
            "x",
        ));
        sql.push(" FROM (").append(&parent).push(") p");
        self.push_lateral_pages(&mut sql, parent_column, window, with_total);
        let rows = super::reader::query_all(db, sql.build(db.get_database_backend())).await?;
        let mut parents: Vec<(i64, QueryResult, Vec<M>, Option<i64>)> = Vec::new();
        for row in rows {
            let id: i64 = row.try_get("", "parent__")?;
            let item = row
                .try_get::<Option<i64>>("", "x_id")?
                .map(|_| super::decode::decode::<M>(&row, "x_"))
                .transpose()?;
            let total = if with_total {
                Some(row.try_get("", "total__")?)
            } else {
                None
            };
            match parents.iter_mut().find(|p| p.0 == id) {
                Some(seen) => seen.2.extend(item),
                None => parents.push((id, row, item.into_iter().collect(), total)),
            }
        }
        let ids = parents.iter().map(|p| p.0.to_string()).collect::<Vec<_>>().join(",");
        let counts = self.grouped_count(parent_column, ids);
        Ok(parents
            .into_iter()
            .map(|(id, row, items, total)| {
                let total = match total {
                    Some(n) => Total::Known(n),
                    None => Total::Grouped(counts.clone(), id),
                };
                (row, Page::finish(items, self.order, window, total))
            })
            .collect())
    }

    /// The database's plan for a root page, one line per step (for tests that pin index use).
    pub async fn explain(&self, db: &DatabaseConnection, window: &Window) -> AppResult<String> {
        let backend = db.get_database_backend();
        let (prefix, column) = match backend {
            sea_orm::DbBackend::Postgres => ("EXPLAIN ", 0),
            _ => ("EXPLAIN QUERY PLAN ", 3),
        };
        let mut sql = Sql::new(prefix);
        sql.append(&self.page_sql(window, false));
        let rows = db.query_all_raw(sql.build(backend)).await?;
        Ok(rows
            .iter()
            .filter_map(|r| r.try_get_by_index::<String>(column).ok())
            .collect::<Vec<_>>()
            .join("\n"))
    }

    /// The pages of many parents (rows whose `parent_column` is in `parents`) in one statement.
    pub async fn pages_by_parent<M: Row>(
        &self,
        db: &DatabaseConnection,
        parent_column: &'static str,
        parents: &[i64],
        window: &Window,
        with_total: bool,
    ) -> AppResult<HashMap<i64, Page<M>>> {
        if db.get_database_backend() == sea_orm::DbBackend::Postgres {
            return self
                .pages_by_parent_lateral(db, parent_column, parents, window, with_total)
                .await;
        }
        let mut filter = self.filter.clone();
        let mut parent_in = Sql::new(&format!("t.{parent_column} IN "));
        parent_in.bind_list(parents);
        filter.and(parent_in);

        // Rows past the cursor rank first; the first row of a parent always comes back, so a parent whose page
        // is empty past the cursor still reports its total. The parent's id comes as `parent__`: a page may
        // select only some of the table's columns, without the parent's (`members::Columns::Leaves`).
        let mut sql = Sql::new(&format!(
            "SELECT * FROM (SELECT s.*, ROW_NUMBER() OVER (PARTITION BY s.parent__ ORDER BY s.after__ DESC, {}) AS rn__ FROM (SELECT {}, t.{parent_column} AS parent__, COUNT(*) OVER (PARTITION BY t.{parent_column}) AS total__, ",
            self.order.render("s", window.backward),
            self.select_list(),
        ));
        match &window.cursor {
            Some(cursor) => {
                sql.push("CAST(CASE WHEN ");
                sql.append(&self.order.keyset(cursor, window.backward));
                sql.push(" THEN 1 ELSE 0 END AS BIGINT)");
            }
            None => {
                sql.push("CAST(1 AS BIGINT)");
            }
        }
        sql.push(" AS after__");
        self.push_from(&mut sql);
        filter.render_where(&mut sql);
        sql.push(") s) r WHERE (r.after__ = 1 AND r.rn__ <= ");
        sql.bind((window.size + 1) as i64);
        sql.push(") OR r.rn__ = 1 ORDER BY r.parent__, r.rn__");

        let mut grouped: HashMap<i64, (Vec<M>, i64)> = HashMap::new();
        for (model, row) in decode_rows::<M>(db, sql).await? {
            let parent: i64 = row.try_get("", "parent__")?;
            let total: i64 = row.try_get("", "total__")?;
            let past_cursor: i64 = row.try_get("", "after__")?;
            let entry = grouped.entry(parent).or_insert_with(|| (Vec::new(), total));
            if past_cursor == 1 && window.size > 0 {
                entry.0.push(model);
            }
        }
        Ok(parents
            .iter()
            .map(|p| {
                let page = match grouped.remove(p) {
                    Some((rows, total)) => Page::finish(rows, self.order, window, Total::Known(total)),
                    None => Page::empty(self.order, window),
                };
                (*p, page)
            })
            .collect())
    }
}

/// Runs a statement and decodes each row with `decode`, keeping the raw row for extra columns.
async fn decoded<M>(
    db: &DatabaseConnection,
    sql: Sql,
    decode: impl Fn(&QueryResult) -> Result<M, sea_orm::DbErr>,
) -> AppResult<Vec<(M, QueryResult)>> {
    let rows = super::reader::query_all(db, sql.build(db.get_database_backend())).await?;
    rows.into_iter().map(|row| Ok((decode(&row)?, row))).collect()
}

/// Runs a statement and decodes each row as `M` by name, keeping the raw row for extra columns.
pub async fn query_rows<M: FromQueryResult>(db: &DatabaseConnection, sql: Sql) -> AppResult<Vec<(M, QueryResult)>> {
    decoded(db, sql, |row| M::from_query_result(row, "")).await
}

/// [`query_rows`] for rows of a [`Row`] model, each decoded as [`Row::decode`] does.
async fn decode_rows<M: Row>(db: &DatabaseConnection, sql: Sql) -> AppResult<Vec<(M, QueryResult)>> {
    decoded(db, sql, M::decode).await
}

/// Runs a statement and decodes each row as `M`.
pub async fn query_models<M: FromQueryResult>(db: &DatabaseConnection, sql: Sql) -> AppResult<Vec<M>> {
    Ok(query_rows::<M>(db, sql).await?.into_iter().map(|(m, _)| m).collect())
}

/// [`query_models`] for a [`Row`] model, decoded as [`Row::decode`] does.
pub async fn decode_models<M: Row>(db: &DatabaseConnection, sql: Sql) -> AppResult<Vec<M>> {
    Ok(decode_rows::<M>(db, sql).await?.into_iter().map(|(m, _)| m).collect())
}
