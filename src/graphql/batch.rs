//! Batch loading without a clock. A request's loaders gather the keys its resolvers ask for and load each type's
//! keys in one call to [`Loader::load`]; the batch is sent when the resolvers of the current level have all run
//! (the request's execution has nothing left to do but wait), not after a timer. The request's execution and its
//! batches are driven together in one task by [`Batcher::drive`] (called by the [`Engine`](super::engine::Engine)), so a lone
//! request sends its statements back to back and a busy server batches just as well: what joins a batch depends
//! on the query, never on the CPU's load.
//!
//! Outside a driven execution (code that builds a [`State`](super::State) and loads without going through the
//! schema) a batch is loaded on its own task after one yield, so nothing waits forever for a driver.

use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::Hash;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

use async_graphql::dataloader::Loader;
use async_graphql::futures_util::future::{BoxFuture, poll_fn};
use async_graphql::futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::oneshot;

use super::loaders::Store;
use crate::error::AppError;

/// The most keys one [`Loader::load`] call receives; a larger batch is loaded in chunks of this size, which keeps
/// every statement well under the databases' limits on bound parameters.
pub const MAX_BATCH: usize = 1000;

type Reply<K, V> = oneshot::Sender<Result<HashMap<K, V>, AppError>>;

/// The keys of one type waiting for their batch, and what has been loaded before (the request's cache): the
/// values found, and the keys that were looked for and found missing (out of the viewer's scope, say), so a
/// record that is not there is not looked for again by every resolver that meets it.
struct Pending<K, V> {
    keys: HashSet<K>,
    waiters: Vec<(Vec<K>, Reply<K, V>)>,
    scheduled: bool,
    cache: HashMap<K, V>,
    absent: HashSet<K>,
}

impl<K, V> Default for Pending<K, V> {
    fn default() -> Self {
        Self {
            keys: HashSet::new(),
            waiters: Vec::new(),
            scheduled: false,
            cache: HashMap::new(),
            absent: HashSet::new(),
        }
    }
}

#[derive(Default)]
struct Shared {
    by_type: HashMap<TypeId, Box<dyn Any + Send>>,
    /// Batches scheduled and not yet taken by the driver.
    queue: Vec<BoxFuture<'static, ()>>,
    /// Whether a driver runs the queue (set for the length of [`Batcher::drive`]).
    driven: bool,
    /// The driver's task, woken when a batch is scheduled from elsewhere.
    waker: Option<Waker>,
    /// Whether the driver is polling the execution right now: what it schedules is taken right after, unwoken.
    polling: bool,
    cache_disabled: bool,
}

