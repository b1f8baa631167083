"""What every source reader receives and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import CRS

from parcours.geo.crs import WGS84
from parcours.progress import ProgressFn, no_progress

__all__ = ["LayerData", "ProgressFn", "ReadContext", "clip_to_area", "keep_in_area"]

_no_progress = no_progress


@dataclass(frozen=True)
class ReadContext:
    """Where the data goes: the territory's CRS and the area to keep.

    Attributes
    ----------
    crs
        The territory's metric CRS; spatial layers are returned in it.
    area
        The perimeter plus the buffer, in ``crs``: features outside are dropped.
    progress
        Called with a label and a fraction (or None) during long reads.
    """

    crs: CRS
    area: shapely.Geometry
    progress: ProgressFn = _no_progress

    def area_wgs84(self) -> shapely.Geometry:
        """The area in WGS84 (for filtering raw lon/lat before projecting)."""
        return gpd.GeoSeries([self.area], crs=self.crs).to_crs(WGS84).iloc[0]


@dataclass
class LayerData:
    """One normalised layer produced by a reader.

    Attributes
    ----------
    name
        The workspace layer name (``streets``, ``stops``, ``trips``, ``population``, ...).
    frame
        A GeoDataFrame in the territory CRS, or a plain table (GTFS trips, stop_times).
    warnings
        Non-fatal problems (already translated), recorded in the manifest and shown.
    extra
        Reader-specific metadata (e.g. GTFS feed summaries).
    """

    name: str
    frame: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def keep_in_area(frame: gpd.GeoDataFrame, ctx: ReadContext) -> gpd.GeoDataFrame:
    """Project to the territory CRS and keep the features meeting the area, keeping the index."""
    projected = frame if CRS.from_user_input(frame.crs).equals(ctx.crs) else frame.to_crs(ctx.crs)
    keep = shapely.intersects(projected.geometry.to_numpy(), ctx.area)
    return projected.loc[keep]


def clip_to_area(frame: gpd.GeoDataFrame, ctx: ReadContext) -> gpd.GeoDataFrame:
    """Project a layer to the territory CRS and keep the features that intersect the area."""
    return keep_in_area(frame, ctx).reset_index(drop=True)
