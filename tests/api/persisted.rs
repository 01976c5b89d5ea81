//! Persisted queries (Apollo APQ) through HTTP: lookup by hash over POST and GET, registration with a verified
//! hash, a store shared by instances on one database, and eviction of the least recently used at the bound.

use hoi_ccb::server::{self, persisted::sha256_hex};
use serde_json::{Value, json};

use crate::helpers::TestApp;

fn extensions(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// POSTs a request with the given body as the admin; returns the status and the JSON answer.
async fn post_body(app: &TestApp, base_url: &str, body: Value) -> (u16, Value) {
    let resp = app
        .client
        .post(format!("{base_url}/graphql"))
        .bearer_auth(app.admin())
        .json(&body)
        .send()
        .await
        .expect("request sent");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("JSON body"))
}

async fn post_hash_only(app: &TestApp, base_url: &str, hash: &str) -> (u16, Value) {
    post_body(app, base_url, json!({ "extensions": extensions(hash) })).await
}

async fn register(app: &TestApp, query: &str) -> String {
    let hash = sha256_hex(query);
    let (status, body) = post_body(
        app,
        &app.base_url,
        json!({ "query": query, "extensions": extensions(&hash) }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    hash
}

fn assert_not_found(status: u16, body: &Value) {
    assert_eq!(
        status, 200,
        "application/json answers 200 so Apollo's link retries: {body}"
    );
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND",
        "{body}"
    );
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound", "{body}");
}

#[tokio::test]
async fn an_unknown_hash_is_answered_persisted_query_not_found() {
    let app = TestApp::spawn().await;
    let (status, body) = post_hash_only(&app, &app.base_url, &sha256_hex("query Unknown { __typename }")).await;
    assert_not_found(status, &body);
}

#[tokio::test]
async fn a_registered_query_runs_by_its_hash_over_post_and_get() {
    let app = TestApp::spawn().await;
    let hash = register(&app, "query Apq { __typename }").await;

    let (status, body) = post_hash_only(&app, &app.base_url, &hash).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["__typename"], "Query", "{body}");

    let resp = app
        .client
        .get(format!("{}/graphql", app.base_url))
        .query(&[
            ("operationName", "Apq".to_owned()),
            ("extensions", extensions(&hash).to_string()),
        ])
        .bearer_auth(app.admin())
        .header("accept", "application/json")
        .send()
        .await
        .expect("GET sent");
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
}

#[tokio::test]
async fn a_hash_that_does_not_match_the_query_is_refused_and_not_stored() {
    let app = TestApp::spawn().await;
    let wrong = sha256_hex("query Other { __typename }");
    let (status, body) = post_body(
        &app,
        &app.base_url,
        json!({ "query": "query Mine { __typename }", "extensions": extensions(&wrong) }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "extensions.persistedQuery.sha256Hash",
        "{body}"
    );
    assert!(body.get("data").is_none(), "nothing ran: {body}");
    let (status, body) = post_hash_only(&app, &app.base_url, &wrong).await;
    assert_not_found(status, &body);
}

#[tokio::test]
async fn a_persisted_query_version_other_than_1_is_refused() {
    let app = TestApp::spawn().await;
    let hash = sha256_hex("query V { __typename }");
    let (status, body) = post_body(
        &app,
        &app.base_url,
        json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": hash } } }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "extensions.persistedQuery.version",
        "{body}"
    );
}

/// A second server on the same database (another instance behind the load balancer).
async fn second_instance(app: &TestApp) -> (server::AppState, String) {
    let config = (*app.state.services.config).clone();
    let state = server::prepare(config).await.expect("second instance prepares");
    let running = server::spawn(state, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind port 0");
    let url = format!("http://{}", running.addr);
    (running.state, url)
}

#[tokio::test]
async fn a_query_registered_on_one_instance_runs_by_hash_on_another() {
    let app = TestApp::spawn().await;
    let (_other, other_url) = second_instance(&app).await;
    let hash = register(&app, "query Shared { __typename }").await;
    let (status, body) = post_hash_only(&app, &other_url, &hash).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
}

#[tokio::test]
async fn registering_past_the_bound_evicts_the_least_recently_used() {
    let app = TestApp::spawn_with(|c| c.http.apq_max_documents = 2).await;
    // Another instance: it has not cached these documents, so it reads (and touches) the database.
    let (_other, other_url) = second_instance(&app).await;
    let first = register(&app, "query First { __typename }").await;
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    let second = register(&app, "query Second { __typename }").await;
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    // Using the first makes the second the least recently used.
    let (status, body) = post_hash_only(&app, &other_url, &first).await;
    assert_eq!(status, 200, "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    let third = register(&app, "query Third { __typename }").await;

    let (status, body) = post_hash_only(&app, &other_url, &second).await;
    assert_not_found(status, &body);
    for kept in [&first, &third] {
        let (status, body) = post_hash_only(&app, &other_url, kept).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["__typename"], "Query", "{body}");
    }
}

/// A manifest file in the temporary directory, unique to the test.
fn manifest_file(name: &str, content: &Value) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "hoi_manifest_{}_{name}_{}.json",
        std::process::id(),
        sha256_hex(&content.to_string())
    ));
    std::fs::write(&path, content.to_string()).expect("manifest written");
    path
}

