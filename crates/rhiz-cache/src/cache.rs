//! The two-level cache: lookups across tiers, single-flight computation,
//! stale fallback, invalidation.

use std::collections::{HashMap, VecDeque};
use std::error::Error as StdError;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::future::{BoxFuture, FutureExt, Shared};
use serde::{de::DeserializeOwned, Serialize};
use tokio::task::AbortHandle;

use crate::class::KeyClass;
use crate::clock::now_micros;
use crate::codec::{decode_value, encode_value, Entry};
use crate::invalidation::Message;
use crate::l1::L1;
use crate::l2::L2;
use crate::stats::{bump, ClassCounters, Counters, Snapshot};
use crate::tags::{TagCheck, TagClock};
use crate::{BreakerState, CacheError, CacheStats, Delivery, Invalidation};

type ComputeError = Arc<dyn StdError + Send + Sync>;
type Flight = Shared<BoxFuture<'static, Result<Arc<Entry>, ComputeError>>>;

/// A computation in progress, with what decides whether a caller may join it.
pub(crate) struct Running {
    flight: Flight,
    id: u64,
    /// When it started (its result is stamped with this time).
    started: u64,
    tags: Box<[Box<str>]>,
}

/// A two-level cache. Cheap to clone: clones share everything.
///
/// Built with [`Cache::builder`]; see the [crate documentation](crate) for
/// an example and for how the tiers, classes and invalidation fit together.
#[derive(Clone)]
pub struct Cache {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Slot {
    pub(crate) class: KeyClass,
    pub(crate) counters: ClassCounters,
}

pub(crate) struct Inner {
    pub(crate) instance_id: String,
    /// Few classes: a linear scan of short names beats hashing.
    pub(crate) classes: Box<[Arc<Slot>]>,
    pub(crate) l1: L1,
    pub(crate) l2: Option<L2>,
    pub(crate) tags: TagClock,
    pub(crate) counters: Arc<Counters>,
    /// How long tag times are kept in L2: the longest any value can live.
    pub(crate) tag_ttl: Option<Duration>,
    pub(crate) flights: Mutex<HashMap<String, Running>>,
    pub(crate) next_flight: AtomicU64,
    /// The latest key or pattern invalidation applied here, µs since the
    /// epoch: a computation started before it may have read what it removed.
    pub(crate) keys_invalidated_at: AtomicU64,
    pub(crate) pending: tokio::sync::Mutex<VecDeque<Message>>,
    pub(crate) has_pending: AtomicBool,
    pub(crate) subscriber: Mutex<Option<AbortHandle>>,
}

/// What the tiers hold for a key.
enum Found {
    Fresh(Arc<Entry>),
    /// Expired but within the class's maximum staleness.
    Stale(Arc<Entry>),
    Miss,
}

impl Found {
    fn is_fresh(&self) -> bool {
        matches!(self, Found::Fresh(_))
    }

    /// The better of two answers: fresh over stale over miss, newer stale
    /// over older.
    fn or(self, other: Found) -> Found {
        match (self, other) {
            (Found::Fresh(e), _) | (_, Found::Fresh(e)) => Found::Fresh(e),
            (Found::Stale(a), Found::Stale(b)) => {
                Found::Stale(if b.created > a.created { b } else { a })
            }
            (Found::Stale(e), Found::Miss) | (Found::Miss, Found::Stale(e)) => Found::Stale(e),
            (Found::Miss, Found::Miss) => Found::Miss,
        }
    }
}

/// L2 health as seen by [`Cache::health`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
#[non_exhaustive]
pub enum L2Health {
    /// No Redis is configured.
    Disabled,
    /// Redis answered a PING.
    Up {
        /// The PING's round trip in microseconds.
        round_trip_micros: u64,
    },
    /// Redis did not answer in time, or answered with an error.
    Down {
        /// What went wrong.
        error: String,
    },
}

/// The result of [`Cache::health`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Health {
    /// The L2 round trip.
    pub l2: L2Health,
    /// The Redis circuit breaker after the check; `None` without L2.
    pub breaker: Option<BreakerState>,
}

