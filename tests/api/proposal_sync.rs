//! Award proposals and yearly ratings in delta sync (`changes`) and in subscriptions (`proposalEvents`,
//! `yearlyRatingEvents`): each viewer gets exactly the proposals and ratings their queries show them, a
//! proposal from the step that brought it to their level, with personal fields masked as in queries.

use std::collections::BTreeSet;
use std::time::Duration;

use hoi_ccb::auth::{Role, ScopeNode};
use hoi_ccb::ids::NodeKind;
use serde_json::{Value, json};

use crate::fixture::Tree;
use crate::helpers::{TestApp, gid};
use crate::proposals::{Api, RECORD_RATING, UPDATE_RATING, rating_input};
use crate::realtime::{Socket, next_json, second_instance, subscribed_to};

const HEAD: &str = "{ changes(first: 0) { pageInfo { endCursor } } }";
const CHANGES: &str = "query($after: String) { changes(after: $after, first: 100) { totalCount edges { cursor node {
    nodeId operation node { id ... on Proposal { status level } ... on YearlyRating { kind achieved member { fullName phone } } } } }
    pageInfo { endCursor hasNextPage } } }";
const VISIBLE: &str = "{ proposals(first: 100) { nodes { id } } yearlyRatings(first: 100) { nodes { id } } }";

async fn head(app: &TestApp, token: Option<&str>) -> String {
    app.data(token, HEAD, json!({})).await["changes"]["pageInfo"]["endCursor"]
        .as_str()
        .expect("end cursor")
        .to_owned()
}

/// What one viewer's delta sync after `cursor` says of proposals and ratings: (nodeId, operation, node), in
/// commit order. Checks on the way that `totalCount` counts exactly the page the viewer was given.
async fn synced(app: &TestApp, token: Option<&str>, cursor: &str) -> Vec<(String, String, Value)> {
    let data = app.data(token, CHANGES, json!({ "after": cursor })).await;
    let page = &data["changes"];
    assert_eq!(page["pageInfo"]["hasNextPage"], false, "{page}");
    let edges = page["edges"].as_array().cloned().unwrap_or_default();
    assert_eq!(page["totalCount"].as_u64(), Some(edges.len() as u64), "{page}");
    let kinds = [NodeKind::Proposal, NodeKind::YearlyRating];
    edges
        .iter()
        .map(|e| &e["node"])
        .filter(|n| {
            let id = n["nodeId"].as_str().unwrap_or_default();
            hoi_ccb::ids::GlobalId::parse("nodeId", id).is_ok_and(|g| kinds.contains(&g.kind))
        })
        .map(|n| {
            (
                n["nodeId"].as_str().unwrap_or_default().to_owned(),
                n["operation"].as_str().unwrap_or_default().to_owned(),
                n["node"].clone(),
            )
        })
        .collect()
}

/// The proposals and ratings a viewer's queries list.
async fn listed(app: &TestApp, token: Option<&str>) -> BTreeSet<String> {
    let data = app.data(token, VISIBLE, json!({})).await;
    ["proposals", "yearlyRatings"]
        .iter()
        .flat_map(|list| data[*list]["nodes"].as_array().cloned().unwrap_or_default())
        .filter_map(|n| n["id"].as_str().map(str::to_owned))
        .collect()
}

fn ids(seen: &[(String, String, Value)]) -> Vec<&str> {
    seen.iter().map(|(id, _, _)| id.as_str()).collect()
}

