//! The `graphql-transport-ws` endpoint: a WebSocket upgrade of `GET /graphql`. async-graphql speaks the
//! protocol; this module adds what a production endpoint needs around it:
//!
//! - the bearer token comes in the `connection_init` payload (`Authorization` or `authorization`), and is
//!   checked like an HTTP request's (session, disabled account); without one the socket is the public's;
//!   a bad token closes with 4403, an expired one with 4401;
//! - a socket that sends no `connection_init` within `WS_INIT_TIMEOUT_SECONDS` is closed with 4408;
//! - when the token expires, or its session ends (checked every 15 s), the socket is closed with 4401 so the
//!   client refreshes and reconnects;
//! - at most `WS_MAX_CONNECTIONS` sockets per instance (further upgrades get 503) and
//!   `WS_MAX_SUBSCRIPTIONS` active subscriptions per socket (further ones get an `error` message).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::Data;
use async_graphql::http::{WebSocket as GraphQLWebSocket, WebSocketProtocols as Protocols, WsMessage};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};

use crate::auth::policy::ReadScope;
use crate::auth::{Viewer, accounts};
use crate::error::AppError;
use crate::server::AppState;

/// The subprotocol spoken.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// Whether a request asks for a WebSocket upgrade.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Upgrades to `graphql-transport-ws`, or refuses: 400 without that subprotocol, 503 when the instance
/// holds its maximum of sockets.
pub async fn upgrade(state: AppState, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    let offers_protocol = parts
        .headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == PROTOCOL);
    if !offers_protocol {
        return (
            StatusCode::BAD_REQUEST,
            format!("subscriptions need the WebSocket subprotocol {PROTOCOL}"),
        )
            .into_response();
    }
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    let settings = state.services.config.realtime.clone();
    let Some(permit) = state.services.realtime.open_socket(settings.ws_max_connections) else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "30")],
            "too many open subscription sockets on this instance; retry later",
        )
            .into_response();
    };
    let client = parts.extensions.get::<crate::server::client::ClientAddr>().copied();
    ws.protocols([PROTOCOL]).on_upgrade(move |socket| async move {
        serve(socket, state, client).await;
        drop(permit);
    })
}

/// What `connection_init` established, for the loop around the protocol.
#[derive(Default)]
struct Session {
    bearer: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    refused: Option<(u16, &'static str)>,
}

fn bearer_of(payload: &Value) -> Option<String> {
    let raw = payload
        .get("Authorization")
        .or_else(|| payload.get("authorization"))
        .and_then(Value::as_str)?;
    let token = raw
        .strip_prefix("Bearer ")
        .or_else(|| raw.strip_prefix("bearer "))
        .unwrap_or(raw)
        .trim();
    Some(token.to_owned())
}

/// Builds the connection's request state from the `connection_init` payload.
async fn init(
    state: AppState,
    client: Option<crate::server::client::ClientAddr>,
    session: Arc<Mutex<Session>>,
    payload: Value,
) -> async_graphql::Result<Data> {
    let (viewer, scope) = match bearer_of(&payload) {
        None => (Viewer::Anonymous, ReadScope::of(&Viewer::Anonymous, None)),
        Some(bearer) => match accounts::authenticate(&state.db, &state.tokens, &bearer).await {
            Ok(verified) => {
                let scope = crate::auth::read_scope_of(&state.db, &verified.principal).await?;
                if let Ok(mut s) = session.lock() {
                    s.bearer = Some(bearer);
                    s.expires_at = Some(verified.expires_at);
                }
                (Viewer::Account(verified.principal), scope)
            }
            Err(e) => {
                let refusal = match e {
                    AppError::TokenExpired => (4401, "Unauthorized: the token has expired"),
                    _ => (4403, "Forbidden"),
                };
                if let Ok(mut s) = session.lock() {
                    s.refused = Some(refusal);
                }
                return Err(e.into());
            }
        },
    };
    let st = crate::graphql::State::new(state.db.clone(), viewer, scope, state.services.clone());
    // One socket lives for hours: every event must read the records as they are then, not as first cached.
    st.loader.enable_all_cache(false);
    let mut data = Data::default();
    data.insert(st);
    data.insert(state.tokens.clone());
    // An operation over the socket (a `login` mutation too) is throttled by the same client address as over HTTP.
    data.insert(state.login_throttle.clone());
    if let Some(client) = client {
        data.insert(client);
    }
    Ok(data)
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.to_owned().into(),
    }))
}