const LISTED: &str = "query Listed { __typename }";

fn apollo_manifest() -> Value {
    json!({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [{ "id": sha256_hex(LISTED), "name": "Listed", "type": "query", "body": LISTED }]
    })
}

#[tokio::test]
async fn trusted_only_mode_refuses_an_unlisted_query_and_runs_a_listed_one() {
    let path = manifest_file("apollo", &apollo_manifest());
    let app = TestApp::spawn_with(|c| {
        c.http.trusted_documents_manifest = Some(path.clone());
        c.http.trusted_documents_only = true;
    })
    .await;

    let (status, body) = post_body(&app, &app.base_url, json!({ "query": "query Unlisted { __typename }" })).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_ALLOWED",
        "{body}"
    );
    assert!(body.get("data").is_none(), "nothing ran: {body}");

    // Registering a new document through APQ is refused too.
    let unlisted = "query Sneaky { __typename }";
    let (status, body) = post_body(
        &app,
        &app.base_url,
        json!({ "query": unlisted, "extensions": extensions(&sha256_hex(unlisted)) }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_ALLOWED",
        "{body}"
    );

    let (status, body) = post_body(&app, &app.base_url, json!({ "query": LISTED })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    let (status, body) = post_hash_only(&app, &app.base_url, &sha256_hex(LISTED)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
async fn a_graphql_codegen_manifest_serves_its_documents_by_hash() {
    let document = "query Codegen { __typename }";
    let path = manifest_file("codegen", &json!({ "abc123": document }));
    let app = TestApp::spawn_with(|c| c.http.trusted_documents_manifest = Some(path.clone())).await;
    let resp = app
        .client
        .get(format!("{}/graphql", app.base_url))
        .query(&[("documentId", "abc123")])
        .bearer_auth(app.admin())
        .header("accept", "application/json")
        .send()
        .await
        .expect("GET sent");
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
async fn a_bad_manifest_refuses_start_up_with_a_clear_message() {
    let app = TestApp::spawn().await;
    let path = manifest_file(
        "bad",
        &json!({ "format": "apollo-persisted-query-manifest", "version": 1 }),
    );
    let mut config = (*app.state.services.config).clone();
    config.http.trusted_documents_manifest = Some(path.clone());
    let err = match server::prepare(config).await {
        Ok(_) => panic!("a manifest without operations must refuse start-up"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("TRUSTED_DOCUMENTS_MANIFEST") && err.contains("operations"),
        "{err}"
    );

    let mut config = (*app.state.services.config).clone();
    config.http.trusted_documents_only = true;
    let err = match server::prepare(config).await {
        Ok(_) => panic!("trusted-only mode without a manifest must refuse start-up"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("TRUSTED_DOCUMENTS_MANIFEST"), "{err}");
    let _ = std::fs::remove_file(path);
}
