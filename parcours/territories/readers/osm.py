"""Read an OpenStreetMap extract (PBF, or OSM XML) into the ``streets`` and ``pois`` layers.

One streaming pass with pyosmium: node locations are cached in C++ (``flex_mem``
index) and only tagged objects reach Python, through two C++ key filters (nodes with a
POI key; ways with ``highway`` or a POI key). Each object adds a few values to flat
Python lists; every :data:`_CHUNK_NODES` way nodes, the pending ways are turned into
numpy arrays, projected from WGS84 to the territory CRS in one call, tested against the
area with a vectorised point-in-polygon and only the kept ways stay in memory, so
memory follows what is kept, not the size of the extract.

Choices (see ``docs/layers.md`` for the columns):

* **Streets** are the ways tagged ``highway`` whose value is not in
  :data:`EXCLUDED_HIGHWAYS` (life-cycle values such as ``construction`` or
  ``proposed``, and features that are not ways to travel along: ``platform``,
  ``bus_stop``, ``rest_area``, ``services``, ``raceway``). ``highway=elevator``,
  ``steps``, ``corridor`` and ``bus_guideway`` ways are kept (elevators matter for
  wheelchair users; routing profiles decide who may use what). ``area=yes`` ways
  (pedestrian squares) are kept as their closed outline with the ``area`` column set.
* A way is kept whole when at least one of its vertices lies in ``ctx.area``
  (boundary included), tested exactly in the territory CRS.
* **Extract cuts**: a way may reference nodes missing from the file. Only its longest
  run of consecutive located nodes is kept, so that no straight segment is invented
  across the gap; a way with fewer than two located nodes is dropped. Both are
  counted in a warning of the ``streets`` layer.
* **POIs** are nodes and closed ways carrying ``amenity``, ``shop``, ``office``,
  ``healthcare`` or ``public_transport`` (any value), or ``railway=station|halt``.
  A way becomes a point inside its polygon (:func:`shapely.point_on_surface`, after
  :func:`shapely.make_valid` when the outline is invalid). Multipolygon relations
  are not read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import osmium
import osmium.filter
import osmium.io
import osmium.osm
import pandas as pd
import shapely
from pyproj import CRS

from parcours.errors import OsmError
from parcours.geo.crs import WGS84, transformer
from parcours.i18n import tr
from parcours.territories.readers._base import LayerData, ReadContext

__all__ = ["read_osm"]

#: ``highway`` values that are not part of the street network.
EXCLUDED_HIGHWAYS: frozenset[str] = frozenset(
    {
        # life cycle: not (or no longer) a way
        "proposed",
        "planned",
        "construction",
        "abandoned",
        "disused",
        "dismantled",
        "demolished",
        "razed",
        "no",
        # features, not ways to travel along
        "platform",
        "bus_stop",
        "rest_area",
        "services",
        "raceway",
    }
)

#: (OSM key, column) of the ``streets`` layer, in the column order of docs/layers.md.
STREET_TAGS: tuple[tuple[str, str], ...] = (
    ("highway", "highway"),
    ("name", "name"),
    ("access", "access"),
    ("foot", "foot"),
    ("bicycle", "bicycle"),
    ("motor_vehicle", "motor_vehicle"),
    ("motorcar", "motorcar"),
    ("oneway", "oneway"),
    ("oneway:bicycle", "oneway_bicycle"),
    ("cycleway", "cycleway"),
    ("cycleway:left", "cycleway_left"),
    ("cycleway:right", "cycleway_right"),
    ("cycleway:both", "cycleway_both"),
    ("maxspeed", "maxspeed"),
    ("junction", "junction"),
    ("wheelchair", "wheelchair"),
    ("incline", "incline"),
    ("surface", "surface"),
    ("service", "service"),
    ("area", "area"),
    ("lanes", "lanes"),
    ("ref", "ref"),
)

#: Keys that make a POI whatever their value.
POI_KEYS: tuple[str, ...] = ("amenity", "shop", "office", "healthcare", "public_transport")
#: ``railway`` values that make a POI.
POI_RAILWAY: frozenset[str] = frozenset({"station", "halt"})
#: (OSM key, column) of the ``pois`` layer.
POI_TAGS: tuple[tuple[str, str], ...] = (
    *((key, key) for key in POI_KEYS),
    ("railway", "railway"),
    ("name", "name"),
)

STREET_COLUMNS: tuple[str, ...] = (
    "osm_id",
    *(column for _, column in STREET_TAGS),
    "node_ids",
    "geometry",
)
POI_COLUMNS: tuple[str, ...] = (
    "osm_id",
    "osm_type",
    *(column for _, column in POI_TAGS),
    "geometry",
)

_STREET_KEYS = tuple(key for key, _ in STREET_TAGS)
_POI_TAG_KEYS = tuple(key for key, _ in POI_TAGS)
#: libosmium's fixed-point value of an undefined coordinate (node absent from the file).
_UNDEFINED = 2147483647
#: libosmium stores coordinates as integers of 1e-7 degree.
_SCALE = 1e-7
#: Way nodes buffered before the pending ways are filtered against the area.
_CHUNK_NODES = 2_000_000
#: File name endings whose format libosmium recognises; anything else is read as PBF.
_KNOWN_SUFFIXES = (".pbf", ".osm", ".xml", ".o5m", ".opl", ".gz", ".bz2")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass
class _WayBuffer:
    """Ways read but not yet filtered: flat lists, one entry per way or per way node."""

    ids: list[int] = field(default_factory=list)
    rows: list[tuple[str | None, ...]] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    refs: list[int] = field(default_factory=list)
    xs: list[int] = field(default_factory=list)
    ys: list[int] = field(default_factory=list)

    def add(self, way: osmium.osm.Way, row: tuple[str | None, ...], *, refs: bool) -> None:
        """Append one way: its id, tag values, node ids and fixed-point coordinates."""
        self.ids.append(way.id)
        self.rows.append(row)
        nodes = way.nodes
        self.counts.append(len(nodes))
        for node in nodes:
            location = node.location
            if refs:
                self.refs.append(node.ref)
            self.xs.append(location.x)
            self.ys.append(location.y)

    def clear(self) -> None:
        """Forget the buffered ways."""
        for values in (self.ids, self.rows, self.counts, self.refs, self.xs, self.ys):
            values.clear()


@dataclass
class _Streets:
    """The street ways kept so far, and what was lost to extract cuts."""

    ids: list[IntArray] = field(default_factory=list)
    rows: list[tuple[str | None, ...]] = field(default_factory=list)
    node_ids: list[IntArray] = field(default_factory=list)
    geometries: list[npt.NDArray[np.object_]] = field(default_factory=list)
    truncated: int = 0
    dropped: int = 0


@dataclass
class _Area:
    """The area to keep, prepared, and the projection into its CRS."""

    geometry: shapely.Geometry
    crs: CRS

    def project(self, x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Project fixed-point WGS84 coordinates (1e-7 degree) to the area CRS."""
        lon = np.asarray(x, dtype=np.float64) * _SCALE
        lat = np.asarray(y, dtype=np.float64) * _SCALE
        px, py = transformer(WGS84, self.crs).transform(lon, lat)
        return np.asarray(px, dtype=np.float64), np.asarray(py, dtype=np.float64)

    def contains(self, x: FloatArray, y: FloatArray) -> BoolArray:
        """Which projected points lie in the area (boundary included)."""
        return np.asarray(shapely.intersects_xy(self.geometry, x, y), dtype=np.bool_)


