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

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use moka::notification::RemovalCause;
use moka::sync::Cache as Moka;

/// What this instance knows of a tag.
#[derive(Debug, Clone, Copy)]
struct TagTime {
    /// Latest invalidation known, µs since the epoch (0: none).
    latest: u64,
    /// Whether `latest` is complete for all time (checked against L2, or
    /// there is no L2) rather than only since the horizon.
    complete: bool,
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

pub(crate) struct TagClock {
    known: Moka<Arc<str>, TagTime>,
    horizon: Arc<AtomicU64>,
    /// The latest invalidation of any tag known here: values created after
    /// it are judged without looking their tags up (the common case).
    latest_any: AtomicU64,
}

impl TagClock {
    pub(crate) fn new(capacity: u64, horizon: u64) -> Self {
        let horizon = Arc::new(AtomicU64::new(horizon));
        let moved = Arc::clone(&horizon);
        // Forgetting an invalidation time moves the horizon past it, so
        // values it invalidated are judged against L2 instead of passing.
        let known = Moka::builder()
            .max_capacity(capacity)
            .eviction_listener(move |_, time: TagTime, cause| {
                if cause == RemovalCause::Size && time.latest != 0 {
                    moved.fetch_max(time.latest + 1, Ordering::AcqRel);
                }
            })
            .build();
        TagClock {
            known,
            horizon,
            latest_any: AtomicU64::new(0),
        }
    }

    pub(crate) fn horizon(&self) -> u64 {
        self.horizon.load(Ordering::Acquire)
    }

    /// Starts a new horizon after a (re)subscription: what is known stays
    /// true but is no longer complete.
    pub(crate) fn reset(&self, horizon: u64) {
        self.known.invalidate_all();
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

    fn merge(&self, tag: &str, at: u64, complete: bool) {
        self.latest_any.fetch_max(at, Ordering::AcqRel);
        self.known
            .entry(Arc::from(tag))
            .and_upsert_with(|old| match old {
                Some(old) => {
                    let old = old.into_value();
                    TagTime {
                        latest: old.latest.max(at),
                        complete: old.complete || complete,
                    }
                }
                None => TagTime {
                    latest: at,
                    complete,
                },
            });
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
            match self.known.get(&**tag) {
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
