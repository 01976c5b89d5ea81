//! Counts of tree nodes from aggregate SQL: one statement per level for any number of nodes, each count a
//! correlated `COUNT(*)` answered from an index, never by loading rows.

use std::collections::HashMap;

use entity::base::BaseKind;
use entity::member::{MemberStatus, MemberType, Sex};
use sea_orm::{ConnectionTrait, DatabaseConnection, Iterable};

use crate::error::AppResult;
use crate::sql::{Sql, literal};

/// The level whose nodes are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    Province,
    Base,
    Chapter,
}

impl Level {
    /// The level of a node of the tree above members; `None` for any other kind.
    pub fn of(kind: crate::ids::NodeKind) -> Option<Self> {
        use crate::ids::NodeKind;
        match kind {
            NodeKind::Province => Some(Self::Province),
            NodeKind::Base => Some(Self::Base),
            NodeKind::Chapter => Some(Self::Chapter),
            _ => None,
        }
    }

    /// The table of this level's units.
    pub fn table(self) -> &'static str {
        match self {
            Self::Province => super::table::<entity::province::Entity>(),
            Self::Base => super::table::<entity::base::Entity>(),
            Self::Chapter => super::table::<entity::chapter::Entity>(),
        }
    }

    /// The column of a row below (a unit, member, award, rating; a transfer's with a `from_`/`to_` prefix)
    /// that carries the id of its unit of this level.
    pub fn column(self) -> &'static str {
        match self {
            Self::Province => "province_id",
            Self::Base => "base_id",
            Self::Chapter => "chapter_id",
        }
    }

    /// The level one down, if it is still above members.
    pub fn child(self) -> Option<Self> {
        match self {
            Self::Province => Some(Self::Base),
            Self::Base => Some(Self::Chapter),
            Self::Chapter => None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub bases: i64,
    pub territorial_bases: i64,
    pub chapters: i64,
    pub members: i64,
    pub veterans: i64,
    pub ex_servicemen: i64,
    pub women: i64,
    pub party_members: i64,
}

/// Counts open units and active members below each node of `level`.
pub async fn counts(db: &DatabaseConnection, level: Level, ids: &[i64]) -> AppResult<HashMap<i64, Counts>> {
    let (table, column) = (level.table(), level.column());
    let (members, chapters, bases) = (
        super::table::<entity::member::Entity>(),
        Level::Chapter.table(),
        Level::Base.table(),
    );
    let active = format!(
        "FROM {members} m WHERE m.{column} = n.id AND m.status = {}",
        literal(MemberStatus::Active)
    );
    let mut select = vec![
        format!("(SELECT COUNT(*) {active}) AS members"),
        format!(
            "(SELECT COUNT(*) {active} AND m.member_type = {}) AS veterans",
            literal(MemberType::Veteran)
        ),
        format!(
            "(SELECT COUNT(*) {active} AND m.member_type = {}) AS ex_servicemen",
            literal(MemberType::ExServiceman)
        ),
        format!(
            "(SELECT COUNT(*) {active} AND m.sex = {}) AS women",
            literal(Sex::Female)
        ),
        format!("(SELECT COUNT(*) {active} AND m.party_member = TRUE) AS party_members"),
    ];
    if level != Level::Chapter {
        select.push(format!(
            "(SELECT COUNT(*) FROM {chapters} c WHERE c.{column} = n.id AND c.closed_at IS NULL) AS chapters"
        ));
    }
    if level == Level::Province {
        select.push(format!(
            "(SELECT COUNT(*) FROM {bases} b WHERE b.province_id = n.id AND b.closed_at IS NULL) AS bases"
        ));
        let territorial: Vec<String> = BaseKind::iter().filter(|k| k.is_territorial()).map(literal).collect();
        select.push(format!(
            "(SELECT COUNT(*) FROM {bases} b WHERE b.province_id = n.id AND b.closed_at IS NULL AND b.kind IN ({})) \
             AS territorial_bases",
            territorial.join(", ")
        ));
    }
    let mut sql = Sql::new(&format!(
        "SELECT n.id, {} FROM {table} n WHERE n.id IN ",
        select.join(", ")
    ));
    sql.bind_list(ids);
    let rows = super::reader::query_all(db, sql.build(db.get_database_backend())).await?;
    let mut out = HashMap::new();
    for row in rows {
        let get = |name: &str| row.try_get::<i64>("", name).ok().unwrap_or(0);
        let id: i64 = row.try_get("", "id")?;
        out.insert(
            id,
            Counts {
                bases: get("bases"),
                territorial_bases: get("territorial_bases"),
                chapters: get("chapters"),
                members: row.try_get("", "members")?,
                veterans: get("veterans"),
                ex_servicemen: get("ex_servicemen"),
                women: get("women"),
                party_members: get("party_members"),
            },
        );
    }
    Ok(out)
}

/// The real sizes of the unit lists: how many provinces, bases and chapters there are, and the most bases one
/// province has and the most chapters one base has. One statement.
#[derive(Clone, Copy, Debug)]
pub struct TreeSizes {
    pub provinces: i64,
    pub bases: i64,
    pub chapters: i64,
    pub bases_per_province: i64,
    pub chapters_per_base: i64,
}

pub async fn tree_sizes(db: &DatabaseConnection) -> AppResult<Option<TreeSizes>> {
    let (provinces, bases, chapters) = (Level::Province.table(), Level::Base.table(), Level::Chapter.table());
    let (province_id, base_id) = (Level::Province.column(), Level::Base.column());
    let sql = Sql::new(&format!(
        "SELECT (SELECT COUNT(*) FROM {provinces}), (SELECT COUNT(*) FROM {bases}), \
         (SELECT COUNT(*) FROM {chapters}), \
         (SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) AS n FROM {bases} GROUP BY {province_id}) b), \
         (SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) AS n FROM {chapters} GROUP BY {base_id}) c)"
    ));
    let Some(row) = db.query_one_raw(sql.build(db.get_database_backend())).await? else {
        return Ok(None);
    };
    Ok(Some(TreeSizes {
        provinces: row.try_get_by_index(0)?,
        bases: row.try_get_by_index(1)?,
        chapters: row.try_get_by_index(2)?,
        bases_per_province: row.try_get_by_index(3)?,
        chapters_per_base: row.try_get_by_index(4)?,
    }))
}
