//! Who is asking: token verification ([`token`]), accounts and passwords ([`accounts`]), and the policy that
//! turns a viewer into row and field scopes ([`policy`]), the only place roles and scopes are compared.

pub mod accounts;
pub mod policy;
pub mod token;

/// The roles of docs/access.md, in the spelling of the `role` claim.
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
