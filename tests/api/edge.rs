//! The HTTP edge under faults: the login throttle per client address (and `TRUSTED_PROXIES`), `/readyz`
//! through a database outage and its recovery, and a graceful shutdown of the real binary on SIGTERM.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hoi_ccb::auth::throttle::AddressLimit;
use hoi_ccb::server::client::Cidr;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::{SECRET, TestApp};

const LOGIN: &str = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }";

/// A login with a fresh unknown username (so the per-username lock never trips), optionally with an
/// `X-Forwarded-For` header; returns the error code (empty when it succeeded) and the `Retry-After` header.
async fn failed_login(app: &TestApp, forwarded_for: Option<&str>, n: usize) -> (String, Option<u64>) {
    login_as(app, forwarded_for, &format!("nobody-{n}"), "wrong-password").await
}

async fn login_as(app: &TestApp, forwarded_for: Option<&str>, username: &str, password: &str) -> (String, Option<u64>) {
    let mut req = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .json(&json!({ "query": LOGIN, "variables": { "u": username, "p": password } }));
    if let Some(xff) = forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    let resp = req.send().await.expect("POST");
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body: Value = resp.json().await.expect("JSON");
    let code = body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (code, retry_after)
}

fn three_per_minute() -> AddressLimit {
    AddressLimit {
        max_failures: 3,
        window: Duration::from_secs(60),
    }
}

#[tokio::test]
async fn failed_logins_are_limited_per_address_and_a_spoofed_forwarded_for_does_not_escape() {
    let app = TestApp::spawn_with(|c| c.http.login_address_limit = three_per_minute()).await;
    hoi_ccb::auth::accounts::create(
        app.db(),
        "real.user",
        "correct-horse-battery",
        hoi_ccb::auth::Role::Admin,
        hoi_ccb::auth::ScopeNode::Everything,
        "Real",
    )
    .await
    .expect("account");
    // A success does not count, and does not reset the count of failures either.
    assert_eq!(login_as(&app, None, "real.user", "correct-horse-battery").await.0, "");
    for n in 0..3 {
        // Every attempt claims another client address; without trusted proxies the header is ignored.
        let spoof = format!("198.51.100.{n}");
        assert_eq!(
            failed_login(&app, Some(&spoof), n).await,
            ("UNAUTHENTICATED".to_owned(), None),
            "attempt {n}"
        );
        if n == 1 {
            assert_eq!(login_as(&app, None, "real.user", "correct-horse-battery").await.0, "");
        }
    }
    let (code, retry_after) = failed_login(&app, Some("203.0.113.77"), 3).await;
    assert_eq!(code, "RATE_LIMITED");
    assert!(
        retry_after.is_some_and(|s| (1..=60).contains(&s)),
        "Retry-After within the window: {retry_after:?}"
    );
    // The address is refused whatever it tries, the right password included.
    assert_eq!(
        login_as(&app, None, "real.user", "correct-horse-battery").await.0,
        "RATE_LIMITED"
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_two_clients_are_limited_separately() {
    let app = TestApp::spawn_with(|c| {
        c.http.login_address_limit = three_per_minute();
        c.http.trusted_proxies = vec![Cidr::parse("127.0.0.0/8").expect("cidr")];
    })
    .await;
    for n in 0..3 {
        assert_eq!(failed_login(&app, Some("203.0.113.1"), n).await.0, "UNAUTHENTICATED");
    }
    assert_eq!(failed_login(&app, Some("203.0.113.1"), 3).await.0, "RATE_LIMITED");
    // Another client behind the same proxy is not affected.
    assert_eq!(failed_login(&app, Some("203.0.113.2"), 4).await.0, "UNAUTHENTICATED");
    // Hops the client wrote itself, left of the one the proxy appended, are not believed.
    assert_eq!(
        failed_login(&app, Some("192.0.2.200, 203.0.113.1"), 5).await.0,
        "RATE_LIMITED"
    );
    // A chain of trusted proxies is walked past.
    assert_eq!(
        failed_login(&app, Some("203.0.113.1, 127.0.0.5"), 6).await.0,
        "RATE_LIMITED"
    );
    // The proxy itself, with no header, is a client of its own.
    assert_eq!(failed_login(&app, None, 7).await.0, "UNAUTHENTICATED");
}

// ---------------------------------------------------------------------------------------------------------
// A database outage, through a TCP proxy in front of PostgreSQL that the test cuts and restores.

struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let up = Arc::new(AtomicBool::new(true));
        let links: Arc<Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let accept = tokio::spawn({
            let (up, links) = (up.clone(), links.clone());
            async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    if !up.load(Ordering::SeqCst) {
                        drop(inbound);
                        continue;
                    }
                    let target = target.clone();
                    let link = tokio::spawn(async move {
                        if let Ok(mut outbound) = TcpStream::connect(target).await {
                            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    links.lock().expect("links").push(link.abort_handle());
                }
            }
        });
        Self {
            addr,
            up,
            links,
            accept,
        }
    }

    /// Drops every open connection and refuses new ones.
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for link in self.links.lock().expect("links").drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

/// `host:port` of a PostgreSQL URL.
fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split_once('@').map_or(rest, |(_, r)| r);
    let host = rest.split(['/', '?']).next().unwrap_or(rest);
    if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

/// `TEST_DATABASE_URL` when the suite runs on a database server; on SQLite, says why the test is skipped.
fn server_url(why: &str) -> Option<String> {
    let url = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!("skipped on SQLite: {why} (set TEST_DATABASE_URL)");
    }
    url
}

/// A retryable SERVICE_UNAVAILABLE whose text names no SQL, driver, database or pool, nor `cause`.
fn assert_retryable_without_internals(status: u16, body: &Value, cause: &str) {
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "SERVICE_UNAVAILABLE", "{status} {body}");
    assert_eq!(error["extensions"]["retryable"], true, "{body}");
    let text = body.to_string().to_lowercase();
    for leak in ["select", "sqlx", "postgres", "pool", cause] {
        assert!(!text.contains(leak), "the answer leaks {leak:?}: {body}");
    }
}

