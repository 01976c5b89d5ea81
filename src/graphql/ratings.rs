//! Yearly ratings (xếp loại hằng năm) as GraphQL: `recordYearlyRating`, `updateYearlyRating`, the
//! `yearlyRatings` list and the `YearlyRating` node. A base is rated "trong sạch, vững mạnh" by its province; a
//! member "hội viên CCB gương mẫu" and their family "gia đình CCB văn hóa" by their base. One record per
//! subject, kind and year, achieved or not, so a unit's share of rated members is two counts of one list. The
//! rules of recording and changing are the commands of `crate::domain::ratings`; the resolvers parse, call and shape.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Datelike, Utc};
use entity::yearly_rating::{self as rating, RatingKind as DbKind, RatingSubject};
use sea_orm::EntityTrait;

use super::connection::connection;
use super::history::{AuditEventConnection, history};
use super::loaders::*;
use super::member::Member;
use super::mutation::{actor, mutate};
use super::tree::Base;
use super::{load, page_complexity, state, window};
use crate::auth::policy::{can_see_rating, ratings_condition};
use crate::domain::ratings as commands;
use crate::error::{AppError, AppResult};
use crate::ids::{GlobalId, KeyValue, NodeKind};
use crate::input;
use crate::store::page::{Order, Row};
use crate::store::reviews::{self, RatingFilter};
use crate::store::write::Recipient;

/// The audit actions of ratings (also the change log's, which the subscriptions read).
pub const RECORD_YEARLY_RATING: &str = "RECORD_YEARLY_RATING";
pub const UPDATE_YEARLY_RATING: &str = "UPDATE_YEARLY_RATING";

/// The yearly titles (DOMAIN: emulation ratings).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::yearly_rating::RatingKind")]
pub enum RatingKind {
    /// A base "trong sạch, vững mạnh"; rates a Base.
    StrongBase,
    /// "Hội viên CCB gương mẫu"; rates a Member.
    ModelMember,
    /// "Gia đình CCB văn hóa"; rates a Member's family.
    CulturedFamily,
}

/// Whether a base or a member earned a yearly title in a year.
pub struct YearlyRating(pub rating::Model);

impl From<rating::Model> for YearlyRating {
    fn from(m: rating::Model) -> Self {
        Self(m)
    }
}

#[Object]
impl YearlyRating {
    pub async fn id(&self) -> ID {
        GlobalId::new(NodeKind::YearlyRating, self.0.id).encode().into()
    }
    async fn kind(&self) -> RatingKind {
        self.0.kind.into()
    }
    async fn year(&self) -> i32 {
        self.0.year
    }
    /// Whether the title was earned that year.
    async fn achieved(&self) -> bool {
        self.0.achieved
    }
    /// The base's or member's name when recorded.
    async fn subject_name(&self) -> &str {
        &self.0.subject_name
    }
    /// The rated base (for `STRONG_BASE`).
    async fn base(&self, ctx: &Context<'_>) -> AppResult<Option<Base>> {
        if self.0.subject_type != RatingSubject::Base {
            return Ok(None);
        }
        Ok(load(ctx, BaseById(self.0.subject_id)).await?.map(Base))
    }
    /// The rated member, within the viewer's member scope.
    async fn member(&self, ctx: &Context<'_>) -> AppResult<Option<Member>> {
        match self.0.member_id {
            Some(id) => Ok(load(ctx, MemberById(id)).await?.map(Member)),
            None => Ok(None),
        }
    }
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// Who recorded it last (token subject).
    async fn recorded_by(&self) -> &str {
        &self.0.recorded_by
    }
    async fn recorded_at(&self) -> DateTime<Utc> {
        self.0.recorded_at
    }
    /// Pass as `expectedVersion` to `updateYearlyRating`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    #[graphql(complexity = "page_complexity(child_complexity, first, None)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<AuditEventConnection> {
        history(ctx, (NodeKind::YearlyRating, self.0.id), false, first, after).await
    }
}

impl Row for rating::Model {
    fn key(&self, _order: &Order) -> Vec<KeyValue> {
        vec![KeyValue::Int(self.id)]
    }
}

impl crate::graphql::connection::Prefetch for YearlyRating {
    type Row = rating::Model;
}

connection!(
    YearlyRatingConnection,
    YearlyRatingEdge,
    YearlyRating,
    rating::Model,
    "yearly ratings"
);

/// Which ratings to list.
#[derive(InputObject, Default)]
pub struct YearlyRatingFilter {
    pub year: Option<i32>,
    pub kind: Option<RatingKind>,
    /// Only those earned (`true`) or not earned (`false`).
    pub achieved: Option<bool>,
    /// A province, base or chapter (ratings inside it), or a member.
    pub unit_id: Option<ID>,
}

fn can_see(ctx: &Context<'_>, r: &rating::Model) -> bool {
    can_see_rating(&state(ctx).scope, &commands::position(r))
}