thread_local! {
    static FULL_KEY: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

fn full_key(class: &str, key: &str) -> String {
    let mut full = String::with_capacity(class.len() + 1 + key.len());
    full.push_str(class);
    full.push(':');
    full.push_str(key);
    full
}

impl Cache {
    fn slot(&self, class: &str) -> Result<&Arc<Slot>, CacheError> {
        self.inner
            .classes
            .iter()
            .find(|slot| slot.class.name == class)
            .ok_or_else(|| CacheError::UnknownClass(class.to_owned()))
    }

    /// The fresh value of `key` in `class`, from L1 or else L2 (promoted to
    /// L1 on the way). A value that does not decode as `T` is a miss.
    pub async fn get<T: DeserializeOwned>(
        &self,
        class: &str,
        key: &str,
    ) -> Result<Option<T>, CacheError> {
        let slot = self.slot(class)?;
        let found = match self.inner.lookup_l1_parts(slot, class, key) {
            fresh @ Found::Fresh(_) => fresh,
            // Boxed: the L2 path's state is large, and an L1 hit (which
            // completes on its first poll) should not carry or move it.
            found => Box::pin(self.inner.lookup_l2_one(slot, class, key, found)).await,
        };
        Ok(match found {
            Found::Fresh(entry) => decode_value(&entry.payload),
            Found::Stale(_) | Found::Miss => None,
        })
    }

    /// The fresh values of several keys of one class: L1 first, then one
    /// `MGET` for all the keys L1 did not answer.
    pub async fn get_many<T: DeserializeOwned>(
        &self,
        class: &str,
        keys: &[&str],
    ) -> Result<Vec<Option<T>>, CacheError> {
        let slot = self.slot(class)?;
        let keys: Vec<String> = keys.iter().map(|k| full_key(class, k)).collect();
        let found = keys.iter().map(|k| self.inner.lookup_l1(slot, k)).collect();
        let found = self.inner.lookup_l2(slot, &keys, found).await;
        Ok(found
            .into_iter()
            .map(|f| match f {
                Found::Fresh(entry) => decode_value(&entry.payload),
                Found::Stale(_) | Found::Miss => None,
            })
            .collect())
    }

    /// The values of several keys of one class, each tagged with its own
    /// key (a class of one value per entity, say per DID): L1 first, then
    /// one `MGET`, then one call of `compute` with the keys neither tier
    /// answered, in the order given, which returns their values in that
    /// order.
    ///
    /// The computed values are stored as [`get_or_compute`](Self::get_or_compute)
    /// stores its value: stamped with the time the computation started, and
    /// kept out of the cache if something concerning a key was invalidated
    /// meanwhile (they are still returned). Unlike `get_or_compute`, there is
    /// no single flight, soft timeout or stale-on-error: meant for cheap
    /// batched reads (one store query for a page of profiles).
    ///
    /// # Errors
    ///
    /// [`CacheError::UnknownClass`], and [`CacheError::Compute`] when
    /// `compute` fails or returns a different number of values than keys.
    ///
    /// ```
    /// # async fn demo() -> Result<(), rhiz_cache::CacheError> {
    /// use rhiz_cache::{Cache, KeyClass};
    ///
    /// let cache = Cache::builder().class(KeyClass::new("name", None)).build()?;
    /// let upper = |keys: Vec<String>| async move {
    ///     Ok::<_, std::io::Error>(keys.iter().map(|k| k.to_uppercase()).collect())
    /// };
    /// let names: Vec<String> = cache.get_or_compute_many("name", &["ada", "bob"], upper).await?;
    /// assert_eq!(names, ["ADA", "BOB"]);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn get_or_compute_many<T, E, F, Fut>(
        &self,
        class: &str,
        keys: &[&str],
        compute: F,
    ) -> Result<Vec<T>, CacheError>
    where
        T: Serialize + DeserializeOwned,
        E: Into<Box<dyn StdError + Send + Sync>>,
        F: FnOnce(Vec<String>) -> Fut,
        Fut: Future<Output = Result<Vec<T>, E>>,
    {
        let mut values: Vec<Option<T>> = self.get_many(class, keys).await?;
        let missing: Vec<usize> = (0..keys.len()).filter(|&i| values[i].is_none()).collect();
        if missing.is_empty() {
            return Ok(values.into_iter().flatten().collect());
        }
        let slot = self.slot(class)?;
        bump(&slot.counters.computations);
        let started = now_micros();
        let asked = missing.iter().map(|&i| keys[i].to_owned()).collect();
        let computed = compute(asked).await.map_err(|e| {
            CacheError::Compute(Arc::from(e.into() as Box<dyn StdError + Send + Sync>))
        })?;
        if computed.len() != missing.len() {
            return Err(CacheError::Compute(Arc::from(Box::<
                dyn StdError + Send + Sync,
            >::from(format!(
                "asked for {} values, computed {}",
                missing.len(),
                computed.len()
            )))));
        }
        let full: Vec<String> = missing.iter().map(|&i| full_key(class, keys[i])).collect();
        let mut stores = Vec::with_capacity(missing.len());
        for ((&i, full), value) in missing.iter().zip(&full).zip(computed) {
            let entry = Inner::entry(slot, started, &[keys[i]], encode_value(&value)?);
            if self.inner.still_valid(started, &entry.tags) {
                stores.push(self.inner.store(slot, full, Arc::new(entry)));
            }
            values[i] = Some(value);
        }
        futures_util::future::join_all(stores).await;
        Ok(values.into_iter().flatten().collect())
    }

    /// Stores `value` under `key` in the tiers of `class`, carrying `tags`.
    ///
    /// An unreachable L2 is not an error: the value is then held by L1
    /// only (if the class is placed there).
    pub async fn set<T: Serialize>(
        &self,
        class: &str,
        key: &str,
        value: &T,
        tags: &[&str],
    ) -> Result<(), CacheError> {
        let slot = self.slot(class)?;
        let entry = Inner::entry(slot, now_micros(), tags, encode_value(value)?);
        self.inner
            .store(slot, &full_key(class, key), Arc::new(entry))
            .await;
        Ok(())
    }

    /// The value of `key` in `class`, computed by `compute` on a miss.
    ///
    /// - **Single-flight**: concurrent misses of one key in this process run
    ///   `compute` once; the others wait for its result. The computation runs
    ///   as its own task, so it completes and fills the cache even if every
    ///   caller has gone (see the soft timeout).
    /// - **Soft timeout** (class option): if an expired value within the
    ///   class's maximum staleness exists and the computation takes longer
    ///   than the soft timeout, that value is returned now.
    /// - **Stale-on-error**: if the computation fails, an expired value
    ///   within the maximum staleness is returned instead; past it, the
    ///   error is ([`CacheError::Compute`]).
    /// - **Eager refresh** (class option): a hit late in the value's TTL
    ///   starts a background recomputation and returns the current value.
    ///
    /// `tags` are attached to the computed value. A tag invalidated while the
    /// computation runs invalidates its result too (it is stamped with the
    /// time the computation started).
    pub async fn get_or_compute<T, E, F, Fut>(
        &self,
        class: &str,
        key: &str,
        tags: &[&str],
        compute: F,
    ) -> Result<T, CacheError>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        E: Into<Box<dyn StdError + Send + Sync>>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let slot = self.slot(class)?;
        let (found, compute) = match self.inner.lookup_l1_parts(slot, class, key) {
            Found::Fresh(entry) => {
                match self.serve_fresh(slot, class, key, tags, &entry, compute) {
                    Ok(value) => return Ok(value),
                    Err(compute) => (Found::Fresh(entry), compute),
                }
            }
            found => (found, compute),
        };
        // Boxed, as in `get`: only a miss of L1 pays for the larger state.
        Box::pin(self.compute_on_miss(slot, class, key, tags, compute, found)).await
    }

    /// The value of a fresh entry, starting its eager refresh if it is due;
    /// `compute` is given back if the entry does not decode as `T`.
    fn serve_fresh<T, E, F, Fut>(
        &self,
        slot: &Arc<Slot>,
        class: &str,
        key: &str,
        tags: &[&str],
        entry: &Entry,
        compute: F,
    ) -> Result<T, F>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        E: Into<Box<dyn StdError + Send + Sync>>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let Some(value) = decode_value(&entry.payload) else {
            return Err(compute);
        };
        // The clock is read only for classes with eager refresh.
        if slot
            .class
            .refresh_at(entry.created)
            .is_some_and(|at| now_micros() >= at)
        {
            drop(self.flight(slot, full_key(class, key), tags, compute));
        }
        Ok(value)
    }

    /// [`get_or_compute`](Self::get_or_compute) past L1: `found` is what L1
    /// had (fresh only if it did not decode as `T`).
    async fn compute_on_miss<T, E, F, Fut>(
        &self,
        slot: &Arc<Slot>,
        class: &str,
        key: &str,
        tags: &[&str],
        compute: F,
        found: Found,
    ) -> Result<T, CacheError>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        E: Into<Box<dyn StdError + Send + Sync>>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let found = match found {
            // L1's fresh answer is final, even if it does not decode.
            fresh @ Found::Fresh(_) => fresh,
            found => self.inner.lookup_l2_one(slot, class, key, found).await,
        };
        let (stale, compute) = match found {
            Found::Fresh(entry) => {
                match self.serve_fresh(slot, class, key, tags, &entry, compute) {
                    Ok(value) => return Ok(value),
                    Err(compute) => (None, compute),
                }
            }
            Found::Stale(entry) => (Some(entry), compute),
            Found::Miss => (None, compute),
        };
        let flight = self.flight(slot, full_key(class, key), tags, compute);
        let outcome = match slot.class.soft_timeout.filter(|_| stale.is_some()) {
            Some(soft) => match tokio::time::timeout(soft, flight.clone()).await {
                Ok(outcome) => outcome,
                Err(_) => match usable_stale(slot, stale.as_deref()) {
                    Some(value) => return Ok(value),
                    None => flight.await,
                },
            },
            None => flight.await,
        };
        match outcome {
            Ok(entry) => decode_value(&entry.payload).ok_or_else(|| {
                CacheError::Compute(Arc::from(Box::<dyn StdError + Send + Sync>::from(
                    "computed value does not decode as its own type",
                )))
            }),
            Err(error) => usable_stale(slot, stale.as_deref()).ok_or(CacheError::Compute(error)),
        }
    }

    /// Joins the computation of `key` running in this process, or starts it.
    ///
    /// A running computation is joined only if nothing that may concern it
    /// was invalidated since it started (one of its tags, or any key or
    /// pattern): its result could predate the invalidation, and a caller
    /// arriving after an invalidation must never receive what it removed.
    /// Such a computation is left to finish alone and a new one starts.
    fn flight<T, E, F, Fut>(
        &self,
        slot: &Arc<Slot>,
        key: String,
        tags: &[&str],
        compute: F,
    ) -> Flight
    where
        T: Serialize + Send + 'static,
        E: Into<Box<dyn StdError + Send + Sync>>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let inner = &self.inner;
        let mut flights = inner.flights.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(running) = flights.get(&key) {
            if inner.still_valid(running.started, &running.tags) {
                return running.flight.clone();
            }
        }
        bump(&slot.counters.computations);
        let started = now_micros();
        let id = inner.next_flight.fetch_add(1, Ordering::Relaxed);
        let tags: Box<[Box<str>]> = tags.iter().map(|&t| Box::from(t)).collect();
        let landing = Landing {
            inner: Arc::clone(inner),
            key: key.clone(),
            id,
        };
        let slot = Arc::clone(slot);
        let computation = compute();
        let entry_tags = tags.clone();
        let task = tokio::spawn(async move {
            let landing = landing;
            let value = computation
                .await
                .map_err(|e| ComputeError::from(e.into()))?;
            let payload = encode_value(&value).map_err(|e| Arc::new(e) as ComputeError)?;
            let inner = &landing.inner;
            let tags: Vec<&str> = entry_tags.iter().map(|t| &**t).collect();
            let entry = Arc::new(Inner::entry(&slot, started, &tags, payload));
            // A result that may predate an invalidation is returned to its
            // callers but not stored: a key or pattern invalidation leaves
            // no trace a reader could check (unlike a tag's time), and it
            // must not replace a newer value.
            if inner.still_valid(started, &entry_tags) {
                inner.store(&slot, &landing.key, Arc::clone(&entry)).await;
            }
            Ok(entry)
        });
        let flight = async move {
            task.await
                .unwrap_or_else(|e| Err(Arc::new(e) as ComputeError))
        }
        .boxed()
        .shared();
        flights.insert(
            key,
            Running {
                flight: flight.clone(),
                id,
                started,
                tags,
            },
        );
        flight
    }

    /// Invalidates locally, then in L2 and on every other instance.
    ///
    /// Never fails: if L2 cannot be reached, the local part is done and the
    /// rest is queued ([`Delivery::Deferred`]); this instance does not read L2
    /// again until the queue has been replayed, so it never serves what it
    /// invalidated.
    pub async fn invalidate(&self, what: Invalidation) -> Delivery {
        let message = Message {
            instance: self.inner.instance_id.clone(),
            at: now_micros(),
            what,
        };
        self.inner.apply_locally(&message);
        let Some(l2) = &self.inner.l2 else {
            return Delivery::Local;
        };
        let mut pending = self.inner.pending.lock().await;
        let delivered = pending.is_empty() && self.inner.send(l2, &message).await.is_ok();
        if delivered {
            bump(&self.inner.counters.invalidations_sent);
            Delivery::Everywhere
        } else {
            bump(&self.inner.counters.invalidations_deferred);
            pending.push_back(message);
            self.inner.has_pending.store(true, Ordering::Release);
            Delivery::Deferred
        }
    }

    /// Checks L2 with one round trip bounded by the call timeout. A success
    /// closes the circuit breaker and a failure counts against it, so the
    /// check doubles as a probe.
    pub async fn health(&self) -> Health {
        let Some(l2) = &self.inner.l2 else {
            return Health {
                l2: L2Health::Disabled,
                breaker: None,
            };
        };
        let l2_health = match l2.ping().await {
            Ok(rtt) => L2Health::Up {
                round_trip_micros: u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX),
            },
            Err(e) => L2Health::Down {
                error: e.to_string(),
            },
        };
        Health {
            l2: l2_health,
            breaker: Some(l2.breaker_state()),
        }
    }

    /// A snapshot of the statistics; reads atomics only, never Redis.
    pub fn stats(&self) -> CacheStats {
        let inner = &self.inner;
        let (l1_weight_bytes, l1_entries) = inner.l1.size();
        Snapshot {
            instance_id: &inner.instance_id,
            classes: inner
                .classes
                .iter()
                .map(|slot| (slot.class.name.as_str(), &slot.counters))
                .collect(),
            counters: &inner.counters,
            breaker: inner.l2.as_ref().map(L2::breaker_state),
            l1_weight_bytes,
            l1_entries,
        }
        .collect()
    }

    /// This instance's id, carried by the invalidations it publishes.
    pub fn instance_id(&self) -> &str {
        &self.inner.instance_id
    }
}

