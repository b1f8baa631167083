"""Polygon clean-up shared by every area the project draws (isochrones of both engines)."""

from __future__ import annotations

from typing import Any

import shapely

__all__ = ["fill_small_holes"]


def fill_small_holes(geometry: Any, min_hole_m2: float) -> Any:
    """The (multi)polygon with its holes smaller than ``min_hole_m2`` filled.

    Parameters
    ----------
    geometry
        A Polygon or MultiPolygon in a metric CRS (areas in square metres).
    min_hole_m2
        Holes of at least this area are kept; ``<= 0`` keeps every hole.
    """
    if min_hole_m2 <= 0 or geometry.is_empty:
        return geometry
    kept = []
    for polygon in shapely.get_parts(geometry):
        holes = [ring for ring in polygon.interiors if shapely.Polygon(ring).area >= min_hole_m2]
        kept.append(shapely.Polygon(polygon.exterior, holes))
    return shapely.union_all(kept)