/// A rating the viewer may see (members' ratings inside their member scope, a base's inside their subtree).
pub async fn visible(ctx: &Context<'_>, id: i64) -> AppResult<Option<YearlyRating>> {
    let found = rating::Entity::find_by_id(id).one(&state(ctx).db).await?;
    Ok(found.filter(|r| can_see(ctx, r)).map(YearlyRating))
}

#[derive(Default)]
pub struct RatingQuery;

#[Object]
impl RatingQuery {
    /// Yearly ratings inside the viewer's scope, newest first. `totalCount` with and without
    /// `achieved: true` gives a unit's share of rated members or bases.
    #[graphql(complexity = "page_complexity(child_complexity, first, None)")]
    async fn yearly_ratings(
        &self,
        ctx: &Context<'_>,
        filter: Option<YearlyRatingFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<YearlyRatingConnection> {
        let order = reviews::RATINGS_NEWEST;
        let w = window(&order, first, after, None, None)?;
        let st = state(ctx);
        let filter = filter.unwrap_or_default();
        let filter = RatingFilter {
            kind: filter.kind.map(DbKind::from),
            year: filter.year,
            achieved: filter.achieved,
            under: super::opt_under("filter.unitId", filter.unit_id.as_ref())?,
        };
        let query = reviews::ratings(ratings_condition(&st.scope), filter, order);
        Ok(YearlyRatingConnection(
            query.page(&st.db, &w, super::wants_total(ctx)).await?,
        ))
    }
}

/// The result of a rating mutation.
#[derive(SimpleObject)]
pub struct YearlyRatingPayload {
    pub rating: Option<YearlyRating>,
    pub client_mutation_id: Option<String>,
}

#[derive(InputObject)]
pub struct RecordYearlyRatingInput {
    pub kind: RatingKind,
    /// A Base for `STRONG_BASE`, a Member otherwise.
    pub subject_id: ID,
    pub year: i32,
    /// Whether the title was earned.
    pub achieved: bool,
    pub note: Option<String>,
    pub client_mutation_id: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateYearlyRatingInput {
    pub id: ID,
    pub expected_version: i32,
    pub achieved: bool,
    pub note: Option<String>,
    pub client_mutation_id: Option<String>,
}

#[derive(Default)]
pub struct RatingMutation;

/// The payload of a rating mutation: the rating as the viewer now sees it.
async fn payload(ctx: &Context<'_>, id: i64, client_mutation_id: Option<String>) -> AppResult<YearlyRatingPayload> {
    Ok(YearlyRatingPayload {
        rating: visible(ctx, id).await?,
        client_mutation_id,
    })
}

#[Object]
impl RatingMutation {
    /// Records a subject's rating for a year (once per subject, kind and year; change it with
    /// `updateYearlyRating`).
    async fn record_yearly_rating(
        &self,
        ctx: &Context<'_>,
        input: RecordYearlyRatingInput,
    ) -> AppResult<YearlyRatingPayload> {
        let kind: DbKind = input.kind.into();
        let subject = GlobalId::parse("input.subjectId", &input.subject_id)?;
        let subject = match (kind, subject.kind) {
            (DbKind::StrongBase, NodeKind::Base) => Recipient::Base(subject.id),
            (DbKind::ModelMember | DbKind::CulturedFamily, NodeKind::Member) => Recipient::Member(subject.id),
            (DbKind::StrongBase, _) => {
                return Err(AppError::bad_input("input.subjectId", "STRONG_BASE rates a base"));
            }
            _ => return Err(AppError::bad_input("input.subjectId", "this rating rates a member")),
        };
        input::year("input.year", Some(input.year), 1945..=Utc::now().year())?;
        let rating = commands::NewRating {
            kind,
            subject,
            year: input.year,
            achieved: input.achieved,
            note: input::opt_text("input.note", input.note.as_deref(), 1000)?,
        };
        let cmid = input.client_mutation_id;
        let (_, id) = mutate(ctx, RECORD_YEARLY_RATING, cmid.as_deref(), async |txn, principal| {
            commands::record(actor(ctx, principal), txn, rating).await
        })
        .await?;
        payload(ctx, id, cmid).await
    }

    /// Changes a recorded rating, by the same levels that may record it.
    async fn update_yearly_rating(
        &self,
        ctx: &Context<'_>,
        input: UpdateYearlyRatingInput,
    ) -> AppResult<YearlyRatingPayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::YearlyRating)?;
        let note = input::opt_text("input.note", input.note.as_deref(), 1000)?;
        let cmid = input.client_mutation_id;
        let (_, id) = mutate(ctx, UPDATE_YEARLY_RATING, cmid.as_deref(), async |txn, principal| {
            commands::change(
                actor(ctx, principal),
                txn,
                id,
                input.expected_version,
                input.achieved,
                note,
            )
            .await
        })
        .await?;
        payload(ctx, id, cmid).await
    }
}
