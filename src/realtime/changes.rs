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
//!
//! Who sees a change. Units and the award roll are public. A member change is seen by readers whose member
//! scope holds the member now or held them before (then as a removal). An award proposal or a yearly rating is
//! seen exactly as its queries decide (`policy::proposals_condition` / `sees_proposal_at`,
//! `policy::ratings_condition` / `can_see_rating`), applied to the change row itself: the row carries the
//! record's `province_id`, `base_id`, `chapter_id` and `member_id`, and for a proposal the `level` it had
//! reached by that step, under the same column names as the records' tables. So a province official sees a
//! proposal from the step that brought it to the province, and the base it came from sees every step. Neither
//! kind ever leaves a reader's view (a proposal's recipient and a rating's subject are fixed on the row, and a
//! proposal's level only rises), so both are always `UPSERT`.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, EntityTrait};
use serde_json::Value as Json;

use crate::auth::Viewer;
use crate::auth::policy::{
    Position, ReadScope, Subtree, can_see_rating, level_name, proposals_condition, ratings_condition, sees_proposal_at,
};
use crate::ids::NodeKind;
use crate::sql::Sql;
use entity::award::GrantingLevel;
use entity::member::MemberStatus;

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
    /// The member the record is about (a member, an award's, a proposal's or a rating's member), if any.
    pub member_id: Option<i64>,
    /// For a proposal: the level it had reached by this change.
    pub level: Option<GrantingLevel>,
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
    /// How this change looks to `viewer`, whose read scope is `scope`.
    pub fn seen_by(&self, viewer: &Viewer, scope: &ReadScope) -> Seen {
        let visible = match self.kind {
            NodeKind::Proposal => self
                .level
                .is_some_and(|level| sees_proposal_at(viewer, &self.position(), level)),
            NodeKind::YearlyRating => can_see_rating(scope, &self.position()),
            _ => return self.member_seen_by(scope.members),
        };
        if visible { Seen::Upsert } else { Seen::Hidden }
    }

    /// Members move and leave; everything else that reaches here (units, awards) is public.
    fn member_seen_by(&self, scope: Subtree) -> Seen {
        let now = within(scope, self.kind, self.target_id, self.now);
        let before = within(scope, self.kind, self.target_id, self.before);
        match (self.gone, now, before) {
            (false, true, _) => Seen::Upsert,
            (_, _, true) | (true, true, _) => Seen::Remove,
            _ => Seen::Hidden,
        }
    }

    /// Where the record is now, as the policy's rules take it.
    fn position(&self) -> Position {
        Position {
            province_id: self.now.0.unwrap_or_default(),
            base_id: self.now.1,
            chapter_id: self.now.2,
            member_id: self.member_id,
        }
    }

    /// Whether the record moved between units in this change.
    pub fn moved(&self) -> bool {
        self.now != self.before
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

const COLUMNS: &str = "t.id, t.at, t.action, t.target_type, t.target_id, t.gone, t.province_id, t.base_id, \
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
            member_id: r.try_get_by_index(12)?,
            level: level_of(r.try_get_by_index(13)?),
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

/// One change-log row to write.
struct Entry {
    kind: NodeKind,
    id: i64,
    gone: bool,
    now: Place,
    was: Place,
    member_id: Option<i64>,
    level: Option<GrantingLevel>,
}

impl Entry {
    /// A record that stays where it is.
    fn fixed(kind: NodeKind, id: i64, gone: bool, place: Place, member_id: Option<i64>) -> Self {
        Self {
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

/// Records the changes a mutation made, inside its transaction, just after its audit event: which records it
/// touched, where they are now and where they were. Transfers are recorded as the member they move; proposals
/// with the level they stand at after this step.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    audit_event_id: i64,
    action: &str,
    target: (NodeKind, i64),
    position: Position,
    before: Option<&Json>,
) -> Result<(), DbErr> {
    let unit_place = (Some(position.province_id), position.base_id, position.chapter_id);
    let entry: Option<Entry> = match target.0 {
        NodeKind::Province | NodeKind::Base | NodeKind::Chapter => {
            Some(Entry::fixed(target.0, target.1, false, unit_place, None))
        }
        NodeKind::Member => match entity::member::Entity::find_by_id(target.1).one(db).await? {
            Some(m) => {
                let now = (Some(m.province_id), Some(m.base_id), Some(m.chapter_id));
                Some(Entry {
                    was: place_before(before, now),
                    ..Entry::fixed(
                        NodeKind::Member,
                        m.id,
                        m.status != MemberStatus::Active,
                        now,
                        Some(m.id),
                    )
                })
            }
            None => Some(Entry::fixed(
                NodeKind::Member,
                target.1,
                true,
                unit_place,
                Some(target.1),
            )),
        },
        NodeKind::Transfer => match entity::transfer::Entity::find_by_id(target.1).one(db).await? {
            Some(t) => entity::member::Entity::find_by_id(t.member_id).one(db).await?.map(|m| {
                let now = (Some(m.province_id), Some(m.base_id), Some(m.chapter_id));
                Entry {
                    was: (Some(t.from_province_id), Some(t.from_base_id), Some(t.from_chapter_id)),
                    ..Entry::fixed(
                        NodeKind::Member,
                        m.id,
                        m.status != MemberStatus::Active,
                        now,
                        Some(m.id),
                    )
                }
            }),
            None => None,
        },
        NodeKind::Award => match entity::award::Entity::find_by_id(target.1).one(db).await? {
            Some(a) => {
                let place = (Some(a.province_id), a.base_id, a.chapter_id);
                Some(Entry::fixed(
                    NodeKind::Award,
                    a.id,
                    a.revoked_at.is_some(),
                    place,
                    a.member_id,
                ))
            }
            None => Some(Entry::fixed(NodeKind::Award, target.1, true, unit_place, None)),
        },
        NodeKind::Proposal => entity::award_proposal::Entity::find_by_id(target.1)
            .one(db)
            .await?
            .map(|p| Entry {
                level: Some(p.level),
                ..Entry::fixed(
                    NodeKind::Proposal,
                    p.id,
                    false,
                    (Some(p.province_id), p.base_id, p.chapter_id),
                    p.member_id,
                )
            }),
        NodeKind::YearlyRating => entity::yearly_rating::Entity::find_by_id(target.1)
            .one(db)
            .await?
            .map(|r| {
                let place = (Some(r.province_id), Some(r.base_id), r.chapter_id);
                Entry::fixed(NodeKind::YearlyRating, r.id, false, place, r.member_id)
            }),
        // Accounts are not synced.
        NodeKind::Account => None,
    };
    let Some(Entry {
        kind,
        id,
        gone,
        now,
        was,
        member_id,
        level,
    }) = entry
    else {
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
         chapter_id, old_province_id, old_base_id, old_chapter_id, member_id, level) VALUES (",
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
        .push(", ")
        .bind(member_id)
        .push(", ")
        .bind(level.map(level_name))
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
