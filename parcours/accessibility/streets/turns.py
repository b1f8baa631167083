"""Car turn costs as R5 computes them (``BasicTraversalTimeCalculator``), and the turn graph.

R5 routes cars *edge-based* (its states are directed edges) and adds, when a car goes
from one edge to the next, a cost that depends on the turn angle between the bearing at
the end of the first edge and the bearing at the start of the second:

=====================================  ===========  =================
turn angle (degrees, 0-360)            turn         cost (right-hand)
=====================================  ===========  =================
below 27, or from 333                  straight on  0 s
27 to 153                              left         30 s
153 to 207                             U-turn       90 s
207 to 333                             right        10 s
=====================================  ===========  =================

What is followed from R5, exactly:

- the bearings are R5's ``DirectionUtils.getFirstAngle`` / ``getLastAngle``: the
  azimuth (clockwise from north) from the first vertex of an edge to the first vertex
  more than 10 m along it (and from the last vertex more than 10 m before the end to
  the end); the whole chord when the edge is 10 m long or shorter;
- they are stored as R5 stores them: rounded to a binary degree (brad, 1/256 of a turn)
  once per way piece; the other direction's bearings are the same brads plus 128 (a
  half turn); then converted to whole degrees with R5's truncation (``brad * 180 /
  128``);
- the turn angle is ``(out - in) mod 360`` (R5's ``calculateTurnAngle``) and the costs
  are those above, at *every* transition between two edges, whatever the node's degree
  (also where two ways meet end to end), U-turns included (a dead end costs 90 s);
- traffic drives on the right (R5 hard-codes ``driveOnRight = true`` in
  ``StreetRouter``);
- no turn at the origin point nor at the destination point: the search starts on the
  origin's edge (so the first turn, at the end of that edge, is paid) and a destination
  is reached from the best time at either end of its edge, without a turn onto it, as
  R5's ``LinkedPointSet`` propagation reads vertex times.

Differences from R5 (documented, not replicated):

- bearings are planar, in the graph's metric CRS (grid north, planar metres for the
  10 m), where R5 uses spherical azimuths from longitude and latitude: both bearings at
  a node are in the same frame, so the turn angle differs by far less than a degree;
- R5's street layer is cut at every node shared with a way of *any* mode (a footway
  crossing a road cuts it, and the car pays the angle of the road there, often 0); the
  car graph here is cut only at the nodes shared by car ways, so a road that bends
  where a footway joins it pays no turn here;
- OSM turn restrictions (R5's ``TurnRestriction``) are not in the ``streets`` layer and
  are not applied;
- a point exactly on a node starts (or ends) there without a turn, where R5 still
  starts on the edge it snapped to.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
from numba import njit

from parcours.accessibility.streets._types import FloatArray, IntArray

__all__ = [
    "LEFT_TURN_S",
    "RIGHT_TURN_S",
    "STRAIGHT_ON_S",
    "U_TURN_S",
    "turn_cost_s",
    "turn_graph",
]

#: R5's turn costs (``BasicTraversalTimeCalculator``), seconds, right-hand traffic.
LEFT_TURN_S: Final = 30.0
STRAIGHT_ON_S: Final = 0.0
RIGHT_TURN_S: Final = 10.0
U_TURN_S: Final = 90.0
#: How far along an edge its bearing is taken (R5's ``DirectionUtils.DIST``), metres.
BEARING_DISTANCE_M: Final = 10.0


@njit(cache=True)
def _brads(dx: float, dy: float) -> int:
    """R5's ``radiansToBrads(getAzimuth(a, b))``: the bearing in brads, -128 to 127."""
    # clockwise from north; pi for coincident points, as R5's getAzimuth
    angle = np.pi if abs(dx) < 1e-10 and abs(dy) < 1e-10 else np.arctan2(dx, dy)
    value = int(np.floor(angle * 128.0 / np.pi + 0.5))  # Java's Math.round
    return ((value + 128) % 256) - 128  # Java's (byte) cast


