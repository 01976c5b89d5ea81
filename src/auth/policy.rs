//! The access policy (docs/access.md). Resolvers ask it for scopes and get SQL conditions back; they never match
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

    /// The condition on a `transfers` row (alias `t`) that keeps it when either end is inside this set.
    pub fn transfers_condition(&self) -> Option<Sql> {
        let (a, b, id) = match *self {
            Self::All => return None,
            Self::Nothing => return Some(Sql::new("1 = 0")),
            Self::Province(id) => ("t.from_province_id", "t.to_province_id", id),
            Self::Base(id) => ("t.from_base_id", "t.to_base_id", id),
            Self::Chapter(id) => ("t.from_chapter_id", "t.to_chapter_id", id),
            Self::Member(id) => ("t.member_id", "t.member_id", id),
        };
        let mut sql = Sql::new(&format!("{a} = "));
        sql.bind(id).push(&format!(" OR {b} = ")).bind(id);
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

/// Where a write lands: the ancestors of the record it changes or creates (the record itself included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    pub province_id: i64,
    pub base_id: Option<i64>,
    pub chapter_id: Option<i64>,
    pub member_id: Option<i64>,
}

impl Position {
    pub fn member(m: &entity::member::Model) -> Self {
        Self {
            province_id: m.province_id,
            base_id: Some(m.base_id),
            chapter_id: Some(m.chapter_id),
            member_id: Some(m.id),
        }
    }

    pub fn chapter(c: &entity::chapter::Model) -> Self {
        Self {
            province_id: c.province_id,
            base_id: Some(c.base_id),
            chapter_id: Some(c.id),
            member_id: None,
        }
    }

    pub fn base(b: &entity::base::Model) -> Self {
        Self {
            province_id: b.province_id,
            base_id: Some(b.id),
            chapter_id: None,
            member_id: None,
        }
    }

    pub fn province(id: i64) -> Self {
        Self {
            province_id: id,
            ..Self::default()
        }
    }
}

/// What a write does, as far as permissions go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capability {
    /// Create, rename or close a base association.
    ManageBases,
    /// Create, rename or close a chapter.
    ManageChapters,
    /// Admit, move, record death, remove; edit the whole roster record.
    ManageMembers,
    /// Release a member to another base, or accept one into this base.
    Transfer,
    /// Edit a member's everyday contact data (phone, address, home town).
    EditContact,
    /// Grant or revoke an award at this level.
    Award(entity::award::GrantingLevel),
    /// Create accounts, disable and re-enable them.
    ManageAccounts,
}

/// The subtree a role is bound to, for writes.
fn write_subtree(p: &Principal) -> Subtree {
    Subtree::of(p.scope)
}

/// Whether `position` is inside `subtree` (the subtree's own node included).
fn contains(subtree: Subtree, at: &Position) -> bool {
    match subtree {
        Subtree::All => true,
        Subtree::Nothing => false,
        Subtree::Province(id) => at.province_id == id,
        Subtree::Base(id) => at.base_id == Some(id),
        Subtree::Chapter(id) => at.chapter_id == Some(id),
        Subtree::Member(id) => at.member_id == Some(id),
    }
}

/// Decides a write on a record the viewer can see (callers load members through the read scope first, so a
/// member outside it is `NOT_FOUND` before this is asked). Outside the viewer's subtree, or with a role that
/// lacks the capability, the answer is `FORBIDDEN`; without a token, `UNAUTHENTICATED`.
pub fn authorize(viewer: &Viewer, capability: Capability, at: &Position) -> AppResult<()> {
    let principal = require_account(viewer)?;
    if !contains(write_subtree(principal), at) {
        return Err(AppError::Forbidden("outside the subtree your role is bound to".into()));
    }
    if role_may(principal.role, capability) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "the {} role may not do this",
            principal.role.claim()
        )))
    }
}

/// Whether `role` has `capability` somewhere in its subtree (the part of [`authorize`] that does not depend on
/// the record).
fn role_may(role: Role, capability: Capability) -> bool {
    use entity::award::GrantingLevel as L;
    match (role, capability) {
        (Role::Admin, _) => true,
        (_, Capability::ManageAccounts) => false,
        (Role::ProvinceOfficial, Capability::Award(level)) => level == L::Province,
        (Role::ProvinceOfficial, _) => true,
        (Role::BaseOfficial, Capability::ManageBases) => false,
        (Role::BaseOfficial, Capability::Award(level)) => level == L::Base,
        (Role::BaseOfficial, _) => true,
        (Role::ChapterLeader | Role::Member, capability) => capability == Capability::EditContact,
    }
}

