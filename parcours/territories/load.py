"""Loading source files into a territory: read and validate everything, then write atomically.

Several files of one kind (``--population A --population B``) are concatenated after each
is read. The same file may not be given twice (same content), and the layers' keys must not
repeat across files: ``cell_id`` (population), ``id_lieu`` (carpool), ``code_qp`` (qpv),
``station_id`` within a ``system`` (bikeshare), ``address_id`` (addresses, one BAN file
per département); a repeated key is an
:class:`~parcours.errors.InputError` naming the second file, the field and the value. The
``service_id`` of services is renumbered instead, and the ``cell_id`` that the population
reader makes up for files without an id column (record numbers) is prefixed with the file's
number (``2:17``).

A ``population`` or ``jobs`` source of which no feature lies in the perimeter plus its buffer
is refused (wrong coordinates, CRS, or columns swapped): such a layer cannot legitimately be
empty. The other layers may (no QPV, no bike share in a rural territory): a warning is given.

The readers' facts (``LayerData.extra``: population total, jobs total, establishments
partially diffusible or without coordinates...) are recorded in the manifest's layer entry
under ``summary``, with JSON values only (for several files: ``{"files": [one per file]}``,
in the order of ``sources``).

The ``mobpro`` source (INSEE's commuting detail file) is read for the territory's communes
(:func:`territory_communes`): the codes its perimeter was made of, else those of its
communes layer, loaded with it or before.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from parcours.errors import InputError
from parcours.geo.vector import CSV_SUFFIXES
from parcours.i18n import tr
from parcours.territories.readers._base import LayerData, ProgressFn, ReadContext, _no_progress
from parcours.territories.sources import GTFS_LAYERS, SOURCE_KINDS, SourceKind
from parcours.territories.workspace import Territory, Workspace, file_digest

__all__ = [
    "GTFS_LAYERS",
    "SOURCE_KINDS",
    "LoadReport",
    "SourceKind",
    "load_sources",
    "read_context",
    "territory_communes",
]

_MULTI_FILE_KINDS = {
    SourceKind.GTFS,
    SourceKind.SERVICES,
    SourceKind.BIKESHARE,
    SourceKind.CARPOOL,
    SourceKind.QPV,
    SourceKind.POPULATION,
    SourceKind.ADDRESSES,
}

# The kinds whose source may be a folder (an unzipped GTFS feed, a GBFS folder).
_FOLDER_KINDS = {SourceKind.GTFS, SourceKind.BIKESHARE}

# The key of each multi-file layer: columns that must not repeat across files, the field
# named in messages.
_LAYER_KEYS: dict[str, tuple[tuple[str, ...], str]] = {
    "population": (("cell_id",), "cell_id"),
    "carpool": (("id_lieu",), "id_lieu"),
    "qpv": (("code_qp",), "code_qp"),
    "bikeshare": (("system", "station_id"), "station_id"),
    "addresses": (("address_id",), "address_id"),
}

# Layers that cannot legitimately be empty: no feature in the area is an input error.
_NEVER_EMPTY = {"population", "jobs"}
# Layers that may be empty in a rural territory: a warning only.
_MAYBE_EMPTY = {"services", "carpool", "qpv", "bikeshare", "addresses"}


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


def _option(kind: str) -> str:
    return kind


def _check_files(kind: str, paths: Sequence[Path]) -> None:
    if len(paths) > 1 and kind not in _MULTI_FILE_KINDS:
        raise InputError(
            tr(f"une seule source « {kind} » à la fois", f"only one '{kind}' source at a time"),
            field=_option(kind),
        )
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise InputError(
                tr("fichier introuvable", "file not found"), file=path, field=_option(kind)
            )
        if path.is_dir() and kind not in _FOLDER_KINDS:
            raise InputError(
                tr(
                    "c'est un dossier : donnez le fichier lui-même",
                    "this is a folder: give the file itself",
                ),
                file=path,
                field=_option(kind),
            )
        if not path.is_dir() and not path.is_file():
            raise InputError(
                tr("ni un fichier ni un dossier", "neither a file nor a folder"),
                file=path,
                field=_option(kind),
            )


def _check_same_file(kind: str, paths: Sequence[Path], digests: Sequence[dict[str, Any]]) -> None:
    """Refuse the same source (same content) given twice for one kind."""
    seen: dict[str, int] = {}
    for number, (path, digest) in enumerate(zip(paths, digests, strict=True)):
        first = seen.setdefault(digest["sha256"], number)
        if first != number:
            raise InputError(
                tr(
                    f"même contenu que {paths[first]} : chaque source ne se donne qu'une fois",
                    f"same content as {paths[first]}: give each source once",
                ),
                file=path,
                field=_option(kind),
            )


def _check_keys(kind: str, parts: list[LayerData], paths: Sequence[Path]) -> None:
    """Refuse a key of a multi-file layer found in two files (counted twice otherwise)."""
    if kind not in _LAYER_KEYS or len(parts) < 2:
        return
    columns, field_name = _LAYER_KEYS[kind]
    first_file: dict[tuple[Any, ...], int] = {}
    for number, part in enumerate(parts):
        frame = part.frame
        if any(c not in frame.columns for c in columns):
            continue
        keys = list(zip(*(frame[c].tolist() for c in columns), strict=True))
        for key in dict.fromkeys(keys):  # within a file the readers already check
            if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in key):
                continue
            previous = first_file.setdefault(key, number)
            if previous != number:
                value = key[-1]
                where = f" ({columns[0]} {key[0]})" if len(key) > 1 else ""
                raise InputError(
                    tr(
                        f"« {value} »{where} figure déjà dans {paths[previous]} : les fichiers "
                        f"d'une même couche ne doivent pas se recouvrir (il serait compté "
                        f"deux fois)",
                        f"'{value}'{where} is already in {paths[previous]}: the files of one "
                        f"layer must not overlap (it would be counted twice)",
                    ),
                    file=paths[number],
                    field=field_name,
                )


def _number_generated_ids(parts: list[LayerData]) -> None:
    """Prefix the population ids made up from record numbers with the file's number."""
    if len(parts) < 2:
        return
    for number, part in enumerate(parts, start=1):
        if part.extra.get("cell_ids_generated"):
            part.frame["cell_id"] = [f"{number}:{v}" for v in part.frame["cell_id"]]


