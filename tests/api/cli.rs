//! The `hoi-ccb` command line, run as the built binary: `--help` names every setting, the subcommands do what
//! their help says against the test's own database, and bad usage is refused.

use std::process::{Command, Output};

use serde_json::json;

use crate::helpers::{SECRET, TestApp};

/// Runs the built binary with `args`, a clean environment apart from `env`, and the temp directory as its working
/// directory (so nothing it might write lands in the repository).
fn hoi_ccb(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hoi-ccb"));
    command.args(args).current_dir(std::env::temp_dir());
    for setting in hoi_ccb::config::SETTINGS {
        command.env_remove(setting.name);
    }
    command.envs(env.iter().copied());
    command.output().expect("the hoi-ccb binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The environment that points the binary at a test app's database.
fn env_of(app: &TestApp) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", app.state.services.config.database.url()),
        ("JWT_SECRET", SECRET.to_owned()),
    ]
}

fn as_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn help_lists_every_subcommand_and_every_setting_with_its_default() {
    let output = hoi_ccb(&["--help"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let help = stdout(&output);
    for subcommand in ["serve", "migrate", "seed-demo", "print-schema", "create-admin"] {
        assert!(
            help.contains(subcommand),
            "--help does not mention {subcommand}:\n{help}"
        );
    }
    for setting in hoi_ccb::config::SETTINGS {
        assert!(
            help.contains(setting.name),
            "--help does not name {}:\n{help}",
            setting.name
        );
        assert!(
            help.contains(setting.default),
            "--help does not give {}'s default:\n{help}",
            setting.name
        );
    }
    for contract_setting in ["DATABASE_URL", "BIND_ADDR", "JWT_SECRET", "JWT_ISSUER", "JWT_AUDIENCE"] {
        assert!(
            help.contains(contract_setting),
            "--help does not name {contract_setting}"
        );
    }
}

#[test]
fn migrate_help_lists_up_down_and_status() {
    let output = hoi_ccb(&["migrate", "--help"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let help = stdout(&output);
    for action in ["up", "down", "status"] {
        assert!(
            help.contains(action),
            "migrate --help does not mention {action}:\n{help}"
        );
    }
}

#[test]
fn print_schema_writes_the_schema_of_the_code_to_stdout() {
    let output = hoi_ccb(&["print-schema"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), hoi_ccb::graphql::sdl());
}

#[test]
fn an_unknown_subcommand_or_migrate_action_is_refused_with_the_usage() {
    for args in [
        &["frobnicate"][..],
        &["migrate", "sideways"],
        &["migrate"],
        &["create-admin"],
    ] {
        let output = hoi_ccb(args, &[]);
        assert_eq!(output.status.code(), Some(2), "{args:?} should be a usage error");
        assert!(stderr(&output).contains("Usage"), "{args:?}: {}", stderr(&output));
    }
}

#[test]
fn a_database_url_without_a_jwt_secret_refuses_to_start() {
    let output = hoi_ccb(&["migrate", "status"], &[("DATABASE_URL", "sqlite::memory:")]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("JWT_SECRET"), "{}", stderr(&output));
}

#[tokio::test]
async fn migrate_status_lists_every_migration_as_applied() {
    let app = TestApp::spawn().await;
    let env = env_of(&app);
    let output = hoi_ccb(&["migrate", "status"], &as_refs(&env));
    assert!(output.status.success(), "{}", stderr(&output));
    let listing = stdout(&output);
    let lines: Vec<&str> = listing.lines().collect();
    assert!(!lines.is_empty(), "no migrations listed");
    for line in lines {
        assert!(
            line.starts_with('m') && line.ends_with("Applied"),
            "unexpected line {line:?}"
        );
    }
}

#[tokio::test]
async fn create_admin_makes_an_account_that_can_log_in() {
    let app = TestApp::spawn().await;
    let mut env = env_of(&app);

    let refused = hoi_ccb(&["create-admin", "chairman"], &as_refs(&env));
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("HOI_CCB_ADMIN_PASSWORD"),
        "{}",
        stderr(&refused)
    );

    env.push(("HOI_CCB_ADMIN_PASSWORD", "a-long-enough-password-2026".to_owned()));
    let created = hoi_ccb(&["create-admin", "chairman"], &as_refs(&env));
    assert!(created.status.success(), "{}", stderr(&created));
    assert!(stdout(&created).contains("chairman"), "{}", stdout(&created));

    let data = app
        .data(
            None,
            "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
            json!({ "u": "chairman", "p": "a-long-enough-password-2026" }),
        )
        .await;
    let token = data["login"]["token"].as_str().expect("a token").to_owned();
    let me = app.data(Some(&token), "{ me { role } }", json!({})).await;
    assert_eq!(me["me"]["role"], "ADMIN", "{me}");
}

/// Runs one statement on a connection of its own (the serving pool may cache the schema it saw).
async fn sql(app: &TestApp, statement: &str) -> Vec<sea_orm::QueryResult> {
    use sea_orm::ConnectionTrait;
    let db = hoi_ccb::db::connect_maintenance(&app.state.services.config.database)
        .await
        .expect("a maintenance connection");
    let stmt = sea_orm::Statement::from_string(db.get_database_backend(), statement);
    db.query_all_raw(stmt).await.expect(statement)
}

async fn count(app: &TestApp, statement: &str) -> i64 {
    sql(app, statement).await[0]
        .try_get_by_index::<i64>(0)
        .expect("a count")
}

#[tokio::test]
async fn a_migration_failing_midway_leaves_the_schema_at_the_previous_version() {
    let app = TestApp::spawn().await;
    crate::fixture::Tree::build(&app).await;
    let env = env_of(&app);
    // The migration made to fail, and the one before it.
    let failing = "m20261126_000009_search_index";
    let previous = "m20261126_000008_login_throttle";
    let applied = |name: &'static str| {
        let app = &app;
        async move {
            count(
                app,
                &format!("SELECT COUNT(*) FROM seaql_migrations WHERE version = '{name}'"),
            )
            .await
        }
    };

    // Roll back to just before the search-index migration (`migrate down` takes one step at a time).
    while applied(failing).await == 1 {
        let down = hoi_ccb(&["migrate", "down"], &as_refs(&env));
        assert!(down.status.success(), "{}", stderr(&down));
    }
    assert_eq!(applied(previous).await, 1);
    let members = count(&app, "SELECT COUNT(*) FROM members").await;
    let tokens = count(&app, "SELECT COUNT(*) FROM member_tokens").await;
    assert!(members > 0 && tokens >= members, "{members} members, {tokens} tokens");

    // Plant an object under a name the failing migration creates after its first statements, so it fails
    // midway: on PostgreSQL the search column and function exist by then, on SQLite the FTS table and two of
    // its triggers.
    let (plant, unplant) = if app.is_postgres() {
        ("CREATE TABLE ix_members_search (x INT)", "DROP TABLE ix_members_search")
    } else {
        (
            "CREATE TRIGGER tr_members_search_update AFTER UPDATE ON accounts BEGIN SELECT 1; END",
            "DROP TRIGGER tr_members_search_update",
        )
    };
    sql(&app, plant).await;

    let failed = hoi_ccb(&["migrate", "up"], &as_refs(&env));
    let message = stderr(&failed);
    assert!(
        !failed.status.success(),
        "the failing migration was reported as applied"
    );
    assert!(
        message.contains("rolled back") && message.contains(previous),
        "the error does not say where the schema stays: {message}"
    );
    assert!(!message.contains("panicked"), "{message}");
    assert_eq!(applied(failing).await, 0, "the failed migration is recorded as applied");
    assert_eq!(applied(previous).await, 1);
    // Nothing of the failed migration is left, and what it would have dropped is still there.
    let leftovers = if app.is_postgres() {
        "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'members' \
         AND column_name = 'search_prefixes'"
    } else {
        "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'member_search%' OR name IN \
         ('tr_members_search_insert', 'tr_members_search_delete')"
    };
    assert_eq!(
        count(&app, leftovers).await,
        0,
        "the failed migration left objects behind"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM member_tokens").await, tokens);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM members").await, members);

    // The cause removed, the same command finishes the job.
    sql(&app, unplant).await;
    let up = hoi_ccb(&["migrate", "up"], &as_refs(&env));
    assert!(up.status.success(), "{}", stderr(&up));
    assert_eq!(applied(failing).await, 1);
    let status = hoi_ccb(&["migrate", "status"], &as_refs(&env));
    assert!(
        stdout(&status).lines().all(|l| l.ends_with("Applied")),
        "{}",
        stdout(&status)
    );
}
