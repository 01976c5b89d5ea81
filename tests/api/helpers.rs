//! Test harness: spawn the app on a fresh database, send GraphQL over HTTP, mint tokens, count statements.

use std::sync::atomic::{AtomicU64, Ordering};

use hoi_ccb::auth::{Principal, Role, ScopeNode};
use hoi_ccb::config::{Config, Database, Secret};
use hoi_ccb::server::{self, AppState};
use serde_json::{Value, json};

pub const SECRET: &str = "test-secret-that-is-long-enough-for-hs256!!";

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub struct TestApp {
    pub base_url: String,
    pub state: AppState,
    pub client: reqwest::Client,
    pg_database: Option<(String, String)>,
    sqlite_file: Option<std::path::PathBuf>,
    data_dir: Option<std::path::PathBuf>,
}

fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("hoi_test_{}_{}_{}", std::process::id(), nanos % 1_000_000_000, n)
}

/// The server part of a PostgreSQL URL and the URL of a database `name` on it.
fn pg_urls(base: &str, name: &str) -> (String, String) {
    let (prefix, query) = match base.split_once('?') {
        Some((p, q)) => (p.to_owned(), format!("?{q}")),
        None => (base.to_owned(), String::new()),
    };
    let server = match prefix.rfind('/') {
        Some(i) if i > "postgres://".len() => prefix[..i].to_owned(),
        _ => prefix.clone(),
    };
    (format!("{server}/postgres{query}"), format!("{server}/{name}{query}"))
}

impl TestApp {
    /// The app on a fresh, migrated, empty database.
    pub async fn spawn() -> Self {
        Self::spawn_configured(|_| {}).await
    }

