//! The audit trail as GraphQL: `history` on members, units, awards and transfers. Histories are
//! for authenticated viewers; a member's personal data in them is masked outside the personal-data scope.

use std::sync::Arc;

use async_graphql::{Context, Json, Object};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::loaders::*;
use super::{load, state, window};
use crate::audit::PERSONAL;
use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::ids::NodeKind;

/// One change to a record: who made it, when, what it was before and after.
pub struct AuditEvent {
    model: entity::audit_event::Model,
    /// Whether the viewer may see the member's personal data named in this event.
    personal: bool,
}

impl From<entity::audit_event::Model> for AuditEvent {
    fn from(model: entity::audit_event::Model) -> Self {
        Self { model, personal: false }
    }
}

fn parse(raw: &Option<String>, personal: bool) -> Option<Json<Value>> {
    let mut value: Value = serde_json::from_str(raw.as_deref()?).ok()?;
    if !personal && let Value::Object(map) = &mut value {
        for key in PERSONAL {
            if map.contains_key(*key) {
                map.insert((*key).to_owned(), Value::String("(hidden)".into()));
            }
        }
    }
    Some(Json(value))
}

#[Object]
impl AuditEvent {
    async fn at(&self) -> DateTime<Utc> {
        self.model.at
    }
    /// What was done, e.g. `ADMIT_MEMBER`, `UPDATE_MEMBER`, `GRANT_AWARD`.
    async fn action(&self) -> &str {
        &self.model.action
    }
    /// The actor's token subject.
    async fn actor(&self) -> &str {
        &self.model.actor_subject
    }
    /// The actor's role at the time.
    async fn actor_role(&self) -> &str {
        &self.model.actor_role
    }
    /// The id of the node the actor's role was bound to.
    async fn actor_scope_id(&self) -> Option<&str> {
        self.model.actor_scope.as_deref()
    }
    /// The changed fields before the change (`null` on creation). Personal data outside the viewer's scope reads
    /// "(hidden)".
    async fn before(&self) -> Option<Json<Value>> {
        parse(&self.model.before_json, self.personal)
    }
    /// The changed fields after the change.
    async fn after(&self) -> Option<Json<Value>> {
        parse(&self.model.after_json, self.personal)
    }
    /// The reason given, where the action takes one.
    async fn reason(&self) -> Option<&str> {
        self.model.reason.as_deref()
    }
}

/// A page of audit events, newest first.
pub struct AuditEventConnection {
    page: crate::store::page::Page<entity::audit_event::Model>,
    personal: bool,
}

#[Object]
impl AuditEventConnection {
    async fn nodes(&self) -> Vec<AuditEvent> {
        self.page
            .rows
            .iter()
            .map(|m| AuditEvent {
                model: m.clone(),
                personal: self.personal,
            })
            .collect()
    }
    async fn edges(&self) -> Vec<AuditEventEdge> {
        self.page
            .rows
            .iter()
            .map(|m| AuditEventEdge {
                cursor: self.page.cursor_of(m),
                node: AuditEvent {
                    model: m.clone(),
                    personal: self.personal,
                },
            })
            .collect()
    }
    async fn page_info(&self) -> super::connection::PageInfo {
        super::connection::PageInfo {
            has_next_page: self.page.has_next,
            has_previous_page: self.page.has_previous,
            start_cursor: self.page.rows.first().map(|r| self.page.cursor_of(r)),
            end_cursor: self.page.rows.last().map(|r| self.page.cursor_of(r)),
        }
    }
    async fn total_count(&self, ctx: &Context<'_>) -> AppResult<i64> {
        self.page.total(&state(ctx).db).await
    }
}

/// An edge to an audit event.
#[derive(async_graphql::SimpleObject)]
pub struct AuditEventEdge {
    cursor: String,
    node: AuditEvent,
}

/// The history of a record the viewer can see. Anonymous viewers get an empty page.
pub async fn history(
    ctx: &Context<'_>,
    target: (NodeKind, i64),
    personal: bool,
    first: Option<i32>,
    after: Option<String>,
) -> AppResult<AuditEventConnection> {
    let order = HISTORY_ORDER;
    let w = window(&order, first, after, None, None)?;
    let args = Arc::new(ListArgs::new((), order, w.clone(), true));
    let page = if matches!(state(ctx).viewer, Viewer::Anonymous) {
        crate::store::page::Page {
            rows: Vec::new().into(),
            order,
            has_next: false,
            has_previous: false,
            total: crate::store::page::Total::Known(0),
            counted: Default::default(),
        }
    } else {
        load(ctx, HistoryOf(target.0, target.1, args))
            .await?
            .ok_or_else(|| AppError::Internal("history page missing from batch".into()))?
    };
    Ok(AuditEventConnection { page, personal })
}
