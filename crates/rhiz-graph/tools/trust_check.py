#!/usr/bin/env python3
"""Independent check of rhiz-graph's trust propagation with networkx.

Reads a graph exported by the `trust::tests::crosscheck` test (one record a
line, space-separated):

    now_ms <milliseconds since the epoch>
    restart <restart probability α>
    seed <did>
    rel <author> <a> <b> <signed_a> <signed_b> <discoverable> <distrust> <strength> <conviction> <last_interaction_ms>

recomputes the edge weights and the personalized PageRank from the rules of
crates/rhiz-graph/docs/trust.md, independently of the Rust code, and prints
one line per DID of the propagation: `<did> <r> <p> <reputation>` (the
propagated mass, the distrust penalty, the 0-100 reputation).

The walker's rule "a distrust opinion sends the walker back to the seeds" is
expressed for networkx as extra edges u -> seed of weight D(u)·s(seed), and
DIDs without opinions as networkx's dangling nodes with the seed
distribution, so nx.pagerank(alpha = 1 - α, personalization = dangling = s)
is exactly the formula.

    python3 crates/rhiz-graph/tools/trust_check.py graph.txt
"""

import math
import sys
from collections import defaultdict

import networkx as nx

try:
    import scipy  # noqa: F401  (nx.pagerank needs it)

    pagerank = nx.pagerank
except ImportError:  # the same power iteration in pure Python
    from networkx.algorithms.link_analysis.pagerank_alg import _pagerank_python as pagerank

DAY_MS = 86_400_000.0
HALF_LIFE_DAYS = 180.0


def main(path):
    now_ms, restart, seeds, rels = 0, 0.15, [], []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "now_ms":
                now_ms = int(parts[1])
            elif parts[0] == "restart":
                restart = float(parts[1])
            elif parts[0] == "seed":
                seeds.append(parts[1])
            elif parts[0] == "rel":
                rels.append(parts[1:])

    trust = defaultdict(float)  # (u, v) -> t(u, v)
    distrust = defaultdict(float)  # (u, v) -> d(u, v)
    for author, a, b, signed_a, signed_b, discoverable, is_distrust, strength, conviction, last_ms in rels:
        if discoverable != "1":
            continue
        age_days = max(0, now_ms - int(last_ms)) / DAY_MS
        w = int(strength) / 100 * int(conviction) / 100 * 0.5 ** (age_days / HALF_LIFE_DAYS)
        if w <= 0:
            continue
        if is_distrust == "1":
            if author == a:
                distrust[(a, b)] += w
            elif author == b:
                distrust[(b, a)] += w
            continue
        if signed_a == "1" or author == a:
            trust[(a, b)] += w
        if signed_b == "1" or author == b:
            trust[(b, a)] += w

    seeds = sorted(set(seeds))
    s = {seed: 1 / len(seeds) for seed in seeds}
    opinions = defaultdict(float)
    for (u, _), w in list(trust.items()) + list(distrust.items()):
        opinions[u] += w
    total_distrust = defaultdict(float)
    for (u, _), w in distrust.items():
        total_distrust[u] += w

    weights = defaultdict(float)
    for edge, w in trust.items():
        weights[edge] += w
    for u, d in total_distrust.items():
        for seed, share in s.items():
            weights[(u, seed)] += d * share

    g = nx.DiGraph()
    g.add_nodes_from(seeds)
    for (u, v) in list(trust) + list(distrust):
        g.add_node(u)
        g.add_node(v)
    for (u, v), w in weights.items():
        g.add_edge(u, v, weight=w)

    r = pagerank(
        g,
        alpha=1 - restart,
        personalization=s,
        dangling=s,
        weight="weight",
        tol=1e-15,
        max_iter=10_000,
    )
    penalty = defaultdict(float)
    for (u, v), d in distrust.items():
        penalty[v] += (1 - restart) * r[u] * d / opinions[u]
    n = g.number_of_nodes()
    for did in sorted(g.nodes):
        m = max(0.0, r[did] - penalty[did])
        reputation = 0
        if m > 0:
            reputation = int(min(100.0, max(0.0, math.floor(50 + 50 / 3 * math.log10(n * m) + 0.5))))
        print(f"{did} {r[did]!r} {penalty[did]!r} {reputation}")


if __name__ == "__main__":
    main(sys.argv[1])