/// An expired value still within its class's maximum staleness, decoded.
fn usable_stale<T: DeserializeOwned>(slot: &Slot, stale: Option<&Entry>) -> Option<T> {
    let value = stale
        .filter(|entry| now_micros() < entry.stale_until)
        .and_then(|entry| decode_value(&entry.payload))?;
    bump(&slot.counters.stale_served);
    Some(value)
}

/// Removes a finished computation from the flight map, even if it panicked
/// (unless a newer computation of the key has replaced it there).
struct Landing {
    inner: Arc<Inner>,
    key: String,
    id: u64,
}

impl Drop for Landing {
    fn drop(&mut self) {
        let mut flights = self
            .inner
            .flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if flights.get(&self.key).is_some_and(|r| r.id == self.id) {
            flights.remove(&self.key);
        }
    }
}

impl Inner {
    /// Whether a computation started at `started` with `tags` can still be
    /// trusted: no invalidation that may concern it happened since.
    fn still_valid(&self, started: u64, tags: &[Box<str>]) -> bool {
        started > self.keys_invalidated_at.load(Ordering::Acquire)
            && started >= self.tags.horizon()
            && self.tags.check(tags, started, false) == TagCheck::Valid
    }

    fn entry(slot: &Slot, created: u64, tags: &[&str], payload: Vec<u8>) -> Entry {
        let (fresh_until, stale_until) = slot.class.lifetimes(created);
        Entry {
            created,
            fresh_until,
            stale_until,
            tags: tags.iter().map(|&t| Box::from(t)).collect(),
            payload: payload.into_boxed_slice(),
        }
    }