struct Inner {
    store: Store,
    shared: Mutex<Shared>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A panic while the lock is held cannot leave the maps half-updated in a way that matters more than the
        // request that panicked; carry on with what is there.
        self.shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn pending<K, V>(shared: &mut Shared) -> &mut Pending<K, V>
where
    K: Send + 'static,
    V: Send + 'static,
{
    let slot = shared
        .by_type
        .entry(TypeId::of::<K>())
        .or_insert_with(|| Box::new(Pending::<K, V>::default()));
    // The map is keyed by the key's type and each key type has one value type, so the slot always holds a
    // `Pending<K, V>`; were it ever not to, it is replaced rather than panicking.
    if !slot.is::<Pending<K, V>>() {
        *slot = Box::new(Pending::<K, V>::default());
    }
    match slot.downcast_mut::<Pending<K, V>>() {
        Some(p) => p,
        None => unreachable!("the slot was just made to hold a Pending of this type"),
    }
}

/// What a request's cache knows of one key ([`Batcher::lookup`]).
pub enum Cached<V> {
    Found(V),
    /// Read, and found missing (outside the viewer's scope, or gone).
    Absent,
    /// Not read yet (or the cache is off).
    Unknown,
}

/// One request's batch loader over [`Store`]: a per-request cache and one pending batch per key type. Clones
/// share it.
#[derive(Clone)]
pub struct Batcher {
    inner: Arc<Inner>,
}

impl Batcher {
    pub fn new(store: Store) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                shared: Mutex::new(Shared::default()),
            }),
        }
    }

    /// The store the batches load from.
    pub fn loader(&self) -> &Store {
        &self.inner.store
    }

    /// Turns the request's cache on or off (mutations turn it off, so a write's result is read fresh).
    pub fn enable_all_cache(&self, enable: bool) {
        self.inner.lock().cache_disabled = !enable;
    }

    /// Runs `f` on the request's cache of key type `K`; `None` when the cache is off.
    fn with_cache<K, R>(&self, f: impl FnOnce(&mut Pending<K, <Store as Loader<K>>::Value>) -> R) -> Option<R>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        Store: Loader<K, Error = AppError>,
    {
        let mut shared = self.inner.lock();
        if shared.cache_disabled {
            return None;
        }
        Some(f(pending::<K, <Store as Loader<K>>::Value>(&mut shared)))
    }

    /// Puts values loaded some other way (a join) into the request's cache, so loads of these keys find them.
    pub fn feed_many<K>(&self, values: impl IntoIterator<Item = (K, <Store as Loader<K>>::Value)>)
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        Store: Loader<K, Error = AppError>,
    {
        self.with_cache(|waiting: &mut Pending<K, _>| {
            for (key, value) in values {
                waiting.absent.remove(&key);
                waiting.cache.insert(key, value);
            }
        });
    }

    /// Records keys that a read made some other way (a join under the same scope) looked for and did not find,
    /// so loads of them answer "missing" without a statement.
    pub fn feed_absent<K>(&self, keys: impl IntoIterator<Item = K>)
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        Store: Loader<K, Error = AppError>,
    {
        self.with_cache(|waiting: &mut Pending<K, _>| {
            let keys = keys.into_iter().filter(|key| !waiting.cache.contains_key(key));
            waiting.absent.extend(keys.collect::<Vec<_>>());
        });
    }

    /// Whether the request has read `key` already: its value is cached, or it was found missing.
    pub fn knows<K>(&self, key: &K) -> bool
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        Store: Loader<K, Error = AppError>,
    {
        self.with_cache(|waiting: &mut Pending<K, _>| waiting.cache.contains_key(key) || waiting.absent.contains(key))
            .unwrap_or(false)
    }

    /// The value of `key` if the request's cache holds it, without loading it.
    pub fn cached<K>(&self, key: &K) -> Option<<Store as Loader<K>>::Value>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        Store: Loader<K, Error = AppError>,
    {
        self.with_cache(|waiting: &mut Pending<K, _>| waiting.cache.get(key).cloned())
            .flatten()
    }

    /// What the request's cache knows of `key`, without loading it.
    pub fn lookup<K>(&self, key: &K) -> Cached<<Store as Loader<K>>::Value>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        Store: Loader<K, Error = AppError>,
    {
        self.with_cache(|waiting: &mut Pending<K, _>| match waiting.cache.get(key) {
            Some(value) => Cached::Found(value.clone()),
            None if waiting.absent.contains(key) => Cached::Absent,
            None => Cached::Unknown,
        })
        .unwrap_or(Cached::Unknown)
    }

    /// Loads one key: joins the current batch of its type.
    pub async fn load_one<K>(&self, key: K) -> Result<Option<<Store as Loader<K>>::Value>, AppError>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        Store: Loader<K, Error = AppError>,
    {
        let mut found = self.load_many(std::iter::once(key.clone())).await?;
        Ok(found.remove(&key))
    }

    /// Loads some keys: what is cached answers at once, the rest joins the current batch of its type.
    pub async fn load_many<K, I>(&self, keys: I) -> Result<HashMap<K, <Store as Loader<K>>::Value>, AppError>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        I: IntoIterator<Item = K>,
        Store: Loader<K, Error = AppError>,
    {
        let (mut found, rx) = {
            let mut shared = self.inner.lock();
            let cache_disabled = shared.cache_disabled;
            let driven = shared.driven;
            let waiting = pending::<K, <Store as Loader<K>>::Value>(&mut shared);
            let mut found = HashMap::new();
            let mut missing = Vec::new();
            for key in keys {
                match waiting.cache.get(&key).filter(|_| !cache_disabled) {
                    Some(value) => {
                        found.insert(key, value.clone());
                    }
                    None if !cache_disabled && waiting.absent.contains(&key) => {}
                    None => missing.push(key),
                }
            }
            if missing.is_empty() {
                return Ok(found);
            }
            waiting.keys.extend(missing.iter().cloned());
            let (tx, rx) = oneshot::channel();
            waiting.waiters.push((missing, tx));
            if !waiting.scheduled {
                waiting.scheduled = true;
                let batch = Box::pin(load_batch::<K>(self.inner.clone()));
                if driven {
                    shared.queue.push(batch);
                    if !shared.polling
                        && let Some(waker) = shared.waker.take()
                    {
                        waker.wake();
                    }
                } else {
                    tokio::spawn(async move {
                        tokio::task::yield_now().await;
                        batch.await;
                    });
                }
            }
            (found, rx)
        };
        let loaded = rx
            .await
            .map_err(|_| AppError::Internal("a batch load ended without an answer".into()))??;
        found.extend(loaded);
        Ok(found)
    }

    /// Runs `execution` and the batches it schedules in one task. The batches of a level start once `execution`
    /// is waiting on nothing but them, so each level of the query is one batch per key type.
    pub async fn drive<F: Future>(&self, execution: F) -> F::Output {
        struct Undrive<'a>(&'a Inner);
        impl Drop for Undrive<'_> {
            fn drop(&mut self) {
                let mut shared = self.0.lock();
                shared.driven = false;
                shared.waker = None;
                // Batches nobody will run any more: their waiters belong to this execution and are gone too.
                shared.queue.clear();
            }
        }

        self.inner.lock().driven = true;
        let _undrive = Undrive(&self.inner);
        let mut execution = pin!(execution);
        let mut running: FuturesUnordered<BoxFuture<'static, ()>> = FuturesUnordered::new();
        poll_fn(|cx| {
            loop {
                self.inner.lock().polling = true;
                let polled = execution.as_mut().poll(cx);
                {
                    let mut shared = self.inner.lock();
                    shared.polling = false;
                    if polled.is_ready() {
                        shared.queue.clear();
                    }
                    running.extend(shared.queue.drain(..));
                    shared.waker = Some(cx.waker().clone());
                }
                if let Poll::Ready(out) = polled {
                    return Poll::Ready(out);
                }
                let mut progressed = false;
                while let Poll::Ready(Some(())) = running.poll_next_unpin(cx) {
                    progressed = true;
                }
                if !progressed {
                    return Poll::Pending;
                }
            }
        })
        .await
    }
}

