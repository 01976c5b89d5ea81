//! Authentication and role-scoped access: tokens that must be refused, login, and the role × resource matrix.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use hoi_ccb::auth::{Role, ScopeNode, accounts};
use hoi_ccb::ids::NodeKind;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::fixture::Tree;
use crate::helpers::{SECRET, TestApp, gid};

const MEMBERS_COUNT: &str = "{ members { totalCount } }";

fn claims(role: &str, scope_id: Option<String>) -> Value {
    let now = Utc::now().timestamp();
    let mut c = json!({ "sub": "idp|someone", "role": role, "iss": "hoi-ccb", "aud": "hoi-ccb-api", "iat": now, "exp": now + 600 });
    if let Some(s) = scope_id {
        c["scope_id"] = json!(s);
    }
    c
}

fn sign(claims: &Value, key: &[u8], alg: Algorithm) -> String {
    encode(&Header::new(alg), claims, &EncodingKey::from_secret(key)).expect("encode")
}

fn with(mut c: Value, key: &str, value: Value) -> Value {
    if value.is_null() {
        c.as_object_mut().map(|o| o.remove(key));
    } else {
        c[key] = value;
    }
    c
}

#[tokio::test]
async fn tokens_that_rfc_8725_says_to_refuse_never_get_data() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let key = SECRET.as_bytes();
    let now = Utc::now().timestamp();
    let admin = claims("ADMIN", None);
    let good = sign(&admin, key, Algorithm::HS256);
    assert_eq!(
        app.data(Some(&good), MEMBERS_COUNT, json!({})).await["members"]["totalCount"],
        12,
        "the control token works"
    );

    let province = gid(NodeKind::Province, tree.provinces["QN"]);
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(admin.to_string())
    );
    let tampered = {
        let parts: Vec<&str> = good.split('.').collect();
        let payload = with(admin.clone(), "sub", json!("idp|mallory")).to_string();
        format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(payload), parts[2])
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "wrong key",
            sign(&admin, b"another-secret-that-is-also-long-enough!!", Algorithm::HS256),
        ),
        ("alg none", alg_none),
        ("HS512 with the right key", sign(&admin, key, Algorithm::HS512)),
        ("tampered payload", tampered),
        (
            "expired beyond the leeway",
            sign(&with(admin.clone(), "exp", json!(now - 31)), key, Algorithm::HS256),
        ),
        (
            "not yet valid",
            sign(&with(admin.clone(), "nbf", json!(now + 120)), key, Algorithm::HS256),
        ),
        (
            "issued in the future",
            sign(&with(admin.clone(), "iat", json!(now + 3600)), key, Algorithm::HS256),
        ),
        (
            "wrong issuer",
            sign(
                &with(admin.clone(), "iss", json!("someone-else")),
                key,
                Algorithm::HS256,
            ),
        ),
        (
            "wrong audience",
            sign(&with(admin.clone(), "aud", json!("another-api")), key, Algorithm::HS256),
        ),
        (
            "no exp",
            sign(&with(admin.clone(), "exp", Value::Null), key, Algorithm::HS256),
        ),
        (
            "no iat",
            sign(&with(admin.clone(), "iat", Value::Null), key, Algorithm::HS256),
        ),
        (
            "no iss",
            sign(&with(admin.clone(), "iss", Value::Null), key, Algorithm::HS256),
        ),
        (
            "no aud",
            sign(&with(admin.clone(), "aud", Value::Null), key, Algorithm::HS256),
        ),
        (
            "no sub",
            sign(&with(admin.clone(), "sub", Value::Null), key, Algorithm::HS256),
        ),
        ("unknown role", sign(&claims("SUPERUSER", None), key, Algorithm::HS256)),
        (
            "admin with a scope",
            sign(&claims("ADMIN", Some(province.clone())), key, Algorithm::HS256),
        ),
        (
            "official without a scope",
            sign(&claims("PROVINCE_OFFICIAL", None), key, Algorithm::HS256),
        ),
        (
            "scope of the wrong kind",
            sign(&claims("BASE_OFFICIAL", Some(province.clone())), key, Algorithm::HS256),
        ),
        (
            "scope that is no id",
            sign(
                &claims("CHAPTER_LEADER", Some("chapter-1".into())),
                key,
                Algorithm::HS256,
            ),
        ),
        ("garbage", "not.a.token".into()),
    ];
    for (what, token) in cases {
        let (status, body) = app.post(Some(&token), MEMBERS_COUNT, json!({})).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{what}: {body}"
        );
        assert!(body["data"].is_null(), "{what}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or("").to_lowercase();
        assert!(
            !message.contains("hs256") && !message.contains("signature") && !message.contains("key"),
            "{what}: {message}"
        );
    }
    // Within the leeway an expired token still works: clocks drift.
    let skewed = sign(&with(admin.clone(), "exp", json!(now - 10)), key, Algorithm::HS256);
    assert_eq!(app.post(Some(&skewed), MEMBERS_COUNT, json!({})).await.0, 200);
    // A malformed Authorization header is refused too, not treated as anonymous.
    let resp = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .header("authorization", "Basic abc")
        .json(&json!({ "query": MEMBERS_COUNT }))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status().as_u16(), 401);
}

