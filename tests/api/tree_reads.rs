//! Reads of the tree: the demo data reproduces the founding report, nested pages cost one statement per level,
//! links go up and down, `node`/`nodes` find everything.

use hoi_ccb::auth::{Role, ScopeNode};
use hoi_ccb::ids::NodeKind;
use serde_json::{Value, json};

use crate::fixture::Tree;
use crate::helpers::{TestApp, gid};

#[tokio::test]
async fn the_demo_data_reproduces_the_founding_report() {
    let app = TestApp::spawn_with_demo().await;
    let data = app
        .data(
            None,
            r#"{ provinces { totalCount nodes { name stats { baseCount territorialBaseCount blocBaseCount chapterCount memberCount veteranCount exServicemanCount } } }
                 central: awards(filter: { year: 2024, grantingLevel: CENTRAL, movement: "CCB gương mẫu" }, first: 50) { totalCount nodes { kind recipientType event } }
                 province: awards(filter: { year: 2024, grantingLevel: PROVINCE, movement: "ccb guong mau" }) { totalCount nodes { kind recipientType } } }"#,
            json!({}),
        )
        .await;
    let province = &data["provinces"]["nodes"][0];
    assert_eq!(data["provinces"]["totalCount"], 1);
    assert_eq!(province["name"], "Quảng Ninh");
    let stats = &province["stats"];
    assert_eq!(stats["baseCount"], 263);
    assert_eq!(stats["chapterCount"], 1802);
    let members = stats["memberCount"].as_i64().unwrap_or(0);
    assert!(
        (55_600..=55_700).contains(&members),
        "nearly 55,700 members, got {members}"
    );
    assert!((165..=175).contains(&stats["territorialBaseCount"].as_i64().unwrap_or(0)));
    let veterans = stats["veteranCount"].as_i64().unwrap_or(0) as f64 / members as f64;
    assert!((0.75..=0.85).contains(&veterans), "about 80 % veterans, got {veterans}");

    let central = data["central"]["nodes"].as_array().cloned().unwrap_or_default();
    let flags = central.iter().filter(|a| a["kind"] == "EMULATION_FLAG").count();
    let merits = central.iter().filter(|a| a["kind"] == "CERTIFICATE_OF_MERIT").count();
    assert_eq!(
        (flags, merits),
        (4, 7),
        "4 Cờ thi đua and 7 Bằng khen from the central committee"
    );
    assert!(
        central
            .iter()
            .all(|a| a["recipientType"] != "MEMBER" || a["kind"] != "EMULATION_FLAG")
    );
    assert!(
        central
            .iter()
            .all(|a| a["event"].as_str().unwrap_or("").contains("12/12/2024"))
    );
    let provincial = data["province"]["nodes"].as_array().cloned().unwrap_or_default();
    assert_eq!(provincial.len(), 6, "6 Bằng khen from the provincial committee");
    assert!(provincial.iter().all(|a| a["kind"] == "CERTIFICATE_OF_MERIT"));
    let kinds: Vec<&Value> = central.iter().chain(&provincial).map(|a| &a["recipientType"]).collect();
    assert!(
        kinds.contains(&&json!("MEMBER")) && kinds.iter().any(|k| *k != "MEMBER"),
        "collectives and individuals"
    );
}

const NESTED: &str = r#"query($first: Int!) {
  provinces(first: 5) { totalCount nodes { name
    bases(first: $first) { totalCount nodes { name
      chapters(first: $first) { totalCount nodes { name
        members(first: $first) { totalCount nodes { fullName } } } } } } } } }"#;

#[tokio::test]
async fn a_nested_page_costs_one_statement_per_level_whatever_the_page_sizes() {
    let app = TestApp::spawn().await;
    Tree::build(&app).await;
    let admin = app.admin();
    for first in [1, 3, 10] {
        let (statements, data) = app
            .count_statements(Some(&admin), NESTED, json!({ "first": first }))
            .await;
        // provinces, bases, chapters, members: every level's totals come with its rows, the root's included.
        assert_eq!(statements, 4, "first = {first}: {data}");
    }
    let (_, data) = app.count_statements(Some(&admin), NESTED, json!({ "first": 10 })).await;
    let qn = data["provinces"]["nodes"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "Quảng Ninh"))
        .cloned();
    let qn = qn.expect("Quảng Ninh listed");
    assert_eq!(qn["bases"]["totalCount"], 3);
    let dong_trieu = &qn["bases"]["nodes"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["name"] == "Phường Đông Triều").cloned())
        .expect("base");
    assert_eq!(dong_trieu["chapters"]["totalCount"], 2);
    assert_eq!(dong_trieu["chapters"]["nodes"][0]["members"]["totalCount"], 5);
}

#[tokio::test]
async fn nested_pages_are_cut_per_parent_in_sql() {
    let app = TestApp::spawn().await;
    Tree::build(&app).await;
    let data = app.data(Some(&app.admin()), NESTED, json!({ "first": 1 })).await;
    for province in data["provinces"]["nodes"].as_array().cloned().unwrap_or_default() {
        let bases = province["bases"]["nodes"].as_array().cloned().unwrap_or_default();
        assert_eq!(bases.len(), 1, "one base per province with first: 1");
        for base in bases {
            let chapters = base["chapters"]["nodes"].as_array().cloned().unwrap_or_default();
            assert_eq!(chapters.len(), 1);
            assert!(chapters[0]["members"]["nodes"].as_array().map(|m| m.len()).unwrap_or(0) <= 1);
        }
    }
}

#[tokio::test]
async fn stats_count_units_and_active_members_at_every_level() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let q = r#"query($p: ID!, $b: ID!, $c: ID!) {
        p: node(id: $p) { ... on Province { stats { baseCount territorialBaseCount blocBaseCount chapterCount memberCount femaleMemberCount } } }
        b: node(id: $b) { ... on Base { stats { baseCount chapterCount memberCount } } }
        c: node(id: $c) { ... on Chapter { stats { chapterCount memberCount } } } }"#;
    let (statements, data) = app
        .count_statements(
            None,
            q,
            json!({ "p": gid(NodeKind::Province, tree.provinces["QN"]), "b": gid(NodeKind::Base, tree.bases["A1"]), "c": gid(NodeKind::Chapter, tree.chapters["A1a"]) }),
        )
        .await;
    assert_eq!(
        data["p"]["stats"],
        json!({ "baseCount": 3, "territorialBaseCount": 2, "blocBaseCount": 1, "chapterCount": 4, "memberCount": 10, "femaleMemberCount": 2 })
    );
    assert_eq!(
        data["b"]["stats"],
        json!({ "baseCount": 0, "chapterCount": 2, "memberCount": 7 })
    );
    assert_eq!(data["c"]["stats"], json!({ "chapterCount": 0, "memberCount": 5 }));
    assert!(
        statements <= 6,
        "three lookups and three aggregate statements, got {statements}"
    );
}

