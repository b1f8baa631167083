"""The diagnostic's files for GIS analysts: ``diagnostic.gpkg`` and the CSV tables.

Only what :class:`~parcours.diagnostic.Diagnostic` publishes is written (the statistical
secret applied). The GeoPackage holds:

=====================  =========  =============================================================
layer                  geometry   content
=====================  =========  =============================================================
``cells``              polygon    published cells: population, households, poor households,
                                  Filosofi's ``imputed``, ``qpv``, areas, every indicator
``communes``           polygon    per commune: weighted means (``_pop``, ``_poor``), shares
``epci``               polygon    per EPCI (the union of its communes' outlines)
``employment_zones``   polygon    per employment zone
``territory``          none       the territory's means
``equity``             none       Gini, Palma ratio, poor vs all per key indicator
``priority``           point      the cells to look at first (centres)
``commuting``          none       modal shares of home-to-work trips (INSEE MOBPRO), if loaded
``landmarks``          point      the main job zone and the France Travail agency
``isochrones``         polygon    areas reached from the landmarks (15, 30, 45 min)
``shifts``             none       share of residents on time at the main job zone
=====================  =========  =============================================================

Field names are the library's (English, documented in the README); every layer in
Lambert-93 (the territory's CRS). QGIS styles are stored in the GeoPackage's
``layer_styles`` table (QGIS's own convention, used as the default style when the layer
is opened): the cells and the communes are coloured by the share of the territory's jobs
reachable within 45 minutes by public transport at peak hours (median), with the
report's colours.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import shutil
import socket
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import pandas as pd
import pyogrio

from parcours.diagnostic import Diagnostic

__all__ = [
    "ACCESS_CLASSES",
    "AREA_LAYERS",
    "PALETTE",
    "graduated_qml",
    "staged",
    "write_geopackage",
    "write_tables",
]

#: The area tables of the diagnostic and their GeoPackage layer (and CSV) names.
AREA_LAYERS: Final = {
    "commune": "communes",
    "epci": "epci",
    "employment_zone": "employment_zones",
}
#: Class breaks of a share of jobs (0-1) and the colours of the maps and the report
#: (ColorBrewer YlGnBu, 6 classes).
ACCESS_CLASSES: Final = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0)
PALETTE: Final = ("#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494")


def _rgb(color: str) -> str:
    return ",".join(str(int(color[i : i + 2], 16)) for i in (1, 3, 5)) + ",255"


def graduated_qml(
    attribute: str, breaks: Sequence[float], colors: Sequence[str], *, percent: bool = True
) -> str:
    """A QGIS style (QML) colouring polygons by ``attribute`` in the given classes."""
    ranges = []
    symbols = []
    for i, (lower, upper) in enumerate(itertools.pairwise(breaks)):
        label = f"{lower * 100:g} - {upper * 100:g} %" if percent else f"{lower:g} - {upper:g}"
        ranges.append(
            f'<range lower="{lower}" upper="{upper}" symbol="{i}" label={quoteattr(label)}'
            ' render="true"/>'
        )
        symbols.append(
            f'<symbol type="fill" name="{i}" alpha="1" clip_to_extent="1" force_rhr="0">'
            '<layer class="SimpleFill" enabled="1" locked="0" pass="0"><Option type="Map">'
            f'<Option name="color" type="QString" value="{_rgb(colors[i])}"/>'
            '<Option name="outline_color" type="QString" value="255,255,255,120"/>'
            '<Option name="outline_width" type="QString" value="0.1"/>'
            '<Option name="style" type="QString" value="solid"/>'
            "</Option></layer></symbol>"
        )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
        '<qgis version="3.28" styleCategories="Symbology">'
        f'<renderer-v2 type="graduatedSymbol" attr={quoteattr(attribute)} '
        'graduatedMethod="GraduatedColor" symbollevels="0" enableorderby="0" forceraster="0">'
        f"<ranges>{''.join(ranges)}</ranges><symbols>{''.join(symbols)}</symbols>"
        "</renderer-v2></qgis>"
    )


def _area_layer(diagnostic: Diagnostic, name: str) -> gpd.GeoDataFrame | pd.DataFrame:
    """An area table with the area's outline when the territory has one."""
    table = diagnostic.areas[name]
    outlines = diagnostic.outlines.get(name)
    if outlines is None:
        return table
    merged = table.merge(outlines, on="area", how="left")
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=outlines.crs)


def _write_styles(path: Path, styles: dict[str, str]) -> None:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256), "
            "f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT, "
            "useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), "
            "update_time DATETIME)"
        )
        for layer, qml in styles.items():
            db.execute(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
                "owner, ui, update_time) VALUES ('', '', ?, 'geom', ?, ?, '', 1, ?, '', '', ?)",
                (layer, f"parcours {layer}", qml, "parcours", now),
            )


