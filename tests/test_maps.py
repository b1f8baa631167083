"""The diagnostic's maps render offline: no CDN, Leaflet inlined, checked in Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import folium
import pytest
from fixtures.demo import DemoWorld

from parcours.demo import DEMO_NAME
from parcours.diagnostic import Diagnostic
from parcours.maps.assets import asset_files, inline_assets, use_local_assets
from parcours.maps.render import render_maps, standalone_html
from parcours.maps.themes import access_map, atlas_map, base_layers, gaps_map
from parcours.territories import Territory, Workspace

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CDN_HOSTS = (
    "cdn.jsdelivr.net",
    "code.jquery.com",
    "netdna.bootstrapcdn.com",
    "cdnjs.cloudflare.com",
    "unpkg.com",
)
URL = re.compile(r"https?://[^\s\"'<>()]+")


@pytest.fixture(scope="module")
def demo_diagnostic(demo_world: DemoWorld) -> tuple[Territory, Diagnostic]:
    """The demo territory as ``parcours demo`` builds it, and its diagnostic (read-only)."""
    return Workspace(demo_world.built_home).open(DEMO_NAME), demo_world.result.diagnostic


@pytest.fixture(scope="module")
def pages(demo_diagnostic: tuple[Territory, Diagnostic]) -> dict[str, str]:
    territory, diagnostic = demo_diagnostic
    return {
        "base": standalone_html(base_layers(territory)),
        "atlas": standalone_html(atlas_map(diagnostic, territory), title="Atlas"),
        "access": standalone_html(access_map(diagnostic, territory)),
        "gaps": standalone_html(gaps_map(diagnostic, territory, lang="en"), lang="en"),
    }


def test_assets_come_from_installed_packages() -> None:
    files = asset_files()
    assert all(path.is_file() and "site-packages" in str(path) for path in files.values())
    tags = inline_assets()
    assert "Leaflet 1.9" in tags
    assert "url(data:image/png;base64," in tags
    assert "url(images/" not in tags
    assert "sourceMappingURL" not in tags
    m = use_local_assets(folium.Map(tiles=None), "file")
    assert all(url.startswith("file://") for _, url in m.default_js + m.default_css)
    assert folium.Map.default_js[0][1].startswith("https://")  # the class is untouched


def test_pages_link_no_cdn(pages: dict[str, str]) -> None:
    for name, page in pages.items():
        for host in CDN_HOSTS:
            assert host not in page, (name, host)
        assert not re.search(r"<(script|link)[^>]+(src|href)=", page), name
        # the only URLs left are texts (Leaflet's attribution, licence comments)
        for url in URL.findall(page):
            assert not url.endswith((".js", ".css")), (name, url)
        assert "L.map(" in page
    assert "Habitants (carreaux de 200 m)" in pages["atlas"]
    assert "Part des emplois du territoire accessibles en 45 minutes" in pages["access"]
    assert "Priority cells" in pages["gaps"] and '<html lang="en">' in pages["gaps"]


def test_only_published_cells_are_drawn(demo_diagnostic: tuple[Territory, Diagnostic]) -> None:
    territory, diagnostic = demo_diagnostic
    hidden = set(diagnostic.cells["cell_id"]) - set(diagnostic.published_cells["cell_id"])
    page = standalone_html(access_map(diagnostic, territory))
    assert not any(cell_id in page for cell_id in hidden)


def test_pages_stay_light(pages: dict[str, str]) -> None:
    sizes = {name: len(page.encode()) for name, page in pages.items()}
    assert all(size < 2_000_000 for size in sizes.values()), sizes


def test_render_maps_shares_the_assets(demo_diagnostic: tuple[Territory, Diagnostic]) -> None:
    territory, diagnostic = demo_diagnostic
    maps = [access_map(diagnostic, territory), gaps_map(diagnostic, territory)]
    head, bodies = render_maps(maps)
    assert head.count("Leaflet 1.9") == 1
    assert "html, body" not in head
    assert len(bodies) == 2
    for m, body in zip(maps, bodies, strict=True):
        assert f'id="{m.get_name()}"' in body
        assert "<script>" in body


def test_tiles_only_on_request(demo_diagnostic: tuple[Territory, Diagnostic]) -> None:
    territory, _ = demo_diagnostic
    assert "tile.openstreetmap.org" not in standalone_html(base_layers(territory))
    assert "tile.openstreetmap.org" in standalone_html(base_layers(territory, tiles="osm"))
    assert "data.geopf.fr" in standalone_html(base_layers(territory, tiles="ign"))
    with pytest.raises(ValueError, match="tiles"):
        base_layers(territory, tiles="google")  # type: ignore[arg-type]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
@pytest.mark.slow  # a browser
def test_maps_load_offline_in_chromium(pages: dict[str, str], tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for name, page_html in pages.items():
                path = tmp_path / f"{name}.html"
                path.write_text(page_html, encoding="utf-8")
                _check_page(browser, path, tmp_path / f"{name}.png")
        finally:
            browser.close()


def _watch(page: Any) -> tuple[list[str], list[str]]:
    """Refuse every request leaving the machine; collect them, and the page's errors."""
    refused: list[str] = []
    errors: list[str] = []

    def route(route: Any) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:", "about:", "http://127.0.0.1")):
            route.continue_()
        else:
            refused.append(url)
            route.abort()

    page.route("**/*", route)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return refused, errors


