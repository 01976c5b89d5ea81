//! Award proposals (đề nghị khen thưởng) as GraphQL: `proposeAward`, `forwardProposal`, `approveProposal`,
//! `rejectProposal`, `withdrawProposal`, the `proposals` list and the `Proposal` node with its steps' history.
//!
//! A proposal travels up the tree: a chapter proposes to its base, a base to the province, the province to the
//! central committee. The level holding it may approve it if it may grant the kind (the award is created in the
//! same transaction, through the grant path of `grantAward`), reject it with a reason, or forward it upward; the
//! proposer may withdraw it while it is open. Each step runs in the shared mutation frame (versioned,
//! idempotent by `clientMutationId`, one audit event in the step's transaction).

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Datelike, Utc};
use entity::award::{AwardKind as DbKind, GrantingLevel as DbLevel, RecipientType as DbRecipient};
use entity::award_proposal::{self as proposal, ProposalStatus as DbStatus};
use entity::{base, province};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect,
    SqlErr,
};

use super::award::{Award, AwardKind, AwardRecipient, GrantingLevel, RecipientType};
use super::connection::connection;
use super::history::{AuditEventConnection, history};
use super::loaders::*;
use super::member::Member;
use super::mutation::{Outcome, check_version, map_write_error, mutate, now, stale};
use super::scalars::Date;
use super::tree::{Base, Chapter, Province};
use super::{load, page_complexity, state, window};
use crate::audit::diff;
use crate::auth::policy::{
    Position, authorize_proposal_decision, can_see_proposal, grantable_from, level_above, proposal_entry_level,
    proposals_condition,
};
use crate::error::{AppError, AppResult};
use crate::ids::{GlobalId, KeyValue, NodeKind};
use crate::input;
use crate::store::page::{Order, Row};
use crate::store::reviews::{self, ProposalFilter as ProposalFilterOf};
use crate::store::write::{self, AwardData, GrantingBody, Recipient};

/// The audit actions of a proposal's steps (also the change log's, which the subscriptions read).
pub const PROPOSE_AWARD: &str = "PROPOSE_AWARD";
pub const FORWARD_PROPOSAL: &str = "FORWARD_PROPOSAL";
pub const APPROVE_PROPOSAL: &str = "APPROVE_PROPOSAL";
pub const REJECT_PROPOSAL: &str = "REJECT_PROPOSAL";
pub const WITHDRAW_PROPOSAL: &str = "WITHDRAW_PROPOSAL";

/// Where a proposal stands.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::award_proposal::ProposalStatus")]
pub enum ProposalStatus {
    /// Waiting for the level named in `level`.
    Pending,
    /// Granted: `award` is the award it created.
    Approved,
    /// Refused, with `rejectionReason`.
    Rejected,
    /// Taken back by the proposer before a decision.
    Withdrawn,
}

/// A proposal for an award, on its way up the tree.
pub struct Proposal(pub proposal::Model);

impl From<proposal::Model> for Proposal {
    fn from(m: proposal::Model) -> Self {
        Self(m)
    }
}