    /// [`lookup_l1`](Self::lookup_l1) of `class:key`, built in a reused
    /// buffer: no allocation.
    fn lookup_l1_parts(&self, slot: &Slot, class: &str, key: &str) -> Found {
        FULL_KEY.with_borrow_mut(|full| {
            full.clear();
            full.push_str(class);
            full.push(':');
            full.push_str(key);
            self.lookup_l1(slot, full)
        })
    }

    /// Completes L1's answer `found` for `class:key` from L2.
    async fn lookup_l2_one(&self, slot: &Slot, class: &str, key: &str, found: Found) -> Found {
        let keys = [full_key(class, key)];
        let mut found = self.lookup_l2(slot, &keys, vec![found]).await;
        found.pop().unwrap_or(Found::Miss)
    }

    fn lookup_l1(&self, slot: &Slot, key: &str) -> Found {
        if !slot.class.placement.in_l1() {
            return Found::Miss;
        }
        let found = match self.l1.get(key) {
            // Admitted before the last resubscription: invalidations may
            // have been missed, so the entry is suspect.
            Some(resident) if resident.admitted < self.tags.horizon() => Found::Miss,
            Some(resident) => {
                let entry = resident.entry;
                match self.tags.check(&entry.tags, entry.created, false) {
                    // L1 drops entries at their stale deadline: without a
                    // stale window, presence alone proves freshness and the
                    // clock need not be read.
                    TagCheck::Valid
                        if entry.fresh_until == entry.stale_until
                            || now_micros() < entry.fresh_until =>
                    {
                        Found::Fresh(entry)
                    }
                    TagCheck::Valid => Found::Stale(entry),
                    _ => Found::Miss,
                }
            }
            None => Found::Miss,
        };
        let counter = if found.is_fresh() {
            &slot.counters.l1_hits
        } else {
            &slot.counters.l1_misses
        };
        bump(counter);
        found
    }

