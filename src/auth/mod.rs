//! Who is asking: token verification ([`token`]), accounts and passwords ([`accounts`]), and the policy that
//! turns a viewer into row and field scopes ([`policy`]), the only place roles and scopes are compared.

pub mod accounts;
pub mod policy;
pub mod sessions;
pub mod throttle;
pub mod token;

use crate::ids::{GlobalId, NodeKind};

/// The roles, in the spelling of the token's `role` claim. Each is bound to a node of its level: a province, a
/// base, a chapter, or for MEMBER the member's own record; ADMIN to everything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum Role {
    Admin,
    ProvinceOfficial,
    BaseOfficial,
    ChapterLeader,
    Member,
}

impl Role {
    pub fn claim(self) -> &'static str {
        match self {
            Self::Admin => "ADMIN",
            Self::ProvinceOfficial => "PROVINCE_OFFICIAL",
            Self::BaseOfficial => "BASE_OFFICIAL",
            Self::ChapterLeader => "CHAPTER_LEADER",
            Self::Member => "MEMBER",
        }
    }

    /// The kind of tree node the role is bound to; `None` for ADMIN, which is bound to everything. This is the
    /// one place the rule tying a role to its scope level is written.
    pub fn scope_kind(self) -> Option<NodeKind> {
        match self {
            Self::Admin => None,
            Self::ProvinceOfficial => Some(NodeKind::Province),
            Self::BaseOfficial => Some(NodeKind::Base),
            Self::ChapterLeader => Some(NodeKind::Chapter),
            Self::Member => Some(NodeKind::Member),
        }
    }

    pub fn from_claim(claim: &str) -> Option<Self> {
        [
            Self::Admin,
            Self::ProvinceOfficial,
            Self::BaseOfficial,
            Self::ChapterLeader,
            Self::Member,
        ]
        .into_iter()
        .find(|r| r.claim() == claim)
    }
}

/// The tree node a role is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScopeNode {
    Everything,
    Province(i64),
    Base(i64),
    Chapter(i64),
    Member(i64),
}

impl ScopeNode {
    /// The scope of `role` bound to `node`: everything for ADMIN with no node, the node itself when it is of the
    /// role's level (see [`Role::scope_kind`]); `None` when the node does not fit the role.
    pub fn of_role(role: Role, node: Option<GlobalId>) -> Option<Self> {
        match (role.scope_kind(), node) {
            (None, None) => Some(Self::Everything),
            (Some(kind), Some(node)) if node.kind == kind => Self::at(node),
            _ => None,
        }
    }

    /// The scope bound to a tree node; `None` for a global id that is not a tree node (an award, an account…).
    pub fn at(node: GlobalId) -> Option<Self> {
        match node.kind {
            NodeKind::Province => Some(Self::Province(node.id)),
            NodeKind::Base => Some(Self::Base(node.id)),
            NodeKind::Chapter => Some(Self::Chapter(node.id)),
            NodeKind::Member => Some(Self::Member(node.id)),
            _ => None,
        }
    }

    /// The node's global id (the `scope_id` claim); `None` for everything.
    pub fn global_id(self) -> Option<GlobalId> {
        let (kind, id) = match self {
            Self::Everything => return None,
            Self::Province(id) => (NodeKind::Province, id),
            Self::Base(id) => (NodeKind::Base, id),
            Self::Chapter(id) => (NodeKind::Chapter, id),
            Self::Member(id) => (NodeKind::Member, id),
        };
        Some(GlobalId::new(kind, id))
    }
}

/// The viewer of one request: anonymous, or an authenticated account with a role bound to a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Viewer {
    Anonymous,
    Account(Principal),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The token's `sub`.
    pub subject: String,
    pub role: Role,
    pub scope: ScopeNode,
}

/// What an authenticated principal may read. A member's own records are read through the member's chapter,
/// which the token does not carry, so it is looked up; every other role's scope follows from its claims. The
/// one place both HTTP requests and subscription sockets get a read scope from a token.
pub async fn read_scope_of(
    db: &sea_orm::DatabaseConnection,
    principal: &Principal,
) -> crate::error::AppResult<policy::ReadScope> {
    let member_chapter = match principal {
        Principal {
            role: Role::Member,
            scope: ScopeNode::Member(id),
            ..
        } => crate::store::members::chapter_of(db, *id).await?,
        _ => None,
    };
    Ok(policy::ReadScope::of(
        &Viewer::Account(principal.clone()),
        member_chapter,
    ))
}
