"""Compiled (numba) shortest paths on a street graph: a binary-heap Dijkstra over CSR arrays.

:func:`_search` runs one search per source (sources in parallel) and reads the times to
points on chains; the graph seeds each source at the two ends of its chain.
:func:`_dijkstra_tree` is the one-source variant behind :meth:`StreetGraph.path`: it
records the edge that reached each node and stops once the target nodes are settled.
Both run on the CSR arrays of :func:`_csr` (built once per graph and direction), so a
path's time is the matrix's time to the last bit.

Car turn costs (edge-based)
---------------------------
:func:`_turn_rows` (many sources) and :func:`_turn_search_one` (one source, with
predecessors, behind :meth:`StreetGraph.path`) search over *states* that are directed
edges, on the turn graph of :func:`parcours.accessibility.streets.turns.turn_graph`
(R5's turn costs precomputed per transition, about 3 per edge in a city; parallel edges
are distinct states). A source on a chain starts on the directed edges it lies on with
the remaining fraction of their time (no turn at the origin; a point on a node starts
there without a turn); a target reads the best time at either end of its chain (no turn
onto it), forwards or, with fewer destinations, on the reversed turn graph. A dead end
forces a U-turn (90 s). Checked against networkx on an edge-based graph with the same
transition weights (``tests/test_turn_costs.py``).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from parcours.accessibility.streets._types import FloatArray, IntArray

__all__: list[str] = []

#: Origins per Dijkstra batch times graph nodes: bounds the memory of one batch (float64).
_BATCH_CELLS: Final = 10_000_000


def _unique_places(chain: IntArray, fraction: FloatArray) -> tuple[IntArray, IntArray]:
    """Indices of the first point of each distinct (chain, fraction), and the inverse map."""
    keys = np.stack((chain.astype(np.float64), fraction.astype(np.float64)), axis=1)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    return first.astype(np.int64), np.asarray(inverse, dtype=np.int64).reshape(-1)


@njit(cache=True)
def _heap_push(
    keys: npt.NDArray[np.float64], items: npt.NDArray[np.int64], size: int, key: float, item: int
) -> int:
    """Push onto a binary min-heap stored in two arrays; return the new size."""
    i = size
    keys[i] = key
    items[i] = item
    while i > 0:
        parent = (i - 1) >> 1
        if keys[parent] <= keys[i]:
            break
        keys[parent], keys[i] = keys[i], keys[parent]
        items[parent], items[i] = items[i], items[parent]
        i = parent
    return size + 1


@njit(cache=True)
def _heap_pop(keys: npt.NDArray[np.float64], items: npt.NDArray[np.int64], size: int) -> int:
    """Remove the heap's minimum (read it at index 0 first); return the new size."""
    size -= 1
    keys[0] = keys[size]
    items[0] = items[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        if left + 1 < size and keys[left + 1] < keys[left]:
            child = left + 1
        if keys[i] <= keys[child]:
            break
        keys[child], keys[i] = keys[i], keys[child]
        items[child], items[i] = items[i], items[child]
        i = child
    return size


@njit(cache=True)
def _marked(nodes: npt.NDArray[np.int64], n_nodes: int) -> tuple[npt.NDArray[np.bool_], int]:
    """A mask of ``nodes`` over the graph's ``n_nodes`` nodes, and how many distinct."""
    mask = np.zeros(n_nodes, dtype=np.bool_)
    count = 0
    for node in nodes:
        if not mask[node]:
            mask[node] = True
            count += 1
    return mask, count


@njit(cache=True, parallel=True)
def _dijkstra_rows(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int64],
    weights: npt.NDArray[np.float64],
    start_u: npt.NDArray[np.int64],
    start_v: npt.NDArray[np.int64],
    cost_u: npt.NDArray[np.float64],
    cost_v: npt.NDArray[np.float64],
    targets: npt.NDArray[np.int64],
    limit: float,
    out: npt.NDArray[np.float64],
) -> None:
    """One Dijkstra search per source (in parallel), each seeded at two nodes.

    Source ``s`` starts at node ``start_u[s]`` with cost ``cost_u[s]`` and at
    ``start_v[s]`` with ``cost_v[s]`` (``inf``: not at all); a search stops at ``limit``
    or once every node of ``targets`` is settled. ``out[s]`` receives the times: exact
    at the target nodes (``inf`` beyond ``limit``), upper bounds elsewhere.
    """
    n_nodes = indptr.shape[0] - 1
    n_edges = indices.shape[0]
    is_target, n_targets = _marked(targets, n_nodes)
    for s in prange(out.shape[0]):
        dist = out[s]
        dist[:] = np.inf
        keys = np.empty(n_edges + 2, dtype=np.float64)
        items = np.empty(n_edges + 2, dtype=np.int64)
        size = 0
        if cost_u[s] <= limit:
            dist[start_u[s]] = cost_u[s]
            size = _heap_push(keys, items, size, cost_u[s], start_u[s])
        if cost_v[s] <= limit and cost_v[s] < dist[start_v[s]]:
            dist[start_v[s]] = cost_v[s]
            size = _heap_push(keys, items, size, cost_v[s], start_v[s])
        done = np.zeros(n_nodes, dtype=np.bool_)
        left = n_targets
        while size > 0 and left > 0:
            d = keys[0]
            node = items[0]
            size = _heap_pop(keys, items, size)
            if done[node]:
                continue
            done[node] = True
            if is_target[node]:
                left -= 1
            for e in range(indptr[node], indptr[node + 1]):
                nxt = indices[e]
                nd = d + weights[e]
                if nd < dist[nxt] and nd <= limit:
                    dist[nxt] = nd
                    size = _heap_push(keys, items, size, nd, nxt)


