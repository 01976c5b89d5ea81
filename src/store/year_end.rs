//! The aggregate SQL of the year-end statistics ([`crate::officials::statistics`]): open units, members by type,
//! sex, age band, party membership and war-invalid status, the year's flows and awards and ratings, each
//! grouped by one level's column, a few statements whatever the size of the unit, never a member row loaded.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, TimeZone, Utc};
use entity::award::{AwardKind, GrantingLevel};
use entity::member::{MemberStatus, MemberType, Sex, WarInvalid};
use entity::transfer::TransferStatus;
use entity::yearly_rating::RatingKind;
use sea_orm::{ActiveEnum, ConnectionTrait, DatabaseConnection};

use super::stats::Level;
use super::table;
use crate::error::AppResult;
use crate::sql::{Sql, literal};
use entity::{award, member, transfer, yearly_rating};

/// The rows inside one unit: those whose column of `level` holds `id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Within {
    pub level: Level,
    pub id: i64,
}

impl Within {
    /// The condition on alias `t` that keeps rows inside the unit.
    pub fn condition(self) -> Sql {
        let mut sql = Sql::new(&format!("t.{} = ", self.level.column()));
        sql.bind(self.id);
        sql
    }
}

/// The year-end figures of one unit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    /// Open bases (provinces only).
    pub bases: i64,
    /// Open chapters (provinces and bases only).
    pub chapters: i64,
    pub members: i64,
    pub veterans: i64,
    pub ex_servicemen: i64,
    pub men: i64,
    pub women: i64,
    pub age_under_60: i64,
    pub age_60_to_69: i64,
    pub age_70_to_79: i64,
    pub age_80_and_over: i64,
    pub age_unknown: i64,
    pub party_members: i64,
    pub war_invalids: i64,
    pub sick_soldiers: i64,
    pub admitted: i64,
    pub transferred_in: i64,
    pub transferred_out: i64,
    pub deceased: i64,
    pub removed: i64,
    /// Awards of the year by kind and granting level.
    pub awards: BTreeMap<(AwardKindKey, GrantingLevelKey), i64>,
    /// Bases rated "trong sạch, vững mạnh" for the year.
    pub strong_bases: i64,
    /// Members rated "hội viên CCB gương mẫu" for the year.
    pub model_members: i64,
    /// Members' families rated "gia đình CCB văn hóa" for the year.
    pub cultured_families: i64,
}

/// An award kind with a stable order (for maps and reports).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AwardKindKey(pub u8);
/// A granting level with a stable order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GrantingLevelKey(pub u8);

pub const KINDS: [AwardKind; 3] = [
    AwardKind::EmulationFlag,
    AwardKind::CertificateOfMerit,
    AwardKind::CertificateOfCommendation,
];
pub const LEVELS: [GrantingLevel; 3] = [GrantingLevel::Central, GrantingLevel::Province, GrantingLevel::Base];

impl AwardKindKey {
    pub fn of(kind: AwardKind) -> Self {
        Self(KINDS.iter().position(|k| *k == kind).unwrap_or(0) as u8)
    }
    pub fn kind(self) -> AwardKind {
        KINDS.get(self.0 as usize).copied().unwrap_or(AwardKind::EmulationFlag)
    }
}

impl GrantingLevelKey {
    pub fn of(level: GrantingLevel) -> Self {
        Self(LEVELS.iter().position(|l| *l == level).unwrap_or(0) as u8)
    }
    pub fn level(self) -> GrantingLevel {
        LEVELS.get(self.0 as usize).copied().unwrap_or(GrantingLevel::Central)
    }
}

impl Figures {
    /// Awards of one kind, whatever the level.
    pub fn awards_of_kind(&self, kind: AwardKind) -> i64 {
        let key = AwardKindKey::of(kind);
        self.awards.iter().filter(|((k, _), _)| *k == key).map(|(_, n)| n).sum()
    }
}

/// Open units of level `counted` inside `unit`, grouped by the units of level `group`.
pub async fn open_units(
    db: &DatabaseConnection,
    unit: Within,
    counted: Level,
    group: Level,
) -> AppResult<HashMap<i64, i64>> {
    let (table, group) = (counted.table(), group.column());
    let mut sql = Sql::new(&format!("SELECT t.{group} AS g, COUNT(*) AS n FROM {table} t WHERE "));
    sql.append(&unit.condition())
        .push(&format!(" AND t.closed_at IS NULL GROUP BY t.{group}"));
    let mut out = HashMap::new();
    for row in db.query_all_raw(sql.build(db.get_database_backend())).await? {
        out.insert(row.try_get::<i64>("", "g")?, row.try_get::<i64>("", "n")?);
    }
    Ok(out)
}