const LOGIN: &str =
    "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token expiresAt role displayName } }";

#[tokio::test]
async fn a_local_account_logs_in_and_sees_its_subtree() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    accounts::create(
        app.db(),
        "Cb.DongTrieu",
        "mat-khau-manh",
        Role::BaseOfficial,
        ScopeNode::Base(tree.bases["A1"]),
        "Cán bộ Đông Triều",
    )
    .await
    .expect("account");
    let data = app
        .data(None, LOGIN, json!({ "u": "cb.dongtrieu", "p": "mat-khau-manh" }))
        .await;
    assert_eq!(data["login"]["role"], "BASE_OFFICIAL");
    let token = data["login"]["token"].as_str().expect("token").to_owned();
    let me = app
        .data(
            Some(&token),
            "{ me { authenticated role scope { ... on Base { name } } } members { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(me["me"]["role"], "BASE_OFFICIAL");
    assert_eq!(me["me"]["scope"]["name"], "Phường Đông Triều");
    assert_eq!(me["members"]["totalCount"], 7);
    let anonymous = app.data(None, "{ me { authenticated role } }", json!({})).await;
    assert_eq!(anonymous["me"], json!({ "authenticated": false, "role": null }));
}

#[tokio::test]
async fn wrong_credentials_answer_alike_and_repeated_failures_lock_the_account() {
    let app = TestApp::spawn().await;
    accounts::create(
        app.db(),
        "admin2",
        "correct-horse",
        Role::Admin,
        ScopeNode::Everything,
        "Admin",
    )
    .await
    .expect("account");
    let unknown = app
        .error_code(None, LOGIN, json!({ "u": "nobody", "p": "whatever-pass" }))
        .await;
    let wrong = app
        .error_code(None, LOGIN, json!({ "u": "admin2", "p": "wrong-password" }))
        .await;
    assert_eq!(
        (unknown.as_str(), wrong.as_str()),
        ("UNAUTHENTICATED", "UNAUTHENTICATED")
    );
    for _ in 0..(accounts::MAX_FAILED_LOGINS - 1) {
        app.error_code(None, LOGIN, json!({ "u": "admin2", "p": "wrong-password" }))
            .await;
    }
    let (_, body) = app
        .post(None, LOGIN, json!({ "u": "admin2", "p": "correct-horse" }))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{body}");
    assert!(
        body["errors"][0]["extensions"]["retryAfterSeconds"]
            .as_i64()
            .unwrap_or(0)
            > 0
    );
    let long = "x".repeat(accounts::MAX_PASSWORD_LEN + 1);
    assert_eq!(
        app.error_code(None, LOGIN, json!({ "u": "admin2", "p": long })).await,
        "BAD_USER_INPUT"
    );
}