#[Object]
impl Proposal {
    pub async fn id(&self) -> ID {
        GlobalId::new(NodeKind::Proposal, self.0.id).encode().into()
    }
    async fn status(&self) -> ProposalStatus {
        self.0.status.into()
    }
    /// The award asked for.
    async fn kind(&self) -> AwardKind {
        self.0.kind.into()
    }
    /// The level that holds the proposal now (or decided it): it rises as the proposal is forwarded.
    async fn level(&self) -> GrantingLevel {
        self.0.level.into()
    }
    async fn recipient_type(&self) -> RecipientType {
        self.0.recipient_type.into()
    }
    /// The recipient's name when proposed.
    async fn recipient_name(&self) -> &str {
        &self.0.recipient_name
    }
    /// The recipient; a member outside the viewer's member scope is `null`.
    async fn recipient(&self, ctx: &Context<'_>) -> AppResult<Option<AwardRecipient>> {
        let id = self.0.recipient_id;
        Ok(match self.0.recipient_type {
            DbRecipient::Member => load(ctx, MemberById(id))
                .await?
                .map(|m| AwardRecipient::Member(Member(m))),
            DbRecipient::Chapter => load(ctx, ChapterById(id))
                .await?
                .map(|m| AwardRecipient::Chapter(Chapter(m))),
            DbRecipient::Base => load(ctx, BaseById(id)).await?.map(|m| AwardRecipient::Base(Base(m))),
            DbRecipient::Province => load(ctx, ProvinceById(id))
                .await?
                .map(|m| AwardRecipient::Province(Province(m))),
        })
    }
    /// The year of the achievement.
    async fn year(&self) -> i32 {
        self.0.year
    }
    /// The emulation movement, e.g. "CCB gương mẫu".
    async fn movement(&self) -> &str {
        &self.0.movement
    }
    async fn citation(&self) -> Option<&str> {
        self.0.citation.as_deref()
    }
    /// The proposer's token subject.
    async fn proposed_by(&self) -> &str {
        &self.0.proposed_by
    }
    async fn proposed_at(&self) -> DateTime<Utc> {
        self.0.proposed_at
    }
    /// Who approved, rejected or withdrew it.
    async fn decided_by(&self) -> Option<&str> {
        self.0.decided_by.as_deref()
    }
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
    async fn rejection_reason(&self) -> Option<&str> {
        self.0.rejection_reason.as_deref()
    }
    /// The award created by the approval.
    async fn award(&self, ctx: &Context<'_>) -> AppResult<Option<Award>> {
        match self.0.award_id {
            Some(id) => Ok(load(ctx, AwardById(id)).await?.map(Award)),
            None => Ok(None),
        }
    }
    /// Pass as `expectedVersion` to the next step.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Every step (proposed, forwarded, approved, rejected, withdrawn), newest first, with who took it.
    #[graphql(complexity = "page_complexity(child_complexity, first, None)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<AuditEventConnection> {
        history(ctx, (NodeKind::Proposal, self.0.id), false, first, after).await
    }
}

impl Row for proposal::Model {
    fn key(&self, _order: &Order) -> Vec<KeyValue> {
        vec![KeyValue::Int(self.id)]
    }
}

impl crate::graphql::connection::Prefetch for Proposal {
    type Row = proposal::Model;
}

connection!(
    ProposalConnection,
    ProposalEdge,
    Proposal,
    proposal::Model,
    "award proposals"
);

/// Which proposals to list.
#[derive(InputObject, Default)]
pub struct ProposalFilter {
    pub status: Option<ProposalStatus>,
    /// The year of the achievement.
    pub year: Option<i32>,
    pub kind: Option<AwardKind>,
    /// A province, base or chapter (proposals for it or anything under it), or a member.
    pub unit_id: Option<ID>,
}

/// A proposal the viewer may see, or `None` (missing and out of sight look the same).
pub async fn visible(ctx: &Context<'_>, id: i64) -> AppResult<Option<Proposal>> {
    let st = state(ctx);
    let found = proposal::Entity::find_by_id(id).one(&st.db).await?;
    Ok(found.filter(|p| can_see_proposal(&st.viewer, p)).map(Proposal))
}

#[derive(Default)]
pub struct ProposalQuery;

