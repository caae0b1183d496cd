//! The in-memory side of the pipeline: which accepted event runs next.
//!
//! Per-key ordering: at most one event per partition key is *active* (ready,
//! running or waiting for a retry); later events of that key wait in the
//! key's queue, in log order, until it settles. Lanes: ready events wait in
//! their lane and lanes are picked by smooth weighted round robin, so every
//! lane with work gets its weight's share. Capacity: the depth of each lane
//! counts every accepted, unsettled event; reservations hold room for events
//! being written to the log.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use crate::metrics::Counters;
use crate::Lane;

/// An accepted event held in memory.
pub(crate) struct Entry<P> {
    pub(crate) seq: u64,
    /// The pipeline's lease epoch when it was scheduled; an event of an
    /// older epoch (scheduled before the lease was lost) is not applied.
    pub(crate) epoch: u64,
    pub(crate) id: String,
    pub(crate) key: String,
    pub(crate) lane: Lane,
    pub(crate) counters: Arc<Counters>,
    /// Boxed: entries move through queues and batches, the payload stays put.
    pub(crate) payload: Box<P>,
    /// When it was submitted (or, once recovered, its age on the log's clock).
    pub(crate) ingested: Instant,
    /// Failed attempts so far.
    pub(crate) failures: u32,
    /// Not to be tried before this instant.
    pub(crate) not_before: Option<Instant>,
    /// Whether it waits because a dependency was unavailable (rather than
    /// for a failure of its own): such events are retried at once when
    /// another event shows the dependency is back ([`Scheduler::release_waiting`]).
    pub(crate) waiting_out: bool,
}

/// An event waiting for its retry time; the heap pops the earliest first.
struct Delayed<P>(Instant, Entry<P>);

impl<P> PartialEq for Delayed<P> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<P> Eq for Delayed<P> {}
impl<P> PartialOrd for Delayed<P> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<P> Ord for Delayed<P> {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.0, other.1.seq).cmp(&(self.0, self.1.seq))
    }
}

/// What a worker should do next.
pub(crate) enum Next<P> {
    /// Apply this event.
    Run(Entry<P>),
    /// Nothing is ready: wait for a wake-up, or until this instant.
    Wait(Option<Instant>),
}

pub(crate) struct Scheduler<P> {
    ready: [VecDeque<Entry<P>>; 4],
    /// Keys with an active event, and the events queued behind it.
    keys: HashMap<String, VecDeque<Entry<P>>, foldhash::fast::RandomState>,
    delayed: BinaryHeap<Delayed<P>>,
    weights: [i64; 4],
    credit: [i64; 4],
    depth: [usize; 4],
    reserved: [usize; 4],
}

impl<P> Scheduler<P> {
    pub(crate) fn new(weights: [u32; 4]) -> Self {
        Self {
            ready: Default::default(),
            keys: HashMap::default(),
            delayed: BinaryHeap::new(),
            weights: weights.map(i64::from),
            credit: [0; 4],
            depth: [0; 4],
            reserved: [0; 4],
        }
    }

    /// Accepted, unsettled events per lane.
    pub(crate) fn depth(&self) -> [u64; 4] {
        self.depth.map(|d| d as u64)
    }

    /// Events accepted or being accepted, all lanes.
    pub(crate) fn occupied(&self) -> usize {
        self.depth.iter().sum::<usize>() + self.reserved.iter().sum::<usize>()
    }

    /// Holds room for one event in `lane` if the lane has room and the total
    /// stays below `high_water`.
    pub(crate) fn try_reserve(
        &mut self,
        lane: Lane,
        high_water: usize,
        lane_capacity: usize,
    ) -> bool {
        let i = lane.index();
        if self.occupied() >= high_water || self.depth[i] + self.reserved[i] >= lane_capacity {
            return false;
        }
        self.reserved[i] += 1;
        true
    }

    /// Forgets every scheduled event (the apply lease was lost: another
    /// instance applies them now); room reserved by submissions in progress
    /// stays reserved.
    pub(crate) fn clear(&mut self) {
        self.ready = Default::default();
        self.keys.clear();
        self.delayed.clear();
        self.credit = [0; 4];
        self.depth = [0; 4];
    }