    /// Completes `found` (one answer per key) from L2 for the keys that have
    /// no fresh answer yet, with one `MGET`.
    async fn lookup_l2(&self, slot: &Slot, keys: &[String], mut found: Vec<Found>) -> Vec<Found> {
        let Some(l2) = self.l2.as_ref().filter(|_| slot.class.placement.in_l2()) else {
            return found;
        };
        let wanted: Vec<usize> = (0..keys.len()).filter(|&i| !found[i].is_fresh()).collect();
        if wanted.is_empty() {
            return found;
        }
        let values = if self.replay_pending(l2).await {
            match wanted.as_slice() {
                &[one] => l2.get(&keys[one]).await.map(|value| vec![value]).ok(),
                _ => {
                    let asked: Vec<&str> = wanted.iter().map(|&i| keys[i].as_str()).collect();
                    l2.mget(&asked).await.ok()
                }
            }
        } else {
            None
        };
        let Some(values) = values else {
            for _ in &wanted {
                bump(&slot.counters.l2_misses);
            }
            return found;
        };
        for (i, bytes) in wanted.into_iter().zip(values) {
            let judged = self.judge_l2(l2, slot, &keys[i], bytes).await;
            let previous = std::mem::replace(&mut found[i], Found::Miss);
            found[i] = previous.or(judged);
        }
        found
    }