#[tokio::test]
async fn links_lead_up_the_tree_from_a_member() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let id = gid(NodeKind::Member, tree.member("Nguyễn Văn Trường"));
    let data = app
        .data(
            Some(&app.admin()),
            "query($id: ID!) { node(id: $id) { id ... on Member { fullName givenName chapter { name base { name kind category province { name } } } } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data["node"]["id"], id);
    assert_eq!(data["node"]["fullName"], "Nguyễn Văn Trường");
    assert_eq!(data["node"]["chapter"]["name"], "Chi hội Khu 1");
    assert_eq!(data["node"]["chapter"]["base"]["name"], "Phường Đông Triều");
    assert_eq!(data["node"]["chapter"]["base"]["category"], "TERRITORIAL");
    assert_eq!(data["node"]["chapter"]["base"]["province"]["name"], "Quảng Ninh");
}

#[tokio::test]
async fn nodes_returns_each_id_in_order_with_null_for_missing_ones() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let ids = json!([
        gid(NodeKind::Base, tree.bases["A2"]),
        gid(NodeKind::Member, 999_999),
        gid(NodeKind::Province, tree.provinces["HP"]),
    ]);
    let data = app
        .data(
            Some(&app.admin()),
            "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Base { name } ... on Province { name } } }",
            json!({ "ids": ids }),
        )
        .await;
    assert_eq!(data["nodes"][0]["name"], "Xã Tiên Yên");
    assert!(data["nodes"][1].is_null());
    assert_eq!(data["nodes"][2]["name"], "Hải Phòng");
}

#[tokio::test]
async fn awards_filter_by_year_kind_and_level_and_link_to_recipients() {
    let app = TestApp::spawn_with_demo().await;
    let admin = app.token(Role::Admin, ScopeNode::Everything);
    let q = r#"{ flags: awards(filter: { kind: EMULATION_FLAG, year: 2024 }) { totalCount nodes { grantingLevel decisionNumber recipient { __typename ... on Base { name } ... on Province { name } ... on Chapter { name } } } }
                 commendations: awards(filter: { grantingLevel: BASE, year: 2023 }, first: 5) { totalCount nodes { kind grantingBody recipient { __typename ... on Member { fullName awards { totalCount } } ... on Chapter { name } } } } }"#;
    let data = app.data(Some(&admin), q, json!({})).await;
    assert_eq!(data["flags"]["totalCount"], 4);
    for flag in data["flags"]["nodes"].as_array().cloned().unwrap_or_default() {
        assert_eq!(flag["grantingLevel"], "CENTRAL");
        assert_ne!(flag["recipient"]["__typename"], "Member");
        assert!(flag["recipient"]["name"].is_string());
    }
    assert_eq!(data["commendations"]["totalCount"], 120);
    for a in data["commendations"]["nodes"].as_array().cloned().unwrap_or_default() {
        assert_eq!(a["kind"], "CERTIFICATE_OF_COMMENDATION");
        assert!(
            a["grantingBody"]
                .as_str()
                .unwrap_or("")
                .starts_with("Ban Chấp hành Hội CCB")
        );
    }
}

#[tokio::test]
async fn a_page_of_awards_loads_its_recipients_in_one_batch_per_type_even_under_concurrency() {
    let app = TestApp::spawn().await;
    Tree::build(&app).await;
    let admin = app.admin();
    let query = "{ awards { nodes { recipient { ... on Base { name } ... on Member { fullName chapter { name base { name province { name } } } } } } } }";
    let (alone, data) = app.count_statements(Some(&admin), query, json!({})).await;
    assert_eq!(data["awards"]["nodes"].as_array().map(Vec::len), Some(3));
    // The page, recipients (members, bases), then the members' chapters, bases and provinces.
    assert!(alone <= 6, "{alone} statements");
    let before = app.statements().await;
    let requests = (0..12).map(|_| app.post(Some(&admin), query, json!({})));
    for (status, body) in async_graphql::futures_util::future::join_all(requests).await {
        assert_eq!(status, 200);
        assert!(body.get("errors").is_none(), "{body}");
    }
    assert_eq!(
        app.statements().await - before,
        12 * alone,
        "batches must not split when requests overlap"
    );
}

#[tokio::test]
async fn two_writes_in_one_request_each_answer_with_fresh_data() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let id = gid(NodeKind::Member, tree.member("Lê Văn Đức"));
    let query = "mutation($id: ID!) {
        a: updateMember(input: { id: $id, expectedVersion: 1, phone: \"0911000001\" }) { member { phone version } }
        b: updateMember(input: { id: $id, expectedVersion: 2, phone: \"0911000002\" }) { member { phone version } } }";
    let data = app.data(Some(&app.admin()), query, json!({ "id": id })).await;
    assert_eq!(data["a"]["member"], json!({ "phone": "0911000001", "version": 2 }));
    assert_eq!(data["b"]["member"], json!({ "phone": "0911000002", "version": 3 }));
}

const MEMBER_WITH_ANCESTRY: &str = "query($id: ID!) { node(id: $id) { ... on Member { fullName
    chapter { name base { name province { name } } } awards(first: 5) { totalCount nodes { kind } } } } }";