#[tokio::test]
async fn a_disabled_accounts_tokens_are_refused_from_the_next_request_on() {
    let app = TestApp::spawn().await;
    let account = accounts::create(
        app.db(),
        "leader",
        "leader-password",
        Role::Admin,
        ScopeNode::Everything,
        "Leader",
    )
    .await
    .expect("account");
    let data = app
        .data(None, LOGIN, json!({ "u": "leader", "p": "leader-password" }))
        .await;
    let token = data["login"]["token"].as_str().expect("token").to_owned();
    assert_eq!(app.post(Some(&token), MEMBERS_COUNT, json!({})).await.0, 200);
    accounts::set_disabled(app.db(), account.id, true)
        .await
        .expect("disable");
    let (status, body) = app.post(Some(&token), MEMBERS_COUNT, json!({})).await;
    assert_eq!(
        (status, body["errors"][0]["extensions"]["code"].clone()),
        (401, json!("UNAUTHENTICATED"))
    );
    assert_eq!(
        app.error_code(None, LOGIN, json!({ "u": "leader", "p": "leader-password" }))
            .await,
        "UNAUTHENTICATED"
    );
}

/// The viewers of the matrix, in column order.
const VIEWERS: [&str; 6] = [
    "anonymous",
    "admin",
    "province QN",
    "base A1",
    "chapter A1a",
    "member Trường",
];

fn tokens(app: &TestApp, tree: &Tree) -> Vec<Option<String>> {
    vec![
        None,
        Some(app.token(Role::Admin, ScopeNode::Everything)),
        Some(app.token(Role::ProvinceOfficial, ScopeNode::Province(tree.provinces["QN"]))),
        Some(app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A1"]))),
        Some(app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["A1a"]))),
        Some(app.token(Role::Member, ScopeNode::Member(tree.member("Nguyễn Văn Trường")))),
    ]
}

/// Reads a value at a `/`-separated path (array indexes allowed).
fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('/').fold(v, |v, key| match key.parse::<usize>() {
        Ok(i) => &v[i],
        Err(_) => &v[key],
    })
}

