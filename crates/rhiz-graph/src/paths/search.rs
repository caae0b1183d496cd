//! The exact strongest-path search with a hop limit, on dense ids.
//!
//! Three stages, each cheap when the next would be expensive:
//!
//! 1. **Reachability**: a bidirectional breadth-first search on the filtered
//!    graph (always expanding the smaller frontier) finds the fewest hops `d`
//!    or proves that no path has at most `max_hops` hops. Pairs without a
//!    qualifying path, the tail of a weight-ordered search, end here. Its
//!    depths also give hop lower bounds towards either end.
//! 2. **Strongest walk**: a bidirectional label-setting search on costs
//!    `−ln(strength/100)` over (DID, hops) labels. Adjacency lists are sorted
//!    strongest first, so a label's edges are popped lazily one at a time in
//!    cost order: a hub with 100,000 relationships costs only the edges that
//!    fall inside the search radius. A label is kept only when no label of
//!    the same side at the same DID has as few hops and at least its strength,
//!    and only when its hops plus the lower bound to the other end fit in the
//!    limit; edges that could only give such rejected labels are skipped
//!    while scanning, before they reach a queue. When a search grows costly
//!    (2048 pops, then 4096, …) one more BFS level is completed on the side
//!    that bounds the larger label set, when that level costs at most 16 edge
//!    scans per pop spent so far, which raises the hop lower bounds of
//!    every DID it does not reach: on deep, weak paths this removes most
//!    labels. The side that has popped fewer edges goes next (balancing
//!    work, not radii: a hub's side would otherwise pop most of its edges
//!    before a thin side reaches it). The two sides meet at DIDs; the search
//!    stops when the two
//!    smallest pending keys add up to more than the best meeting, then one pass
//!    over the not-yet-popped edges of the smaller side catches the meetings
//!    across a single edge that neither side reached.
//! 3. **Paths**: meetings are joined into walks, walks with a repeated DID are
//!    shortcut (never weaker, never longer), and the distinct paths are ranked
//!    by their exact strength.
//!
//! Strength products are exact integers (`u128`, at most `100^10`); floating
//! costs only order the queues and decide the stop, with a slack far above
//! their rounding error, so the first path is exactly the strongest.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::LazyLock;

use crate::graph::{Edge, Graph};

/// No label / no DID.
const NONE: u32 = u32::MAX;

/// Pops phase 2 may spend on runner-ups even after a tiny phase 1.
const MIN_RUNNER_UP_POPS: usize = 256;

/// Pops after which a search deepens a BFS to tighten its hop bounds, and
/// the factor to the next time. Tests use a small value so that the small
/// graphs of the property tests exercise it.
const DEEPEN_AFTER_POPS: usize = if cfg!(test) { 4 } else { 2048 };
const DEEPEN_GROWTH: usize = 2;
/// A deepening may scan at most this many edges per pop spent so far, so
/// its cost stays proportional to the search's (a level through a hub can
/// cover most of the graph).
const DEEPEN_COST_PER_POP: usize = 16;

/// Slack on floating costs: far above the rounding error of ten additions,
/// far below the smallest cost difference that matters for `round(100 × …)`.
const EPS: f64 = 1e-9;

/// `−ln(s/100)` for every strength; strength 0 gets a cost above any sum of
/// ten nonzero costs, so such paths rank last without infinities.
static COST: LazyLock<[f64; 101]> = LazyLock::new(|| {
    std::array::from_fn(|s| {
        if s == 0 {
            1e3
        } else {
            -(s as f64 / 100.0).ln()
        }
    })
});

/// 100^k for k = 0..=10.
const POW100: [u128; 11] = {
    let mut table = [1u128; 11];
    let mut k = 1;
    while k < 11 {
        table[k] = table[k - 1] * 100;
        k += 1;
    }
    table
};

/// Compares the strengths `a/100^ha` and `b/100^hb` exactly.
pub(crate) fn cmp_strength(a: u128, ha: u8, b: u128, hb: u8) -> Ordering {
    if ha <= hb {
        (a * POW100[usize::from(hb - ha)]).cmp(&b)
    } else {
        a.cmp(&(b * POW100[usize::from(ha - hb)]))
    }
}

/// `round(100 × product / 100^hops)`, halves up.
pub(crate) fn total_strength(product: u128, hops: u8) -> u8 {
    let denominator = POW100[usize::from(hops)];
    let rounded = (product * 200 + denominator) / (2 * denominator);
    u8::try_from(rounded).expect("a product of strengths is at most 1")
}

