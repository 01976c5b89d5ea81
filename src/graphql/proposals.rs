//! Award proposals (đề nghị khen thưởng) as GraphQL: `proposeAward`, `forwardProposal`, `approveProposal`,
//! `rejectProposal`, `withdrawProposal`, the `proposals` list and the `Proposal` node with its steps' history.
//! The rules of each step are the commands of `crate::domain::proposals`; the resolvers parse, call and shape.
//!
//! A proposal travels up the tree: a chapter proposes to its base, a base to the province, the province to the
//! central committee. The level holding it may approve it if it may grant the kind (the award is created in the
//! same transaction, through the grant path of `grantAward`), reject it with a reason, or forward it upward; the
//! proposer may withdraw it while it is open. Each step runs in the shared mutation frame (versioned,
//! idempotent by `clientMutationId`, one audit event in the step's transaction).

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Datelike, Utc};
use entity::award::{AwardKind as DbKind, RecipientType as DbRecipient};
use entity::award_proposal::{self as proposal, ProposalStatus as DbStatus};
use sea_orm::EntityTrait;

use super::award::{Award, AwardKind, AwardRecipient, GrantingLevel, RecipientType};
use super::award_mutations::recipient_of;
use super::connection::connection;
use super::history::{AuditEventConnection, history};
use super::loaders::*;
use super::member::Member;
use super::mutation::{actor, mutate};
use super::scalars::Date;
use super::tree::{Base, Chapter, Province};
use super::{load, page_complexity, state, window};
use crate::auth::policy::{can_see_proposal, proposals_condition};
use crate::domain::proposals as commands;
use crate::error::AppResult;
use crate::ids::{GlobalId, KeyValue, NodeKind};
use crate::input;
use crate::store::page::{Order, Row};
use crate::store::reviews::{self, ProposalFilter as ProposalFilterOf};

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

#[derive(Default)]
pub struct ProposalMutation;

/// The payload of a proposal step: the proposal as the viewer now sees it.
async fn payload(ctx: &Context<'_>, id: i64, client_mutation_id: Option<String>) -> AppResult<ProposalPayload> {
    Ok(ProposalPayload {
        proposal: visible(ctx, id).await?,
        client_mutation_id,
    })
}

#[Object]
impl ProposalMutation {
    /// Proposes an award for a member or unit in the proposer's subtree. A chapter leader's proposal goes to the
    /// base, a base official's to the province, a province official's to the central committee. No award exists
    /// until a level allowed to grant the kind approves it.
    async fn propose_award(&self, ctx: &Context<'_>, input: ProposeAwardInput) -> AppResult<ProposalPayload> {
        let this_year = Utc::now().year();
        input::year("input.year", Some(input.year), 1945..=this_year)?;
        let citation = match input.citation.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(c) => Some(input::long_text("input.citation", c, 2000)?),
            None => None,
        };
        let proposal = commands::NewProposal {
            kind: input.kind.into(),
            recipient: recipient_of(&input.recipient_id)?,
            year: input.year,
            movement: input::text("input.movement", &input.movement, 200)?,
            citation,
        };
        let cmid = input.client_mutation_id;
        let (_, id) = mutate(ctx, PROPOSE_AWARD, cmid.as_deref(), async |txn, principal| {
            commands::propose(actor(ctx, principal), txn, proposal).await
        })
        .await?;
        payload(ctx, id, cmid).await
    }

    /// Sends an open proposal to the level above (base → province → central), by an official of the level
    /// holding it.
    async fn forward_proposal(&self, ctx: &Context<'_>, input: ForwardProposalInput) -> AppResult<ProposalPayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Proposal)?;
        let note = input::opt_text("input.note", input.note.as_deref(), 1000)?;
        let cmid = input.client_mutation_id;
        let (_, id) = mutate(ctx, FORWARD_PROPOSAL, cmid.as_deref(), async |txn, principal| {
            commands::forward(actor(ctx, principal), txn, id, input.expected_version, note).await
        })
        .await?;
        payload(ctx, id, cmid).await
    }

    /// Approves an open proposal at a level allowed to grant its kind, recording the decision: the award is
    /// created in the same transaction, granted by this level's body.
    async fn approve_proposal(&self, ctx: &Context<'_>, input: ApproveProposalInput) -> AppResult<ProposalPayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Proposal)?;
        let decision = commands::Decision {
            number: input::decision_number("input.decisionNumber", &input.decision_number)?,
            date: input::past_date(
                "input.decisionDate",
                Some(input.decision_date.get("input.decisionDate")?),
            )?,
            event: input::opt_text("input.event", input.event.as_deref(), 300)?,
        };
        let cmid = input.client_mutation_id;
        let (_, id) = mutate(ctx, APPROVE_PROPOSAL, cmid.as_deref(), async |txn, principal| {
            commands::approve(actor(ctx, principal), txn, id, input.expected_version, decision).await
        })
        .await?;
        payload(ctx, id, cmid).await
    }

    /// Refuses an open proposal, with the reason, by an official of the level holding it.
    async fn reject_proposal(&self, ctx: &Context<'_>, input: RejectProposalInput) -> AppResult<ProposalPayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Proposal)?;
        let reason = input::long_text("input.reason", &input.reason, 1000)?;
        let cmid = input.client_mutation_id;
        let (_, id) = mutate(ctx, REJECT_PROPOSAL, cmid.as_deref(), async |txn, principal| {
            commands::reject(actor(ctx, principal), txn, id, input.expected_version, reason).await
        })
        .await?;
        payload(ctx, id, cmid).await
    }

    /// Takes back an open proposal; only its proposer may.
    async fn withdraw_proposal(&self, ctx: &Context<'_>, input: WithdrawProposalInput) -> AppResult<ProposalPayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Proposal)?;
        let reason = input::opt_text("input.reason", input.reason.as_deref(), 1000)?;
        let cmid = input.client_mutation_id;
        let (_, id) = mutate(ctx, WITHDRAW_PROPOSAL, cmid.as_deref(), async |txn, principal| {
            commands::withdraw(actor(ctx, principal), txn, id, input.expected_version, reason).await
        })
        .await?;
        payload(ctx, id, cmid).await
    }
}