#[tokio::test]
async fn every_role_sees_exactly_its_subtree_on_every_root_field_and_edge() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let tokens = tokens(&app, &tree);
    let truong = gid(NodeKind::Member, tree.member("Nguyễn Văn Trường"));
    let dung = gid(NodeKind::Member, tree.member("Trần Thị Dung")); // same chapter A1a
    let binh = gid(NodeKind::Member, tree.member("Vũ Văn Bình")); // base A1, chapter A1b
    let hoa = gid(NodeKind::Member, tree.member("Bùi Văn Hòa")); // province QN, base A2
    let trung = gid(NodeKind::Member, tree.member("Lý Văn Trung")); // province HP
    let a2a = gid(NodeKind::Chapter, tree.chapters["A2a"]);
    let a1 = gid(NodeKind::Base, tree.bases["A1"]);
    let qn = gid(NodeKind::Province, tree.provinces["QN"]);
    let merit_trung = gid(NodeKind::Award, tree.awards["merit-trung"]);
    let vars = json!({ "truong": truong, "dung": dung, "binh": binh, "hoa": hoa, "trung": trung, "a2a": a2a, "a1": a1, "qn": qn, "award": merit_trung, "ids": [dung, hoa, trung], "transfer": gid(NodeKind::Transfer, tree.transfer) });
    let y = json!(true);
    let n = Value::Null;
    // (what, query, path in data, expected per viewer in VIEWERS order)
    let matrix: Vec<(&str, &str, &str, [Value; 6])> = vec![
        (
            "Query.members totalCount",
            "{ members { totalCount } }",
            "members/totalCount",
            [json!(0), json!(12), json!(10), json!(7), json!(5), json!(5)],
        ),
        (
            "Query.members search",
            r#"{ members(filter: { search: "nguyen" }) { totalCount } }"#,
            "members/totalCount",
            [json!(0), json!(2), json!(1), json!(1), json!(1), json!(1)],
        ),
        (
            "Query.members nodes page",
            "{ members(first: 1, filter: { chapterId: null }) { nodes { id } } }",
            "members/nodes/0/id",
            [n.clone(), y.clone(), y.clone(), y.clone(), y.clone(), y.clone()],
        ),
        (
            "node: member of the same chapter",
            "query($dung: ID!) { node(id: $dung) { id } }",
            "node/id",
            [n.clone(), y.clone(), y.clone(), y.clone(), y.clone(), y.clone()],
        ),
        (
            "node: member of another chapter of the base",
            "query($binh: ID!) { node(id: $binh) { id } }",
            "node/id",
            [n.clone(), y.clone(), y.clone(), y.clone(), n.clone(), n.clone()],
        ),
        (
            "node: member of another base",
            "query($hoa: ID!) { node(id: $hoa) { id } }",
            "node/id",
            [n.clone(), y.clone(), y.clone(), n.clone(), n.clone(), n.clone()],
        ),
        (
            "node: member of another province",
            "query($trung: ID!) { node(id: $trung) { id } }",
            "node/id",
            [n.clone(), y.clone(), n.clone(), n.clone(), n.clone(), n.clone()],
        ),
        (
            "nodes: ids in and out of scope",
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            "nodes/2/id",
            [n.clone(), y.clone(), n.clone(), n.clone(), n.clone(), n.clone()],
        ),
        (
            "personal data: own phone",
            "query($truong: ID!) { node(id: $truong) { ... on Member { phone } } }",
            "node/phone",
            [n.clone(), y.clone(), y.clone(), y.clone(), y.clone(), y.clone()],
        ),
        (
            "personal data: a chapter mate's phone",
            "query($dung: ID!) { node(id: $dung) { ... on Member { phone } } }",
            "node/phone",
            [n.clone(), y.clone(), y.clone(), y.clone(), y.clone(), n.clone()],
        ),
        (
            "personal data: a chapter mate's card",
            "query($dung: ID!) { node(id: $dung) { ... on Member { cardNumber birthYear address warInvalidStatus } } }",
            "node/cardNumber",
            [n.clone(), y.clone(), y.clone(), y.clone(), y.clone(), n.clone()],
        ),
        (
            "edge Chapter.members down",
            "query($a2a: ID!) { node(id: $a2a) { ... on Chapter { members { totalCount } } } }",
            "node/members/totalCount",
            [json!(0), json!(2), json!(2), json!(0), json!(0), json!(0)],
        ),
        (
            "edge Base.members down",
            "query($a1: ID!) { node(id: $a1) { ... on Base { members { totalCount } } } }",
            "node/members/totalCount",
            [json!(0), json!(7), json!(7), json!(7), json!(5), json!(5)],
        ),
        (
            "edge up and down again",
            "query($truong: ID!) { node(id: $truong) { ... on Member { chapter { base { province { bases { totalCount nodes { members { totalCount } } } } } } } } }",
            "node/chapter/base/province/bases/totalCount",
            [n.clone(), json!(3), json!(3), json!(3), json!(3), json!(3)],
        ),
        (
            "the public tree: units",
            "{ provinces { totalCount } bases { totalCount } chapters { totalCount } }",
            "chapters/totalCount",
            [json!(5), json!(5), json!(5), json!(5), json!(5), json!(5)],
        ),
        (
            "the public tree: counts",
            "query($qn: ID!) { node(id: $qn) { ... on Province { stats { memberCount } } } }",
            "node/stats/memberCount",
            [json!(10), json!(10), json!(10), json!(10), json!(10), json!(10)],
        ),
        (
            "the public award roll",
            "{ awards { totalCount } }",
            "awards/totalCount",
            [json!(3), json!(3), json!(3), json!(3), json!(3), json!(3)],
        ),
        (
            "award roll names recipients",
            "query($award: ID!) { node(id: $award) { ... on Award { recipientName } } }",
            "node/recipientName",
            [
                json!("Lý Văn Trung"),
                json!("Lý Văn Trung"),
                json!("Lý Văn Trung"),
                json!("Lý Văn Trung"),
                json!("Lý Văn Trung"),
                json!("Lý Văn Trung"),
            ],
        ),
        (
            "award recipient member record",
            "query($award: ID!) { node(id: $award) { ... on Award { recipient { ... on Member { id } } } } }",
            "node/recipient/id",
            [n.clone(), y.clone(), n.clone(), n.clone(), n.clone(), n.clone()],
        ),
        (
            "Member.awards through scope",
            "query($truong: ID!) { node(id: $truong) { ... on Member { awards { totalCount } } } }",
            "node/awards/totalCount",
            [n.clone(), json!(1), json!(1), json!(1), json!(1), json!(1)],
        ),
        (
            "me.member",
            "{ me { member { fullName } } }",
            "me/member/fullName",
            [
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone(),
                n.clone(),
                json!("Nguyễn Văn Trường"),
            ],
        ),
    ];
    let mut failures = Vec::new();
    for (what, query, path, expected) in &matrix {
        for (i, token) in tokens.iter().enumerate() {
            let data = app.data(token.as_deref(), query, vars.clone()).await;
            let got = at(&data, path);
            let ok = if expected[i] == json!(true) {
                !got.is_null()
            } else {
                *got == expected[i]
            };
            if !ok {
                failures.push(format!("{what} as {}: expected {}, got {got}", VIEWERS[i], expected[i]));
            }
        }
    }
    assert!(failures.is_empty(), "scope violations:\n{}", failures.join("\n"));
}

