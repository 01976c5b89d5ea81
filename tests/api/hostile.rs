//! Hostile input and injected faults: each case asserts the answer and that nothing was executed, lost,
//! changed or leaked.

use hoi_ccb::graphql::limits::Limits;
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// Small limits, so each case can sit exactly at a limit and one past it.
fn small_limits() -> Limits {
    Limits {
        max_tokens: 100,
        max_aliases: 3,
        max_root_fields: 4,
        max_directives: 3,
        max_depth: 5,
        max_cost: 43,
        ..Limits::default()
    }
}

async fn spawn_small() -> TestApp {
    TestApp::spawn_configured(|c| c.limits = small_limits()).await
}

/// Asserts a refusal with `code`, its numbers, and that no SQL statement was sent for it.
async fn assert_refused(app: &TestApp, query: &str, code: &str, limit: u64, measured: u64) {
    let before = app.statements().await;
    let (status, body) = app.post(Some(&app.admin()), query, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], Value::Null, "nothing executes: {body}");
    let ext = &body["errors"][0]["extensions"];
    assert_eq!(ext["code"], code, "{body}");
    assert_eq!(ext["limit"], limit, "{body}");
    assert_eq!(ext["measured"], measured, "{body}");
    assert_eq!(app.statements().await, before, "a refused document sends no SQL");
}

async fn assert_accepted(app: &TestApp, query: &str) {
    app.data(Some(&app.admin()), query, json!({})).await;
}

#[tokio::test]
async fn a_document_at_the_token_limit_runs_and_one_token_more_is_refused() {
    let app = TestApp::spawn_configured(|c| {
        c.limits = Limits {
            max_cost: 1000,
            ..small_limits()
        }
    })
    .await;
    // `{ provinces ( first : 1 ) { nodes {` is 10 tokens and `} } }` 3 more: 87 ids make 100.
    let at = format!("{{ provinces(first: 1) {{ nodes {{ {} }} }} }}", "id ".repeat(87));
    assert_eq!(hoi_ccb::graphql::limits::count_tokens(&at, 1000), 100);
    assert_accepted(&app, &at).await;
    let past = format!("{{ provinces(first: 1) {{ nodes {{ {} }} }} }}", "id ".repeat(88));
    assert_refused(&app, &past, "TOO_MANY_TOKENS", 100, 101).await;
}

