//! Lazy tag invalidation (as FusionCache's tag timestamps).
//!
//! Invalidating a tag records when it happened, in O(1): nothing is scanned.
//! A value is valid only if it was created after the last invalidation of
//! each of its tags, which readers check when they find it.
//!
//! Each instance keeps the invalidation times it knows of. It learns them
//! from its own calls and from the invalidation channel, which together
//! cover everything since the *horizon*: the moment it last (re)subscribed.
//! A value created after the horizon is judged locally; a value created
//! before it (found in L2, written by a peer or before a disconnect) needs
//! the tag times stored in L2, fetched once per tag and then kept.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use foldhash::fast::RandomState;

/// Shards of the clock: invalidations from the applier and checks from
/// readers of other tags rarely meet on one lock.
const SHARDS: usize = 16;

/// What this instance knows of a tag.
#[derive(Debug, Clone, Copy)]
struct TagTime {
    /// Latest invalidation known, µs since the epoch (0: none).
    latest: u64,
    /// Whether `latest` is complete for all time (checked against L2, or
    /// there is no L2) rather than only since the horizon.
    complete: bool,
}

impl TagTime {
    fn merged(old: Option<TagTime>, at: u64, complete: bool) -> TagTime {
        match old {
            Some(old) => TagTime {
                latest: old.latest.max(at),
                complete: old.complete || complete,
            },
            None => TagTime {
                latest: at,
                complete,
            },
        }
    }
}

/// The result of judging a value's tags with local knowledge alone.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TagCheck<'a> {
    /// No tag was invalidated after the value was created.
    Valid,
    /// A tag was invalidated after the value was created.
    Invalid,
    /// These tags need their L2 times before the value can be judged.
    Unknown(Vec<&'a str>),
}

type TagMap = HashMap<Box<str>, TagTime, RandomState>;

/// One shard's tag times in two generations. A tag touched again moves to
/// `current`; when `current` is full, `previous` (tags untouched for a
/// whole generation) is forgotten and `current` takes its place. Bounded
/// memory, O(1) per invalidation, and what is forgotten is the oldest.
#[derive(Default)]
struct Generations {
    current: TagMap,
    previous: TagMap,
}

impl Generations {
    fn get(&self, tag: &str) -> Option<TagTime> {
        self.current
            .get(tag)
            .or_else(|| self.previous.get(tag))
            .copied()
    }

    /// Forgets `previous`; returns the latest invalidation it knew (0: none).
    fn rotate(&mut self) -> u64 {
        let forgotten = std::mem::take(&mut self.current);
        let previous = std::mem::replace(&mut self.previous, forgotten);
        previous.values().map(|time| time.latest).max().unwrap_or(0)
    }
}

pub(crate) struct TagClock {
    shards: Box<[RwLock<Generations>]>,
    hasher: RandomState,
    /// Tags one shard's current generation holds before it rotates.
    generation: usize,
    horizon: AtomicU64,
    /// The latest invalidation of any tag known here: values created after
    /// it are judged without looking their tags up (the common case).
    latest_any: AtomicU64,
}

impl TagClock {
    /// A clock remembering about `capacity` tags (at least one per shard
    /// and generation), starting at `horizon`.
    pub(crate) fn new(capacity: u64, horizon: u64) -> Self {
        let per_generation = capacity / (2 * SHARDS as u64);
        TagClock {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            hasher: RandomState::default(),
            generation: usize::try_from(per_generation).unwrap_or(usize::MAX).max(1),
            horizon: AtomicU64::new(horizon),
            latest_any: AtomicU64::new(0),
        }
    }

    pub(crate) fn horizon(&self) -> u64 {
        self.horizon.load(Ordering::Acquire)
    }

    /// Starts a new horizon after a (re)subscription: what is known stays
    /// true but is no longer complete.
    pub(crate) fn reset(&self, horizon: u64) {
        for shard in self.shards.iter() {
            *write(shard) = Generations::default();
        }
        self.horizon.fetch_max(horizon, Ordering::AcqRel);
    }

    /// Records an invalidation of `tag` at `at`.
    pub(crate) fn invalidated(&self, tag: &str, at: u64) {
        self.merge(tag, at, false);
    }

    /// Records a tag's time read from L2 (complete by definition).
    pub(crate) fn loaded(&self, tag: &str, latest: u64) {
        self.merge(tag, latest, true);
    }

    fn shard(&self, tag: &str) -> &RwLock<Generations> {
        let hash = self.hasher.hash_one(tag) as usize;
        &self.shards[hash % SHARDS]
    }