#[Object]
impl ProposalQuery {
    /// Award proposals the viewer may see, newest first: chapter leaders and base officials see those of their
    /// chapter or base, province officials those that reached the province, admins all. Members and the public
    /// see none.
    #[graphql(complexity = "page_complexity(child_complexity, first, None)")]
    async fn proposals(
        &self,
        ctx: &Context<'_>,
        filter: Option<ProposalFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<ProposalConnection> {
        let order = reviews::PROPOSALS_NEWEST;
        let w = window(&order, first, after, None, None)?;
        let st = state(ctx);
        let filter = filter.unwrap_or_default();
        let filter = ProposalFilterOf {
            status: filter.status.map(DbStatus::from),
            kind: filter.kind.map(DbKind::from),
            year: filter.year,
            under: super::opt_under("filter.unitId", filter.unit_id.as_ref())?,
        };
        let query = reviews::proposals(proposals_condition(&st.viewer), filter, order);
        Ok(ProposalConnection(
            query.page(&st.db, &w, super::wants_total(ctx)).await?,
        ))
    }
}

/// The result of a proposal step.
#[derive(SimpleObject)]
pub struct ProposalPayload {
    pub proposal: Option<Proposal>,
    pub client_mutation_id: Option<String>,
}

#[derive(InputObject)]
pub struct ProposeAwardInput {
    pub kind: AwardKind,
    /// A Province, Base, Chapter or Member id inside the proposer's subtree.
    pub recipient_id: ID,
    /// The year of the achievement.
    pub year: i32,
    pub movement: String,
    /// What the recipient achieved; carried onto the award.
    pub citation: Option<String>,
    pub client_mutation_id: Option<String>,
}

#[derive(InputObject)]
pub struct ForwardProposalInput {
    pub id: ID,
    pub expected_version: i32,
    /// Why the level forwards it (kept in the history).
    pub note: Option<String>,
    pub client_mutation_id: Option<String>,
}

#[derive(InputObject)]
pub struct ApproveProposalInput {
    pub id: ID,
    pub expected_version: i32,
    /// The approving body's decision number, kept verbatim, e.g. "123/QĐ-CCB"; unique per body and year.
    pub decision_number: String,
    pub decision_date: Date,
    /// Where the award is presented.
    pub event: Option<String>,
    pub client_mutation_id: Option<String>,
}

#[derive(InputObject)]
pub struct RejectProposalInput {
    pub id: ID,
    pub expected_version: i32,
    /// Required: why the proposal is refused.
    pub reason: String,
    pub client_mutation_id: Option<String>,
}

#[derive(InputObject)]
pub struct WithdrawProposalInput {
    pub id: ID,
    pub expected_version: i32,
    pub reason: Option<String>,
    pub client_mutation_id: Option<String>,
}

fn recipient_of(raw: &ID) -> AppResult<Recipient> {
    let id = GlobalId::parse("input.recipientId", raw)?;
    Ok(match id.kind {
        NodeKind::Province => Recipient::Province(id.id),
        NodeKind::Base => Recipient::Base(id.id),
        NodeKind::Chapter => Recipient::Chapter(id.id),
        NodeKind::Member => Recipient::Member(id.id),
        _ => {
            return Err(AppError::bad_input(
                "input.recipientId",
                "must be a province, base, chapter or member",
            ));
        }
    })
}

fn position(p: &proposal::Model) -> Position {
    Position {
        province_id: p.province_id,
        base_id: p.base_id,
        chapter_id: p.chapter_id,
        member_id: p.member_id,
    }
}

fn level_name(level: DbLevel) -> &'static str {
    match level {
        DbLevel::Central => "central",
        DbLevel::Province => "province",
        DbLevel::Base => "base",
    }
}

/// Loads an open proposal the viewer may see, at the version the client read, inside the step's transaction.
/// On PostgreSQL the row is locked here, first: every step then takes the proposal's row lock before the
/// change log's lock (`realtime::changes`), which an approval takes early when it records the award it
/// creates. Two officials deciding the same proposal at once then queue on the row, and the second finds the
/// version moved (`CONFLICT`) instead of the two deadlocking. SQLite has one writer at a time anyway.
async fn open_proposal(
    ctx: &Context<'_>,
    txn: &DatabaseTransaction,
    id: i64,
    expected: i32,
) -> AppResult<proposal::Model> {
    let found = proposal::Entity::find_by_id(id).lock_exclusive().one(txn).await?;
    let p = found
        .filter(|p| can_see_proposal(&state(ctx).viewer, p))
        .ok_or_else(|| AppError::not_found("proposal"))?;
    check_version("proposal", p.version, expected)?;
    if p.status != DbStatus::Pending {
        return Err(AppError::Conflict(format!(
            "the proposal is already {}",
            format!("{:?}", p.status).to_lowercase()
        )));
    }
    Ok(p)
}

