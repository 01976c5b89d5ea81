//! Rows of `changes` (a migration table without an entity), the change log: what [`crate::realtime::changes`]
//! records inside every mutation and what `Query.changes` and the subscription hub read, with the SQL
//! condition that keeps the rows a viewer may see, and the sequencer that gives committed rows their place in
//! the log ([`sequence`]). Why rows are numbered after they commit, and who sees which change, is told in
//! [`crate::realtime::changes`].

use chrono::{DateTime, Utc};
use entity::award::GrantingLevel;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QueryResult, TransactionTrait, Value};

use crate::auth::Viewer;
use crate::auth::policy::{ReadScope, Subtree, level_name, proposals_condition, ratings_condition};
use crate::ids::NodeKind;
use crate::sql::Sql;

const TABLE: &str = "changes";
/// The audit trail's table: each change row points at the audit event of the mutation that made it.
const EVENTS: &str = "audit_events";

/// The advisory lock key that lets one sequencer at a time number change rows on PostgreSQL (across instances).
pub const SEQUENCER_LOCK: i64 = 727_275;
/// The most rows one run of the sequencer numbers (a later run numbers the rest).
const SEQUENCE_BATCH: i64 = 5_000;
/// The PostgreSQL channel a committed change is announced on (the payload is empty: listeners read the log).
pub const CHANNEL: &str = "hoi_ccb_changes";

/// Where a record is: province, base, chapter (`None` where it does not apply).
pub type Place = (Option<i64>, Option<i64>, Option<i64>);

/// One committed change of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeRow {
    /// Its place in the log (commit order): what a cursor holds.
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub action: String,
    pub kind: NodeKind,
    pub target_id: i64,
    /// The record no longer exists for anyone: revoked, deceased, removed.
    pub gone: bool,
    /// Where the record is now: province, base, chapter (`None` where it does not apply).
    pub now: Place,
    /// Where it was before this change.
    pub before: Place,
    /// The member the record is about (a member, an award's, a proposal's or a rating's member), if any.
    pub member_id: Option<i64>,
    /// For a proposal: the level it had reached by this change.
    pub level: Option<GrantingLevel>,
}

/// One change-log row to write.
pub struct Entry {
    /// The mutation's action (`UPDATE_MEMBER`, …).
    pub action: &'static str,
    pub kind: NodeKind,
    pub id: i64,
    pub gone: bool,
    pub now: Place,
    pub was: Place,
    pub member_id: Option<i64>,
    pub level: Option<GrantingLevel>,
}

impl Entry {
    /// A record that stays where it is.
    pub fn fixed(
        action: &'static str,
        kind: NodeKind,
        id: i64,
        gone: bool,
        place: Place,
        member_id: Option<i64>,
    ) -> Self {
        Self {
            action,
            kind,
            id,
            gone,
            now: place,
            was: place,
            member_id,
            level: None,
        }
    }
}

/// The condition on member change rows (alias `t`): the member is in `scope` now or was before.
fn members_visible(scope: Subtree) -> Option<Sql> {
    let (column, id) = match scope {
        Subtree::All => return None,
        Subtree::Nothing => return Some(Sql::new("1 = 0")),
        Subtree::Province(id) => ("province_id", id),
        Subtree::Base(id) => ("base_id", id),
        Subtree::Chapter(id) => ("chapter_id", id),
        Subtree::Member(id) => {
            let mut sql = Sql::new("t.target_id = ");
            sql.bind(id);
            return Some(sql);
        }
    };
    let mut sql = Sql::new(&format!("t.{column} = "));
    sql.bind(id).push(&format!(" OR t.old_{column} = ")).bind(id);
    Some(sql)
}

/// The SQL condition (alias `t`) keeping the change rows `viewer` (read scope `scope`) may see, by the rules of
/// [`ChangeRow::seen_by`]: every row of a public kind, and rows of members, proposals and ratings under their
/// own rules. `None`: the viewer sees every change.
pub fn visible(viewer: &Viewer, scope: &ReadScope) -> Option<Sql> {
    let scoped = [
        (NodeKind::Member, members_visible(scope.members)),
        (NodeKind::Proposal, proposals_condition(viewer)),
        (NodeKind::YearlyRating, ratings_condition(scope)),
    ];
    if scoped.iter().all(|(_, c)| c.is_none()) {
        return None;
    }
    let names: Vec<String> = scoped.iter().map(|(k, _)| format!("'{}'", k.name())).collect();
    let mut sql = Sql::new(&format!("(t.target_type NOT IN ({})", names.join(", ")));
    for (kind, condition) in &scoped {
        sql.push(&format!(" OR (t.target_type = '{}'", kind.name()));
        if let Some(c) = condition {
            sql.push(" AND (").append(c).push(")");
        }
        sql.push(")");
    }
    sql.push(")");
    Some(sql)
}