/// Which edges a query may use, besides excluded DIDs.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    pub(crate) min_strength: u8,
    /// By type index; `None` allows every type.
    pub(crate) allowed_types: Option<Vec<bool>>,
}

/// A path found, on dense ids, from the first DID to the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawPath {
    pub(crate) nodes: Vec<u32>,
    /// `(relationship slot, strength)` per hop.
    pub(crate) edges: Vec<(u32, u8)>,
    pub(crate) product: u128,
}

impl RawPath {
    pub(crate) fn hops(&self) -> u8 {
        u8::try_from(self.edges.len()).expect("at most 10 hops")
    }
}

#[derive(Debug, Clone, Copy)]
struct Label {
    cost: f64,
    /// Product of the strengths from the origin, exact.
    product: u128,
    node: u32,
    /// The label this one extends, or [`NONE`] at the origin.
    parent: u32,
    /// The relationship from the parent's DID, and its strength.
    rel: u32,
    strength: u8,
    hops: u8,
    /// First edge of `node` not yet popped for this label.
    next_edge: u32,
    /// Next label of the same side at the same DID.
    next_at_node: u32,
}

/// A label's next edge waiting in a queue, keyed by the cost it would give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    /// Bits of a non-negative `f64`, which order like the value.
    key: Reverse<u64>,
    label: u32,
    edge: u32,
}

/// A meeting of a forward and a backward label, maybe across one edge.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    forward: u32,
    backward: u32,
    bridge: Option<(u32, u8)>,
    product: u128,
    hops: u8,
}

/// A distinct path met by the search, with its floating cost.
#[derive(Debug, Clone)]
struct Ranked {
    path: RawPath,
    cost: f64,
}

/// Reusable buffers of the search, sized to the graph once and reset by
/// generation stamps, so a query allocates nothing of graph size.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    generation: u32,
    excluded: Vec<u32>,
    /// Per side: BFS stamp and depth.
    seen: [Vec<u32>; 2],
    depth: [Vec<u8>; 2],
    /// Depth to which each side's BFS is complete.
    complete: [u8; 2],
    /// The side whose next BFS level was left half-discovered in
    /// `next_frontier` when the two sides met.
    partial: Option<usize>,
    /// Per side: first label at each DID (valid when stamped).
    head_stamp: [Vec<u32>; 2],
    head: [Vec<u32>; 2],
    frontier: [Vec<u32>; 2],
    next_frontier: Vec<u32>,
    labels: [Vec<Label>; 2],
    queue: [BinaryHeap<Pending>; 2],
    /// The best distinct paths met so far, best first, at most `limit`.
    top: Vec<Ranked>,
    limit: usize,
}

/// The outcome of one edge of an adjacency list for a filter.
enum Step {
    /// Past the usable prefix: stop scanning this list.
    Stop,
    /// Not usable, keep scanning.
    Skip,
    /// Usable.
    Take,
}

impl Scratch {
    /// The generation-stamped arrays.
    fn stamps(&mut self) -> [&mut Vec<u32>; 5] {
        let [seen0, seen1] = &mut self.seen;
        let [head0, head1] = &mut self.head_stamp;
        [&mut self.excluded, seen0, seen1, head0, head1]
    }

    /// Resets the buffers for a query on `graph` excluding `excluded`.
    fn begin(&mut self, graph: &Graph, excluded: &[u32]) {
        let n = graph.adjacency.len();
        if self.excluded.len() < n {
            for v in self.stamps() {
                v.resize(n, 0);
            }
            for v in &mut self.depth {
                v.resize(n, 0);
            }
            for v in &mut self.head {
                v.resize(n, NONE);
            }
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            for v in self.stamps() {
                v.fill(0);
            }
            self.generation = 1;
        }
        for &v in excluded {
            self.excluded[v as usize] = self.generation;
        }
        for side in 0..2 {
            self.labels[side].clear();
            self.queue[side].clear();
            self.frontier[side].clear();
        }
        self.top.clear();
    }

    #[inline]
    fn step(&self, edge: &Edge, filter: &Filter) -> Step {
        if edge.hidden || edge.strength < filter.min_strength {
            Step::Stop
        } else if self.excluded[edge.other as usize] == self.generation
            || filter
                .allowed_types
                .as_ref()
                .is_some_and(|allowed| !allowed[usize::from(edge.kind)])
        {
            Step::Skip
        } else {
            Step::Take
        }
    }