#[tokio::test]
async fn aliases_at_the_limit_run_and_one_more_is_refused() {
    let app = spawn_small().await;
    assert_accepted(&app, "{ a: __typename b: __typename c: __typename }").await;
    assert_refused(
        &app,
        "{ a: __typename b: __typename c: __typename d: __typename }",
        "TOO_MANY_ALIASES",
        3,
        4,
    )
    .await;
    let (_, metrics) = app.get("/metrics").await;
    assert!(
        metrics.contains("graphql_limit_refusals_total{code=\"TOO_MANY_ALIASES\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("graphql_errors_total{code=\"TOO_MANY_ALIASES\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn aliases_inside_fragments_count_at_every_spread() {
    let app = spawn_small().await;
    let query = "{ provinces(first: 1) { nodes { ...A ...A } } } fragment A on Province { x: name y: name }";
    assert_refused(&app, query, "TOO_MANY_ALIASES", 3, 4).await;
}

#[tokio::test]
async fn root_fields_at_the_limit_run_and_one_more_is_refused() {
    let app = spawn_small().await;
    assert_accepted(
        &app,
        "{ __typename provinces(first: 1) { totalCount } bases(first: 1) { totalCount } me { __typename } }",
    )
    .await;
    assert_refused(
        &app,
        "{ __typename provinces(first: 1) { totalCount } bases(first: 1) { totalCount } me { __typename } ...R } fragment R on Query { chapters(first: 1) { totalCount } }",
        "TOO_MANY_ROOT_FIELDS",
        4,
        5,
    )
    .await;
}

#[tokio::test]
async fn directives_at_the_limit_run_and_one_more_is_refused() {
    let app = spawn_small().await;
    let at =
        "{ provinces(first: 1) { nodes { name @include(if: true) id @skip(if: false) code @include(if: true) } } }";
    assert_accepted(&app, at).await;
    let past = "{ provinces(first: 1) { nodes { name @include(if: true) id @skip(if: false) code @include(if: true) ... on Province @include(if: true) { id } } } }";
    assert_refused(&app, past, "TOO_MANY_DIRECTIVES", 3, 4).await;
}

#[tokio::test]
async fn depth_at_the_limit_runs_and_one_level_more_is_refused() {
    let app = spawn_small().await;
    // bases, nodes, province, bases, totalCount: five levels.
    assert_accepted(
        &app,
        "{ bases(first: 1) { nodes { province { bases(first: 1) { totalCount } } } } }",
    )
    .await;
    assert_refused(
        &app,
        "{ bases(first: 1) { nodes { province { bases(first: 1) { nodes { id } } } } } }",
        "QUERY_TOO_DEEP",
        5,
        6,
    )
    .await;
}

#[tokio::test]
async fn depth_counts_through_fragments() {
    let app = spawn_small().await;
    let query =
        "{ bases(first: 1) { nodes { ...B } } } fragment B on Base { province { bases(first: 1) { nodes { id } } } }";
    assert_refused(&app, query, "QUERY_TOO_DEEP", 5, 6).await;
}

#[tokio::test]
async fn cost_multiplies_by_the_page_size_and_is_refused_one_past_the_limit() {
    let app = spawn_small().await;
    // provinces: 1 + first × (nodes 1 + id 1): first 21 costs 43, first 22 costs 45.
    assert_accepted(&app, "{ provinces(first: 21) { nodes { id } } }").await;
    assert_refused(
        &app,
        "{ provinces(first: 22) { nodes { id } } }",
        "QUERY_TOO_COMPLEX",
        43,
        45,
    )
    .await;
    // The same numbers when the page size comes in a variable.
    let (_, body) = app
        .post(
            Some(&app.admin()),
            "query($n: Int) { provinces(first: $n) { nodes { id } } }",
            json!({ "n": 22 }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["measured"], 45, "{body}");
}

#[tokio::test]
async fn cost_counts_fragments_as_expanded() {
    let app = spawn_small().await;
    // Each spread of F adds 1 + 10 × 2 = 21: two spreads cost 42, three 63.
    assert_accepted(
        &app,
        "{ ...F ...F } fragment F on Query { provinces(first: 10) { nodes { id } } }",
    )
    .await;
    let query = "{ ...F ...G } fragment F on Query { provinces(first: 10) { nodes { id } } } \
                 fragment G on Query { ...F ...F }";
    assert_refused(&app, query, "QUERY_TOO_COMPLEX", 43, 63).await;
}

#[tokio::test]
async fn nested_fragment_spreads_are_measured_without_blowing_up() {
    let app = TestApp::spawn().await;
    // Each fragment spreads the one below it twice: 2^20 expansions, measured in a moment and refused.
    let mut query = String::from("{ ...F0 }");
    for i in 0..20 {
        query.push_str(&format!(" fragment F{i} on Query {{ ...F{} ...F{} }}", i + 1, i + 1));
    }
    query.push_str(" fragment F20 on Query { __typename }");
    let started = std::time::Instant::now();
    let (_, body) = app.post(None, &query, json!({})).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "TOO_MANY_ROOT_FIELDS",
        "{body}"
    );
    assert_eq!(body["errors"][0]["extensions"]["measured"], 1u64 << 20, "{body}");
}

#[tokio::test]
async fn a_document_nested_past_any_real_query_or_spreading_itself_is_refused_unwalked() {
    // Nesting is checked right after parsing, before the probes, the limits' measures and validation walk the
    // document once per level; a generous token limit lets the text through.
    let app = TestApp::spawn_configured(|c| c.limits.max_tokens = 100_000).await;
    // 40 levels parse and are refused by the nesting check; 300 are refused by the parser itself.
    let nested = |levels: usize| format!("{{{} id{}", " viewer {".repeat(levels), " }".repeat(levels + 1));
    let (deep, deeper) = (nested(40), nested(300));
    let cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
    for query in [deep.as_str(), deeper.as_str(), cycle] {
        let before = app.statements().await;
        let (status, body) = app.post(Some(&app.admin()), query, json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"], Value::Null, "nothing executes: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("recursion"), "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
        assert_eq!(app.statements().await, before, "a refused document sends no SQL");
    }
    // The server goes on answering.
    assert_accepted(&app, "{ provinces(first: 1) { nodes { id } } }").await;
}

#[tokio::test]
async fn a_refused_mutation_changes_nothing() {
    let app = TestApp::spawn_configured(|c| {
        c.limits = Limits {
            max_tokens: 1000,
            ..small_limits()
        }
    })
    .await;
    hoi_ccb::demo::seed(app.db()).await.expect("demo seeds");
    let count = "{ bases(first: 1) { totalCount } }";
    let before = app.data(Some(&app.admin()), count, json!({})).await;
    let province = crate::helpers::gid(hoi_ccb::ids::NodeKind::Province, 1);
    let mut mutation = String::from("mutation {");
    for (i, alias) in ["a", "b", "c", "d"].iter().enumerate() {
        mutation.push_str(&format!(
            r#" {alias}: createBase(input: {{ provinceId: "{province}", code: "X-{i}", name: "X {i}", kind: WARD }}) {{ base {{ id }} }}"#
        ));
    }
    mutation.push_str(" }");
    let (_, body) = app.post(Some(&app.admin()), &mutation, json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "TOO_MANY_ALIASES", "{body}");
    assert_eq!(app.data(Some(&app.admin()), count, json!({})).await, before);
}

#[tokio::test]
async fn a_tree_page_without_page_sizes_is_costed_by_the_real_number_of_units() {
    let app = TestApp::spawn_with_demo().await;
    // At the default page size everywhere this would cost over 300 000; the demo has one province, so it runs.
    let query = "{ provinces { nodes { name bases { nodes { name chapters { nodes { name members { nodes { fullName } } } } } } } } }";
    let data = app.data(Some(&app.admin()), query, json!({})).await;
    assert_eq!(data["provinces"]["nodes"].as_array().map(Vec::len), Some(1));
    // Pages the client asks for explicitly are costed as asked.
    let explicit = "{ provinces(first: 20) { nodes { name bases(first: 20) { nodes { name chapters(first: 20) { nodes { name members(first: 20) { nodes { fullName } } } } } } } } }";
    let (_, body) = app.post(Some(&app.admin()), explicit, json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{body}");
}

#[tokio::test]
async fn introspection_and_suggestions_are_off_outside_the_demo() {
    let app = TestApp::spawn().await;
    for query in [
        "{ __schema { types { name } } }",
        "{ ...I } fragment I on Query { __type(name: \"Member\") { name } }",
    ] {
        let (_, body) = app.post(None, query, json!({})).await;
        assert_eq!(body["data"], Value::Null, "{body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "INTROSPECTION_DISABLED",
            "{body}"
        );
    }
    // `__typename` is not introspection: clients need it for unions.
    assert_eq!(app.data(None, "{ __typename }", json!({})).await["__typename"], "Query");
    let (_, body) = app.post(None, "{ provincez { totalCount } }", json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(!message.contains("Did you mean"), "{body}");
    assert!(
        !body.to_string().contains("\"provinces\""),
        "no field names leak: {body}"
    );
}

#[tokio::test]
async fn introspection_and_suggestions_can_be_turned_on_by_setting() {
    let app = TestApp::spawn_configured(|c| {
        c.limits.introspection = true;
        c.limits.suggestions = true;
    })
    .await;
    let data = app.data(None, "{ __schema { queryType { name } } }", json!({})).await;
    assert_eq!(data["__schema"]["queryType"]["name"], "Query");
    let (_, body) = app.post(None, "{ provincez { totalCount } }", json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("Did you mean"), "{body}");
}

const LOGIN: &str = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }";

async fn create_admin(app: &TestApp, username: &str, password: &str) {
    hoi_ccb::auth::accounts::create(
        app.db(),
        username,
        password,
        hoi_ccb::auth::Role::Admin,
        hoi_ccb::auth::ScopeNode::Everything,
        "Admin",
    )
    .await
    .expect("account");
}

/// The answers to `attempts` wrong passwords for `username`, one after another, then one more.
async fn lockout_answers(app: &TestApp, username: &str) -> Vec<Value> {
    let mut answers = Vec::new();
    for _ in 0..=hoi_ccb::auth::accounts::MAX_FAILED_LOGINS {
        let (status, body) = app
            .post(None, LOGIN, json!({ "u": username, "p": "wrong-password" }))
            .await;
        let mut ext = body["errors"][0]["extensions"].clone();
        // The seconds left differ by when the lock was taken, not by whether the account exists.
        if ext.get("retryAfterSeconds").is_some() {
            ext["retryAfterSeconds"] = json!("some");
        }
        // Every answer has its own request id, known account or not.
        if let Some(map) = ext.as_object_mut() {
            map.remove("requestId");
        }
        let message = if ext["code"] == "RATE_LIMITED" {
            json!("try again later")
        } else {
            body["errors"][0]["message"].clone()
        };
        answers.push(json!({ "status": status, "message": message, "extensions": ext }));
    }
    answers
}

#[tokio::test]
async fn the_lockout_answers_the_same_for_unknown_and_known_usernames() {
    let app = TestApp::spawn().await;
    create_admin(&app, "real-admin", "correct-horse-battery").await;
    let known = lockout_answers(&app, "real-admin").await;
    let unknown = lockout_answers(&app, "no-such-user").await;
    assert_eq!(known, unknown);
    let last = &known[known.len() - 1];
    assert_eq!(last["extensions"]["code"], "RATE_LIMITED", "{last}");
    assert_eq!(known[0]["extensions"]["code"], "UNAUTHENTICATED");
    // The lock holds even for the right password, and lifts for nobody else.
    let (_, body) = app
        .post(None, LOGIN, json!({ "u": "real-admin", "p": "correct-horse-battery" }))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{body}");
}

#[tokio::test]
async fn parallel_guesses_cannot_slip_past_the_failure_count() {
    let app = TestApp::spawn().await;
    create_admin(&app, "target", "correct-horse-battery").await;
    let guesses = (0..20).map(|i| {
        let app = &app;
        async move {
            let (_, body) = app
                .post(None, LOGIN, json!({ "u": "target", "p": format!("guess-{i}") }))
                .await;
            body["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }
    });
    let codes = futures_join_all(guesses).await;
    let checked = codes.iter().filter(|c| *c == "UNAUTHENTICATED").count();
    let limited = codes.iter().filter(|c| *c == "RATE_LIMITED").count();
    assert_eq!(checked + limited, 20, "{codes:?}");
    assert!(
        checked <= hoi_ccb::auth::accounts::MAX_FAILED_LOGINS as usize,
        "only {} passwords may be tried: {codes:?}",
        hoi_ccb::auth::accounts::MAX_FAILED_LOGINS
    );
    let (_, body) = app
        .post(None, LOGIN, json!({ "u": "target", "p": "correct-horse-battery" }))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{body}");
}

#[tokio::test]
async fn a_burst_of_logins_does_not_stall_other_requests() {
    let app = TestApp::spawn().await;
    create_admin(&app, "busy", "correct-horse-battery").await;
    let started = std::time::Instant::now();
    let logins = (0..8).map(|i| {
        let app = &app;
        async move {
            app.post(
                None,
                LOGIN,
                json!({ "u": format!("user-{i}"), "p": "whatever-password" }),
            )
            .await;
            started.elapsed()
        }
    });
    let light = async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        app.data(None, "{ __typename }", json!({})).await;
        started.elapsed()
    };
    let (login_times, light_time) = tokio::join!(futures_join_all(logins), light);
    let last_login = login_times.into_iter().max().unwrap_or_default();
    assert!(
        light_time < last_login,
        "a light request ({light_time:?}) waited for the password hashes ({last_login:?})"
    );
}

/// Runs futures concurrently on this task and collects their outputs in order.
async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (slot, fut) in out.iter_mut().zip(pending.iter_mut()) {
            if slot.is_none() {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

#[tokio::test]
async fn an_exhausted_pool_answers_a_retryable_error_without_internal_text_and_recovers() {
    let app = TestApp::spawn_configured(|c| {
        c.db.pool_size = Some(1);
        c.db.pool_timeout = std::time::Duration::from_millis(300);
    })
    .await;
    let query = "{ provinces(first: 1) { totalCount } }";
    let held = sea_orm::TransactionTrait::begin(app.db())
        .await
        .expect("holds the only connection");
    let (_, body) = app.post(Some(&app.admin()), query, json!({})).await;
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "SERVICE_UNAVAILABLE", "{body}");
    assert_eq!(error["extensions"]["retryable"], true, "{body}");
    let text = body.to_string().to_lowercase();
    for internal in ["pool", "timed out", "sqlx", "connection"] {
        assert!(!text.contains(internal), "internal detail {internal:?} leaked: {body}");
    }
    // What an operator alerts on: the pool at its max, and the refusals counted by code.
    let (_, metrics) = app.get("/metrics").await;
    for line in [
        "db_pool_connections{state=\"in_use\"} 1",
        "db_pool_connections{state=\"max\"} 1",
        "db_pool_connections{state=\"idle\"} 0",
        "graphql_errors_total{code=\"SERVICE_UNAVAILABLE\"} 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "no {line:?} in:\n{metrics}");
    }
    drop(held);
    let data = app.data(Some(&app.admin()), query, json!({})).await;
    assert_eq!(data["provinces"]["totalCount"], 0);
}

#[tokio::test]
async fn a_binary_older_than_the_database_schema_refuses_to_start() {
    let app = TestApp::spawn().await;
    let future = "m29991231_000001_from_a_newer_release";
    let sql = format!("INSERT INTO seaql_migrations (version, applied_at) VALUES ('{future}', 0)");
    sea_orm::ConnectionTrait::execute_unprepared(app.db(), &sql)
        .await
        .expect("marks a newer migration");
    let config = (*app.state.services.config).clone();
    let Err(err) = hoi_ccb::server::prepare(config).await else {
        panic!("started against a newer schema");
    };
    let message = err.to_string();
    assert!(
        message.contains("newer than this binary") && message.contains(future),
        "{message}"
    );
}

#[tokio::test]
async fn an_unreachable_database_at_start_fails_clearly_without_the_password() {
    let config = hoi_ccb::config::Config::for_database(
        hoi_ccb::config::Database::Url("postgres://registry:s3cret-pw@127.0.0.1:1/registry".into()),
        hoi_ccb::config::Secret::new(crate::helpers::SECRET.as_bytes().to_vec()).expect("secret"),
    );
    let Err(err) = hoi_ccb::server::prepare(config).await else {
        panic!("started without a database");
    };
    let message = err.to_string();
    assert!(
        message.contains("cannot connect to the database at postgres://registry:***@127.0.0.1:1"),
        "{message}"
    );
    assert!(!message.contains("s3cret-pw"), "{message}");
}

#[tokio::test]
async fn constraint_violations_are_told_apart_by_the_constraints_name() {
    let app = TestApp::spawn().await;
    let db = app.db();
    let province = "INSERT INTO provinces (code, name, name_search, sort_key, created_at) \
                    VALUES ('QN', 'Quảng Ninh', 'quang ninh', 'quang ninh', '2024-01-01T00:00:00Z')";
    let province = if app.is_postgres() {
        province.replace("'2024-01-01T00:00:00Z'", "TIMESTAMPTZ '2024-01-01T00:00:00Z'")
    } else {
        province.to_owned()
    };
    sea_orm::ConnectionTrait::execute_unprepared(db, &province)
        .await
        .expect("first province");
    let err = sea_orm::ConnectionTrait::execute_unprepared(db, &province)
        .await
        .expect_err("duplicate code");
    let mapped = hoi_ccb::error::constraint_error(&err).expect("a constraint violation");
    assert_eq!(
        (mapped.code(), mapped.message()),
        ("CONFLICT", "a unit with this code exists".to_owned())
    );
    create_admin(&app, "twice", "correct-horse-battery").await;
    let again = hoi_ccb::auth::accounts::create(
        db,
        "twice",
        "correct-horse-battery",
        hoi_ccb::auth::Role::Admin,
        hoi_ccb::auth::ScopeNode::Everything,
        "Admin",
    )
    .await
    .expect_err("duplicate username");
    assert_eq!(again.message(), "an account with this username exists");
}

#[tokio::test]
async fn a_backup_taken_during_writes_restores_to_a_consistent_server() {
    let app = TestApp::spawn_with_demo().await;
    if app.is_postgres() {
        // PostgreSQL is backed up with its own tools; the command refuses it.
        let dest = std::env::temp_dir().join("hoi-ccb-never-written.sqlite3");
        let refused = hoi_ccb::backup::backup(&app.state.services.config.database, &dest).await;
        assert!(refused.is_err() && !dest.exists());
        return;
    }
    let admin = app.admin();
    let province = crate::helpers::gid(hoi_ccb::ids::NodeKind::Province, 1);
    let create = "mutation($input: CreateBaseInput!) { createBase(input: $input) { base { id } } }";
    let writes = async {
        let mut acknowledged = 0;
        for i in 0..30 {
            let input = json!({ "input": { "provinceId": province, "code": format!("BK-{i}"), "name": format!("Backup {i}"), "kind": "WARD" } });
            app.data(Some(&admin), create, input).await;
            acknowledged += 1;
        }
        acknowledged
    };
    let dest = std::env::temp_dir().join(format!("hoi-ccb-backup-{}.sqlite3", std::process::id()));
    let _ = std::fs::remove_file(&dest);
    let backup = async {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        hoi_ccb::backup::backup(&app.state.services.config.database, &dest).await
    };
    let (acknowledged, backed_up) = tokio::join!(writes, backup);
    backed_up.expect("backup while writing");
    assert_eq!(acknowledged, 30);
    assert!(
        hoi_ccb::backup::backup(&app.state.services.config.database, &dest)
            .await
            .is_err(),
        "never overwrites"
    );

    // The drill: serve the copy and read it back through the API.
    let config = hoi_ccb::config::Config::for_database(
        hoi_ccb::config::Database::Url(format!("sqlite://{}?mode=rw", dest.display())),
        hoi_ccb::config::Secret::new(crate::helpers::SECRET.as_bytes().to_vec()).expect("secret"),
    );
    let state = hoi_ccb::server::prepare(config).await.expect("the copy serves");
    let check = sea_orm::ConnectionTrait::query_one_raw(
        &state.db,
        sea_orm::Statement::from_string(sea_orm::DbBackend::Sqlite, "PRAGMA integrity_check"),
    )
    .await
    .expect("integrity check")
    .and_then(|r| r.try_get_by_index::<String>(0).ok());
    assert_eq!(check.as_deref(), Some("ok"));
    // Every base the copy holds has its audit event and the other way round: no half-committed write.
    let pairs = sea_orm::ConnectionTrait::query_one_raw(
        &state.db,
        sea_orm::Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "SELECT (SELECT COUNT(*) FROM bases WHERE code LIKE 'BK-%'), \
             (SELECT COUNT(*) FROM audit_events WHERE action = 'CREATE_BASE')",
        ),
    )
    .await
    .expect("counts")
    .expect("a row");
    let bases: i64 = pairs.try_get_by_index(0).expect("bases");
    let events: i64 = pairs.try_get_by_index(1).expect("events");
    assert_eq!(bases, events);
    let restored = hoi_ccb::server::spawn(state, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    let body: Value = reqwest::Client::new()
        .post(format!("http://{}/graphql", restored.addr))
        .bearer_auth(&admin)
        .json(&json!({ "query": "{ provinces(first: 1) { totalCount } }" }))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(body["data"]["provinces"]["totalCount"], 1, "{body}");
    restored.handle.abort();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", dest.display()));
    }
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_and_never_hold_passwords_tokens_or_variables() {
    use std::io::BufRead;
    let dir = std::env::temp_dir().join(format!("hoi-ccb-logs-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hoi-ccb"))
        .arg("serve")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/db.sqlite3?mode=rwc", dir.display()),
        )
        .env("JWT_SECRET", crate::helpers::SECRET)
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "debug,sqlx=warn,hyper=warn")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stderr = child.stderr.take().expect("stderr piped");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let addr = loop {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the server logs that it serves");
        let parsed: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        lines.push(line);
        if let Some(addr) = parsed["addr"].as_str() {
            break addr.to_owned();
        }
    };
    let client = reqwest::Client::new();
    let secret_password = "hunter2-very-secret";
    let phone = "0912345678";
    for (query, variables) in [
        (LOGIN, json!({ "u": "someone", "p": secret_password })),
        (
            "query($s: String) { members(filter: { search: $s }) { totalCount } }",
            json!({ "s": phone }),
        ),
    ] {
        client
            .post(format!("http://{addr}/graphql"))
            .bearer_auth("not.a.valid-token-value")
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("sent");
    }
    // A named operation by the anonymous public: its access line names it, the role and the request id.
    let answered = client
        .post(format!("http://{addr}/graphql"))
        .json(&json!({
            "query": "query ProvinceCount { provinces { totalCount } }",
            "operationName": "ProvinceCount",
        }))
        .send()
        .await
        .expect("sent");
    assert_eq!(answered.status(), 200);
    let request_id = answered
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("a request id")
        .to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let _ = child.kill();
    let _ = child.wait();
    while let Ok(line) = rx.recv_timeout(std::time::Duration::from_millis(500)) {
        lines.push(line);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let access: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["message"] == "request answered")
        .collect();
    assert_eq!(access.len(), 3, "one access line per GraphQL request: {access:?}");
    let named = access
        .iter()
        .find(|v| v["request_id"] == request_id.as_str())
        .unwrap_or_else(|| panic!("no access line for request {request_id}: {access:?}"));
    assert_eq!(named["operation"], "ProvinceCount", "{named}");
    assert_eq!(named["role"], "ANONYMOUS", "{named}");
    assert_eq!(named["status"], 200, "{named}");
    assert_eq!(named["route"], "/graphql", "{named}");
    assert!(named["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{named}");
    // The bad token is refused before any viewer exists: those two lines carry no role.
    assert_eq!(access.iter().filter(|v| v["role"] == "-").count(), 2, "{access:?}");
    for line in &lines {
        assert!(serde_json::from_str::<Value>(line).is_ok(), "not JSON: {line}");
        for secret in [
            secret_password,
            phone,
            "not.a.valid-token-value",
            crate::helpers::SECRET,
        ] {
            assert!(!line.contains(secret), "{secret:?} leaked into the log: {line}");
        }
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Tries to update a member whose row another transaction holds locked (on SQLite: the database's write lock);
/// the answer and how long it took.
async fn write_behind_a_lock(app: &TestApp) -> (Value, std::time::Duration, i64) {
    use sea_orm::{ConnectionTrait, SqliteTransactionMode, TransactionOptions, TransactionTrait};
    let tree = crate::fixture::Tree::build(app).await;
    let id = tree.member("Lê Văn Đức");
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    let holder = app.db().begin_with_options(options).await.expect("a holder");
    holder
        .execute_unprepared(&format!("UPDATE members SET version = version WHERE id = {id}"))
        .await
        .expect("the row is locked");
    let started = std::time::Instant::now();
    let (_, body) = app
        .post(
            Some(&app.admin()),
            "mutation($input: UpdateMemberInput!) { updateMember(input: $input) { member { version } } }",
            json!({ "input": { "id": crate::helpers::gid(hoi_ccb::ids::NodeKind::Member, id),
                               "expectedVersion": 1, "phone": "0987654321" } }),
        )
        .await;
    let took = started.elapsed();
    holder.rollback().await.expect("released");
    (body, took, id)
}

fn assert_retryable_without_detail(body: &Value) {
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "SERVICE_UNAVAILABLE", "{body}");
    assert_eq!(error["extensions"]["retryable"], true, "{body}");
    let text = body.to_string().to_lowercase();
    for internal in ["lock", "busy", "timeout", "cancel", "sql", "statement"] {
        assert!(!text.contains(internal), "internal detail {internal:?} leaked: {body}");
    }
}

#[tokio::test]
async fn a_write_stuck_behind_a_lock_gives_up_at_the_lock_timeout_retryably_and_changes_nothing() {
    // DB_LOCK_TIMEOUT_MS is PostgreSQL's lock_timeout and SQLite's busy_timeout.
    let app = TestApp::spawn_configured(|c| c.db.lock_timeout = std::time::Duration::from_millis(400)).await;
    let (body, took, id) = write_behind_a_lock(&app).await;
    assert_retryable_without_detail(&body);
    assert!(
        took < std::time::Duration::from_secs(4),
        "waited {took:?} for a 400 ms lock timeout"
    );
    // The refused write left nothing; the same write goes through once the lock is gone.
    let read = "query($id: ID!) { node(id: $id) { ... on Member { version history { totalCount } } } }";
    let gid = crate::helpers::gid(hoi_ccb::ids::NodeKind::Member, id);
    let before = app.data(Some(&app.admin()), read, json!({ "id": gid })).await;
    assert_eq!(before["node"]["version"], 1, "{before}");
    assert_eq!(before["node"]["history"]["totalCount"], 0, "{before}");
    let done = app
        .data(
            Some(&app.admin()),
            "mutation($input: UpdateMemberInput!) { updateMember(input: $input) { member { version } } }",
            json!({ "input": { "id": gid, "expectedVersion": 1, "phone": "0987654321" } }),
        )
        .await;
    assert_eq!(done["updateMember"]["member"]["version"], 2, "{done}");

    // PostgreSQL also cancels any statement past DB_STATEMENT_TIMEOUT_MS (SQLite has no such timeout: its only
    // wait is the busy timeout above). A lock wait is such a statement when the lock timeout is longer.
    if app.is_postgres() {
        let app = TestApp::spawn_configured(|c| {
            c.db.statement_timeout = std::time::Duration::from_millis(400);
            c.db.lock_timeout = std::time::Duration::from_secs(30);
        })
        .await;
        let (body, took, _) = write_behind_a_lock(&app).await;
        assert_retryable_without_detail(&body);
        assert!(
            took < std::time::Duration::from_secs(4),
            "waited {took:?} for a 400 ms statement timeout"
        );
    }
}
