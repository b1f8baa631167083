"""The diagnostic's maps, one folium map per theme, that render with no internet.

* :func:`base_layers`: the territory's own main streets and commune outlines (water if
  the territory has a ``water`` layer); online tiles only on request (``tiles="osm"``
  or ``"ign"``);
* :func:`atlas_map`: where people live, the jobs, the services, the public transport
  stops (by daily departures), carpool areas and bike-share stations;
* :func:`access_map`: the share of the territory's jobs reachable within 45 minutes,
  one choice per mode and, for public transport, per time band (median);
* :func:`gaps_map`: the "zones sans desserte" (no stop served within 1 km that day, or
  during a band) and the priority cells.

Only what a committee may see is drawn: the diagnostic's published cells (statistical
secret applied), its areas and priority list, and the territory's public layers; never
:attr:`Diagnostic.cells <parcours.diagnostic.Diagnostic.cells>`. Labels are French by
default (``lang="en"`` for English, or the language in force: :mod:`parcours.i18n`).
The colours of the access classes are :data:`~parcours.maps.exports.PALETTE`'s, as in
the GeoPackage's QGIS styles. Each map links no CDN asset
(:func:`~parcours.maps.assets.use_local_assets`); render it with
:mod:`parcours.maps.render`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, Final, Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from folium.map import CustomPane

from parcours.diagnostic import Diagnostic
from parcours.diagnostic.offer import stop_departures
from parcours.i18n import render, tr
from parcours.maps.assets import use_local_assets
from parcours.maps.exports import ACCESS_CLASSES, PALETTE
from parcours.maps.layers import (
    GeoJsonLayer,
    Legend,
    SharedData,
    escape,
    feature_collection,
    legend_html,
)
from parcours.maps.raster import VECTOR_CELLS_MAX, cell_pixels, class_overlay
from parcours.territories import Territory
from parcours.territories.readers.services import category_label

__all__ = [
    "MAIN_ROADS",
    "Tiles",
    "access_map",
    "atlas_map",
    "base_layers",
    "gaps_map",
    "report_maps",
]

Tiles = Literal["osm", "ign"] | None
#: OSM ``highway`` values drawn on the base map.
MAIN_ROADS: Final = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
    }
)
_ROAD_WEIGHT: Final = {"motorway": 3.0, "trunk": 3.0, "primary": 2.5, "secondary": 2.0}
_PALETTE_JS: Final = "[" + ",".join(f'"{c}"' for c in PALETTE) + "]"
_NO_DATA: Final = "#cfcfcf"
#: Classes of a cell's population (residents per 200 m cell) and their colours.
_POP_CLASSES: Final = (0, 25, 50, 100, 200, 400, np.inf)
_POP_COLORS: Final = ("#fef0d9", "#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000")
#: Classes of daily departures at a stop and their colours.
_DEP_CLASSES: Final = (0, 1, 11, 41, 101, np.inf)
_DEP_COLORS: Final = ("#969696", "#fdae61", "#fee08b", "#66bd63", "#1a9850")
#: Families of service categories drawn as one layer each, with their colours.
_SERVICE_FAMILIES: Final = (
    (
        tr("Emploi, insertion, droits", "Employment, integration, rights"),
        "#6a3d9a",
        (
            "france_travail",
            "france_services",
            "mission_locale",
            "cap_emploi",
            "caf",
            "cpam",
            "ccas",
            "social_centre",
            "town_hall",
            "mobility_platform",
            "social_garage",
            "temp_agency",
            "driving_school",
            "apprentice_centre",
            "training_centre",
        ),
    ),
    (
        tr("Santé", "Health"),
        "#e31a1c",
        ("gp", "pharmacy", "health_centre", "hospital", "emergency", "maternity"),
    ),
    (
        tr("Enfance, enseignement", "Childcare, schools"),
        "#ff7f00",
        (
            "childcare",
            "nursery_school",
            "primary_school",
            "middle_school",
            "high_school",
            "higher_education",
        ),
    ),
    (
        tr("Commerces, poste, gares", "Shops, post, stations"),
        "#1f78b4",
        ("supermarket", "grocery", "post_office", "police", "station_rail"),
    ),
)
_OTHER_SERVICES: Final = (tr("Autres services", "Other services"), "#737373")

_LINES_PANE: Final = "parcours_lines"
_POINTS_PANE: Final = "parcours_points"


def _t(fr: str, en: str, lang: str | None) -> str:
    return render(tr(fr, en), lang)


def _classes(values: Any, breaks: Sequence[float]) -> np.ndarray:
    """Class index of each value in ``breaks`` (upper bound included in the last class)."""
    v = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)
    idx = np.digitize(v, np.asarray(breaks[1:-1]), right=False).astype(float)
    idx[~np.isfinite(v)] = np.nan
    return idx


def _percent_labels(breaks: Sequence[float]) -> list[str]:
    return [f"{a * 100:g} – {b * 100:g} %" for a, b in itertools.pairwise(breaks)]


def _bounds_2154(frames: Sequence[gpd.GeoDataFrame]) -> list[list[float]] | None:
    boxes = [f.to_crs(4326).total_bounds for f in frames if len(f)]
    if not boxes:
        return None
    box = np.vstack(boxes)
    return [
        [float(box[:, 1].min()), float(box[:, 0].min())],
        [float(box[:, 3].max()), float(box[:, 2].max())],
    ]


def _new_map(
    territory: Territory,
    tiles: Tiles,
    lang: str | None,
    focus: gpd.GeoDataFrame | None = None,
    **kwargs: Any,
) -> folium.Map:
    if focus is None and territory.has_layer("communes"):
        focus = territory.layer("communes")
    m = folium.Map(tiles=None, prefer_canvas=True, control_scale=True, **kwargs)
    use_local_assets(m, "inline")
    bounds = _bounds_2154([focus] if focus is not None else [])
    if bounds is not None:
        m.fit_bounds(bounds)
        m.location = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
    if tiles == "osm":
        folium.TileLayer("OpenStreetMap", overlay=True, control=True, show=True).add_to(m)
    elif tiles == "ign":
        folium.TileLayer(
            tiles="https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
            "&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2&STYLE=normal&FORMAT=image/png"
            "&TILEMATRIXSET=PM&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}",
            attr="© IGN Plan IGN v2",
            name=_t("Plan IGN", "IGN map", lang),
            overlay=True,
            max_zoom=19,
        ).add_to(m)
    elif tiles is not None:
        raise ValueError(f"unknown tiles {tiles!r}: use None, 'osm' or 'ign'")
    CustomPane(_LINES_PANE, z_index=420, pointer_events=False).add_to(m)
    CustomPane(_POINTS_PANE, z_index=450, pointer_events=True).add_to(m)
    return m


def _add_background(m: folium.Map, territory: Territory, lang: str | None) -> None:
    """Main streets, water and commune outlines, drawn above the cells, below points."""
    if territory.has_layer("water"):
        water = territory.layer("water")
        GeoJsonLayer(
            feature_collection(water, tolerance_m=10),
            _t("Eau", "Water", lang),
            style='function (f) {return {color: "#9ecae1", weight: 1, fillColor: "#c6dbef",'
            " fillOpacity: 0.8};}",
            pane=_LINES_PANE,
        ).add_to(m)
    if territory.has_layer("streets"):
        streets = territory.layer("streets", columns=["highway", "geometry"])
        streets = streets[streets["highway"].isin(MAIN_ROADS)]
        weight = streets["highway"].map(_ROAD_WEIGHT).fillna(1.2)
        GeoJsonLayer(
            feature_collection(streets, {"w": weight.to_numpy()}, tolerance_m=5),
            _t("Routes principales", "Main roads", lang),
            style='function (f) {return {color: "#8c8c8c", weight: f.properties.w, opacity: 0.8};}',
            pane=_LINES_PANE,
        ).add_to(m)
    if territory.has_layer("communes"):
        communes = territory.layer("communes")
        GeoJsonLayer(
            feature_collection(communes, {"n": communes["name"].map(escape)}, tolerance_m=10),
            _t("Limites communales", "Commune boundaries", lang),
            style='function (f) {return {color: "#525252", weight: 1.2, dashArray: "4 3",'
            " fill: false};}",
            pane=_LINES_PANE,
        ).add_to(m)


def _finish(m: folium.Map, legend: str | None) -> folium.Map:
    if legend:
        Legend(legend, position="bottomleft").add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    return m


def base_layers(
    territory: Territory, *, tiles: Tiles = None, lang: str | None = None, **kwargs: Any
) -> folium.Map:
    """A light base map of the territory, drawn from its own data.

    Parameters
    ----------
    territory
        A loaded territory.
    tiles
        ``None`` (default): no online tiles, the map works offline; ``"osm"``:
        OpenStreetMap's tiles; ``"ign"``: the IGN's Plan IGN v2 (both need the internet).
    lang
        ``"fr"`` or ``"en"``; default the language in force (French unless set).
    **kwargs
        Passed to :class:`folium.Map` (``width``, ``height``...).

    Returns
    -------
    folium.Map
        Main roads and commune outlines, with a layer control.
    """
    m = _new_map(territory, tiles, lang, **kwargs)
    _add_background(m, territory, lang)
    return _finish(m, None)


def _cells(diagnostic: Diagnostic) -> gpd.GeoDataFrame:
    cells = diagnostic.published_cells
    return cells[cells.geometry.notna() & ~cells.geometry.is_empty]


def _cell_tooltip(extra: str) -> str:
    return 'function (f) {var p = f.properties; return "<b>" + p.n + "</b><br>" + ' + extra + ";}"


def _class_style(key: str, colors_js: str, *, opacity: float = 0.75) -> str:
    return (
        f"function (f) {{var c = f.properties.{key}; return {{stroke: false, "
        f'fillOpacity: {opacity}, fillColor: c === null ? "{_NO_DATA}" : {colors_js}[c]}};}}'
    )


def atlas_map(
    diagnostic: Diagnostic,
    territory: Territory,
    *,
    tiles: Tiles = None,
    lang: str | None = None,
    **kwargs: Any,
) -> folium.Map:
    """The atlas: homes, jobs, services and the mobility offer.

    Layers: residents and poor households per published cell, priority neighbourhoods
    (QPV), employment zones, establishments as circles sized by their jobs, services by
    family, public transport stops coloured by their departures on the diagnostic's
    weekday, carpool areas and bike-share stations, over :func:`base_layers`.

    Parameters
    ----------
    diagnostic
        The territory's diagnostic (only its published cells are drawn).
    territory
        The same territory, loaded (its public layers).
    tiles, lang, **kwargs
        As :func:`base_layers`.
    """
    cells = _cells(diagnostic)
    m = _new_map(territory, tiles, lang, cells, **kwargs)
    pop_labels = [
        f"{int(a)} – {int(b)}" if np.isfinite(b) else f"≥ {int(a)}"
        for a, b in itertools.pairwise(_POP_CLASSES)
    ]
    poor = pd.to_numeric(cells["poor_households"], errors="coerce")
    people_classes = _classes(cells["population"], _POP_CLASSES)
    poor_classes = _classes(poor, (0, 2, 5, 10, 20, 40, np.inf))
    colors_js = "[" + ",".join(f'"{c}"' for c in _POP_COLORS) + "]"
    residents = _t("habitants", "residents", lang)
    poor_label = _t("ménages pauvres", "poor households", lang)
    secret = _t("secret statistique", "statistical secret", lang)
    tooltip = _cell_tooltip(
        f'p.p + " {residents}<br>" + (p.h === null ? "{secret}" : p.h + " {poor_label}")'
    )
    people_name = _t("Habitants (carreaux de 200 m)", "Residents (200 m cells)", lang)
    poor_name = _t("Ménages pauvres (carreaux)", "Poor households (cells)", lang)
    if len(cells) > VECTOR_CELLS_MAX:
        pixels = cell_pixels(cells)
        class_overlay(pixels, people_classes, _POP_COLORS, people_name, no_data=_NO_DATA).add_to(m)
        class_overlay(
            pixels, poor_classes, _POP_COLORS, poor_name, no_data=_NO_DATA, show=False
        ).add_to(m)
    else:
        shared = SharedData(
            feature_collection(
                cells,
                {
                    "n": cells["commune_name"].map(escape).to_numpy(),
                    "p": cells["population"].round().to_numpy(),
                    "h": poor.round().to_numpy(),
                    "cp": people_classes,
                    "ch": poor_classes,
                },
            )
        )
        shared.add_to(m)
        GeoJsonLayer(
            shared, people_name, style=_class_style("cp", colors_js), tooltip=tooltip
        ).add_to(m)
        GeoJsonLayer(
            shared, poor_name, style=_class_style("ch", colors_js), tooltip=tooltip, show=False
        ).add_to(m)
    _add_background(m, territory, lang)
    if territory.has_layer("employment_zones"):
        zones = territory.layer("employment_zones")
        GeoJsonLayer(
            feature_collection(zones, {"n": zones["ze_name"].map(escape)}, tolerance_m=20),
            _t("Zones d'emploi", "Employment zones", lang),
            style='function (f) {return {color: "#33a02c", weight: 3, opacity: 0.7, fill: false};}',
            show=False,
            pane=_LINES_PANE,
        ).add_to(m)
    if territory.has_layer("qpv"):
        qpv = territory.layer("qpv")
        GeoJsonLayer(
            feature_collection(qpv, {"n": qpv["name"].map(escape)}, tolerance_m=5),
            _t("Quartiers prioritaires (QPV)", "Priority neighbourhoods (QPV)", lang),
            style='function (f) {return {color: "#b2182b", weight: 2, fillColor: "#b2182b",'
            " fillOpacity: 0.08};}",
            tooltip='function (f) {return "QPV " + f.properties.n;}',
        ).add_to(m)
    legend = [
        legend_html(
            _t("Habitants par carreau", "Residents per cell", lang),
            list(zip(_POP_COLORS, pop_labels, strict=True)),
        )
    ]
    if territory.has_layer("jobs"):
        jobs = territory.layer("jobs", columns=["name", "jobs", "geometry"])
        jobs = jobs[pd.to_numeric(jobs["jobs"], errors="coerce") > 0]
        label = _t("emplois", "jobs", lang)
        GeoJsonLayer(
            feature_collection(
                jobs,
                {
                    "r": np.clip(np.sqrt(jobs["jobs"].to_numpy(dtype=float)) * 0.8, 2, 30).round(1),
                    "t": [
                        f"{escape(n)}<br>{j:g} {label}"
                        for n, j in zip(jobs["name"].fillna(""), jobs["jobs"], strict=True)
                    ],
                },
            ),
            _t("Emplois (établissements)", "Jobs (establishments)", lang),
            style='function (f) {return {radius: f.properties.r, color: "#54278f", weight: 0.6,'
            ' fillColor: "#807dba", fillOpacity: 0.45};}',
            tooltip="function (f) {return f.properties.t;}",
            points=True,
            pane=_POINTS_PANE,
        ).add_to(m)
        legend.append(
            legend_html(
                _t("Établissements", "Establishments", lang),
                [("#807dba", _t("cercle selon les emplois", "circle sized by jobs", lang))],
                dots=True,
            )
        )
    if territory.has_layer("services"):
        services = territory.layer("services", columns=["category", "name", "geometry"])
        rows = []
        known: set[str] = set()
        for family, color, categories in (*_SERVICE_FAMILIES, (*_OTHER_SERVICES, ())):
            if categories:
                part = services[services["category"].isin(categories)]
                known.update(categories)
            else:
                part = services[~services["category"].isin(known)]
            if not len(part):
                continue
            texts = [
                f"<b>{escape(_category(c, lang))}</b><br>{escape(n)}"
                for c, n in zip(part["category"], part["name"].fillna(""), strict=True)
            ]
            name = render(family, lang)
            GeoJsonLayer(
                feature_collection(part, {"t": texts}),
                _t("Services : ", "Services: ", lang) + name,
                style=f'function (f) {{return {{radius: 5, color: "#ffffff", weight: 1.2,'
                f' fillColor: "{color}", fillOpacity: 0.95}};}}',
                tooltip="function (f) {return f.properties.t;}",
                points=True,
                pane=_POINTS_PANE,
            ).add_to(m)
            rows.append((color, name))
        legend.append(legend_html(_t("Services", "Services", lang), rows, dots=True))
    if territory.has_layer("stops"):
        _add_stops(m, diagnostic, territory, lang, legend)
    for layer, fr, en, color, field in (
        ("carpool", "Aires de covoiturage", "Carpool areas", "#e7298a", "nom_lieu"),
        ("bikeshare", "Vélos en libre-service", "Bike-share stations", "#66a61e", "name"),
    ):
        if not territory.has_layer(layer):
            continue
        points = territory.layer(layer)
        label = _t(fr, en, lang)
        GeoJsonLayer(
            feature_collection(
                points,
                {"t": [f"{escape(label)}<br>{escape(n)}" for n in points[field].fillna("")]},
            ),
            label,
            style=f'function (f) {{return {{radius: 6, color: "#000000", weight: 1,'
            f' fillColor: "{color}", fillOpacity: 0.9}};}}',
            tooltip="function (f) {return f.properties.t;}",
            points=True,
            pane=_POINTS_PANE,
        ).add_to(m)
        legend.append(legend_html(label, [(color, label)], dots=True))
    return _finish(m, "".join(legend))


def _category(slug: str, lang: str | None) -> str:
    try:
        return category_label(slug, lang)
    except KeyError:
        return slug


def _add_stops(
    m: folium.Map, diagnostic: Diagnostic, territory: Territory, lang: str | None, legend: list[str]
) -> None:
    stops = territory.layer("stops")
    if "location_type" in stops.columns:
        kind = pd.to_numeric(stops["location_type"], errors="coerce").fillna(0)
        stops = stops[kind == 0]
    counts = stop_departures(territory, diagnostic.weekday).groupby("stop_id").size()
    departures = stops["stop_id"].astype(str).map(counts).fillna(0).astype(int).to_numpy()
    order = np.argsort(departures, kind="stable")  # busiest stops drawn last, on top
    stops = stops.iloc[order]
    departures = departures[order]
    labels = [
        f"{a} – {int(b) - 1}" if np.isfinite(b) else f"≥ {a}"
        for a, b in itertools.pairwise(_DEP_CLASSES)
    ]
    labels[0] = _t("aucun départ", "no departure", lang)
    per_day = _t("départs ce jour", "departures that day", lang)
    names = stops["stop_name"].fillna("") if "stop_name" in stops.columns else [""] * len(stops)
    colors_js = "[" + ",".join(f'"{c}"' for c in _DEP_COLORS) + "]"
    GeoJsonLayer(
        feature_collection(
            stops,
            {
                "c": _classes(departures, _DEP_CLASSES),
                "t": [
                    f"<b>{escape(n)}</b><br>{d} {per_day}"
                    for n, d in zip(names, departures, strict=True)
                ],
            },
        ),
        _t("Arrêts (départs par jour)", "Stops (departures per day)", lang),
        style=f'function (f) {{return {{radius: 4.5, color: "#252525", weight: 0.8,'
        f" fillColor: {colors_js}[f.properties.c], fillOpacity: 1}};}}",
        tooltip="function (f) {return f.properties.t;}",
        points=True,
        pane=_POINTS_PANE,
    ).add_to(m)
    day = diagnostic.weekday.strftime("%d/%m/%Y")
    legend.append(
        legend_html(
            _t(f"Arrêts : départs le {day}", f"Stops: departures on {day}", lang),
            list(zip(_DEP_COLORS, labels, strict=True)),
            dots=True,
        )
    )


_MODE_LABELS: Final = {
    "walk": tr("À pied", "Walking"),
    "bike": tr("À vélo", "Cycling"),
    "car": tr("En voiture", "By car"),
}


def _access_indicators(diagnostic: Diagnostic, lang: str | None) -> list[tuple[str, str]]:
    """(column, label) of the 45-minute job-access shares the diagnostic has."""
    columns = diagnostic.published_cells.columns
    out = []
    for band in diagnostic.bands:
        column = f"share_jobs_45_transit_{band.key}_p50"
        if column in columns:
            label = _t("Transports en commun", "Public transport", lang)
            out.append((column, f"{label} : {render(band.label, lang)}"))
    for mode in diagnostic.modes:
        column = f"share_jobs_45_{mode}"
        if mode in _MODE_LABELS and column in columns:
            out.append((column, render(_MODE_LABELS[mode], lang)))
    return out


def access_map(
    diagnostic: Diagnostic,
    territory: Territory,
    *,
    tiles: Tiles = None,
    lang: str | None = None,
    **kwargs: Any,
) -> folium.Map:
    """Share of the territory's jobs reachable within 45 minutes, per mode and time band.

    One choice per indicator (radio buttons of the layer control): public transport at
    each of the diagnostic's time bands (median over the band's window), walking,
    cycling, driving. Classes and colours are the GeoPackage's
    (:data:`~parcours.maps.exports.ACCESS_CLASSES`, :data:`~parcours.maps.exports.PALETTE`).

    Parameters
    ----------
    diagnostic, territory, tiles, lang, **kwargs
        As :func:`atlas_map`.
    """
    cells = _cells(diagnostic)
    m = _new_map(territory, tiles, lang, cells, **kwargs)
    indicators = _access_indicators(diagnostic, lang)
    props: dict[str, Any] = {"n": cells["commune_name"].map(escape).to_numpy()}
    for i, (column, _) in enumerate(indicators):
        values = pd.to_numeric(cells[column], errors="coerce")
        props[f"c{i}"] = _classes(values, ACCESS_CLASSES)
        props[f"v{i}"] = (values * 100).round().to_numpy()
    of_jobs = _t("des emplois en 45 min", "of the jobs within 45 min", lang)
    secret = _t("secret statistique", "statistical secret", lang)
    dense = len(cells) > VECTOR_CELLS_MAX
    if dense:
        pixels = cell_pixels(cells)
        for i, (_, label) in enumerate(indicators):
            class_overlay(
                pixels,
                props[f"c{i}"],
                PALETTE,
                label,
                no_data=_NO_DATA,
                opacity=0.8,
                overlay=False,
                show=i == 0,
            ).add_to(m)
    else:
        shared = SharedData(feature_collection(cells, props))
        shared.add_to(m)
    for i, (_, label) in enumerate([] if dense else indicators):
        GeoJsonLayer(
            shared,
            label,
            style=_class_style(f"c{i}", _PALETTE_JS, opacity=0.8),
            tooltip=_cell_tooltip(f'(p.v{i} === null ? "{secret}" : p.v{i} + " % {of_jobs}")'),
            overlay=False,
            show=i == 0,
        ).add_to(m)
    _add_isochrones(m, diagnostic, lang)
    _add_background(m, territory, lang)
    legend = legend_html(
        _t(
            "Part des emplois du territoire accessibles en 45 minutes",
            "Share of the territory's jobs reachable within 45 minutes",
            lang,
        ),
        [
            *zip(PALETTE, _percent_labels(ACCESS_CLASSES), strict=True),
            (_NO_DATA, _t("secret statistique ou sans donnée", "secret or no data", lang)),
        ],
    )
    return _finish(m, legend)


#: Isochrone outlines by cut-off (minutes): darker is nearer.
_ISOCHRONE_COLORS: Final = {15: "#7a0177", 30: "#c51b8a", 45: "#f768a1", 60: "#fbb4b9"}


def _add_isochrones(m: folium.Map, diagnostic: Diagnostic, lang: str | None) -> None:
    """The landmarks' isochrones, one overlay per landmark (off by default)."""
    frame = diagnostic.isochrones
    landmarks = diagnostic.landmarks
    if frame is None or landmarks is None or not len(frame):
        return
    names = {
        "job_zone": _t("principale zone d'emploi", "main job zone", lang),
        "france_travail": _t("agence France Travail", "France Travail agency", lang),
    }
    how = (
        _t("en transports en commun, pointe", "by public transport, peak", lang)
        if (frame["mode"] == "transit").any()
        else _t("à pied", "walking", lang)
    )
    for landmark, part in frame.groupby("id", sort=False):
        kind = str(part["kind"].iloc[0])
        ordered = part.sort_values("cutoff", ascending=False)
        colors = [_ISOCHRONE_COLORS.get(int(c), "#f768a1") for c in ordered["cutoff"]]
        labels = [f"{int(c)} min" for c in ordered["cutoff"]]
        title = f"{_t('Isochrones', 'Isochrones', lang)} : {names.get(kind, kind)} ({how})"
        GeoJsonLayer(
            feature_collection(
                ordered, {"c": np.asarray(colors), "t": np.asarray(labels)}, tolerance_m=10
            ),
            title,
            style="function (f) {return {color: f.properties.c, weight: 2, "
            "fillColor: f.properties.c, fillOpacity: 0.12};}",
            tooltip="function (f) {return f.properties.t;}",
            show=False,
        ).add_to(m)
        point = landmarks[landmarks["id"] == landmark].to_crs(4326).geometry.iloc[0]
        folium.CircleMarker(
            [point.y, point.x],
            radius=7,
            color="#49006a",
            fill=True,
            fill_opacity=1.0,
            tooltip=names.get(kind, kind),
        ).add_to(m)


