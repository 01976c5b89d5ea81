//! The access policy (DOMAIN.md §4). Resolvers ask it for scopes and get SQL conditions back; they never match
//! on roles themselves. Reads outside scope are filtered in SQL, so they look exactly like missing records.

use super::{Principal, Role, ScopeNode, Viewer};
use crate::error::{AppError, AppResult};
use crate::sql::Sql;

/// A set of rows of the tree: everything, a subtree, one member, or nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subtree {
    All,
    Province(i64),
    Base(i64),
    Chapter(i64),
    Member(i64),
    Nothing,
}

impl Subtree {
    fn of(node: ScopeNode) -> Self {
        match node {
            ScopeNode::Everything => Self::All,
            ScopeNode::Province(id) => Self::Province(id),
            ScopeNode::Base(id) => Self::Base(id),
            ScopeNode::Chapter(id) => Self::Chapter(id),
            ScopeNode::Member(id) => Self::Member(id),
        }
    }

    /// The condition on a `members` row (alias `t`) that keeps it inside this set; `None` means no condition.
    pub fn members_condition(&self) -> Option<Sql> {
        self.condition("t.id")
    }

    /// The condition on a row that carries ancestor ids (`province_id`, `base_id`, `chapter_id`) and, for a
    /// member-level row, `member_column`.
    pub fn condition(&self, member_column: &str) -> Option<Sql> {
        let (column, id) = match *self {
            Self::All => return None,
            Self::Nothing => return Some(Sql::new("1 = 0")),
            Self::Province(id) => ("t.province_id", id),
            Self::Base(id) => ("t.base_id", id),
            Self::Chapter(id) => ("t.chapter_id", id),
            Self::Member(id) => (member_column, id),
        };
        let mut sql = Sql::new(&format!("{column} = "));
        sql.bind(id);
        Some(sql)
    }

    /// Whether a member with these ancestors is inside the set.
    pub fn contains_member(&self, province_id: i64, base_id: i64, chapter_id: i64, member_id: i64) -> bool {
        match *self {
            Self::All => true,
            Self::Nothing => false,
            Self::Province(id) => id == province_id,
            Self::Base(id) => id == base_id,
            Self::Chapter(id) => id == chapter_id,
            Self::Member(id) => id == member_id,
        }
    }
}

/// What one viewer may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReadScope {
    /// Members whose rows (names, chapter, status, awards) the viewer may see.
    pub members: Subtree,
    /// Members whose personal data (birth date, phone, address, card number, war-invalid status) the viewer
    /// may see.
    pub personal: Subtree,
}

impl ReadScope {
    /// The read scope of a viewer. A member sees the names of their own chapter and their own record in full;
    /// the public sees units, counts and the award roll, but no member rows.
    pub fn of(viewer: &Viewer, member_chapter: Option<i64>) -> Self {
        match viewer {
            Viewer::Anonymous => Self {
                members: Subtree::Nothing,
                personal: Subtree::Nothing,
            },
            Viewer::Account(Principal {
                role: Role::Member,
                scope,
                ..
            }) => {
                let own = Subtree::of(*scope);
                Self {
                    members: member_chapter.map(Subtree::Chapter).unwrap_or(own),
                    personal: own,
                }
            }
            Viewer::Account(Principal { scope, .. }) => {
                let subtree = Subtree::of(*scope);
                Self {
                    members: subtree,
                    personal: subtree,
                }
            }
        }
    }
}

/// Requires an authenticated viewer.
pub fn require_account(viewer: &Viewer) -> AppResult<&Principal> {
    match viewer {
        Viewer::Anonymous => Err(AppError::Unauthenticated),
        Viewer::Account(p) => Ok(p),
    }
}