def _merge_extra(extras: list[dict[str, Any]]) -> dict[str, Any]:
    """Combine the readers' facts of several files: one entry per file, in the sources' order."""
    if len(extras) == 1:
        return dict(extras[0])
    return {"files": [dict(e) for e in extras]}


def _concat(parts: list[LayerData]) -> LayerData:
    if len(parts) == 1:
        return parts[0]
    frames = [p.frame for p in parts]
    merged = pd.concat(frames, ignore_index=True)
    if isinstance(frames[0], gpd.GeoDataFrame):
        merged = gpd.GeoDataFrame(merged, geometry=frames[0].geometry.name, crs=frames[0].crs)
    warnings = [w for p in parts for w in p.warnings]
    extra = _merge_extra([p.extra for p in parts])
    return LayerData(name=parts[0].name, frame=merged, warnings=warnings, extra=extra)


class _Unserialisable:
    """Marks a value that JSON cannot hold (a table, a geometry): left out of the summary."""


_SKIP = _Unserialisable()


def _json_safe(value: Any) -> Any:
    """``value`` with JSON types only (numpy scalars unwrapped, NaN as null), or ``_SKIP``."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, Mapping):
        items = {str(k): _json_safe(v) for k, v in value.items()}
        return {k: v for k, v in items.items() if v is not _SKIP}
    if isinstance(value, list | tuple):
        return [v for v in map(_json_safe, value) if v is not _SKIP]
    return _SKIP


def _summary(layer: LayerData) -> dict[str, Any]:
    """The JSON-serialisable facts of a layer (``LayerData.extra``), for the manifest."""
    if layer.name == "feeds":  # already recorded as the manifest's "feeds"
        return {}
    summary = _json_safe(layer.extra)
    return summary if isinstance(summary, dict) else {}


def _empty_layer_error(kind: str, paths: Sequence[Path]) -> InputError:
    """The error for a population or jobs source with no feature in the area."""
    csv = any(Path(p).suffix.lower() in CSV_SUFFIXES for p in paths)
    hint_fr = hint_en = ""
    if csv:
        hint_fr = (
            " ; pour un CSV lon,lat (WGS84), les colonnes sont peut-être inversées "
            "(lon = longitude, est-ouest ; lat = latitude, nord-sud)"
        )
        hint_en = (
            "; for a lon,lat CSV (WGS84), the columns may be swapped (lon = longitude, "
            "east-west; lat = latitude, north-south)"
        )
    return InputError(
        tr(
            f"aucune entité « {kind} » dans le périmètre du territoire ni dans son tampon : "
            f"vérifiez que le fichier couvre le territoire, ses coordonnées et son système de "
            f"coordonnées (CRS){hint_fr} ; la couche existante est conservée",
            f"no '{kind}' feature lies in the territory's perimeter or its buffer: check that "
            f"the file covers the territory, its coordinates and its coordinate reference "
            f"system (CRS){hint_en}; the existing layer is kept",
        ),
        file=paths[0] if len(paths) == 1 else ", ".join(str(p) for p in paths),
        field=_option(kind),
    )


def _empty_layer_warning(kind: str) -> str:
    return tr(
        f"aucune entité « {kind} » dans le périmètre ni dans son tampon : la couche est vide "
        "(normal si le territoire n'en a pas ; sinon vérifiez les coordonnées du fichier)",
        f"no '{kind}' feature in the perimeter or its buffer: the layer is empty (expected if "
        "the territory has none; otherwise check the file's coordinates)",
    )


def territory_communes(
    territory: Territory, new_communes: gpd.GeoDataFrame | None = None
) -> list[str]:
    """The INSEE codes of a territory's communes, to select its commutes (MOBPRO).

    The codes the perimeter was made of (``territory create --communes``) when it was
    defined so; otherwise the communes of the ``communes`` layer (the one being loaded, else
    the one stored) whose inner point lies in the perimeter: the layer also holds the
    communes met by the buffer, which are not the territory's.

    Raises
    ------
    InputError
        When the territory was not defined by communes and has no communes layer.
    """
    listed = [str(c).strip().upper() for c in territory.definition.get("communes", [])]
    if listed:
        return listed
    communes = new_communes
    if communes is None and territory.has_layer("communes"):
        communes = territory.layer("communes")
    if communes is None:
        raise InputError(
            tr(
                "le fichier MOBPRO se lit par communes : chargez d'abord les communes du "
                "territoire (--communes-file), ou créez-le avec --communes",
                "the MOBPRO file is read by commune: load the territory's communes first "
                "(--communes-file), or create the territory with --communes",
            ),
            field="communes_file",
        )
    perimeter = territory.perimeter.union_all()
    points = gpd.GeoSeries(communes.geometry, crs=communes.crs).to_crs(territory.crs)
    inside = points.representative_point().within(perimeter).to_numpy()
    return sorted(str(c) for c in communes.loc[inside, "insee"])


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

    if kind == SourceKind.OSM:
        return readers.read_osm(paths[0], ctx)
    if kind == SourceKind.GTFS:
        return readers.read_gtfs(paths, ctx)
    if kind == SourceKind.JOBS:
        return readers.read_jobs(paths[0], ctx, geolocation=jobs_geolocation)
    if kind == SourceKind.EMPLOYMENT_ZONES:
        communes = new_communes
        if communes is None and territory.has_layer("communes"):
            communes = territory.layer("communes")
        return readers.read_employment_zones(paths[0], ctx, communes=communes)
    if kind == SourceKind.MOBPRO:
        codes = territory_communes(territory, new_communes)
        return readers.read_mobpro(paths[0], ctx, communes=codes)
    reader = {
        SourceKind.POPULATION: readers.read_population,
        SourceKind.SERVICES: readers.read_services,
        SourceKind.CARPOOL: readers.read_carpool,
        SourceKind.QPV: readers.read_qpv,
        SourceKind.BIKESHARE: readers.read_bikeshare,
        SourceKind.ADDRESSES: readers.read_addresses,
        SourceKind.COMMUNES: readers.read_communes,
    }[SourceKind(kind)]
    parts = [reader(path, ctx)[0] for path in paths]
    if kind == "population":
        _number_generated_ids(parts)
    _check_keys(kind, parts, paths)
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
    ctx.progress(tr("empreinte des fichiers", "hashing the files"), None)
    digests: dict[Path, dict[str, Any]] = {}
    for paths in chosen.values():
        for path in paths:
            digest = file_digest(path)
            digest.update((provenance or {}).get(str(path.resolve()), {}))
            digests[path] = digest
    if jobs_geolocation is not None:
        digests[jobs_geolocation] = file_digest(jobs_geolocation)
        digests[jobs_geolocation].update(
            (provenance or {}).get(str(jobs_geolocation.resolve()), {})
        )

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
        # After the readers, which name a repeated key (and its value) more precisely.
        _check_same_file(kind, paths, [digests[p] for p in paths])
        files = list(paths) + ([jobs_geolocation] if kind == "jobs" and jobs_geolocation else [])
        for layer in layers:
            if layer.frame.empty and layer.name in _NEVER_EMPTY:
                raise _empty_layer_error(layer.name, paths)
            if layer.frame.empty and layer.name in _MAYBE_EMPTY:
                layer.warnings.append(_empty_layer_warning(layer.name))
            produced.append((kind, layer, [digests[p] for p in files]))
            if layer.name == "communes":
                new_communes = layer.frame

    report = LoadReport()
    ctx.progress(tr("écriture", "writing"), None)
    with workspace.transaction(name) as tx:
        if "gtfs" in chosen:
            for layer_name in GTFS_LAYERS:
                tx.remove_layer(layer_name)
        for kind, layer, layer_sources in produced:
            tx.write_layer(
                layer.name,
                layer.frame,
                sources=layer_sources,
                reader=kind,
                warnings=layer.warnings,
                summary=_summary(layer),
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