def write_geopackage(diagnostic: Diagnostic, path: Path) -> Path:
    """Write the published layers and their QGIS styles to ``path`` (replaced).

    The file is written under a temporary name and renamed at the end, so that an
    interrupted run leaves the previous file (or none), never half of one.
    """
    path = Path(path)
    tmp = path.with_name(f"{path.stem}.part{path.suffix}")  # GDAL wants .gpkg last
    tmp.unlink(missing_ok=True)
    cells = diagnostic.published_cells
    pyogrio.write_dataframe(cells, tmp, layer="cells", driver="GPKG")
    for name, layer in AREA_LAYERS.items():
        if name in diagnostic.areas:
            frame = _area_layer(diagnostic, name)
            pyogrio.write_dataframe(frame, tmp, layer=layer, driver="GPKG")
    pyogrio.write_dataframe(diagnostic.areas["territory"], tmp, layer="territory", driver="GPKG")
    pyogrio.write_dataframe(diagnostic.equity, tmp, layer="equity", driver="GPKG")
    if diagnostic.commuting is not None:
        pyogrio.write_dataframe(diagnostic.commuting, tmp, layer="commuting", driver="GPKG")
    if diagnostic.caseload is not None:
        pyogrio.write_dataframe(diagnostic.caseload, tmp, layer="file_active", driver="GPKG")
    for layer, frame in (
        ("landmarks", diagnostic.landmarks),
        ("isochrones", diagnostic.isochrones),
        ("shifts", diagnostic.shifts),
    ):
        if frame is not None and len(frame):
            pyogrio.write_dataframe(frame, tmp, layer=layer, driver="GPKG")
    centres = cells.set_index("cell_id").geometry.representative_point()
    priority = gpd.GeoDataFrame(
        diagnostic.priority,
        geometry=centres.reindex(diagnostic.priority["cell_id"]).to_numpy(),
        crs=cells.crs,
    )
    pyogrio.write_dataframe(priority, tmp, layer="priority", driver="GPKG")
    attribute = "share_jobs_45_transit_peak_p50"
    if attribute in cells.columns:
        qml = graduated_qml(attribute, ACCESS_CLASSES, PALETTE)
        _write_styles(
            tmp,
            {"cells": qml, "communes": graduated_qml(f"{attribute}_pop", ACCESS_CLASSES, PALETTE)},
        )
    tmp.replace(path)
    return path


def _move_in(staging: Path, folder: Path, names: Sequence[str]) -> None:
    """Move ``names`` from ``staging`` into ``folder``, each by a rename.

    A file replaces its old version at once (``os.replace``); a folder (``tables``)
    is swapped: the old one renamed aside, the new one renamed in, the old one removed.
    The report comes last, so a reader who finds the new report finds the rest too.
    """
    for name in names:
        source, target = staging / name, folder / name
        if source.is_dir():
            aside = folder / f".{name}-old-{uuid.uuid4().hex[:8]}"
            if target.exists():
                target.rename(aside)
            source.rename(target)
            shutil.rmtree(aside, ignore_errors=True)
        else:
            source.replace(target)


def _remove_dead_staging(folder: Path) -> None:
    """Clean up after a killed process: its staging folder, a folder swap it left halfway.

    A folder set aside by :func:`_move_in` (``.NAME-old-*``) whose new version is in
    place is removed; one whose new version never came is put back.
    """
    for aside in folder.glob(".*-old-*"):
        name = aside.name[1:].rsplit("-old-", 1)[0]
        if (folder / name).exists():
            shutil.rmtree(aside, ignore_errors=True)
        else:
            aside.rename(folder / name)
    host = socket.gethostname()
    for path in folder.glob(f".staging-{host}-*-*"):
        try:
            pid = int(path.name.removeprefix(f".staging-{host}-").split("-")[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except (ValueError, PermissionError):
            continue


@contextlib.contextmanager
def staged(folder: Path, names: Sequence[str]) -> Iterator[Path]:
    """A staging folder inside ``folder`` whose ``names`` are moved in at the end.

    Write the outputs into the folder yielded; when the block ends without an error,
    each of ``names`` is renamed into ``folder`` (a file replaces its old version at
    once, a folder is swapped), the last name last. On an error, or if the process is
    killed, nothing half-written is ever in ``folder``: each file is the previous
    version or the new one (a process killed during the renames may leave a mix of
    both, whole files each; the hidden staging folder and a folder set aside are
    cleaned up by the next publication on the same host). One publication per folder
    at a time.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _remove_dead_staging(folder)
    staging = folder / f".staging-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        yield staging
        _move_in(staging, folder, names)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_tables(diagnostic: Diagnostic, folder: Path) -> list[Path]:
    """The published tables as CSV (UTF-8, ``,``), one per layer of the GeoPackage."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    tables = {
        "cells": pd.DataFrame(diagnostic.published_cells.drop(columns="geometry")),
        **{
            layer: diagnostic.areas[name]
            for name, layer in AREA_LAYERS.items()
            if name in diagnostic.areas
        },
        "territory": diagnostic.areas["territory"],
        "equity": diagnostic.equity,
        "priority": diagnostic.priority,
    }
    if diagnostic.commuting is not None:
        tables["commuting"] = diagnostic.commuting
    if diagnostic.shifts is not None:
        tables["shifts"] = diagnostic.shifts
    if diagnostic.caseload is not None:
        tables["file_active"] = diagnostic.caseload
    for name, table in tables.items():
        path = folder / f"{name}.csv"
        table.to_csv(path, index=False)
        out.append(path)
    return out