/// Writes the set fields of `changes` if the proposal is still at `expected`, bumping its version.
async fn update_proposal(
    txn: &DatabaseTransaction,
    id: i64,
    expected: i32,
    changes: proposal::ActiveModel,
) -> AppResult<proposal::Model> {
    let result = proposal::Entity::update_many()
        .set(changes)
        .col_expr(proposal::Column::Version, Expr::col(proposal::Column::Version).add(1))
        .filter(proposal::Column::Id.eq(id))
        .filter(proposal::Column::Version.eq(expected))
        .exec(txn)
        .await
        .map_err(map_write_error)?;
    if result.rows_affected == 0 {
        return Err(stale("proposal", expected));
    }
    proposal::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::not_found("proposal"))
}

/// One step on an open proposal: the change it makes, given the proposal as loaded.
async fn step(
    ctx: &Context<'_>,
    action: &'static str,
    raw_id: &ID,
    expected: i32,
    cmid: Option<String>,
    reason: Option<String>,
    body: impl AsyncFnOnce(
        &DatabaseTransaction,
        &crate::auth::Principal,
        &proposal::Model,
    ) -> AppResult<proposal::ActiveModel>,
) -> AppResult<ProposalPayload> {
    let id = GlobalId::parse_kind("input.id", raw_id, NodeKind::Proposal)?;
    let (_, id) = mutate(ctx, action, cmid.as_deref(), async |txn, actor| {
        let current = open_proposal(ctx, txn, id, expected).await?;
        let changes = body(txn, actor, &current).await?;
        let updated = update_proposal(txn, id, expected, changes).await?;
        let (before, after) = diff(Some(&current), Some(&updated));
        Ok(Outcome {
            target: (NodeKind::Proposal, id),
            position: position(&updated),
            before,
            after,
            reason,
        })
    })
    .await?;
    Ok(ProposalPayload {
        proposal: visible(ctx, id).await?,
        client_mutation_id: cmid,
    })
}

fn decided(actor: &crate::auth::Principal, status: DbStatus) -> proposal::ActiveModel {
    proposal::ActiveModel {
        status: Set(status),
        decided_by: Set(Some(actor.subject.clone())),
        decided_at: Set(Some(now())),
        ..Default::default()
    }
}

#[derive(Default)]
pub struct ProposalMutation;

