//! Reads on PostgreSQL on connections kept by the server between statements.
//!
//! sqlx hands a pooled connection back to its pool through a spawned task that first pings the server (a `Sync`
//! and its `ReadyForQuery`: a round trip, and a wake-up of both processes) so that a statement cut off midway
//! cannot leave unread results for the next user; 0.9 has no option to skip it. sea-orm takes a connection from
//! the pool for each statement, so every read cost two round trips on the database connection, one of them
//! the ping (measured with `strace`: four `sendto` per member-by-id request for its two statements). A
//! [`Reader`] keeps up to half the pool's connections checked out of it, idle between statements, and runs the
//! hot reads (pages, loads by id, the account check) on them: a statement that completes hands its connection
//! back to the reader, with nothing pending on it. A statement that fails or is cut off (its request dropped)
//! drops its connection into sqlx's pool instead, whose release ping tests and flushes it as before. Without a
//! reader in scope (SQLite, background tasks, tools) the reads go through sea-orm as everything else does.
//!
//! The reader is in scope for a request's whole handling ([`scope`], around the GraphQL endpoint), which is one
//! task: the request's batched loads are driven inside it (`graphql::batch`).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::{PgPool, Postgres};
use sea_orm::{ConnAcquireErr, DatabaseConnection, DbBackend, DbErr, QueryResult, RuntimeErr, Statement};
use sea_query_sqlx::SqlxValues;

use crate::db::Metrics;

tokio::task_local! {
    static READER: Arc<Reader>;
}

/// Connections checked out of the serving pool for reads, and the pool to take more from.
pub struct Reader {
    pool: PgPool,
    /// Newest last, with the time each was handed back.
    idle: Mutex<Vec<(Instant, PoolConnection<Postgres>)>>,
    /// The most connections kept idle: the rest of the pool stays free for writes and transactions.
    keep: usize,
    metrics: Arc<Metrics>,
}

impl Reader {
    /// A reader over the serving pool of `db`, on PostgreSQL; `None` on SQLite, where a statement has no
    /// round trip to save.
    pub fn new(db: &DatabaseConnection, metrics: Arc<Metrics>) -> Option<Arc<Self>> {
        if db.get_database_backend() != DbBackend::Postgres {
            return None;
        }
        let pool = db.get_postgres_connection_pool().clone();
        let keep = pool.options().get_max_connections() as usize / 2;
        let closed = pool.close_event();
        let reader = Arc::new(Self {
            pool,
            idle: Mutex::new(Vec::with_capacity(keep)),
            keep,
            metrics,
        });
        // Closing the pool waits for every connection checked out of it: the ones kept here go back as soon as
        // it starts to close (the reader itself may live on, in a server's state, for longer).
        let weak = Arc::downgrade(&reader);
        tokio::spawn(async move {
            closed.await;
            if let Some(reader) = weak.upgrade() {
                let idle = std::mem::take(&mut *reader.lock());
                drop(idle);
            }
        });
        Some(reader)
    }

