//! Delta sync (`changes`) and subscriptions over `graphql-transport-ws`: scoped like queries, `REMOVE` for what
//! left the viewer's view, closing codes of the protocol, and delivery across two instances on PostgreSQL.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hoi_ccb::auth::{Role, ScopeNode};
use hoi_ccb::ids::NodeKind;
use hoi_ccb::server;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::fixture::Tree;
use crate::helpers::{TestApp, gid};

const HEAD: &str = "{ changes(first: 0) { pageInfo { endCursor hasNextPage } } }";
const CHANGES: &str = "query($after: String) { changes(after: $after, first: 50) { edges { cursor node { nodeId \
                       operation at node { id ... on Member { fullName phone } } } } pageInfo { endCursor hasNextPage } } }";
const ADMIT: &str = "mutation($input: AdmitMemberInput!) { admitMember(input: $input) { member { id } } }";
const MOVE: &str = "mutation($input: MoveMemberInput!) { moveMember(input: $input) { member { id } } }";

fn admit_input(chapter: i64, given: &str) -> Value {
    json!({ "input": { "chapterId": gid(NodeKind::Chapter, chapter), "familyName": "Phạm", "middleName": "Văn",
        "givenName": given, "sex": "MALE", "memberType": "VETERAN", "phone": "0912 345 678" } })
}

async fn head(app: &TestApp, token: &str) -> String {
    let data = app.data(Some(token), HEAD, json!({})).await;
    data["changes"]["pageInfo"]["endCursor"]
        .as_str()
        .expect("end cursor")
        .to_owned()
}

/// The changes after `cursor` as (nodeId, operation, node).
async fn changes_after(app: &TestApp, token: &str, cursor: &str) -> Vec<(String, String, Value)> {
    let data = app.data(Some(token), CHANGES, json!({ "after": cursor })).await;
    data["changes"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            let n = &e["node"];
            (
                n["nodeId"].as_str().unwrap_or_default().to_owned(),
                n["operation"].as_str().unwrap_or_default().to_owned(),
                n["node"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn changes_are_scoped_to_the_viewer_and_a_member_moved_away_comes_as_remove() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let base = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A1"]));
    let khu1 = app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["A1a"]));
    let khu2 = app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["A1b"]));
    let other = app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["A2a"]));
    let truong_member = app.token(Role::Member, ScopeNode::Member(tree.member("Nguyễn Văn Trường")));
    let cursors: Vec<String> =
        futures_util::future::join_all([&khu1, &khu2, &other, &truong_member].map(|t| head(&app, t))).await;

    let admitted = app
        .data(Some(&base), ADMIT, admit_input(tree.chapters["A1a"], "Mới"))
        .await;
    let new_id = admitted["admitMember"]["member"]["id"].as_str().expect("id").to_owned();
    let dung = gid(NodeKind::Member, tree.member("Trần Thị Dung"));
    app.data(
        Some(&base),
        MOVE,
        json!({ "input": { "id": dung, "chapterId": gid(NodeKind::Chapter, tree.chapters["A1b"]), "expectedVersion": 1 } }),
    )
    .await;

    // The leader of Khu 1 sees the admission in full, then Dung leaving for another chapter.
    let seen = changes_after(&app, &khu1, &cursors[0]).await;
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!((seen[0].0.as_str(), seen[0].1.as_str()), (new_id.as_str(), "UPSERT"));
    assert_eq!(seen[0].2["fullName"], "Phạm Văn Mới");
    assert_eq!(seen[0].2["phone"], "0912345678");
    assert_eq!((seen[1].0.as_str(), seen[1].1.as_str()), (dung.as_str(), "REMOVE"));
    assert!(seen[1].2.is_null());
    // Khu 2 sees only Dung arriving.
    let seen = changes_after(&app, &khu2, &cursors[1]).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!((seen[0].0.as_str(), seen[0].1.as_str()), (dung.as_str(), "UPSERT"));
    let total = app
        .data(
            Some(&khu1),
            "query($a: String) { changes(after: $a) { totalCount } }",
            json!({ "a": cursors[0] }),
        )
        .await;
    assert_eq!(total["changes"]["totalCount"], 2);
    // Another base's chapter sees nothing of it.
    assert!(changes_after(&app, &other, &cursors[2]).await.is_empty());
    // A member of Khu 1 sees the new chapter mate's name, not their phone (masked as in queries).
    let seen = changes_after(&app, &truong_member, &cursors[3]).await;
    assert_eq!(seen[0].2["fullName"], "Phạm Văn Mới");
    assert!(seen[0].2["phone"].is_null(), "{seen:?}");

    // Resuming from the end cursor finds nothing new; the cursor stays usable.
    let data = app.data(Some(&khu1), CHANGES, json!({ "after": cursors[0] })).await;
    let end = data["changes"]["pageInfo"]["endCursor"]
        .as_str()
        .expect("end")
        .to_owned();
    assert!(changes_after(&app, &khu1, &end).await.is_empty());
}