#[Object]
impl ProposalMutation {
    /// Proposes an award for a member or unit in the proposer's subtree. A chapter leader's proposal goes to the
    /// base, a base official's to the province, a province official's to the central committee. No award exists
    /// until a level allowed to grant the kind approves it.
    async fn propose_award(&self, ctx: &Context<'_>, input: ProposeAwardInput) -> AppResult<ProposalPayload> {
        let kind: DbKind = input.kind.into();
        let recipient = recipient_of(&input.recipient_id)?;
        if kind == DbKind::EmulationFlag && matches!(recipient, Recipient::Member(_)) {
            return Err(AppError::bad_input(
                "input.kind",
                "a Cờ thi đua (emulation flag) goes to collectives only, never to an individual",
            ));
        }
        let this_year = Utc::now().year();
        input::year("input.year", Some(input.year), 1945..=this_year)?;
        let movement = input::text("input.movement", &input.movement, 200)?;
        let citation = match input.citation.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(c) => Some(input::long_text("input.citation", c, 2000)?),
            None => None,
        };
        let cmid = input.client_mutation_id.clone();
        let (_, id) = mutate(ctx, PROPOSE_AWARD, cmid.as_deref(), async |txn, actor| {
            let st = state(ctx);
            let resolved = write::resolve_recipient(txn, recipient).await?;
            // A member outside the viewer's scope is reported like a missing one.
            let resolved = resolved
                .filter(|r| {
                    r.kind != DbRecipient::Member
                        || st.scope.members.contains_member(
                            r.province_id,
                            r.base_id.unwrap_or(0),
                            r.chapter_id.unwrap_or(0),
                            r.id,
                        )
                })
                .ok_or_else(|| AppError::not_found("recipient"))?;
            let at = Position {
                province_id: resolved.province_id,
                base_id: resolved.base_id,
                chapter_id: resolved.chapter_id,
                member_id: resolved.member_id,
            };
            let level = proposal_entry_level(&st.viewer, &at)?;
            if !grantable_from(level, kind) {
                return Err(AppError::bad_input(
                    "input.kind",
                    format!(
                        "no level from the {} up grants this kind; the level that does grants it with grantAward",
                        level_name(level)
                    ),
                ));
            }
            let created = proposal::ActiveModel {
                id: NotSet,
                kind: Set(kind),
                recipient_type: Set(resolved.kind),
                recipient_id: Set(resolved.id),
                recipient_name: Set(resolved.name.clone()),
                province_id: Set(resolved.province_id),
                base_id: Set(resolved.base_id),
                chapter_id: Set(resolved.chapter_id),
                member_id: Set(resolved.member_id),
                year: Set(input.year),
                movement: Set(movement.clone()),
                citation: Set(citation.clone()),
                level: Set(level),
                status: Set(DbStatus::Pending),
                proposed_by: Set(actor.subject.clone()),
                proposed_at: Set(now()),
                decided_by: Set(None),
                decided_at: Set(None),
                rejection_reason: Set(None),
                award_id: Set(None),
                version: Set(1),
            };
            let created = sea_orm::ActiveModelTrait::insert(created, txn).await.map_err(|e| {
                AppError::from_db(e, |sql| match sql {
                    SqlErr::UniqueConstraintViolation(_) => Some(AppError::Conflict(
                        "an open proposal for this achievement (recipient, kind, year, movement) exists".into(),
                    )),
                    _ => None,
                })
            })?;
            let (before, after) = diff(None, Some(&created));
            Ok(Outcome {
                target: (NodeKind::Proposal, created.id),
                position: at,
                before,
                after,
                reason: None,
            })
        })
        .await?;
        Ok(ProposalPayload {
            proposal: visible(ctx, id).await?,
            client_mutation_id: cmid,
        })
    }

    /// Sends an open proposal to the level above (base → province → central), by an official of the level
    /// holding it.
    async fn forward_proposal(&self, ctx: &Context<'_>, input: ForwardProposalInput) -> AppResult<ProposalPayload> {
        let note = input::opt_text("input.note", input.note.as_deref(), 1000)?;
        step(
            ctx,
            FORWARD_PROPOSAL,
            &input.id,
            input.expected_version,
            input.client_mutation_id.clone(),
            note,
            async |_, _, current| {
                authorize_proposal_decision(&state(ctx).viewer, current.level, &position(current))?;
                let next = level_above(current.level)
                    .filter(|l| grantable_from(*l, current.kind))
                    .ok_or_else(|| {
                        AppError::bad_input(
                            "input.id",
                            format!(
                                "no level above the {} grants this kind: approve or reject it",
                                level_name(current.level)
                            ),
                        )
                    })?;
                Ok(proposal::ActiveModel {
                    level: Set(next),
                    ..Default::default()
                })
            },
        )
        .await
    }

    /// Approves an open proposal at a level allowed to grant its kind, recording the decision: the award is
    /// created in the same transaction, granted by this level's body.
    async fn approve_proposal(&self, ctx: &Context<'_>, input: ApproveProposalInput) -> AppResult<ProposalPayload> {
        let decision_number = input::decision_number("input.decisionNumber", &input.decision_number)?;
        let decision_date = input::past_date(
            "input.decisionDate",
            Some(input.decision_date.get("input.decisionDate")?),
        )?;
        let event = input::opt_text("input.event", input.event.as_deref(), 300)?;
        step(
            ctx,
            APPROVE_PROPOSAL,
            &input.id,
            input.expected_version,
            input.client_mutation_id.clone(),
            None,
            async |txn, actor, current| {
                let at = position(current);
                authorize_proposal_decision(&state(ctx).viewer, current.level, &at)?;
                if !current.level.may_grant(current.kind) {
                    return Err(AppError::Forbidden(format!(
                        "the {} level may not grant this kind of award; forward the proposal",
                        level_name(current.level)
                    )));
                }
                if let Some(d) = decision_date
                    && d.year() < current.year
                {
                    return Err(AppError::bad_input(
                        "input.decisionDate",
                        "is before the year of the achievement",
                    ));
                }
                let recipient = match current.recipient_type {
                    DbRecipient::Province => Recipient::Province(current.recipient_id),
                    DbRecipient::Base => Recipient::Base(current.recipient_id),
                    DbRecipient::Chapter => Recipient::Chapter(current.recipient_id),
                    DbRecipient::Member => Recipient::Member(current.recipient_id),
                };
                let resolved = write::resolve_recipient(txn, recipient)
                    .await?
                    .ok_or_else(|| AppError::not_found("recipient"))?;
                let body = match current.level {
                    DbLevel::Central => GrantingBody::central(),
                    DbLevel::Province => {
                        let p = province::Entity::find_by_id(current.province_id).one(txn).await?;
                        GrantingBody::province(&p.ok_or_else(|| AppError::not_found("province"))?)
                    }
                    DbLevel::Base => {
                        let base_id = current.base_id.ok_or_else(|| AppError::not_found("base"))?;
                        let b = base::Entity::find_by_id(base_id).one(txn).await?;
                        GrantingBody::base(&b.ok_or_else(|| AppError::not_found("base"))?)
                    }
                };
                let data = AwardData {
                    kind: current.kind,
                    year: current.year,
                    movement: current.movement.clone(),
                    decision_number: decision_number.clone(),
                    decision_date,
                    event: event.clone(),
                    citation: current.citation.clone(),
                };
                let award = write::insert_award(txn, &body, &resolved, data)
                    .await
                    .map_err(map_write_error)?;
                // The grant is audited as its own record too, in this transaction, so the award's history starts
                // with the decision that created it.
                let (before, after) = diff(None, Some(&award));
                crate::audit::record(
                    txn,
                    actor,
                    crate::audit::Event {
                        action: "GRANT_AWARD",
                        target: (NodeKind::Award, award.id),
                        position: at,
                        before,
                        after,
                        reason: None,
                        client_mutation_id: None,
                    },
                )
                .await?;
                Ok(proposal::ActiveModel {
                    award_id: Set(Some(award.id)),
                    ..decided(actor, DbStatus::Approved)
                })
            },
        )
        .await
    }

    /// Refuses an open proposal, with the reason, by an official of the level holding it.
    async fn reject_proposal(&self, ctx: &Context<'_>, input: RejectProposalInput) -> AppResult<ProposalPayload> {
        let reason = input::long_text("input.reason", &input.reason, 1000)?;
        step(
            ctx,
            REJECT_PROPOSAL,
            &input.id,
            input.expected_version,
            input.client_mutation_id.clone(),
            Some(reason.clone()),
            async |_, actor, current| {
                authorize_proposal_decision(&state(ctx).viewer, current.level, &position(current))?;
                Ok(proposal::ActiveModel {
                    rejection_reason: Set(Some(reason.clone())),
                    ..decided(actor, DbStatus::Rejected)
                })
            },
        )
        .await
    }

    /// Takes back an open proposal; only its proposer may.
    async fn withdraw_proposal(&self, ctx: &Context<'_>, input: WithdrawProposalInput) -> AppResult<ProposalPayload> {
        let reason = input::opt_text("input.reason", input.reason.as_deref(), 1000)?;
        step(
            ctx,
            WITHDRAW_PROPOSAL,
            &input.id,
            input.expected_version,
            input.client_mutation_id.clone(),
            reason,
            async |_, actor, current| {
                if current.proposed_by != actor.subject {
                    return Err(AppError::Forbidden("only the proposer may withdraw a proposal".into()));
                }
                Ok(decided(actor, DbStatus::Withdrawn))
            },
        )
        .await
    }
}
