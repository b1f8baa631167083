"""Dense grids drawn as images: one small PNG per indicator instead of thousands of polygons.

A territory of 20,000 populated cells drawn as GeoJSON costs about 400 bytes a cell and
an indicator, and seconds of JavaScript when the page opens. Above
:data:`VECTOR_CELLS_MAX` cells the maps draw each cell layer as an image overlay: the
cells are rasterised once on a regular Web Mercator grid (the projection Leaflet
stretches an image overlay in), about :data:`CELL_PX` pixels across a cell, and each
indicator is a palette PNG of its classes (transparent where there is no cell), a few
tens of kilobytes. Tooltips are lost on such layers (the legend and the GeoPackage keep
the values); the cells of the priority list stay vectors.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import folium
import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from PIL import Image
from pyproj import Transformer

__all__ = ["CELL_PX", "VECTOR_CELLS_MAX", "CellPixels", "cell_pixels", "class_overlay"]

#: Above this many cells, cell layers are images.
VECTOR_CELLS_MAX: Final = 4000
#: Pixels across a cell (about), and the largest image side.
CELL_PX: Final = 4.0
MAX_SIDE_PX: Final = 2400


@dataclass(frozen=True)
class CellPixels:
    """Which cell each pixel of the image grid falls in (``-1``: none).

    Attributes
    ----------
    index
        ``(height, width)`` int32, row 0 at the north.
    bounds
        ``[[south, west], [north, east]]`` in degrees, for ``ImageOverlay``.
    """

    index: npt.NDArray[np.int32]
    bounds: list[list[float]]


def cell_pixels(cells: gpd.GeoDataFrame) -> CellPixels:
    """Rasterise the cells (any polygons in a projected CRS) on a Web Mercator grid."""
    mercator = cells.to_crs(3857)
    west, south, east, north = (float(v) for v in mercator.total_bounds)
    areas = cells.geometry.area.to_numpy()
    side_m = float(np.sqrt(np.median(areas))) if len(areas) else 200.0
    # Mercator metres per ground metre at the grid's latitude.
    scale = float(np.sqrt(np.median(mercator.geometry.area.to_numpy() / np.maximum(areas, 1e-9))))
    pixel = max(
        side_m * scale / CELL_PX, (east - west) / MAX_SIDE_PX, (north - south) / MAX_SIDE_PX
    )
    width = max(1, int(np.ceil((east - west) / pixel)))
    height = max(1, int(np.ceil((north - south) / pixel)))
    xs = west + (np.arange(width) + 0.5) * pixel
    ys = north - (np.arange(height) + 0.5) * pixel
    grid_x, grid_y = np.meshgrid(xs, ys)
    points = shapely.points(grid_x.ravel(), grid_y.ravel())
    tree = shapely.STRtree(mercator.geometry.to_numpy())
    pixel_at, cell_at = tree.query(points, predicate="intersects")
    index = np.full(width * height, -1, dtype=np.int32)
    index[pixel_at] = cell_at.astype(np.int32)
    to_wgs = Transformer.from_crs(3857, 4326, always_xy=True)
    lon_w, lat_s = to_wgs.transform(west, north - height * pixel)
    lon_e, lat_n = to_wgs.transform(west + width * pixel, north)
    return CellPixels(index=index.reshape(height, width), bounds=[[lat_s, lon_w], [lat_n, lon_e]])


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def class_overlay(
    pixels: CellPixels,
    classes: npt.ArrayLike,
    colors: Sequence[str],
    name: str,
    *,
    no_data: str | None = None,
    opacity: float = 0.75,
    overlay: bool = True,
    show: bool = True,
) -> folium.raster_layers.ImageOverlay:
    """An image overlay colouring each cell by its class.

    Parameters
    ----------
    pixels
        The cells' raster (:func:`cell_pixels`).
    classes
        One class index per cell (NaN: no data).
    colors
        ``#rrggbb`` per class.
    name
        The layer's name in the layer control.
    no_data
        Colour of cells without data (``None``: transparent).
    opacity, overlay, show
        As folium's ``ImageOverlay`` (``overlay=False``: one of the radio choices).
    """
    values = np.asarray(classes, dtype=float)
    n = len(colors)
    code = np.where(np.isfinite(values), np.clip(np.nan_to_num(values), 0, n - 1), n)
    code = code.astype(np.uint8)
    # Palette: the classes, then "no data", then transparent (no cell).
    palette = [*(_rgb(c) for c in colors), _rgb(no_data or "#000000"), (0, 0, 0)]
    image_codes = np.where(pixels.index >= 0, code[np.maximum(pixels.index, 0)], n + 1)
    image = Image.fromarray(image_codes.astype(np.uint8), mode="P")
    image.putpalette([v for rgb in palette for v in rgb])
    alpha = bytes([255] * n + [255 if no_data else 0, 0])
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True, transparency=alpha)
    uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return folium.raster_layers.ImageOverlay(
        image=uri,
        bounds=pixels.bounds,
        name=name,
        opacity=opacity,
        overlay=overlay,
        show=show,
        interactive=False,
        mercator_project=False,
    )