def read_osm(path: Path, ctx: ReadContext) -> list[LayerData]:
    """Read the street network and the points of interest of an OSM extract.

    Parameters
    ----------
    path
        An OSM file: PBF (``.osm.pbf``; a file with an unknown extension is read as
        PBF) or OSM XML (``.osm``, ``.osm.gz``, ``.osm.bz2``).
    ctx
        The territory CRS, the area to keep (perimeter plus buffer) and the progress
        callback.

    Returns
    -------
    list of LayerData
        ``[streets, pois]``, GeoDataFrames in ``ctx.crs`` with the columns of
        ``docs/layers.md``: one LineString per ``highway`` way with at least one node
        in the area (kept whole), one Point per POI node or closed way in the area.

    Raises
    ------
    OsmError
        When the file is missing, is not an OSM file, is truncated or corrupt, or has
        no street inside the area. The message names the file.

    """
    path = Path(path)
    if not path.is_file():
        raise OsmError(
            tr(
                "fichier OSM introuvable (attendu : un extrait .osm.pbf)",
                "OSM file not found (expected: an .osm.pbf extract)",
            ),
            file=path,
        )
    area = shapely.from_wkb(shapely.to_wkb(ctx.area))  # a private copy, prepared below
    shapely.prepare(area)
    target = _Area(area, CRS.from_user_input(ctx.crs))

    streets = _Streets()
    pending = _WayBuffer()
    poi_nodes = _WayBuffer()  # one "way" of one node per POI node
    poi_ways = _WayBuffer()
    stats = {"highway_ways": 0, "excluded_ways": 0}
    ctx.progress(tr(f"OSM : lecture de {path.name}", f"OSM: reading {path.name}"), 0.0)
    # Only tagged objects reach Python: nodes with a POI key, ways with highway or a POI key.
    node_filter = osmium.filter.KeyFilter(*POI_KEYS, "railway")
    node_filter.enable_for(osmium.osm.NODE)
    way_filter = osmium.filter.KeyFilter("highway", *POI_KEYS, "railway")
    way_filter.enable_for(osmium.osm.WAY)
    try:
        processor = (
            osmium.FileProcessor(_osm_file(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations("flex_mem")
            .with_filter(node_filter)
            .with_filter(way_filter)
        )
        for obj in processor:
            tags = obj.tags
            get = tags.get
            if isinstance(obj, osmium.osm.Node):
                if _is_poi(get):
                    poi_nodes.ids.append(obj.id)
                    poi_nodes.rows.append(tuple([get(key) for key in _POI_TAG_KEYS]))
                    poi_nodes.counts.append(1)
                    location = obj.location
                    poi_nodes.xs.append(location.x)
                    poi_nodes.ys.append(location.y)
                continue
            if not isinstance(obj, osmium.osm.Way):
                continue
            highway = get("highway")
            if highway is not None:
                stats["highway_ways"] += 1
                if highway in EXCLUDED_HIGHWAYS:
                    stats["excluded_ways"] += 1
                else:
                    pending.add(obj, tuple([get(key) for key in _STREET_KEYS]), refs=True)
                    if len(pending.refs) >= _CHUNK_NODES:
                        _select_streets(pending, target, streets)
                        pending.clear()
                        ctx.progress(
                            tr(
                                f"OSM : {stats['highway_ways']} voies lues",
                                f"OSM: {stats['highway_ways']} ways read",
                            ),
                            None,
                        )
            if _is_poi(get) and obj.is_closed():
                poi_ways.add(obj, tuple([get(key) for key in _POI_TAG_KEYS]), refs=False)
    except (RuntimeError, UnicodeDecodeError) as exc:
        raise OsmError(
            tr(
                f"fichier OSM illisible (pas au format OSM/PBF, tronqué ou corrompu) : {exc}",
                f"unreadable OSM file (not OSM/PBF, truncated or corrupt): {exc}",
            ),
            file=path,
        ) from exc
    _select_streets(pending, target, streets)
    pending.clear()
    ctx.progress(tr("OSM : construction des couches", "OSM: building the layers"), 0.9)

    if not streets.rows:
        raise _no_streets(path, stats["highway_ways"] - stats["excluded_ways"])
    street_layer = LayerData(
        "streets",
        _street_frame(streets, target.crs),
        warnings=_street_warnings(streets),
        extra={
            **stats,
            "kept_ways": len(streets.rows),
            "truncated_ways": streets.truncated,
            "dropped_ways": streets.dropped,
        },
    )
    pois, unlocated = _poi_frame(poi_nodes, poi_ways, target)
    poi_warnings = []
    if unlocated:
        poi_warnings.append(
            tr(
                f"{unlocated} POI surfaciques touchant la zone ignorés : contour incomplet "
                "dans l'extrait OSM (nœuds absents) ou de moins de 4 nœuds",
                f"{unlocated} POI outlines touching the area skipped: incomplete in the OSM "
                "extract (missing nodes) or fewer than 4 nodes",
            )
        )
    poi_layer = LayerData("pois", pois, warnings=poi_warnings, extra={"unlocated_ways": unlocated})
    ctx.progress(tr("OSM : terminé", "OSM: done"), 1.0)
    return [street_layer, poi_layer]


def _osm_file(path: Path) -> str | osmium.io.File:
    """Name the file for pyosmium: by name when libosmium knows the format, else as PBF."""
    if path.name.lower().endswith(_KNOWN_SUFFIXES):
        return str(path)
    return osmium.io.File(str(path), "pbf")


def _is_poi(get: Any) -> bool:
    """Whether tags (their ``get`` method) make a point of interest."""
    for key in POI_KEYS:
        if get(key) is not None:
            return True
    return get("railway") in POI_RAILWAY


def _longest_located_runs(located: BoolArray, counts: IntArray) -> BoolArray:
    """Keep, in each way, only its longest run of consecutive located nodes.

    Parameters
    ----------
    located
        One flag per way node: its location is known.
    counts
        The number of nodes of each way (the ways' nodes are consecutive in ``located``).

    Returns
    -------
    numpy.ndarray
        One flag per way node: kept. Ways whose nodes are all located are untouched.

    """
    keep = located.copy()
    if located.all():
        return keep
    starts = np.cumsum(counts) - counts
    way_of_node = np.repeat(np.arange(len(counts)), counts)
    for way in np.unique(way_of_node[~located]):
        start, stop = int(starts[way]), int(starts[way] + counts[way])
        flags = np.concatenate(([0], located[start:stop].astype(np.int8), [0]))
        edges = np.diff(flags)
        run_starts = np.flatnonzero(edges == 1)
        run_stops = np.flatnonzero(edges == -1)
        keep[start:stop] = False
        if len(run_starts):
            best = int(np.argmax(run_stops - run_starts))
            keep[start + run_starts[best] : start + run_stops[best]] = True
    return keep


def _select_streets(buffer: _WayBuffer, area: _Area, out: _Streets) -> None:
    """Filter the buffered ways against the area and append the kept ones to ``out``."""
    if not buffer.ids:
        return
    counts = np.asarray(buffer.counts, dtype=np.int64)
    n_ways = len(counts)
    way_of_node = np.repeat(np.arange(n_ways), counts)
    xs = np.asarray(buffer.xs, dtype=np.int64)
    ys = np.asarray(buffer.ys, dtype=np.int64)
    located = (xs != _UNDEFINED) & (ys != _UNDEFINED)

    keep_node = _longest_located_runs(located, counts)
    kept_counts = np.bincount(way_of_node[keep_node], minlength=n_ways)
    keep_node &= (kept_counts >= 2)[way_of_node]

    px = np.full(len(xs), np.nan)
    py = np.full(len(xs), np.nan)
    px[located], py[located] = area.project(xs[located], ys[located])
    inside = np.zeros(len(xs), dtype=np.bool_)
    inside[located] = area.contains(px[located], py[located])

    inside_kept = np.bincount(way_of_node[inside & keep_node], minlength=n_ways) > 0
    inside_any = np.bincount(way_of_node[inside], minlength=n_ways) > 0
    out.dropped += int(np.count_nonzero(inside_any & (kept_counts < 2)))
    out.truncated += int(np.count_nonzero(inside_kept & (kept_counts < counts)))
    if not inside_kept.any():
        return

    node_mask = keep_node & inside_kept[way_of_node]
    new_counts = kept_counts[inside_kept]
    indices = np.repeat(np.arange(len(new_counts)), new_counts)
    coords = np.column_stack((px[node_mask], py[node_mask]))
    out.geometries.append(np.asarray(shapely.linestrings(coords, indices=indices)))
    refs = np.asarray(buffer.refs, dtype=np.int64)[node_mask]
    out.node_ids.extend(np.split(refs, np.cumsum(new_counts)[:-1]))
    out.ids.append(np.asarray(buffer.ids, dtype=np.int64)[inside_kept])
    rows = buffer.rows
    out.rows.extend(rows[i] for i in np.flatnonzero(inside_kept))


def _text_columns(
    rows: list[tuple[str | None, ...]], tags: tuple[tuple[str, str], ...]
) -> dict[str, pd.Series]:
    """Turn rows of raw tag values into string columns (missing values are null)."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in tags]
    return {
        column: pd.Series(list(values), dtype="str")
        for (_, column), values in zip(tags, columns, strict=True)
    }


def _street_frame(streets: _Streets, crs: CRS) -> gpd.GeoDataFrame:
    """Assemble the ``streets`` GeoDataFrame."""
    data: dict[str, Any] = {"osm_id": pd.Series(np.concatenate(streets.ids), dtype=np.int64)}
    data.update(_text_columns(streets.rows, STREET_TAGS))
    data["node_ids"] = pd.Series(streets.node_ids, dtype=object)
    geometry = gpd.GeoSeries(np.concatenate(streets.geometries), crs=crs)
    return gpd.GeoDataFrame(data, geometry=geometry)[list(STREET_COLUMNS)]


def _poi_frame(nodes: _WayBuffer, ways: _WayBuffer, area: _Area) -> tuple[gpd.GeoDataFrame, int]:
    """Assemble the ``pois`` GeoDataFrame.

    Also return the number of closed ways touching the area whose outline is unusable
    (nodes missing from the extract, or fewer than 4 nodes).
    """
    # POI nodes
    nx = np.asarray(nodes.xs, dtype=np.int64)
    ny = np.asarray(nodes.ys, dtype=np.int64)
    node_ok = (nx != _UNDEFINED) & (ny != _UNDEFINED)
    px, py = area.project(nx[node_ok], ny[node_ok])
    node_points = np.asarray(shapely.points(px, py), dtype=object)
    node_ids = np.asarray(nodes.ids, dtype=np.int64)[node_ok]
    node_rows = [row for row, ok in zip(nodes.rows, node_ok, strict=True) if ok]

    # POI closed ways: a point inside the polygon, when the whole outline is located
    counts = np.asarray(ways.counts, dtype=np.int64)
    way_of_node = np.repeat(np.arange(len(counts)), counts)
    wx = np.asarray(ways.xs, dtype=np.int64)
    wy = np.asarray(ways.ys, dtype=np.int64)
    located = (wx != _UNDEFINED) & (wy != _UNDEFINED)
    missing = np.bincount(way_of_node[~located], minlength=len(counts))
    way_ok = (missing == 0) & (counts >= 4)
    qx = np.full(len(wx), np.nan)
    qy = np.full(len(wx), np.nan)
    qx[located], qy[located] = area.project(wx[located], wy[located])
    inside_any = np.zeros(len(wx), dtype=np.bool_)
    inside_any[located] = area.contains(qx[located], qy[located])
    touching = np.bincount(way_of_node[inside_any], minlength=len(counts)) > 0
    unusable = int(np.count_nonzero(touching & ~way_ok))
    node_mask = way_ok[way_of_node]
    ok_counts = counts[way_ok]
    rings = shapely.linearrings(
        np.column_stack((qx[node_mask], qy[node_mask])),
        indices=np.repeat(np.arange(len(ok_counts)), ok_counts),
    )
    polygons = np.asarray(shapely.polygons(rings), dtype=object)
    invalid = ~shapely.is_valid(polygons)
    if invalid.any():
        polygons[invalid] = shapely.make_valid(polygons[invalid])
    way_points = np.asarray(shapely.point_on_surface(polygons), dtype=object)
    way_ids = np.asarray(ways.ids, dtype=np.int64)[way_ok]
    way_rows = [row for row, ok in zip(ways.rows, way_ok, strict=True) if ok]

    points = np.concatenate((node_points, way_points))
    inside = np.asarray(shapely.intersects(points, area.geometry), dtype=np.bool_)
    inside &= ~shapely.is_empty(points)
    ids = np.concatenate((node_ids, way_ids))[inside]
    osm_type = np.array(["node"] * len(node_ids) + ["way"] * len(way_ids), dtype=object)[inside]
    rows = [row for row, ok in zip(node_rows + way_rows, inside, strict=True) if ok]

    data: dict[str, Any] = {
        "osm_id": pd.Series(ids, dtype=np.int64),
        "osm_type": pd.Series(osm_type, dtype="str"),
    }
    data.update(_text_columns(rows, POI_TAGS))
    frame = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(points[inside], crs=area.crs))
    return frame[list(POI_COLUMNS)], unusable


def _street_warnings(streets: _Streets) -> list[str]:
    """Describe the extract cuts met in the ``streets`` layer."""
    warnings = []
    if streets.truncated:
        warnings.append(
            tr(
                f"{streets.truncated} voies coupées par le bord de l'extrait OSM (nœuds "
                "absents du fichier) : seule leur plus longue partie localisée est gardée",
                f"{streets.truncated} ways cut by the edge of the OSM extract (nodes "
                "missing from the file): only their longest located part is kept",
            )
        )
    if streets.dropped:
        warnings.append(
            tr(
                f"{streets.dropped} voies touchant la zone ignorées : moins de 2 nœuds "
                "localisés dans l'extrait OSM",
                f"{streets.dropped} ways touching the area skipped: fewer than 2 located "
                "nodes in the OSM extract",
            )
        )
    return warnings


def _no_streets(path: Path, candidates: int) -> OsmError:
    """Build the error raised when no street is kept."""
    if candidates == 0:
        message = tr(
            "aucune voie (way « highway ») dans le fichier : extrait vide, tronqué ou "
            "sans réseau routier ; vérifiez l'extrait OSM",
            "no 'highway' way in the file: empty or truncated extract, or no street "
            "network; check the OSM extract",
        )
    else:
        message = tr(
            f"aucune des {candidates} voies (« highway ») du fichier n'a de nœud dans le "
            "périmètre (plus la marge) : vérifiez que l'extrait OSM couvre bien le "
            "périmètre du territoire",
            f"none of the {candidates} 'highway' ways of the file has a node inside the "
            "perimeter (plus the buffer): check that the OSM extract covers the "
            "territory's perimeter",
        )
    return OsmError(message, file=path)
