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