#[tokio::test]
async fn delta_sync_carries_proposals_and_ratings_to_exactly_the_viewers_their_queries_show_them_to() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let api = Api { app: &app };
    let admin = app.admin();
    let leader = app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["A1a"]));
    let base = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A1"]));
    let sibling_base = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A2"]));
    let province = app.token(Role::ProvinceOfficial, ScopeNode::Province(tree.provinces["QN"]));
    let other_province = app.token(Role::ProvinceOfficial, ScopeNode::Province(tree.provinces["HP"]));
    let dung_id = tree.member("Trần Thị Dung");
    let mate = app.token(Role::Member, ScopeNode::Member(dung_id));
    let viewers: Vec<(&str, Option<&str>)> = vec![
        ("admin", Some(&admin)),
        ("leader", Some(&leader)),
        ("base", Some(&base)),
        ("sibling base", Some(&sibling_base)),
        ("province", Some(&province)),
        ("other province", Some(&other_province)),
        ("member", Some(&mate)),
        ("public", None),
    ];
    let mut cursors = Vec::new();
    for (_, token) in &viewers {
        cursors.push(head(&app, *token).await);
    }

    // A proposal from the chapter, forwarded by the base, approved by the province.
    let dung = gid(NodeKind::Member, dung_id);
    let proposed = api.propose(&leader, "CERTIFICATE_OF_MERIT", &dung).await;
    let forwarded = api.forward(&base, &proposed).await;
    let forwarded = &forwarded["data"]["forwardProposal"]["proposal"];
    assert_eq!(forwarded["level"], "PROVINCE");
    let approved = api.approve(&province, forwarded, "21/QĐ-CCBT").await;
    assert_eq!(
        approved["data"]["approveProposal"]["proposal"]["status"], "APPROVED",
        "{approved}"
    );
    let p = proposed["id"].as_str().expect("proposal id").to_owned();

    // A base rated by the province; a member of Khu 1 rated by the base, then the rating changed.
    let a1 = gid(NodeKind::Base, tree.bases["A1"]);
    let strong = app
        .data(Some(&province), RECORD_RATING, rating_input("STRONG_BASE", &a1, true))
        .await;
    let strong = strong["recordYearlyRating"]["rating"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let truong = gid(NodeKind::Member, tree.member("Nguyễn Văn Trường"));
    let model = app
        .data(Some(&base), RECORD_RATING, rating_input("MODEL_MEMBER", &truong, true))
        .await;
    let model = &model["recordYearlyRating"]["rating"];
    let change = json!({ "input": { "id": model["id"], "expectedVersion": model["version"], "achieved": false } });
    app.data(Some(&base), UPDATE_RATING, change).await;
    let model = model["id"].as_str().expect("id").to_owned();
    let (p, strong, model) = (p.as_str(), strong.as_str(), model.as_str());

    let expected: Vec<(&str, Vec<&str>)> = vec![
        // Admins see every step; the chapter and the base where the proposal started see every step too.
        ("admin", vec![p, p, p, strong, model, model]),
        // A chapter leader sees the ratings of their members, not the base's own rating.
        ("leader", vec![p, p, p, model, model]),
        ("base", vec![p, p, p, strong, model, model]),
        ("sibling base", vec![]),
        // The province sees the proposal from the step that brought it there: forwarded, then approved.
        ("province", vec![p, p, strong, model, model]),
        ("other province", vec![]),
        // A member sees the ratings of their chapter's members (as `yearlyRatings` shows them), no proposal.
        ("member", vec![model, model]),
        ("public", vec![]),
    ];
    for (((name, token), cursor), (expected_name, expected_ids)) in viewers.iter().zip(&cursors).zip(&expected) {
        assert_eq!(name, expected_name);
        let seen = synced(&app, *token, cursor).await;
        assert_eq!(ids(&seen), *expected_ids, "{name}: {seen:?}");
        assert!(seen.iter().all(|(_, op, _)| op == "UPSERT"), "{name}: {seen:?}");
        // The same records, and no others, as the viewer's own queries list.
        let distinct: BTreeSet<String> = seen.iter().map(|(id, _, _)| id.clone()).collect();
        assert_eq!(distinct, listed(&app, *token).await, "{name}");
    }

    // The records come as they are now, masked as in queries: the leader reads the rated member's phone,
    // a fellow member of the chapter only the name.
    let by_leader = synced(&app, Some(&leader), &cursors[1]).await;
    assert_eq!(by_leader[0].2["status"], "APPROVED");
    assert_eq!(by_leader[0].2["level"], "PROVINCE");
    let rating = &by_leader[4].2;
    assert_eq!(
        (&rating["kind"], &rating["achieved"]),
        (&json!("MODEL_MEMBER"), &json!(false))
    );
    assert_eq!(rating["member"]["phone"], "0900000000");
    let by_member = synced(&app, Some(&mate), &cursors[6]).await;
    assert_eq!(by_member[0].2["member"]["fullName"], "Nguyễn Văn Trường");
    assert!(by_member[0].2["member"]["phone"].is_null(), "{by_member:?}");

    // Cursors of these changes are durable like any other: resuming after the forward step gives the rest.
    let data = app.data(Some(&province), CHANGES, json!({ "after": cursors[4] })).await;
    let forward_cursor = data["changes"]["edges"][0]["cursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    let rest = synced(&app, Some(&province), &forward_cursor).await;
    assert_eq!(ids(&rest), vec![p, strong, model, model]);
}

const PROPOSAL_EVENTS: &str = "subscription { proposalEvents { kind proposalId cursor proposal { status level
    rejectionReason recipient { ... on Member { fullName phone } } } } }";
const RATING_EVENTS: &str =
    "subscription { yearlyRatingEvents { kind ratingId cursor rating { kind achieved member { fullName phone } } } }";