    async fn judge_l2(&self, l2: &L2, slot: &Slot, key: &str, bytes: Option<Vec<u8>>) -> Found {
        let now = now_micros();
        let entry = bytes.and_then(|bytes| {
            let entry = Entry::decode(&bytes);
            if entry.is_none() {
                bump(&self.counters.l2_corrupt);
            }
            entry
        });
        let entry = match entry {
            Some(entry) if now < entry.stale_until && self.tags_valid(l2, &entry).await => {
                Arc::new(entry)
            }
            _ => {
                bump(&slot.counters.l2_misses);
                return Found::Miss;
            }
        };
        if now >= entry.fresh_until {
            bump(&slot.counters.l2_misses);
            return Found::Stale(entry);
        }
        bump(&slot.counters.l2_hits);
        if slot.class.placement.in_l1() {
            self.l1.insert(key.to_owned(), Arc::clone(&entry), now);
        }
        Found::Fresh(entry)
    }

    /// Whether none of the entry's tags was invalidated after it was created,
    /// fetching from L2 the tag times this instance does not know.
    async fn tags_valid(&self, l2: &L2, entry: &Entry) -> bool {
        let needs_l2 = entry.created < self.tags.horizon();
        match self.tags.check(&entry.tags, entry.created, needs_l2) {
            TagCheck::Valid => true,
            TagCheck::Invalid => false,
            TagCheck::Unknown(unknown) => match l2.tag_times(&unknown).await {
                Ok(times) => {
                    for (tag, time) in unknown.iter().zip(times) {
                        self.tags.loaded(tag, time);
                    }
                    self.tags.check(&entry.tags, entry.created, needs_l2) == TagCheck::Valid
                }
                Err(_) => false,
            },
        }
    }

