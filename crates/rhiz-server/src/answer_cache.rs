//! The answer cache: rhiz's computed answers held in one
//! [`rhiz_cache::Cache`] (L1 in process, L2 on Redis when `redis_url` is
//! set, namespace `<redis_prefix>:cache`), and how the apply step keeps it
//! consistent.
//!
//! # Key classes
//!
//! | class | answers | TTL | tiers | key | tags |
//! |---|---|---|---|---|---|
//! | `profile` | `GET /api/v1/entities/{did}`, by-handle (store part) | 6 h (1 h stale-on-error) | L1 + L2 | DID, or `handle:<handle>` | the DID, `handle:<handle>` |
//! | `trust` | trust metrics, REST and XRPC (not `explain=true`) | 24 h | L1 | `<table stamp>:<DID>` | the DID |
//! | `paths` | REST `find-path`, XRPC `findPath` | 1 h | L1 | `<graph stamp>:<family>:<canonical query>` | both endpoints |
//! | `conviction` | XRPC `getScore` | until invalidated | L1 | `<graph stamp>:<record URI>` | the URI |
//! | `network` | `GET /api/v1/analytics/network-stats` | 1 h | L1 | `<graph stamp>` | `entities` |
//! | `did` | a handle resolved to a DID over the network (by-handle lookups of entities not stored) | 7 days | L1 + L2 | the normalized handle | the same |
//!
//! A handle that does not resolve is not cached in `did` (only for a minute
//! inside the resolver), so a handle set up later is found soon.
//!
//! Profiles come from the shared store, so every instance may share them
//! through L2. The other classes are computed from this process's
//! in-memory graph and trust table, whose version numbers mean nothing to
//! another process (instances do not replicate one graph yet): they stay
//! in L1. The path key is the canonical query itself rather than a hash of
//! it, so two queries can never share an answer; it lives only in L1,
//! where its length costs bytes of the L1 budget and nothing else.
//!
//! # The consistency rule with the cache in front
//!
//! *Once an event is applied, no answer contradicts it.* "Applied" means
//! the apply step returned: only then does the pipeline settle the event
//! and wake whoever waits for it. Two mechanisms keep the rule:
//!
//! 1. **Graph-derived answers are keyed by what they were computed from.**
//!    The *graph stamp* is the graph's version (every relationship and
//!    attestation change increments it) and the identity of the current
//!    trust table (graph version it read and when it was computed; the
//!    reputations that weigh conviction come from it). A request reads the
//!    stamp before it looks the key up; a value under a stamp was computed
//!    by a computation that read the stamp first, hence reads a graph at
//!    least that new. After an event is applied the graph version is
//!    higher, so no request issued afterwards can find a value computed
//!    before it. Trust metrics are keyed by the table stamp alone: they are
//!    as fresh as the uncached path, which also serves the current table.
//! 2. **Everything else is invalidated by tag inside the apply step**,
//!    after the store and graph writes and before the change is published
//!    and the event settled ([`crate::apply::Applier`] calls
//!    [`invalidate_changes`] before `publish`). A change invalidates the tag
//!    of every DID it names (a relationship's participants, before and
//!    after; an attestation's attester and the participants of its
//!    target; a profile's owner; the DID of `trust.invalidated`) and of its
//!    record URI, and a profile change or an entity write the tag
//!    [`ENTITIES_TAG`] (the entity counts of the network statistics). A
//!    tag invalidation stamps the tag with the current time;
//!    a value created (its computation *started*) at or before that time is
//!    a miss everywhere, and rhiz-cache never lets a caller join, nor lets
//!    L1 keep, a computation that started before an invalidation concerning
//!    it. So a request issued after the apply returned either finds a value
//!    computed after the invalidation (which read the new state) or
//!    computes one. The entity REST writes do the same after their store
//!    write, before they answer ([`invalidate_entity`]).
//!
//! A consumer of the change feed could not give this guarantee: it runs
//! after the apply returned, and a reader between the two would be served
//! the stale value. Invalidations also travel to the other instances over
//! Redis pub/sub (their L1 copies go); when Redis is unreachable the local
//! part is done at once and the rest is replayed before this instance
//! reads L2 again (rhiz-cache, `Delivery::Deferred`).