#[tokio::test]
async fn batching_still_costs_one_statement_per_level_with_a_scope_in_force() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let official = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A1"]));
    let query = "{ provinces { nodes { bases(first: 10) { nodes { chapters(first: 10) { totalCount nodes { members(first: 10) { totalCount nodes { fullName phone } } } } } } } } }";
    let (statements, data) = app.count_statements(Some(&official), query, json!({})).await;
    assert_eq!(statements, 4, "provinces, bases, chapters, members: {data}");
    let totals: Vec<i64> = data["provinces"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["bases"]["nodes"].as_array().cloned().unwrap_or_default())
        .flat_map(|b| b["chapters"]["nodes"].as_array().cloned().unwrap_or_default())
        .map(|c| c["members"]["totalCount"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(
        totals.iter().sum::<i64>(),
        7,
        "only base A1's members are counted: {totals:?}"
    );
}

const CREATE_ACCOUNT: &str = "mutation($input: CreateAccountInput!) { createAccount(input: $input) { account { id username role disabled scope { ... on Base { name } } } } }";

#[tokio::test]
async fn admins_manage_accounts_and_nobody_else_can() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin_account = accounts::create(
        app.db(),
        "root",
        "root-password",
        Role::Admin,
        ScopeNode::Everything,
        "Root",
    )
    .await
    .expect("admin");
    let admin = app
        .data(None, LOGIN, json!({ "u": "root", "p": "root-password" }))
        .await["login"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let a1 = gid(NodeKind::Base, tree.bases["A1"]);
    let input = json!({ "username": "cb.a1", "password": "a1-password", "role": "BASE_OFFICIAL", "scopeId": a1, "displayName": "Cán bộ A1" });
    let province = app.token(Role::ProvinceOfficial, ScopeNode::Province(tree.provinces["QN"]));
    assert_eq!(
        app.error_code(Some(&province), CREATE_ACCOUNT, json!({ "input": input }))
            .await,
        "FORBIDDEN"
    );
    let created = app.data(Some(&admin), CREATE_ACCOUNT, json!({ "input": input })).await;
    assert_eq!(
        created["createAccount"]["account"]["scope"]["name"],
        "Phường Đông Triều"
    );
    assert_eq!(
        app.error_code(Some(&admin), CREATE_ACCOUNT, json!({ "input": input }))
            .await,
        "CONFLICT"
    );
    let mut wrong_scope = input.clone();
    wrong_scope["username"] = json!("cb.other");
    wrong_scope["scopeId"] = json!(gid(NodeKind::Province, tree.provinces["QN"]));
    let (_, body) = app
        .post(Some(&admin), CREATE_ACCOUNT, json!({ "input": wrong_scope }))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "input.scopeId", "{body}");

    // The new account works, changes its password, and stops working once disabled.
    let token = app.data(None, LOGIN, json!({ "u": "cb.a1", "p": "a1-password" })).await["login"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let change =
        "mutation($c: String!, $n: String!) { changePassword(input: { currentPassword: $c, newPassword: $n }) }";
    let (_, wrong) = app
        .post(
            Some(&token),
            change,
            json!({ "c": "nope-nope", "n": "new-a1-password" }),
        )
        .await;
    assert_eq!(
        wrong["errors"][0]["extensions"]["field"], "input.currentPassword",
        "{wrong}"
    );
    assert_eq!(
        app.data(
            Some(&token),
            change,
            json!({ "c": "a1-password", "n": "new-a1-password" })
        )
        .await["changePassword"],
        true
    );
    app.data(None, LOGIN, json!({ "u": "cb.a1", "p": "new-a1-password" }))
        .await;
    let id = created["createAccount"]["account"]["id"].clone();
    let disable =
        "mutation($id: ID!) { setAccountDisabled(input: { id: $id, disabled: true }) { account { disabled } } }";
    assert_eq!(
        app.data(Some(&admin), disable, json!({ "id": id })).await["setAccountDisabled"]["account"]["disabled"],
        true
    );
    assert_eq!(app.post(Some(&token), MEMBERS_COUNT, json!({})).await.0, 401);
    let own = app
        .error_code(
            Some(&admin),
            disable,
            json!({ "id": gid(NodeKind::Account, admin_account.id) }),
        )
        .await;
    assert_eq!(own, "BAD_USER_INPUT", "an admin cannot lock themselves out");
    let listed = app
        .data(
            Some(&admin),
            "{ accounts { username role disabled } accountCount }",
            json!({}),
        )
        .await;
    assert_eq!(listed["accountCount"], 2);
    assert_eq!(
        app.error_code(Some(&province), "{ accounts { username } }", json!({}))
            .await,
        "FORBIDDEN"
    );
}

#[tokio::test]
async fn the_embedded_demo_has_one_working_account_per_role() {
    let app = TestApp::spawn_embedded().await;
    let expected = [
        ("admin", "ADMIN", 55_694),
        ("quangninh", "PROVINCE_OFFICIAL", 55_694),
        ("honggai", "BASE_OFFICIAL", -1),
        ("khu1", "CHAPTER_LEADER", -1),
        ("hoivien", "MEMBER", -1),
    ];
    let mut previous = i64::MAX;
    for ((username, password, ..), (name, role, members)) in accounts::DEMO_ACCOUNTS.iter().zip(expected) {
        assert_eq!(*username, name);
        let login = app.data(None, LOGIN, json!({ "u": username, "p": password })).await;
        assert_eq!(login["login"]["role"], role);
        let token = login["login"]["token"].as_str().expect("token").to_owned();
        let seen = app
            .data(Some(&token), "{ me { role } members { totalCount } }", json!({}))
            .await;
        let count = seen["members"]["totalCount"].as_i64().unwrap_or(-2);
        if members >= 0 {
            assert_eq!(count, members, "{username}");
        } else {
            assert!(
                count > 0 && count <= previous,
                "{username} sees a smaller part of the tree: {count}"
            );
        }
        previous = count;
    }
}