#[tokio::test]
async fn member_recipients_of_an_award_page_come_with_their_chapter_and_base_in_one_statement() {
    let app = TestApp::spawn().await;
    Tree::build(&app).await;
    let admin = app.admin();
    let names = "{ awards { nodes { recipient { ... on Member { fullName } } } } }";
    let with_units = "{ awards { nodes { recipient { ... on Member { fullName chapter { name base { name } } } } } } }";
    let (bare, _) = app.count_statements(Some(&admin), names, json!({})).await;
    let (statements, data) = app.count_statements(Some(&admin), with_units, json!({})).await;
    let members: Vec<_> = data["awards"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a["recipient"]["fullName"].is_string())
        .collect();
    assert!(!members.is_empty(), "{data}");
    for award in &members {
        assert!(award["recipient"]["chapter"]["base"]["name"].is_string(), "{data}");
    }
    // The member recipients' chapters and bases are joined into the statement that loads the members: asking
    // for them adds no statement, and they are not read again for the members' own prefetch. On PostgreSQL the
    // recipients are joined into the page's own statement (one in all); elsewhere two: the award page, and the
    // members with their units (the fixture's unit recipients are among those units).
    assert!(
        statements <= bare,
        "{statements} statements against {bare} without the units"
    );
    assert_eq!(statements, if app.is_postgres() { 1 } else { 2 }, "{data}");
}

/// An official's award roll: every award with its name on the decision, member recipients only inside the
/// official's scope (`null` outside), units always; each recipient read once, a member outside the scope not
/// looked for again by every field that meets it. Pages backward and through edges answer the same awards.
#[tokio::test]
async fn an_officials_award_page_reads_each_recipient_once_and_keeps_the_scope() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let leader = app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["A1a"]));
    let query = "{ awards(orderBy: OLDEST_FIRST) { totalCount nodes { recipientName recipient { __typename
        ... on Member { fullName chapter { name base { name } } } ... on Base { name } } } } }";
    let (statements, data) = app.count_statements(Some(&leader), query, json!({})).await;
    assert_eq!(data["awards"]["totalCount"], 3, "{data}");
    let nodes = data["awards"]["nodes"].as_array().cloned().unwrap_or_default();
    let named = |name: &str| {
        nodes
            .iter()
            .find(|a| a["recipientName"].as_str().is_some_and(|n| n.contains(name)))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let own = named("Trường");
    assert_eq!(own["recipient"]["fullName"], "Nguyễn Văn Trường", "{data}");
    assert!(own["recipient"]["chapter"]["base"]["name"].is_string(), "{data}");
    // Outside the chapter: the award and its name are public, the member record is not.
    let other = named("Trung");
    assert_eq!(other["recipient"], Value::Null, "{data}");
    let flag = nodes.iter().find(|a| a["recipient"]["__typename"] == "Base");
    assert!(flag.is_some_and(|f| f["recipient"]["name"].is_string()), "{data}");
    // One statement on PostgreSQL; elsewhere the page, the members, the units (and no statement per field
    // asking for the member outside the scope).
    assert!(
        statements <= if app.is_postgres() { 1 } else { 4 },
        "{statements} statements: {data}"
    );
    let (again, repeated) = app.count_statements(Some(&leader), query, json!({})).await;
    assert_eq!((again, &repeated), (statements, &data));

    let backward = "{ awards(orderBy: OLDEST_FIRST, last: 2) { edges { node { recipientName recipient {
        ... on Member { fullName } ... on Base { name } } } } } }";
    let data = app.data(Some(&leader), backward, json!({})).await;
    let tail: Vec<Value> = data["awards"]["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|e| e["node"]["recipientName"].clone())
        .collect();
    let expected: Vec<Value> = nodes[1..].iter().map(|a| a["recipientName"].clone()).collect();
    assert_eq!(tail, expected, "{data}");
}

#[tokio::test]
async fn a_member_by_id_with_its_ancestry_and_its_awards_is_one_statement_on_postgresql() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let id = gid(NodeKind::Member, tree.member("Lê Văn Đức"));
    let admin = app.admin();
    let (bare, _) = app
        .count_statements(
            Some(&admin),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    let (statements, data) = app
        .count_statements(Some(&admin), MEMBER_WITH_ANCESTRY, json!({ "id": id }))
        .await;
    let member = &data["node"];
    assert_eq!(member["fullName"], "Lê Văn Đức");
    assert!(member["chapter"]["name"].is_string(), "{data}");
    assert!(member["chapter"]["base"]["name"].is_string(), "{data}");
    assert!(member["chapter"]["base"]["province"]["name"].is_string(), "{data}");
    assert_eq!(member["awards"]["totalCount"], 0, "{data}");
    // The member and its chapter, base and province come in the statement that loads the member; on
    // PostgreSQL its awards page (with its count) comes in the same statement, elsewhere in one more.
    let page = if app.is_postgres() { 0 } else { 1 };
    assert_eq!(
        statements,
        bare + page,
        "{statements} statements against {bare} for the bare lookup"
    );
}

/// A member's awards read beside the member (one statement on PostgreSQL) are the same pages as the award roll's
/// for that member, whatever the window: first pages, pages after and before a cursor, counts, no awards.
#[tokio::test]
async fn a_members_awards_read_with_the_member_are_the_award_rolls_pages() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin = app.admin();
    let member = gid(NodeKind::Member, tree.member("Nguyễn Văn Trường"));
    let grant = "mutation($input: GrantAwardInput!) { grantAward(input: $input) { award { id } } }";
    for (year, number) in [(2021, "21/QĐ-CCB"), (2022, "22/QĐ-CCB"), (2023, "23/QĐ-CCB")] {
        let input = json!({ "kind": "CERTIFICATE_OF_MERIT", "grantingLevel": "CENTRAL", "recipientId": member,
            "year": year, "movement": "CCB gương mẫu", "decisionNumber": number });
        app.data(Some(&admin), grant, json!({ "input": input })).await;
    }
    let node = "query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) { node(id: $id) {
        ... on Member { fullName chapter { name } awards(first: $first, after: $after, last: $last, before: $before) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { id year } } } } }";
    let roll =
        "query($m: ID!, $first: Int, $after: String, $last: Int, $before: String) { awards(filter: { memberId: $m },
        first: $first, after: $after, last: $last, before: $before) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { id year } } }";
    let both = |window: Value| {
        let app = &app;
        let admin = admin.clone();
        let member = member.clone();
        async move {
            let mut vars = window.clone();
            vars["id"] = json!(member);
            let mine = app.data(Some(&admin), node, vars).await;
            let mut vars = window;
            vars["m"] = json!(member);
            let rolled = app.data(Some(&admin), roll, vars).await;
            assert_eq!(mine["node"]["fullName"], "Nguyễn Văn Trường", "{mine}");
            assert_eq!(mine["node"]["awards"], rolled["awards"], "{mine} against {rolled}");
            rolled["awards"].clone()
        }
    };
    let all = both(json!({ "first": 10 })).await;
    assert_eq!(all["totalCount"], 4, "{all}");
    assert_eq!(all["nodes"].as_array().map(Vec::len), Some(4), "{all}");
    let first = both(json!({ "first": 2 })).await;
    assert_eq!(first["pageInfo"]["hasNextPage"], true, "{first}");
    let next = both(json!({ "first": 2, "after": first["pageInfo"]["endCursor"] })).await;
    assert_eq!(next["nodes"].as_array().map(Vec::len), Some(2), "{next}");
    assert_eq!(next["pageInfo"]["hasNextPage"], false, "{next}");
    assert_eq!(next["pageInfo"]["hasPreviousPage"], true, "{next}");
    let last = both(json!({ "last": 1 })).await;
    assert_eq!(last["nodes"][0], all["nodes"][3], "{last}");
    let before = both(json!({ "last": 2, "before": last["pageInfo"]["startCursor"] })).await;
    assert_eq!(before["nodes"], json!([all["nodes"][1], all["nodes"][2]]), "{before}");
    let past = both(json!({ "first": 2, "after": last["pageInfo"]["endCursor"] })).await;
    assert_eq!(past["nodes"], json!([]), "{past}");
    assert_eq!(past["totalCount"], 4, "{past}");

    // A member without awards: an empty page, counted.
    let none = gid(NodeKind::Member, tree.member("Lê Văn Đức"));
    let data = app.data(Some(&admin), node, json!({ "id": none, "first": 3 })).await;
    assert_eq!(data["node"]["awards"]["nodes"], json!([]), "{data}");
    assert_eq!(data["node"]["awards"]["totalCount"], 0, "{data}");
    assert!(data["node"]["chapter"]["name"].is_string(), "{data}");
}