/// Writers committing side by side while a reader walks the log: on PostgreSQL a writer that began first may
/// commit last, and a reader that had moved past its position would lose its change for ever. Every change
/// comes exactly once, each at a position of its own.
#[tokio::test]
async fn a_reader_walking_the_log_while_writers_commit_side_by_side_gets_every_change_once() {
    const PAGE: &str = "query($after: String) { changes(after: $after, first: 7) { edges { cursor node { nodeId } } \
                        pageInfo { endCursor } } }";
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin = app.admin();
    let mut cursor = head(&app, &admin).await;
    let done = std::sync::atomic::AtomicBool::new(false);
    let chapters = ["A1a", "A1b", "A2a", "A3a"];
    let writers = (0..8u8).map(|w| {
        let (app, admin, tree) = (&app, &admin, &tree);
        async move {
            let mut admitted = Vec::new();
            for i in 0..8u8 {
                let given = format!("Song {}{}", char::from(b'A' + w), char::from(b'A' + i));
                let chapter = tree.chapters[chapters[usize::from(w) % chapters.len()]];
                let data = app.data(Some(admin), ADMIT, admit_input(chapter, &given)).await;
                admitted.push(data["admitMember"]["member"]["id"].as_str().expect("id").to_owned());
            }
            admitted
        }
    });
    let writing = async {
        let admitted: Vec<String> = async_graphql::futures_util::future::join_all(writers)
            .await
            .into_iter()
            .flatten()
            .collect();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        admitted
    };
    let reading = async {
        let mut seen: Vec<String> = Vec::new();
        let mut cursors: Vec<String> = Vec::new();
        loop {
            // Whether the writers had all finished before this page was asked for: then it is the last one needed.
            let finished = done.load(std::sync::atomic::Ordering::SeqCst);
            let data = app.data(Some(&admin), PAGE, json!({ "after": cursor })).await;
            let edges = data["changes"]["edges"].as_array().expect("edges").clone();
            for edge in &edges {
                seen.push(edge["node"]["nodeId"].as_str().expect("nodeId").to_owned());
                cursors.push(edge["cursor"].as_str().expect("cursor").to_owned());
            }
            cursor = data["changes"]["pageInfo"]["endCursor"]
                .as_str()
                .expect("end")
                .to_owned();
            if finished && edges.is_empty() {
                return (seen, cursors);
            }
            tokio::task::yield_now().await;
        }
    };
    let (mut admitted, (mut seen, cursors)) = tokio::join!(writing, reading);
    assert_eq!(admitted.len(), 64);
    let mut unique = cursors.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), cursors.len(), "a position came twice: {cursors:?}");
    admitted.sort();
    seen.sort();
    assert_eq!(seen, admitted, "every admission once, nothing else");
}

/// An app on PostgreSQL with the fixture tree, an admin's token and the log's head; `None` on SQLite.
async fn on_postgres_at_head() -> Option<(TestApp, Tree, String, String)> {
    let app = TestApp::spawn().await;
    if !app.is_postgres() {
        return None;
    }
    let tree = Tree::build(&app).await;
    let admin = app.admin();
    let start = head(&app, &admin).await;
    Some((app, tree, admin, start))
}

