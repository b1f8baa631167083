"""Snapping points to a street graph: the nearest usable edge, and where along it.

Snapping and the first and last metres
--------------------------------------
A point snaps to the nearest point of the nearest edge usable by the mode (either
direction; R5 wants both), within ``max_snap_m`` (R5's 1,600 m); ``highway=motorway``
is never snapped to (R5's rule; tunnels and covered ways, also excluded by R5, are not in
the layer). A point with no edge in range is reported (``ok`` False, travel times
``inf``), never dropped. R5 then walks the off-street leg between the point and the
snapped point, for every mode: at a fixed 1.3 m/s at the origin
(``StreetRouter.setOrigin``) and at the request's walking speed at the destination
(``LinkedPointSet.eval``); the part along the edge to its ends is at the mode's speed.
This engine does the same with one walking speed at both ends: the graph's speed for
walk, r5py's walking speed (3.6 km/h) for bike and car, unless ``snap_speed_kmh`` is given.
An origin and a destination on the same edge are also joined directly along it when
the edge's direction allows (R5 always joins them, ignoring the direction).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import shapely

from parcours.accessibility.streets._types import BoolArray, FloatArray, IntArray, ObjectArray
from parcours.errors import InputError
from parcours.i18n import tr

__all__ = ["MAX_SNAP_M", "SnappedPoints", "snap_to_chains"]

#: R5's search radius around a point for a street to snap to (``LINK_RADIUS_METERS``).
MAX_SNAP_M: Final = 1600.0


@dataclass(frozen=True, eq=False)
class SnappedPoints:
    """Points snapped to a :class:`StreetGraph` (the result of :meth:`StreetGraph.snap`).

    Attributes
    ----------
    edge
        The directed edge each point snapped to (index into :meth:`StreetGraph.edge_geometries`),
        -1 when the point is unsnapped.
    fraction
        Where along that edge, from its ``from_node`` (0) to its ``to_node`` (1); NaN when
        unsnapped.
    snap_distance_m
        Distance from the point to the snapped point (the off-street leg), NaN when
        unsnapped.
    ok
        Whether the point snapped (an edge lay within the snapping distance).
    point_x, point_y
        The points as given, in the graph's CRS.
    snapped_x, snapped_y
        The snapped points on the edges (NaN when unsnapped).

    """

    edge: IntArray
    fraction: FloatArray
    snap_distance_m: FloatArray
    ok: BoolArray
    point_x: FloatArray
    point_y: FloatArray
    snapped_x: FloatArray
    snapped_y: FloatArray

    def __len__(self) -> int:
        """Return the number of points."""
        return len(self.edge)

    def take(self, index: IntArray | slice) -> SnappedPoints:
        """The points at ``index`` (an index array or a slice), in that order."""
        return SnappedPoints(
            edge=self.edge[index],
            fraction=self.fraction[index],
            snap_distance_m=self.snap_distance_m[index],
            ok=self.ok[index],
            point_x=self.point_x[index],
            point_y=self.point_y[index],
            snapped_x=self.snapped_x[index],
            snapped_y=self.snapped_y[index],
        )

    @property
    def n_unsnapped(self) -> int:
        """The number of points that found no street within the snapping distance."""
        return int(np.count_nonzero(~self.ok))

    def unsnapped_message(self) -> str | None:
        """Return a translated message counting the unsnapped points (None if none)."""
        n = self.n_unsnapped
        if n == 0:
            return None
        return tr(
            f"{n} point(s) sur {len(self)} sans voie utilisable à moins de la distance "
            "d'accrochage : temps de parcours inconnus (vérifiez leurs coordonnées et "
            "l'emprise de l'extrait OSM)",
            f"{n} of {len(self)} point(s) have no usable street within the snapping "
            "distance: travel times unknown (check their coordinates and the extent of "
            "the OSM extract)",
        )


def snap_to_chains(
    x_m: npt.ArrayLike,
    y_m: npt.ArrayLike,
    *,
    tree_and_chains: tuple[shapely.STRtree, IntArray],
    chain_geometry: ObjectArray,
    chain_edges: tuple[IntArray, IntArray],
    max_snap_m: float,
) -> SnappedPoints:
    """Snap points to the nearest point of the nearest linkable chain.

    Parameters
    ----------
    x_m, y_m
        Coordinates in the graph's CRS (metres).
    tree_and_chains
        A spatial index of the linkable chains and their chain ids.
    chain_geometry
        The LineString of every chain (way order).
    chain_edges
        The forward and backward directed edge of every chain (-1 when closed).
    max_snap_m
        The largest distance from a point to its street.

    Returns
    -------
    SnappedPoints
        One entry per point, in order; points with no street within ``max_snap_m``
        (or with non-finite coordinates) have ``ok`` False.

    """
    x = np.asarray(x_m, dtype=np.float64).ravel()
    y = np.asarray(y_m, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise InputError(
            tr(
                "les tableaux x et y n'ont pas la même longueur",
                "x and y arrays differ in length",
            ),
            field="x_m, y_m",
        )
    if not max_snap_m > 0:
        raise InputError(
            tr(
                f"distance d'accrochage invalide : {max_snap_m} (attendu > 0 m)",
                f"invalid snapping distance: {max_snap_m} (expected > 0 m)",
            ),
            field="max_snap_m",
        )
    n = len(x)
    edge = np.full(n, -1, dtype=np.int64)
    fraction = np.full(n, np.nan)
    distance = np.full(n, np.nan)
    snapped_x = np.full(n, np.nan)
    snapped_y = np.full(n, np.nan)
    finite = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    tree, linkable = tree_and_chains
    if len(finite) and len(linkable):
        points = shapely.points(x[finite], y[finite])
        (found, hit), dist = tree.query_nearest(
            points, max_distance=max_snap_m, return_distance=True, all_matches=False
        )
        index = finite[found]
        chain = linkable[hit]
        geometry = chain_geometry[chain]
        along = shapely.line_locate_point(geometry, points[found])
        total = shapely.length(geometry)
        chain_fraction = np.where(total > 0, along / np.where(total > 0, total, 1.0), 0.0)
        chain_fraction = np.clip(chain_fraction, 0.0, 1.0)
        # a point projected on a node is exactly at that node
        chain_fraction[along <= 1e-9] = 0.0
        chain_fraction[total - along <= 1e-9] = 1.0
        on_line = shapely.line_interpolate_point(geometry, chain_fraction, normalized=True)
        forward, backward = chain_edges
        use_forward = forward[chain] >= 0
        edge[index] = np.where(use_forward, forward[chain], backward[chain])
        fraction[index] = np.where(use_forward, chain_fraction, 1.0 - chain_fraction)
        distance[index] = dist
        snapped_x[index] = shapely.get_x(on_line)
        snapped_y[index] = shapely.get_y(on_line)
    return SnappedPoints(
        edge=edge,
        fraction=fraction,
        snap_distance_m=distance,
        ok=edge >= 0,
        point_x=x,
        point_y=y,
        snapped_x=snapped_x,
        snapped_y=snapped_y,
    )