def _check_page(browser: Any, path: Path, screenshot: Path) -> None:
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    refused, errors = _watch(page)
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_selector(".leaflet-control-layers", timeout=10_000)
    assert page.evaluate("typeof window.L") == "object"
    assert page.locator(".leaflet-control-layers").count() == 1
    assert page.locator(".parcours-legend").count() <= 1
    page.screenshot(path=str(screenshot))
    page.close()
    assert not refused, (path.name, refused)
    assert not errors, (path.name, errors)
    png = screenshot.read_bytes()
    assert len(png) > 15_000, (path.name, len(png))
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(screenshot) as image:
        colors = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colors is not None and len(colors) > 20, path.name


def test_dense_grids_are_images_with_the_cells_colours() -> None:
    import base64
    import io
    import re

    import geopandas as gpd
    import numpy as np
    import shapely
    from PIL import Image

    from parcours.maps.raster import cell_pixels, class_overlay

    # Three 200 m cells side by side (Lambert-93), classes 0, 1 and no data, then a gap.
    x0, y0 = 650_000.0, 6_860_000.0
    boxes = [shapely.box(x0 + 200 * k, y0, x0 + 200 * (k + 1), y0 + 200) for k in (0, 1, 2, 4)]
    cells = gpd.GeoDataFrame(geometry=boxes, crs=2154)
    pixels = cell_pixels(cells)
    assert pixels.index.max() == 3 and (pixels.index == -1).any()  # the gap stays empty
    layer = class_overlay(
        pixels, [0.0, 1.0, np.nan, 1.0], ("#ff0000", "#0000ff"), "test", no_data="#cccccc"
    )
    data = re.sub("^data:image/png;base64,", "", layer.url)
    image = Image.open(io.BytesIO(base64.b64decode(data))).convert("RGBA")
    assert image.size == pixels.index.shape[::-1]
    row = pixels.index.shape[0] // 2
    seen = {}
    for column in range(image.size[0]):
        seen.setdefault(int(pixels.index[row, column]), image.getpixel((column, row)))
    assert seen[0] == (255, 0, 0, 255) and seen[1] == (0, 0, 255, 255)
    assert seen[2] == (204, 204, 204, 255) and seen[3] == (0, 0, 255, 255)
    assert seen[-1][3] == 0  # transparent where there is no cell
    (south, west), (north, east) = pixels.bounds
    corners = gpd.GeoSeries(
        [shapely.Point(x0, y0), shapely.Point(x0 + 1000, y0 + 200)], crs=2154
    ).to_crs(4326)
    assert abs(west - corners.x[0]) < 1e-3 and abs(south - corners.y[0]) < 1e-3
    assert abs(east - corners.x[1]) < 1e-3 and abs(north - corners.y[1]) < 1e-3


def test_a_large_territory_draws_its_cells_as_images(
    demo_diagnostic: tuple[Territory, Diagnostic], monkeypatch: pytest.MonkeyPatch
) -> None:
    from parcours.maps import themes

    territory, diagnostic = demo_diagnostic
    vector = standalone_html(themes.access_map(diagnostic, territory))
    monkeypatch.setattr(themes, "VECTOR_CELLS_MAX", 100)  # the demo's 591 cells count as many
    raster = standalone_html(themes.access_map(diagnostic, territory))
    indicators = len(themes._access_indicators(diagnostic, None))
    images = raster.count("data:image/png;base64,") - vector.count("data:image/png;base64,")
    assert images == indicators  # (Leaflet's own CSS icons are data: URIs in both)
    assert vector.count('"Polygon"') >= len(diagnostic.published_cells)
    assert raster.count('"Polygon"') < len(diagnostic.published_cells) / 10


@pytest.mark.slow  # a browser
def test_the_report_opens_offline_in_chromium(
    demo_diagnostic: tuple[Territory, Diagnostic], tmp_path: Path
) -> None:
    from parcours.maps.report import map_sections, write_report

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (CI installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    territory, diagnostic = demo_diagnostic
    report = write_report(
        diagnostic, tmp_path / "rapport.html", maps=map_sections(diagnostic, territory)
    )
    html = report.read_text("utf-8")
    assert html.count("leaflet.js") <= 1 and html.count("<svg") >= 2
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            refused, errors = _watch(page)
            page.goto(report.as_uri(), wait_until="load")
            page.wait_for_selector(".leaflet-control-layers", timeout=10_000)
            assert page.locator(".leaflet-control-layers").count() == 3  # atlas, access, gaps
            assert page.locator("#secret").count() == 1
            # Each map has drawn its cells (paths on Leaflet's canvas or SVG renderer).
            drawn = page.evaluate(
                "Array.from(document.querySelectorAll('.folium-map')).map("
                "m => m.querySelectorAll('canvas, path').length)"
            )
            assert len(drawn) == 3 and all(n > 0 for n in drawn), drawn
            page.screenshot(path=str(tmp_path / "rapport.png"), full_page=True)
        finally:
            browser.close()
    assert not refused, refused
    assert not errors, errors
    assert (tmp_path / "rapport.png").stat().st_size > 50_000