/// A page per parent is one prepared statement over the parents' ids in a text parameter. PostgreSQL used to
/// plan it again on every execution: its generic plan could not count the ids and looked ten times dearer
/// than a plan for the actual ids. Repeated on one connection, it now runs on the generic plan after the
/// first few executions (PostgreSQL's own count, `pg_prepared_statements`), and answers the same page.
#[tokio::test]
async fn a_page_per_parent_is_not_planned_again_on_every_execution() {
    let app = TestApp::spawn_with(|c| c.db.pool_size = Some(1)).await;
    let tree = Tree::build(&app).await;
    let id = gid(NodeKind::Member, tree.member("Lê Văn Đức"));
    let admin = app.admin();
    let first = app.data(Some(&admin), MEMBER_WITH_ANCESTRY, json!({ "id": id })).await;
    assert_eq!(first["node"]["fullName"], "Lê Văn Đức", "{first}");
    assert!(first["node"]["awards"]["totalCount"].is_i64(), "{first}");
    for _ in 0..8 {
        let again = app.data(Some(&admin), MEMBER_WITH_ANCESTRY, json!({ "id": id })).await;
        assert_eq!(again, first);
    }
    if app.is_postgres() {
        use sea_orm::ConnectionTrait;
        let row = app
            .db()
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT CAST(SUM(generic_plans) AS BIGINT) AS generic, CAST(SUM(custom_plans) AS BIGINT) AS custom \
                 FROM pg_prepared_statements WHERE statement LIKE '%AS parent__%FROM awards t%'",
            ))
            .await
            .expect("prepared statements read")
            .expect("one row");
        let generic: Option<i64> = row.try_get("", "generic").expect("generic");
        let custom: Option<i64> = row.try_get("", "custom").expect("custom");
        // Nine executions: at most five custom plans before PostgreSQL compares, then the generic one.
        assert!(generic.unwrap_or(0) >= 4, "generic {generic:?}, custom {custom:?}");
        assert!(custom.unwrap_or(0) <= 5, "generic {generic:?}, custom {custom:?}");
    }
}

#[tokio::test]
async fn the_joined_ancestry_keeps_the_viewers_scope() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let id = gid(NodeKind::Member, tree.member("Phạm Văn Dũng"));
    let own = app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["A1a"]));
    let (inside, data) = app
        .count_statements(Some(&own), MEMBER_WITH_ANCESTRY, json!({ "id": id }))
        .await;
    assert_eq!(data["node"]["fullName"], "Phạm Văn Dũng");
    assert!(
        data["node"]["chapter"]["base"]["province"]["name"].is_string(),
        "{data}"
    );
    let other = app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["B1a"]));
    let (outside, data) = app
        .count_statements(Some(&other), MEMBER_WITH_ANCESTRY, json!({ "id": id }))
        .await;
    assert_eq!(data["node"], Value::Null);
    // Found missing once: the node is not looked for again before it answers `null`.
    assert!(
        outside <= inside,
        "{outside} statements outside the scope, {inside} inside"
    );
    let (bare, data) = app
        .count_statements(
            Some(&other),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data["node"], Value::Null);
    assert_eq!(bare, 1, "{data}");
}

#[tokio::test]
async fn nodes_load_many_members_and_their_units_in_one_statement() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let ids: Vec<String> = ["Phạm Văn Dũng", "Lý Văn Trung"]
        .iter()
        .map(|n| gid(NodeKind::Member, tree.member(n)))
        .collect();
    let admin = app.admin();
    let query =
        "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Member { fullName chapter { name base { name } } } } }";
    let (bare, _) = app
        .count_statements(
            Some(&admin),
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": ids }),
        )
        .await;
    let (statements, data) = app.count_statements(Some(&admin), query, json!({ "ids": ids })).await;
    assert_eq!(data["nodes"][0]["fullName"], "Phạm Văn Dũng");
    assert_eq!(data["nodes"][1]["fullName"], "Lý Văn Trung");
    assert!(data["nodes"][1]["chapter"]["base"]["name"].is_string(), "{data}");
    assert_eq!(statements, bare);
}

