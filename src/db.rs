//! The database connection and the process metrics. Every SQL statement the connection sends increments
//! `db_statements_total`, counted by sea-orm's metric callback, so statement counts are measured, not assumed.

use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use sea_orm::{ConnectOptions, Database as SeaDatabase, DatabaseConnection, DbErr};

use crate::config::Database;

/// The Prometheus metrics of one server instance.
pub struct Metrics {
    registry: Registry,
    pub db_statements: IntCounter,
    pub db_statement_errors: IntCounter,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    /// GraphQL documents refused by a limit, by the refusal's code.
    pub limit_refusals: IntCounterVec,
    /// Errors in GraphQL responses, by `extensions.code`.
    pub graphql_errors: IntCounterVec,
    /// The serving pool's connections by state (`in_use`, `idle`) and its `max`, read at each scrape.
    pub db_pool: IntGaugeVec,
    /// Reads of the change log by this instance's subscription hub (`crate::realtime`): one per commit heard
    /// while a subscription is open here, fewer under load (wake-ups coalesce), plus the fallback poll; with
    /// none open, at most one read of the log's head per 100 ms.
    pub change_feed_reads: IntCounter,
    /// The statements those reads cost (part of `db_statements_total`): the read itself and, before it, the
    /// numbering of committed changes (`store::changes::sequence`: one probe, and when changes wait for their
    /// numbers a short transaction: the lock and the numbering), and on PostgreSQL this instance's announcements
    /// of its commits (one `NOTIFY` per burst, `realtime::changes::announce`).
    pub change_feed_statements: IntCounter,
    /// Queries and mutations executed after async-graphql's strict validation (a document not yet seen to pass
    /// it, or variables not proven to fit its declared types) and after fast validation (`graphql::validated`).
    pub strict_validations: IntCounter,
    pub fast_validations: IntCounter,
}

