//! The change log: written inside every mutation's transaction (from `audit::record`, so no mutation can
//! forget it) and read by `Query.changes` and the subscription hub.
//!
//! Commit order. A reader resumes from "every change with an id above my cursor", which is only safe if ids
//! become visible in increasing order. On SQLite there is one writer at a time, so they do. On PostgreSQL an
//! identity value is taken when the row is inserted, not when its transaction commits: writer A may take id 7,
//! writer B id 8 and commit first, and a reader that saw 8 would skip 7 for ever. So every change-log insert
//! first takes a transaction-scoped advisory lock ([`CHANGE_LOG_LOCK`]), held until commit: while A holds it no
//! one else can take an id, so ids commit in the order they are taken. It is taken last in the mutation, after
//! its row locks, so it cannot join a deadlock, and it is held only for the two inserts and the commit.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, EntityTrait};
use serde_json::Value as Json;

use crate::auth::policy::{Position, Subtree};
use crate::ids::NodeKind;
use crate::sql::Sql;

/// The advisory lock key that serializes change-log inserts on PostgreSQL.
pub const CHANGE_LOG_LOCK: i64 = 727_275;
/// The PostgreSQL channel a committed change is announced on (the payload is empty: listeners read the log).
pub const CHANNEL: &str = "hoi_ccb_changes";

/// One committed change of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub action: String,
    pub kind: NodeKind,
    pub target_id: i64,
    /// The record no longer exists for anyone: revoked, deceased, removed.
    pub gone: bool,
    /// Where the record is now: province, base, chapter (`None` where it does not apply).
    pub now: (Option<i64>, Option<i64>, Option<i64>),
    /// Where it was before this change.
    pub before: (Option<i64>, Option<i64>, Option<i64>),
}

/// Whether the record is within `subtree` (a member scope) at `at`.
fn within(subtree: Subtree, kind: NodeKind, member: i64, at: (Option<i64>, Option<i64>, Option<i64>)) -> bool {
    if kind != NodeKind::Member {
        // Units and the award roll are public.
        return true;
    }
    match subtree {
        Subtree::All => true,
        Subtree::Nothing => false,
        Subtree::Province(id) => at.0 == Some(id),
        Subtree::Base(id) => at.1 == Some(id),
        Subtree::Chapter(id) => at.2 == Some(id),
        Subtree::Member(id) => member == id,
    }
}

/// How one change looks to a reader whose member scope is `scope`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// The record is (still) the reader's: fetch it.
    Upsert,
    /// The record left the reader's view: drop it.
    Remove,
    /// The reader never saw it and does not now.
    Hidden,
}

impl ChangeRow {
    pub fn seen_by(&self, scope: Subtree) -> Seen {
        let now = within(scope, self.kind, self.target_id, self.now);
        let before = within(scope, self.kind, self.target_id, self.before);
        match (self.gone, now, before) {
            (false, true, _) => Seen::Upsert,
            (_, _, true) | (true, true, _) => Seen::Remove,
            _ => Seen::Hidden,
        }
    }

    /// Whether the record moved between units in this change.
    pub fn moved(&self) -> bool {
        self.now != self.before
    }
}

/// The SQL condition (alias `t`) keeping the change rows a reader with member scope `scope` may see.
pub fn visible(scope: Subtree) -> Option<Sql> {
    let (column, id) = match scope {
        Subtree::All => return None,
        Subtree::Nothing => return Some(Sql::new("t.target_type <> 'Member'")),
        Subtree::Province(id) => ("province_id", id),
        Subtree::Base(id) => ("base_id", id),
        Subtree::Chapter(id) => ("chapter_id", id),
        Subtree::Member(id) => {
            let mut sql = Sql::new("(t.target_type <> 'Member' OR t.target_id = ");
            sql.bind(id).push(")");
            return Some(sql);
        }
    };
    let mut sql = Sql::new(&format!("(t.target_type <> 'Member' OR t.{column} = "));
    sql.bind(id).push(&format!(" OR t.old_{column} = ")).bind(id).push(")");
    Some(sql)
}

const COLUMNS: &str = "t.id, t.at, t.action, t.target_type, t.target_id, t.gone, t.province_id, t.base_id, \
                       t.chapter_id, t.old_province_id, t.old_base_id, t.old_chapter_id";

fn kind_of(name: &str) -> Option<NodeKind> {
    [
        NodeKind::Province,
        NodeKind::Base,
        NodeKind::Chapter,
        NodeKind::Member,
        NodeKind::Award,
    ]
    .into_iter()
    .find(|k| k.name() == name)
}

/// Change rows after `after` in commit order, at most `limit`, filtered by `condition`.
pub async fn read<C: ConnectionTrait>(
    db: &C,
    after: i64,
    limit: u64,
    condition: Option<Sql>,
) -> Result<Vec<ChangeRow>, DbErr> {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM changes t WHERE t.id > "));
    sql.bind(after);
    if let Some(c) = condition {
        sql.push(" AND ").append(&c);
    }
    sql.push(" ORDER BY t.id LIMIT ").bind(limit as i64);
    let rows = db.query_all_raw(sql.build(db.get_database_backend())).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let target_type: String = r.try_get_by_index(3)?;
        let Some(kind) = kind_of(&target_type) else {
            continue;
        };
        out.push(ChangeRow {
            id: r.try_get_by_index(0)?,
            at: r.try_get_by_index(1)?,
            action: r.try_get_by_index(2)?,
            kind,
            target_id: r.try_get_by_index(4)?,
            gone: r.try_get_by_index(5)?,
            now: (r.try_get_by_index(6)?, r.try_get_by_index(7)?, r.try_get_by_index(8)?),
            before: (r.try_get_by_index(9)?, r.try_get_by_index(10)?, r.try_get_by_index(11)?),
        });
    }
    Ok(out)
}