/// Found by schemathesis (.ci/schemathesis.sh): `kinds` and `category` are filters of bases, and on a list of
/// provinces or chapters they reached SQL as `t.kind` and answered INTERNAL_SERVER_ERROR.
#[tokio::test]
async fn base_only_filters_on_provinces_or_chapters_are_refused_by_name() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin = app.admin();
    let base = gid(NodeKind::Base, tree.bases["A1"]);
    let lists = [
        (
            "provinces",
            "query($f: UnitFilterInput) { provinces(filter: $f) { totalCount } }",
        ),
        (
            "chapters",
            "query($f: UnitFilterInput) { chapters(filter: $f) { totalCount } }",
        ),
        (
            "Base.chapters",
            "query($f: UnitFilterInput, $b: ID!) { node(id: $b) { ... on Base { chapters(filter: $f) { totalCount } } } }",
        ),
    ];
    for (list, query) in lists {
        for (filter, field) in [
            (json!({ "category": "BLOC" }), "filter.category"),
            (json!({ "kinds": ["WARD"] }), "filter.kinds"),
        ] {
            let (status, body) = app.post(Some(&admin), query, json!({ "f": filter, "b": base })).await;
            assert_eq!(status, 200, "{list} {filter}: {body}");
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                "{list} {filter}: {body}"
            );
            assert_eq!(
                body["errors"][0]["extensions"]["field"], field,
                "{list} {filter}: {body}"
            );
        }
    }
    // On bases they still filter.
    let data = app
        .data(
            Some(&admin),
            "{ bases(filter: { category: TERRITORIAL }) { totalCount } }",
            json!({}),
        )
        .await;
    assert!(data["bases"]["totalCount"].as_i64().unwrap_or(0) > 0, "{data}");
}

#[tokio::test]
async fn a_page_of_members_brings_their_chapters_bases_and_provinces_in_one_statement() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin = app.admin();
    let page = "{ members(first: 50) { nodes { fullName chapter { name base { name province { name } } } } } }";
    let (statements, data) = app.count_statements(Some(&admin), page, json!({})).await;
    let nodes = data["members"]["nodes"].as_array().cloned().unwrap_or_default();
    assert!(nodes.len() > 3, "{data}");
    for member in &nodes {
        assert!(member["chapter"]["base"]["province"]["name"].is_string(), "{data}");
    }
    // Members of several chapters in several bases: the page, then the chapters joined with their bases and
    // provinces.
    let chapters: std::collections::HashSet<_> = nodes.iter().map(|m| m["chapter"]["name"].clone()).collect();
    assert!(chapters.len() > 1, "{data}");
    assert_eq!(statements, 2);
    // The same for a search, and a member's own `base` is its chapter's.
    let search = "query($b: ID!) { members(filter: { search: \"van\", baseId: $b }) { nodes { base { id } chapter { base { id } } } } }";
    let base = gid(NodeKind::Base, tree.bases["A1"]);
    let (statements, data) = app.count_statements(Some(&admin), search, json!({ "b": base })).await;
    let found = data["members"]["nodes"].as_array().cloned().unwrap_or_default();
    assert!(!found.is_empty(), "{data}");
    for member in found {
        assert_eq!(member["base"]["id"], base.as_str());
        assert_eq!(member["chapter"]["base"]["id"], base.as_str());
    }
    assert_eq!(statements, 2, "the ranked page with its count, then the units: {data}");
}

/// An award page whose nodes select none of the decision's texts reads them as placeholders; a page that selects
/// one (directly, in a fragment, through edges) reads them all, also beside a lean page in the same request.
#[tokio::test]
async fn an_award_page_reads_the_decisions_texts_only_when_its_nodes_select_them() {
    let app = TestApp::spawn().await;
    Tree::build(&app).await;
    let admin = app.admin();
    let texts = "recipientName grantingBody movement decisionNumber event citation revocationReason";
    let query = format!(
        "{{ lean: awards(orderBy: OLDEST_FIRST, filter: {{ includeRevoked: true }}) {{ totalCount nodes {{ id kind year
             recipient {{ __typename ... on Member {{ fullName }} ... on Base {{ name }} }} }} }}
           full: awards(orderBy: OLDEST_FIRST, filter: {{ includeRevoked: true }}) {{ nodes {{ id kind year {texts} }} }}
           fragment: awards(orderBy: OLDEST_FIRST, filter: {{ includeRevoked: true }}) {{ nodes {{ id ...T }} }}
           edges: awards(orderBy: OLDEST_FIRST, filter: {{ includeRevoked: true }}) {{ edges {{ node {{ id {texts} }} }} }} }}
         fragment T on Award {{ {texts} }}"
    );
    let data = app.data(Some(&admin), &query, json!({})).await;
    let list = |key: &str| data[key]["nodes"].as_array().cloned().unwrap_or_default();
    let (lean, full) = (list("lean"), list("full"));
    assert!(lean.len() >= 3, "{data}");
    assert_eq!(data["lean"]["totalCount"], lean.len(), "{data}");
    assert_eq!(lean.len(), full.len(), "{data}");
    for (l, f) in lean.iter().zip(&full) {
        assert_eq!((&l["id"], &l["kind"], &l["year"]), (&f["id"], &f["kind"], &f["year"]));
        assert!(l["recipient"]["__typename"].is_string(), "{l}");
        // The texts a lean page leaves out are there when asked for.
        for field in ["recipientName", "grantingBody", "movement", "decisionNumber"] {
            assert!(f[field].as_str().is_some_and(|t| !t.is_empty()), "{field}: {f}");
        }
    }
    let by_edges: Vec<Value> = data["edges"]["edges"]
        .as_array()
        .map(|edges| edges.iter().map(|e| e["node"].clone()).collect())
        .unwrap_or_default();
    let trimmed: Vec<Value> = full
        .iter()
        .map(|f| {
            let mut f = f.clone();
            if let Some(o) = f.as_object_mut() {
                o.remove("kind");
                o.remove("year");
            }
            f
        })
        .collect();
    assert_eq!(list("fragment"), trimmed, "the texts in a fragment");
    assert_eq!(by_edges, trimmed, "the texts through edges");
}