impl Metrics {
    /// Registers the metrics in a registry of this instance's own (tests run several servers in one process).
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let db_statements = IntCounter::new("db_statements_total", "SQL statements sent to the database")?;
        let db_statement_errors =
            IntCounter::new("db_statement_errors_total", "SQL statements that returned an error")?;
        let http_requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route and status"),
            &["route", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency by route").buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["route"],
        )?;
        let limit_refusals = IntCounterVec::new(
            Opts::new(
                "graphql_limit_refusals_total",
                "GraphQL documents refused by a limit, by code",
            ),
            &["code"],
        )?;
        registry.register(Box::new(limit_refusals.clone()))?;
        let graphql_errors = IntCounterVec::new(
            Opts::new(
                "graphql_errors_total",
                "Errors in GraphQL responses, by extensions.code",
            ),
            &["code"],
        )?;
        registry.register(Box::new(graphql_errors.clone()))?;
        let db_pool = IntGaugeVec::new(
            Opts::new(
                "db_pool_connections",
                "Connections of the serving pool: in_use, idle, and the pool's max",
            ),
            &["state"],
        )?;
        registry.register(Box::new(db_pool.clone()))?;
        let change_feed_reads = IntCounter::new(
            "change_feed_reads_total",
            "Reads of the change log by the subscription hub",
        )?;
        registry.register(Box::new(change_feed_reads.clone()))?;
        let change_feed_statements = IntCounter::new(
            "change_feed_statements_total",
            "Statements of the subscription hub's reads of the change log, numbering and announcements of commits included (part of db_statements_total)",
        )?;
        registry.register(Box::new(change_feed_statements.clone()))?;
        let validations = IntCounterVec::new(
            Opts::new(
                "graphql_validations_total",
                "GraphQL queries and mutations by the validation they went through: strict (a document not yet \
                 validated, or variables not proven to fit it) or fast (a validated document, variables checked)",
            ),
            &["mode"],
        )?;
        registry.register(Box::new(validations.clone()))?;
        let strict_validations = validations.get_metric_with_label_values(&["strict"])?;
        let fast_validations = validations.get_metric_with_label_values(&["fast"])?;
        registry.register(Box::new(db_statements.clone()))?;
        registry.register(Box::new(db_statement_errors.clone()))?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        Ok(Self {
            registry,
            db_statements,
            db_statement_errors,
            http_requests,
            http_duration,
            limit_refusals,
            graphql_errors,
            db_pool,
            change_feed_reads,
            change_feed_statements,
            strict_validations,
            fast_validations,
        })
    }

    /// Reads the serving pool's use into `db_pool_connections`: alert when `in_use` stays at `max` (requests
    /// then wait up to `DB_POOL_TIMEOUT_MS` and answer `SERVICE_UNAVAILABLE`).
    /// Connections the reads keep between statements (`reader`) are idle too.
    pub fn observe_pool(&self, db: &DatabaseConnection, reader: Option<&crate::store::reader::Reader>) {
        let (open, idle, max) = match db.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                let pool = db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle(), pool.options().get_max_connections())
            }
            sea_orm::DbBackend::Sqlite => {
                let pool = db.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle(), pool.options().get_max_connections())
            }
            _ => return,
        };
        let idle = i64::try_from(idle + reader.map_or(0, crate::store::reader::Reader::idle)).unwrap_or(i64::MAX);
        let set = |state: &str, value: i64| self.db_pool.with_label_values(&[state]).set(value);
        set("in_use", (i64::from(open) - idle).max(0));
        set("idle", idle);
        set("max", i64::from(max));
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        // Encoding gathered families into a Vec cannot fail short of a metric with an invalid name.
        if TextEncoder::new().encode(&self.registry.gather(), &mut buf).is_err() {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// Database settings besides the URL, each from the environment with a safe default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbSettings {
    /// `DB_POOL_SIZE`: connections in the serving pool. Default 16 on PostgreSQL, 8 on SQLite.
    pub pool_size: Option<u32>,
    /// `DB_POOL_TIMEOUT_MS`: the longest a request waits for a pooled connection before it answers the
    /// retryable `SERVICE_UNAVAILABLE`. Default 5000.
    pub pool_timeout: Duration,
    /// `DB_STATEMENT_TIMEOUT_MS`: PostgreSQL `statement_timeout` of every serving connection. Default 15000.
    pub statement_timeout: Duration,
    /// `DB_LOCK_TIMEOUT_MS`: PostgreSQL `lock_timeout`, and SQLite's `busy_timeout`. Default 5000.
    pub lock_timeout: Duration,
}

impl Default for DbSettings {
    fn default() -> Self {
        Self {
            pool_size: None,
            pool_timeout: Duration::from_millis(5000),
            statement_timeout: Duration::from_millis(15_000),
            lock_timeout: Duration::from_millis(5000),
        }
    }
}

impl DbSettings {
    pub fn from_env() -> Result<Self, crate::config::ConfigError> {
        fn read(name: &str, min: u64, max: u64) -> Result<Option<u64>, crate::config::ConfigError> {
            match std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (min..=max).contains(n))
                    .map(Some)
                    .ok_or_else(|| {
                        crate::config::ConfigError(format!("{name} must be a whole number from {min} to {max}"))
                    }),
            }
        }
        let d = Self::default();
        let ms = |v: Option<u64>, default: Duration| v.map_or(default, Duration::from_millis);
        Ok(Self {
            pool_size: read("DB_POOL_SIZE", 1, 1000)?.map(|n| n as u32),
            pool_timeout: ms(read("DB_POOL_TIMEOUT_MS", 10, 600_000)?, d.pool_timeout),
            statement_timeout: ms(read("DB_STATEMENT_TIMEOUT_MS", 100, 3_600_000)?, d.statement_timeout),
            lock_timeout: ms(read("DB_LOCK_TIMEOUT_MS", 10, 600_000)?, d.lock_timeout),
        })
    }
}

