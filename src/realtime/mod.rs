//! Live updates: the change log ([`changes`]), the hub that fans committed changes out to this instance's
//! subscriptions, and the `graphql-transport-ws` endpoint ([`ws`]).
//!
//! The hub reads the change log itself, from the last position it delivered, whenever it is woken (numbering
//! the committed changes that wait for a position first, [`changes::sequence`]): on PostgreSQL by
//! `LISTEN` on [`changes::CHANNEL`] (every instance hears every commit of every other: after its mutations
//! commit, each instance announces them there, one `NOTIFY` per burst of commits and at most one per
//! [`ANNOUNCE_GAP`], [`changes::announce`]), on SQLite by [`Hub::committed`], called after each mutation
//! commits in this process. A slow poll backs both up (a listener reconnecting, a missed wake), and because it
//! reads the log rather than trusting the notification, nothing is delivered twice or skipped.
//! With no subscriber on this instance there is nothing to deliver: the hub then follows only the log's head, at
//! most once per [`IDLE_CATCH_UP`], instead of reading every change (a busy writer's commits cost it no reads).

pub mod changes;
pub mod ws;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::{Notify, broadcast, mpsc};

pub use changes::ChangeRow;

/// How often the hub looks at the log without being woken.
/// Changes buffered per subscriber; a subscriber that falls further behind skips ahead (and is told so in the
/// log: it can resume with `changes(after:)`).
const BUFFER: usize = 1024;

struct Inner {
    sender: broadcast::Sender<Arc<ChangeRow>>,
    sockets: AtomicUsize,
    /// Woken by this instance's own commits (SQLite has no `NOTIFY`). One per hub, so one database's commits
    /// never set another's reader reading (several servers share a process in the tests).
    wake: Arc<Notify>,
    /// On PostgreSQL, the announcer of this instance's commits: holds at most one pending wake, so commits that
    /// come while an announcement is under way share the next one. Dropped with the hub, which stops it.
    announce: Option<mpsc::Sender<()>>,
}

/// Fans committed changes out to subscriptions; counts open sockets.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

/// An open WebSocket, counted until dropped.
pub struct SocketPermit {
    inner: Arc<Inner>,
}