def _search(
    csr: tuple[IntArray, IntArray, FloatArray],
    sources: tuple[IntArray, IntArray, FloatArray, FloatArray],
    targets: tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray],
    max_time_s: float,
) -> FloatArray:
    """Times from points on chains to points on chains, by compiled Dijkstra searches.

    Each source is seeded at the two ends of its chain with the partial costs; one
    search per source (a numba binary-heap Dijkstra over the CSR graph, sources in
    parallel, stopped at ``max_time_s`` or once the open ends of every target's chain are
    settled: a few destinations cost a few neighbourhoods, not the whole city) gives the
    times to the graph's nodes, and a target is reached through either end of its chain.

    Parameters
    ----------
    csr
        ``(indptr, indices, weights)``: the directed edges, parallel edges reduced, as
        built by :func:`_csr`.
    sources
        ``(node_u, node_v, cost_u, cost_v)``: the ends of each source's chain and the
        cost from the source to each (``inf`` when closed).
    targets
        ``(node_u, node_v, cost_u, cost_v, extra)``: the ends of each target's chain, the
        cost from each end to the target, and a cost added to every time (off-street).
    max_time_s
        Where the searches stop.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_sources, n_targets)``, seconds (``inf`` when unreachable; times above
        ``max_time_s`` may remain and are cut by the caller).

    """
    indptr, indices, weights = csr
    n = len(indptr) - 1
    src_u, src_v, src_cost_u, src_cost_v = sources
    tgt_u, tgt_v, tgt_cost_u, tgt_cost_v, tgt_extra = targets
    n_src = len(src_u)
    block = np.empty((n_src, len(tgt_u)))
    batch = max(1, _BATCH_CELLS // max(1, n))
    reach = np.empty((min(batch, n_src), n))
    limit = float(max_time_s)
    # a search stops once it has settled both open ends of every target's chain
    open_u, open_v = tgt_u[np.isfinite(tgt_cost_u)], tgt_v[np.isfinite(tgt_cost_v)]
    ends = np.unique(np.concatenate((open_u, open_v))).astype(np.int64)
    for start in range(0, n_src, batch):
        stop = min(start + batch, n_src)
        part = reach[: stop - start]
        _dijkstra_rows(
            indptr,
            indices,
            weights,
            np.ascontiguousarray(src_u[start:stop], dtype=np.int64),
            np.ascontiguousarray(src_v[start:stop], dtype=np.int64),
            np.ascontiguousarray(src_cost_u[start:stop], dtype=np.float64),
            np.ascontiguousarray(src_cost_v[start:stop], dtype=np.float64),
            ends,
            limit,
            part,
        )
        block[start:stop] = (
            np.minimum(part[:, tgt_u] + tgt_cost_u, part[:, tgt_v] + tgt_cost_v) + tgt_extra
        )
    return block


@njit(cache=True)
def _dijkstra_tree(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int64],
    weights: npt.NDArray[np.float64],
    seed_node: npt.NDArray[np.int64],
    seed_cost: npt.NDArray[np.float64],
    target_node: npt.NDArray[np.int64],
    limit: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """One Dijkstra search from a few seeds, recording predecessors, stopped early.

    The search starts at every ``seed_node`` with its ``seed_cost`` (``inf``: not at all)
    and stops as soon as every ``target_node`` is settled (or the heap passes ``limit``).

    Returns
    -------
    tuple of numpy.ndarray
        ``(dist, pred)``: the time to every node (``inf`` when not settled nor reached)
        and the CSR position of the edge that reached it (-1 for a seed or an
        unreached node). The times of settled nodes are exact; the others are upper
        bounds.
    """
    n_nodes = indptr.shape[0] - 1
    dist = np.full(n_nodes, np.inf)
    pred = np.full(n_nodes, -1, dtype=np.int64)
    done = np.zeros(n_nodes, dtype=np.bool_)
    is_target, left = _marked(target_node, n_nodes)
    keys = np.empty(indices.shape[0] + seed_node.shape[0] + 1, dtype=np.float64)
    items = np.empty(indices.shape[0] + seed_node.shape[0] + 1, dtype=np.int64)
    size = 0
    for i in range(seed_node.shape[0]):
        node, cost = seed_node[i], seed_cost[i]
        if cost <= limit and cost < dist[node]:
            dist[node] = cost
            size = _heap_push(keys, items, size, cost, node)
    while size > 0 and left > 0:
        d = keys[0]
        node = items[0]
        size = _heap_pop(keys, items, size)
        if done[node]:
            continue
        done[node] = True
        if is_target[node]:
            left -= 1
        for e in range(indptr[node], indptr[node + 1]):
            nxt = indices[e]
            nd = d + weights[e]
            if nd < dist[nxt] and nd <= limit:
                dist[nxt] = nd
                pred[nxt] = e
                size = _heap_push(keys, items, size, nd, nxt)
    return dist, pred


def _csr(
    rows: IntArray, cols: IntArray, times: FloatArray, n_nodes: int
) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
    """``(indptr, indices, weights, order)`` of edges given as (row, column, time) triplets.

    ``order[k]`` is the triplet at CSR position ``k``: the same arrays and the same
    order as :func:`_search` builds, so that both searches add the same floats.
    """
    order = np.argsort(rows, kind="stable")
    indices = np.ascontiguousarray(cols[order], dtype=np.int64)
    weights = np.ascontiguousarray(times[order], dtype=np.float64)
    indptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_nodes), out=indptr[1:])
    return indptr, indices, weights, order.astype(np.int64)