/// The next event of a subscription, by its field.
async fn event(socket: &mut Socket, field: &str) -> Value {
    let got = next_json(socket, Duration::from_secs(10)).await.expect("an event");
    assert_eq!(got["type"], "next", "{got}");
    got["payload"]["data"][field].clone()
}

async fn quiet(socket: &mut Socket) -> bool {
    next_json(socket, Duration::from_millis(500)).await.is_none()
}

#[tokio::test]
async fn proposal_events_reach_the_levels_a_proposal_passes_through_and_nobody_else() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let api = Api { app: &app };
    let leader = app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["A1a"]));
    let base = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A1"]));
    let sibling_base = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A2"]));
    let province = app.token(Role::ProvinceOfficial, ScopeNode::Province(tree.provinces["QN"]));
    // On PostgreSQL the province listens on another instance: events fan out through LISTEN/NOTIFY.
    let province_url = if app.is_postgres() {
        second_instance(&app, |_| {}).await
    } else {
        app.base_url.clone()
    };
    let mut base_socket = subscribed_to(&app.base_url, &base, PROPOSAL_EVENTS).await;
    let mut province_socket = subscribed_to(&province_url, &province, PROPOSAL_EVENTS).await;
    let mut sibling_socket = subscribed_to(&app.base_url, &sibling_base, PROPOSAL_EVENTS).await;
    let mut member_socket = subscribed_to(
        &app.base_url,
        &app.token(Role::Member, ScopeNode::Member(tree.member("Trần Thị Dung"))),
        PROPOSAL_EVENTS,
    )
    .await;

    let dung = gid(NodeKind::Member, tree.member("Trần Thị Dung"));
    let proposed = api.propose(&leader, "CERTIFICATE_OF_MERIT", &dung).await;
    let got = event(&mut base_socket, "proposalEvents").await;
    assert_eq!(
        (&got["kind"], &got["proposalId"]),
        (&json!("PROPOSED"), &proposed["id"])
    );
    assert_eq!(got["proposal"]["level"], "BASE");
    assert_eq!(got["proposal"]["recipient"]["fullName"], "Trần Thị Dung");
    assert_eq!(got["proposal"]["recipient"]["phone"], "0900000001");

    let forwarded = api.forward(&base, &proposed).await;
    let forwarded = &forwarded["data"]["forwardProposal"]["proposal"];
    assert_eq!(event(&mut base_socket, "proposalEvents").await["kind"], "FORWARDED");
    // The province's first event is the one that brought the proposal to it.
    let got = event(&mut province_socket, "proposalEvents").await;
    assert_eq!(
        (&got["kind"], &got["proposalId"]),
        (&json!("FORWARDED"), &proposed["id"])
    );
    assert_eq!(got["proposal"]["level"], "PROVINCE");

    let (_, rejected) = api
        .step(
            &province,
            "rejectProposal",
            "RejectProposalInput",
            json!({ "id": forwarded["id"], "expectedVersion": forwarded["version"], "reason": "Chưa đủ thành tích" }),
        )
        .await;
    assert_eq!(
        rejected["data"]["rejectProposal"]["proposal"]["status"], "REJECTED",
        "{rejected}"
    );
    for socket in [&mut base_socket, &mut province_socket] {
        let got = event(socket, "proposalEvents").await;
        assert_eq!(got["kind"], "REJECTED");
        assert_eq!(got["proposal"]["rejectionReason"], "Chưa đủ thành tích");
        // The cursor resumes delta sync right after this step.
        let data = app
            .data(
                Some(&base),
                "query($a: String) { changes(after: $a) { totalCount } }",
                json!({ "a": got["cursor"] }),
            )
            .await;
        assert_eq!(data["changes"]["totalCount"], 0);
    }

    // A sibling base's own proposal is the first thing its socket hears: nothing of Khu 1's reached it. The
    // province sees it at once (a base proposes to the province); the first base does not.
    let hoa = gid(NodeKind::Member, tree.member("Bùi Văn Hòa"));
    let own = api.propose(&sibling_base, "CERTIFICATE_OF_MERIT", &hoa).await;
    let got = event(&mut sibling_socket, "proposalEvents").await;
    assert_eq!((&got["kind"], &got["proposalId"]), (&json!("PROPOSED"), &own["id"]));
    let got = event(&mut province_socket, "proposalEvents").await;
    assert_eq!((&got["kind"], &got["proposalId"]), (&json!("PROPOSED"), &own["id"]));
    assert!(quiet(&mut base_socket).await);
    // Members see no proposals.
    assert!(quiet(&mut member_socket).await);
}