/// The SQL form of loading a member through the read scope and then [`authorize`], for a write sent without
/// reading the record first: the conditions on a `members` row (alias `t`) under which `viewer` (read scope
/// `scope`) may make a write needing `capability` to it. `None` when no row would do (no account, or a role
/// without the capability): the caller then reads the record and gets the precise error.
pub fn members_writable(viewer: &Viewer, scope: &ReadScope, capability: Capability) -> Option<Vec<Sql>> {
    let principal = require_account(viewer).ok()?;
    if !role_may(principal.role, capability) {
        return None;
    }
    Some(
        [
            scope.members.members_condition(),
            write_subtree(principal).members_condition(),
        ]
        .into_iter()
        .flatten()
        .collect(),
    )
}

/// Whether a viewer may see a member at all (names and roster, not necessarily personal data).
pub fn can_see_member(scope: &ReadScope, m: &entity::member::Model) -> bool {
    scope
        .members
        .contains_member(m.province_id, m.base_id, m.chapter_id, m.id)
}

/// Whether a viewer may see a transfer: either end is inside the viewer's member scope.
pub fn can_see_transfer(scope: &ReadScope, t: &entity::transfer::Model) -> bool {
    let from = Position {
        province_id: t.from_province_id,
        base_id: Some(t.from_base_id),
        chapter_id: Some(t.from_chapter_id),
        member_id: Some(t.member_id),
    };
    let to = Position {
        province_id: t.to_province_id,
        base_id: Some(t.to_base_id),
        chapter_id: t.to_chapter_id,
        member_id: Some(t.member_id),
    };
    contains(scope.members, &from) || contains(scope.members, &to)
}

/// The level above `level` in the chain of award proposals (base → province → central), if any.
pub fn level_above(level: entity::award::GrantingLevel) -> Option<entity::award::GrantingLevel> {
    use entity::award::GrantingLevel as L;
    match level {
        L::Base => Some(L::Province),
        L::Province => Some(L::Central),
        L::Central => None,
    }
}

/// Whether `level` or any level above it may grant `kind`, so a proposal there can still end in an award.
pub fn grantable_from(level: entity::award::GrantingLevel, kind: entity::award::AwardKind) -> bool {
    let mut at = Some(level);
    while let Some(l) = at {
        if l.may_grant(kind) {
            return true;
        }
        at = level_above(l);
    }
    false
}

/// Who may propose an award for a recipient at `at`, and the level the proposal goes to first: a chapter leader
/// proposes to the base, a base official to the province, a province official to the central committee, each
/// only for a member or unit inside their own subtree. Admins grant directly and members do not propose.
pub fn proposal_entry_level(viewer: &Viewer, at: &Position) -> AppResult<entity::award::GrantingLevel> {
    use entity::award::GrantingLevel as L;
    let principal = require_account(viewer)?;
    let level = match principal.role {
        Role::ChapterLeader => L::Base,
        Role::BaseOfficial => L::Province,
        Role::ProvinceOfficial => L::Central,
        Role::Admin => {
            return Err(AppError::Forbidden(
                "the central committee grants awards directly with grantAward".into(),
            ));
        }
        Role::Member => {
            return Err(AppError::Forbidden(format!(
                "the {} role may not propose awards",
                principal.role.claim()
            )));
        }
    };
    if !contains(write_subtree(principal), at) {
        return Err(AppError::Forbidden("outside the subtree your role is bound to".into()));
    }
    Ok(level)
}

/// Decides whether the viewer acts for `level` on a proposal about a recipient at `at` (forward, approve,
/// reject): an official of that level whose subtree holds the recipient, or an admin.
pub fn authorize_proposal_decision(
    viewer: &Viewer,
    level: entity::award::GrantingLevel,
    at: &Position,
) -> AppResult<()> {
    use entity::award::GrantingLevel as L;
    let principal = require_account(viewer)?;
    let acts_for = match principal.role {
        Role::Admin => true,
        Role::ProvinceOfficial => level == L::Province,
        Role::BaseOfficial => level == L::Base,
        Role::ChapterLeader | Role::Member => false,
    };
    if !acts_for {
        return Err(AppError::Forbidden(format!(
            "the proposal waits for the {level:?} level; the {} role does not act for it",
            principal.role.claim()
        )));
    }
    if !contains(write_subtree(principal), at) {
        return Err(AppError::Forbidden("outside the subtree your role is bound to".into()));
    }
    Ok(())
}

