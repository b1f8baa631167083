"""The populated cells of a diagnostic and the areas they belong to.

The diagnostic works on the territory's population grid (Filosofi 200 m cells, or H3
hexagons, or any grid loaded as ``population``), keeping the populated cells whose
centre lies inside the perimeter (not its buffer). Each cell is attached, by its centre,
to the commune, the EPCI and the employment zone of the layers the territory loaded,
and flagged when its centre lies in a QPV (priority neighbourhood).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from parcours.territories import Territory

__all__ = ["CELL_COLUMNS", "diagnostic_cells"]

#: The columns of :func:`diagnostic_cells` besides the geometry.
CELL_COLUMNS = (
    "cell_id",
    "population",
    "households",
    "poor_households",
    "imputed",
    "qpv",
    "commune",
    "commune_name",
    "epci",
    "epci_name",
    "employment_zone",
    "employment_zone_name",
)


def _attach(
    points: gpd.GeoSeries, areas: gpd.GeoDataFrame, columns: dict[str, str]
) -> pd.DataFrame:
    """For each point, the ``columns`` of the area containing it (None outside every area)."""
    frame = gpd.GeoDataFrame(geometry=points.to_numpy(), crs=points.crs)
    joined = gpd.sjoin(frame, areas[[*columns, "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    out = pd.DataFrame(index=frame.index)
    for source, target in columns.items():
        out[target] = joined[source].astype("string").reindex(frame.index)
    return out


def _areas(territory: Territory, name: str, crs: Any) -> gpd.GeoDataFrame:
    layer = territory.layer(name)
    assert isinstance(layer, gpd.GeoDataFrame)
    return layer.to_crs(crs)


def diagnostic_cells(territory: Territory) -> gpd.GeoDataFrame:
    """The populated cells inside the perimeter, with their areas (territory CRS).

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`CELL_COLUMNS` and the cell polygon; ``imputed`` is Filosofi's
        ``i_est_200`` (the cell's figures are INSEE estimates of a group of small
        cells), ``qpv`` whether the cell's centre lies in a QPV. Counts are floats
        (Filosofi publishes decimals).

    Raises
    ------
    LayerNotFoundError
        When the territory has no population layer.
    """
    cells = territory.layer("population")
    centres = cells.geometry.representative_point()
    inside = centres.within(territory.perimeter.union_all()).to_numpy()
    population = pd.to_numeric(cells["population"], errors="coerce").fillna(0.0).to_numpy()
    keep = inside & (population > 0)
    cells = cells.loc[keep].reset_index(drop=True)
    centres = centres.loc[keep].reset_index(drop=True)

    def number(column: str) -> np.ndarray:
        if column not in cells.columns:
            return np.full(len(cells), np.nan)
        return pd.to_numeric(cells[column], errors="coerce").to_numpy(dtype=np.float64)

    out = gpd.GeoDataFrame(
        {
            "cell_id": cells["cell_id"].astype(str),
            "population": number("population"),
            "households": number("households"),
            "poor_households": number("poor_households"),
            "imputed": (
                cells["imputed"].fillna(False).astype(bool)
                if "imputed" in cells.columns
                else np.zeros(len(cells), dtype=bool)
            ),
        },
        geometry=cells.geometry.to_numpy(),
        crs=cells.crs,
    )
    out["qpv"] = False
    if territory.has_layer("qpv"):
        qpv = _areas(territory, "qpv", out.crs)
        out["qpv"] = centres.within(qpv.union_all()).to_numpy()
    for column in ("commune", "commune_name", "epci", "epci_name"):
        out[column] = pd.Series(pd.NA, index=out.index, dtype="string")
    if territory.has_layer("communes"):
        communes = _areas(territory, "communes", out.crs)
        names = {"insee": "commune", "name": "commune_name"}
        if "epci_siren" in communes.columns:
            names |= {"epci_siren": "epci", "epci_name": "epci_name"}
        attached = _attach(centres, communes, {k: v for k, v in names.items() if k in communes})
        for column in attached.columns:
            out[column] = attached[column].to_numpy()
    out["employment_zone"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["employment_zone_name"] = pd.Series(pd.NA, index=out.index, dtype="string")
    if territory.has_layer("employment_zones"):
        zones = _areas(territory, "employment_zones", out.crs)
        attached = _attach(
            centres, zones, {"ze_code": "employment_zone", "ze_name": "employment_zone_name"}
        )
        for column in attached.columns:
            out[column] = attached[column].to_numpy()
    return out[[*CELL_COLUMNS, "geometry"]]