/// An award page whose member recipients select only fields the names' columns answer reads only those for
/// them (in the page's one statement on PostgreSQL); a selection of the same members that wants more (another
/// page, a fragment, `node`) in the same request gets whole members, never the names-only rows.
#[tokio::test]
async fn award_recipients_selecting_only_names_are_kept_apart_from_whole_members() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin = app.admin();
    let names = "{ awards(orderBy: OLDEST_FIRST) { nodes { id recipient { ... on Member { id familyName givenName
        fullName status chapter { name base { name } } } } } } }";
    let (statements, data) = app.count_statements(Some(&admin), names, json!({})).await;
    if app.is_postgres() {
        assert_eq!(statements, 1, "{data}");
    }
    let alone = data["awards"]["nodes"].as_array().cloned().unwrap_or_default();
    let member = |m: &Value| m["recipient"]["fullName"].is_string();
    assert_eq!(alone.iter().filter(|a| member(a)).count(), 2, "{data}");
    let truong = gid(NodeKind::Member, tree.members["Nguyễn Văn Trường"]);
    let query = "query($m: ID!) {
        names: awards(orderBy: OLDEST_FIRST) { nodes { id recipient { ... on Member { id fullName status chapter { name } } } } }
        whole: awards(orderBy: OLDEST_FIRST) { nodes { id recipient { ... on Member { id fullName ...Contact } } } }
        node(id: $m) { ... on Member { id phone cardNumber } } }
      fragment Contact on Member { phone address cardNumber birthYear }";
    let data = app.data(Some(&admin), query, json!({ "m": truong })).await;
    let list = |key: &str| data[key]["nodes"].as_array().cloned().unwrap_or_default();
    let (named, whole) = (list("names"), list("whole"));
    assert_eq!(named.len(), alone.len(), "{data}");
    assert_eq!(whole.len(), alone.len(), "{data}");
    for ((n, w), a) in named.iter().zip(&whole).zip(&alone) {
        assert_eq!((&n["id"], &w["id"]), (&a["id"], &a["id"]), "{data}");
        if !member(a) {
            continue;
        }
        assert_eq!(n["recipient"]["fullName"], a["recipient"]["fullName"], "{data}");
        assert_eq!(w["recipient"]["fullName"], a["recipient"]["fullName"], "{data}");
        assert_eq!(n["recipient"]["status"], "ACTIVE", "{data}");
        assert!(n["recipient"]["chapter"]["name"].is_string(), "{data}");
        let contact = &w["recipient"];
        assert!(
            contact["phone"].as_str().is_some_and(|p| p.starts_with("09000000")),
            "{contact}"
        );
        assert_eq!(contact["address"], "Tổ 1, khu 2", "{contact}");
        assert!(
            contact["cardNumber"].as_str().is_some_and(|c| c.starts_with("CARD-")),
            "{contact}"
        );
        assert!(contact["birthYear"].as_i64().is_some(), "{contact}");
    }
    assert!(
        data["node"]["phone"]
            .as_str()
            .is_some_and(|p| p.starts_with("09000000")),
        "{data}"
    );
    assert!(
        data["node"]["cardNumber"]
            .as_str()
            .is_some_and(|c| c.starts_with("CARD-")),
        "{data}"
    );
    // One selection asking for a name and, in a fragment, a phone reads the whole member for both.
    let mixed = "{ awards(orderBy: OLDEST_FIRST) { nodes { recipient { ... on Member { fullName ...P } } } } }
      fragment P on Member { phone }";
    let data = app.data(Some(&admin), mixed, json!({})).await;
    let phones: Vec<Value> = list_of(&data["awards"]["nodes"])
        .into_iter()
        .filter(|a| member(a))
        .map(|a| a["recipient"]["phone"].clone())
        .collect();
    assert_eq!(phones.len(), 2, "{data}");
    assert!(
        phones
            .iter()
            .all(|p| p.as_str().is_some_and(|p| p.starts_with("09000000"))),
        "{data}"
    );
}

fn list_of(value: &Value) -> Vec<Value> {
    value.as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_page_selecting_only_names_answers_them_and_is_kept_apart_from_a_full_page_of_the_same_list() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin = app.admin();
    let chapter = gid(NodeKind::Chapter, tree.chapters["A1a"]);
    // The same list twice in one request: once for names only, once with the fields a names page leaves out.
    let query = "query($id: ID!) { node(id: $id) { ... on Chapter {
        names: members(first: 10, orderBy: ID) { nodes { id fullName status chapter { name } } }
        full: members(first: 10, orderBy: ID) { edges { node { id fullName phone address cardNumber birthYear } } } } } }";
    let data = app.data(Some(&admin), query, json!({ "id": chapter })).await;
    let names = data["node"]["names"]["nodes"].as_array().cloned().unwrap_or_default();
    let full: Vec<Value> = data["node"]["full"]["edges"]
        .as_array()
        .map(|edges| edges.iter().map(|e| e["node"].clone()).collect())
        .unwrap_or_default();
    assert!(!names.is_empty(), "{data}");
    assert_eq!(names.len(), full.len(), "{data}");
    for (n, f) in names.iter().zip(&full) {
        assert_eq!(n["id"], f["id"]);
        assert_eq!(n["fullName"], f["fullName"]);
        assert_eq!(n["status"], "ACTIVE");
        assert_eq!(n["chapter"]["name"], "Chi hội Khu 1");
        assert!(f["phone"].as_str().is_some_and(|p| p.starts_with("09000000")), "{f}");
        assert_eq!(f["address"], "Tổ 1, khu 2");
        assert!(f["cardNumber"].as_str().is_some_and(|c| c.starts_with("CARD-")), "{f}");
        assert!(f["birthYear"].as_i64().is_some(), "{f}");
    }
    // A page of names alone, its fields in a fragment, answers the same names.
    let data = app
        .data(
            Some(&admin),
            "query($id: ID!) { node(id: $id) { ... on Chapter { members(first: 10, orderBy: ID) { nodes { ...N } } } } }
             fragment N on Member { id familyName givenName }",
            json!({ "id": chapter }),
        )
        .await;
    let again = data["node"]["members"]["nodes"].as_array().cloned().unwrap_or_default();
    assert_eq!(again.len(), names.len(), "{data}");
    for (a, n) in again.iter().zip(&names) {
        assert_eq!(a["id"], n["id"]);
        let full_name = n["fullName"].as_str().unwrap_or_default();
        assert!(
            full_name.starts_with(a["familyName"].as_str().unwrap_or("?")),
            "{a} {n}"
        );
        assert!(full_name.ends_with(a["givenName"].as_str().unwrap_or("?")), "{a} {n}");
    }
    // A field outside the names (phone) inside a fragment makes the page read every column.
    let data = app
        .data(
            Some(&admin),
            "query($id: ID!) { node(id: $id) { ... on Chapter { members(first: 10, orderBy: ID) { nodes { id ...P } } } } }
             fragment P on Member { phone }",
            json!({ "id": chapter }),
        )
        .await;
    let phones = data["node"]["members"]["nodes"].as_array().cloned().unwrap_or_default();
    assert!(
        phones
            .iter()
            .all(|m| m["phone"].as_str().is_some_and(|p| p.starts_with("09000000"))),
        "{data}"
    );
}