# --- edge-based search (car turn costs) --------------------------------------------------

#: The arrays of a turn graph (see :func:`parcours.accessibility.streets.turns.turn_graph`).
TurnArrays = tuple[
    IntArray, IntArray, FloatArray, IntArray, IntArray, FloatArray, IntArray, IntArray, FloatArray
]


@njit(cache=True)
def _push_grow(
    keys: npt.NDArray[np.float64],
    items: npt.NDArray[np.int64],
    size: int,
    key: float,
    item: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], int]:
    """:func:`_heap_push`, doubling the heap's arrays when they are full."""
    if size >= keys.shape[0]:
        bigger_keys = np.empty(2 * keys.shape[0] + 1, dtype=np.float64)
        bigger_items = np.empty(2 * keys.shape[0] + 1, dtype=np.int64)
        bigger_keys[:size] = keys[:size]
        bigger_items[:size] = items[:size]
        keys, items = bigger_keys, bigger_items
    return keys, items, _heap_push(keys, items, size, key, item)


@njit(cache=True)
def _turn_search_one(
    graph: TurnArrays,
    seed_state: npt.NDArray[np.int64],
    seed_node: npt.NDArray[np.int64],
    seed_cost: npt.NDArray[np.float64],
    state_node: npt.NDArray[np.int64],
    target_node: npt.NDArray[np.int64],
    target_cost: npt.NDArray[np.float64],
    limit: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """One edge-based Dijkstra search: the states are directed edges.

    A seed with ``seed_state >= 0`` starts at that state (its label is the seed's cost,
    its predecessor -1); a seed with ``seed_node >= 0`` is a node reached without an
    edge (no turn): the states it leads to (the graph's node CSR) get the seed's cost
    plus their weight, and predecessor -2. When ``target_node`` is not empty, the search
    stops as soon as the heap's minimum reaches the best ``label + target_cost`` over the
    states that end (``state_node``) at a ``target_node``.

    Returns
    -------
    tuple of numpy.ndarray
        ``(label, pred)``: the label of every state (``inf`` when not reached; exact for
        the settled states) and the state it was reached from (-1, -2: a seed, -3: not
        reached).
    """
    t_ptr, t_idx, t_w, n_ptr, n_idx, n_w, _, _, _ = graph
    n_states = t_ptr.shape[0] - 1
    label = np.full(n_states, np.inf)
    pred = np.full(n_states, -3, dtype=np.int64)
    done = np.zeros(n_states, dtype=np.bool_)
    keys = np.empty(n_states + 16, dtype=np.float64)
    items = np.empty(n_states + 16, dtype=np.int64)
    size = 0
    best = np.inf
    for i in range(seed_state.shape[0]):
        cost = seed_cost[i]
        if not cost <= limit:
            continue
        state = seed_state[i]
        if state >= 0 and cost < label[state]:
            label[state] = cost
            pred[state] = -1
            keys, items, size = _push_grow(keys, items, size, cost, state)
        node = seed_node[i]
        if node >= 0:
            for j in range(target_node.shape[0]):
                if target_node[j] == node and cost + target_cost[j] < best:
                    best = cost + target_cost[j]
            for k in range(n_ptr[node], n_ptr[node + 1]):
                nxt = n_idx[k]
                nd = cost + n_w[k]
                if nd < label[nxt] and nd <= limit:
                    label[nxt] = nd
                    pred[nxt] = -2
                    keys, items, size = _push_grow(keys, items, size, nd, nxt)
    while size > 0:
        d = keys[0]
        state = items[0]
        if d >= best:
            break
        size = _heap_pop(keys, items, size)
        if done[state]:
            continue
        done[state] = True
        for j in range(target_node.shape[0]):
            if state_node[state] == target_node[j] and d + target_cost[j] < best:
                best = d + target_cost[j]
        for k in range(t_ptr[state], t_ptr[state + 1]):
            nxt = t_idx[k]
            nd = d + t_w[k]
            if nd < label[nxt] and nd <= limit:
                label[nxt] = nd
                pred[nxt] = state
                keys, items, size = _push_grow(keys, items, size, nd, nxt)
    return label, pred


@njit(cache=True)
def _turn_probe(
    graph: TurnArrays,
    probe: int,
    label: npt.NDArray[np.float64],
    seed_node: npt.NDArray[np.int64],
    seed_cost: npt.NDArray[np.float64],
) -> float:
    """A state's label (``probe < n_states``), or node ``probe - n_states``'s time.

    A node's time is its seed's cost, or the best label plus weight over the states of
    the graph's lookup CSR (no turn).
    """
    _, _, _, _, _, _, l_ptr, l_idx, l_w = graph
    n_states = label.shape[0]
    if probe < n_states:
        return label[probe]
    node = probe - n_states
    best = np.inf
    for i in range(seed_node.shape[0]):
        if seed_node[i] == node and seed_cost[i] < best:
            best = seed_cost[i]
    for k in range(l_ptr[node], l_ptr[node + 1]):
        value = label[l_idx[k]] + l_w[k]
        if value < best:
            best = value
    return best


@njit(cache=True, parallel=True)
def _turn_rows(
    graph: TurnArrays,
    seed_ptr: npt.NDArray[np.int64],
    seed_state: npt.NDArray[np.int64],
    seed_node: npt.NDArray[np.int64],
    seed_cost: npt.NDArray[np.float64],
    probes: npt.NDArray[np.int64],
    limit: float,
    out: npt.NDArray[np.float64],
) -> None:
    """One edge-based search per source (in parallel); ``out[s, j]``: probe ``j``.

    Source ``s`` has the seeds ``seed_ptr[s]:seed_ptr[s + 1]`` (see
    :func:`_turn_search_one`); the probes are read by :func:`_turn_probe`.
    """
    no_target = np.zeros(0, dtype=np.int64)
    no_cost = np.zeros(0, dtype=np.float64)
    for s in prange(out.shape[0]):
        lo, hi = seed_ptr[s], seed_ptr[s + 1]
        label, _ = _turn_search_one(
            graph,
            seed_state[lo:hi],
            seed_node[lo:hi],
            seed_cost[lo:hi],
            no_target,
            no_target,
            no_cost,
            limit,
        )
        for j in range(probes.shape[0]):
            out[s, j] = _turn_probe(graph, probes[j], label, seed_node[lo:hi], seed_cost[lo:hi])


def _turn_search(
    graph: TurnArrays,
    seeds: tuple[IntArray, IntArray, FloatArray],
    seeds_per_source: int,
    probes: IntArray,
    max_time_s: float,
) -> FloatArray:
    """The probes' values from every source, by compiled edge-based searches.

    Parameters
    ----------
    graph
        The turn graph's arrays (forward or backward).
    seeds
        ``(state, node, cost)``: consecutive seeds, ``seeds_per_source`` per source
        (state or node -1 when not used, cost ``inf`` to skip a seed).
    seeds_per_source
        How many seeds each source has.
    probes
        States (``< n_states``) and nodes (``n_states + node``) to read.
    max_time_s
        Where the searches stop.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_sources, len(probes))``, seconds (``inf`` when not reached).

    """
    state, node, cost = seeds
    n_src = len(state) // seeds_per_source
    result = np.empty((n_src, len(probes)))
    if not n_src:
        return result
    batch = max(1, _BATCH_CELLS // max(1, len(probes)))
    probes = np.ascontiguousarray(probes, dtype=np.int64)
    for start in range(0, n_src, batch):
        stop = min(start + batch, n_src)
        lo, hi = start * seeds_per_source, stop * seeds_per_source
        _turn_rows(
            graph,
            np.arange(0, hi - lo + 1, seeds_per_source, dtype=np.int64),
            np.ascontiguousarray(state[lo:hi], dtype=np.int64),
            np.ascontiguousarray(node[lo:hi], dtype=np.int64),
            np.ascontiguousarray(cost[lo:hi], dtype=np.float64),
            probes,
            float(max_time_s),
            result[start:stop],
        )
    return result
