"""The map of one person's ways to their destinations, for the advisor's page.

:func:`itinerary_map` turns the matching's answer into one self-contained HTML page
(Leaflet inlined by :mod:`parcours.maps.render`, no tiles, no request): the home, each
destination (numbered as in the printable plan) and the legs of the recommended way to
each, coloured by mode (:data:`parcours.maps.plan.LEG_COLORS`, walking dashed), a
tooltip per leg ("Bus 12 à 05:40, de X à Y"). The way drawn is the plan's
(:func:`parcours.maps.plan.recommended_routes`); a destination reached by no itinerary
gets a grey straight line "à vol d'oiseau".

This is individual data: the page is for the person's advisor (it is marked
``noindex``), never for a committee.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import folium
import geopandas as gpd
import shapely

from parcours.i18n import get_language, language, tr
from parcours.maps.assets import use_local_assets
from parcours.maps.layers import GeoJsonLayer, Legend, escape, feature_collection, legend_html
from parcours.maps.plan import recommended_routes
from parcours.maps.render import standalone_html

__all__ = ["itinerary_map"]

_HOME_COLOR: Final = "#000000"
_PLACE_COLOR: Final = "#ffffff"


def _map(answer: Mapping[str, Any]) -> folium.Map:
    routes = recommended_routes(answer)
    m = folium.Map(
        tiles=None, prefer_canvas=False, control_scale=True, location=[46.6, 2.5], zoom_start=6
    )
    use_local_assets(m, "inline")
    if routes is None:
        Legend(
            "<div>"
            + escape(
                tr(
                    "Domicile non localisé : pas de carte (corrigez l'adresse et relancez)",
                    "Home not located: no map (fix the address and match again)",
                )
            )
            + "</div>",
            position="topright",
        ).add_to(m)
        return m
    legend: dict[str, str] = {}
    for line in routes.lines:
        legend.setdefault(line.mode_name, line.color)
    colors = [line.color for line in routes.lines]
    dashed = [line.dashed for line in routes.lines]
    tips = [escape(f"{line.destination} — {line.label or line.mode_name}") for line in routes.lines]
    legs = gpd.GeoDataFrame(
        geometry=[shapely.LineString(line.coords) for line in routes.lines], crs=4326
    )
    GeoJsonLayer(
        feature_collection(legs, {"c": colors, "d": dashed, "t": tips}),
        str(tr("Trajets recommandés", "Recommended ways")),
        style=(
            "function (f) {return {color: f.properties.c, weight: 5, opacity: 0.9,"
            ' dashArray: f.properties.d ? "6 6" : null};}'
        ),
        tooltip="function (f) {return f.properties.t;}",
    ).add_to(m)
    names = [str(tr("Domicile", "Home"))] + [
        f"{n}. {name}" for n, (name, _) in enumerate(routes.places, start=1)
    ]
    points = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(
            [routes.home[0]] + [p[0] for _, p in routes.places],
            [routes.home[1]] + [p[1] for _, p in routes.places],
        ),
        crs=4326,
    )
    GeoJsonLayer(
        feature_collection(
            points,
            {
                "h": [True] + [False] * len(routes.places),
                "t": [escape(name) for name in names],
            },
        ),
        str(tr("Domicile et destinations", "Home and destinations")),
        style=(
            f"function (f) {{return {{radius: f.properties.h ? 8 : 7, color: '{_HOME_COLOR}',"
            " weight: 2, fillColor: f.properties.h ? "
            f"'{_HOME_COLOR}' : '{_PLACE_COLOR}', fillOpacity: 1}};}}"
        ),
        tooltip="function (f) {return f.properties.t;}",
        points=True,
    ).add_to(m)
    west, south, east, north = gpd.GeoSeries(
        list(legs.geometry) + list(points.geometry), crs=4326
    ).total_bounds
    m.fit_bounds([[float(south), float(west)], [float(north), float(east)]], max_zoom=16)
    Legend(
        legend_html(
            str(tr("Trajet recommandé", "Recommended way")),
            [(color, name) for name, color in legend.items()],
        )
        + "<div>"
        + escape(
            tr(
                "● noir : domicile ; ○ : destinations (numérotées comme dans le plan)",
                "● black: home; ○: destinations (numbered as in the plan)",
            )
        )
        + "</div>",
        position="bottomleft",
    ).add_to(m)
    return m


def itinerary_map(answer: Mapping[str, Any], *, lang: str | None = None) -> str:
    """The map of a match answer's recommended ways, as one offline HTML page.

    Parameters
    ----------
    answer
        The matching's answer for one person (as stored by the service or written by
        ``parcours match``), with the itinerary of the retained options.
    lang
        ``"fr"`` or ``"en"``; default: the language in force.

    Returns
    -------
    str
        The HTML page (no external request, marked ``noindex``).

    Raises
    ------
    parcours.errors.InputError
        When ``answer`` is not the matching's answer (the field is named).
    """
    with language(lang or get_language()) as lng:
        m = _map(answer)
        html = standalone_html(
            m,
            title=str(tr("Carte des trajets recommandés", "Map of the recommended ways")),
            lang=lng,
        )
    return html.replace(
        '<meta charset="utf-8">',
        '<meta charset="utf-8">\n<meta name="robots" content="noindex">',
        1,
    )
