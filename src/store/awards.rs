//! Reads of awards. The award roll is public (docs/access.md): awards carry no row scope, and an individual
//! recipient's member record is resolved only inside the viewer's member scope.

use entity::award::{AwardKind, GrantingLevel, RecipientType};
use sea_orm::ActiveEnum;

use crate::auth::policy::Subtree;
use crate::error::AppResult;
use crate::sql::{Filter, Sql};
use crate::store::members::{Columns, Units, prefixed_columns};
use crate::store::page::{ListQuery, Order, Page, Window};
use crate::text;

pub const NEWEST_FIRST: Order = Order {
    tag: "award:NEWEST",
    columns: &[("year", false), ("id", false)],
    descending: true,
};
pub const OLDEST_FIRST: Order = Order {
    tag: "award:OLDEST",
    columns: &[("year", false), ("id", false)],
    descending: false,
};

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AwardFilter {
    pub year: Option<i32>,
    pub year_from: Option<i32>,
    pub year_to: Option<i32>,
    pub kinds: Option<Vec<AwardKind>>,
    pub granting_level: Option<GrantingLevel>,
    pub recipient_type: Option<RecipientType>,
    pub movement: Option<String>,
    pub decision_number: Option<String>,
    pub include_revoked: bool,
    /// Awards to anything inside this subtree (the unit itself included).
    pub province_id: Option<i64>,
    pub base_id: Option<i64>,
    pub chapter_id: Option<i64>,
    pub member_id: Option<i64>,
}

impl AwardFilter {
    pub fn to_filter(&self) -> Filter {
        let mut filter = Filter::default();
        if !self.include_revoked {
            filter.and_text("t.revoked_at IS NULL");
        }
        let ints = [
            ("t.year = ", self.year),
            ("t.year >= ", self.year_from),
            ("t.year <= ", self.year_to),
        ];
        for (prefix, value) in ints {
            if let Some(v) = value {
                let mut cond = Sql::new(prefix);
                cond.bind(v);
                filter.and(cond);
            }
        }
        let ids = [
            ("t.province_id = ", self.province_id),
            ("t.base_id = ", self.base_id),
            ("t.chapter_id = ", self.chapter_id),
            ("t.member_id = ", self.member_id),
        ];
        for (prefix, value) in ids {
            if let Some(v) = value {
                let mut cond = Sql::new(prefix);
                cond.bind(v);
                filter.and(cond);
            }
        }
        if let Some(kinds) = &self.kinds {
            let mut cond = Sql::new("t.kind IN ");
            cond.bind_list(&kinds.iter().map(|k| k.to_value()).collect::<Vec<_>>());
            filter.and(cond);
        }
        if let Some(level) = self.granting_level {
            let mut cond = Sql::new("t.granting_level = ");
            cond.bind(level.to_value());
            filter.and(cond);
        }
        if let Some(kind) = self.recipient_type {
            let mut cond = Sql::new("t.recipient_type = ");
            cond.bind(kind.to_value());
            filter.and(cond);
        }
        if let Some(movement) = &self.movement {
            let mut cond = Sql::new("t.movement_key = ");
            cond.bind(text::fold(movement));
            filter.and(cond);
        }
        if let Some(number) = &self.decision_number {
            let mut cond = Sql::new("t.decision_number = ");
            cond.bind(text::clean(number));
            filter.and(cond);
        }
        filter
    }
}

pub fn list(filter: &AwardFilter, order: Order) -> ListQuery {
    ListQuery::new("awards", filter.to_filter(), order)
}

/// The text columns of an award's decision and citation, with the placeholder a lean page reads in their place
/// (`''` for the required ones, `NULL` for the optional ones).
const DECISION_TEXTS: [(&str, &str); 9] = [
    ("granting_body", "''"),
    ("granting_body_key", "''"),
    ("recipient_name", "''"),
    ("movement", "''"),
    ("movement_key", "''"),
    ("decision_number", "''"),
    ("event", "NULL"),
    ("citation", "NULL"),
    ("revocation_reason", "NULL"),
];

/// A page's select list without the decision's texts ([`ListQuery::columns`]): every column under its own name
/// and in the entity's order, so rows decode as usual, with [`DECISION_TEXTS`] as placeholders. For a page whose
/// nodes select no field that reads them (`graphql::award::lean_page` decides): the awards of a year with
/// their recipients moved and decoded nine strings per award that nobody asked for.
pub fn lean_columns() -> &'static str {
    static LEAN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        use sea_orm::{IdenStatic, Iterable};
        entity::award::Column::iter()
            .map(|c| match DECISION_TEXTS.iter().find(|(name, _)| *name == c.as_str()) {
                Some((name, placeholder)) => format!("{placeholder} AS {name}"),
                None => format!("t.{}", c.as_str()),
            })
            .collect::<Vec<_>>()
            .join(", ")
    });
    LEAN.as_str()
}

