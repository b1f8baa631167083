"""Loading source files into a territory: read and validate everything, then write atomically."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from parcours.errors import InputError
from parcours.i18n import tr
from parcours.territories.readers._base import LayerData, ProgressFn, ReadContext, _no_progress
from parcours.territories.workspace import Territory, Workspace, file_digest

__all__ = ["GTFS_LAYERS", "SOURCE_KINDS", "LoadReport", "load_sources", "read_context"]

#: The kinds of source ``parcours territory load`` accepts, in the order they are read.
SOURCE_KINDS: tuple[str, ...] = (
    "osm",
    "gtfs",
    "population",
    "jobs",
    "services",
    "carpool",
    "qpv",
    "bikeshare",
    "communes",
    "employment_zones",
)

#: The layers a GTFS load replaces together.
GTFS_LAYERS: tuple[str, ...] = (
    "feeds",
    "stops",
    "routes",
    "trips",
    "stop_times",
    "calendar",
    "calendar_dates",
    "frequencies",
    "transfers",
)

_MULTI_FILE_KINDS = {"gtfs", "services", "bikeshare", "carpool", "qpv", "population"}


@dataclass
class LoadReport:
    """What a load wrote.

    Attributes
    ----------
    layers
        Layer name -> row count, for the layers written.
    warnings
        Non-fatal problems met (already translated).
    """

    layers: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def read_context(territory: Territory, progress: ProgressFn | None = None) -> ReadContext:
    """The reading context of a territory: its CRS and its perimeter plus buffer."""
    return ReadContext(
        crs=territory.crs, area=territory.clip_area(), progress=progress or _no_progress
    )


def _check_files(kind: str, paths: Sequence[Path]) -> None:
    if len(paths) > 1 and kind not in _MULTI_FILE_KINDS:
        raise InputError(
            tr(f"une seule source « {kind} » à la fois", f"only one '{kind}' source at a time"),
            field=f"--{kind.replace('_', '-')}",
        )
    for path in paths:
        if not Path(path).exists():
            raise InputError(
                tr("fichier introuvable", "file not found"),
                file=path,
                field=f"--{kind.replace('_', '-')}",
            )


def _concat(parts: list[LayerData]) -> LayerData:
    if len(parts) == 1:
        return parts[0]
    frames = [p.frame for p in parts]
    merged = pd.concat(frames, ignore_index=True)
    if isinstance(frames[0], gpd.GeoDataFrame):
        merged = gpd.GeoDataFrame(merged, geometry=frames[0].geometry.name, crs=frames[0].crs)
    warnings = [w for p in parts for w in p.warnings]
    return LayerData(name=parts[0].name, frame=merged, warnings=warnings)


def _read_kind(
    kind: str,
    paths: Sequence[Path],
    ctx: ReadContext,
    *,
    territory: Territory,
    new_communes: gpd.GeoDataFrame | None,
    jobs_geolocation: Path | None,
) -> list[LayerData]:
    # Readers are imported here so that `parcours territory info` stays fast.
    from parcours.territories import readers

    if kind == "osm":
        return readers.read_osm(paths[0], ctx)
    if kind == "gtfs":
        return readers.read_gtfs(paths, ctx)
    if kind == "jobs":
        return readers.read_jobs(paths[0], ctx, geolocation=jobs_geolocation)
    if kind == "employment_zones":
        communes = new_communes
        if communes is None and territory.has_layer("communes"):
            communes = territory.layer("communes")
        return readers.read_employment_zones(paths[0], ctx, communes=communes)
    reader = {
        "population": readers.read_population,
        "services": readers.read_services,
        "carpool": readers.read_carpool,
        "qpv": readers.read_qpv,
        "bikeshare": readers.read_bikeshare,
        "communes": readers.read_communes,
    }[kind]
    parts = [reader(path, ctx)[0] for path in paths]
    merged = _concat(parts)
    if kind == "services" and len(parts) > 1 and merged.frame["service_id"].duplicated().any():
        merged.frame["service_id"] = [f"{i}" for i in range(1, len(merged.frame) + 1)]
    return [merged]


def load_sources(
    workspace: Workspace,
    name: str,
    sources: Mapping[str, Sequence[Path]],
    *,
    jobs_geolocation: Path | None = None,
    provenance: Mapping[str, dict[str, Any]] | None = None,
    progress: ProgressFn | None = None,
) -> LoadReport:
    """Read, validate and store source files in a territory.

    Every file is read and validated before anything is written; the territory is then
    replaced atomically. A load replaces the layers it names and keeps the others.

    Parameters
    ----------
    workspace
        The workspace.
    name
        The territory.
    sources
        Source kind (see :data:`SOURCE_KINDS`) -> files.
    jobs_geolocation
        The SIRENE geolocation file going with a SIRENE stock file.
    provenance
        Resolved file path -> extra facts to record with it (download URL, date).
    progress
        Progress callback.

    Returns
    -------
    LoadReport
        Layers written and warnings.
    """
    territory = workspace.open(name)
    unknown = sorted(set(sources) - set(SOURCE_KINDS))
    if unknown:
        raise InputError(
            tr(
                f"source inconnue : {', '.join(unknown)} (attendu : {', '.join(SOURCE_KINDS)})",
                f"unknown source: {', '.join(unknown)} (expected: {', '.join(SOURCE_KINDS)})",
            ),
        )
    chosen = {k: [Path(p) for p in v] for k, v in sources.items() if v}
    if not chosen:
        raise InputError(tr("aucun fichier à charger", "no file to load"))
    for kind, paths in chosen.items():
        _check_files(kind, paths)
    if jobs_geolocation is not None:
        _check_files("jobs", [jobs_geolocation])

    ctx = read_context(territory, progress)
    produced: list[tuple[str, LayerData, list[dict[str, Any]]]] = []
    new_communes: gpd.GeoDataFrame | None = None
    for kind in SOURCE_KINDS:
        if kind not in chosen:
            continue
        paths = chosen[kind]
        ctx.progress(tr(f"lecture {kind}", f"reading {kind}"), None)
        layers = _read_kind(
            kind,
            paths,
            ctx,
            territory=territory,
            new_communes=new_communes,
            jobs_geolocation=jobs_geolocation,
        )
        files = list(paths) + ([jobs_geolocation] if kind == "jobs" and jobs_geolocation else [])
        digests = []
        for path in files:
            digest = file_digest(path)
            digest.update((provenance or {}).get(str(path.resolve()), {}))
            digests.append(digest)
        for layer in layers:
            produced.append((kind, layer, digests))
            if layer.name == "communes":
                new_communes = layer.frame

    report = LoadReport()
    ctx.progress(tr("écriture", "writing"), None)
    with workspace.transaction(name) as tx:
        if "gtfs" in chosen:
            for layer_name in GTFS_LAYERS:
                tx.remove_layer(layer_name)
        for kind, layer, digests in produced:
            tx.write_layer(
                layer.name, layer.frame, sources=digests, reader=kind, warnings=layer.warnings
            )
            report.layers[layer.name] = len(layer.frame)
            report.warnings.extend(layer.warnings)
            if layer.name == "feeds":
                tx.set_feeds(_feeds_summary(layer.frame))
    return report


def _feeds_summary(feeds: pd.DataFrame) -> list[dict[str, Any]]:
    """Feed summaries for the manifest and ``info``: id, agency, first and last service date."""
    rows: list[dict[str, Any]] = []
    for record in feeds.to_dict("records"):
        row: dict[str, Any] = {
            "id": record.get("feed_id"),
            "agency": record.get("agency_name"),
            "first_service_date": None,
            "last_service_date": None,
        }
        for raw_key, value in record.items():
            key = str(raw_key)
            if key in ("feed_id", "agency_name"):
                continue
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                row[key] = None
            elif isinstance(value, pd.Timestamp):
                row[key] = value.date().isoformat()
            elif hasattr(value, "item"):
                row[key] = value.item()
            else:
                row[key] = value
        row["first_service_date"] = row.pop("start_date", None)
        row["last_service_date"] = row.pop("end_date", None)
        rows.append(row)
    return rows