/// How many change rows after `after` pass `condition`.
pub async fn count<C: ConnectionTrait>(db: &C, after: i64, condition: Option<Sql>) -> Result<i64, DbErr> {
    let mut sql = Sql::new("SELECT COUNT(*) FROM changes t WHERE t.id > ");
    sql.bind(after);
    if let Some(c) = condition {
        sql.push(" AND ").append(&c);
    }
    let row = db.query_one_raw(sql.build(db.get_database_backend())).await?;
    Ok(row.map(|r| r.try_get_by_index::<i64>(0)).transpose()?.unwrap_or(0))
}

/// The id of the newest committed change (0 for an empty log).
pub async fn head<C: ConnectionTrait>(db: &C) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(Sql::new("SELECT COALESCE(MAX(id), 0) FROM changes").build(db.get_database_backend()))
        .await?;
    Ok(row.map(|r| r.try_get_by_index::<i64>(0)).transpose()?.unwrap_or(0))
}

type Place = (Option<i64>, Option<i64>, Option<i64>);

/// The unit ids a record's `before` image of the audit trail names, over `fallback` where it names none.
fn place_before(before: Option<&Json>, fallback: Place) -> Place {
    let get = |key: &str, dflt: Option<i64>| before.and_then(|b| b.get(key)).and_then(Json::as_i64).or(dflt);
    (
        get("province_id", fallback.0),
        get("base_id", fallback.1),
        get("chapter_id", fallback.2),
    )
}

/// Records the changes a mutation made, inside its transaction, just after its audit event: which records it
/// touched, where they are now and where they were. Transfers are recorded as the member they move.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    audit_event_id: i64,
    action: &str,
    target: (NodeKind, i64),
    position: Position,
    before: Option<&Json>,
) -> Result<(), DbErr> {
    let unit_place = (Some(position.province_id), position.base_id, position.chapter_id);
    let row: Option<(NodeKind, i64, bool, Place, Place)> = match target.0 {
        NodeKind::Province | NodeKind::Base | NodeKind::Chapter => {
            Some((target.0, target.1, false, unit_place, unit_place))
        }
        NodeKind::Member => match entity::member::Entity::find_by_id(target.1).one(db).await? {
            Some(m) => {
                let now = (Some(m.province_id), Some(m.base_id), Some(m.chapter_id));
                let gone = m.status != entity::member::MemberStatus::Active;
                Some((NodeKind::Member, m.id, gone, now, place_before(before, now)))
            }
            None => Some((NodeKind::Member, target.1, true, unit_place, unit_place)),
        },
        NodeKind::Transfer => match entity::transfer::Entity::find_by_id(target.1).one(db).await? {
            Some(t) => match entity::member::Entity::find_by_id(t.member_id).one(db).await? {
                Some(m) => {
                    let now = (Some(m.province_id), Some(m.base_id), Some(m.chapter_id));
                    let from = (Some(t.from_province_id), Some(t.from_base_id), Some(t.from_chapter_id));
                    let gone = m.status != entity::member::MemberStatus::Active;
                    Some((NodeKind::Member, m.id, gone, now, from))
                }
                None => None,
            },
            None => None,
        },
        NodeKind::Award => match entity::award::Entity::find_by_id(target.1).one(db).await? {
            Some(a) => {
                let place = (Some(a.province_id), a.base_id, a.chapter_id);
                Some((NodeKind::Award, a.id, a.revoked_at.is_some(), place, place))
            }
            None => Some((NodeKind::Award, target.1, true, unit_place, unit_place)),
        },
        // Accounts, award proposals and yearly ratings are not synced to phones.
        NodeKind::Account | NodeKind::Proposal | NodeKind::YearlyRating => None,
    };
    let Some((kind, id, gone, now, was)) = row else {
        return Ok(());
    };
    let backend = db.get_database_backend();
    if backend == DbBackend::Postgres {
        let mut lock = Sql::new("SELECT pg_advisory_xact_lock(");
        lock.bind(CHANGE_LOG_LOCK).push(")");
        db.execute_raw(lock.build(backend)).await?;
    }
    let mut sql = Sql::new(
        "INSERT INTO changes (at, audit_event_id, action, target_type, target_id, gone, province_id, base_id, \
         chapter_id, old_province_id, old_base_id, old_chapter_id) VALUES (",
    );
    sql.bind(Utc::now())
        .push(", ")
        .bind(audit_event_id)
        .push(", ")
        .bind(action)
        .push(", ")
        .bind(kind.name())
        .push(", ")
        .bind(id)
        .push(", ")
        .bind(gone)
        .push(", ")
        .bind(now.0)
        .push(", ")
        .bind(now.1)
        .push(", ")
        .bind(now.2)
        .push(", ")
        .bind(was.0)
        .push(", ")
        .bind(was.1)
        .push(", ")
        .bind(was.2)
        .push(")");
    db.execute_raw(sql.build(backend)).await?;
    if backend == DbBackend::Postgres {
        // Delivered to every listening instance when (and only if) this transaction commits.
        let mut notify = Sql::new("SELECT pg_notify(");
        notify.bind(CHANNEL).push(", '')");
        db.execute_raw(notify.build(backend)).await?;
    }
    Ok(())
}
