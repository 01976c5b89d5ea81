//! Awards (khen thưởng): the public award roll with its filters, and the recipient union. An individual
//! recipient's member record resolves only inside the viewer's member scope; `recipientName` is public.

use async_graphql::{Context, Enum, ID, InputObject, Object, Union};
use chrono::{DateTime, Utc};
use entity::award::RecipientType as DbRecipientType;

use super::connection::connection;
use super::loaders::*;
use super::member::Member;
use super::scalars::Date;
use super::tree::{Base, Chapter, Province};
use super::{load, opt_id, page_complexity, state, window};
use crate::error::{AppError, AppResult};
use crate::ids::{GlobalId, NodeKind};
use crate::store::awards::{self as store, AwardFilter};
use crate::store::members::Columns as MemberColumns;

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::award::AwardKind")]
pub enum AwardKind {
    /// Cờ thi đua: an emulation title for collectives only.
    EmulationFlag,
    /// Bằng khen.
    CertificateOfMerit,
    /// Giấy khen.
    CertificateOfCommendation,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::award::GrantingLevel")]
pub enum GrantingLevel {
    /// The central committee of Hội CCB Việt Nam.
    Central,
    /// A provincial committee.
    Province,
    /// A base association.
    Base,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::award::RecipientType")]
pub enum RecipientType {
    Province,
    Base,
    Chapter,
    Member,
}

/// Orderings of awards.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum AwardOrder {
    /// Newest year first, then newest record first.
    #[default]
    NewestFirst,
    OldestFirst,
}

impl AwardOrder {
    pub fn order(self) -> crate::store::page::Order {
        match self {
            Self::NewestFirst => store::NEWEST_FIRST,
            Self::OldestFirst => store::OLDEST_FIRST,
        }
    }
}

/// Filters for awards, combined with AND.
#[derive(InputObject, Default, Clone)]
pub struct AwardFilterInput {
    /// The year of the achievement.
    pub year: Option<i32>,
    pub year_from: Option<i32>,
    pub year_to: Option<i32>,
    pub kind: Option<AwardKind>,
    pub granting_level: Option<GrantingLevel>,
    pub recipient_type: Option<RecipientType>,
    /// The emulation movement, ignoring diacritics and case ("ccb guong mau").
    pub movement: Option<String>,
    /// The decision number exactly as written, e.g. "123/QĐ-CCB".
    pub decision_number: Option<String>,
    /// Include revoked awards (default: only standing ones).
    #[graphql(default)]
    pub include_revoked: bool,
    /// Awards to anything inside this province (the province included).
    pub province_id: Option<ID>,
    /// Awards to anything inside this base (the base included).
    pub base_id: Option<ID>,
    /// Awards to anything inside this chapter (the chapter included).
    pub chapter_id: Option<ID>,
    /// Awards to this member.
    pub member_id: Option<ID>,
}

impl AwardFilterInput {
    pub fn parse(self) -> AppResult<AwardFilter> {
        for (field, year) in [
            ("filter.year", self.year),
            ("filter.yearFrom", self.year_from),
            ("filter.yearTo", self.year_to),
        ] {
            if let Some(y) = year
                && !(1945..=2200).contains(&y)
            {
                return Err(AppError::bad_input(field, "must be a year between 1945 and 2200"));
            }
        }
        for (field, text) in [
            ("filter.movement", &self.movement),
            ("filter.decisionNumber", &self.decision_number),
        ] {
            if let Some(t) = text
                && t.chars().count() > 200
            {
                return Err(AppError::bad_input(field, "at most 200 characters"));
            }
        }
        Ok(AwardFilter {
            year: self.year,
            year_from: self.year_from,
            year_to: self.year_to,
            kinds: self.kind.map(|k| vec![k.into()]),
            granting_level: self.granting_level.map(Into::into),
            recipient_type: self.recipient_type.map(Into::into),
            movement: self.movement,
            decision_number: self.decision_number,
            include_revoked: self.include_revoked,
            province_id: opt_id("filter.provinceId", self.province_id.as_ref(), NodeKind::Province)?,
            base_id: opt_id("filter.baseId", self.base_id.as_ref(), NodeKind::Base)?,
            chapter_id: opt_id("filter.chapterId", self.chapter_id.as_ref(), NodeKind::Chapter)?,
            member_id: opt_id("filter.memberId", self.member_id.as_ref(), NodeKind::Member)?,
        })
    }
}

/// Who received an award.
// Values live for one field resolution; boxing the member would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Union)]
pub enum AwardRecipient {
    Member(Member),
    Chapter(Chapter),
    Base(Base),
    Province(Province),
}

/// An award: an emulation flag, a certificate of merit or of commendation, to a collective or a member.
pub struct Award(pub entity::award::Model);

impl From<entity::award::Model> for Award {
    fn from(m: entity::award::Model) -> Self {
        Self(m)
    }
}

#[Object]
impl Award {
    /// Changes to this record, newest first (authenticated viewers only).
    #[graphql(complexity = "page_complexity(child_complexity, first, None)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<super::history::AuditEventConnection> {
        super::history::history(ctx, (NodeKind::Award, self.0.id), false, first, after).await
    }
    pub async fn id(&self) -> ID {
        GlobalId::new(NodeKind::Award, self.0.id).encode().into()
    }
    async fn kind(&self) -> AwardKind {
        self.0.kind.into()
    }
    async fn granting_level(&self) -> GrantingLevel {
        self.0.granting_level.into()
    }
    /// The granting body as named on the decision.
    async fn granting_body(&self) -> &str {
        &self.0.granting_body
    }
    /// The year of the achievement.
    async fn year(&self) -> i32 {
        self.0.year
    }
    /// The emulation movement, e.g. "CCB gương mẫu".
    async fn movement(&self) -> &str {
        &self.0.movement
    }
    /// The decision number exactly as written, e.g. "123/QĐ-CCB".
    async fn decision_number(&self) -> &str {
        &self.0.decision_number
    }
    async fn decision_date(&self) -> Option<Date> {
        self.0.decision_date.map(Date::of)
    }
    /// The event where it was presented.
    async fn event(&self) -> Option<&str> {
        self.0.event.as_deref()
    }
    async fn citation(&self) -> Option<&str> {
        self.0.citation.as_deref()
    }
    async fn recipient_type(&self) -> RecipientType {
        self.0.recipient_type.into()
    }
    /// The recipient's name as written on the decision: part of the public award roll.
    async fn recipient_name(&self) -> &str {
        &self.0.recipient_name
    }
    /// The recipient. A member recipient outside the viewer's member scope is `null`, like a missing record.
    async fn recipient(&self, ctx: &Context<'_>) -> AppResult<Option<AwardRecipient>> {
        let id = self.0.recipient_id;
        Ok(match self.0.recipient_type {
            DbRecipientType::Member => {
                // The member the page's statement brought with the names' columns, if that is all this
                // selection reads; else the whole member.
                let named = super::member::names_only(&[&ctx.look_ahead()]);
                match named.then(|| state(ctx).loader.cached(&MemberNamesById(id))).flatten() {
                    Some(m) => Some(m),
                    None => load(ctx, MemberById(id)).await?,
                }
                .map(|m| AwardRecipient::Member(Member(m)))
            }
            DbRecipientType::Chapter => load(ctx, ChapterById(id))
                .await?
                .map(|m| AwardRecipient::Chapter(Chapter(m))),
            DbRecipientType::Base => load(ctx, BaseById(id)).await?.map(|m| AwardRecipient::Base(Base(m))),
            DbRecipientType::Province => load(ctx, ProvinceById(id))
                .await?
                .map(|m| AwardRecipient::Province(Province(m))),
        })
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Whether the award was revoked; revoked awards stay on record.
    async fn revoked(&self) -> bool {
        self.0.revoked_at.is_some()
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    async fn revocation_reason(&self) -> Option<&str> {
        self.0.revocation_reason.as_deref()
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
}

connection!(AwardConnection, AwardEdge, Award, entity::award::Model, "awards");

/// The fields of `Award` that read none of the decision's texts ([`store::lean_columns`]). A field added to
/// `Award` is not here until it is checked to be one of those; until then a page that selects it reads every
/// column.
const LEAN_FIELDS: &[&str] = &[
    "__typename",
    "id",
    "kind",
    "grantingLevel",
    "year",
    "decisionDate",
    "recipientType",
    "recipient",
    "createdAt",
    "revoked",
    "revokedAt",
    "version",
    "history",
];

/// Whether a page of awards may read [`store::lean_columns`]: every field the query selects on its nodes
/// (under `nodes` and `edges { node }` of the list being resolved) is one of [`LEAN_FIELDS`].
fn lean_page(ctx: &Context<'_>) -> bool {
    let list = ctx.look_ahead();
    let nodes = [list.field("nodes"), list.field("edges").field("node")];
    nodes.iter().all(|node| {
        node.selection_fields()
            .iter()
            .all(|field| field.selection_set().all(|f| LEAN_FIELDS.contains(&f.name())))
    })
}

#[derive(Default)]
pub struct AwardQuery;

#[Object]
impl AwardQuery {
    /// The public award roll, filtered.
    #[graphql(complexity = "page_complexity(child_complexity, first, last)")]
    async fn awards(
        &self,
        ctx: &Context<'_>,
        filter: Option<AwardFilterInput>,
        #[graphql(default)] order_by: AwardOrder,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<AwardConnection> {
        let order = order_by.order();
        let w = window(&order, first, after, last, before)?;
        let mut query = store::list(&filter.unwrap_or_default().parse()?, order);
        if lean_page(ctx) {
            query.columns = Some(store::lean_columns());
        }
        let state = state(ctx);
        let look = ctx.look_ahead();
        let nodes = look.field("nodes").field("recipient");
        let edges = look.field("edges").field("node").field("recipient");
        let recipient = if nodes.exists() { nodes } else { edges };
        if recipient.exists() && state.db.get_database_backend() == sea_orm::DbBackend::Postgres {
            // The page with its recipients in one statement; the nodes' prefetch then finds them in the cache.
            let named = super::member::names_only(&[&recipient]);
            let columns = if named {
                MemberColumns::Names
            } else {
                MemberColumns::All
            };
            let (page, found) = store::page_with_recipients(
                &state.db,
                &query,
                &w,
                super::wants_total(ctx),
                &state.scope.members,
                columns,
                super::loaders::member_units(&recipient),
            )
            .await?;
            let loader = &state.loader;
            // A member recipient the statement did not bring is outside the viewer's scope: known missing.
            let brought: std::collections::HashSet<i64> = found.members.iter().map(|m| m.id).collect();
            let outside = page
                .rows
                .iter()
                .filter(|a| a.recipient_type == DbRecipientType::Member && !brought.contains(&a.recipient_id))
                .map(|a| MemberById(a.recipient_id));
            loader.feed_absent(outside);
            if named {
                loader.feed_many(found.members.into_iter().map(|m| (MemberNamesById(m.id), m)));
            } else {
                loader.feed_many(found.members.into_iter().map(|m| (MemberById(m.id), m)));
            }
            loader.feed_many(found.chapters.into_iter().map(|m| (ChapterById(m.id), m)));
            loader.feed_many(found.bases.into_iter().map(|m| (BaseById(m.id), m)));
            loader.feed_many(found.provinces.into_iter().map(|m| (ProvinceById(m.id), m)));
            return Ok(AwardConnection(page));
        }
        Ok(AwardConnection(
            query.page(&state.db, &w, super::wants_total(ctx)).await?,
        ))
    }
}

impl crate::graphql::connection::Prefetch for Award {
    type Row = entity::award::Model;

    const LEAVES: &'static [&'static str] = &[
        "id",
        "kind",
        "grantingLevel",
        "grantingBody",
        "year",
        "movement",
        "decisionNumber",
        "recipientType",
        "recipientName",
        "revoked",
        "version",
    ];

    fn leaf(a: &entity::award::Model, name: &str) -> Option<async_graphql::Value> {
        use async_graphql::{InputType, Value};
        Some(match name {
            "id" => Value::String(GlobalId::new(NodeKind::Award, a.id).encode()),
            "kind" => AwardKind::from(a.kind).to_value(),
            "grantingLevel" => GrantingLevel::from(a.granting_level).to_value(),
            "grantingBody" => Value::String(a.granting_body.clone()),
            "year" => Value::from(a.year),
            "movement" => Value::String(a.movement.clone()),
            "decisionNumber" => Value::String(a.decision_number.clone()),
            "recipientType" => RecipientType::from(a.recipient_type).to_value(),
            "recipientName" => Value::String(a.recipient_name.clone()),
            "revoked" => Value::Boolean(a.revoked_at.is_some()),
            "version" => Value::from(a.version),
            _ => return None,
        })
    }

    fn direct(
        cache: &super::batch::Batcher,
        row: &entity::award::Model,
        set: &async_graphql::parser::types::SelectionSet,
    ) -> Option<async_graphql::Value> {
        super::direct::award(cache, row, set)
    }

    /// Recipients of every type in one batch each, then the units above member recipients if selected.
    async fn prefetch(
        ctx: &Context<'_>,
        rows: &[Self::Row],
        selection: &async_graphql::Lookahead<'_>,
    ) -> AppResult<()> {
        let recipient = selection.field("recipient");
        if !recipient.exists() {
            return Ok(());
        }
        let of = |kind: DbRecipientType| rows.iter().filter(move |a| a.recipient_type == kind);
        // Member recipients come with the units above them that the selection asks for, in one joined
        // statement. A member's award carries the member's chapter and base, so the units that statement brings
        // are known from the page: the unit recipients among them are not loaded again, and the others are
        // loaded at the same time, not after it (one round trip fewer for a lone request).
        let loader = &state(ctx).loader;
        let member_ids: Vec<i64> = of(DbRecipientType::Member).map(|a| a.recipient_id).collect();
        // Members the page's own statement brought (`AwardQuery::awards`) are not read again: with every column,
        // or with the names' when that is all the selection reads (the recipient resolver then takes those).
        let names_only = super::member::names_only(&[&recipient]);
        let (named, whole): (Vec<i64>, Vec<i64>) = member_ids
            .iter()
            .partition(|id| names_only && loader.knows(&MemberNamesById(**id)));
        let unread: Vec<i64> = whole
            .iter()
            .copied()
            .filter(|id| !loader.knows(&MemberById(*id)))
            .collect();
        let joined = super::loaders::member_units(&recipient);
        let brought = |unit: fn(&Self::Row) -> Option<i64>, asked: bool| -> std::collections::HashSet<i64> {
            if asked {
                of(DbRecipientType::Member).filter_map(unit).collect()
            } else {
                Default::default()
            }
        };
        let (chapters, bases, provinces) = (
            brought(|a| a.chapter_id, joined.chapter),
            brought(|a| a.base_id, joined.base),
            brought(|a| Some(a.province_id), joined.province),
        );
        let others = |kind: DbRecipientType, brought: &std::collections::HashSet<i64>| -> Vec<i64> {
            of(kind)
                .map(|a| a.recipient_id)
                .filter(|id| !brought.contains(id))
                .collect()
        };
        let (members, units) = async_graphql::futures_util::future::join(
            async {
                warm_members_with_units(ctx, &unread, &recipient).await?;
                let mut members: Vec<entity::member::Model> = loader
                    .load_many(whole.iter().copied().map(MemberById))
                    .await?
                    .into_values()
                    .collect();
                members.extend(named.iter().filter_map(|id| loader.cached(&MemberNamesById(*id))));
                AppResult::Ok(members)
            },
            warm_units(
                ctx,
                others(DbRecipientType::Chapter, &chapters),
                others(DbRecipientType::Base, &bases),
                others(DbRecipientType::Province, &provinces),
            ),
        )
        .await;
        units?;
        let members = members?;
        let visible: Vec<&entity::member::Model> = members.iter().collect();
        super::member::warm_member_units(ctx, &visible, &recipient).await
    }
}
