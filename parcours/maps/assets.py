"""The maps' web assets (Leaflet, jQuery) from installed packages, never from a CDN.

A committee often opens the report on a laptop without a network, or from an email, and
a map that fetches Leaflet from a CDN then shows an empty grey box. The files come from
two PyPI packages installed with parcours (see ``pyproject.toml``):

* ``django-js-lib-leaflet``: Leaflet's ``dist`` folder (``leaflet.js``, ``leaflet.css``,
  the control images);
* ``XStatic-jQuery``: jQuery, which folium's popups use (``$(html)``); its *slim* build is
  enough for that.

folium's other defaults (Bootstrap, Font Awesome, Leaflet.awesome-markers) are dropped:
the maps use circles and GeoJSON point styles, not awesome markers.

Two ways to use them:

* :func:`inline_assets` returns ``<style>`` and ``<script>`` tags holding the files'
  text, the CSS images rewritten as ``data:`` URIs: one self-contained HTML file;
* :func:`use_local_assets` sets a map's ``default_js`` / ``default_css`` (folium's
  ``Map`` attributes) to ``file:`` URIs of the installed files, or to nothing when the
  page carries :func:`inline_assets` itself (what :mod:`parcours.maps.render` does).
"""

from __future__ import annotations

import base64
import functools
import importlib.resources
import re
from pathlib import Path
from typing import Final, Literal

import folium

__all__ = ["ASSET_PACKAGES", "asset_files", "inline_assets", "use_local_assets"]

#: The registry packages the assets come from (distribution name -> what it provides).
ASSET_PACKAGES: Final = {
    "django-js-lib-leaflet": "Leaflet (JS, CSS and images)",
    "XStatic-jQuery": "jQuery (slim build, for folium's popups)",
}
_MIME: Final = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif"}
_URL = re.compile(r"url\((['\"]?)(images/[^)'\"]+)\1\)")


def _leaflet_dir() -> Path:
    root = importlib.resources.files("js_lib_leaflet") / "static" / "js_lib_leaflet"
    return Path(str(root))


def _jquery_dir() -> Path:
    from xstatic.pkg import jquery

    return Path(jquery.BASE_DIR)


def asset_files() -> dict[str, Path]:
    """The asset files, by folium's names (``leaflet``, ``jquery``, ``leaflet_css``).

    Raises
    ------
    FileNotFoundError
        If a package is installed without its files (a broken installation).
    """
    files = {
        "leaflet": _leaflet_dir() / "leaflet.js",
        "jquery": _jquery_dir() / "jquery.slim.min.js",
        "leaflet_css": _leaflet_dir() / "leaflet.css",
    }
    for path in files.values():
        if not path.is_file():
            raise FileNotFoundError(f"{path}: web asset missing (reinstall parcours)")
    return files


def _inline_css(path: Path) -> str:
    def data_uri(match: re.Match[str]) -> str:
        image = path.parent / match.group(2)
        mime = _MIME.get(image.suffix, "application/octet-stream")
        payload = base64.b64encode(image.read_bytes()).decode("ascii")
        return f"url(data:{mime};base64,{payload})"

    return _URL.sub(data_uri, path.read_text(encoding="utf-8"))


def _script_text(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    # The source maps are not shipped inline: a browser would try to fetch them.
    text = re.sub(r"//# sourceMappingURL=\S+\s*$", "", text)
    # Neither file contains "</script", checked here so that a new version cannot
    # end the tag early.
    if "</script" in text.lower():
        raise ValueError(f"{path}: cannot be inlined (contains '</script')")
    return text


@functools.cache
def inline_assets() -> str:
    """``<style>`` and ``<script>`` tags with Leaflet's and jQuery's files inlined.

    Put them once in the ``<head>`` of a page holding one or more maps rendered with
    :func:`use_local_assets` ``(m, "inline")``. The CSS images (layer control, default
    marker) are ``data:`` URIs, so the page needs no other file. About 230 kB.
    """
    files = asset_files()
    css = _inline_css(files["leaflet_css"])
    leaflet = _script_text(files["leaflet"])
    jquery = _script_text(files["jquery"])
    # Shared look of the maps: background of a map without tiles, legend box.
    extra = (
        ".leaflet-container{background:#f4f3ef}"
        ".parcours-legend{background:rgba(255,255,255,.92);padding:6px 8px;font:12px/1.35 "
        "system-ui,sans-serif;border-radius:4px;box-shadow:0 0 6px rgba(0,0,0,.25);"
        "max-width:260px}"
        ".parcours-legend h4{margin:0 0 4px;font-size:12px}"
        ".parcours-legend i{display:inline-block;width:14px;height:12px;margin-right:5px;"
        "vertical-align:middle;border:1px solid #888}"
        ".parcours-legend i.dot{border-radius:50%}"
    )
    return f"<style>{css}\n{extra}</style>\n<script>{leaflet}</script>\n<script>{jquery}</script>\n"


def use_local_assets(m: folium.Map, mode: Literal["inline", "file"] = "inline") -> folium.Map:
    """Make ``m`` load no web asset from a CDN.

    Parameters
    ----------
    m
        The map (changed in place: instance attributes shadow folium's class ones).
    mode
        ``"inline"``: the map links no asset at all; the page must carry
        :func:`inline_assets` (as :func:`parcours.maps.render.standalone_html` does).
        ``"file"``: ``file:`` URIs of the installed files (a page for this machine only).

    Returns
    -------
    folium.Map
        ``m``.
    """
    if mode == "inline":
        m.default_js = []
        m.default_css = []
    elif mode == "file":
        files = asset_files()
        m.default_js = [(k, files[k].as_uri()) for k in ("leaflet", "jquery")]
        m.default_css = [("leaflet_css", files["leaflet_css"].as_uri())]
    else:
        raise ValueError(f"unknown mode {mode!r}: use 'inline' or 'file'")
    return m