impl Drop for SocketPermit {
    fn drop(&mut self) {
        self.inner.sockets.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Hub {
    /// Starts the hub's reader for `db` (whose URL is `url`). It stops by itself once the hub is dropped.
    /// `poll` bounds how late a change written by another process is noticed when no notification arrives;
    /// `reads` counts the reader's reads of the log, `statements` the statements they cost.
    pub async fn start(
        db: DatabaseConnection,
        url: &str,
        poll: Duration,
        reads: prometheus::IntCounter,
        statements: prometheus::IntCounter,
    ) -> Result<Self, sea_orm::DbErr> {
        let (sender, _) = broadcast::channel(BUFFER);
        let wake = Arc::new(Notify::new());
        let announce = (db.get_database_backend() == DbBackend::Postgres).then(|| {
            let (announce, pending) = mpsc::channel(1);
            tokio::spawn(announcer(db.clone(), pending, statements.clone()));
            announce
        });
        let inner = Arc::new(Inner {
            sender,
            sockets: AtomicUsize::new(0),
            wake: wake.clone(),
            announce,
        });
        let last = numbered_then(&db, &statements, async |db| changes::head(db).await).await?;
        let listener = match db.get_database_backend() {
            DbBackend::Postgres => {
                // A connection of its own, outside the serving pool: a listener holds its connection for as long
                // as it lives, and taking it from the pool would leave requests one connection short.
                let mut listener = sea_orm::sqlx::postgres::PgListener::connect(url)
                    .await
                    .map_err(|e| sea_orm::DbErr::Custom(format!("LISTEN connection failed: {e}")))?;
                listener
                    .listen(changes::CHANNEL)
                    .await
                    .map_err(|e| sea_orm::DbErr::Custom(format!("LISTEN failed: {e}")))?;
                Some(listener)
            }
            _ => None,
        };
        let reader = Reader {
            db,
            listener,
            poll,
            reads,
            statements,
        };
        tokio::spawn(reader.run(Arc::downgrade(&inner), wake, last));
        Ok(Self { inner })
    }

    /// Tells this hub's reader that a change was committed (on PostgreSQL, every instance's reader, through the
    /// announcer). A wake-up while it is reading is kept for its next wait, so no commit waits for the fallback
    /// poll.
    pub fn committed(&self) {
        match &self.inner.announce {
            // Full: an announcement is already pending, and it is sent after this commit.
            Some(announce) => {
                let _ = announce.try_send(());
            }
            None => self.inner.wake.notify_one(),
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ChangeRow>> {
        self.inner.sender.subscribe()
    }

    /// Admits one more socket unless `max` are open.
    pub fn open_socket(&self, max: usize) -> Option<SocketPermit> {
        let open = self.inner.sockets.fetch_add(1, Ordering::SeqCst);
        let permit = SocketPermit {
            inner: self.inner.clone(),
        };
        (open < max).then_some(permit)
    }
}

/// The least time between two announcements of one instance: the commits of a steady writer are announced
/// together, at most this late, instead of one `NOTIFY` each (every one of which also wakes every listener).
/// The first commit after a quiet spell is announced at once.
const ANNOUNCE_GAP: Duration = Duration::from_millis(5);

/// Sends one announcement ([`changes::announce`]) per wake in `pending`, at most one per [`ANNOUNCE_GAP`] (the
/// commits that come meanwhile wait in `pending` and share the next), until the hub is dropped, counting each
/// in `statements` (the change feed's). A failed one is logged: the listeners' fallback poll then finds the
/// changes.
async fn announcer(db: DatabaseConnection, mut pending: mpsc::Receiver<()>, statements: prometheus::IntCounter) {
    while pending.recv().await.is_some() {
        statements.inc();
        if let Err(e) = changes::announce(&db).await {
            tracing::warn!(error = %e, "announcing committed changes failed; listeners will find them by polling");
        }
        tokio::time::sleep(ANNOUNCE_GAP).await;
    }
}

/// Numbers the committed changes that wait for a position ([`changes::sequence`]), then runs `read` (one
/// statement), counting the statements of both in `statements`.
async fn numbered_then<T>(
    db: &DatabaseConnection,
    statements: &prometheus::IntCounter,
    read: impl AsyncFnOnce(&DatabaseConnection) -> Result<T, sea_orm::DbErr>,
) -> Result<T, sea_orm::DbErr> {
    let run = changes::sequence(db).await?;
    statements.inc_by(run.statements + 1);
    read(db).await
}

/// The hub's reader of the change log: what it reads with and how it is woken.
struct Reader {
    db: DatabaseConnection,
    listener: Option<sea_orm::sqlx::postgres::PgListener>,
    poll: Duration,
    reads: prometheus::IntCounter,
    statements: prometheus::IntCounter,
}

/// With no subscriber, how long the hub's position may trail the log after a commit: the position is then caught
/// up from the log's head alone, at most once per this interval however many commits are heard.
const IDLE_CATCH_UP: Duration = Duration::from_millis(100);

impl Reader {
    async fn run(self, hub: Weak<Inner>, wake: Arc<Notify>, last: i64) {
        let Self {
            db,
            mut listener,
            poll,
            reads,
            statements,
        } = self;
        let mut last = last;
        // When no subscriber listens, commits heard since the position last caught up, and when that was.
        let mut behind = false;
        let mut caught_up = tokio::time::Instant::now();
        loop {
            let woken = async {
                match listener.as_mut() {
                    Some(l) => {
                        if let Err(e) = l.recv().await {
                            // PgListener reconnects by itself on the next recv; the poll covers the gap.
                            tracing::warn!(error = %e, "change listener lost its connection");
                            tokio::time::sleep(poll).await;
                        }
                        // Commits heard while the last read ran are all covered by the next one.
                        while l.next_buffered().is_some() {}
                    }
                    None => wake.notified().await,
                }
            };
            let catch_up = async {
                if behind {
                    tokio::time::sleep_until(caught_up + IDLE_CATCH_UP).await
                } else {
                    std::future::pending().await
                }
            };
            let heard = tokio::select! {
                _ = woken => true,
                _ = catch_up => false,
                _ = tokio::time::sleep(poll) => false,
            };
            let Some(inner) = hub.upgrade() else {
                return;
            };
            if inner.sender.receiver_count() == 0 {
                // Nothing to deliver, but the position must follow the log, or a subscriber arriving later would
                // be sent what was committed before it came. The log's head (one index probe) is enough, and a
                // busy writer needs it once per IDLE_CATCH_UP, not once per commit: the rows are left unread.
                if heard && caught_up.elapsed() < IDLE_CATCH_UP {
                    behind = true;
                    continue;
                }
                // Numbered first: a change committed before now must not be numbered above the position later
                // and sent to a subscriber who came after it.
                let head = numbered_then(&db, &statements, async |db| changes::head(db).await).await;
                reads.inc();
                match head {
                    Ok(head) => {
                        last = last.max(head);
                        behind = false;
                        caught_up = tokio::time::Instant::now();
                    }
                    Err(e) => tracing::warn!(error = %e, "reading the change log's head failed; retrying"),
                }
                continue;
            }
            behind = false;
            loop {
                let read = numbered_then(&db, &statements, async |db| changes::read(db, last, 500, None).await).await;
                reads.inc();
                match read {
                    Ok(rows) => {
                        let full = rows.len() == 500;
                        for row in rows {
                            last = row.seq;
                            // A subscriber gone since the count above is not an error.
                            let _ = inner.sender.send(Arc::new(row));
                        }
                        if !full {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "reading the change log failed; retrying");
                        break;
                    }
                }
            }
            caught_up = tokio::time::Instant::now();
        }
    }
}