    async fn store(&self, slot: &Slot, key: &str, entry: Arc<Entry>) {
        bump(&self.counters.sets);
        let now = now_micros();
        if slot.class.placement.in_l1() {
            self.l1.insert(key.to_owned(), Arc::clone(&entry), now);
        }
        let Some(l2) = self.l2.as_ref().filter(|_| slot.class.placement.in_l2()) else {
            return;
        };
        let ttl = (entry.stale_until != u64::MAX)
            .then(|| Duration::from_micros(entry.stale_until.saturating_sub(now)));
        if ttl != Some(Duration::ZERO) {
            // Failures are counted by L2 and change nothing for the caller.
            let _ = l2.set(key, entry.encode(), ttl).await;
        }
    }

    /// Replays queued invalidations; true when none is left.
    async fn replay_pending(&self, l2: &L2) -> bool {
        if !self.has_pending.load(Ordering::Acquire) {
            return true;
        }
        let mut pending = self.pending.lock().await;
        while let Some(message) = pending.front() {
            if self.send(l2, message).await.is_err() {
                return false;
            }
            bump(&self.counters.invalidations_sent);
            pending.pop_front();
        }
        self.has_pending.store(false, Ordering::Release);
        true
    }

    fn apply_locally(&self, message: &Message) {
        match &message.what {
            Invalidation::Key(key) => {
                bump(&self.counters.deletes);
                self.keys_invalidated_at
                    .fetch_max(message.at, Ordering::AcqRel);
                self.l1.remove(key);
            }
            Invalidation::Tag(tag) => self.tags.invalidated(tag, message.at),
            Invalidation::Tags(tags) => {
                for tag in tags {
                    self.tags.invalidated(tag, message.at);
                }
            }
            Invalidation::Pattern(pattern) => {
                self.keys_invalidated_at
                    .fetch_max(message.at, Ordering::AcqRel);
                self.l1.remove_matching(pattern);
            }
        }
    }

    /// Applies an invalidation to L2 and publishes it.
    async fn send(&self, l2: &L2, message: &Message) -> Result<(), CacheError> {
        let mut pipe = redis::pipe();
        match &message.what {
            Invalidation::Key(key) => {
                pipe.cmd("DEL").arg(l2.value_key(key)).ignore();
            }
            Invalidation::Tag(tag) => self.set_tag_time(&mut pipe, l2, tag, message.at),
            Invalidation::Tags(tags) => {
                for tag in tags {
                    self.set_tag_time(&mut pipe, l2, tag, message.at);
                }
            }
            Invalidation::Pattern(pattern) => {
                l2.delete_matching(&l2.value_pattern(pattern)).await?;
            }
        }
        pipe.cmd("PUBLISH")
            .arg(l2.channel())
            .arg(message.encode())
            .ignore();
        l2.pipeline(pipe).await
    }

    /// Adds the L2 write of `tag`'s invalidation time to `pipe`.
    fn set_tag_time(&self, pipe: &mut redis::Pipeline, l2: &L2, tag: &str, at: u64) {
        let set = pipe.cmd("SET").arg(l2.tag_key(tag)).arg(at);
        if let Some(ttl) = self.tag_ttl {
            set.arg("PX")
                .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
        }
        set.ignore();
    }

    /// An invalidation from the channel.
    pub(crate) fn receive(&self, message: Message) {
        if message.instance == self.instance_id {
            return;
        }
        bump(&self.counters.invalidations_received);
        self.apply_locally(&message);
    }