const COLUMNS: &str = "t.seq, t.at, t.action, t.target_type, t.target_id, t.gone, t.province_id, t.base_id, \
                       t.chapter_id, t.old_province_id, t.old_base_id, t.old_chapter_id, t.member_id, t.level";

/// The kinds the change log records.
fn kind_of(name: &str) -> Option<NodeKind> {
    NodeKind::from_name(name).filter(|k| !matches!(k, NodeKind::Account | NodeKind::Transfer))
}

fn level_of(name: Option<String>) -> Option<GrantingLevel> {
    [GrantingLevel::Base, GrantingLevel::Province, GrantingLevel::Central]
        .into_iter()
        .find(|l| name.as_deref() == Some(level_name(*l)))
}

/// Change rows numbered after `after`, in order, at most `limit`, filtered by `condition`. Rows not yet numbered
/// are not read: call [`sequence`] first to read up to the last commit.
pub async fn read<C: ConnectionTrait>(
    db: &C,
    after: i64,
    limit: u64,
    condition: Option<Sql>,
) -> Result<Vec<ChangeRow>, DbErr> {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM {TABLE} t WHERE t.seq > "));
    sql.bind(after);
    if let Some(c) = condition {
        sql.push(" AND ").append(&c);
    }
    sql.push(" ORDER BY t.seq LIMIT ").bind(limit as i64);
    let rows = db.query_all_raw(sql.build(db.get_database_backend())).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let target_type: String = r.try_get_by_index(3)?;
        let Some(kind) = kind_of(&target_type) else {
            continue;
        };
        out.push(ChangeRow {
            seq: r.try_get_by_index(0)?,
            at: r.try_get_by_index(1)?,
            action: r.try_get_by_index(2)?,
            kind,
            target_id: r.try_get_by_index(4)?,
            gone: r.try_get_by_index(5)?,
            now: (r.try_get_by_index(6)?, r.try_get_by_index(7)?, r.try_get_by_index(8)?),
            before: (r.try_get_by_index(9)?, r.try_get_by_index(10)?, r.try_get_by_index(11)?),
            member_id: r.try_get_by_index(12)?,
            level: level_of(r.try_get_by_index(13)?),
        });
    }
    Ok(out)
}

/// How many change rows numbered after `after` pass `condition`.
pub async fn count<C: ConnectionTrait>(db: &C, after: i64, condition: Option<Sql>) -> Result<i64, DbErr> {
    let mut sql = Sql::new(&format!("SELECT COUNT(*) FROM {TABLE} t WHERE t.seq > "));
    sql.bind(after);
    if let Some(c) = condition {
        sql.push(" AND ").append(&c);
    }
    let row = db.query_one_raw(sql.build(db.get_database_backend())).await?;
    Ok(row.map(|r| r.try_get_by_index::<i64>(0)).transpose()?.unwrap_or(0))
}

/// The number of the newest numbered change (0 for an empty log). A change committed but not yet numbered will
/// be numbered above it, so a reader that starts from here misses nothing.
pub async fn head<C: ConnectionTrait>(db: &C) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(Sql::new(&format!("SELECT COALESCE(MAX(seq), 0) FROM {TABLE}")).build(db.get_database_backend()))
        .await?;
    Ok(row.map(|r| r.try_get_by_index::<i64>(0)).transpose()?.unwrap_or(0))
}

/// What one run of [`sequence`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sequenced {
    /// Change rows it numbered.
    pub numbered: u64,
    /// Statements it sent, as `db_statements_total` counts them (`BEGIN` and `COMMIT` are not).
    pub statements: u64,
}