def report_maps(
    diagnostic: Diagnostic, territory: Territory, *, tiles: Tiles = None, lang: str | None = None
) -> list[tuple[str, str, folium.Map]]:
    """The report's maps: ``(title, intro, map)`` for the atlas, access and gaps."""
    return [
        (
            _t("Atlas du territoire", "Territory atlas", lang),
            _t(
                "Où vivent les habitants et les ménages pauvres, où sont les emplois, les "
                "services, les arrêts (selon leurs départs du jour), les aires de covoiturage "
                "et les vélos en libre-service. Cochez les couches dans le menu.",
                "Where residents and poor households live, where the jobs, services, stops "
                "(by their departures of the day), carpool areas and bike-share stations are. "
                "Tick the layers in the menu.",
                lang,
            ),
            atlas_map(diagnostic, territory, tiles=tiles, lang=lang),
        ),
        (
            _t("Accès à l'emploi", "Access to jobs", lang),
            _t(
                "Part des emplois du territoire à moins de 45 minutes, par mode et plage "
                "horaire (un choix à la fois), et les isochrones depuis la principale zone "
                "d'emploi et l'agence France Travail.",
                "Share of the territory's jobs within 45 minutes, per mode and time band (one "
                "at a time), and the isochrones from the main job zone and the France Travail "
                "agency.",
                lang,
            ),
            access_map(diagnostic, territory, tiles=tiles, lang=lang),
        ),
        (
            _t("Manques", "Gaps", lang),
            _t(
                "Zones sans desserte (aucun arrêt desservi à moins de 1 km, toute la journée "
                "ou pendant une plage horaire) et carreaux prioritaires.",
                "Areas without service (no served stop within 1 km, all day or during a time "
                "band) and priority cells.",
                lang,
            ),
            gaps_map(diagnostic, territory, tiles=tiles, lang=lang),
        ),
    ]