    /// The index of the first usable edge of `list` at or after `from`.
    #[inline]
    fn next_usable(&self, list: &[Edge], from: usize, filter: &Filter) -> Option<usize> {
        for (i, edge) in list.iter().enumerate().skip(from) {
            match self.step(edge, filter) {
                Step::Stop => return None,
                Step::Skip => {}
                Step::Take => return Some(i),
            }
        }
        None
    }

    /// The index of the first edge of `label`'s DID at or after `from` that
    /// gives a label worth keeping: usable, within the hop limit given the
    /// lower bound to the other end, and not dominated on `side`.
    fn next_extension(
        &self,
        side: usize,
        label: &Label,
        list: &[Edge],
        from: usize,
        filter: &Filter,
        hop_limit: u8,
    ) -> Option<usize> {
        let hops = label.hops + 1;
        let mut k = from;
        while let Some(i) = self.next_usable(list, k, filter) {
            let edge = &list[i];
            if hops + self.hops_to_origin(1 - side, edge.other) <= hop_limit
                && !self.dominated(
                    side,
                    edge.other,
                    hops,
                    label.product * u128::from(edge.strength),
                )
            {
                return Some(i);
            }
            k = i + 1;
        }
        None
    }

    /// Finds up to `limit` paths from `s` to `t` with at most `max_hops`
    /// hops; with `shortest`, only paths of the fewest hops. The strongest
    /// comes first and is exact.
    #[allow(
        clippy::too_many_arguments,
        reason = "one query's parameters, passed once"
    )]
    pub(crate) fn find(
        &mut self,
        graph: &Graph,
        s: u32,
        t: u32,
        excluded: &[u32],
        filter: &Filter,
        max_hops: u8,
        shortest: bool,
        limit: usize,
    ) -> Vec<RawPath> {
        self.begin(graph, excluded);
        self.limit = limit;
        if self.excluded[s as usize] == self.generation
            || self.excluded[t as usize] == self.generation
        {
            return Vec::new();
        }
        let Some(fewest) = self.fewest_hops(graph, s, t, max_hops, filter) else {
            return Vec::new();
        };
        let hop_limit = if shortest { fewest } else { max_hops };
        self.strongest_walks(graph, [s, t], hop_limit, filter);
        if self
            .top
            .first()
            .is_some_and(|best| best.path.product == 0 && best.path.hops() > fewest)
        {
            // Every path has strength 0 (a positive one costs less and would
            // have been found first): they all tie, so the fewest hops win.
            self.forget_labels();
            self.strongest_walks(graph, [s, t], fewest, filter);
        }
        self.top.drain(..).map(|r| r.path).collect()
    }

    /// Drops the labels, queues and paths of a search, keeping the BFS.
    fn forget_labels(&mut self) {
        for side in 0..2 {
            for label in &self.labels[side] {
                self.head_stamp[side][label.node as usize] = 0;
            }
            self.labels[side].clear();
            self.queue[side].clear();
        }
        self.top.clear();
    }

    /// Bidirectional BFS; `None` when no path has at most `max_hops` hops.
    fn fewest_hops(
        &mut self,
        graph: &Graph,
        s: u32,
        t: u32,
        max_hops: u8,
        filter: &Filter,
    ) -> Option<u8> {
        let generation = self.generation;
        for (side, origin) in [(0, s), (1, t)] {
            self.seen[side][origin as usize] = generation;
            self.depth[side][origin as usize] = 0;
            self.frontier[side].push(origin);
        }
        self.complete = [0, 0];
        self.partial = None;
        loop {
            if self.complete[0] + self.complete[1] >= max_hops {
                return None;
            }
            let side = usize::from(self.frontier[1].len() < self.frontier[0].len());
            if self.frontier[side].is_empty() {
                return None;
            }
            let other = 1 - side;
            let depth = self.complete[side] + 1;
            let mut next = std::mem::take(&mut self.next_frontier);
            next.clear();
            for &u in &self.frontier[side] {
                let list = &graph.adjacency[u as usize];
                for edge in list {
                    match self.step(edge, filter) {
                        Step::Stop => break,
                        Step::Skip => continue,
                        Step::Take => {}
                    }
                    let w = edge.other as usize;
                    if self.seen[other][w] == generation {
                        self.next_frontier = next;
                        self.partial = Some(side);
                        return Some(depth + self.depth[other][w]);
                    }
                    if self.seen[side][w] != generation {
                        self.seen[side][w] = generation;
                        self.depth[side][w] = depth;
                        next.push(edge.other);
                    }
                }
            }
            self.next_frontier = std::mem::replace(&mut self.frontier[side], next);
            self.complete[side] = depth;
        }
    }

    /// Completes one more BFS level on `side`, raising the hop lower bound
    /// of every DID it does not reach. Used when a search turns out costly.
    fn deepen(&mut self, graph: &Graph, side: usize, filter: &Filter) {
        let mut next = if self.partial == Some(side) {
            self.partial = None;
            std::mem::take(&mut self.next_frontier)
        } else {
            Vec::new()
        };
        let depth = self.complete[side] + 1;
        for &u in &self.frontier[side] {
            for edge in &graph.adjacency[u as usize] {
                match self.step(edge, filter) {
                    Step::Stop => break,
                    Step::Skip => continue,
                    Step::Take => {}
                }
                let w = edge.other as usize;
                if self.seen[side][w] != self.generation {
                    self.seen[side][w] = self.generation;
                    self.depth[side][w] = depth;
                    next.push(edge.other);
                }
            }
        }
        self.frontier[side] = next;
        self.complete[side] = depth;
    }

    /// A lower bound on the hops from `v` to the origin of `side`.
    #[inline]
    fn hops_to_origin(&self, side: usize, v: u32) -> u8 {
        if self.seen[side][v as usize] == self.generation {
            self.depth[side][v as usize]
        } else {
            self.complete[side] + 1
        }
    }

    /// Iterates the labels of `side` at DID `v`.
    fn labels_at(&self, side: usize, v: u32) -> impl Iterator<Item = (u32, &Label)> + '_ {
        let mut cur = if self.head_stamp[side][v as usize] == self.generation {
            self.head[side][v as usize]
        } else {
            NONE
        };
        std::iter::from_fn(move || {
            if cur == NONE {
                return None;
            }
            let id = cur;
            let label = &self.labels[side][id as usize];
            cur = label.next_at_node;
            Some((id, label))
        })
    }

    /// The cost of the best path met, when there is one.
    fn best_cost(&self) -> Option<f64> {
        self.top.first().map(|r| r.cost)
    }

    /// The cost a path must beat to enter a full top list.
    fn entry_cost(&self) -> Option<f64> {
        (self.top.len() >= self.limit)
            .then(|| self.top.last().map(|r| r.cost))
            .flatten()
    }

    /// Offers the walk of a meeting to the top list.
    fn offer(&mut self, candidate: Candidate) {
        if self.top.len() >= self.limit {
            let last = &self.top[self.top.len() - 1].path;
            let order = cmp_strength(candidate.product, candidate.hops, last.product, last.hops())
                .then(last.hops().cmp(&candidate.hops));
            if order.is_le() {
                return;
            }
        }
        let path = self.walk(&candidate);
        if self.top.iter().any(|r| r.path.edges == path.edges) {
            return;
        }
        let at = self.top.partition_point(|r| {
            cmp_strength(r.path.product, r.path.hops(), path.product, path.hops())
                .then(path.hops().cmp(&r.path.hops()))
                .is_ge()
        });
        let cost = path.edges.iter().map(|&(_, s)| COST[usize::from(s)]).sum();
        self.top.insert(at, Ranked { path, cost });
        self.top.truncate(self.limit);
    }

    /// Stores `label` on `side`, meets the other side there and queues its
    /// first edge.
    fn settle(
        &mut self,
        graph: &Graph,
        side: usize,
        mut label: Label,
        origins: [u32; 2],
        hop_limit: u8,
        filter: &Filter,
    ) {
        let v = label.node as usize;
        let id = u32::try_from(self.labels[side].len()).expect("fewer than 2^32 labels");
        label.next_at_node = if self.head_stamp[side][v] == self.generation {
            self.head[side][v]
        } else {
            NONE
        };
        self.head_stamp[side][v] = self.generation;
        self.head[side][v] = id;
        self.labels[side].push(label);

        let other = 1 - side;
        let meetings: Vec<(u32, Label)> = self
            .labels_at(other, label.node)
            .filter(|(_, o)| label.hops + o.hops <= hop_limit)
            .map(|(oid, o)| (oid, *o))
            .collect();
        for (oid, o) in meetings {
            let (forward, backward) = if side == 0 { (id, oid) } else { (oid, id) };
            self.offer(Candidate {
                forward,
                backward,
                bridge: None,
                product: label.product * o.product,
                hops: label.hops + o.hops,
            });
        }

        if label.hops < hop_limit && label.node != origins[other] {
            let list = &graph.adjacency[v];
            if let Some(k) = self.next_extension(side, &label, list, 0, filter, hop_limit) {
                self.queue[side].push(Pending {
                    key: Reverse((label.cost + COST[usize::from(list[k].strength)]).to_bits()),
                    label: id,
                    edge: u32::try_from(k).expect("degree below 2^32"),
                });
            }
        }
    }

    /// Whether `side` already holds a label at `v` with at most `hops` hops
    /// and at least the strength `product/100^hops`.
    fn dominated(&self, side: usize, v: u32, hops: u8, product: u128) -> bool {
        self.labels_at(side, v)
            .any(|(_, o)| o.hops <= hops && cmp_strength(o.product, o.hops, product, hops).is_ge())
    }

    /// The bidirectional label-setting search; leaves the best paths in
    /// `self.top`.
    ///
    /// Phase 1 runs until the best path is proven: the two smallest pending
    /// keys add up to more than its cost. Phase 2 keeps going, for at most a
    /// quarter of the pops of phase 1 (and at least [`MIN_RUNNER_UP_POPS`]),
    /// while a runner-up could still enter the top list.
    fn strongest_walks(
        &mut self,
        graph: &Graph,
        origins: [u32; 2],
        hop_limit: u8,
        filter: &Filter,
    ) {
        for side in 0..2 {
            let origin = Label {
                cost: 0.0,
                product: 1,
                node: origins[side],
                parent: NONE,
                rel: NONE,
                strength: 100,
                hops: 0,
                next_edge: 0,
                next_at_node: NONE,
            };
            self.settle(graph, side, origin, origins, hop_limit, filter);
        }
        let mut pops = 0usize;
        let mut side_pops = [0usize; 2];
        let mut runner_up_budget: Option<usize> = None;
        let mut deepen_at = DEEPEN_AFTER_POPS;
        loop {
            let key = |queue: &BinaryHeap<Pending>| queue.peek().map(|p| f64::from_bits(p.key.0));
            // With one side exhausted the best is proven (every label the
            // exhausted side can reach is settled); the other side may still
            // meet runner-ups.
            let (side, sum, exhausted) = match (key(&self.queue[0]), key(&self.queue[1])) {
                // Balance the work, not the radii: the stop rule holds for
                // any alternation, and a hub's side would otherwise pop most
                // of its edges before a thin side reaches it.
                (Some(kf), Some(kb)) => (usize::from(side_pops[1] < side_pops[0]), kf + kb, false),
                (Some(kf), None) if self.best_cost().is_some() => (0, kf, true),
                (None, Some(kb)) if self.best_cost().is_some() => (1, kb, true),
                _ => break,
            };
            if self
                .best_cost()
                .is_some_and(|best| exhausted || sum > best + EPS)
            {
                if self.entry_cost().is_some_and(|entry| sum > entry + EPS) {
                    break;
                }
                let budget = runner_up_budget.get_or_insert((pops / 4).max(MIN_RUNNER_UP_POPS));
                if *budget == 0 {
                    break;
                }
                *budget -= 1;
            }
            pops += 1;
            side_pops[side] += 1;
            if pops == deepen_at {
                // Bound the bigger side's labels better: deepen the other BFS,
                // unless its next level costs more than the search so far.
                let side = usize::from(self.labels[0].len() >= self.labels[1].len());
                let cost: usize = self.frontier[side]
                    .iter()
                    .map(|&u| graph.adjacency[u as usize].len())
                    .sum();
                if self.complete[side] + 1 < hop_limit
                    && !self.frontier[side].is_empty()
                    && cost <= DEEPEN_COST_PER_POP * pops
                {
                    self.deepen(graph, side, filter);
                }
                deepen_at *= DEEPEN_GROWTH;
            }
            let Some(pending) = self.queue[side].pop() else {
                break;
            };
            let parent = self.labels[side][pending.label as usize];
            let list = &graph.adjacency[parent.node as usize];
            let edge = list[pending.edge as usize];
            self.labels[side][pending.label as usize].next_edge = pending.edge + 1;
            if let Some(k) = self.next_extension(
                side,
                &parent,
                list,
                pending.edge as usize + 1,
                filter,
                hop_limit,
            ) {
                self.queue[side].push(Pending {
                    key: Reverse((parent.cost + COST[usize::from(list[k].strength)]).to_bits()),
                    label: pending.label,
                    edge: u32::try_from(k).expect("degree below 2^32"),
                });
            }
            // The hop bound held when the edge was queued and still does;
            // dominance may have changed since.
            let hops = parent.hops + 1;
            let product = parent.product * u128::from(edge.strength);
            if self.dominated(side, edge.other, hops, product) {
                continue;
            }
            let label = Label {
                cost: f64::from_bits(pending.key.0),
                product,
                node: edge.other,
                parent: pending.label,
                rel: edge.rel,
                strength: edge.strength,
                hops,
                next_edge: 0,
                next_at_node: NONE,
            };
            self.settle(graph, side, label, origins, hop_limit, filter);
        }
        if let Some(best) = self.best_cost() {
            self.bridge_pass(
                graph,
                origins,
                hop_limit,
                filter,
                self.entry_cost().unwrap_or(best).max(best),
            );
        }
    }

    /// Meetings across one edge that neither side popped: from every label
    /// of the smaller side, its unpopped edges that give a cost of at most
    /// `threshold` (at least the best path's cost, so the best stays exact).
    fn bridge_pass(
        &mut self,
        graph: &Graph,
        origins: [u32; 2],
        hop_limit: u8,
        filter: &Filter,
        threshold: f64,
    ) {
        let side = usize::from(self.labels[1].len() < self.labels[0].len());
        let other = 1 - side;
        let mut found = Vec::new();
        for (id, label) in (0u32..).zip(&self.labels[side]) {
            if label.hops >= hop_limit || label.node == origins[other] {
                continue;
            }
            let list = &graph.adjacency[label.node as usize];
            let mut k = label.next_edge as usize;
            while let Some(i) = self.next_usable(list, k, filter) {
                k = i + 1;
                let edge = list[i];
                if label.cost + COST[usize::from(edge.strength)] > threshold + EPS {
                    break;
                }
                for (oid, o) in self.labels_at(other, edge.other) {
                    let hops = label.hops + 1 + o.hops;
                    if hops > hop_limit {
                        continue;
                    }
                    let (forward, backward) = if side == 0 { (id, oid) } else { (oid, id) };
                    found.push(Candidate {
                        forward,
                        backward,
                        bridge: Some((edge.rel, edge.strength)),
                        product: label.product * u128::from(edge.strength) * o.product,
                        hops,
                    });
                }
            }
        }
        for candidate in found {
            self.offer(candidate);
        }
    }

    /// The walk of a meeting, from the forward origin to the backward one.
    fn walk(&self, c: &Candidate) -> RawPath {
        let mut nodes = Vec::with_capacity(usize::from(c.hops) + 1);
        let mut edges = Vec::with_capacity(usize::from(c.hops));
        let mut cur = c.forward;
        while cur != NONE {
            let l = &self.labels[0][cur as usize];
            nodes.push(l.node);
            if l.parent != NONE {
                edges.push((l.rel, l.strength));
            }
            cur = l.parent;
        }
        nodes.reverse();
        edges.reverse();
        if let Some(bridge) = c.bridge {
            edges.push(bridge);
        }
        let mut cur = c.backward;
        let mut first = c.bridge.is_none();
        while cur != NONE {
            let l = &self.labels[1][cur as usize];
            if !first {
                nodes.push(l.node);
            }
            first = false;
            if l.parent != NONE {
                edges.push((l.rel, l.strength));
            }
            cur = l.parent;
        }
        shortcut(&mut nodes, &mut edges);
        let product = edges.iter().map(|&(_, s)| u128::from(s)).product();
        RawPath {
            nodes,
            edges,
            product,
        }
    }
}

/// Removes cycles from a walk: the result visits no DID twice, has no more
/// hops and, strengths being at most 1, is at least as strong.
fn shortcut(nodes: &mut Vec<u32>, edges: &mut Vec<(u32, u8)>) {
    let mut i = 0;
    while i < nodes.len() {
        if let Some(j) = nodes
            .iter()
            .rposition(|&n| n == nodes[i])
            .filter(|&j| j > i)
        {
            nodes.drain(i + 1..=j);
            edges.drain(i..j);
        }
        i += 1;
    }
}