/// A page whose nodes select only the record's leaves reads fewer columns still (the id, names, roster key,
/// enumerations and version): it answers them exactly as a page of whole members, its cursors in roster order
/// walk the same members, and in one request it is kept apart from the names' page and the whole page of the
/// same list (each would answer wrongly from the other's rows: a chapter link from a row without its chapter).
#[tokio::test]
async fn a_page_selecting_only_leaves_answers_as_a_whole_page_and_pages_by_its_cursors() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin = app.admin();
    let chapter = gid(NodeKind::Chapter, tree.chapters["A1a"]);
    const LEAVES: &str = "__typename id familyName middleName givenName fullName sex memberType status version";
    let query = format!(
        "query($id: ID!) {{ node(id: $id) {{ ... on Chapter {{
           leaves: members(first: 10, orderBy: NAME) {{ nodes {{ {LEAVES} }} }}
           names: members(first: 10, orderBy: NAME) {{ nodes {{ {LEAVES} chapter {{ name }} }} }}
           whole: members(first: 10, orderBy: NAME) {{ nodes {{ {LEAVES} phone birthYear }} }} }} }} }}"
    );
    let data = app.data(Some(&admin), &query, json!({ "id": chapter })).await;
    let list = |alias: &str| data["node"][alias]["nodes"].as_array().cloned().unwrap_or_default();
    let (leaves, names, whole) = (list("leaves"), list("names"), list("whole"));
    assert!(leaves.len() >= 3, "{data}");
    assert_eq!(leaves.len(), names.len(), "{data}");
    assert_eq!(leaves.len(), whole.len(), "{data}");
    for ((l, n), w) in leaves.iter().zip(&names).zip(&whole) {
        for field in LEAVES.split(' ') {
            assert_eq!(l[field], w[field], "{field}: {l} {w}");
            assert_eq!(l[field], n[field], "{field}: {l} {n}");
        }
        assert_eq!(l["__typename"], "Member");
        assert_eq!(l["version"], 1);
        assert_eq!(n["chapter"]["name"], "Chi hội Khu 1", "{n}");
        assert!(w["phone"].as_str().is_some_and(|p| p.starts_with("09000000")), "{w}");
    }
    // Two at a time by the leaves' cursors (roster order's key is among their columns): the same members in the
    // same order, through edges and their cursors.
    let mut walked = Vec::new();
    let mut after = Value::Null;
    for _ in 0..leaves.len() {
        let data = app
            .data(
                Some(&admin),
                "query($id: ID!, $after: String) { node(id: $id) { ... on Chapter {
                   members(first: 2, after: $after, orderBy: NAME) {
                     edges { cursor node { id fullName } } pageInfo { hasNextPage endCursor } } } } }",
                json!({ "id": chapter, "after": after }),
            )
            .await;
        let page = &data["node"]["members"];
        for edge in page["edges"].as_array().cloned().unwrap_or_default() {
            assert!(edge["cursor"].as_str().is_some_and(|c| !c.is_empty()), "{edge}");
            walked.push(edge["node"].clone());
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    let expected: Vec<Value> = leaves
        .iter()
        .map(|m| json!({ "id": m["id"], "fullName": m["fullName"] }))
        .collect();
    assert_eq!(walked, expected);
}

/// Chapters' first active members by id: the right rows on both databases, and on PostgreSQL a plan that reads
/// each chapter's page from one range of an index, in order, instead of every member of the chapter sorted
/// (migration 000013). The plan is the generic one of the statement the server prepared for the request, taken
/// with sequential scans, bitmap scans and sorts priced out so the fixture's few rows cannot decide it: what is
/// left is whether an index hands a chapter's active members over in id order.
#[tokio::test]
async fn a_chapters_members_by_id_come_from_one_index_range() {
    let app = TestApp::spawn_with(|c| c.db.pool_size = Some(1)).await;
    let tree = Tree::build(&app).await;
    let left = tree.member("Trần Thị Dung");
    sea_orm::ConnectionTrait::execute_unprepared(
        app.db(),
        &format!("UPDATE members SET status = 'DECEASED' WHERE id = {left}"),
    )
    .await
    .expect("member marked deceased");
    let query = "query($base: ID!) { node(id: $base) { ... on Base { chapters(first: 10, orderBy: CODE) { nodes {
                   code members(first: 2, orderBy: ID) { totalCount nodes { id fullName } } } } } } }";
    let data = app
        .data(
            Some(&app.admin()),
            query,
            json!({ "base": gid(NodeKind::Base, tree.bases["A1"]) }),
        )
        .await;
    let chapters = data["node"]["chapters"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let page = |code: &str| {
        let chapter = chapters
            .iter()
            .find(|c| c["code"].as_str().is_some_and(|c| c.ends_with(code)))
            .unwrap_or_else(|| panic!("chapter {code} in {data}"));
        let names: Vec<&str> = chapter["members"]["nodes"]
            .as_array()
            .map(|n| n.iter().filter_map(|m| m["fullName"].as_str()).collect())
            .unwrap_or_default();
        (chapter["members"]["totalCount"].as_i64(), names)
    };
    // A1a's members in the order they were admitted; Trần Thị Dung (the second) has died.
    assert_eq!(page("A1a"), (Some(4), vec!["Nguyễn Văn Trường", "Lê Văn Đức"]));
    assert_eq!(page("A1b"), (Some(2), vec!["Vũ Văn Bình", "Đặng Thị Hoà"]));
    if !app.is_postgres() {
        return;
    }
    use sea_orm::{ConnectionTrait, TransactionTrait};
    // One connection in the pool: the server's prepared statements are this session's.
    let txn = app.db().begin().await.expect("transaction");
    let prepared = txn
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT statement, CAST(parameter_types AS TEXT[]) AS types FROM pg_prepared_statements \
             WHERE statement LIKE '%AS parent__%FROM members t%ORDER BY t.id%'",
        ))
        .await
        .expect("prepared statements read")
        .expect("the members page per chapter was prepared");
    let statement: String = prepared.try_get("", "statement").expect("statement");
    let types: Vec<String> = prepared.try_get("", "types").expect("types");
    for setting in [
        "SET LOCAL plan_cache_mode = force_generic_plan",
        "SET LOCAL enable_seqscan = off",
        "SET LOCAL enable_bitmapscan = off",
        "SET LOCAL enable_sort = off",
    ] {
        txn.execute_unprepared(setting).await.expect(setting);
    }
    txn.execute_unprepared(&format!("PREPARE page_by_id ({}) AS {statement}", types.join(", ")))
        .await
        .expect("statement prepared again");
    let nulls = vec!["NULL"; types.len()].join(", ");
    let plan: Vec<String> = txn
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!("EXPLAIN EXECUTE page_by_id({nulls})"),
        ))
        .await
        .expect("plan")
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).expect("plan line"))
        .collect();
    txn.execute_unprepared("DEALLOCATE page_by_id")
        .await
        .expect("deallocated");
    txn.rollback().await.expect("rolled back");
    let plan = plan.join("\n");
    assert!(!plan.contains("Sort"), "the page needs no sort:\n{plan}");
    assert!(
        plan.contains("Index Scan using ix_members_chapter_stats"),
        "the page reads the chapter's range of its index:\n{plan}"
    );
}