    fn merge(&self, tag: &str, at: u64, complete: bool) {
        self.latest_any.fetch_max(at, Ordering::AcqRel);
        let mut shard = write(self.shard(tag));
        if let Some(time) = shard.current.get_mut(tag) {
            *time = TagTime::merged(Some(*time), at, complete);
            return;
        }
        let old = shard.previous.remove(tag);
        if shard.current.len() >= self.generation {
            // Forgetting an invalidation time moves the horizon past it, so
            // values it invalidated are judged against L2 instead of passing.
            let forgotten = shard.rotate();
            if forgotten != 0 {
                self.horizon.fetch_max(forgotten + 1, Ordering::AcqRel);
            }
        }
        shard
            .current
            .insert(Box::from(tag), TagTime::merged(old, at, complete));
    }

    /// Judges a value created at `created` carrying `tags`. `needs_l2`: the
    /// value may predate the horizon (it comes from L2, created before it),
    /// so times known only since the horizon do not settle it.
    pub(crate) fn check<'a>(
        &self,
        tags: &'a [Box<str>],
        created: u64,
        needs_l2: bool,
    ) -> TagCheck<'a> {
        if !needs_l2 && created > self.latest_any.load(Ordering::Acquire) {
            return TagCheck::Valid;
        }
        let mut unknown = Vec::new();
        for tag in tags.iter() {
            match read(self.shard(tag)).get(tag) {
                Some(time) if created <= time.latest => return TagCheck::Invalid,
                Some(time) if time.complete || !needs_l2 => {}
                None if !needs_l2 => {}
                _ => unknown.push(&**tag),
            }
        }
        if unknown.is_empty() {
            TagCheck::Valid
        } else {
            TagCheck::Unknown(unknown)
        }
    }
}

/// The shard's maps stay consistent whatever a panicking holder did (each
/// update is one insert or assignment), so a poisoned lock is used as is.
fn read(shard: &RwLock<Generations>) -> RwLockReadGuard<'_, Generations> {
    shard
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write(shard: &RwLock<Generations>) -> RwLockWriteGuard<'_, Generations> {
    shard
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(names: &[&str]) -> Vec<Box<str>> {
        names.iter().map(|&n| Box::from(n)).collect()
    }

    #[test]
    fn a_value_created_before_its_tags_invalidation_is_invalid() {
        let clock = TagClock::new(100, 0);
        let t = tags(&["a", "b"]);
        clock.invalidated("b", 50);
        assert_eq!(clock.check(&t, 50, false), TagCheck::Invalid);
        assert_eq!(clock.check(&t, 51, false), TagCheck::Valid);
    }

    #[test]
    fn values_older_than_the_horizon_need_l2_times_once() {
        let clock = TagClock::new(100, 1_000);
        let t = tags(&["a"]);
        assert_eq!(clock.check(&t, 1_000, false), TagCheck::Valid);
        assert_eq!(clock.check(&t, 999, true), TagCheck::Unknown(vec!["a"]));
        clock.loaded("a", 10);
        assert_eq!(clock.check(&t, 999, true), TagCheck::Valid);
        assert_eq!(clock.check(&t, 10, true), TagCheck::Invalid);
    }

    #[test]
    fn forgetting_a_tag_moves_the_horizon_past_its_time() {
        // One tag per shard and generation: every new tag in a shard
        // rotates it, so the first tags are forgotten after two rotations.
        let clock = TagClock::new(2 * SHARDS as u64, 0);
        for i in 0..40 * SHARDS {
            clock.invalidated(&format!("tag-{i}"), 100 + i as u64);
        }
        assert!(clock.horizon() > 100, "horizon {}", clock.horizon());
        let t = tags(&["tag-0"]);
        assert_eq!(clock.check(&t, 50, true), TagCheck::Unknown(vec!["tag-0"]));
    }

    #[test]
    fn a_tag_touched_again_survives_a_rotation() {
        let clock = TagClock::new(4 * SHARDS as u64, 0);
        let t = tags(&["kept"]);
        for i in 0..10 * SHARDS {
            clock.invalidated("kept", 10);
            clock.invalidated(&format!("tag-{i}"), 5);
        }
        assert_eq!(clock.check(&t, 10, false), TagCheck::Invalid);
        assert_eq!(clock.check(&t, 11, false), TagCheck::Valid);
    }

    #[test]
    fn reset_moves_the_horizon_and_forgets_completeness() {
        let clock = TagClock::new(100, 0);
        clock.loaded("a", 0);
        clock.reset(500);
        assert_eq!(clock.horizon(), 500);
        assert_eq!(
            clock.check(&tags(&["a"]), 400, true),
            TagCheck::Unknown(vec!["a"])
        );
    }
}
