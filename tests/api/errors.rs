//! Bad input gets a clear error with a stable code and the field named, never a 500 or a panic.

use serde_json::json;

use crate::fixture::Tree;
use crate::helpers::TestApp;

#[tokio::test]
async fn bad_page_arguments_are_refused_with_the_argument_named() {
    let app = TestApp::spawn().await;
    Tree::build(&app).await;
    let admin = app.admin();
    let cases = [
        ("{ members(first: -1) { totalCount } }", "first"),
        ("{ members(first: 101) { totalCount } }", "first"),
        ("{ members(last: 1000) { totalCount } }", "last"),
        ("{ members(first: 1, last: 1) { totalCount } }", "last"),
        (r#"{ members(after: "bm9wZQ") { totalCount } }"#, "after"),
        (r#"{ members(before: "%%%") { totalCount } }"#, "before"),
        (
            r#"{ provinces { nodes { bases(first: 2, after: "garbage") { totalCount } } } }"#,
            "after",
        ),
        (r#"{ node(id: "not-an-id") { id } }"#, "id"),
        (
            r#"{ members(filter: { chapterId: "UHJvdmluY2U6MQ" }) { totalCount } }"#,
            "filter.chapterId",
        ),
        (
            "{ members(filter: { birthYearFrom: 1980, birthYearTo: 1970 }) { totalCount } }",
            "filter.birthYearTo",
        ),
        ("{ awards(filter: { year: 1200 }) { totalCount } }", "filter.year"),
    ];
    for (query, field) in cases {
        let (status, body) = app.post(Some(&admin), query, json!({})).await;
        assert_eq!(status, 200, "{query}: {body}");
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{query}: {body}");
        assert_eq!(error["extensions"]["field"], field, "{query}: {body}");
        assert!(
            error["message"].as_str().unwrap_or("").starts_with(field),
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn a_cursor_of_one_ordering_is_refused_by_another() {
    let app = TestApp::spawn().await;
    Tree::build(&app).await;
    let admin = app.admin();
    let data = app
        .data(
            Some(&admin),
            "{ members(first: 1, orderBy: ID) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let cursor = data["members"]["pageInfo"]["endCursor"].clone();
    let code = app
        .error_code(
            Some(&admin),
            "query($c: String) { members(first: 1, after: $c, orderBy: NAME) { totalCount } }",
            json!({ "c": cursor }),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
}

#[tokio::test]
async fn unknown_enum_values_and_malformed_documents_are_bad_user_input() {
    let app = TestApp::spawn().await;
    for query in [
        "{ members(orderBy: SHOE_SIZE) { totalCount } }",
        "{ members { nope } }",
        "{ members(",
        "{ awards(filter: { kind: MEDAL }) { totalCount } }",
    ] {
        let (status, body) = app.post(None, query, json!({})).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{query}: {body}"
        );
    }
    let resp = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .header("content-type", "application/json")
        .body("not json")
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status().as_u16(), 400);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_query_asking_for_too_much_is_refused_before_touching_the_database() {
    let app = TestApp::spawn().await;
    let query = "{ provinces(first: 100) { nodes { bases(first: 100) { nodes { chapters(first: 100) { nodes { members(first: 100) { nodes { fullName phone } } } } } } } } }";
    let before = app.statements().await;
    let (_, body) = app.post(Some(&app.admin()), query, json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{body}");
    assert_eq!(app.statements().await, before);
}

#[tokio::test]
async fn too_many_ids_in_nodes_is_refused() {
    let app = TestApp::spawn().await;
    let ids: Vec<String> = (1..=101)
        .map(|i| crate::helpers::gid(hoi_ccb::ids::NodeKind::Base, i))
        .collect();
    let (_, body) = app
        .post(
            None,
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": ids }),
        )
        .await;
    let code = body["errors"][0]["extensions"]["code"].as_str().unwrap_or("");
    assert!(code == "BAD_USER_INPUT" || code == "QUERY_TOO_COMPLEX", "{body}");
}

/// A document is validated strictly until one request with it passes, then later requests with it skip the
/// document-wide rules (`src/graphql/validated.rs`); their variables must still be refused exactly as before.
#[tokio::test]
async fn a_document_seen_before_still_has_its_variables_checked() {
    let app = TestApp::spawn().await;
    Tree::build(&app).await;
    let admin = app.admin();
    // A refusal without its request id, which differs per request.
    let refusal = |mut body: serde_json::Value| {
        for error in body["errors"].as_array_mut().into_iter().flatten() {
            if let Some(extensions) = error["extensions"].as_object_mut() {
                extensions.remove("requestId");
            }
        }
        body
    };
    let strict = "graphql_validations_total{mode=\"strict\"}";
    let fast = "graphql_validations_total{mode=\"fast\"}";
    let documents = [
        (
            "query($first: Int, $order: MemberOrder, $filter: MemberFilterInput) { \
             members(first: $first, orderBy: $order, filter: $filter) { totalCount } }",
            json!({ "first": 2, "order": "ID", "filter": { "birthYearFrom": 1940 } }),
            vec![
                json!({ "first": "five" }),
                json!({ "first": 2.5 }),
                json!({ "order": "SHOE_SIZE" }),
                json!({ "filter": { "shoeSize": 42 } }),
                json!({ "filter": { "birthYearFrom": "1950" } }),
            ],
        ),
        (
            // A nullable variable feeding a non-null argument with a default: allowed, but not as null.
            "query($order: AwardOrder) { awards(orderBy: $order, first: 1) { totalCount } }",
            json!({ "order": "OLDEST_FIRST" }),
            vec![json!({ "order": null }), json!({ "order": "SHOE_SIZE" })],
        ),
    ];
    for (query, good, bad) in documents {
        let mut refusals = Vec::new();
        for variables in &bad {
            let (status, body) = app.post(Some(&admin), query, variables.clone()).await;
            assert_eq!(status, 200, "{variables}: {body}");
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                "{variables}: {body}"
            );
            assert!(body["data"].is_null(), "{variables}: {body}");
            refusals.push(refusal(body));
        }

        let (strict_before, fast_before) = (app.metric(strict).await, app.metric(fast).await);
        let first = app.data(Some(&admin), query, good.clone()).await;
        let again = app.data(Some(&admin), query, good).await;
        assert_eq!(again, first);
        assert_eq!(
            app.metric(strict).await,
            strict_before + 1,
            "{query}: the first passing request is strict"
        );
        assert_eq!(
            app.metric(fast).await,
            fast_before + 1,
            "{query}: the document is not validated strictly again"
        );

        for (variables, expected) in bad.iter().zip(&refusals) {
            let (status, body) = app.post(Some(&admin), query, variables.clone()).await;
            assert_eq!(status, 200, "{variables}: {body}");
            assert_eq!(
                &refusal(body),
                expected,
                "{variables}: the same refusal as before the document was validated"
            );
        }
        assert_eq!(
            app.metric(fast).await,
            fast_before + 1,
            "{query}: bad variables go through strict validation"
        );
    }
}