/// A page's nodes that select only fields of the member's own record, or those and the member's chapter and
/// base, are built without async-graphql's field-by-field resolution (`src/graphql/connection.rs`, `Nodes`;
/// `src/graphql/direct.rs`); they must answer byte for byte what that resolution answers. A named fragment
/// around one field sends the same selection through it (a directive would not: async-graphql applies `@include`
/// and `@skip` before resolving, and a field kept is then a plain field).
#[tokio::test]
async fn nodes_of_plain_fields_answer_exactly_as_resolved_field_by_field() {
    let app = TestApp::spawn().await;
    Tree::build(&app).await;
    let admin = app.admin();
    let leaves = "__typename id fullName familyName middleName givenName sex memberType status version";
    let shapes = [
        "{ members(first: 40, orderBy: NAME) { totalCount nodes { LEAVES again: givenName } } }",
        "{ bases(first: 3) { nodes { name chapters(first: 5) { nodes { code \
         members(first: 4, orderBy: ID) { nodes { givenName LEAVES } } } } } } }",
        "{ members(first: 40, orderBy: ID) { nodes { LEAVES ... on Member { st: status }
         chapter { __typename id code name base { name kind category province { id name } } }
         base { code province { code } } } } }",
    ];
    for shape in shapes {
        let fast = shape.replace("LEAVES", leaves);
        let per_field = format!(
            "{} fragment I on Member {{ id }}",
            shape.replace("LEAVES", &leaves.replacen(" id ", " ...I ", 1))
        );
        let (fast, per_field) = (app.text(&admin, &fast).await, app.text(&admin, &per_field).await);
        assert!(fast.contains("\"familyName\""), "{fast}");
        assert!(!fast.contains("\"errors\""), "{fast}");
        assert_eq!(fast, per_field);
    }
}

/// Award nodes with their recipients, built straight from the request's cache (`src/graphql/direct.rs`),
/// answer byte for byte what the same nodes resolved field by field answer (a named fragment forces that), for
/// every recipient type, the units above a member, an alias, `__typename`, and for an official whose scope
/// leaves some member recipients `null`.
#[tokio::test]
async fn award_nodes_built_from_the_cache_answer_exactly_as_resolved_field_by_field() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin = app.admin();
    let leader = app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["A1a"]));
    // Awards to a chapter and to a province besides the fixture's base and members.
    let grant = "mutation($input: GrantAwardInput!) { grantAward(input: $input) { award { id } } }";
    let chapter = gid(NodeKind::Chapter, tree.chapters["A1b"]);
    let province = gid(NodeKind::Province, tree.provinces["QN"]);
    for (recipient, number) in [(chapter, "31/QĐ-CCB"), (province, "32/QĐ-CCB")] {
        let input = json!({ "kind": "EMULATION_FLAG", "grantingLevel": "CENTRAL", "recipientId": recipient,
            "year": 2024, "movement": "CCB gương mẫu", "decisionNumber": number });
        let granted = app.data(Some(&admin), grant, json!({ "input": input })).await;
        assert!(granted["grantAward"]["award"]["id"].is_string(), "{granted}");
    }
    let fields = "__typename id KIND grantingLevel year recipientType recipientName revoked version
        who: recipient { __typename
          ... on Member { id fullName familyName middleName givenName sex memberType status version
            chapter { __typename id code name version base { id name kind category province { name } } }
            base { code name } }
          ... on Chapter { id name base { name } }
          ... on Base { id code name kind category province { id code name version } }
          ... on Province { name } }";
    let shapes = [
        "{ awards(orderBy: OLDEST_FIRST, filter: { includeRevoked: true }) { totalCount nodes { FIELDS } } }",
        "{ awards(orderBy: NEWEST_FIRST, first: 2) { nodes { FIELDS } } }",
    ];
    let mut answers = Vec::new();
    for token in [&admin, &leader] {
        for shape in shapes {
            let direct = shape.replace("FIELDS", fields).replace("KIND", "kind");
            let per_field = format!(
                "{} fragment K on Award {{ kind }}",
                shape.replace("FIELDS", fields).replace("KIND", "...K")
            );
            let (direct, per_field) = (app.text(token, &direct).await, app.text(token, &per_field).await);
            assert!(direct.contains("\"__typename\":\"Province\",\"name\""), "{direct}");
            assert!(direct.contains("\"__typename\":\"Chapter\",\"id\""), "{direct}");
            assert!(!direct.contains("\"errors\""), "{direct}");
            assert_eq!(direct, per_field);
            answers.push(direct);
        }
    }
    // Between them, the pages show member recipients with their units, and bases.
    let all = answers.concat();
    assert!(all.contains("\"fullName\""), "{all}");
    assert!(all.contains("\"category\""), "{all}");
    // The official sees the award to a member outside the chapter, without the member.
    let official = app
        .text(&leader, &shapes[0].replace("FIELDS", fields).replace("KIND", "kind"))
        .await;
    assert!(official.contains("\"who\":null"), "{official}");
}
