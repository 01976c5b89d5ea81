//! The database connection and the process metrics. Every SQL statement the connection sends increments
//! `db_statements_total`, counted by sea-orm's metric callback, so statement counts are measured, not assumed.

use std::time::Duration;

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TextEncoder};
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
        })
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

/// Connects the serving pool, with SQLite tuned for a server (WAL, a busy timeout, foreign keys on) and a
/// statement counter.
pub async fn connect(database: &Database, metrics: &std::sync::Arc<Metrics>) -> Result<DatabaseConnection, DbErr> {
    let pool_size = if database.url().starts_with("sqlite:") { 8 } else { 16 };
    let mut db = SeaDatabase::connect(options(database, pool_size)?).await?;
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
/// migration.
pub async fn connect_maintenance(database: &Database) -> Result<DatabaseConnection, DbErr> {
    SeaDatabase::connect(options(database, 1)?).await
}

fn options(database: &Database, pool_size: u32) -> Result<ConnectOptions, DbErr> {
    if let Database::Embedded { data_dir } = database {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", data_dir.display())))?;
    }
    let mut options = ConnectOptions::new(database.url());
    options
        .max_connections(pool_size)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .create_if_missing(true)
        });
    Ok(options)
}