/// Takes the pending keys of type `K`, loads them and answers every waiter.
async fn load_batch<K>(inner: Arc<Inner>)
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    Store: Loader<K, Error = AppError>,
{
    let (keys, waiters) = {
        let mut shared = inner.lock();
        let waiting = pending::<K, <Store as Loader<K>>::Value>(&mut shared);
        waiting.scheduled = false;
        (std::mem::take(&mut waiting.keys), std::mem::take(&mut waiting.waiters))
    };
    if waiters.is_empty() {
        return;
    }
    let keys: Vec<K> = keys.into_iter().collect();
    let mut values = HashMap::with_capacity(keys.len());
    let mut failure = None;
    for chunk in keys.chunks(MAX_BATCH) {
        match inner.store.load(chunk).await {
            Ok(found) => values.extend(found),
            Err(err) => {
                failure = Some(err);
                break;
            }
        }
    }
    if let Some(err) = failure {
        for (_, reply) in waiters {
            let _ = reply.send(Err(err.clone()));
        }
        return;
    }
    {
        let mut shared = inner.lock();
        if !shared.cache_disabled {
            let waiting = pending::<K, <Store as Loader<K>>::Value>(&mut shared);
            for (key, value) in &values {
                waiting.cache.insert(key.clone(), value.clone());
            }
            for key in &keys {
                if !values.contains_key(key) {
                    waiting.absent.insert(key.clone());
                }
            }
        }
    }
    for (wanted, reply) in waiters {
        let answer = wanted
            .into_iter()
            .filter_map(|k| values.get(&k).map(|v| (k, v.clone())))
            .collect();
        let _ = reply.send(Ok(answer));
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use async_graphql::futures_util::future::join_all;

    use super::*;
    use crate::auth::Viewer;
    use crate::auth::policy::ReadScope;

    /// A key whose loads are recorded, so a test sees which keys travelled together.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    struct Probe(u32);

    thread_local! {
        // Each test runs on a current-thread runtime of its own thread, loads included.
        static BATCHES: RefCell<Vec<Vec<u32>>> = const { RefCell::new(Vec::new()) };
    }

    impl Loader<Probe> for Store {
        type Value = u32;
        type Error = AppError;

        async fn load(&self, keys: &[Probe]) -> Result<HashMap<Probe, u32>, AppError> {
            let mut batch: Vec<u32> = keys.iter().map(|k| k.0).collect();
            batch.sort_unstable();
            BATCHES.with_borrow_mut(|b| b.push(batch));
            // A database round trip: the driver must keep the execution going while a batch is out.
            tokio::task::yield_now().await;
            // Keys from 1000 up are records that do not exist (or lie outside the viewer's scope).
            Ok(keys.iter().filter(|k| k.0 < 1000).map(|k| (*k, k.0 * 10)).collect())
        }
    }

    async fn batcher() -> Batcher {
        let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        Batcher::new(Store {
            db,
            scope: ReadScope::of(&Viewer::Anonymous, None),
        })
    }

    /// Each parent loads its own key, then its child's: two levels of ten.
    async fn two_levels(loader: &Batcher) -> Vec<u32> {
        join_all((0..10).map(|i| async move {
            let parent = loader.load_one(Probe(i)).await.unwrap().unwrap();
            loader.load_one(Probe(100 + parent)).await.unwrap().unwrap()
        }))
        .await
    }

    #[tokio::test]
    async fn each_level_is_one_batch_sent_without_waiting_on_the_clock() {
        let loader = batcher().await;
        // From here on the clock moves only when every task waits on a timer.
        tokio::time::pause();
        let started = tokio::time::Instant::now();
        let values = loader.drive(two_levels(&loader)).await;
        // With the clock paused, any timer would have advanced it; the batches were sent at once.
        assert_eq!(tokio::time::Instant::now(), started);
        assert_eq!(values, (0..10).map(|i| (100 + i * 10) * 10).collect::<Vec<_>>());
        let batches = BATCHES.take();
        assert_eq!(
            batches,
            vec![(0..10).collect::<Vec<_>>(), (0..10).map(|i| 100 + i * 10).collect()]
        );
        // The second time, everything comes from the request's cache.
        loader.drive(two_levels(&loader)).await;
        assert!(BATCHES.take().is_empty());
    }

    #[tokio::test]
    async fn a_missing_record_is_looked_for_once_per_request() {
        let loader = batcher().await;
        let found = loader
            .drive(loader.load_many([Probe(1), Probe(1001), Probe(1002)]))
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(BATCHES.take(), vec![vec![1, 1001, 1002]]);
        // Asked again, alone or with a new key: the missing ones are known missing, only the new key travels.
        assert_eq!(loader.drive(loader.load_one(Probe(1001))).await.unwrap(), None);
        let again = loader.drive(loader.load_many([Probe(1002), Probe(2)])).await.unwrap();
        assert_eq!(again.get(&Probe(2)), Some(&20));
        assert_eq!(again.len(), 1);
        assert_eq!(BATCHES.take(), vec![vec![2]]);
        assert!(loader.knows(&Probe(1001)) && loader.knows(&Probe(2)) && !loader.knows(&Probe(3)));
        // Keys recorded missing by a read made another way are not looked for either, until a value is fed.
        loader.feed_absent([Probe(5)]);
        assert_eq!(loader.drive(loader.load_one(Probe(5))).await.unwrap(), None);
        assert!(BATCHES.take().is_empty());
        loader.feed_many([(Probe(5), 55)]);
        assert_eq!(loader.drive(loader.load_one(Probe(5))).await.unwrap(), Some(55));
        // With the cache off (a mutation), every load reads afresh.
        loader.enable_all_cache(false);
        assert_eq!(loader.drive(loader.load_one(Probe(1001))).await.unwrap(), None);
        assert_eq!(BATCHES.take(), vec![vec![1001]]);
    }

    #[tokio::test]
    async fn loads_outside_a_driven_execution_still_complete() {
        let loader = batcher().await;
        let values = two_levels(&loader).await;
        assert_eq!(values.len(), 10);
        assert_eq!(values[3], (100 + 30) * 10);
    }
}
