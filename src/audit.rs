//! The audit trail. Every mutation writes one event in its own transaction, so a change and its record commit
//! or roll back together; the client's mutation id makes a retried submission find its first result instead of
//! creating a second record. The change log for delta sync and subscriptions is written here too, in the same
//! transaction ([`crate::realtime::changes::record`]), so no mutation can forget it.

use chrono::Utc;
use entity::audit_event;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Value};
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

/// The fields among `columns` that [`diff`] records when they differ, in the order its objects give their keys
/// (whatever the build's `serde_json` keeps): what a statement that computes the diff itself must follow
/// (`crate::store::write::update_contact_with_event`).
pub fn diff_fields(columns: &[&str]) -> Vec<String> {
    let order: serde_json::Map<String, Json> = columns.iter().map(|c| ((*c).to_owned(), Json::Null)).collect();
    order
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| !HIDDEN.contains(&k.as_str()))
        .collect()
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
    /// The member as the mutation left it, when it wrote one: the change log takes it from here.
    pub member: Option<&'a entity::member::Model>,
}

/// Writes the event and the mutation's change-log row (`crate::realtime::changes`) in the mutation's
/// transaction; returns the event's id.
pub async fn record<C: ConnectionTrait>(db: &C, actor: &Principal, event: Event<'_>) -> Result<i64, DbErr> {
    let change = change_of(db, &event).await?;
    crate::store::changes::insert_with_event(db, event_row(actor, event), change.as_ref()).await
}

/// The change-log row of an event (`crate::realtime::changes`), if its target is synced.
pub async fn change_of<C: ConnectionTrait>(
    db: &C,
    event: &Event<'_>,
) -> Result<Option<crate::store::changes::Entry>, DbErr> {
    crate::realtime::changes::entry(
        db,
        event.action,
        event.target,
        event.position,
        event.before.as_ref(),
        event.member,
    )
    .await
}

/// The `audit_events` row of an event, column by column.
pub fn event_row(actor: &Principal, event: Event<'_>) -> Vec<(&'static str, Value)> {
    vec![
        ("at", Utc::now().into()),
        ("actor_subject", actor.subject.clone().into()),
        ("actor_role", actor.role.claim().into()),
        ("actor_scope", token::scope_claim(actor.scope).into()),
        ("action", event.action.into()),
        ("target_type", event.target.0.name().into()),
        ("target_id", event.target.1.into()),
        ("province_id", Some(event.position.province_id).into()),
        ("base_id", event.position.base_id.into()),
        ("chapter_id", event.position.chapter_id.into()),
        ("before_json", event.before.map(|v| v.to_string()).into()),
        ("after_json", event.after.map(|v| v.to_string()).into()),
        ("reason", event.reason.map(str::to_owned).into()),
        ("client_mutation_id", event.client_mutation_id.map(str::to_owned).into()),
    ]
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