/// The race itself, made certain: a writer writes its change first and commits last, and between the two a
/// reader reads (and moves past) a later writer's change. Its change still reaches the reader. PostgreSQL only:
/// SQLite has one writer at a time, so a second writer cannot commit while the first is open.
#[tokio::test]
async fn a_change_committed_after_a_later_one_was_read_still_reaches_the_reader() {
    use sea_orm::{EntityTrait, TransactionTrait};
    let Some((app, tree, admin, start)) = on_postgres_at_head().await else {
        return;
    };
    let duc = entity::member::Entity::find_by_id(tree.member("Lê Văn Đức"))
        .one(app.db())
        .await
        .expect("read")
        .expect("member");
    // The slow writer: its audit event and change row written, its transaction left open.
    let slow = app.db().begin().await.expect("begin");
    let actor = hoi_ccb::auth::Principal {
        subject: "slow-writer".into(),
        role: Role::Admin,
        scope: ScopeNode::Everything,
    };
    let event = hoi_ccb::audit::Event {
        action: "UPDATE_MEMBER",
        target: (NodeKind::Member, duc.id),
        position: hoi_ccb::auth::policy::Position::member(&duc),
        before: None,
        after: None,
        reason: None,
        client_mutation_id: None,
        member: Some(&duc),
    };
    hoi_ccb::audit::record(&slow, &actor, event).await.expect("slow write");
    // A later writer commits, and the reader reads its change and moves past it.
    let admitted = app
        .data(Some(&admin), ADMIT, admit_input(tree.chapters["A1b"], "Nhanh"))
        .await["admitMember"]["member"]["id"]
        .clone();
    let data = app.data(Some(&admin), CHANGES, json!({ "after": start })).await;
    let first: Vec<&Value> = data["changes"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| &e["node"]["nodeId"])
        .collect();
    assert_eq!(first, [&admitted], "only the committed change: {data}");
    let after = data["changes"]["pageInfo"]["endCursor"]
        .as_str()
        .expect("end")
        .to_owned();
    // The slow writer commits: its change comes after the reader's position.
    slow.commit().await.expect("commit");
    let later = changes_after(&app, &admin, &after).await;
    let ids: Vec<&str> = later.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(ids, [gid(NodeKind::Member, duc.id)], "{later:?}");
}

/// A backlog of committed changes larger than one numbering transaction (a big import, read by no one yet) is
/// numbered in full before a reader counts or reads it. PostgreSQL only: SQLite numbers each change as it
/// writes it.
#[tokio::test]
async fn a_backlog_larger_than_one_numbering_batch_is_numbered_in_full_before_it_is_read() {
    use sea_orm::ConnectionTrait;
    let Some((app, tree, admin, start)) = on_postgres_at_head().await else {
        return;
    };
    // 5,001 committed, unnumbered changes of a province, as writers leave them.
    let province = tree.provinces["QN"];
    app.db()
        .execute_unprepared(&format!(
            "INSERT INTO changes (at, audit_event_id, action, target_type, target_id, gone, province_id) \
             SELECT now(), 0, 'UPDATE_PROVINCE', 'Province', {province}, false, {province} \
             FROM generate_series(1, 5001)"
        ))
        .await
        .expect("backlog");
    let data = app
        .data(
            Some(&admin),
            "query($after: String) { changes(after: $after, first: 1) { totalCount } }",
            json!({ "after": start }),
        )
        .await;
    assert_eq!(data["changes"]["totalCount"], 5001, "{data}");
    let waiting = app
        .db()
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT COUNT(*) FROM changes WHERE seq IS NULL",
        ))
        .await
        .expect("count")
        .and_then(|r| r.try_get_by_index::<i64>(0).ok());
    assert_eq!(waiting, Some(0));
}

#[tokio::test]
async fn a_malformed_change_cursor_or_page_size_is_bad_user_input() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let (_, body) = app
        .post(Some(&admin), CHANGES, json!({ "after": "not-a-cursor" }))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "after", "{body}");
    let (_, body) = app
        .post(Some(&admin), "{ changes(first: 5000) { nodes { nodeId } } }", json!({}))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
}

pub(crate) type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(base_url: &str) -> Socket {
    let url = format!("{}/graphql", base_url.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (socket, response) = tokio_tungstenite::connect_async(request).await.expect("upgrade");
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some("graphql-transport-ws")
    );
    socket
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .expect("send");
}

/// The next protocol message, or `None` after `wait`.
async fn next(socket: &mut Socket, wait: Duration) -> Option<Message> {
    loop {
        match tokio::time::timeout(wait, socket.next()).await {
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(Some(Ok(m))) => return Some(m),
            _ => return None,
        }
    }
}

pub(crate) async fn next_json(socket: &mut Socket, wait: Duration) -> Option<Value> {
    match next(socket, wait).await? {
        Message::Text(t) => serde_json::from_str(t.as_str()).ok(),
        _ => None,
    }
}