/// The lowest level whose officials see a proposal in their subtree: a chapter leader and a base official see
/// every proposal of their chapter or base (they are where proposals start), a province official sees those
/// that reached the province, the central committee those that reached it.
fn proposal_levels_seen(role: Role) -> &'static [&'static str] {
    match role {
        Role::ProvinceOfficial => &["PROVINCE", "CENTRAL"],
        _ => &["BASE", "PROVINCE", "CENTRAL"],
    }
}

/// The condition on an `award_proposals` row (alias `t`) that keeps the proposals the viewer may see: those
/// about a recipient inside their subtree that reached their level. Members and the public see none.
pub fn proposals_condition(viewer: &Viewer) -> Option<Sql> {
    let principal = match viewer {
        Viewer::Anonymous => return Some(Sql::new("1 = 0")),
        Viewer::Account(p) => p,
    };
    if principal.role == Role::Member {
        return Some(Sql::new("1 = 0"));
    }
    let subtree = write_subtree(principal).condition("t.member_id");
    if principal.role == Role::Admin {
        return subtree;
    }
    let levels = proposal_levels_seen(principal.role)
        .iter()
        .map(|l| format!("'{l}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut sql = Sql::new(&format!("t.level IN ({levels})"));
    if let Some(cond) = subtree {
        sql.push(" AND (").append(&cond).push(")");
    }
    Some(sql)
}

/// Whether the viewer may see this proposal: the same rule as [`proposals_condition`], for one loaded row.
pub fn can_see_proposal(viewer: &Viewer, p: &entity::award_proposal::Model) -> bool {
    let at = Position {
        province_id: p.province_id,
        base_id: p.base_id,
        chapter_id: p.chapter_id,
        member_id: p.member_id,
    };
    sees_proposal_at(viewer, &at, p.level)
}

/// Whether the viewer sees a proposal about a recipient at `at` while it stands at `level`: the rule of
/// [`proposals_condition`] for one proposal, loaded or as a change of the change log recorded it.
pub fn sees_proposal_at(viewer: &Viewer, at: &Position, level: entity::award::GrantingLevel) -> bool {
    let Viewer::Account(principal) = viewer else {
        return false;
    };
    if principal.role == Role::Member {
        return false;
    }
    contains(write_subtree(principal), at)
        && (principal.role == Role::Admin || proposal_levels_seen(principal.role).contains(&level_name(level)))
}

/// A granting level as stored in `level` columns (`award_proposals`, `changes`).
pub fn level_name(level: entity::award::GrantingLevel) -> &'static str {
    match level {
        entity::award::GrantingLevel::Base => "BASE",
        entity::award::GrantingLevel::Province => "PROVINCE",
        entity::award::GrantingLevel::Central => "CENTRAL",
    }
}

/// The condition on a `yearly_ratings` row (alias `t`, or any row naming the rated subject's `province_id`,
/// `base_id`, `chapter_id` and `member_id`) that keeps the ratings the reader may see: a member's ratings
/// inside the reader's member scope, a base's inside their subtree down to the base. `None`: no condition.
pub fn ratings_condition(scope: &ReadScope) -> Option<Sql> {
    scope.members.condition("t.member_id")
}

/// Whether the reader sees a rating of a subject at `at`: the rule of [`ratings_condition`] for one rating.
pub fn can_see_rating(scope: &ReadScope, at: &Position) -> bool {
    contains(scope.members, at)
}

/// Decides recording a yearly rating for a subject at `at`: a base's rating ("trong sạch, vững mạnh") is given by
/// the province above it, a member's ratings by the member's base or the province, each inside their subtree.
pub fn authorize_rating(viewer: &Viewer, rates_a_base: bool, at: &Position) -> AppResult<()> {
    let principal = require_account(viewer)?;
    let allowed = match principal.role {
        Role::Admin | Role::ProvinceOfficial => true,
        Role::BaseOfficial => !rates_a_base,
        Role::ChapterLeader | Role::Member => false,
    };
    if !allowed {
        return Err(AppError::Forbidden(format!(
            "the {} role may not record this rating",
            principal.role.claim()
        )));
    }
    if !contains(write_subtree(principal), at) {
        return Err(AppError::Forbidden("outside the subtree your role is bound to".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The policy as tables: for every viewer, every relation of a record to the viewer's scope, and every
    //! capability, the expected answer is written out by hand, not computed, so a change to the policy's
    //! behaviour shows up here as a changed row.
    //!
    //! The tree the tables speak of (each viewer is bound to the node on the path to member 1000 that its role
    //! binds to; the MEMBER viewer is member 1000):
    //!
    //! ```text
    //! province 1 ─ base 10 ─ chapter 100 ─ members 1000 (the MEMBER viewer), 1001
    //!            │         └ chapter 101 ─ member 1010
    //!            └ base 11 ─ chapter 110 ─ member 1100
    //! province 2 ─ base 20 ─ chapter 200 ─ member 2000
    //! ```

    use super::*;
    use crate::error::AppError;
    use entity::award::GrantingLevel;

    const T: bool = true;
    const F: bool = false;

    /// The columns of every table below, in this order.
    fn viewers() -> [(&'static str, Viewer); 6] {
        let account = |role, scope| {
            Viewer::Account(Principal {
                subject: "test".into(),
                role,
                scope,
            })
        };
        [
            ("anonymous", Viewer::Anonymous),
            ("ADMIN", account(Role::Admin, ScopeNode::Everything)),
            (
                "PROVINCE_OFFICIAL",
                account(Role::ProvinceOfficial, ScopeNode::Province(1)),
            ),
            ("BASE_OFFICIAL", account(Role::BaseOfficial, ScopeNode::Base(10))),
            ("CHAPTER_LEADER", account(Role::ChapterLeader, ScopeNode::Chapter(100))),
            ("MEMBER", account(Role::Member, ScopeNode::Member(1000))),
        ]
    }

    /// A member of the tree: (relation to the viewers, province, base, chapter, member id).
    type MemberRow = (&'static str, i64, i64, i64, i64);

    const MEMBERS: [MemberRow; 5] = [
        ("own record", 1, 10, 100, 1000),
        ("chapter mate", 1, 10, 100, 1001),
        ("same base, other chapter", 1, 10, 101, 1010),
        ("same province, other base", 1, 11, 110, 1100),
        ("other province", 2, 20, 200, 2000),
    ];

    /// Whose member rows (names, chapter, status, awards) each viewer reads, per row of `MEMBERS`.
    // Columns: anonymous, ADMIN, PROVINCE_OFFICIAL, BASE_OFFICIAL, CHAPTER_LEADER, MEMBER.
    const SEES_MEMBER: [[bool; 6]; 5] = [
        /* own record                */ [F, T, T, T, T, T],
        /* chapter mate              */ [F, T, T, T, T, T],
        /* same base, other chapter  */ [F, T, T, T, F, F],
        /* same province, other base */ [F, T, T, F, F, F],
        /* other province            */ [F, T, F, F, F, F],
    ];

    /// Whose personal data (birth date, phone, address, card number, war-invalid status) each viewer reads.
    // Columns: anonymous, ADMIN, PROVINCE_OFFICIAL, BASE_OFFICIAL, CHAPTER_LEADER, MEMBER.
    const SEES_PERSONAL: [[bool; 6]; 5] = [
        /* own record                */ [F, T, T, T, T, T],
        /* chapter mate              */ [F, T, T, T, T, F],
        /* same base, other chapter  */ [F, T, T, T, F, F],
        /* same province, other base */ [F, T, T, F, F, F],
        /* other province            */ [F, T, F, F, F, F],
    ];

    fn read_scope(viewer: &Viewer) -> ReadScope {
        // The MEMBER viewer's chapter, as the request context looks it up.
        let own_chapter = matches!(viewer, Viewer::Account(Principal { role: Role::Member, .. })).then_some(100);
        ReadScope::of(viewer, own_chapter)
    }

    #[test]
    fn who_reads_which_member_rows_and_personal_data() {
        let mut wrong = Vec::new();
        for (column, (viewer_name, viewer)) in viewers().iter().enumerate() {
            let scope = read_scope(viewer);
            for (row, &(relation, province, base, chapter, member)) in MEMBERS.iter().enumerate() {
                let sees = scope.members.contains_member(province, base, chapter, member);
                if sees != SEES_MEMBER[row][column] {
                    wrong.push(format!("{viewer_name} sees the {relation}'s row: {sees}"));
                }
                let personal = scope.personal.contains_member(province, base, chapter, member);
                if personal != SEES_PERSONAL[row][column] {
                    wrong.push(format!("{viewer_name} sees the {relation}'s personal data: {personal}"));
                }
            }
        }
        assert!(wrong.is_empty(), "the read policy changed:\n{}", wrong.join("\n"));
    }

    #[test]
    fn personal_data_is_never_wider_than_the_member_rows() {
        for (viewer_name, viewer) in viewers() {
            let scope = read_scope(&viewer);
            for (relation, province, base, chapter, member) in MEMBERS {
                if scope.personal.contains_member(province, base, chapter, member) {
                    assert!(
                        scope.members.contains_member(province, base, chapter, member),
                        "{viewer_name} would see the personal data of a {relation} whose row it cannot see"
                    );
                }
            }
        }
    }

    #[test]
    fn a_member_whose_chapter_is_unknown_sees_only_their_own_record() {
        let (_, member) = &viewers()[5];
        let scope = ReadScope::of(member, None);
        assert_eq!(scope.members, Subtree::Member(1000));
        assert_eq!(scope.personal, Subtree::Member(1000));
    }

    #[test]
    fn the_public_reads_no_member_rows_at_all() {
        let scope = ReadScope::of(&Viewer::Anonymous, None);
        assert_eq!(scope.members, Subtree::Nothing);
        assert_eq!(scope.personal, Subtree::Nothing);
    }

    /// Where a write lands: every member above, and every unit above them.
    fn positions() -> Vec<(&'static str, Position)> {
        let member = |province_id, base_id, chapter_id, member_id| Position {
            province_id,
            base_id: Some(base_id),
            chapter_id: Some(chapter_id),
            member_id: Some(member_id),
        };
        let chapter = |province_id, base_id, chapter_id| Position {
            province_id,
            base_id: Some(base_id),
            chapter_id: Some(chapter_id),
            member_id: None,
        };
        let base = |province_id, base_id| Position {
            province_id,
            base_id: Some(base_id),
            chapter_id: None,
            member_id: None,
        };
        vec![
            ("member 1000 (own record)", member(1, 10, 100, 1000)),
            ("member 1001 (chapter mate)", member(1, 10, 100, 1001)),
            ("member 1010 (same base)", member(1, 10, 101, 1010)),
            ("member 1100 (same province)", member(1, 11, 110, 1100)),
            ("member 2000 (other province)", member(2, 20, 200, 2000)),
            ("chapter 100 (own chapter)", chapter(1, 10, 100)),
            ("chapter 101 (same base)", chapter(1, 10, 101)),
            ("chapter 110 (same province)", chapter(1, 11, 110)),
            ("chapter 200 (other province)", chapter(2, 20, 200)),
            ("base 10 (own base)", base(1, 10)),
            ("base 11 (same province)", base(1, 11)),
            ("base 20 (other province)", base(2, 20)),
            ("province 1 (own province)", Position::province(1)),
            ("province 2 (other province)", Position::province(2)),
        ]
    }

    /// Whether each position is inside the subtree each account's writes are bound to (anonymous never writes).
    // Columns: ADMIN, PROVINCE_OFFICIAL, BASE_OFFICIAL, CHAPTER_LEADER, MEMBER.
    const WRITES_INSIDE: [[bool; 5]; 14] = [
        /* member 1000             */ [T, T, T, T, T],
        /* member 1001             */ [T, T, T, T, F],
        /* member 1010             */ [T, T, T, F, F],
        /* member 1100             */ [T, T, F, F, F],
        /* member 2000             */ [T, F, F, F, F],
        /* chapter 100             */ [T, T, T, T, F],
        /* chapter 101             */ [T, T, T, F, F],
        /* chapter 110             */ [T, T, F, F, F],
        /* chapter 200             */ [T, F, F, F, F],
        /* base 10                 */ [T, T, T, F, F],
        /* base 11                 */ [T, T, F, F, F],
        /* base 20                 */ [T, F, F, F, F],
        /* province 1              */ [T, T, F, F, F],
        /* province 2              */ [T, F, F, F, F],
    ];

    /// What each role may do inside its subtree.
    fn capabilities() -> [(Capability, [bool; 5]); 9] {
        // Columns: ADMIN, PROVINCE_OFFICIAL, BASE_OFFICIAL, CHAPTER_LEADER, MEMBER.
        [
            (Capability::ManageBases, [T, T, F, F, F]),
            (Capability::ManageChapters, [T, T, T, F, F]),
            (Capability::ManageMembers, [T, T, T, F, F]),
            (Capability::Transfer, [T, T, T, F, F]),
            (Capability::EditContact, [T, T, T, T, T]),
            (Capability::Award(GrantingLevel::Central), [T, F, F, F, F]),
            (Capability::Award(GrantingLevel::Province), [T, T, F, F, F]),
            (Capability::Award(GrantingLevel::Base), [T, F, T, F, F]),
            (Capability::ManageAccounts, [T, F, F, F, F]),
        ]
    }

    #[test]
    fn who_may_do_what_where() {
        let mut wrong = Vec::new();
        for (column, (viewer_name, viewer)) in viewers().iter().enumerate() {
            for (row, (where_, at)) in positions().iter().enumerate() {
                for (capability, by_role) in capabilities() {
                    let expected = match column {
                        0 => "UNAUTHENTICATED",
                        c if WRITES_INSIDE[row][c - 1] && by_role[c - 1] => "OK",
                        _ => "FORBIDDEN",
                    };
                    let got = match authorize(viewer, capability, at) {
                        Ok(()) => "OK",
                        Err(e) => e.code(),
                    };
                    if got != expected {
                        wrong.push(format!(
                            "{viewer_name} {capability:?} at {where_}: {got}, expected {expected}"
                        ));
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "the write policy changed:\n{}", wrong.join("\n"));
    }

    #[test]
    fn a_refusal_says_whether_the_place_or_the_role_was_wrong() {
        let (_, base_official) = &viewers()[3];
        let outside = authorize(base_official, Capability::ManageMembers, &Position::province(2));
        assert!(
            matches!(&outside, Err(AppError::Forbidden(m)) if m.contains("outside")),
            "{outside:?}"
        );
        let (_, chapter_leader) = &viewers()[4];
        let own_member = positions()[0].1;
        let role = authorize(chapter_leader, Capability::ManageMembers, &own_member);
        assert!(
            matches!(&role, Err(AppError::Forbidden(m)) if m.contains("CHAPTER_LEADER")),
            "{role:?}"
        );
    }

    fn transfer(member_id: i64, from: (i64, i64, i64), to: (i64, i64, Option<i64>)) -> entity::transfer::Model {
        entity::transfer::Model {
            id: 1,
            member_id,
            member_name: "Nguyễn Văn An".into(),
            from_province_id: from.0,
            from_base_id: from.1,
            from_chapter_id: from.2,
            to_province_id: to.0,
            to_base_id: to.1,
            to_chapter_id: to.2,
            status: entity::transfer::TransferStatus::Pending,
            note: None,
            released_at: chrono::DateTime::UNIX_EPOCH,
            released_by: "test".into(),
            decided_at: None,
            decided_by: None,
            decision_reason: None,
            version: 1,
        }
    }

    #[test]
    fn a_transfer_is_seen_from_either_end() {
        let transfers = [
            (
                "own record to another province",
                transfer(1000, (1, 10, 100), (2, 20, None)),
            ),
            (
                "same base to same province",
                transfer(1010, (1, 10, 101), (1, 11, None)),
            ),
            (
                "other province into chapter 101",
                transfer(2000, (2, 20, 200), (1, 10, Some(101))),
            ),
            (
                "other province into same province",
                transfer(2000, (2, 20, 200), (1, 11, Some(110))),
            ),
            ("within the other province", transfer(2000, (2, 20, 200), (2, 20, None))),
        ];
        // Columns: anonymous, ADMIN, PROVINCE_OFFICIAL, BASE_OFFICIAL, CHAPTER_LEADER, MEMBER.
        let expected: [[bool; 6]; 5] = [
            /* own record to another province      */ [F, T, T, T, T, T],
            /* same base to same province          */ [F, T, T, T, F, F],
            /* other province into chapter 101     */ [F, T, T, T, F, F],
            /* other province into same province   */ [F, T, T, F, F, F],
            /* within the other province           */ [F, T, F, F, F, F],
        ];
        let mut wrong = Vec::new();
        for (column, (viewer_name, viewer)) in viewers().iter().enumerate() {
            let scope = read_scope(viewer);
            for (row, (what, t)) in transfers.iter().enumerate() {
                let sees = can_see_transfer(&scope, t);
                if sees != expected[row][column] {
                    wrong.push(format!("{viewer_name} sees the transfer {what}: {sees}"));
                }
            }
        }
        assert!(wrong.is_empty(), "transfer visibility changed:\n{}", wrong.join("\n"));
    }
}