@njit(cache=True)
def chain_bearings_brads(
    coords: npt.NDArray[np.float64], offsets: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The first and last bearing of every chain (way order), in brads.

    Parameters
    ----------
    coords, offsets
        The chains' coordinates, flat, and the offset of each chain (metric CRS).

    Returns
    -------
    tuple of numpy.ndarray
        ``(first, last)``: R5's ``getFirstAngleBrads`` and ``getLastAngleBrads``.

    """
    n = offsets.shape[0] - 1
    first = np.zeros(n, dtype=np.int64)
    last = np.zeros(n, dtype=np.int64)
    for c in range(n):
        lo, hi = offsets[c], offsets[c + 1] - 1  # first and last vertex
        if hi <= lo:
            continue
        # first: from vertex lo to the first vertex more than 10 m along
        end = hi
        d = 0.0
        for i in range(lo, hi):
            seg = np.hypot(coords[i + 1, 0] - coords[i, 0], coords[i + 1, 1] - coords[i, 1])
            if d + seg > BEARING_DISTANCE_M:
                end = i + 1
                break
            d += seg
        first[c] = _brads(coords[end, 0] - coords[lo, 0], coords[end, 1] - coords[lo, 1])
        # last: from the last vertex more than 10 m before the end to vertex hi
        start = lo
        d = 0.0
        for i in range(hi - 1, lo - 1, -1):
            seg = np.hypot(coords[i + 1, 0] - coords[i, 0], coords[i + 1, 1] - coords[i, 1])
            if d + seg > BEARING_DISTANCE_M:
                start = i
                break
            d += seg
        last[c] = _brads(coords[hi, 0] - coords[start, 0], coords[hi, 1] - coords[start, 1])
    return first, last


def edge_bearings_deg(
    first_brads: IntArray, last_brads: IntArray, chain: IntArray, reversed_: npt.NDArray[np.bool_]
) -> tuple[IntArray, IntArray]:
    """R5's ``getInAngle`` and ``getOutAngle`` of every directed edge, whole degrees.

    A backward edge takes its chain's brads plus 128 (a half turn, wrapped as a Java
    byte): its in-bearing is the chain's last bearing reversed, its out-bearing the first
    one reversed.
    """
    first, last = first_brads[chain], last_brads[chain]
    flip = lambda brads: ((brads + 256) % 256) - 128  # (byte)(b - (-128))  # noqa: E731
    in_brads = np.where(reversed_, flip(last), first)
    out_brads = np.where(reversed_, flip(first), last)
    # Java's integer division truncates towards zero
    to_deg = lambda brads: np.trunc(brads * 180 / 128).astype(np.int64)  # noqa: E731
    return to_deg(in_brads), to_deg(out_brads)


def turn_cost_s(out_deg: IntArray, in_deg: IntArray) -> FloatArray:
    """R5's turn cost from the out-bearing of an edge to the in-bearing of the next.

    Parameters
    ----------
    out_deg
        Bearing at the end of the edge the car leaves, whole degrees (-180 to 179).
    in_deg
        Bearing at the start of the edge it takes.

    Returns
    -------
    numpy.ndarray
        Seconds (see the module docstring).

    """
    angle = np.mod(np.asarray(out_deg, dtype=np.int64) - np.asarray(in_deg, dtype=np.int64), 360)
    return np.select(
        [angle < 27, angle < 153, angle < 207, angle < 333],
        [STRAIGHT_ON_S, LEFT_TURN_S, U_TURN_S, RIGHT_TURN_S],
        default=STRAIGHT_ON_S,
    ).astype(np.float64)


def _grouped(keys: IntArray, n: int) -> tuple[IntArray, IntArray]:
    """Items sorted by key (stable) and the CSR offsets of each key."""
    order = np.argsort(keys, kind="stable").astype(np.int64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=indptr[1:])
    return order, indptr


def _expand(indptr: IntArray, group: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """For item ``i`` in group ``group[i]``: the rows' offsets and positions in the group."""
    counts = indptr[group + 1] - indptr[group]
    ptr = np.zeros(len(group) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    owner = np.repeat(np.arange(len(group), dtype=np.int64), counts)
    position = np.repeat(indptr[group], counts) + (np.arange(int(ptr[-1])) - ptr[owner])
    return ptr, owner, position


def turn_graph(
    from_node: IntArray,
    to_node: IntArray,
    time_s: FloatArray,
    in_deg: IntArray,
    out_deg: IntArray,
    n_nodes: int,
    *,
    backward: bool,
) -> tuple[
    IntArray, IntArray, FloatArray, IntArray, IntArray, FloatArray, IntArray, IntArray, FloatArray
]:
    """The CSR arrays of the edge-based search, forward or backward.

    Forward, the label of a state (directed edge) ``e`` is the time at its end; its
    transitions go to every edge ``f`` leaving ``to_node[e]``, at ``turn(e, f) +
    time_s[f]``; a node seed leads to the edges leaving the node at their time; a node's
    time is the best label of the edges entering it. Backward, a label is the time from
    the end of the edge to the destination; its transitions go to every edge ``g``
    entering ``from_node[e]`` at ``turn(g, e) + time_s[e]``; a node seed leads to the
    edges entering the node at 0; a node's time is the best ``time_s[f]`` plus label of
    the edges leaving it.

    Returns
    -------
    tuple of numpy.ndarray
        ``(indptr, indices, weights)`` of the transitions, then of the node seeds, then
        of the node lookups.

    """
    by_from, from_ptr = _grouped(from_node, n_nodes)
    by_to, to_ptr = _grouped(to_node, n_nodes)
    if backward:
        ptr, state, position = _expand(to_ptr, from_node)
        other = by_to[position]  # the edges g entering from_node[e]
        weights = turn_cost_s(out_deg[other], in_deg[state]) + time_s[state]
        seeds = (to_ptr, by_to, np.zeros(len(by_to)))
        lookup = (from_ptr, by_from, time_s[by_from])
    else:
        ptr, state, position = _expand(from_ptr, to_node)
        other = by_from[position]  # the edges f leaving to_node[e]
        weights = turn_cost_s(out_deg[state], in_deg[other]) + time_s[other]
        seeds = (from_ptr, by_from, time_s[by_from])
        lookup = (to_ptr, by_to, np.zeros(len(by_to)))
    arrays = (ptr, other, weights, *seeds, *lookup)
    return tuple(  # type: ignore[return-value]
        np.ascontiguousarray(a, dtype=np.float64 if k % 3 == 2 else np.int64)
        for k, a in enumerate(arrays)
    )