    /// The app on a fresh, migrated, empty database, with settings changed by `configure` first.
    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_configured(configure).await
    }

    /// The app on a fresh, migrated, empty database, with the test's changes to the configuration.
    pub async fn spawn_configured(configure: impl FnOnce(&mut Config)) -> Self {
        let name = unique_name();
        let mut sqlite_file = None;
        let (database, pg_database) = match std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            Some(base) => {
                let (admin, url) = pg_urls(&base, &name);
                let admin_db = sea_orm::Database::connect(&admin)
                    .await
                    .expect("TEST_DATABASE_URL server reachable");
                sea_orm::ConnectionTrait::execute_unprepared(&admin_db, &format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin_db.close().await.ok();
                (Database::Url(url), Some((admin, name)))
            }
            None => {
                let path = std::env::temp_dir().join(format!("{name}.sqlite3"));
                sqlite_file = Some(path.clone());
                (Database::Url(format!("sqlite://{}?mode=rwc", path.display())), None)
            }
        };
        let mut config = Config::for_database(database, Secret::new(SECRET.as_bytes().to_vec()).expect("long secret"));
        // The change reader is woken by every commit (in process, or by NOTIFY); its fallback poll would add
        // statements at random moments to the counts the tests assert, so tests poll rarely.
        config.realtime.change_poll = std::time::Duration::from_secs(3600);
        configure(&mut config);
        let state = server::prepare(config).await.expect("app prepares");
        let running = server::spawn(state, "127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind port 0");
        Self {
            base_url: format!("http://{}", running.addr),
            state: running.state,
            client: reqwest::Client::new(),
            pg_database,
            sqlite_file,
            data_dir: None,
        }
    }

    /// The app as `cargo run` starts it with no `DATABASE_URL`: an embedded SQLite file in a fresh data
    /// directory, seeded with the demo data set and the demo accounts on first start.
    pub async fn spawn_embedded() -> Self {
        let data_dir = std::env::temp_dir().join(unique_name());
        let config = Config::for_database(
            Database::Embedded {
                data_dir: data_dir.clone(),
            },
            Secret::new(SECRET.as_bytes().to_vec()).expect("long secret"),
        );
        let state = server::prepare(config).await.expect("app prepares");
        let running = server::spawn(state, "127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind port 0");
        Self {
            base_url: format!("http://{}", running.addr),
            state: running.state,
            client: reqwest::Client::new(),
            pg_database: None,
            sqlite_file: None,
            data_dir: Some(data_dir),
        }
    }

    /// The app on a fresh database loaded with the full demo data set.
    pub async fn spawn_with_demo() -> Self {
        let app = Self::spawn().await;
        hoi_ccb::demo::seed(&app.state.db).await.expect("demo seeds");
        app
    }

    pub fn db(&self) -> &sea_orm::DatabaseConnection {
        &self.state.db
    }

    pub fn is_postgres(&self) -> bool {
        self.pg_database.is_some()
    }

    /// POSTs a GraphQL request with an optional bearer token; returns the HTTP status and JSON body.
    pub async fn post(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        let mut req = self.client.post(format!("{}/graphql", self.base_url)).json(&json!({
            "query": query,
            "variables": variables,
        }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let body = resp.json::<Value>().await.expect("JSON body");
        (status, body)
    }

    /// The response body exactly as sent for a query as `token`, for byte-for-byte comparisons.
    pub async fn text(&self, token: &str, query: &str) -> String {
        let request = self.client.post(format!("{}/graphql", self.base_url));
        let response = request.bearer_auth(token).json(&json!({ "query": query })).send().await;
        response.expect("request sent").text().await.expect("text body")
    }

    /// Runs a query as `token` (or anonymously) and returns `data`, failing on any error.
    pub async fn data(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let (status, body) = self.post(token, query, variables).await;
        assert_eq!(status, 200, "HTTP status for {query}: {body}");
        assert!(body.get("errors").is_none(), "unexpected errors for {query}: {body}");
        body["data"].clone()
    }

    /// Runs a query expected to fail and returns the first error's `extensions.code`.
    pub async fn error_code(&self, token: Option<&str>, query: &str, variables: Value) -> String {
        let (_, body) = self.post(token, query, variables).await;
        body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {body}"))
            .to_owned()
    }

    /// `db_statements_total` as the server reports it on `/metrics`.
    pub async fn statements(&self) -> u64 {
        self.metric("db_statements_total").await
    }

    /// A counter as the server reports it on `/metrics`.
    pub async fn metric(&self, name: &str) -> u64 {
        let prefix = format!("{name} ");
        let text = self
            .client
            .get(format!("{}/metrics", self.base_url))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} present"))
    }

    /// Statements, and those of the change feed, once the server has gone quiet: the subscription hub reads the
    /// change log in the background after commits, so a write's statements are counted once that read is done.
    async fn settled_statements(&self) -> (u64, u64) {
        let mut last = (u64::MAX, u64::MAX);
        loop {
            let now = (
                self.statements().await,
                self.metric("change_feed_statements_total").await,
            );
            if now == last {
                return now;
            }
            last = now;
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Statements one mutation costs, the change feed's background reads left out.
    pub async fn count_write_statements(&self, token: Option<&str>, query: &str, variables: Value) -> (u64, Value) {
        let (before, feed_before) = self.settled_statements().await;
        let data = self.data(token, query, variables).await;
        let (after, feed_after) = self.settled_statements().await;
        (after - before - (feed_after - feed_before), data)
    }

    /// Statements one request costs.
    pub async fn count_statements(&self, token: Option<&str>, query: &str, variables: Value) -> (u64, Value) {
        let before = self.statements().await;
        let data = self.data(token, query, variables).await;
        (self.statements().await - before, data)
    }

    /// A token as an external identity provider holding the key would mint it.
    pub fn token(&self, role: Role, scope: ScopeNode) -> String {
        let principal = Principal {
            subject: format!("idp|{}", role.claim().to_lowercase()),
            role,
            scope,
        };
        self.state.tokens.issue(&principal).expect("token issued").0
    }

    pub fn admin(&self) -> String {
        self.token(Role::Admin, ScopeNode::Everything)
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base_url))
            .send()
            .await
            .expect("GET");
        (resp.status().as_u16(), resp.text().await.unwrap_or_default())
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(dir) = self.data_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(path) = self.sqlite_file.take() {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        let Some((admin, name)) = self.pg_database.take() else {
            return;
        };
        // The test's runtime is going away; drop the database from a short-lived runtime of its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async move {
                if let Ok(db) = sea_orm::Database::connect(&admin).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sea_orm::ConnectionTrait::execute_unprepared(&db, &sql).await;
                    db.close().await.ok();
                }
            });
        })
        .join();
    }
}

/// The global id of a node kind and row id.
pub fn gid(kind: hoi_ccb::ids::NodeKind, id: i64) -> String {
    hoi_ccb::ids::GlobalId::new(kind, id).encode()
}