/// The name of the test's own database on the server.
fn database_name(app: &TestApp) -> String {
    let url = app.state.services.config.database.url();
    let path = url.rsplit('/').next().unwrap_or_default();
    path.split('?').next().unwrap_or_default().to_owned()
}

async fn graphql_code(client: &reqwest::Client, base: &str) -> (u16, Value) {
    let resp = client
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": "{ provinces { totalCount } }" }))
        .send()
        .await
        .expect("POST");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("JSON"))
}

#[tokio::test]
async fn readyz_reports_a_database_outage_and_the_same_server_recovers_without_restart() {
    let Some(base) = server_url("an outage needs a database server to cut off") else {
        return;
    };
    // The test's own database, reached only through the proxy.
    let app = TestApp::spawn().await;
    let name = database_name(&app);
    let proxy = Proxy::start(host_port(&base)).await;
    let user = base
        .split_once("://")
        .and_then(|(_, r)| r.split_once('@'))
        .map_or("postgres", |(u, _)| u);
    let through = format!("postgres://{user}@{}/{name}", proxy.addr);
    let mut config = hoi_ccb::config::Config::for_database(
        hoi_ccb::config::Database::Url(through),
        hoi_ccb::config::Secret::new(SECRET.as_bytes().to_vec()).expect("secret"),
    );
    config.db.pool_timeout = Duration::from_millis(1500);
    config.realtime.change_poll = Duration::from_secs(3600);
    let state = hoi_ccb::server::prepare(config)
        .await
        .expect("prepares through the proxy");
    let running = hoi_ccb::server::spawn(state, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("spawn");
    let url = format!("http://{}", running.addr);
    let client = reqwest::Client::new();
    let get = |path: &str| {
        let request = client.get(format!("{url}{path}")).send();
        async move {
            let resp = request.await.expect("GET");
            (resp.status().as_u16(), resp.text().await.unwrap_or_default())
        }
    };

    assert_eq!(get("/readyz").await, (200, "ready".to_owned()));
    assert_eq!(
        graphql_code(&client, &url).await.1["data"]["provinces"]["totalCount"],
        0
    );

    proxy.cut();
    let started = Instant::now();
    let (status, body) = get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.starts_with("not ready: the database"), "a plain sentence: {body}");
    eprintln!("readyz answered 503 in {:?} during the outage", started.elapsed());
    let (status, body) = graphql_code(&client, &url).await;
    assert_retryable_without_internals(status, &body, "connection refused");
    assert_eq!(get("/healthz").await, (200, "ok".to_owned()));

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _) = get("/readyz").await;
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "readyz still {status} 20 s after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("ready again {:?} after the cut", started.elapsed());
    let (status, body) = graphql_code(&client, &url).await;
    assert_eq!(
        (status, &body["data"]["provinces"]["totalCount"]),
        (200, &json!(0)),
        "{body}"
    );
    running.handle.abort();
    running.state.db.clone().close().await.ok();
}