/// A socket past `connection_init`, subscribed to member events.
async fn subscribed(base_url: &str, token: &str) -> Socket {
    subscribed_to(
        base_url,
        token,
        "subscription { memberEvents { kind memberId member { fullName phone } cursor } }",
    )
    .await
}

/// A socket past `connection_init`, subscribed with `query` under the operation id "1".
pub(crate) async fn subscribed_to(base_url: &str, token: &str, query: &str) -> Socket {
    let mut socket = open(base_url).await;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }),
    )
    .await;
    let ack = next_json(&mut socket, Duration::from_secs(10)).await.expect("ack");
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": query } }),
    )
    .await;
    // Give the subscription a moment to register before anything is written.
    tokio::time::sleep(Duration::from_millis(300)).await;
    socket
}

fn event(message: &Value) -> &Value {
    &message["payload"]["data"]["memberEvents"]
}

#[tokio::test]
async fn a_chapter_leader_receives_events_of_their_chapter_and_not_of_another() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin = app.admin();
    let khu1 = app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["A1a"]));
    let other = app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["A2a"]));
    let mut khu1_socket = subscribed(&app.base_url, &khu1).await;
    let mut other_socket = subscribed(&app.base_url, &other).await;

    app.data(Some(&admin), ADMIT, admit_input(tree.chapters["A1a"], "Mới"))
        .await;
    let got = next_json(&mut khu1_socket, Duration::from_secs(10))
        .await
        .expect("event");
    assert_eq!(got["type"], "next", "{got}");
    assert_eq!(event(&got)["kind"], "ADMITTED");
    assert_eq!(event(&got)["member"]["fullName"], "Phạm Văn Mới");
    assert_eq!(event(&got)["member"]["phone"], "0912345678");

    // The other chapter's leader gets their own chapter's next event first: Khu 1's never reached them.
    app.data(Some(&admin), ADMIT, admit_input(tree.chapters["A2a"], "Khác"))
        .await;
    let got = next_json(&mut other_socket, Duration::from_secs(10))
        .await
        .expect("event");
    assert_eq!(event(&got)["member"]["fullName"], "Phạm Văn Khác", "{got}");
    assert!(next_json(&mut khu1_socket, Duration::from_millis(500)).await.is_none());

    // A member moved to Khu 2 leaves Khu 1's view: its leader is told, without the record.
    let dung = gid(NodeKind::Member, tree.member("Trần Thị Dung"));
    let base = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A1"]));
    app.data(
        Some(&base),
        MOVE,
        json!({ "input": { "id": dung, "chapterId": gid(NodeKind::Chapter, tree.chapters["A1b"]), "expectedVersion": 1 } }),
    )
    .await;
    let got = next_json(&mut khu1_socket, Duration::from_secs(10))
        .await
        .expect("event");
    assert_eq!(event(&got)["kind"], "LEFT", "{got}");
    assert_eq!(event(&got)["memberId"], dung.as_str());
    assert!(event(&got)["member"].is_null());
}

/// A second instance of the app on the same database, with `tune` applied to its settings.
pub(crate) async fn second_instance(app: &TestApp, tune: impl FnOnce(&mut hoi_ccb::config::Config)) -> String {
    let mut config = (*app.state.services.config).clone();
    tune(&mut config);
    let state = server::prepare(config).await.expect("prepares");
    let running = server::spawn(state, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("binds");
    format!("http://{}", running.addr)
}

fn close_code(message: Option<Message>) -> Option<u16> {
    match message {
        Some(Message::Close(Some(frame))) => Some(u16::from(frame.code)),
        _ => None,
    }
}

#[tokio::test]
async fn with_no_subscriber_the_feed_follows_the_log_without_reading_each_change_and_sends_none_of_it_later() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin = app.admin();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let reads_before = app.metric("change_feed_reads_total").await;
    let writes: u8 = 20;
    let started = std::time::Instant::now();
    for i in 0..writes {
        app.data(
            Some(&admin),
            ADMIT,
            admit_input(tree.chapters["A1a"], &format!("Trước {}", char::from(b'A' + i))),
        )
        .await;
    }
    let writing = started.elapsed();
    // Past the hub's catch-up interval: the position has followed the log.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reads = app.metric("change_feed_reads_total").await - reads_before;
    assert!(reads >= 1, "the position followed the log");
    // At most one read per 100 ms of writing, plus the first, the last and the slow poll's: a read per commit
    // would be `writes` reads whenever the writes take less than 100 ms each, as they do here by far.
    let bound = writing.as_millis() as u64 / 100 + 3;
    assert!(
        reads <= bound,
        "{reads} reads of the log for {writes} commits heard in {writing:?} with nobody subscribed"
    );
    eprintln!("{writes} commits in {writing:?}: {reads} reads of the change log");

    // A subscriber that comes afterwards is sent what is written after it came, none of the earlier changes.
    let mut socket = subscribed(&app.base_url, &admin).await;
    app.data(Some(&admin), ADMIT, admit_input(tree.chapters["A1a"], "Sau"))
        .await;
    let got = next_json(&mut socket, Duration::from_secs(10)).await.expect("event");
    assert_eq!(event(&got)["member"]["fullName"], "Phạm Văn Sau", "{got}");
    assert!(
        next_json(&mut socket, Duration::from_millis(500)).await.is_none(),
        "nothing else is sent"
    );
}