/// Connects the serving pool, with SQLite tuned for a server (WAL, a busy timeout, foreign keys on, full
/// synchronous commits) and PostgreSQL with statement and lock timeouts, and a statement counter.
pub async fn connect(
    database: &Database,
    settings: &DbSettings,
    metrics: &std::sync::Arc<Metrics>,
) -> Result<DatabaseConnection, DbErr> {
    let default_size = if database.url().starts_with("sqlite:") { 8 } else { 16 };
    let pool_size = settings.pool_size.unwrap_or(default_size);
    let mut db = SeaDatabase::connect(options(database, settings, pool_size)?)
        .await
        .map_err(|e| unreachable(database, e))?;
    let m = metrics.clone();
    db.set_metric_callback(move |info| {
        m.db_statements.inc();
        if info.failed {
            m.db_statement_errors.inc();
        }
    });
    Ok(db)
}

/// One connection for schema changes and bulk loads. Migrations run on it and it is closed before the serving
/// pool opens: SQLite connections that loaded the schema while it was changing can prepare statements against
/// the old one (a stale column list, or "index already exists"), so no pooled connection may live through a
/// migration. Refuses a database whose schema is newer than this binary (see [`check_schema_not_newer`]).
pub async fn connect_maintenance(database: &Database) -> Result<DatabaseConnection, DbErr> {
    let settings = DbSettings {
        // Migrations and bulk loads may legitimately run long.
        statement_timeout: Duration::ZERO,
        ..DbSettings::default()
    };
    let conn = SeaDatabase::connect(options(database, &settings, 1)?)
        .await
        .map_err(|e| unreachable(database, e))?;
    check_schema_not_newer(&conn).await?;
    Ok(conn)
}

/// The URL with any password replaced, fit for logs and error messages.
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

fn unreachable(database: &Database, err: DbErr) -> DbErr {
    DbErr::Custom(format!(
        "cannot connect to the database at {}: {err}",
        redacted_url(&database.url())
    ))
}

/// Refuses to go on when the database has migrations applied that this binary does not know: an older
/// release would otherwise serve against a schema it does not understand.
pub async fn check_schema_not_newer(conn: &DatabaseConnection) -> Result<(), DbErr> {
    use migration::MigratorTrait;
    // A database that was never migrated has no such table: nothing is newer than this binary.
    let Ok(applied) = crate::store::schema::applied_migrations(conn).await else {
        return Ok(());
    };
    let known: std::collections::HashSet<String> = migration::Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let unknown: Vec<String> = applied.into_iter().filter(|v| !known.contains(v)).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(DbErr::Custom(format!(
        "the database schema is newer than this binary: it has migrations this release does not know ({}). \
         Run the release that applied them, or roll them back with that release's `migrate down` first.",
        unknown.join(", ")
    )))
}

/// How long a pooled connection may sit idle before it is pinged at checkout (HikariCP's "alive bypass window"
/// is the same idea, at 500 ms).
pub(crate) const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

fn options(database: &Database, settings: &DbSettings, pool_size: u32) -> Result<ConnectOptions, DbErr> {
    if let Database::Embedded { data_dir } = database {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", data_dir.display())))?;
    }
    let mut options = ConnectOptions::new(database.url());
    let lock_timeout = settings.lock_timeout;
    let statement_ms = settings.statement_timeout.as_millis().to_string();
    let lock_ms = lock_timeout.as_millis().to_string();
    options
        .max_connections(pool_size)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(settings.pool_timeout)
        // A connection is pinged before it is handed out only after it sat idle for a while: sqlx's default
        // pings on every checkout, one more round trip per statement (a request of two statements made four).
        // A connection used within the last second is known to work; one that broke since then fails its
        // statement, which answers SERVICE_UNAVAILABLE (retryable) and is not returned to the pool.
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
        .sqlx_logging(false)
        .map_sqlx_postgres_opts(move |o| {
            // 0 turns PostgreSQL's statement timeout off (the maintenance connection).
            o.options([
                ("statement_timeout", statement_ms.as_str()),
                ("lock_timeout", lock_ms.as_str()),
            ])
        })
        .map_sqlx_sqlite_opts(move |o| {
            // FULL: a commit is on disk before it is acknowledged, even across a power cut (NORMAL with WAL
            // survives a crashed process but may lose the last commits on power loss). Writes here are few
            // and small, so the extra fsync per commit is cheap.
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Full)
                .busy_timeout(lock_timeout)
                .foreign_keys(true)
                .create_if_missing(true)
        });
    Ok(options)
}