#[tokio::test]
async fn connections_killed_while_in_use_cost_at_most_a_retryable_answer_each_and_then_are_replaced() {
    let Some(base) = server_url("needs a database server that can end the server's connections") else {
        return;
    };
    // A connection used within the last second is handed out without a ping (one round trip fewer per
    // statement). One that the database ended in the meantime fails its statement instead: the request is
    // answered SERVICE_UNAVAILABLE, retryable, without internal text, and the connection is not reused.
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let (status, body) = graphql_code(&client, &app.base_url).await;
    assert_eq!(status, 200, "{body}");
    let name = database_name(&app);
    let admin = sea_orm::Database::connect(base.as_str())
        .await
        .expect("admin connection");
    let ended = sea_orm::ConnectionTrait::execute_unprepared(
        &admin,
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ),
    )
    .await
    .expect("terminate");
    assert!(ended.rows_affected() >= 1, "the server's connections were ended");
    let mut failures = 0;
    let mut answered = false;
    for _ in 0..20 {
        let (status, body) = graphql_code(&client, &app.base_url).await;
        if status == 200 && body["data"]["provinces"]["totalCount"] == 0 {
            answered = true;
            break;
        }
        failures += 1;
        assert_retryable_without_internals(status, &body, "terminat");
    }
    assert!(
        answered,
        "the server answers again once its broken connections are gone"
    );
    let pool = app.state.services.config.db.pool_size.unwrap_or(16) as usize;
    assert!(failures <= pool, "{failures} failed requests for a pool of {pool}");
    admin.close().await.ok();
}

// ---------------------------------------------------------------------------------------------------------
// Graceful shutdown of the real binary.

struct Served {
    child: std::process::Child,
    addr: String,
}

/// Starts the built binary serving the test app's database on a free port, and waits until it listens.
fn serve_binary(app: &TestApp, grace_seconds: u64) -> Served {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let mut command = Command::new(env!("CARGO_BIN_EXE_hoi-ccb"));
    command.current_dir(std::env::temp_dir());
    for setting in hoi_ccb::config::SETTINGS {
        command.env_remove(setting.name);
    }
    let mut child = command
        .env("DATABASE_URL", app.state.services.config.database.url())
        .env("JWT_SECRET", SECRET)
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("LOG_FORMAT", "json")
        .env("SHUTDOWN_GRACE_SECONDS", grace_seconds.to_string())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let addr = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the binary logs that it serves");
        if let Ok(v) = serde_json::from_str::<Value>(&line)
            && let Some(addr) = v["fields"]["addr"].as_str().or(v["addr"].as_str())
        {
            break addr.to_owned();
        }
    };
    // Keep draining the log so the child never blocks on a full pipe.
    std::thread::spawn(move || while rx.recv().is_ok() {});
    Served { child, addr }
}

