//! A two-level cache for async services: an in-process L1 in front of a
//! shared Redis L2, with per-class lifetimes, lazy tag invalidation,
//! invalidation across instances, single-flight computation, stale-on-error
//! and a circuit breaker that keeps a Redis outage from doing anything but
//! slowing answers down.
//!
//! - **L1** is a [moka](https://docs.rs/moka) cache bounded by bytes, with
//!   TinyLFU admission for hit ratio and a lifetime per entry.
//! - **L2** is Redis through `redis`' auto-reconnecting `ConnectionManager`.
//!   Values are stored in a small versioned envelope (format version,
//!   creation time, expiry, tags) around a `postcard` payload; anything that
//!   does not decode is a miss. Batch reads use one `MGET`.
//! - **Key classes** ([`KeyClass`]) give each family of keys its TTL, its
//!   tiers ([`Placement`]), its maximum staleness, soft timeout and eager
//!   refresh.
//! - **Invalidation** ([`Invalidation`]) by key, by tag (O(1): the tag's time
//!   is recorded and values created before it are misses when read) and by
//!   glob pattern (`SCAN` on L2, iteration on L1). Every invalidation is
//!   published on a Redis channel; other instances apply it to their L1 and
//!   ignore their own. After the channel reconnects, L1 is cleared because
//!   invalidations may have been missed.
//! - **Circuit breaker** around Redis: after 3 consecutive failures (by
//!   default) L2 is skipped for 15 s, then probed; every call is bounded by
//!   a short timeout.
//! - **Statistics** ([`Cache::stats`]) are atomics in process; a Redis round
//!   trip is only made by [`Cache::health`].
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use rhiz_cache::{Cache, Invalidation, KeyClass};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), rhiz_cache::CacheError> {
//! let cache = Cache::builder()
//!     .class(KeyClass::new("profile", Some(Duration::from_secs(6 * 3600))))
//!     .l1_max_bytes(16 * 1024 * 1024)
//!     // .redis_url("redis://127.0.0.1:6379/") adds L2 and the channel.
//!     .build()?;
//!
//! let name: String = cache
//!     .get_or_compute("profile", "did:plc:alice", &["did:plc:alice"], || async {
//!         Ok::<_, std::io::Error>("Alice".to_owned())
//!     })
//!     .await?;
//! assert_eq!(name, "Alice");
//! assert_eq!(cache.get::<String>("profile", "did:plc:alice").await?.as_deref(), Some("Alice"));
//!
//! // Everything that depends on Alice goes, here and on every instance.
//! cache.invalidate(Invalidation::Tag("did:plc:alice".into())).await;
//! assert_eq!(cache.get::<String>("profile", "did:plc:alice").await?, None);
//! # Ok(())
//! # }
//! ```
//!
//! # Key classes in rhiz
//!
//! The crate has no built-in classes: the service declares them. rhiz uses
//! one class per kind of computed answer, with the lifetimes of its plans,
//! each value tagged with the DIDs it depends on so that the apply step can
//! invalidate by tag:
//!
//! | class | TTL | placement | key | tags |
//! |---|---|---|---|---|
//! | `trust` (trust metrics) | 24 h | both | DID | the DID |
//! | `paths` (graph paths) | 1 h | both | hash of the canonical query | both endpoints |
//! | `conviction` | until invalidated | both | relationship AT-URI | the relationship, its participants |
//! | `profile` (entity profiles) | 6 h | both | DID | the DID |
//! | `did` (DID resolution) | 7 days | both | DID or handle | the DID |
//!
//! ```
//! use std::time::Duration;
//! use rhiz_cache::KeyClass;
//!
//! const HOUR: Duration = Duration::from_secs(3600);
//! let classes = [
//!     KeyClass::new("trust", Some(24 * HOUR)).max_stale(HOUR),
//!     KeyClass::new("paths", Some(HOUR)),
//!     KeyClass::new("conviction", None),
//!     KeyClass::new("profile", Some(6 * HOUR)).max_stale(HOUR),
//!     KeyClass::new("did", Some(7 * 24 * HOUR)).max_stale(24 * HOUR),
//! ];
//! assert_eq!(classes.len(), 5);
//! ```

mod breaker;
mod builder;
mod cache;
mod class;
mod clock;
mod codec;
mod error;
mod invalidation;
mod l1;
mod l2;
mod pattern;
mod stats;
mod tags;

pub use breaker::BreakerState;
pub use builder::CacheBuilder;
pub use cache::{Cache, Health, L2Health};
pub use class::{KeyClass, Placement};
pub use error::CacheError;
pub use invalidation::{Delivery, Invalidation};
pub use stats::{CacheStats, ClassStats, LatencySummary};