#[tokio::test]
async fn a_socket_that_never_sends_connection_init_is_closed_with_4408() {
    let app = TestApp::spawn().await;
    let url = second_instance(&app, |c| c.realtime.ws_init_timeout = Duration::from_secs(1)).await;
    let mut socket = open(&url).await;
    assert_eq!(close_code(next(&mut socket, Duration::from_secs(5)).await), Some(4408));
}

#[tokio::test]
async fn a_token_that_expires_closes_the_socket_with_4401_and_a_bad_one_is_refused_with_4403() {
    let app = TestApp::spawn().await;
    let now = chrono::Utc::now().timestamp();
    let claims = json!({ "sub": "idp|leaving", "role": "ADMIN", "iss": "hoi-ccb", "aud": "hoi-ccb-api",
                         "iat": now, "exp": now + 2 });
    let short = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(crate::helpers::SECRET.as_bytes()),
    )
    .expect("encode");
    let mut socket = subscribed(&app.base_url, &short).await;
    assert_eq!(close_code(next(&mut socket, Duration::from_secs(10)).await), Some(4401));

    let mut socket = open(&app.base_url).await;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "authorization": "Bearer forged" } }),
    )
    .await;
    assert_eq!(close_code(next(&mut socket, Duration::from_secs(5)).await), Some(4403));
}

#[tokio::test]
async fn subscriptions_per_socket_are_capped() {
    let app = TestApp::spawn().await;
    let url = second_instance(&app, |c| c.realtime.ws_max_subscriptions = 1).await;
    let mut socket = subscribed(&url, &app.admin()).await;
    send(
        &mut socket,
        json!({ "id": "2", "type": "subscribe", "payload": { "query": "subscription { unitEvents { kind } }" } }),
    )
    .await;
    let refused = next_json(&mut socket, Duration::from_secs(5)).await.expect("refusal");
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["id"], "2");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "TOO_MANY_SUBSCRIPTIONS");
}

#[tokio::test]
async fn sockets_beyond_the_cap_are_refused_with_503() {
    let app = TestApp::spawn().await;
    let url = second_instance(&app, |c| c.realtime.ws_max_connections = 1).await;
    let _first = open(&url).await;
    let ws_url = format!("{}/graphql", url.replacen("http://", "ws://", 1));
    let mut request = ws_url.into_client_request().expect("request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 503),
        other => panic!("expected a 503 refusal, got {:?}", other.map(|(_, r)| r.status())),
    }
}

/// Another instance on the same database, with a chapter leader of A1a subscribed to member events there. On
/// PostgreSQL it learns of this instance's commits only from their announcements (NOTIFY after the commit): its
/// fallback poll is the tests' hour. SQLite has no NOTIFY: an instance learns of another's commits by its
/// fallback poll of the change log, made short here.
async fn subscribed_on_another_instance(app: &TestApp, tree: &Tree) -> Socket {
    let postgres = app.is_postgres();
    let other_instance = second_instance(app, |c| {
        if !postgres {
            c.realtime.change_poll = Duration::from_millis(200);
        }
    })
    .await;
    let khu1 = app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["A1a"]));
    subscribed(&other_instance, &khu1).await
}