fn sigterm(child: &std::process::Child) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Waits for the child to exit, up to `limit`.
async fn exit_within(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not exit within {limit:?} of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn sigterm_lets_a_request_in_flight_finish_then_exits_zero() {
    let app = TestApp::spawn().await;
    let mut served = serve_binary(&app, 10);
    let base = format!("http://{}", served.addr);
    let client = reqwest::Client::new();
    let probe = client
        .get(format!("{base}/__test/sleep?ms=1"))
        .send()
        .await
        .expect("GET");
    assert_eq!(probe.status().as_u16(), 200, "the binary has the test hooks");

    let slow = tokio::spawn({
        let (client, base) = (client.clone(), base.clone());
        async move {
            let resp = client
                .get(format!("{base}/__test/sleep?ms=2000"))
                .send()
                .await
                .expect("the slow request is answered");
            (resp.status().as_u16(), resp.text().await.unwrap_or_default())
        }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let signalled = Instant::now();
    sigterm(&served.child);

    // New connections are refused once the signal is handled, while the slow request is still running.
    let mut refused = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        if TcpStream::connect(&served.addr).await.is_err() {
            refused = true;
            break;
        }
    }
    assert!(refused, "the listener still accepts after SIGTERM");

    let (status, body) = slow.await.expect("join");
    assert_eq!(
        (status, body.as_str()),
        (200, "slept"),
        "the request in flight completed"
    );
    let exit = exit_within(&mut served.child, Duration::from_secs(15)).await;
    assert_eq!(exit.code(), Some(0), "exit status {exit:?}");
    eprintln!("exited 0 {:?} after SIGTERM", signalled.elapsed());
}

#[tokio::test]
async fn a_request_longer_than_the_grace_is_cut_off_and_the_server_still_exits_zero() {
    let app = TestApp::spawn().await;
    let mut served = serve_binary(&app, 1);
    let base = format!("http://{}", served.addr);
    let client = reqwest::Client::new();
    let slow = tokio::spawn({
        let (client, base) = (client.clone(), base.clone());
        async move { client.get(format!("{base}/__test/sleep?ms=20000")).send().await.is_ok() }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let signalled = Instant::now();
    sigterm(&served.child);
    let exit = exit_within(&mut served.child, Duration::from_secs(10)).await;
    let took = signalled.elapsed();
    assert_eq!(exit.code(), Some(0), "exit status {exit:?}");
    assert!(
        took < Duration::from_secs(5),
        "exited {took:?} after SIGTERM with a 1 s grace"
    );
    assert!(!slow.await.expect("join"), "the request past the grace got no answer");
}

/// One worker's acknowledged writes: (version, phone) the server answered with, in order.
type Acked = Vec<(i64, String)>;

/// Updates one member's phone again and again with its expected version, until a request fails (the server
/// is gone); every answer with data is an acknowledged write.
async fn write_until_killed(base: String, token: String, member: String, worker: usize) -> Acked {
    const UPDATE: &str =
        "mutation($input: UpdateMemberInput!) { updateMember(input: $input) { member { version phone } } }";
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let mut acked = Acked::new();
    let mut version = 1;
    for seq in 0.. {
        let phone = format!("09{worker:02}{seq:06}");
        let answer = client
            .post(format!("{base}/graphql"))
            .bearer_auth(&token)
            .json(&json!({ "query": UPDATE, "variables": { "input": {
                "id": member, "expectedVersion": version, "phone": phone } } }))
            .send()
            .await;
        let Ok(answer) = answer else { break };
        let Ok(body) = answer.json::<Value>().await else { break };
        let member = &body["data"]["updateMember"]["member"];
        let Some(now) = member["version"].as_i64() else {
            panic!("a write before the kill failed: {body}");
        };
        assert_eq!(member["phone"], phone.as_str());
        acked.push((now, phone));
        version = now;
    }
    acked
}

#[tokio::test]
async fn kill_9_during_writes_loses_no_acknowledged_write_and_no_audit_record() {
    let app = TestApp::spawn().await;
    let tree = crate::fixture::Tree::build(&app).await;
    let admin = app.admin();
    let mut members: Vec<i64> = tree.members.values().copied().collect();
    members.sort_unstable();
    members.truncate(8);
    let mut served = serve_binary(&app, 10);
    let base = format!("http://{}", served.addr);
    let workers: Vec<_> = members
        .iter()
        .enumerate()
        .map(|(worker, &id)| {
            let member = crate::helpers::gid(hoi_ccb::ids::NodeKind::Member, id);
            tokio::spawn(write_until_killed(base.clone(), admin.clone(), member, worker))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    served.child.kill().expect("SIGKILL");
    let _ = served.child.wait();
    let mut acked = Vec::new();
    for worker in workers {
        acked.push(worker.await.expect("a worker"));
    }
    let total: usize = acked.iter().map(Vec::len).sum();
    assert!(
        total >= members.len(),
        "too few writes before the kill to prove anything: {total}"
    );

    // The restarted binary recovers the database by itself and serves every acknowledged write.
    let mut restarted = serve_binary(&app, 10);
    let client = reqwest::Client::new();
    let rebase = format!("http://{}", restarted.addr);
    let ready = client.get(format!("{rebase}/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status().as_u16(), 200);
    const READ: &str = "query($id: ID!) { node(id: $id) { ... on Member { version phone \
                        history(first: 1) { totalCount nodes { action } } } } }";
    for (&id, acked) in members.iter().zip(&acked) {
        let body: Value = client
            .post(format!("{rebase}/graphql"))
            .bearer_auth(&admin)
            .json(&json!({ "query": READ, "variables": { "id": crate::helpers::gid(hoi_ccb::ids::NodeKind::Member, id) } }))
            .send()
            .await
            .expect("read")
            .json()
            .await
            .expect("JSON");
        let node = &body["data"]["node"];
        let version = node["version"].as_i64().unwrap_or_else(|| panic!("{body}"));
        let (last_version, last_phone) = acked.last().cloned().unwrap_or((1, String::new()));
        // The last acknowledged write is there; at most one more, in flight at the kill, may have committed
        // without its answer reaching the client.
        assert!(
            version == last_version || version == last_version + 1,
            "member {id}: version {version} after acknowledging {last_version}"
        );
        if version == last_version && !last_phone.is_empty() {
            assert_eq!(node["phone"], last_phone.as_str(), "member {id}");
        }
        // Every committed write has exactly one audit record, and no record survived without its write.
        // (The fixture's members start at version 1 with no history.)
        let history = &node["history"];
        assert_eq!(history["totalCount"], version - 1, "member {id}: {history}");
        if version > 1 {
            assert_eq!(history["nodes"][0]["action"], "UPDATE_MEMBER", "member {id}: {history}");
        }
    }
    let _ = restarted.child.kill();
    let _ = restarted.child.wait();
    eprintln!("{total} writes acknowledged before kill -9; all present after restart");
}

/// A small tmpfs mounted for one test and unmounted when it ends, to run a database out of disk space.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(megabytes: u32) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "hoi-ccb-small-disk-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).expect("mount point");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(&dir)
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "mounting a tmpfs needs root: run this test as .ci/run does"
        );
        Self(dir)
    }

    /// Fills what is left with a file, 4 KiB at a time, until the disk refuses more.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.0.join("filler");
        let mut file = std::fs::File::create(&path).expect("filler");
        let block = [0u8; 4096];
        while file.write_all(&block).and_then(|_| file.flush()).is_ok() {}
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Needs root to mount a tmpfs, so plain `cargo test` skips it; `.ci/run` runs it with `--ignored`.
#[tokio::test]
#[ignore = "mounts a tmpfs (root only); .ci/run runs it"]
async fn a_full_disk_refuses_writes_retryably_changes_nothing_and_recovers() {
    use sea_orm::ConnectionTrait;
    const UPDATE: &str =
        "mutation($input: UpdateMemberInput!) { updateMember(input: $input) { member { version phone } } }";
    const READ: &str = "query($id: ID!) { node(id: $id) { ... on Member { version phone history { totalCount } } } }";
    let disk = SmallDisk::mount(32);
    let file = disk.0.join("registry.sqlite3");
    let app = TestApp::spawn_configured(|c| {
        c.database = hoi_ccb::config::Database::Url(format!("sqlite://{}?mode=rwc", file.display()));
    })
    .await;
    let tree = crate::fixture::Tree::build(&app).await;
    let admin = app.admin();
    let id = crate::helpers::gid(hoi_ccb::ids::NodeKind::Member, tree.member("Lê Văn Đức"));
    // Empty the write-ahead log, so the next write must take new disk space.
    app.db()
        .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
        .await
        .expect("checkpoint");
    let filler = disk.fill();

    let input = json!({ "input": { "id": id, "expectedVersion": 1, "phone": "0987654321" } });
    let (_, body) = app.post(Some(&admin), UPDATE, input.clone()).await;
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "SERVICE_UNAVAILABLE", "{body}");
    assert_eq!(error["extensions"]["retryable"], true, "{body}");
    let text = body.to_string().to_lowercase();
    for internal in ["sqlite", "disk", "full", "sql", "code:"] {
        assert!(!text.contains(internal), "internal detail {internal:?} leaked: {body}");
    }
    // Reads still work, and the refused write left nothing behind: no new version, no audit record.
    let read = app.data(Some(&admin), READ, json!({ "id": id })).await;
    assert_eq!(read["node"]["version"], 1, "{read}");
    assert_eq!(read["node"]["history"]["totalCount"], 0, "{read}");

    // Space back, the same request goes through on the same server.
    std::fs::remove_file(filler).expect("free the space");
    let done = app.data(Some(&admin), UPDATE, input).await;
    assert_eq!(done["updateMember"]["member"]["version"], 2, "{done}");
    let read = app.data(Some(&admin), READ, json!({ "id": id })).await;
    assert_eq!(read["node"]["history"]["totalCount"], 1, "{read}");
    drop(app);
}

#[tokio::test]
async fn a_login_over_the_websocket_counts_against_the_same_address() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let app = TestApp::spawn_with(|c| c.http.login_address_limit = three_per_minute()).await;
    let url = format!("{}/graphql", app.base_url.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("upgrade");
    let next_text = async |socket: &mut tokio_tungstenite::WebSocketStream<_>| -> Value {
        loop {
            match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(t.as_str()).expect("JSON"),
                Ok(Some(Ok(_))) => continue,
                other => panic!("no message: {other:?}"),
            }
        }
    };
    let send = |v: Value| Message::Text(v.to_string().into());
    socket
        .send(send(json!({ "type": "connection_init", "payload": {} })))
        .await
        .expect("send");
    assert_eq!(next_text(&mut socket).await["type"], "connection_ack");
    let ws_login = |id: &str, n: usize| {
        send(json!({ "id": id, "type": "subscribe", "payload": {
            "query": LOGIN, "variables": { "u": format!("ws-nobody-{n}"), "p": "wrong-password" } } }))
    };
    socket.send(ws_login("1", 0)).await.expect("send");
    let answer = next_text(&mut socket).await;
    assert_eq!(
        answer["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{answer}"
    );
    for n in 1..3 {
        assert_eq!(failed_login(&app, None, n).await.0, "UNAUTHENTICATED");
    }
    assert_eq!(failed_login(&app, None, 3).await.0, "RATE_LIMITED");
    // The socket's next attempt is refused too: it comes from the same address.
    socket.send(ws_login("2", 4)).await.expect("send");
    let answer = loop {
        let message = next_text(&mut socket).await;
        if message["id"] == "2" && message["type"] != "complete" {
            break message;
        }
    };
    assert_eq!(
        answer["payload"]["errors"][0]["extensions"]["code"], "RATE_LIMITED",
        "{answer}"
    );
}