/// A unit one level down, as a row of the breakdown names it.
pub struct ChildUnit {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub closed: bool,
}

/// The units of level `child` inside `unit` (closed ones too), in name order.
pub async fn child_units(db: &DatabaseConnection, unit: Within, child: Level) -> AppResult<Vec<ChildUnit>> {
    let mut sql = Sql::new(&format!(
        "SELECT t.id, t.code, t.name, t.closed_at IS NOT NULL AS closed FROM {} t WHERE ",
        child.table()
    ));
    sql.append(&unit.condition()).push(" ORDER BY t.sort_key, t.id");
    let rows = db.query_all_raw(sql.build(db.get_database_backend())).await?;
    rows.iter()
        .map(|row| {
            Ok(ChildUnit {
                id: row.try_get("", "id")?,
                code: row.try_get("", "code")?,
                name: row.try_get("", "name")?,
                closed: row
                    .try_get::<bool>("", "closed")
                    .unwrap_or_else(|_| row.try_get::<i64>("", "closed").map(|v| v != 0).unwrap_or(false)),
            })
        })
        .collect()
}

/// Member, transfer, award and rating figures of `year` inside `unit`, grouped by the units of level `group`
/// (the unit's own level for its totals). Open units are not counted here ([`open_units`]).
pub async fn figures(
    db: &DatabaseConnection,
    unit: Within,
    year: i32,
    (start, end): (NaiveDate, NaiveDate),
    group: Level,
) -> AppResult<HashMap<i64, Figures>> {
    let backend = db.get_database_backend();
    let group = group.column();
    let mut out: HashMap<i64, Figures> = HashMap::new();

    // Members: the standing roster (active) and the year's admissions, deaths and removals, in one pass.
    let active = format!("t.status = {}", literal(MemberStatus::Active));
    let mut sql = Sql::new(&format!("SELECT t.{group} AS g, "));
    let sum = |sql: &mut Sql, name: &str, cond: Sql| {
        sql.push("SUM(CASE WHEN ")
            .append(&cond)
            .push(&format!(" THEN 1 ELSE 0 END) AS {name}, "));
    };
    sum(&mut sql, "members", Sql::new(&active));
    for (name, cond) in [
        ("veterans", format!("t.member_type = {}", literal(MemberType::Veteran))),
        (
            "ex_servicemen",
            format!("t.member_type = {}", literal(MemberType::ExServiceman)),
        ),
        ("men", format!("t.sex = {}", literal(Sex::Male))),
        ("women", format!("t.sex = {}", literal(Sex::Female))),
        ("party_members", "t.party_member = TRUE".to_owned()),
        (
            "war_invalids",
            format!("t.war_invalid = {}", literal(WarInvalid::WarInvalid)),
        ),
        (
            "sick_soldiers",
            format!("t.war_invalid = {}", literal(WarInvalid::SickSoldier)),
        ),
        ("age_unknown", "t.birth_year IS NULL".to_owned()),
    ] {
        sum(&mut sql, name, Sql::new(&format!("{active} AND {cond}")));
    }
    // Age at the end of `year` is `year - birth_year`.
    for (name, older, younger) in [
        ("age_under_60", None, Some(year - 60)),
        ("age_60_to_69", Some(year - 69), Some(year - 60)),
        ("age_70_to_79", Some(year - 79), Some(year - 70)),
        ("age_80_and_over", None, None),
    ] {
        let mut cond = Sql::new(&format!("{active} AND t.birth_year IS NOT NULL"));
        match (name, older, younger) {
            ("age_under_60", _, Some(y)) => {
                cond.push(" AND t.birth_year > ").bind(y);
            }
            ("age_80_and_over", _, _) => {
                cond.push(" AND t.birth_year <= ").bind(year - 80);
            }
            (_, Some(o), Some(y)) => {
                cond.push(" AND t.birth_year >= ")
                    .bind(o)
                    .push(" AND t.birth_year <= ")
                    .bind(y);
            }
            _ => {}
        }
        sum(&mut sql, name, cond);
    }
    let mut admitted = Sql::new("t.joined_on >= ");
    admitted.bind(start).push(" AND t.joined_on <= ").bind(end);
    sum(&mut sql, "admitted", admitted);
    for (name, status) in [("deceased", MemberStatus::Deceased), ("removed", MemberStatus::Removed)] {
        let mut cond = Sql::new(&format!("t.status = {} AND t.left_on >= ", literal(status)));
        cond.bind(start).push(" AND t.left_on <= ").bind(end);
        sum(&mut sql, name, cond);
    }
    sql.push(&format!(
        "COUNT(*) AS all_rows FROM {} t WHERE ",
        table::<member::Entity>()
    ))
    .append(&unit.condition())
    .push(&format!(" GROUP BY t.{group}"));
    for row in db.query_all_raw(sql.build(backend)).await? {
        let g: i64 = row.try_get("", "g")?;
        let get = |name: &str| row.try_get::<Option<i64>>("", name).ok().flatten().unwrap_or(0);
        let f = out.entry(g).or_default();
        f.members = get("members");
        f.veterans = get("veterans");
        f.ex_servicemen = get("ex_servicemen");
        f.men = get("men");
        f.women = get("women");
        f.party_members = get("party_members");
        f.war_invalids = get("war_invalids");
        f.sick_soldiers = get("sick_soldiers");
        f.age_unknown = get("age_unknown");
        f.age_under_60 = get("age_under_60");
        f.age_60_to_69 = get("age_60_to_69");
        f.age_70_to_79 = get("age_70_to_79");
        f.age_80_and_over = get("age_80_and_over");
        f.admitted = get("admitted");
        f.deceased = get("deceased");
        f.removed = get("removed");
    }

    // Transfers accepted during the year that crossed the boundary of the grouped unit.
    let from = Utc.from_utc_datetime(&start.and_hms_opt(0, 0, 0).unwrap_or_default());
    let until = Utc.from_utc_datetime(
        &NaiveDate::from_ymd_opt(year + 1, 1, 1)
            .unwrap_or(end)
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default(),
    );
    let col = unit.level.column();
    for (dir, other) in [("to", "from"), ("from", "to")] {
        let mut sql = Sql::new(&format!(
            "SELECT t.{dir}_{group} AS g, COUNT(*) AS n FROM {} t WHERE t.{dir}_{col} = ",
            table::<transfer::Entity>()
        ));
        sql.bind(unit.id)
            .push(&format!(
                " AND t.status = {} AND COALESCE(t.{other}_{group}, 0) <> COALESCE(t.{dir}_{group}, 0) AND t.decided_at >= ",
                literal(TransferStatus::Accepted)
            ))
            .bind(from)
            .push(" AND t.decided_at < ")
            .bind(until)
            .push(&format!(" GROUP BY t.{dir}_{group}"));
        for row in db.query_all_raw(sql.build(backend)).await? {
            let Some(g) = row.try_get::<Option<i64>>("", "g")? else {
                continue;
            };
            let n: i64 = row.try_get("", "n")?;
            let f = out.entry(g).or_default();
            if dir == "to" {
                f.transferred_in = n;
            } else {
                f.transferred_out = n;
            }
        }
    }

    // Awards of the year (revoked ones are not counted).
    let mut sql = Sql::new(&format!(
        "SELECT t.{group} AS g, t.kind AS kind, t.granting_level AS level, COUNT(*) AS n FROM {} t WHERE ",
        table::<award::Entity>()
    ));
    sql.append(&unit.condition())
        .push(" AND t.revoked_at IS NULL AND t.year = ")
        .bind(year)
        .push(&format!(" GROUP BY t.{group}, t.kind, t.granting_level"));
    for row in db.query_all_raw(sql.build(backend)).await? {
        let Some(g) = row.try_get::<Option<i64>>("", "g")? else {
            continue;
        };
        let kind: String = row.try_get("", "kind")?;
        let level: String = row.try_get("", "level")?;
        let (Ok(kind), Ok(level)) = (AwardKind::try_from_value(&kind), GrantingLevel::try_from_value(&level)) else {
            continue;
        };
        let n: i64 = row.try_get("", "n")?;
        out.entry(g)
            .or_default()
            .awards
            .insert((AwardKindKey::of(kind), GrantingLevelKey::of(level)), n);
    }

    // Yearly ratings earned in the year, by kind.
    let mut sql = Sql::new(&format!(
        "SELECT t.{group} AS g, t.kind AS kind, COUNT(*) AS n FROM {} t WHERE ",
        table::<yearly_rating::Entity>()
    ));
    sql.append(&unit.condition())
        .push(" AND t.achieved = ")
        .bind(true)
        .push(" AND t.year = ")
        .bind(year)
        .push(&format!(" GROUP BY t.{group}, t.kind"));
    for row in db.query_all_raw(sql.build(backend)).await? {
        let Some(g) = row.try_get::<Option<i64>>("", "g")? else {
            continue;
        };
        let kind: String = row.try_get("", "kind")?;
        let n: i64 = row.try_get("", "n")?;
        let f = out.entry(g).or_default();
        match RatingKind::try_from_value(&kind) {
            Ok(RatingKind::StrongBase) => f.strong_bases = n,
            Ok(RatingKind::ModelMember) => f.model_members = n,
            Ok(RatingKind::CulturedFamily) => f.cultured_families = n,
            Err(_) => {}
        }
    }
    Ok(out)
}