/// The id and type of a protocol message.
fn id_and_type(text: &str) -> (Option<String>, Option<String>) {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => (
            v.get("id").and_then(Value::as_str).map(str::to_owned),
            v.get("type").and_then(Value::as_str).map(str::to_owned),
        ),
        Err(_) => (None, None),
    }
}

async fn serve(socket: WebSocket, state: AppState, client: Option<crate::server::client::ClientAddr>) {
    let settings = state.services.config.realtime.clone();
    let (mut sink, mut source) = socket.split();
    let (to_protocol, from_client) = tokio::sync::mpsc::channel::<String>(32);
    let input = futures_util::stream::unfold(from_client, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) });
    let session = Arc::new(Mutex::new(Session::default()));
    let on_init = {
        let (state, session) = (state.clone(), session.clone());
        move |payload: Value| init(state, client, session, payload)
    };
    let protocol = GraphQLWebSocket::new(state.engine.clone(), input, Protocols::GraphQLWS).on_connection_init(on_init);
    futures_util::pin_mut!(protocol);

    let init_deadline = tokio::time::sleep(settings.ws_init_timeout);
    tokio::pin!(init_deadline);
    let mut acked = false;
    let mut expiry: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
    let mut recheck = tokio::time::interval(settings.ws_session_recheck);
    recheck.tick().await;
    let mut active: HashSet<String> = HashSet::new();

    let closing: Message = loop {
        tokio::select! {
            incoming = source.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let (id, kind) = id_and_type(text.as_str());
                    match (kind.as_deref(), id) {
                        (Some("subscribe"), Some(id)) if acked => {
                            if !active.contains(&id) && active.len() >= settings.ws_max_subscriptions {
                                let refusal = json!({ "id": id, "type": "error", "payload": [{
                                    "message": format!("at most {} active subscriptions per socket", settings.ws_max_subscriptions),
                                    "extensions": { "code": "TOO_MANY_SUBSCRIPTIONS" } }] });
                                if sink.send(Message::Text(refusal.to_string().into())).await.is_err() {
                                    return;
                                }
                                continue;
                            }
                            active.insert(id);
                        }
                        (Some("complete"), Some(id)) => {
                            active.remove(&id);
                        }
                        _ => {}
                    }
                    if to_protocol.send(text.to_string()).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Binary(bytes))) => {
                    if to_protocol.send(String::from_utf8_lossy(&bytes).into_owned()).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            outgoing = protocol.next() => match outgoing {
                Some(WsMessage::Text(text)) => {
                    let (id, kind) = id_and_type(&text);
                    match kind.as_deref() {
                        Some("connection_ack") => {
                            acked = true;
                            let expires = session.lock().ok().and_then(|s| s.expires_at);
                            if let Some(at) = expires {
                                let left = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                                expiry = Some(Box::pin(tokio::time::sleep(left)));
                            }
                        }
                        Some("complete") | Some("error") => {
                            if let Some(id) = id {
                                active.remove(&id);
                            }
                        }
                        _ => {}
                    }
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                }
                Some(WsMessage::Close(code, reason)) => {
                    let refused = session.lock().ok().and_then(|s| s.refused);
                    break match refused {
                        Some((code, reason)) => close(code, reason),
                        None => close(code, &reason),
                    };
                }
                None => return,
            },
            _ = &mut init_deadline, if !acked => {
                break close(4408, "Connection initialisation timeout");
            }
            _ = async { if let Some(e) = expiry.as_mut() { e.await } }, if expiry.is_some() => {
                break close(4401, "Unauthorized: the token has expired");
            }
            _ = recheck.tick(), if acked => {
                let bearer = session.lock().ok().and_then(|s| s.bearer.clone());
                if let Some(bearer) = bearer {
                    match accounts::authenticate(&state.db, &state.tokens, &bearer).await {
                        Ok(_) => {}
                        Err(AppError::Unauthenticated | AppError::TokenExpired) => {
                            break close(4401, "Unauthorized: the session has ended");
                        }
                        Err(_) => {}
                    }
                }
            }
        }
    };
    let _ = sink.send(closing).await;
    let _ = sink.close().await;
}
