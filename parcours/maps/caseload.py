"""The advisors' caseload map: the people followed, at home, coloured by verdict.

:func:`caseload_map` writes one self-contained HTML page (Leaflet inlined by
:mod:`parcours.maps.render`, no tiles, no request): one circle per person at home,
green when the best way to the destination is possible, orange when it is possible with
one of the platform's solutions, red when nothing works; a click shows the person's id,
commune, best mode and the reason. Lines from home to the destination are drawn when
destinations are given.

This is individual data (DESIGN.md, "Secrecy"): the page says so in a banner
("Données personnelles — réservé aux conseillers"), is marked ``noindex``, and must
never be placed in a committee's report. People whose home has no geometry (not
geocoded) are not drawn; the legend says how many.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any, Final

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure

from parcours.errors import InputError
from parcours.i18n import get_language, language, tr
from parcours.maps.assets import use_local_assets
from parcours.maps.labels import OPTION_MODE_LABELS, VERDICT_LABELS
from parcours.maps.layers import GeoJsonLayer, Legend, escape, feature_collection, js_json
from parcours.maps.layers import legend_html as _legend_html
from parcours.maps.render import standalone_html

__all__ = ["COLUMNS", "VERDICT_COLORS", "caseload_map"]

#: The columns the caseload frame must have (besides its geometry, the homes).
COLUMNS: Final = ("id", "commune", "meilleur_mode", "verdict", "raison")
#: Marker colours by verdict (the legend's order).
VERDICT_COLORS: Final = {
    "faisable": "#1a9641",
    "faisable_avec_solution": "#f07c00",
    "infaisable": "#ca0020",
}
_BANNER_CSS: Final = (
    "<style>.parcours-banner{position:fixed;top:0;left:50%;transform:translateX(-50%);"
    "z-index:1000;background:#7f0000;color:#fff;font:bold 15px/1.3 system-ui,Arial,"
    "sans-serif;padding:6px 16px;border-radius:0 0 6px 6px;"
    "box-shadow:0 1px 6px rgba(0,0,0,.35);pointer-events:none}</style>"
)


def _check(frame: gpd.GeoDataFrame) -> None:
    if frame.crs is None:
        raise InputError(
            tr(
                "les domiciles n'ont pas de CRS : déclarez-le (frame.set_crs(...))",
                "the homes have no CRS: declare one (frame.set_crs(...))",
            ),
            field="geometry",
        )
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        names = ", ".join(missing)
        raise InputError(
            tr(f"colonnes manquantes : {names}", f"missing columns: {names}"),
            field=missing[0],
            params={"missing": missing},
        )
    bad = ~frame["verdict"].isin(list(VERDICT_COLORS))
    if bad.any():
        row = frame[bad].iloc[0]
        allowed = ", ".join(VERDICT_COLORS)
        raise InputError(
            tr(
                f"verdict inconnu « {row['verdict']} » pour la personne {row['id']} : "
                f"utilisez {allowed}",
                f"unknown verdict '{row['verdict']}' for person {row['id']}: use {allowed}",
            ),
            field="verdict",
            params={"id": str(row["id"]), "verdict": str(row["verdict"])},
        )


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _popup(row: pd.Series) -> str:
    mode = _text(row["meilleur_mode"])
    mode_text = str(OPTION_MODE_LABELS.get(mode, mode)) if mode else str(tr("aucun", "none"))
    return (
        f"<b>{escape(_text(row['id']))}</b> · {escape(_text(row['commune']))}<br>"
        f"{escape(tr('Meilleur mode', 'Best mode'))} : {escape(mode_text)}<br>"
        f"<b>{escape(VERDICT_LABELS[row['verdict']])}</b><br>"
        f"{escape(_text(row['raison']))}"
    )


def _homes(frame: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Each person's home as a WGS84 point (a polygon's representative point); None if none."""
    geoms = frame.geometry
    located = ~(geoms.isna() | geoms.is_empty)
    points = np.full(len(frame), None, dtype=object)
    if located.any():
        inside = geoms[located].representative_point().to_crs(4326)
        points[located.to_numpy()] = inside.to_numpy()
    return gpd.GeoSeries(points, index=frame.index, crs=4326)


def _destinations(destinations: gpd.GeoSeries, index: pd.Index) -> gpd.GeoSeries:
    if destinations.crs is None:
        raise InputError(
            tr(
                "les destinations n'ont pas de CRS : déclarez-le",
                "the destinations have no CRS: declare one",
            ),
            field="destinations",
        )
    series = destinations.reindex(index)
    located = ~(series.isna() | series.is_empty)
    points = np.full(len(index), None, dtype=object)
    if located.any():
        points[located.to_numpy()] = series[located].representative_point().to_crs(4326).to_numpy()
    return gpd.GeoSeries(points, index=index, crs=4326)


