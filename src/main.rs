//! The `hoi-ccb` command: `serve` (default), `migrate up|down|status`, `seed-demo`, `print-schema`.

use std::process::ExitCode;

use hoi_ccb::auth::{Role, ScopeNode, accounts};
use hoi_ccb::config::Config;
use hoi_ccb::{db, demo, server};
use migration::{Migrator, MigratorTrait};

const USAGE: &str =
    "usage: hoi-ccb [serve | migrate up|down|status | seed-demo | print-schema | create-admin USERNAME | backup FILE]";

#[tokio::main]
async fn main() -> ExitCode {
    if let Err(e) = hoi_ccb::telemetry::init() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn run(args: &[&str]) -> Result<(), BoxError> {
    match args {
        [] | ["serve"] => {
            let state = server::prepare(Config::from_env()?).await?;
            server::serve(state).await?;
        }
        ["print-schema"] => print!("{}", hoi_ccb::graphql::sdl()),
        ["backup", dest] => {
            let config = Config::from_env()?;
            hoi_ccb::backup::backup(&config.database, std::path::Path::new(dest)).await?;
            println!("backed up to {dest}");
        }
        ["migrate", action] => {
            let config = Config::from_env()?;
            let conn = db::connect_maintenance(&config.database).await?;
            match *action {
                "up" => server::migrate_up(&conn).await?,
                "down" => Migrator::down(&conn, Some(1)).await?,
                "status" => {
                    for m in Migrator::get_migration_with_status(&conn).await? {
                        println!("{}\t{}", m.name(), m.status());
                    }
                }
                other => return Err(format!("unknown migrate action {other:?}; {USAGE}").into()),
            }
        }
        ["seed-demo"] => {
            let config = Config::from_env()?;
            let conn = db::connect_maintenance(&config.database).await?;
            server::migrate_up(&conn).await?;
            let summary = demo::seed(&conn).await?;
            println!("seeded: {summary:?}");
        }
        ["create-admin", username] => {
            // The password comes from the environment, not the command line, so it stays out of `ps` and shell
            // history.
            let password = std::env::var("HOI_CCB_ADMIN_PASSWORD")
                .map_err(|_| "set HOI_CCB_ADMIN_PASSWORD to the new admin's password")?;
            let config = Config::from_env()?;
            let conn = db::connect_maintenance(&config.database).await?;
            server::migrate_up(&conn).await?;
            let account = accounts::create(&conn, username, &password, Role::Admin, ScopeNode::Everything, username)
                .await
                .map_err(|e| e.message())?;
            println!(
                "created admin account {:?} ({})",
                account.username,
                accounts::subject(account.id)
            );
        }
        _ => return Err(USAGE.into()),
    }
    Ok(())
}