    /// Gives back room held for an event that was not accepted.
    pub(crate) fn release(&mut self, lane: Lane) {
        self.reserved[lane.index()] -= 1;
    }

    /// Schedules an event for which room was reserved.
    pub(crate) fn admit(&mut self, entry: Entry<P>, now: Instant) {
        self.release(entry.lane);
        self.insert(entry, now);
    }

    /// Schedules an accepted event (recovered or replayed ones skip
    /// reservation). Events of one key must arrive in log order.
    pub(crate) fn insert(&mut self, entry: Entry<P>, now: Instant) {
        self.depth[entry.lane.index()] += 1;
        match self.keys.get_mut(&entry.key) {
            Some(queue) => queue.push_back(entry),
            None => {
                self.keys.insert(entry.key.clone(), VecDeque::new());
                self.make_ready(entry, now);
            }
        }
    }

    fn make_ready(&mut self, entry: Entry<P>, now: Instant) {
        match entry.not_before {
            Some(t) if t > now => self.delayed.push(Delayed(t, entry)),
            _ => self.ready[entry.lane.index()].push_back(entry),
        }
    }

    /// The next event to apply, if any is ready at `now`.
    pub(crate) fn next(&mut self, now: Instant) -> Next<P> {
        while self.delayed.peek().is_some_and(|d| d.0 <= now) {
            if let Some(Delayed(_, entry)) = self.delayed.pop() {
                self.ready[entry.lane.index()].push_back(entry);
            }
        }
        let mut total = 0;
        let mut best: Option<usize> = None;
        for i in 0..4 {
            if self.ready[i].is_empty() {
                continue;
            }
            self.credit[i] += self.weights[i];
            total += self.weights[i];
            if best.is_none_or(|b| self.credit[i] > self.credit[b]) {
                best = Some(i);
            }
        }
        match best.and_then(|b| {
            self.credit[b] -= total;
            self.ready[b].pop_front()
        }) {
            Some(entry) => Next::Run(entry),
            None => Next::Wait(self.delayed.peek().map(|d| d.0)),
        }
    }

    /// Retires a finished (applied or dead-lettered) event and makes the next
    /// event of its key ready. Returns true if one became ready.
    pub(crate) fn settle(&mut self, key: &str, lane: Lane, now: Instant) -> bool {
        self.depth[lane.index()] -= 1;
        let next = self.keys.get_mut(key).and_then(VecDeque::pop_front);
        match next {
            Some(entry) => {
                self.make_ready(entry, now);
                true
            }
            None => {
                self.keys.remove(key);
                false
            }
        }
    }

    /// Puts a failed event back to wait for its retry time; its key stays blocked.
    pub(crate) fn retry(&mut self, entry: Entry<P>, now: Instant) {
        self.make_ready(entry, now);
    }

    /// Makes every event waiting out an unavailable dependency ready now;
    /// whether there was any.
    pub(crate) fn release_waiting(&mut self) -> bool {
        let (waiting, delayed): (Vec<_>, Vec<_>) = std::mem::take(&mut self.delayed)
            .into_vec()
            .into_iter()
            .partition(|d| d.1.waiting_out);
        self.delayed = delayed.into();
        let released = !waiting.is_empty();
        for Delayed(_, mut entry) in waiting {
            entry.not_before = None;
            entry.waiting_out = false;
            self.ready[entry.lane.index()].push_back(entry);
        }
        released
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, key: &str, lane: Lane) -> Entry<u64> {
        Entry {
            seq,
            epoch: 0,
            id: seq.to_string(),
            key: key.to_owned(),
            lane,
            counters: Arc::default(),
            payload: Box::new(seq),
            ingested: Instant::now(),
            failures: 0,
            not_before: None,
            waiting_out: false,
        }
    }

    fn run(s: &mut Scheduler<u64>, now: Instant) -> Option<Entry<u64>> {
        match s.next(now) {
            Next::Run(e) => Some(e),
            Next::Wait(_) => None,
        }
    }