use std::time::Duration;

use rhiz_cache::{Cache, CacheError, Invalidation, KeyClass, Placement};
use rhiz_graph::TrustTable;
use rhiz_protocol::{Did, EntityProfile, Handle};

use crate::change_feed::Change;
use crate::config::Config;
use crate::AppState;

/// Entity profiles.
pub const PROFILE: &str = "profile";
/// Trust metrics.
pub const TRUST: &str = "trust";
/// Graph paths.
pub const PATHS: &str = "paths";
/// Conviction scores.
pub const CONVICTION: &str = "conviction";
/// Network statistics.
pub const NETWORK: &str = "network";
/// Handles resolved to DIDs (DNS or `/.well-known/atproto-did`).
pub const DID_RESOLUTION: &str = "did";

/// The tag of answers that count entities: invalidated by every entity
/// change, through events or the REST API.
pub const ENTITIES_TAG: &str = "entities";

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// L1's budget.
const L1_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// The cache for `config`: L1 always, L2 and cross-instance invalidation on
/// `redis_url` when it is set. Does not wait for Redis.
pub fn build(config: &Config) -> Result<Cache, CacheError> {
    let builder = Cache::builder()
        .namespace(format!("{}:cache", config.redis_prefix))
        .l1_max_bytes(L1_MAX_BYTES)
        .classes([
            KeyClass::new(PROFILE, Some(6 * HOUR)).max_stale(HOUR),
            KeyClass::new(TRUST, Some(24 * HOUR)).placement(Placement::L1),
            KeyClass::new(PATHS, Some(HOUR)).placement(Placement::L1),
            KeyClass::new(CONVICTION, None).placement(Placement::L1),
            KeyClass::new(NETWORK, Some(HOUR)).placement(Placement::L1),
            KeyClass::new(DID_RESOLUTION, Some(7 * DAY)),
        ]);
    match &config.redis_url {
        Some(url) => builder.redis_url(url.clone()).build(),
        None => builder.build(),
    }
}

/// Invalidates what `changes` may have changed: the tags of their DIDs and
/// of their record URIs, in one invalidation (one Redis round trip when L2
/// is configured). Called by the apply step before the changes are
/// published.
pub async fn invalidate_changes<'a>(cache: &Cache, changes: impl IntoIterator<Item = &'a Change>) {
    let mut tags: Vec<String> = changes
        .into_iter()
        .flat_map(|change| {
            let uri = change.uri.as_ref().map(|uri| uri.as_str());
            let entities =
                (change.kind.collection() == Some(EntityProfile::NSID)).then_some(ENTITIES_TAG);
            change
                .dids
                .iter()
                .map(Did::as_str)
                .chain(uri)
                .chain(entities)
        })
        .map(str::to_owned)
        .collect();
    if tags.is_empty() {
        return;
    }
    tags.sort_unstable();
    tags.dedup();
    cache.invalidate(Invalidation::Tags(tags)).await;
}

/// Invalidates an entity written through the REST API: its DID, the
/// handle it now has (whose by-handle lookups may have found nothing or
/// another entity) and the entity counts ([`ENTITIES_TAG`]), in one
/// invalidation. Lookups of a handle it had carry its DID's tag.
pub async fn invalidate_entity(cache: &Cache, did: &Did, handle: Option<&Handle>) {
    let mut tags = vec![did.as_str().to_owned(), ENTITIES_TAG.to_owned()];
    tags.extend(handle.map(handle_tag));
    cache.invalidate(Invalidation::Tags(tags)).await;
}

/// The tag (and profile key) of a by-handle lookup.
pub fn handle_tag(handle: &Handle) -> String {
    format!("handle:{handle}")
}

/// The identity of a trust table: the graph version it read and when it
/// was computed.
pub fn table_stamp(table: &TrustTable) -> String {
    format!(
        "{}.{}",
        table.graph_version(),
        table.computed_at().timestamp_micros()
    )
}

/// What graph-derived answers are computed from now: the graph's version
/// and the current trust table. Read before looking a key up.
pub fn graph_stamp(state: &AppState) -> String {
    let version = state.graph.read().version();
    format!("{version}.{}", table_stamp(&state.trust.current()))
}