/// The column awards received by one node are partitioned by ([`received_by`]).
pub fn recipient_column() -> &'static str {
    sea_orm::IdenStatic::as_str(&entity::award::Column::RecipientId)
}

/// Awards received by one node itself (not its descendants): [`recipient_column`] is the partition column.
pub fn received_by(kind: RecipientType, filter: &AwardFilter, order: Order) -> ListQuery {
    let mut f = filter.to_filter();
    let mut cond = Sql::new("t.recipient_type = ");
    cond.bind(kind.to_value());
    f.and(cond);
    ListQuery::new("awards", f, order)
}

/// The recipients of a page of awards, as [`page_with_recipients`] reads them.
#[derive(Default)]
pub struct Recipients {
    /// Member recipients inside the viewer's member scope.
    pub members: Vec<entity::member::Model>,
    pub chapters: Vec<entity::chapter::Model>,
    pub bases: Vec<entity::base::Model>,
    pub provinces: Vec<entity::province::Model>,
}

/// A page of `list` with its recipients in the same statement (PostgreSQL): each award's member recipient
/// inside `scope` with the `members` columns (those of [`Columns::Names`] leave the others empty), its chapter, base and province recipients, and the units above its member recipient that
/// `units` asks for. An award to a member carries the member's chapter, base and province (they move with the
/// member), so one probe of each unit table per award serves member and unit recipients alike.
pub async fn page_with_recipients(
    db: &sea_orm::DatabaseConnection,
    list: &ListQuery,
    window: &Window,
    with_total: bool,
    scope: &Subtree,
    members: Columns,
    units: Units,
) -> AppResult<(Page<entity::award::Model>, Recipients)> {
    use entity::{base, chapter, province};
    let mut columns = members.prefixed("m");
    let mut joins = Sql::new(&format!(
        " LEFT JOIN LATERAL (SELECT {} FROM members t WHERE t.id = a.member_id",
        members.select_list()
    ));
    if let Some(cond) = scope.members_condition() {
        joins.push(" AND (").append(&cond).push(")");
    }
    joins.push(") m ON TRUE");
    // A unit is read for an award to it, and for every award to a member when the units above members are
    // asked for.
    for (table, alias, key, kind, above, unit_columns) in [
        (
            "chapters",
            "c",
            "chapter_id",
            RecipientType::Chapter,
            units.chapter,
            prefixed_columns::<chapter::Entity>("c"),
        ),
        (
            "bases",
            "b",
            "base_id",
            RecipientType::Base,
            units.base,
            prefixed_columns::<base::Entity>("b"),
        ),
        (
            "provinces",
            "p",
            "province_id",
            RecipientType::Province,
            units.province,
            prefixed_columns::<province::Entity>("p"),
        ),
    ] {
        columns.push_str(&unit_columns);
        // A `LATERAL` probe of the unit's key per award (see `unit_join` for why not a plain join), made only
        // for the awards that need the unit.
        joins
            .push(&format!(
                " LEFT JOIN LATERAL (SELECT * FROM {table} u WHERE u.id = a.{key} AND (a.recipient_type = "
            ))
            .bind(kind.to_value());
        if above {
            joins
                .push(" OR a.recipient_type = ")
                .bind(RecipientType::Member.to_value());
        }
        joins.push(&format!(") LIMIT 1) {alias} ON TRUE"));
    }
    let (page, rows) = list
        .page_joined::<entity::award::Model>(db, window, with_total, &columns, &joins)
        .await?;
    let mut found = Recipients::default();
    for row in &rows {
        let present = |prefix: &str| row.try_get::<Option<i64>>(prefix, "id").map(|id| id.is_some());
        if present("m_")? {
            found.members.push(super::members::model(row, "m_")?);
        }
        if present("c_")? {
            found.chapters.push(super::decode::decode(row, "c_")?);
        }
        if present("b_")? {
            found.bases.push(super::decode::decode(row, "b_")?);
        }
        if present("p_")? {
            found.provinces.push(super::decode::decode(row, "p_")?);
        }
    }
    Ok((page, found))
}
