//! Reads of members: filters, diacritic-insensitive search through the `member_tokens` index, orderings.

use entity::member::{MemberStatus, MemberType, Sex};
use sea_orm::ActiveEnum;

use crate::auth::policy::Subtree;
use crate::sql::{Filter, Sql};
use crate::store::page::{ListQuery, Order};
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

    pub fn to_filter(&self, scope: &Subtree) -> Filter {
        let mut filter = Filter::default();
        if let Some(cond) = scope.members_condition() {
            filter.and(cond);
        }
        for word in &self.search_words {
            // A prefix range on the token primary key: an index seek, whatever the collation.
            let mut cond = Sql::new("t.id IN (SELECT k.member_id FROM member_tokens k WHERE k.token >= ");
            cond.bind(word.clone())
                .push(" AND k.token < ")
                .bind(format!("{word}{{"))
                .push(")");
            filter.and(cond);
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

pub fn list(filter: &MemberFilter, scope: &Subtree, order: Order) -> ListQuery {
    ListQuery::new("members", filter.to_filter(scope), order)
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
fn prefixed_columns<E: sea_orm::EntityTrait>(alias: &str) -> String {
    use sea_orm::{IdenStatic, Iterable};
    E::Column::iter()
        .map(|c| format!(", {alias}.\"{col}\" AS \"{alias}_{col}\"", col = c.as_str()))
        .collect()
}

/// Members by id inside `scope`, each with the units `units` asks for, in one statement: a `node(id:)` that
/// selects a member's chapter, base and province is one round trip instead of four.
pub async fn by_ids_with_units(
    db: &sea_orm::DatabaseConnection,
    scope: &Subtree,
    ids: &[i64],
    units: Units,
) -> crate::error::AppResult<Vec<WithUnits>> {
    use entity::{base, chapter, province};
    use sea_orm::{ConnectionTrait, FromQueryResult};

    let mut sql = Sql::new("SELECT t.*");
    let mut joins = String::new();
    if units.chapter {
        sql.push(&prefixed_columns::<chapter::Entity>("c"));
        joins.push_str(" JOIN chapters c ON c.id = t.chapter_id");
    }
    if units.base {
        sql.push(&prefixed_columns::<base::Entity>("b"));
        joins.push_str(" JOIN bases b ON b.id = t.base_id");
    }
    if units.province {
        sql.push(&prefixed_columns::<province::Entity>("p"));
        joins.push_str(" JOIN provinces p ON p.id = t.province_id");
    }
    sql.push(" FROM members t").push(&joins);
    let mut filter = Filter::default();
    if let Some(cond) = scope.members_condition() {
        filter.and(cond);
    }
    let mut id_in = Sql::new("t.id IN ");
    id_in.bind_list(ids);
    filter.and(id_in);
    filter.render_where(&mut sql);
    let rows = db.query_all_raw(sql.build(db.get_database_backend())).await?;
    rows.iter()
        .map(|row| {
            Ok(WithUnits {
                member: entity::member::Model::from_query_result(row, "")?,
                chapter: units
                    .chapter
                    .then(|| chapter::Model::from_query_result(row, "c_"))
                    .transpose()?,
                base: units
                    .base
                    .then(|| base::Model::from_query_result(row, "b_"))
                    .transpose()?,
                province: units
                    .province
                    .then(|| province::Model::from_query_result(row, "p_"))
                    .transpose()?,
            })
        })
        .collect()
}