def gaps_map(
    diagnostic: Diagnostic,
    territory: Territory,
    *,
    tiles: Tiles = None,
    lang: str | None = None,
    **kwargs: Any,
) -> folium.Map:
    """The gaps: cells with no public transport, and the priority cells.

    A cell is "sans desserte" when no stop served that day lies within 1 km
    (``no_service``), or, per time band, when there is service that day but no
    departure within 1 km during the band (``no_service_<band>``). The priority cells
    (:attr:`Diagnostic.priority <parcours.diagnostic.Diagnostic.priority>`: many poor
    households, little access) are outlined and numbered by rank.

    Parameters
    ----------
    diagnostic, territory, tiles, lang, **kwargs
        As :func:`atlas_map`.
    """
    cells = _cells(diagnostic)
    m = _new_map(territory, tiles, lang, cells, **kwargs)
    flags: list[tuple[str, str]] = []
    if "no_service" in cells.columns:
        flags.append(
            ("no_service", _t("Aucun arrêt desservi ce jour", "No stop served that day", lang))
        )
    for band in diagnostic.bands:
        column = f"no_service_{band.key}"
        if column in cells.columns:
            flags.append(
                (column, _t("Sans départ : ", "No departure: ", lang) + render(band.label, lang))
            )
    props: dict[str, Any] = {
        "n": cells["commune_name"].map(escape).to_numpy(),
        "p": cells["population"].round().to_numpy(),
    }
    for i, (column, _) in enumerate(flags):
        props[f"f{i}"] = cells[column].fillna(False).astype(bool).to_numpy()
    residents = _t("habitants", "residents", lang)
    gap = _t("sans desserte", "no service", lang)
    served = _t("desservi", "served", lang)
    dense = len(cells) > VECTOR_CELLS_MAX
    if dense:
        pixels = cell_pixels(cells)
        for i, (_, label) in enumerate(flags):
            class_overlay(
                pixels,
                props[f"f{i}"].astype(float),
                ("#c7e9c0", "#d7301f"),
                label,
                opacity=0.7,
                overlay=False,
                show=i == 0,
            ).add_to(m)
    else:
        shared = SharedData(feature_collection(cells, props))
        shared.add_to(m)
    for i, (_, label) in enumerate([] if dense else flags):
        GeoJsonLayer(
            shared,
            label,
            style=f"function (f) {{return {{stroke: false, fillOpacity: f.properties.f{i} ? 0.8"
            f' : 0.35, fillColor: f.properties.f{i} ? "#d7301f" : "#c7e9c0"}};}}',
            tooltip=_cell_tooltip(f'p.p + " {residents}<br>" + (p.f{i} ? "{gap}" : "{served}")'),
            overlay=False,
            show=i == 0,
        ).add_to(m)
    _add_background(m, territory, lang)
    priority = diagnostic.priority
    if len(priority):
        geometry = cells.set_index("cell_id").geometry
        ranked = priority[priority["cell_id"].isin(geometry.index)].reset_index(drop=True)
        shapes = gpd.GeoDataFrame(
            ranked, geometry=geometry.reindex(ranked["cell_id"]).to_numpy(), crs=cells.crs
        )
        access_column = next((c for c in ranked.columns if c.startswith("share_jobs_")), None)
        poor_label = _t("ménages pauvres", "poor households", lang)
        of_jobs = _t("des emplois en 45 min (TC, pointe)", "of jobs within 45 min (PT, peak)", lang)
        texts = []
        for rank, row in enumerate(ranked.itertuples(index=False), start=1):
            parts = [f"<b>n° {rank} – {escape(row.commune_name)}</b>"]
            poor = pd.to_numeric(pd.Series([row.poor_households]), errors="coerce").iloc[0]
            if np.isfinite(poor):
                parts.append(f"{poor:.0f} {poor_label}")
            if access_column is not None:
                value = getattr(row, access_column)
                if pd.notna(value):
                    parts.append(f"{float(value) * 100:.0f} % {of_jobs}")
            texts.append("<br>".join(parts))
        GeoJsonLayer(
            feature_collection(shapes, {"t": texts}),
            _t("Carreaux prioritaires", "Priority cells", lang),
            style='function (f) {return {color: "#000000", weight: 2.5, fill: true,'
            " fillOpacity: 0, dashArray: null};}",
            tooltip="function (f) {return f.properties.t;}",
            pane=_POINTS_PANE,
        ).add_to(m)
    legend = legend_html(
        _t("Desserte en transports en commun", "Public transport service", lang),
        [
            (
                "#d7301f",
                _t(
                    "sans desserte (aucun départ à moins de 1 km)",
                    "no service (no departure within 1 km)",
                    lang,
                ),
            ),
            ("#c7e9c0", _t("desservi", "served", lang)),
            (
                "#ffffff",
                _t("carreau prioritaire (contour noir)", "priority cell (black outline)", lang),
            ),
        ],
    )
    return _finish(m, legend)