    /// How many connections the reader holds idle (checked out of the pool, so not among its idle ones).
    pub fn idle(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(Instant, PoolConnection<Postgres>)>> {
        // Nothing is left half-done under the lock: a poisoned list is still a list of connections.
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A connection for one statement: the one handed back last, if it was in use within the time the pool
    /// trusts a connection without a ping ([`crate::db::PING_IF_IDLE_FOR`]), else one from the pool. Older
    /// ones go back to the pool, which pings them before it hands them out again.
    async fn lease(&self) -> Result<Lease<'_>, DbErr> {
        let (held, stale) = {
            let mut idle = self.lock();
            match idle.pop() {
                Some((since, conn)) if since.elapsed() < crate::db::PING_IF_IDLE_FOR => (Some(conn), Vec::new()),
                // The newest is stale, so all are.
                Some(newest) => {
                    let mut stale = std::mem::take(&mut *idle);
                    stale.push(newest);
                    (None, stale)
                }
                None => (None, Vec::new()),
            }
        };
        // Back to the pool, outside the lock.
        drop(stale);
        let conn = match held {
            Some(conn) => conn,
            None => self.pool.acquire().await.map_err(|e| match e {
                sea_orm::sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
                sea_orm::sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
                other => DbErr::Conn(RuntimeErr::SqlxError(other.into())),
            })?,
        };
        Ok(Lease {
            reader: self,
            conn: Some(conn),
        })
    }

    /// Counts a statement in `db_statements_total` (and its failure), as sea-orm's metric callback does for the
    /// statements sent through it.
    fn counted<T>(&self, result: Result<T, sea_orm::sqlx::Error>) -> Result<T, DbErr> {
        self.metrics.db_statements.inc();
        result.map_err(|e| {
            self.metrics.db_statement_errors.inc();
            DbErr::Query(RuntimeErr::SqlxError(e.into()))
        })
    }

    async fn fetch_all(&self, statement: &Statement) -> Result<Vec<QueryResult>, DbErr> {
        let mut lease = self.lease().await?;
        let rows = self.counted(query(statement).fetch_all(lease.conn()).await)?;
        lease.done();
        Ok(rows.into_iter().map(QueryResult::from).collect())
    }

    async fn fetch_optional(&self, statement: &Statement) -> Result<Option<QueryResult>, DbErr> {
        let mut lease = self.lease().await?;
        let row = self.counted(query(statement).fetch_optional(lease.conn()).await)?;
        lease.done();
        Ok(row.map(QueryResult::from))
    }
}

/// A connection in use by one statement. Handed back to the reader by [`Lease::done`] once the statement has
/// completed; dropped otherwise (an error, or the request dropped midway), into sqlx's pool and its ping.
struct Lease<'a> {
    reader: &'a Reader,
    conn: Option<PoolConnection<Postgres>>,
}

impl Lease<'_> {
    fn conn(&mut self) -> &mut sea_orm::sqlx::PgConnection {
        match self.conn.as_mut() {
            Some(conn) => conn,
            None => unreachable!("a lease holds its connection until done or dropped"),
        }
    }

    fn done(mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = self.reader.lock();
            if idle.len() < self.reader.keep && !self.reader.pool.is_closed() {
                idle.push((Instant::now(), conn));
            }
        }
    }
}

fn query(statement: &Statement) -> sea_orm::sqlx::query::Query<'_, Postgres, SqlxValues> {
    let values = statement.values.clone().unwrap_or(sea_orm::Values(Vec::new()));
    sea_orm::sqlx::query_with(sea_orm::sqlx::AssertSqlSafe(statement.sql.as_str()), SqlxValues(values))
}

/// Runs `work` with `reader` (if any) serving the reads of [`query_all`] and [`query_one`].
pub async fn scope<F: Future>(reader: Option<Arc<Reader>>, work: F) -> F::Output {
    match reader {
        Some(reader) => READER.scope(reader, work).await,
        None => work.await,
    }
}

fn current(db: &DatabaseConnection) -> Option<Arc<Reader>> {
    if db.get_database_backend() != DbBackend::Postgres {
        return None;
    }
    READER.try_with(Arc::clone).ok()
}

/// The rows of a read: on the reader's connections when one is in scope, else through sea-orm.
pub async fn query_all(db: &DatabaseConnection, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
    match current(db) {
        Some(reader) => reader.fetch_all(&statement).await,
        None => sea_orm::ConnectionTrait::query_all_raw(db, statement).await,
    }
}

/// A database connection whose reads ([`ConnectionTrait::query_one_raw`], [`ConnectionTrait::query_all_raw`])
/// run on the reader in scope, as [`query_all`]'s do; anything else goes through sea-orm. For code written over
/// any [`ConnectionTrait`] outside a transaction, such as a member update's checks and its one-statement write
/// (`graphql::mutation::mutate_member_update`): a statement that completes leaves nothing open, so a write sent
/// outside any `BEGIN` is as safe on a kept connection as a read.
pub struct Reads<'a>(pub &'a DatabaseConnection);

#[async_trait::async_trait]
impl sea_orm::ConnectionTrait for Reads<'_> {
    fn get_database_backend(&self) -> DbBackend {
        self.0.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<sea_orm::ExecResult, DbErr> {
        self.0.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<sea_orm::ExecResult, DbErr> {
        self.0.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        query_one(self.0, stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        query_all(self.0, stmt).await
    }
}

/// The first row of a read, like [`query_all`].
pub async fn query_one(db: &DatabaseConnection, statement: Statement) -> Result<Option<QueryResult>, DbErr> {
    match current(db) {
        Some(reader) => reader.fetch_optional(&statement).await,
        None => sea_orm::ConnectionTrait::query_one_raw(db, statement).await,
    }
}