/// Numbers the committed change rows that have no place in the log yet, in the order of their ids, after every
/// number already given, `SEQUENCE_BATCH` rows per transaction until none is left. On PostgreSQL only (SQLite
/// numbers a row as it writes it).
///
/// One sequencer at a time (an advisory lock, across instances), in a transaction of its own, so numbers are
/// given in increasing order and each run's become visible at once: a reader that sees number N has seen every
/// number below it, and a number is only ever given to a row already committed. The lock is taken before the
/// statement that numbers, so that statement's snapshot sees every number an earlier run committed. A row
/// committed during a run is numbered by the next. When nothing is waiting (the common case for a reader) it
/// costs one probe of a partial index holding only the rows not yet numbered.
pub async fn sequence(db: &DatabaseConnection) -> Result<Sequenced, DbErr> {
    let backend = db.get_database_backend();
    if backend != DbBackend::Postgres {
        return Ok(Sequenced::default());
    }
    let waiting = db
        .query_one_raw(Sql::new(&format!("SELECT 1 FROM {TABLE} WHERE seq IS NULL LIMIT 1")).build(backend))
        .await?;
    let mut run = Sequenced {
        numbered: 0,
        statements: 1,
    };
    if waiting.is_none() {
        return Ok(run);
    }
    // At most SEQUENCE_BATCH rows per transaction (a large import's changes wait together), until none is left.
    loop {
        let txn = db.begin().await?;
        let mut lock = Sql::new("SELECT pg_advisory_xact_lock(");
        lock.bind(SEQUENCER_LOCK).push(")");
        txn.execute_raw(lock.build(backend)).await?;
        let mut number = Sql::new(&format!(
            "UPDATE {TABLE} c SET seq = n.seq FROM (SELECT id, (SELECT COALESCE(MAX(seq), 0) FROM {TABLE}) \
             + row_number() OVER (ORDER BY id) AS seq FROM {TABLE} WHERE seq IS NULL ORDER BY id LIMIT "
        ));
        number.bind(SEQUENCE_BATCH).push(") n WHERE c.id = n.id");
        let numbered = txn.execute_raw(number.build(backend)).await?.rows_affected();
        txn.commit().await?;
        run.numbered += numbered;
        run.statements += 2;
        if numbered < SEQUENCE_BATCH as u64 {
            return Ok(run);
        }
    }
}

/// The change-log row's columns and values, `audit_event_id` aside.
fn change_columns(change: &Entry) -> Vec<(&'static str, Value)> {
    vec![
        ("at", Utc::now().into()),
        ("action", change.action.into()),
        ("target_type", change.kind.name().into()),
        ("target_id", change.id.into()),
        ("gone", change.gone.into()),
        ("province_id", change.now.0.into()),
        ("base_id", change.now.1.into()),
        ("chapter_id", change.now.2.into()),
        ("old_province_id", change.was.0.into()),
        ("old_base_id", change.was.1.into()),
        ("old_chapter_id", change.was.2.into()),
        ("member_id", change.member_id.into()),
        ("level", change.level.map(level_name).into()),
    ]
}