    /// The channel was (re)subscribed: anything received before may be
    /// incomplete, so L1 starts over and tag times are re-read from L2.
    pub(crate) fn resubscribed(&self) {
        self.tags.reset(now_micros());
        self.l1.clear();
        bump(&self.counters.l1_clears);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = self
            .subscriber
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// An L1-only cache with one class, `c`, without TTL.
    fn one_class() -> Cache {
        Cache::builder()
            .class(KeyClass::new("c", None))
            .build()
            .unwrap()
    }

    /// A computation that waits for `gate`, then answers `value`.
    fn gated(
        cache: &Cache,
        gate: tokio::sync::oneshot::Receiver<()>,
        value: u32,
    ) -> tokio::task::JoinHandle<Result<u32, CacheError>> {
        let cache = cache.clone();
        tokio::spawn(async move {
            cache
                .get_or_compute("c", "k", &["t"], || async move {
                    let _ = gate.await;
                    Ok::<_, std::io::Error>(value)
                })
                .await
        })
    }

    #[tokio::test]
    async fn a_caller_after_an_invalidation_never_joins_an_older_computation() {
        for what in [
            Invalidation::Tag("t".into()),
            Invalidation::key("c", "k"),
            Invalidation::Pattern("c:*".into()),
        ] {
            let cache = one_class();
            let (open_old, gate) = tokio::sync::oneshot::channel();
            let old = gated(&cache, gate, 1);
            tokio::time::sleep(Duration::from_millis(20)).await;
            cache.invalidate(what.clone()).await;
            let (open_new, gate) = tokio::sync::oneshot::channel();
            let new = gated(&cache, gate, 2);
            tokio::time::sleep(Duration::from_millis(20)).await;
            open_new.send(()).unwrap();
            assert_eq!(new.await.unwrap().unwrap(), 2, "{what:?}");
            open_old.send(()).unwrap();
            assert_eq!(old.await.unwrap().unwrap(), 1, "{what:?}");
            // The older result did not replace the newer one.
            assert_eq!(
                cache.get::<u32>("c", "k").await.unwrap(),
                Some(2),
                "{what:?}"
            );
            assert_eq!(cache.stats().classes["c"].computations, 2, "{what:?}");
        }
    }

    /// Doubles each key's number, recording which keys it was asked for.
    fn doubling(
        asked: &Arc<Mutex<Vec<String>>>,
    ) -> impl FnOnce(Vec<String>) -> std::future::Ready<Result<Vec<u32>, std::io::Error>> + '_ {
        move |keys: Vec<String>| {
            asked.lock().unwrap().extend(keys.iter().cloned());
            std::future::ready(Ok(keys
                .iter()
                .map(|k| 2 * k.parse::<u32>().unwrap())
                .collect()))
        }
    }

    #[tokio::test]
    async fn many_computes_only_what_no_tier_holds_in_order() {
        let cache = one_class();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let first = cache
            .get_or_compute_many("c", &["1", "2"], doubling(&asked))
            .await
            .unwrap();
        assert_eq!(first, [2, 4]);
        let second = cache
            .get_or_compute_many("c", &["3", "2", "1", "4"], doubling(&asked))
            .await
            .unwrap();
        assert_eq!(second, [6, 4, 2, 8]);
        assert_eq!(*asked.lock().unwrap(), ["1", "2", "3", "4"]);
        // Each value carries its key as its tag.
        cache.invalidate(Invalidation::Tag("2".into())).await;
        let third = cache
            .get_or_compute_many("c", &["1", "2"], doubling(&asked))
            .await
            .unwrap();
        assert_eq!(third, [2, 4]);
        assert_eq!(asked.lock().unwrap().last().map(String::as_str), Some("2"));
        assert_eq!(asked.lock().unwrap().len(), 5);
    }

    #[tokio::test]
    async fn many_keeps_out_what_was_invalidated_while_computing() {
        let cache = one_class();
        let invalidating = cache.clone();
        let values = cache
            .get_or_compute_many("c", &["a", "b"], |keys| async move {
                invalidating.invalidate(Invalidation::Tag("a".into())).await;
                Ok::<_, std::io::Error>(keys)
            })
            .await
            .unwrap();
        assert_eq!(values, ["a", "b"]);
        assert_eq!(cache.get::<String>("c", "a").await.unwrap(), None);
        assert_eq!(
            cache.get::<String>("c", "b").await.unwrap().as_deref(),
            Some("b")
        );
    }

    #[tokio::test]
    async fn many_reports_a_computation_that_miscounts() {
        let cache = one_class();
        let short = |_keys: Vec<String>| async { Ok::<_, std::io::Error>(vec![1u32]) };
        let error = cache
            .get_or_compute_many("c", &["a", "b"], short)
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("asked for 2 values, computed 1"),
            "{error}"
        );
    }
}
