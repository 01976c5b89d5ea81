//! The `hoi-ccb` command line: `serve` (the default), `migrate up|down|status`, `seed-demo`, `print-schema`,
//! `create-admin USERNAME`. Parsing is clap's; `--help` lists every environment variable from
//! [`config::SETTINGS`], and the settings themselves are read by [`Config::from_env`].

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hoi_ccb::auth::{Role, ScopeNode, accounts};
use hoi_ccb::config::{self, Config};
use hoi_ccb::{db, demo, server};
use migration::{Migrator, MigratorTrait};

/// GraphQL API for the membership registry of the Vietnam Veterans' Association (Hội Cựu chiến binh Việt Nam).
///
/// Without a subcommand it serves: on the embedded SQLite demo when DATABASE_URL is unset, otherwise on the
/// database DATABASE_URL names.
#[derive(Debug, Parser)]
#[command(name = "hoi-ccb", version, after_help = settings_help())]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate the database, load the demo data set into a new embedded database, and serve the API (the default)
    Serve,
    /// Apply, roll back or list the database migrations
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Migrate, then load the demo data set into an empty database (any DATABASE_URL)
    SeedDemo {
        /// `province`: Quảng Ninh alone (about 56,600 members); `national`: 34 provinces shaped like it (about
        /// 1.9 million members), for load tests
        #[arg(long, value_enum, default_value_t = demo::Scale::Province)]
        scale: demo::Scale,
    },
    /// Write the GraphQL schema (SDL) to stdout
    PrintSchema,
    /// Take a consistent copy of the SQLite database, while the server may be writing (PostgreSQL: use pg_dump)
    Backup {
        /// Where to write the copy; an existing file is never overwritten
        file: std::path::PathBuf,
    },
    /// Create an admin account; the password is read from HOI_CCB_ADMIN_PASSWORD, never from the command line
    CreateAdmin {
        /// The new account's username
        username: String,
    },
}

#[derive(Debug, Subcommand)]
enum MigrateAction {
    /// Apply every pending migration
    Up,
    /// Roll back the last applied migration
    Down,
    /// List the migrations and whether each is applied
    Status,
}

/// The "Environment" section of `--help`: one entry per setting, from the table in `config.rs`.
fn settings_help() -> String {
    let mut help = String::from("Environment:\n");
    for setting in config::SETTINGS {
        help.push_str(&format!(
            "  {}\n      {}\n      default: {}\n",
            setting.name, setting.meaning, setting.default
        ));
    }
    help
}

#[tokio::main]
async fn main() -> ExitCode {
    // Parsed before logging starts, so `--help` and usage errors print alone (clap exits with status 2 on a
    // usage error).
    let cli = Cli::parse();
    if let Err(e) = hoi_ccb::telemetry::init() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    match run(cli.command.unwrap_or(Command::Serve)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn run(command: Command) -> Result<(), BoxError> {
    match command {
        Command::Serve => {
            let state = server::prepare(Config::from_env()?).await?;
            server::serve(state).await?;
        }
        Command::PrintSchema => print!("{}", hoi_ccb::graphql::sdl()),
        Command::Backup { file } => {
            let config = Config::from_env()?;
            hoi_ccb::backup::backup(&config.database, &file).await?;
            println!("backed up to {}", file.display());
        }
        Command::Migrate { action } => {
            let config = Config::from_env()?;
            let conn = db::connect_maintenance(&config.database).await?;
            match action {
                MigrateAction::Up => server::migrate_up(&conn).await?,
                MigrateAction::Down => Migrator::down(&conn, Some(1)).await?,
                MigrateAction::Status => {
                    for m in Migrator::get_migration_with_status(&conn).await? {
                        println!("{}\t{}", m.name(), m.status());
                    }
                }
            }
        }
        Command::SeedDemo { scale } => {
            let config = Config::from_env()?;
            let conn = db::connect_maintenance(&config.database).await?;
            server::migrate_up(&conn).await?;
            let summary = demo::seed_scale(&conn, scale).await?;
            println!("seeded: {summary:?}");
        }
        Command::CreateAdmin { username } => {
            // The password comes from the environment, not the command line, so it stays out of `ps` and shell
            // history.
            let password = std::env::var("HOI_CCB_ADMIN_PASSWORD")
                .map_err(|_| "set HOI_CCB_ADMIN_PASSWORD to the new admin's password")?;
            let config = Config::from_env()?;
            let conn = db::connect_maintenance(&config.database).await?;
            server::migrate_up(&conn).await?;
            let account = accounts::create(
                &conn,
                &username,
                &password,
                Role::Admin,
                ScopeNode::Everything,
                &username,
            )
            .await
            .map_err(|e| e.message())?;
            println!(
                "created admin account {:?} ({})",
                account.username,
                accounts::subject(account.id)
            );
        }
    }
    Ok(())
}
