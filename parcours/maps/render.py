"""Put folium maps in HTML pages with the web assets once, inlined.

* :func:`render_maps` gives the ``<head>`` part (the assets and each map's styles) and
  one ``<body>`` fragment per map (its ``<div>`` and its script), for a page holding
  several maps (the report);
* :func:`standalone_html` gives a whole self-contained page for one map (one file that
  can be emailed, or served by the web API).

The maps must link no asset (:func:`~parcours.maps.assets.use_local_assets` with
``"inline"``, as every map of :mod:`parcours.maps.themes`); a map that still links a
remote file (a folium plugin with its own CDN assets) is refused with
:class:`ValueError`, so that a page never fails silently offline.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Final

import folium
from branca.element import Figure

from parcours.i18n import get_language
from parcours.maps.assets import inline_assets

__all__ = ["render_maps", "standalone_html"]

#: folium's page-wide styles, right for a page that is only the map, not for a report.
_PAGE_STYLES: Final = re.compile(
    r"<style>\s*(html,\s*body\s*\{[^}]*\}|#map\s*\{[^}]*\})\s*</style>", re.S
)
_REMOTE: Final = re.compile(
    r"""<(?:script|link)\b[^>]*(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I
)


def _figure(m: folium.Map) -> Figure:
    root = m.get_root()
    if not isinstance(root, Figure):
        raise TypeError("the map is not in a folium Figure")
    return root


def _parts(m: folium.Map) -> tuple[dict[str, str], str, str]:
    """(header elements by name, html, script) of a map's figure, rendered."""
    figure = _figure(m)
    for child in figure._children.values():
        child.render()
    header = {name: child.render() for name, child in figure.header._children.items()}
    for name, text in header.items():
        if _REMOTE.search(text):
            raise ValueError(
                f"the map links a remote asset ({name}): use parcours.maps.assets instead"
            )
    return header, figure.html.render(), figure.script.render()


def render_maps(maps: Sequence[folium.Map], *, page: bool = False) -> tuple[str, list[str]]:
    """The ``<head>`` HTML and one ``<body>`` fragment per map, for one page.

    Parameters
    ----------
    maps
        folium maps (each its own :class:`~branca.element.Figure`, as folium makes them).
    page
        Keep folium's page-wide styles (``html, body`` at 100 %): only for a page that
        is a single map. For a report, leave ``False`` and give each fragment's
        container a height (the map fills its container).

    Returns
    -------
    tuple of str and list of str
        The head (inlined assets, then each map's styles, each once) and the bodies
        (each map's ``<div>`` followed by its ``<script>``), in the maps' order.
    """
    head: dict[str, str] = {}
    bodies = []
    for m in maps:
        header, body, script = _parts(m)
        for name, text in header.items():
            if name == "meta_http":
                continue
            head.setdefault(name, text if page else _PAGE_STYLES.sub("", text))
        bodies.append(f"{body}\n<script>\n{script}\n</script>")
    return inline_assets() + "\n".join(head.values()), bodies


def standalone_html(m: folium.Map, *, title: str | None = None, lang: str | None = None) -> str:
    """A whole HTML page for one map, with every asset inlined: it works offline.

    Parameters
    ----------
    m
        The map.
    title
        The page's title.
    lang
        The page's ``lang`` attribute (default: the language in force).
    """
    head, (body,) = render_maps([m], page=True)
    heading = f"<title>{html.escape(title)}</title>\n" if title else ""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang or get_language()}">\n<head>\n<meta charset="utf-8">\n'
        f"{heading}{head}\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