def _map(frame: gpd.GeoDataFrame, destinations: gpd.GeoSeries | None) -> folium.Map:
    homes = _homes(frame)
    located = ~homes.isna().to_numpy()
    people = gpd.GeoDataFrame(
        frame[located].drop(columns=frame.geometry.name), geometry=homes[located]
    )
    order: dict[Hashable, int] = {v: k for k, v in enumerate(VERDICT_COLORS)}
    m = folium.Map(
        tiles=None, prefer_canvas=True, control_scale=True, location=[46.6, 2.5], zoom_start=6
    )
    use_local_assets(m, "inline")
    shown = [people.geometry]
    if destinations is not None:
        ends = _destinations(destinations, frame.index)[located]
        pairs = ~ends.isna().to_numpy()
        lines = (
            shapely.linestrings(
                [
                    [(h.x, h.y), (d.x, d.y)]
                    for h, d in zip(people.geometry[pairs], ends[pairs], strict=True)
                ]
            )
            if pairs.any()
            else np.array([], dtype=object)
        )
        segments = gpd.GeoDataFrame(geometry=list(lines), crs=4326)
        if len(segments):
            GeoJsonLayer(
                feature_collection(segments),
                str(tr("Trajets domicile → destination", "Home → destination")),
                style='function (f) {return {color: "#525252", weight: 1.5, opacity: 0.6,'
                ' dashArray: "4 4"};}',
            ).add_to(m)
            shown.append(segments.geometry)
    if len(people):
        GeoJsonLayer(
            feature_collection(
                people,
                {
                    "v": people["verdict"].map(order).to_numpy(),
                    "t": people["id"].map(lambda v: escape(_text(v))).to_numpy(),
                    "h": people.apply(_popup, axis=1).to_numpy(),
                },
            ),
            str(tr("Personnes suivies", "People followed")),
            style=(
                f"function (f) {{return {{radius: 7, color: '#ffffff', weight: 1.5, "
                f"fillColor: {js_json(list(VERDICT_COLORS.values()))}[f.properties.v], "
                "fillOpacity: 0.95};}"
            ),
            tooltip="function (f) {return f.properties.t;}",
            popup="function (f) {return f.properties.h;}",
            points=True,
        ).add_to(m)
        west, south, east, north = pd.concat(shown).total_bounds
        m.fit_bounds([[float(south), float(west)], [float(north), float(east)]], max_zoom=15)
    counts = frame["verdict"].value_counts()
    legend = _legend_html(
        str(tr("Meilleur trajet", "Best way")),
        [
            (color, f"{VERDICT_LABELS[v]} ({int(counts.get(v, 0))})")
            for v, color in VERDICT_COLORS.items()
        ],
        dots=True,
    )
    unlocated = int((~located).sum())
    if unlocated:
        legend += (
            "<div>"
            + escape(
                tr(
                    f"{unlocated} personne sans domicile localisé n'est pas sur la carte"
                    if unlocated == 1
                    else f"{unlocated} personnes sans domicile localisé ne sont pas sur la carte",
                    f"{unlocated} person without a located home is not on the map"
                    if unlocated == 1
                    else f"{unlocated} people without a located home are not on the map",
                )
            )
            + "</div>"
        )
    Legend(legend, position="bottomleft").add_to(m)
    root = m.get_root()
    if not isinstance(root, Figure):
        raise TypeError("the map is not in a folium Figure")
    root.header.add_child(Element(_BANNER_CSS), name="parcours_banner_css")
    root.html.add_child(
        Element(
            '<div class="parcours-banner" role="note">'
            + escape(
                tr(
                    "Données personnelles — réservé aux conseillers",
                    "Personal data — advisors only",
                )
            )
            + "</div>"
        ),
        name="parcours_banner",
    )
    return m


def caseload_map(
    frame: gpd.GeoDataFrame,
    path: Path,
    *,
    destinations: gpd.GeoSeries | None = None,
    lang: str | None = None,
) -> Path:
    """Write the caseload's map for advisors: one self-contained, offline HTML page.

    Parameters
    ----------
    frame
        One row per person: the home as geometry (any CRS, declared) and the columns
        :data:`COLUMNS`: ``id``, ``commune``, ``meilleur_mode`` (the matching's mode,
        ``velo_electrique``...), ``verdict`` (``faisable``, ``faisable_avec_solution`` or
        ``infaisable``) and ``raison``.
    path
        The HTML file to write (replaced at the end, never left half-written).
    destinations
        Optional: each person's destination (a point per row of ``frame``, matched by
        index, any CRS); a line is drawn from home to it.
    lang
        ``"fr"`` or ``"en"``; default: the language in force.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    parcours.errors.InputError
        When the frame has no CRS, lacks a column, or has an unknown verdict (the
        person's id is named). Nothing is written then.
    """
    with language(lang or get_language()) as lng:
        _check(frame)
        m = _map(frame, destinations)
        html = standalone_html(
            m,
            title=str(tr("Personnes suivies — données personnelles", "Caseload — personal data")),
            lang=lng,
        )
    html = html.replace(
        '<meta charset="utf-8">',
        '<meta charset="utf-8">\n<meta name="robots" content="noindex">',
        1,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(html, "utf-8")
    tmp.replace(path)
    return path