#[tokio::test]
async fn an_event_written_through_one_instance_is_delivered_by_another() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let mut socket = subscribed_on_another_instance(&app, &tree).await;
    app.data(Some(&app.admin()), ADMIT, admit_input(tree.chapters["A1a"], "Xa"))
        .await;
    let got = next_json(&mut socket, Duration::from_secs(10))
        .await
        .expect("event from the other instance");
    assert_eq!(event(&got)["kind"], "ADMITTED", "{got}");
    assert_eq!(event(&got)["member"]["fullName"], "Phạm Văn Xa");
}

#[tokio::test]
async fn a_burst_of_concurrent_writes_through_one_instance_all_reach_another() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    // Commits that come while an announcement is under way share the next one: none may be left unannounced.
    let mut socket = subscribed_on_another_instance(&app, &tree).await;
    let admin = app.admin();
    let names = [
        "An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Khánh", "Lan", "Minh", "Nga", "Phúc", "Quân",
    ];
    futures_util::future::join_all(names.iter().map(|given| {
        let input = admit_input(tree.chapters["A1a"], given);
        let admin = &admin;
        let app = &app;
        async move { app.data(Some(admin), ADMIT, input).await }
    }))
    .await;
    let mut heard = Vec::new();
    while heard.len() < names.len() {
        let got = next_json(&mut socket, Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("only {} of {} events arrived: {heard:?}", heard.len(), names.len()));
        assert_eq!(event(&got)["kind"], "ADMITTED", "{got}");
        heard.push(event(&got)["member"]["fullName"].as_str().expect("name").to_owned());
    }
    heard.sort();
    let mut expected: Vec<String> = names.iter().map(|n| format!("Phạm Văn {n}")).collect();
    expected.sort();
    assert_eq!(heard, expected);
}

#[tokio::test]
async fn a_death_and_a_revoked_award_come_as_remove_to_everyone_who_saw_them() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin = app.admin();
    let khu1 = app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["A1a"]));
    let start = head(&app, &khu1).await;
    let an = gid(NodeKind::Member, tree.member("Hoàng Văn An"));
    app.data(
        Some(&admin),
        "mutation($input: RecordDeathInput!) { recordDeath(input: $input) { member { status } } }",
        json!({ "input": { "id": an, "expectedVersion": 1, "dateOfDeath": "2025-03-01" } }),
    )
    .await;
    let award = gid(NodeKind::Award, tree.awards["merit-truong"]);
    app.data(
        Some(&admin),
        "mutation($input: RevokeAwardInput!) { revokeAward(input: $input) { award { revoked } } }",
        json!({ "input": { "id": award, "expectedVersion": 1, "reason": "Quyết định bị hủy" } }),
    )
    .await;
    let seen = changes_after(&app, &khu1, &start).await;
    let ops: Vec<(&str, &str)> = seen.iter().map(|(id, op, _)| (id.as_str(), op.as_str())).collect();
    assert_eq!(ops, vec![(an.as_str(), "REMOVE"), (award.as_str(), "REMOVE")]);
    // The award roll is public: the anonymous reader is told too, but never about the member.
    let public = app.data(None, CHANGES, json!({ "after": start })).await;
    let ids: Vec<&str> = public["changes"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["nodeId"].as_str())
        .collect();
    assert_eq!(ids, vec![award.as_str()]);
}

#[tokio::test]
async fn logging_out_closes_the_sessions_open_socket_with_4401() {
    let app = TestApp::spawn().await;
    hoi_ccb::auth::accounts::create(
        app.db(),
        "phone",
        "phone-password",
        Role::Admin,
        ScopeNode::Everything,
        "Phone",
    )
    .await
    .expect("account");
    let url = second_instance(&app, |c| c.realtime.ws_session_recheck = Duration::from_millis(300)).await;
    let login = app
        .data(
            None,
            "mutation { login(username: \"phone\", password: \"phone-password\") { token refreshToken } }",
            json!({}),
        )
        .await;
    let token = login["login"]["token"].as_str().expect("token");
    let mut socket = subscribed(&url, token).await;
    app.data(
        None,
        "mutation($r: String!) { logout(refreshToken: $r) }",
        json!({ "r": login["login"]["refreshToken"] }),
    )
    .await;
    assert_eq!(close_code(next(&mut socket, Duration::from_secs(5)).await), Some(4401));
}
