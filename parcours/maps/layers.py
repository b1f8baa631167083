"""Light Leaflet layers for folium: GeoJSON with JavaScript styles, shared data, legends.

folium's :class:`~folium.GeoJson` evaluates a Python style function per feature and
writes one ``switch`` case per feature; for 20,000 cells and a dozen indicators that is
megabytes of JavaScript. Here the colours are precomputed per feature (a class index in
the feature's properties) and a short JavaScript function styles every feature; the
cells' geometry is written once (:class:`SharedData`) and each indicator is a layer over
it (:class:`GeoJsonLayer`).

Geometries are simplified in the territory's metric CRS, reprojected to WGS84 and their
coordinates rounded to 1e-5 degree (about a metre): :func:`feature_collection`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.map import Layer
from folium.template import Template

__all__ = [
    "GeoJsonLayer",
    "Legend",
    "SharedData",
    "add_to",
    "escape",
    "feature_collection",
    "js_json",
    "legend_html",
]

#: Decimal places kept in WGS84 coordinates (1e-5 degree, about 1 m).
DECIMALS = 5


def js_json(value: Any) -> str:
    """``value`` as JSON safe inside a ``<script>`` element (no ``</``, no NaN)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if not np.isfinite(value) else float(value)
    return value


def feature_collection(
    frame: gpd.GeoDataFrame,
    properties: Mapping[str, Sequence[Any] | pd.Series | np.ndarray] | None = None,
    *,
    tolerance_m: float = 0.0,
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of ``frame``'s geometries, light for a web map.

    Parameters
    ----------
    frame
        Features in a metric CRS (the territory's) or in WGS84.
    properties
        Property name -> one value per row (NaN and ``pd.NA`` become ``null``).
    tolerance_m
        Simplification tolerance in metres (applied before reprojection; 0: none).

    Returns
    -------
    dict
        The FeatureCollection, coordinates in WGS84 rounded to 1e-5 degree; empty
        geometries are dropped.
    """
    geoms = frame.geometry
    if tolerance_m > 0 and geoms.crs is not None and geoms.crs.is_projected:
        geoms = geoms.simplify(tolerance_m, preserve_topology=True)
    if geoms.crs is not None:
        geoms = geoms.to_crs(4326)
    values = shapely.transform(geoms.to_numpy(), lambda xy: np.round(xy, DECIMALS))
    keep = ~(shapely.is_empty(values) | shapely.is_missing(values))
    texts = shapely.to_geojson(values[keep])
    columns = {
        name: np.asarray(list(column) if not isinstance(column, np.ndarray) else column)[keep]
        for name, column in (properties or {}).items()
    }
    features = []
    for i, text in enumerate(texts):
        props = {name: _plain(column[i]) for name, column in columns.items()}
        features.append({"type": "Feature", "geometry": json.loads(text), "properties": props})
    return {"type": "FeatureCollection", "features": features}


def _bounds(data: Mapping[str, Any]) -> list[list[float | None]]:
    """[[south, west], [north, east]] of a FeatureCollection (``None`` when empty)."""
    geoms = [shapely.from_geojson(json.dumps(f["geometry"])) for f in data["features"]]
    if not geoms:
        return [[None, None], [None, None]]
    west, south, east, north = shapely.total_bounds(geoms)
    return [[float(south), float(west)], [float(north), float(east)]]


class SharedData(MacroElement):
    """GeoJSON written once in the page's script, for several :class:`GeoJsonLayer`."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = {{ this.text }};
        {% endmacro %}
        """
    )

    def __init__(self, data: Mapping[str, Any]) -> None:
        super().__init__()
        self._name = "SharedData"
        self.data = data
        self.text = js_json(data)


class GeoJsonLayer(Layer):
    """A GeoJSON layer styled by a JavaScript function of the feature.

    Parameters
    ----------
    data
        A FeatureCollection (embedded in the layer) or a :class:`SharedData` added to
        the map before this layer.
    name
        The layer's name in the layer control (HTML allowed).
    style
        JavaScript ``function(feature) {return {...};}``: Leaflet path options (for
        points, also ``radius``).
    tooltip
        JavaScript ``function(feature) {return "html" or null;}``; text comes from the
        properties, escaped in Python beforehand (see :func:`escape`).
    popup
        Like ``tooltip``, for a popup opened by a click.
    points
        Draw points as circle markers (else Leaflet's default markers).
    pane
        The Leaflet pane (see :class:`folium.map.CustomPane`), default the overlay pane.
    overlay, control, show
        As folium's :class:`~folium.map.Layer`.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson({{ this.data_js }}, {
            style: {{ this.style }},
            {%- if this.points %}
            pointToLayer: function (feature, latlng) {
                return L.circleMarker(latlng, ({{ this.style }})(feature));
            },
            {%- endif %}
            {%- if this.tooltip or this.popup %}
            onEachFeature: function (feature, layer) {
                {%- if this.tooltip %}
                var text = ({{ this.tooltip }})(feature);
                if (text) { layer.bindTooltip(text, {sticky: true}); }
                {%- endif %}
                {%- if this.popup %}
                var content = ({{ this.popup }})(feature);
                if (content) { layer.bindPopup(content, {maxWidth: 320}); }
                {%- endif %}
            },
            {%- endif %}
            {%- if this.pane %}
            pane: {{ this.pane|tojson }},
            {%- endif %}
            interactive: {{ this.interactive|tojson }}
        });
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: Mapping[str, Any] | SharedData,
        name: str,
        *,
        style: str,
        tooltip: str | None = None,
        popup: str | None = None,
        points: bool = False,
        pane: str | None = None,
        overlay: bool = True,
        control: bool = True,
        show: bool = True,
    ) -> None:
        super().__init__(name=name, overlay=overlay, control=control, show=show)
        self._name = "GeoJsonLayer"
        if isinstance(data, SharedData):
            self.data_js = data.get_name()
            self.data = data.data
        else:
            self.data_js = js_json(data)
            self.data = data
        self.style = style
        self.tooltip = tooltip
        self.popup = popup
        self.points = points
        self.pane = pane
        self.interactive = tooltip is not None or popup is not None

    def _get_self_bounds(self) -> list[list[float | None]]:
        return _bounds(self.data)


def escape(value: object) -> str:
    """HTML-escaped text for a tooltip."""
    return html.escape(str(value), quote=True)


def legend_html(title: str, rows: Sequence[tuple[str, str]], *, dots: bool = False) -> str:
    """A legend section: a title and (colour, label) rows; ``dots`` for point symbols."""
    cls = ' class="dot"' if dots else ""
    items = "".join(
        f'<div><i{cls} style="background:{color}"></i>{escape(label)}</div>'
        for color, label in rows
    )
    return f"<h4>{escape(title)}</h4>{items}"


class Legend(MacroElement):
    """A legend drawn as a Leaflet control (so that each of several maps has its own)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create("div", "parcours-legend");
            div.innerHTML = {{ this.html_js }};
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str, *, position: str = "bottomright") -> None:
        super().__init__()
        self._name = "Legend"
        self.html_js = js_json(html_text)
        self.position = position


def add_to(m: folium.Map, *elements: MacroElement) -> None:
    """Add elements to ``m`` in order."""
    for element in elements:
        element.add_to(m)