/// A column of a row that a write's statement inserts beside the write (its audit event, its change-log row),
/// with what goes in it: a value known before the statement, bound, or an expression over the row the write
/// returned (`written`, [`write_with_event`]).
pub type Cell = (&'static str, Sql);

/// Cells of values known before the statement.
pub fn bound(row: Vec<(&'static str, Value)>) -> Vec<Cell> {
    row.into_iter()
        .map(|(column, value)| {
            let mut sql = Sql::new("");
            sql.bind(value);
            (column, sql)
        })
        .collect()
}

/// The change-log row of `change` as cells, `audit_event_id` aside.
pub fn change_cells(change: &Entry) -> Vec<Cell> {
    bound(change_columns(change))
}

/// Puts `with` in the cell of `column`, which `cells` must have (a row's columns are fixed by its table).
pub fn replace(cells: &mut [Cell], column: &str, with: Sql) {
    match cells.iter_mut().find(|(c, _)| *c == column) {
        Some(cell) => cell.1 = with,
        None => debug_assert!(false, "no column {column} among the cells"),
    }
}

/// `INSERT INTO <table> (<columns>) SELECT <cells> FROM <from>`.
fn insert_select(table: &str, cells: &[Cell], from: &str) -> Sql {
    let columns: Vec<&str> = cells.iter().map(|(c, _)| *c).collect();
    let mut sql = Sql::new(&format!("INSERT INTO {table} ({}) SELECT ", columns.join(", ")));
    for (i, (_, cell)) in cells.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.append(cell);
    }
    sql.push(&format!(" FROM {from}"));
    sql
}

/// Writes a mutation's audit event (`event`: the `audit_events` row, column by column) and, when the mutation
/// touched a synced record, its change-log row, inside the mutation's transaction; returns the event's id.
///
/// On PostgreSQL this is one statement: the event's insert as a data-modifying `WITH`, and the change row
/// inserted from it, not yet numbered (see [`sequence`]). It takes no lock: writers commit side by side, and
/// the commit is announced after it ([`announce`]). SQLite (one writer at a time) takes two statements, the
/// second numbering the row as it writes it.
pub async fn insert_with_event<C: ConnectionTrait>(
    db: &C,
    event: Vec<(&str, Value)>,
    change: Option<&Entry>,
) -> Result<i64, DbErr> {
    let backend = db.get_database_backend();
    let event_insert = {
        let mut sql = Sql::insert(EVENTS, event);
        sql.push(" RETURNING id");
        sql
    };
    let Some(change) = change else {
        return returned_id(db, event_insert.build(backend)).await;
    };
    if backend != DbBackend::Postgres {
        let event_id = returned_id(db, event_insert.build(backend)).await?;
        let (columns, values): (Vec<&str>, Vec<Value>) = change_columns(change).into_iter().unzip();
        let mut sql = Sql::new(&format!(
            "INSERT INTO {TABLE} (audit_event_id, seq, {}) SELECT ",
            columns.join(", ")
        ));
        sql.bind(event_id)
            .push(&format!(", (SELECT COALESCE(MAX(seq), 0) + 1 FROM {TABLE})"));
        for value in values {
            sql.push(", ").bind(value);
        }
        db.execute_raw(sql.build(backend)).await?;
        return Ok(event_id);
    }
    let mut sql = Sql::new("WITH event AS (");
    sql.append(&event_insert)
        .push(") ")
        .append(&change_from_event(change_cells(change), "event"))
        .push(" RETURNING audit_event_id");
    returned_id(db, sql.build(backend)).await
}

/// On PostgreSQL, the insert of a change-log row (`cells`) from the audit event a data-modifying `WITH` named
/// `event` returned, not yet numbered (see [`sequence`]), the rows of `from` in scope.
fn change_from_event(cells: Vec<Cell>, from: &str) -> Sql {
    let mut row = vec![("audit_event_id", Sql::new("event.id"))];
    row.extend(cells);
    insert_select(TABLE, &row, from)
}

/// Announces on [`CHANNEL`] that changes were committed, in a statement of its own, after their commit: every
/// listening instance then reads the log. Not inside the writing transaction: PostgreSQL serializes the commits
/// of transactions that `NOTIFY` (each holds a database-wide lock from its notification until its commit is
/// flushed), which would make every write wait for every other's flush; a transaction that only notifies writes
/// nothing to flush, so its turn is short. [`crate::realtime::Hub::committed`] sends one per burst of commits.
pub async fn announce(db: &DatabaseConnection) -> Result<(), DbErr> {
    let mut sql = Sql::new("SELECT pg_notify(");
    sql.bind(CHANNEL).push(", '')");
    db.execute_raw(sql.build(db.get_database_backend())).await?;
    Ok(())
}

/// Runs `write`, a data-modifying statement of one row ending in `RETURNING`, with the audit event of the
/// mutation it belongs to (`event`) and its change-log row (`change`, `audit_event_id` aside), as one statement
/// on PostgreSQL: the write as a data-modifying `WITH` named `written`, the event inserted from the row it
/// returned, the change row from the event. A cell may be an expression over `written`, for what is only known
/// once the row is written (where it is, what it was). Sent outside any `BEGIN`, it commits or fails whole.
/// When the write touches no row (a version check that failed), neither is written and `None` comes back;
/// otherwise the row `write` returned.
/// PostgreSQL only: SQLite cannot use an `UPDATE` in `WITH`.
pub async fn write_with_event<C: ConnectionTrait>(
    db: &C,
    write: Sql,
    event: Vec<Cell>,
    change: Option<Vec<Cell>>,
) -> Result<Option<QueryResult>, DbErr> {
    let backend = db.get_database_backend();
    if backend != DbBackend::Postgres {
        return Err(DbErr::Custom(
            "a write with its event in one statement needs PostgreSQL".into(),
        ));
    }
    let mut sql = Sql::new("WITH written AS (");
    sql.append(&write)
        .push("), event AS (")
        .append(&insert_select(EVENTS, &event, "written"))
        .push(" RETURNING id)");
    if let Some(change) = change {
        sql.push(", change AS (")
            .append(&change_from_event(change, "event, written"))
            .push(")");
    }
    sql.push(" SELECT * FROM written");
    db.query_one_raw(sql.build(backend)).await
}

/// The id a one-row `INSERT … RETURNING` gave back.
async fn returned_id<C: ConnectionTrait>(db: &C, statement: sea_orm::Statement) -> Result<i64, DbErr> {
    let row = db.query_one_raw(statement).await?;
    let row = row.ok_or_else(|| DbErr::RecordNotInserted)?;
    row.try_get_by_index(0)
}