#[tokio::test]
async fn rating_events_are_scoped_and_masked_like_the_ratings_query() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let base = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A1"]));
    let sibling_base = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A2"]));
    let province = app.token(Role::ProvinceOfficial, ScopeNode::Province(tree.provinces["QN"]));
    let leader = app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["A1a"]));
    let mate = app.token(Role::Member, ScopeNode::Member(tree.member("Trần Thị Dung")));
    let mut leader_socket = subscribed_to(&app.base_url, &leader, RATING_EVENTS).await;
    let mut mate_socket = subscribed_to(&app.base_url, &mate, RATING_EVENTS).await;
    let mut sibling_socket = subscribed_to(&app.base_url, &sibling_base, RATING_EVENTS).await;

    let truong = gid(NodeKind::Member, tree.member("Nguyễn Văn Trường"));
    let recorded = app
        .data(Some(&base), RECORD_RATING, rating_input("MODEL_MEMBER", &truong, true))
        .await;
    let rating = &recorded["recordYearlyRating"]["rating"];
    let by_leader = event(&mut leader_socket, "yearlyRatingEvents").await;
    assert_eq!(
        (&by_leader["kind"], &by_leader["ratingId"]),
        (&json!("RECORDED"), &rating["id"])
    );
    assert_eq!(by_leader["rating"]["member"]["phone"], "0900000000");
    let by_mate = event(&mut mate_socket, "yearlyRatingEvents").await;
    assert_eq!(by_mate["rating"]["member"]["fullName"], "Nguyễn Văn Trường");
    assert!(by_mate["rating"]["member"]["phone"].is_null(), "masked: {by_mate}");

    let change = json!({ "input": { "id": rating["id"], "expectedVersion": rating["version"], "achieved": false } });
    app.data(Some(&base), UPDATE_RATING, change).await;
    for socket in [&mut leader_socket, &mut mate_socket] {
        let got = event(socket, "yearlyRatingEvents").await;
        assert_eq!(
            (&got["kind"], &got["rating"]["achieved"]),
            (&json!("CHANGED"), &json!(false))
        );
    }

    // The base's own rating is outside a chapter's view; the sibling base hears only its own member's.
    let a1 = gid(NodeKind::Base, tree.bases["A1"]);
    app.data(Some(&province), RECORD_RATING, rating_input("STRONG_BASE", &a1, true))
        .await;
    let hoa = gid(NodeKind::Member, tree.member("Bùi Văn Hòa"));
    let own = app
        .data(
            Some(&sibling_base),
            RECORD_RATING,
            rating_input("CULTURED_FAMILY", &hoa, true),
        )
        .await;
    let got = event(&mut sibling_socket, "yearlyRatingEvents").await;
    assert_eq!(
        (&got["kind"], &got["ratingId"]),
        (&json!("RECORDED"), &own["recordYearlyRating"]["rating"]["id"])
    );
    assert!(quiet(&mut leader_socket).await);
    assert!(quiet(&mut mate_socket).await);
}

#[tokio::test]
async fn two_officials_deciding_one_proposal_at_once_get_one_decision_and_one_conflict() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let api = Api { app: &app };
    let leader = app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["A1a"]));
    let base = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A1"]));
    let province = app.token(Role::ProvinceOfficial, ScopeNode::Province(tree.provinces["QN"]));
    let admin = app.admin();
    let start = head(&app, Some(&province)).await;
    // (Trường already holds this Bằng khen for 2024; approving it again would be refused for that reason.)
    let names = ["Trần Thị Dung", "Lê Văn Đức", "Phạm Văn Dũng", "Hoàng Văn An"];
    for (i, name) in names.iter().enumerate() {
        let member = gid(NodeKind::Member, tree.member(name));
        let proposed = api.propose(&leader, "CERTIFICATE_OF_MERIT", &member).await;
        let forwarded = api.forward(&base, &proposed).await;
        let p = &forwarded["data"]["forwardProposal"]["proposal"];
        let reject = json!({ "id": p["id"], "expectedVersion": p["version"], "reason": "Trùng đề nghị" });
        let number = format!("{}/QĐ-CCBT", 40 + i);
        let (approved, rejected) = tokio::join!(
            api.approve(&province, p, &number),
            api.step(&admin, "rejectProposal", "RejectProposalInput", reject),
        );
        let outcomes = [
            approved["errors"][0]["extensions"]["code"].as_str().unwrap_or("ok"),
            rejected.1["errors"][0]["extensions"]["code"].as_str().unwrap_or("ok"),
        ];
        let mut sorted = outcomes;
        sorted.sort_unstable();
        assert_eq!(sorted, ["CONFLICT", "ok"], "{name}: {approved} / {}", rejected.1);
    }
    // Every proposal reached the province once and was decided once: two changes each in its delta sync.
    let seen = synced(&app, Some(&province), &start).await;
    assert_eq!(seen.len(), 2 * names.len(), "{seen:?}");
}
