//! The audit trail. Every mutation writes one event in its own transaction, so a change and its record commit
//! or roll back together; the client's mutation id makes a retried submission find its first result instead of
//! creating a second record. The change log for delta sync and subscriptions is written here too, in the same
//! transaction ([`crate::realtime::changes::record`]), so no mutation can forget it.

use chrono::Utc;
use entity::audit_event;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, NotSet, QueryFilter, Set};
use serde_json::Value as Json;

use crate::auth::policy::Position;
use crate::auth::{Principal, token};
use crate::ids::NodeKind;

/// Internal columns that say nothing to a reader of the history.
const HIDDEN: &[&str] = &[
    "search_name",
    "sort_key",
    "name_search",
    "movement_key",
    "updated_at",
    "version",
    "created_at",
];

/// Personal data and roster details of a member record, masked in histories read outside the personal-data
/// scope (the same fields `Member` hides there).
pub const PERSONAL: &[&str] = &[
    "birth_date",
    "birth_year",
    "home_town",
    "address",
    "phone",
    "card_number",
    "war_invalid",
    "military_rank",
    "last_unit",
    "enlisted_on",
    "discharged_on",
    "joined_on",
    "party_member",
    "left_on",
    "left_reason",
];

/// The fields that differ between `before` and `after` (all of them on creation), internals left out.
pub fn diff<T: serde::Serialize>(before: Option<&T>, after: Option<&T>) -> (Option<Json>, Option<Json>) {
    let to_map = |v: Option<&T>| -> serde_json::Map<String, Json> {
        match v.map(serde_json::to_value) {
            Some(Ok(Json::Object(m))) => m.into_iter().filter(|(k, _)| !HIDDEN.contains(&k.as_str())).collect(),
            _ => serde_json::Map::new(),
        }
    };
    let (b, a) = (to_map(before), to_map(after));
    if before.is_none() {
        return (None, Some(Json::Object(a)));
    }
    let changed: Vec<String> = a.keys().filter(|k| b.get(*k) != a.get(*k)).cloned().collect();
    let pick = |m: &serde_json::Map<String, Json>| {
        Json::Object(
            changed
                .iter()
                .filter_map(|k| m.get(k).map(|v| (k.clone(), v.clone())))
                .collect(),
        )
    };
    (Some(pick(&b)), after.map(|_| pick(&a)))
}

/// One event to record.
pub struct Event<'a> {
    pub action: &'static str,
    pub target: (NodeKind, i64),
    pub position: Position,
    pub before: Option<Json>,
    pub after: Option<Json>,
    pub reason: Option<&'a str>,
    pub client_mutation_id: Option<&'a str>,
}

pub async fn record<C: ConnectionTrait>(
    db: &C,
    actor: &Principal,
    event: Event<'_>,
) -> Result<audit_event::Model, DbErr> {
    let changed = (event.action, event.target, event.position, event.before.clone());
    let model = audit_event::ActiveModel {
        id: NotSet,
        at: Set(Utc::now()),
        actor_subject: Set(actor.subject.clone()),
        actor_role: Set(actor.role.claim().to_owned()),
        actor_scope: Set(token::scope_claim(actor.scope)),
        action: Set(event.action.to_owned()),
        target_type: Set(event.target.0.name().to_owned()),
        target_id: Set(event.target.1),
        province_id: Set(Some(event.position.province_id)),
        base_id: Set(event.position.base_id),
        chapter_id: Set(event.position.chapter_id),
        before_json: Set(event.before.map(|v| v.to_string())),
        after_json: Set(event.after.map(|v| v.to_string())),
        reason: Set(event.reason.map(str::to_owned)),
        client_mutation_id: Set(event.client_mutation_id.map(str::to_owned)),
    }
    .insert(db)
    .await?;
    let (action, target, position, before) = changed;
    crate::realtime::changes::record(db, model.id, action, target, position, before.as_ref()).await?;
    Ok(model)
}

/// The earlier event of this actor with this client mutation id, if any.
pub async fn replay<C: ConnectionTrait>(
    db: &C,
    actor: &Principal,
    client_mutation_id: &str,
) -> Result<Option<audit_event::Model>, DbErr> {
    audit_event::Entity::find()
        .filter(audit_event::Column::ActorSubject.eq(actor.subject.clone()))
        .filter(audit_event::Column::ClientMutationId.eq(client_mutation_id))
        .one(db)
        .await
}
