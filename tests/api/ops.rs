//! Operational endpoints and commands: health, readiness, metrics, GraphiQL, the checked-in schema, migrations.

use migration::{Migrator, MigratorTrait};

use crate::helpers::TestApp;

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/healthz").await, (200, "ok".to_owned()));
    assert_eq!(app.get("/readyz").await.0, 200);
    let (status, metrics) = app.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(metrics.contains("db_statements_total"), "{metrics}");
    assert!(metrics.contains("http_requests_total"), "{metrics}");
}

#[tokio::test]
async fn graphiql_is_served_on_get() {
    let app = TestApp::spawn().await;
    // A browser asks for HTML; a GET without a query from anything else is a request error.
    let response = app
        .client
        .get(format!("{}/graphql", app.base_url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("GET");
    let status = response.status().as_u16();
    let html = response.text().await.unwrap_or_default();
    assert_eq!(status, 200);
    assert!(html.to_lowercase().contains("graphiql"), "{html}");
}

#[test]
fn checked_in_schema_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        on_disk == hoi_ccb::graphql::sdl(),
        "schema.graphql is stale: run `cargo run -- print-schema > schema.graphql`"
    );
}

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    let app = TestApp::spawn().await;
    // Schema changes go through one connection of their own, as the migrate command does.
    let db = &hoi_ccb::db::connect_maintenance(&app.state.services.config.database)
        .await
        .expect("connect");
    let applied = Migrator::get_applied_migrations(db).await.expect("status").len();
    assert_eq!(applied, Migrator::migrations().len());
    Migrator::down(db, None).await.expect("all the way down");
    assert!(Migrator::get_applied_migrations(db).await.expect("status").is_empty());
    Migrator::up(db, None).await.expect("up again");
    assert_eq!(
        Migrator::get_applied_migrations(db).await.expect("status").len(),
        applied
    );
    // The schema works after the round trip.
    crate::fixture::Tree::build(&app).await;
}

#[tokio::test]
async fn the_demo_data_is_the_same_every_time() {
    let first = TestApp::spawn_with_demo().await;
    let second = TestApp::spawn_with_demo().await;
    let query = "{ members(first: 100, orderBy: ID) { totalCount nodes { fullName birthYear cardNumber chapter { code name } } }
                   awards(first: 100, orderBy: OLDEST_FIRST) { totalCount nodes { kind decisionNumber recipientName } } }";
    let a = first.data(Some(&first.admin()), query, serde_json::json!({})).await;
    let b = second.data(Some(&second.admin()), query, serde_json::json!({})).await;
    assert_eq!(a, b);
    assert_eq!(a["members"]["nodes"].as_array().map(Vec::len), Some(100));
}

#[tokio::test]
async fn foreign_keys_are_enforced_on_every_database() {
    let app = TestApp::spawn().await;
    let sql = "INSERT INTO chapters (province_id, base_id, code, name, name_search, sort_key, created_at, version) \
               VALUES (999, 999, 'X', 'X', 'x', 'x', '2024-01-01T00:00:00Z', 1)";
    let result = sea_orm::ConnectionTrait::execute_unprepared(app.db(), sql).await;
    assert!(
        result.is_err(),
        "a chapter of a base that does not exist must be refused"
    );
}