    #[test]
    fn weighted_lanes_share_and_low_never_starves() {
        let mut s = Scheduler::new([8, 4, 2, 1]);
        let now = Instant::now();
        let mut seq = 0;
        for lane in Lane::ALL {
            for _ in 0..150 {
                seq += 1;
                s.insert(entry(seq, &seq.to_string(), lane), now);
            }
        }
        let mut picked = [0; 4];
        for _ in 0..150 {
            let e = run(&mut s, now).unwrap();
            picked[e.lane.index()] += 1;
            s.settle(&e.key, e.lane, now);
        }
        assert_eq!(picked, [80, 40, 20, 10]);
    }

    #[test]
    fn one_active_event_per_key_in_order() {
        let mut s = Scheduler::new([1, 1, 1, 1]);
        let now = Instant::now();
        s.insert(entry(1, "k", Lane::Low), now);
        s.insert(entry(2, "k", Lane::Critical), now);
        s.insert(entry(3, "other", Lane::Normal), now);
        let first = run(&mut s, now).unwrap();
        let second = run(&mut s, now).unwrap();
        assert_eq!((first.seq, second.seq), (3, 1));
        assert!(run(&mut s, now).is_none(), "seq 2 must wait behind seq 1");
        assert!(s.settle(&second.key, second.lane, now));
        assert_eq!(run(&mut s, now).unwrap().seq, 2);
    }

    #[test]
    fn a_retrying_event_blocks_its_key_until_due() {
        let mut s = Scheduler::new([1, 1, 1, 1]);
        let now = Instant::now();
        s.insert(entry(1, "k", Lane::Normal), now);
        s.insert(entry(2, "k", Lane::Normal), now);
        let mut e = run(&mut s, now).unwrap();
        let due = now + std::time::Duration::from_secs(1);
        e.not_before = Some(due);
        s.retry(e, now);
        match s.next(now) {
            Next::Wait(Some(t)) => assert_eq!(t, due),
            _ => panic!("nothing may run before the retry is due"),
        }
        assert_eq!(run(&mut s, due).unwrap().seq, 1);
    }

    #[test]
    fn events_waiting_out_a_dependency_are_released_together() {
        let mut s = Scheduler::new([1, 1, 1, 1]);
        let now = Instant::now();
        let later = now + std::time::Duration::from_secs(60);
        for (seq, key, waiting_out) in [(1, "a", true), (2, "b", false), (3, "c", true)] {
            s.insert(entry(seq, key, Lane::Normal), now);
            let mut e = run(&mut s, now).unwrap();
            e.not_before = Some(later);
            e.waiting_out = waiting_out;
            s.retry(e, now);
        }
        assert!(run(&mut s, now).is_none());
        assert!(s.release_waiting());
        let mut released = [run(&mut s, now).unwrap(), run(&mut s, now).unwrap()];
        released.sort_by_key(|e| e.seq);
        assert_eq!(
            released.map(|e| (e.seq, e.waiting_out)),
            [(1, false), (3, false)]
        );
        assert!(
            run(&mut s, now).is_none(),
            "an event's own failure keeps its delay"
        );
        assert!(!s.release_waiting());
        assert_eq!(run(&mut s, later).unwrap().seq, 2);
    }

    #[test]
    fn reservations_respect_high_water_and_lane_capacity() {
        let mut s: Scheduler<u64> = Scheduler::new([1, 1, 1, 1]);
        assert!(s.try_reserve(Lane::Low, 3, 2));
        assert!(s.try_reserve(Lane::Low, 3, 2));
        assert!(!s.try_reserve(Lane::Low, 3, 2), "lane full");
        assert!(s.try_reserve(Lane::High, 3, 2));
        assert!(!s.try_reserve(Lane::High, 3, 2), "high water reached");
        s.release(Lane::High);
        assert_eq!(s.occupied(), 2);
    }

    #[test]
    fn clear_forgets_events_but_keeps_reservations() {
        let mut s = Scheduler::new([1, 1, 1, 1]);
        let now = Instant::now();
        assert!(s.try_reserve(Lane::Low, 10, 10));
        s.insert(entry(1, "k", Lane::Normal), now);
        s.insert(entry(2, "k", Lane::Normal), now);
        s.clear();
        assert_eq!((s.depth(), s.occupied()), ([0; 4], 1));
        assert!(run(&mut s, now).is_none());
        s.insert(entry(3, "k", Lane::Normal), now);
        assert_eq!(run(&mut s, now).unwrap().seq, 3, "the key is free again");
        s.release(Lane::Low);
    }
}
