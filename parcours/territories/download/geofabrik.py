"""OpenStreetMap from Geofabrik: the smallest extract containing the perimeter, clipped to it.

Response shape relied on
    Geofabrik ``index-v1.json``
        GeoJSON ``FeatureCollection``; each feature has ``properties.id``,
        ``properties.parent`` (absent at the top), ``properties.urls.pbf`` and a
        (Multi)Polygon geometry in WGS84 (https://download.geofabrik.de/technical.html).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape

from parcours.errors import InputError
from parcours.i18n import tr
from parcours.territories.download._fetcher import (
    _feature_props,
    _Fetcher,
    _file_record,
    _load_json_file,
    _remove_others,
)
from parcours.territories.readers._base import ProgressFn, _no_progress

__all__ = ["clip_pbf"]


def _pick_extract(index: Mapping[str, Any], area: shapely.Geometry) -> tuple[str, str]:
    """Find the smallest Geofabrik extract whose polygon contains ``area``: (id, pbf URL)."""
    best: tuple[float, str, str] | None = None
    for feature in index.get("features", []) or []:
        props = _feature_props(feature)
        pbf = (props.get("urls") or {}).get("pbf")
        if not pbf or not feature.get("geometry"):
            continue
        polygon = shape(feature["geometry"])
        if not polygon.contains(area):
            continue
        size = polygon.area
        if best is None or size < best[0]:
            best = (size, str(props.get("id", "")), str(pbf))
    if best is None:
        raise InputError(
            tr(
                "aucun extrait Geofabrik ne couvre tout le territoire : téléchargez un fichier "
                ".osm.pbf vous-même et chargez-le avec « parcours territory load NOM --osm »",
                "no Geofabrik extract covers the whole territory: download an .osm.pbf file "
                "yourself and load it with 'parcours territory load NAME --osm'",
            ),
            field="--sources",
        )
    return best[1], best[2]


def clip_pbf(
    source: Path,
    target: Path,
    bbox: tuple[float, float, float, float],
    *,
    progress: ProgressFn | None = None,
) -> dict[str, int]:
    """Cut an OSM PBF to a bounding box, keeping whole ways.

    The strategy of ``osmium extract --strategy complete_ways``, in two passes of
    pyosmium: the first pass keeps the nodes inside the box, the ways having at least
    one of them (with all their nodes) and the relations having a kept node or way as
    a member (their other members are not added); the second pass writes those
    objects, in the input order, with the box in the header.

    Parameters
    ----------
    source
        The input ``.osm.pbf``.
    target
        The output ``.osm.pbf`` (replaced).
    bbox
        ``(min lon, min lat, max lon, max lat)`` in WGS84.
    progress
        Progress callback.

    Returns
    -------
    dict[str, int]
        Objects written per type (``nodes``, ``ways``, ``relations``).

    """
    import osmium

    report = progress or _no_progress
    x0, y0, x1, y1 = bbox
    inside: set[int] = set()
    nodes: set[int] = set()
    ways: set[int] = set()
    relations: set[int] = set()
    label = tr("découpage OSM", "clipping OSM")
    report(label, 0.0)
    entities = osmium.osm.NODE | osmium.osm.WAY | osmium.osm.RELATION
    for obj in osmium.FileProcessor(str(source), entities):
        if isinstance(obj, osmium.osm.Node):
            loc = obj.location
            if loc.valid() and x0 <= loc.lon <= x1 and y0 <= loc.lat <= y1:
                inside.add(obj.id)
        elif isinstance(obj, osmium.osm.Way):
            refs = [n.ref for n in obj.nodes]
            if any(ref in inside for ref in refs):
                ways.add(obj.id)
                nodes.update(refs)
        elif isinstance(obj, osmium.osm.Relation):
            for member in obj.members:
                if (member.type == "n" and member.ref in inside) or (
                    member.type == "w" and member.ref in ways
                ):
                    relations.add(obj.id)
                    break
    nodes |= inside
    report(label, 0.5)
    header = osmium.io.Header()
    header.add_box(osmium.osm.Box(osmium.osm.Location(x0, y0), osmium.osm.Location(x1, y1)))
    header.set("generator", "parcours")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp.osm.pbf")
    tmp.unlink(missing_ok=True)
    counts = {"nodes": 0, "ways": 0, "relations": 0}
    writer = osmium.SimpleWriter(str(tmp), header=header)
    try:
        for obj in osmium.FileProcessor(str(source), entities):
            if isinstance(obj, osmium.osm.Node):
                if obj.id in nodes:
                    writer.add_node(obj)
                    counts["nodes"] += 1
            elif isinstance(obj, osmium.osm.Way):
                if obj.id in ways:
                    writer.add_way(obj)
                    counts["ways"] += 1
            elif isinstance(obj, osmium.osm.Relation) and obj.id in relations:
                writer.add_relation(obj)
                counts["relations"] += 1
    finally:
        writer.close()
    tmp.replace(target)
    report(label, 1.0)
    return counts


def _fetch_osm(fetcher: _Fetcher, area: shapely.Geometry, dest_dir: Path) -> None:
    label = tr("index Geofabrik", "Geofabrik index")
    index_record = fetcher.get(fetcher.urls.geofabrik_index, filename="index-v1.json", label=label)
    index = _load_json_file(index_record.path, fetcher.urls.geofabrik_index)
    region, pbf_url = _pick_extract(index if isinstance(index, dict) else {}, area)
    extract = fetcher.get(pbf_url, label=f"OSM {region} (Geofabrik)")
    fetcher.result._add(
        "osm", extract.path, {**extract.manifest_entry(), "region": region}, intermediate=True
    )
    x0, y0, x1, y1 = (round(float(v), 6) for v in area.bounds)
    bbox = (x0, y0, x1, y1)
    key = hashlib.sha256(f"{extract.sha256}:{bbox}".encode()).hexdigest()[:12]
    slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in region) or "extract"
    target = dest_dir / f"osm_{slug}_{key}.osm.pbf"
    if not target.exists():
        clip_pbf(extract.path, target, bbox, progress=fetcher.progress)
    _remove_others(dest_dir, "osm_*.osm.pbf", keep=[target])
    record = _file_record(
        target,
        pbf_url,
        region=region,
        derived_from=pbf_url,
        derived_from_sha256=extract.sha256,
        derived_from_retrieved=extract.retrieved,
        clip_bbox=list(bbox),
    )
    fetcher.result._add("osm", target, record)
