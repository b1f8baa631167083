"""Readers of the population, jobs and services layers.

Real files where they exist: the r5py/r5r sample hexgrid of São Paulo (CSV of H3 cells and
the same hexagons as a zipped GeoPackage, 323 cells, 517,570 inhabitants, 625,298 jobs per
../shared/data/sao_paulo_r5py/SOURCE.md) and the Helsinki population grid (92 cells).

No real Filosofi, SIRENE or BPE extract ships with the test data, so the tests write fixtures
in the official schemas, with real-looking rows around Nantes (Lambert-93):

* Filosofi: INSEE, « Revenus, pauvreté et niveau de vie en 2019 – Données carroyées »
  (Filosofi 2019, carreaux de 200 m, dictionnaire des variables), and the 2017 and 2015
  editions of the same publication (capitalised names; ``IdINSPIRE``/``I_est_cr`` in 2015);
  cell ids ``CRS3035RES200mN…E…`` of the LAEA grid (lower-left corner);
* SIRENE: INSEE, « Description du fichier StockEtablissement » (Sirene stock files), and
  « Géolocalisation des établissements du répertoire SIRENE pour les études statistiques »
  (``GeolocalisationEtablissement_Sirene_pour_etudes_statistiques``);
* BPE: INSEE, « Base permanente des équipements », documentation and dictionary of the
  variables of the ``ensemble`` files (2023 edition; ``bpe21_ensemble_xy`` for the older
  layout). The 2023 header below is rebuilt from the documented variable names (its exact
  order and full list could not be checked offline); the reader only relies on ``TYPEQU``,
  ``LAMBERT_X``, ``LAMBERT_Y``, ``DEPCOM``, ``EPSG`` and ``NOMRS``, found by name.

Broken variants check that each error names the file, the line (or feature id) and the field.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import CRS, Transformer

from parcours.errors import CsvFormatError, InputError
from parcours.geo import stream as stream_module
from parcours.geo.crs import LAMBERT93, metric_crs_for
from parcours.i18n import set_language
from parcours.territories.readers._base import ReadContext
from parcours.territories.readers.jobs import HEADCOUNT_JOBS, read_jobs
from parcours.territories.readers.population import FILOSOFI_COUNTS, read_population
from parcours.territories.readers.services import (
    BPE_CATEGORIES,
    CATEGORIES,
    SERVICES_COLUMNS,
    read_services,
)

# --------------------------------------------------------------------------------------------
# Territories
# --------------------------------------------------------------------------------------------

#: Central Nantes, a 7 km square in Lambert-93 (the town hall is near 355 570, 6 689 601).
NANTES_AREA = shapely.box(352_000, 6_686_000, 359_000, 6_693_000)
TO_LAEA = Transformer.from_crs(2154, 3035, always_xy=True)
FROM_LAEA = Transformer.from_crs(3035, 2154, always_xy=True)
WGS_TO_93 = Transformer.from_crs(4326, 2154, always_xy=True)
L93_TO_WGS = Transformer.from_crs(2154, 4326, always_xy=True)


@pytest.fixture
def nantes() -> ReadContext:
    return ReadContext(crs=LAMBERT93, area=NANTES_AREA)


def _wgs_context(lon0: float, lat0: float, lon1: float, lat1: float) -> ReadContext:
    crs = metric_crs_for((lon0 + lon1) / 2, (lat0 + lat1) / 2)
    area = gpd.GeoSeries([shapely.box(lon0, lat0, lon1, lat1)], crs=4326).to_crs(crs).iloc[0]
    return ReadContext(crs=crs, area=area)


@pytest.fixture
def sao_paulo() -> ReadContext:
    return _wgs_context(-46.80, -23.70, -46.50, -23.40)


@pytest.fixture
def helsinki() -> ReadContext:
    return _wgs_context(24.80, 60.10, 25.00, 60.20)


def _write_csv(
    path: Path,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    sep: str,
    encoding: str = "utf-8",
    newline: str = "\n",
) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator=newline, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def _message(exc: pytest.ExceptionInfo[InputError]) -> str:
    return str(exc.value)


# --------------------------------------------------------------------------------------------
# Population: real files
# --------------------------------------------------------------------------------------------


def test_sao_paulo_hexgrid_csv_builds_h3_hexagons(
    shared_data: Path, sao_paulo: ReadContext
) -> None:
    path = shared_data / "sao_paulo_r5py" / "spo_hexgrid.csv"
    [layer] = read_population(path, sao_paulo)
    frame = gpd.GeoDataFrame(layer.frame)
    assert layer.name == "population"
    assert len(frame) == 323
    assert frame["population"].sum() == 517_570
    assert layer.extra["population_total"] == 517_570
    assert layer.warnings == []
    assert set(frame["source"]) == {"hexgrid"}
    assert set(frame.geom_type) == {"Polygon"}
    assert CRS.from_epsg(32723).equals(frame.crs)  # UTM 23S
    assert list(frame.columns[:7]) == [
        "cell_id",
        "population",
        "households",
        "poor_households",
        "income_sum_eur",
        "imputed",
        "source",
    ]
    assert frame["households"].isna().all() and not frame["imputed"].any()
    # Each row's lon/lat (the cell centroid in the file) lies in the hexagon built from its id.
    raw = pd.read_csv(path)
    centroids = gpd.GeoSeries(gpd.points_from_xy(raw["lon"], raw["lat"]), crs=4326).to_crs(32723)
    by_id = frame.set_index("cell_id").geometry
    assert all(by_id[cell].contains(p) for cell, p in zip(raw["id"], centroids, strict=True))
    # Resolution 9 hexagons: about 0.105 km² each.
    assert frame.area.mean() == pytest.approx(h3.average_hexagon_area(9, unit="m^2"), rel=0.05)


def test_sao_paulo_hexgrid_gpkg_zip(shared_data: Path, sao_paulo: ReadContext) -> None:
    path = shared_data / "sao_paulo_r5py" / "spo_hexgrid_EPSG32723.gpkg.zip"
    [layer] = read_population(path, sao_paulo)
    frame = gpd.GeoDataFrame(layer.frame)
    assert len(frame) == 323
    assert frame["population"].sum() == 517_570
    assert set(frame["source"]) == {"hexgrid"}
    from_csv = read_population(shared_data / "sao_paulo_r5py" / "spo_hexgrid.csv", sao_paulo)
    assert set(frame["cell_id"]) == set(from_csv[0].frame["cell_id"])


def test_helsinki_population_grid(shared_data: Path, helsinki: ReadContext) -> None:
    path = shared_data / "helsinki_r5py" / "helsinki_population_grid_2020.gpkg"
    [layer] = read_population(path, helsinki)
    frame = gpd.GeoDataFrame(layer.frame)
    assert len(frame) == 92
    assert frame["population"].sum() == 71_724
    assert set(frame["source"]) == {"generic"}
    assert CRS.from_epsg(32635).equals(frame.crs)  # UTM 35N
    assert frame["cell_id"].iloc[0] == "0"
    assert layer.extra["schema"] == "vector"


def test_helsinki_grid_clipped_to_a_small_area(shared_data: Path) -> None:
    path = shared_data / "helsinki_r5py" / "helsinki_population_grid_2020.gpkg"
    ctx = _wgs_context(24.935, 60.164, 24.953, 60.178)
    [layer] = read_population(path, ctx)
    grid = gpd.read_file(path).to_crs(ctx.crs)
    expected = grid[grid.intersects(ctx.area)]
    assert 0 < len(layer.frame) == len(expected) < 92
    assert layer.frame["population"].sum() == expected["population"].sum()


def test_helsinki_points(shared_data: Path, helsinki: ReadContext) -> None:
    path = shared_data / "helsinki_r5py" / "helsinki_population_points_2020.gpkg"
    [layer] = read_population(path, helsinki)
    assert len(layer.frame) == 92
    assert set(layer.frame.geom_type) == {"Point"}
    assert layer.frame["population"].sum() == 71_724


# --------------------------------------------------------------------------------------------
# Population: Filosofi fixtures
# --------------------------------------------------------------------------------------------

FILOSOFI_2019 = [
    "idcar_200m", "idcar_1km", "idcar_nat", "i_est_200", "i_est_1km", "lcog_geo", "ind", "men",
    "men_pauv", "men_1ind", "men_5ind", "men_prop", "men_fmp", "ind_snv", "men_surf", "men_coll",
    "men_mais", "log_av45", "log_45_70", "log_70_90", "log_ap90", "log_inc", "log_soc", "ind_0_3",
    "ind_4_5", "ind_6_10", "ind_11_17", "ind_18_24", "ind_25_39", "ind_40_54", "ind_55_64",
    "ind_65_79", "ind_80p", "ind_inc",
]  # fmt: skip
FILOSOFI_2017 = [
    "Idcar_200m", "I_est_200", "Idcar_1km", "I_est_1km", "Idcar_nat", "Groupe", "Ind", "Men",
    "Men_pauv", "Men_1ind", "Men_5ind", "Men_prop", "Men_fmp", "Ind_snv", "Men_surf", "Men_coll",
    "Men_mais", "Log_av45", "Log_45_70", "Log_70_90", "Log_ap90", "Log_inc", "Log_soc", "Ind_0_3",
    "Ind_4_5", "Ind_6_10", "Ind_11_17", "Ind_18_24", "Ind_25_39", "Ind_40_54", "Ind_55_64",
    "Ind_65_79", "Ind_80p", "Ind_inc", "Lcog_geo",
]  # fmt: skip
FILOSOFI_2015 = [
    "IdINSPIRE", "Id_carr1km", "I_est_cr", "Id_carr_n", "Groupe", "Depcom", "I_pauv", "Id_car2010",
    "Ind", "Men", "Men_pauv", "Men_1ind", "Men_5ind", "Men_prop", "Men_fmp", "Ind_snv", "Men_surf",
    "Men_coll", "Men_mais", "Log_av45", "Log_45_70", "Log_70_90", "Log_ap90", "Log_inc", "Log_soc",
    "Ind_0_3", "Ind_4_5", "Ind_6_10", "Ind_11_17", "Ind_18_24", "Ind_25_39", "Ind_40_54",
    "Ind_55_64", "Ind_65_79", "Ind_80p", "Ind_inc",
]  # fmt: skip


def _laea_corner(x93: float, y93: float) -> tuple[int, int]:
    east, north = TO_LAEA.transform(x93, y93)
    return int(east // 200 * 200), int(north // 200 * 200)


def _cell_id(east: int, north: int, size: int = 200) -> str:
    return f"CRS3035RES{size}mN{north // size * size}E{east // size * size}"


# (Lambert-93 point inside the cell, ind, men, men_pauv, ind_snv, imputed, commune)
Cell = tuple[tuple[float, float], float, float, float, float, int, str]
NANTES_CELLS: list[Cell] = [
    ((355_570.0, 6_689_601.0), 412.5, 248.0, 41.5, 9_123_456.7, 0, "44109"),  # centre
    ((355_900.0, 6_689_300.0), 96.0, 51.5, 12.0, 1_857_002.3, 0, "44109"),
    ((356_375.0, 6_688_297.0), 7.5, 3.0, 0.5, 160_110.0, 1, "44109"),  # Île de Nantes, imputed
    ((353_200.0, 6_691_950.0), 1.0, 0.5, 0.0, 21_540.2, 1, "44109"),  # a nearly empty cell
]
#: A real Corsican cell (Corse-du-Sud), far outside the Nantes area.
CORSICA_CELL = (4_252_400, 2_029_800)


def _filosofi_values(ind: float, men: float, pauv: float, snv: float) -> dict[str, float]:
    counts = {name: round(ind * (i + 1) / 100, 1) for i, name in enumerate(FILOSOFI_COUNTS)}
    counts.update({"ind": ind, "men": men, "men_pauv": pauv, "ind_snv": snv})
    return counts


def _filosofi_records() -> list[dict[str, object]]:
    records = []
    cells: list[tuple[tuple[int, int], float, float, float, float, int, str]] = [
        (_laea_corner(*cell[0]), *cell[1:]) for cell in NANTES_CELLS
    ]
    cells.append((CORSICA_CELL, 3.0, 1.0, 0.0, 60_000.0, 1, "2A247"))
    for (east, north), ind, men, pauv, snv, imputed, commune in cells:
        record: dict[str, object] = {
            "idcar_200m": _cell_id(east, north),
            "idcar_1km": _cell_id(east, north, 1000),
            "idcar_nat": _cell_id(east, north, 8000),
            "i_est_200": imputed,
            "i_est_1km": 0,
            "lcog_geo": commune,
        }
        record.update(_filosofi_values(ind, men, pauv, snv))
        records.append(record)
    return records


def _square_93(cell_id: str) -> shapely.Polygon:
    north = int(cell_id.split("mN")[1].split("E")[0])
    east = int(cell_id.split("E")[-1])
    ring = [(east, north), (east + 200, north), (east + 200, north + 200), (east, north + 200)]
    return shapely.Polygon([FROM_LAEA.transform(x, y) for x, y in ring])


def _write_filosofi_2019_gpkg(path: Path, records: list[dict[str, object]] | None = None) -> Path:
    records = records or _filosofi_records()
    frame = pd.DataFrame(records, columns=FILOSOFI_2019)
    geometry = [_square_93(str(r["idcar_200m"])) for r in records]
    gpd.GeoDataFrame(frame, geometry=geometry, crs=2154).to_file(path, layer="carreaux_200m_met")
    return path


def test_filosofi_2019_geopackage(tmp_path: Path, nantes: ReadContext) -> None:
    path = _write_filosofi_2019_gpkg(tmp_path / "carreaux_200m_met.gpkg")
    [layer] = read_population(path, nantes)
    frame = gpd.GeoDataFrame(layer.frame)
    assert len(frame) == 4  # the Corsican cell is outside the area
    assert set(frame["source"]) == {"filosofi"}
    assert layer.extra["schema"] == "filosofi-2019"
    assert layer.extra["population_total"] == pytest.approx(412.5 + 96.0 + 7.5 + 1.0)
    first = frame.iloc[0]
    corner = _laea_corner(355_570.0, 6_689_601.0)
    assert first["cell_id"] == _cell_id(*corner)
    assert (first["population"], first["households"], first["poor_households"]) == (
        412.5,
        248.0,
        41.5,
    )
    assert first["income_sum_eur"] == pytest.approx(9_123_456.7)
    assert frame["imputed"].tolist() == [False, False, True, True]
    assert frame["imputed"].dtype == bool
    for name in FILOSOFI_COUNTS:
        assert frame[name].dtype == "float64"
    assert first["ind_inc"] == round(412.5 * 24 / 100, 1)
    assert "i_est_200" not in frame.columns and "lcog_geo" not in frame.columns
    assert LAMBERT93.equals(frame.crs)
    assert frame.geometry.iloc[0].equals_exact(_square_93(first["cell_id"]), 1e-6)


def test_filosofi_2017_csv_squares_rebuilt_from_ids(tmp_path: Path, nantes: ReadContext) -> None:
    records = _filosofi_records()
    rows = []
    for r in records:
        renamed = {
            "Idcar_200m": r["idcar_200m"],
            "I_est_200": r["i_est_200"],
            "Idcar_1km": r["idcar_1km"],
            "I_est_1km": r["i_est_1km"],
            "Idcar_nat": r["idcar_nat"],
            "Groupe": 14863,
            "Lcog_geo": r["lcog_geo"],
        }
        for column in FILOSOFI_2017:
            if column.lower() in r and column not in renamed:
                renamed[column] = r[column.lower()]
        rows.append([renamed[c] for c in FILOSOFI_2017])
    path = _write_csv(tmp_path / "Filosofi2017_carreaux_200m_met.csv", FILOSOFI_2017, rows, sep=",")
    [layer] = read_population(path, nantes)
    frame = gpd.GeoDataFrame(layer.frame)
    assert layer.extra["schema"] == "filosofi-2017"
    assert len(frame) == 4
    assert frame["population"].sum() == pytest.approx(517.0)
    # The square built from the id is the LAEA cell, lower-left corner = (E, N).
    gpkg = read_population(_write_filosofi_2019_gpkg(tmp_path / "ref.gpkg"), nantes)[0].frame
    for built, reference in zip(frame.geometry, gpkg.geometry, strict=True):
        assert built.symmetric_difference(reference).area < 1e-3
        # 200 m x 200 m in LAEA (equal-area); Lambert-93 shrinks lengths by ~0.9991 at 47°N.
        assert built.area == pytest.approx(40_000, rel=3e-3)
    centre = shapely.Point(355_570.0, 6_689_601.0)
    assert frame.geometry.iloc[0].contains(centre)
    assert "men_1ind" in frame.columns and "Men_1ind" not in frame.columns


def test_filosofi_2015_csv_semicolons_decimal_commas_bom(
    tmp_path: Path, nantes: ReadContext
) -> None:
    records = _filosofi_records()
    rows = []
    for r in records:
        values = {
            "IdINSPIRE": r["idcar_200m"],
            "Id_carr1km": r["idcar_1km"],
            "I_est_cr": r["i_est_200"],
            "Id_carr_n": r["idcar_nat"],
            "Groupe": "866132",
            "Depcom": r["lcog_geo"],
            "I_pauv": 0,
            "Id_car2010": r["idcar_200m"],
        }
        for column in FILOSOFI_2015:
            if column not in values:
                values[column] = str(r[column.lower()]).replace(".", ",")
        rows.append([values[c] for c in FILOSOFI_2015])
    path = _write_csv(
        tmp_path / "Filosofi2015_carreaux_200m_metropole.csv",
        FILOSOFI_2015,
        rows,
        sep=";",
        encoding="utf-8-sig",
        newline="\r\n",
    )
    [layer] = read_population(path, nantes)
    frame = gpd.GeoDataFrame(layer.frame)
    assert layer.extra["schema"] == "filosofi-2015"
    assert frame["population"].tolist() == [412.5, 96.0, 7.5, 1.0]
    assert frame["imputed"].tolist() == [False, False, True, True]
    assert frame["income_sum_eur"].iloc[1] == pytest.approx(1_857_002.3)


def _filosofi_2019_csv(tmp_path: Path, edit: dict[tuple[int, str], object] | None = None) -> Path:
    records = _filosofi_records()
    for (i, column), value in (edit or {}).items():
        records[i][column] = value
    rows = [[r[c] for c in FILOSOFI_2019] for r in records]
    return _write_csv(tmp_path / "carreaux_200m_met.csv", FILOSOFI_2019, rows, sep=",")


def test_filosofi_negative_population_names_line_and_field(
    tmp_path: Path, nantes: ReadContext
) -> None:
    path = _filosofi_2019_csv(tmp_path, {(2, "ind"): -3})
    with pytest.raises(InputError) as exc:
        read_population(path, nantes)
    assert (exc.value.file, exc.value.row, exc.value.field) == (str(path), 4, "ind")
    assert _message(exc) == f"{path}, ligne 4, champ « ind » : valeur -3 inférieure au minimum 0"


def test_filosofi_empty_population_is_an_error(tmp_path: Path, nantes: ReadContext) -> None:
    path = _filosofi_2019_csv(tmp_path, {(1, "ind"): ""})
    with pytest.raises(InputError) as exc:
        read_population(path, nantes)
    assert (exc.value.row, exc.value.field) == (3, "ind")
    assert "valeur vide" in _message(exc)


def test_filosofi_bad_number_in_english(tmp_path: Path, nantes: ReadContext) -> None:
    path = _filosofi_2019_csv(tmp_path, {(0, "men_pauv"): "41.5.2"})
    set_language("en")
    with pytest.raises(InputError) as exc:
        read_population(path, nantes)
    assert _message(exc) == f"{path}, line 2, field 'men_pauv': number expected, found '41.5.2'"


def test_filosofi_bad_cell_id(tmp_path: Path, nantes: ReadContext) -> None:
    path = _filosofi_2019_csv(tmp_path, {(3, "idcar_200m"): "CRS3035RES200mN2029800"})
    with pytest.raises(InputError) as exc:
        read_population(path, nantes)
    assert (exc.value.row, exc.value.field) == (5, "idcar_200m")
    assert "CRS3035RES200mN2029800" in _message(exc)


def test_filosofi_bad_imputation_flag(tmp_path: Path, nantes: ReadContext) -> None:
    path = _filosofi_2019_csv(tmp_path, {(0, "i_est_200"): "2"})
    with pytest.raises(InputError) as exc:
        read_population(path, nantes)
    assert (exc.value.row, exc.value.field) == (2, "i_est_200")


def test_filosofi_duplicate_cell(tmp_path: Path, nantes: ReadContext) -> None:
    first = _filosofi_records()[0]["idcar_200m"]
    path = _filosofi_2019_csv(tmp_path, {(1, "idcar_200m"): first})
    with pytest.raises(InputError) as exc:
        read_population(path, nantes)
    assert (exc.value.row, exc.value.field) == (3, "idcar_200m")
    assert "en double" in _message(exc)


def test_filosofi_missing_column(tmp_path: Path, nantes: ReadContext) -> None:
    records = _filosofi_records()
    header = [c for c in FILOSOFI_2019 if c != "men"]
    rows = [[r[c] for c in header] for r in records]
    path = _write_csv(tmp_path / "carreaux.csv", header, rows, sep=",")
    with pytest.raises(InputError) as exc:
        read_population(path, nantes)
    assert (exc.value.row, exc.value.field) == (1, "men")


def test_filosofi_geopackage_nan_population_names_the_feature(
    tmp_path: Path, nantes: ReadContext
) -> None:
    records = _filosofi_records()
    records[1]["ind"] = np.nan
    path = _write_filosofi_2019_gpkg(tmp_path / "carreaux_200m_met.gpkg", records)
    with pytest.raises(InputError) as exc:
        read_population(path, nantes)
    assert exc.value.file == str(path) and exc.value.field == "ind"
    assert "entité (FID) 2" in _message(exc)  # GeoPackage FIDs start at 1


def test_shapefile_without_prj_is_refused(tmp_path: Path, nantes: ReadContext) -> None:
    path = tmp_path / "carreaux.shp"
    frame = gpd.GeoDataFrame(
        {"POPULATION": [120.0]},
        geometry=[shapely.box(355_000, 6_689_000, 355_200, 6_689_200)],
        crs=2154,
    )
    pyogrio.write_dataframe(frame, path)
    path.with_suffix(".prj").unlink()  # as when a user copies only .shp, .shx and .dbf
    with pytest.raises(InputError) as exc:
        read_population(path, nantes)
    assert exc.value.file == str(path)
    assert "aucun système de coordonnées" in _message(exc)


def test_generic_shapefile_with_capitalised_columns(tmp_path: Path, nantes: ReadContext) -> None:
    path = tmp_path / "ilots.shp"
    frame = gpd.GeoDataFrame(
        {"ID": ["A", "B", "C"], "POPULATION": [120, 35, 0], "MENAGES": [50.5, 16.0, 0.0]},
        geometry=[
            shapely.box(355_000, 6_689_000, 355_200, 6_689_200),
            shapely.box(355_200, 6_689_000, 355_400, 6_689_200),
            shapely.box(300_000, 6_600_000, 300_200, 6_600_200),  # outside
        ],
        crs=2154,
    )
    frame.to_file(path)
    [layer] = read_population(path, nantes)
    assert layer.frame["cell_id"].tolist() == ["A", "B"]
    assert layer.frame["population"].tolist() == [120.0, 35.0]
    assert layer.frame["households"].tolist() == [50.5, 16.0]
    assert set(layer.frame["source"]) == {"generic"}


def test_generic_csv_without_population_column(tmp_path: Path, nantes: ReadContext) -> None:
    path = _write_csv(
        tmp_path / "points.csv",
        ["id", "lon", "lat", "habitantz"],
        [["a", -1.55, 47.21, 3]],
        sep=",",
    )
    with pytest.raises(InputError) as exc:
        read_population(path, nantes)
    assert (exc.value.row, exc.value.field) == (1, "population")
    assert "population, pop, ind" in _message(exc)


def test_generic_points_csv_and_negative_value(tmp_path: Path, nantes: ReadContext) -> None:
    rows = [["p1", -1.5536, 47.2173, 12], ["p2", -1.5420, 47.2060, 30]]
    path = _write_csv(tmp_path / "pop.csv", ["id", "lon", "lat", "pop"], rows, sep=",")
    [layer] = read_population(path, nantes)
    assert layer.frame["population"].sum() == 42
    assert set(layer.frame.geom_type) == {"Point"}
    rows[1][3] = -30
    _write_csv(path, ["id", "lon", "lat", "pop"], rows, sep=",")
    with pytest.raises(InputError) as exc:
        read_population(path, nantes)
    assert (exc.value.row, exc.value.field) == (3, "pop")


def test_hexgrid_with_an_invalid_h3_id(
    tmp_path: Path, shared_data: Path, sao_paulo: ReadContext
) -> None:
    lines = (shared_data / "sao_paulo_r5py" / "spo_hexgrid.csv").read_text().splitlines()
    lines[3] = lines[3].replace('"89a8100c60fffff"', '"89a8100c60fffzz"')
    path = tmp_path / "hexgrid.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as exc:
        read_population(path, sao_paulo)
    assert (exc.value.row, exc.value.field) == (4, "id")
    assert "89a8100c60fffzz" in _message(exc)


# --------------------------------------------------------------------------------------------
# Jobs: SIRENE fixtures
# --------------------------------------------------------------------------------------------

STOCK_COLUMNS = [
    "siren", "nic", "siret", "statutDiffusionEtablissement", "dateCreationEtablissement",
    "trancheEffectifsEtablissement", "anneeEffectifsEtablissement",
    "activitePrincipaleRegistreMetiersEtablissement", "dateDernierTraitementEtablissement",
    "etablissementSiege", "nombrePeriodesEtablissement", "complementAdresseEtablissement",
    "numeroVoieEtablissement", "indiceRepetitionEtablissement", "dernierNumeroVoieEtablissement",
    "indiceRepetitionDernierNumeroVoieEtablissement", "typeVoieEtablissement",
    "libelleVoieEtablissement", "codePostalEtablissement", "libelleCommuneEtablissement",
    "libelleCommuneEtrangerEtablissement", "distributionSpecialeEtablissement",
    "codeCommuneEtablissement", "codeCedexEtablissement", "libelleCedexEtablissement",
    "codePaysEtrangerEtablissement", "libellePaysEtrangerEtablissement",
    "identifiantAdresseEtablissement", "coordonneeLambertAbscisseEtablissement",
    "coordonneeLambertOrdonneeEtablissement", "complementAdresse2Etablissement",
    "numeroVoie2Etablissement", "indiceRepetition2Etablissement", "typeVoie2Etablissement",
    "libelleVoie2Etablissement", "codePostal2Etablissement", "libelleCommune2Etablissement",
    "libelleCommuneEtranger2Etablissement", "distributionSpeciale2Etablissement",
    "codeCommune2Etablissement", "codeCedex2Etablissement", "libelleCedex2Etablissement",
    "codePaysEtranger2Etablissement", "libellePaysEtranger2Etablissement", "dateDebut",
    "etatAdministratifEtablissement", "enseigne1Etablissement", "enseigne2Etablissement",
    "enseigne3Etablissement", "denominationUsuelleEtablissement",
    "activitePrincipaleEtablissement", "nomenclatureActivitePrincipaleEtablissement",
    "caractereEmployeurEtablissement",
]  # fmt: skip
GEOLOCATION_COLUMNS = [
    "siret", "x", "y", "qualite_xy", "epsg", "plg_qp", "plg_iris", "plg_zus", "plg_qva",
    "plg_code_commune", "distance_precision", "qualite_qp", "qualite_iris", "qualite_zus",
    "qualite_qva", "y_latitude", "x_longitude",
]  # fmt: skip


def _establishment(siret: str, **values: str) -> dict[str, str]:
    row = dict.fromkeys(STOCK_COLUMNS, "")
    row.update(
        siren=siret[:9],
        nic=siret[9:],
        siret=siret,
        statutDiffusionEtablissement="O",
        dateCreationEtablissement="2012-09-03",
        anneeEffectifsEtablissement="2022",
        dateDernierTraitementEtablissement="2024-03-27T10:15:33",
        etablissementSiege="true",
        nombrePeriodesEtablissement="2",
        typeVoieEtablissement="RUE",
        codePostalEtablissement="44000",
        libelleCommuneEtablissement="NANTES",
        codeCommuneEtablissement="44109",
        dateDebut="2019-01-01",
        etatAdministratifEtablissement="A",
        nomenclatureActivitePrincipaleEtablissement="NAFRev2",
        caractereEmployeurEtablissement="O",
    )
    row.update(values)
    return row


#: Active restaurant (6-9 employees); its geolocation differs from the stock's coordinates.
RESTAURANT = "44291567800017"
#: University hospital site (1,000-1,999 employees).
HOSPITAL = "26440013600011"
#: Partially diffusible sole trader (1-2 employees): name and address withheld.
PARTIAL = "81234567800024"
#: Closed establishment.
CLOSED = "38012986600046"
#: Active, no headcount band (empty), non-employer.
NO_BAND = "90123456700015"
#: Active, no coordinates anywhere (10-19 employees).
UNLOCATED = "52143876900032"
#: Active, in Paris: outside the area.
PARIS = "55208131766522"
#: Active, partially diffusible without coordinates (3-5 employees).
PARTIAL_UNLOCATED = "83345678900019"
#: Active bakery whose address has a quoted field spanning two lines (last record).
BAKERY = "49876543200028"

GEO_POINTS = {  # siret -> Lambert-93 coordinates in the geolocation file
    RESTAURANT: (355_512.3, 6_689_455.8),
    HOSPITAL: (355_901.6, 6_688_874.2),
    PARTIAL: (356_371.9, 6_688_301.4),
    PARIS: (652_469.0, 6_862_035.0),
    BAKERY: (355_330.5, 6_689_812.0),
}


def _stock_rows() -> list[dict[str, str]]:
    return [
        _establishment(
            RESTAURANT,
            trancheEffectifsEtablissement="03",
            numeroVoieEtablissement="12",
            libelleVoieEtablissement="DE LA FOSSE",
            coordonneeLambertAbscisseEtablissement="355520.0",
            coordonneeLambertOrdonneeEtablissement="6689460.0",
            enseigne1Etablissement="LE BOUCHON",
            activitePrincipaleEtablissement="56.10A",
        ),
        _establishment(
            HOSPITAL,
            trancheEffectifsEtablissement="42",
            numeroVoieEtablissement="1",
            typeVoieEtablissement="PL",
            libelleVoieEtablissement="ALEXIS RICORDEAU",
            coordonneeLambertAbscisseEtablissement="355901.6",
            coordonneeLambertOrdonneeEtablissement="6688874.2",
            denominationUsuelleEtablissement="CHU DE NANTES HOTEL DIEU",
            enseigne1Etablissement="HOTEL DIEU",
            activitePrincipaleEtablissement="86.10Z",
        ),
        _establishment(
            PARTIAL,
            statutDiffusionEtablissement="P",
            trancheEffectifsEtablissement="01",
            numeroVoieEtablissement="[ND]",
            libelleVoieEtablissement="[ND]",
            coordonneeLambertAbscisseEtablissement="[ND]",
            coordonneeLambertOrdonneeEtablissement="[ND]",
            denominationUsuelleEtablissement="[ND]",
            enseigne1Etablissement="[ND]",
            activitePrincipaleEtablissement="43.22A",
        ),
        _establishment(
            CLOSED,
            etatAdministratifEtablissement="F",
            trancheEffectifsEtablissement="12",
            coordonneeLambertAbscisseEtablissement="355700.0",
            coordonneeLambertOrdonneeEtablissement="6689500.0",
            activitePrincipaleEtablissement="47.11F",
        ),
        _establishment(
            NO_BAND,
            trancheEffectifsEtablissement="",
            caractereEmployeurEtablissement="N",
            coordonneeLambertAbscisseEtablissement="355800,5",  # decimal comma
            coordonneeLambertOrdonneeEtablissement="6689700,25",
            denominationUsuelleEtablissement="CABINET DUPONT",
            activitePrincipaleEtablissement="69.20Z",
        ),
        _establishment(
            UNLOCATED,
            trancheEffectifsEtablissement="11",
            activitePrincipaleEtablissement="81.21Z",
        ),
        _establishment(
            PARIS,
            trancheEffectifsEtablissement="21",
            codePostalEtablissement="75001",
            libelleCommuneEtablissement="PARIS 1",
            codeCommuneEtablissement="75101",
            coordonneeLambertAbscisseEtablissement="652469.0",
            coordonneeLambertOrdonneeEtablissement="6862035.0",
            activitePrincipaleEtablissement="62.01Z",
        ),
        _establishment(
            PARTIAL_UNLOCATED,
            statutDiffusionEtablissement="P",
            trancheEffectifsEtablissement="02",
            coordonneeLambertAbscisseEtablissement="[ND]",
            coordonneeLambertOrdonneeEtablissement="[ND]",
            denominationUsuelleEtablissement="[ND]",
            activitePrincipaleEtablissement="96.02A",
        ),
        _establishment(
            BAKERY,
            trancheEffectifsEtablissement="02",
            complementAdresseEtablissement="Bâtiment A\nEntrée côté cour",
            libelleVoieEtablissement="DU PORT AU VIN",
            coordonneeLambertAbscisseEtablissement="355330.5",
            coordonneeLambertOrdonneeEtablissement="6689812.0",
            enseigne1Etablissement="BOULANGERIE PÂTISSERIE DU BOUFFAY",
            activitePrincipaleEtablissement="10.71C",
        ),
    ]


def _write_stock(
    path: Path,
    rows: list[dict[str, str]] | None = None,
    *,
    encoding: str = "utf-8",
    columns: Sequence[str] = STOCK_COLUMNS,
) -> Path:
    rows = _stock_rows() if rows is None else rows
    return _write_csv(
        path, columns, [[r[c] for c in columns] for r in rows], sep=",", encoding=encoding
    )


def _geolocation_rows() -> list[list[str]]:
    rows = []
    for siret, (x, y) in GEO_POINTS.items():
        lon, lat = L93_TO_WGS.transform(x, y)
        commune = "75101" if siret == PARIS else "44109"
        rows.append(
            [siret, f"{x:.1f}", f"{y:.1f}", "11", "2154", "HZ", "0101", "HZ", "HZ", commune,
             "6.5", "1", "1", "1", "1", f"{lat:.6f}", f"{lon:.6f}"]
        )  # fmt: skip
    rows.append([UNLOCATED, "", "", "", "", "", "", "", "", "44109", "", "", "", "", "", "", ""])
    rows.append(["99999999900011", "355000.0", "6689000.0", "11", "2154", "HZ", "0101", "HZ",
                 "HZ", "44109", "3.0", "1", "1", "1", "1", "47.2", "-1.55"])  # fmt: skip
    return rows


def _write_geolocation(path: Path, rows: list[list[str]] | None = None) -> Path:
    rows = _geolocation_rows() if rows is None else rows
    return _write_csv(path, GEOLOCATION_COLUMNS, rows, sep=";")


def _cell_centre_93(x: float, y: float) -> tuple[float, float]:
    east, north = TO_LAEA.transform(x, y)
    return FROM_LAEA.transform(east // 200 * 200 + 100, north // 200 * 200 + 100)


def test_sirene_with_geolocation(tmp_path: Path, nantes: ReadContext) -> None:
    stock = _write_stock(tmp_path / "StockEtablissement_utf8.csv")
    geoloc = _write_geolocation(
        tmp_path / "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv"
    )
    [layer] = read_jobs(stock, nantes, geolocation=geoloc)
    # The partially diffusible establishment has no SIRET in the layer (privacy): it is the
    # only null one, indexed here under its SIRET for the checks below.
    assert layer.frame["siret"].isna().tolist() == [False, False, True, False, False]
    assert layer.frame.loc[layer.frame["diffusion_partial"], "siret"].isna().all()
    frame = gpd.GeoDataFrame(layer.frame).set_index(layer.frame["siret"].fillna(PARTIAL))
    assert list(layer.frame.columns) == [
        "siret",
        "name",
        "naf",
        "headcount_code",
        "jobs",
        "diffusion_partial",
        "source",
        "geometry",
    ]
    assert list(frame.index) == [RESTAURANT, HOSPITAL, PARTIAL, NO_BAND, BAKERY]
    assert frame["jobs"].sum() == 7.5 + 1499.5 + 1.5 + 0.0 + 4.0
    assert layer.extra["jobs_total"] == 1512.5
    assert frame.loc[RESTAURANT, "name"] == "LE BOUCHON"  # enseigne when no denomination
    assert frame.loc[HOSPITAL, "name"] == "CHU DE NANTES HOTEL DIEU"
    assert frame.loc[BAKERY, "name"] == "BOULANGERIE PÂTISSERIE DU BOUFFAY"
    assert frame.loc[HOSPITAL, "naf"] == "86.10Z" and frame.loc[HOSPITAL, "headcount_code"] == "42"
    assert pd.isna(frame.loc[NO_BAND, "headcount_code"]) and frame.loc[NO_BAND, "jobs"] == 0
    assert set(frame["source"]) == {"sirene"}
    # The geolocation file wins over the stock's coordinates.
    point = frame.loc[RESTAURANT, "geometry"]
    assert (point.x, point.y) == pytest.approx(GEO_POINTS[RESTAURANT])
    # Stock coordinates (decimal commas) when the geolocation file has nothing.
    point = frame.loc[NO_BAND, "geometry"]
    assert (point.x, point.y) == pytest.approx((355_800.5, 6_689_700.25))
    # Partially diffusible: nameless, at the centre of its 200 m LAEA cell.
    assert frame.loc[PARTIAL, "diffusion_partial"] and pd.isna(frame.loc[PARTIAL, "name"])
    assert frame["diffusion_partial"].sum() == 1
    point = frame.loc[PARTIAL, "geometry"]
    expected = _cell_centre_93(*GEO_POINTS[PARTIAL])
    assert (point.x, point.y) == pytest.approx(expected, abs=1e-6)
    assert point.distance(shapely.Point(GEO_POINTS[PARTIAL])) > 1.0
    # Unlocated active establishments of Nantes are reported, Paris is silently outside.
    assert layer.extra["unlocated"] == 2
    assert layer.extra["unlocated_jobs"] == 14.5 + 4.0
    assert layer.warnings == [
        "2 établissement(s) actif(s) des communes du territoire sans coordonnées "
        "(environ 18 emplois) : non placés sur la carte"
    ]


def test_sirene_stock_coordinates_only(tmp_path: Path, nantes: ReadContext) -> None:
    stock = _write_stock(tmp_path / "StockEtablissement_utf8.csv")
    [layer] = read_jobs(stock, nantes)
    frame = gpd.GeoDataFrame(layer.frame).set_index("siret")
    assert list(frame.index) == [RESTAURANT, HOSPITAL, NO_BAND, BAKERY]
    point = frame.loc[RESTAURANT, "geometry"]
    assert (point.x, point.y) == (355_520.0, 6_689_460.0)
    assert layer.extra["unlocated"] == 3  # PARTIAL ([ND]), UNLOCATED, PARTIAL_UNLOCATED
    assert layer.extra["unlocated_jobs"] == 1.5 + 14.5 + 4.0


def test_sirene_employer_without_headcount_band_is_warned(
    tmp_path: Path, nantes: ReadContext
) -> None:
    rows = _stock_rows()
    rows[4]["caractereEmployeurEtablissement"] = "O"  # NO_BAND: employer, band unknown
    stock = _write_stock(tmp_path / "stock.csv", rows)
    [layer] = read_jobs(stock, nantes)
    assert layer.warnings[-1] == (
        "1 établissement(s) employeur(s) sans tranche d'effectif : comptés pour 0 emploi"
    )


def test_sirene_in_chunks_gives_the_same_layer(
    tmp_path: Path, nantes: ReadContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    stock = _write_stock(tmp_path / "stock.csv")
    geoloc = _write_geolocation(tmp_path / "geoloc.csv")
    whole = read_jobs(stock, nantes, geolocation=geoloc)[0]
    monkeypatch.setattr(stream_module, "CHUNK_ROWS", 2)
    chunked = read_jobs(stock, nantes, geolocation=geoloc)[0]
    pd.testing.assert_frame_equal(whole.frame, chunked.frame)
    assert whole.extra == chunked.extra


def test_sirene_zipped_latin1_and_bom(tmp_path: Path, nantes: ReadContext) -> None:
    raw = _write_stock(tmp_path / "StockEtablissement.csv", encoding="cp1252").read_bytes()
    archive = tmp_path / "StockEtablissement_utf8.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("StockEtablissement.csv", raw)
    [layer] = read_jobs(archive, nantes)
    names = layer.frame.set_index("siret")["name"]
    assert names[BAKERY] == "BOULANGERIE PÂTISSERIE DU BOUFFAY"
    bom = _write_stock(tmp_path / "stock_bom.csv", encoding="utf-8-sig")
    [layer] = read_jobs(bom, nantes)
    assert layer.frame["jobs"].sum() == 7.5 + 1499.5 + 0.0 + 4.0


def test_sirene_unknown_headcount_band(tmp_path: Path, nantes: ReadContext) -> None:
    rows = _stock_rows()
    rows[1]["trancheEffectifsEtablissement"] = "1"  # "01" after a spreadsheet ate the zero
    stock = _write_stock(tmp_path / "stock.csv", rows)
    with pytest.raises(InputError) as exc:
        read_jobs(stock, nantes)
    assert (exc.value.file, exc.value.row, exc.value.field) == (
        str(stock),
        3,
        "trancheEffectifsEtablissement",
    )
    assert "tranche d'effectif « 1 » inconnue" in _message(exc)
    assert "NN, 00, 01, 02, 03, 11" in _message(exc)


def test_sirene_error_line_in_a_later_chunk(
    tmp_path: Path, nantes: ReadContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _stock_rows()
    rows[6]["trancheEffectifsEtablissement"] = "99"
    stock = _write_stock(tmp_path / "stock.csv", rows)
    monkeypatch.setattr(stream_module, "CHUNK_ROWS", 2)
    with pytest.raises(InputError) as exc:
        read_jobs(stock, nantes)
    assert (exc.value.row, exc.value.field) == (8, "trancheEffectifsEtablissement")


def test_sirene_bad_siret_and_state(tmp_path: Path, nantes: ReadContext) -> None:
    rows = _stock_rows()
    rows[4]["siret"] = "9012345670001"  # 13 digits
    stock = _write_stock(tmp_path / "stock.csv", rows)
    with pytest.raises(InputError) as exc:
        read_jobs(stock, nantes)
    assert (exc.value.row, exc.value.field) == (6, "siret")
    rows = _stock_rows()
    rows[0]["etatAdministratifEtablissement"] = "Actif"
    _write_stock(stock, rows)
    with pytest.raises(InputError) as exc:
        read_jobs(stock, nantes)
    assert (exc.value.row, exc.value.field) == (2, "etatAdministratifEtablissement")


def test_sirene_bad_lambert_coordinate(tmp_path: Path, nantes: ReadContext) -> None:
    rows = _stock_rows()
    rows[1]["coordonneeLambertOrdonneeEtablissement"] = "6688874.2.1"
    stock = _write_stock(tmp_path / "stock.csv", rows)
    with pytest.raises(InputError) as exc:
        read_jobs(stock, nantes)
    assert (exc.value.row, exc.value.field) == (3, "coordonneeLambertOrdonneeEtablissement")


def test_sirene_missing_column(tmp_path: Path, nantes: ReadContext) -> None:
    columns = [c for c in STOCK_COLUMNS if c != "trancheEffectifsEtablissement"]
    stock = _write_stock(tmp_path / "stock.csv", columns=columns)
    with pytest.raises(InputError) as exc:
        read_jobs(stock, nantes)
    assert (exc.value.row, exc.value.field) == (1, "trancheEffectifsEtablissement")


def test_sirene_without_any_coordinates(tmp_path: Path, nantes: ReadContext) -> None:
    columns = [c for c in STOCK_COLUMNS if not c.startswith("coordonneeLambert")]
    stock = _write_stock(tmp_path / "stock.csv", columns=columns)
    with pytest.raises(InputError) as exc:
        read_jobs(stock, nantes)
    assert exc.value.field == "coordonneeLambertAbscisseEtablissement"
    assert "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques" in _message(exc)


def test_geolocation_bad_number_and_unknown_epsg(tmp_path: Path, nantes: ReadContext) -> None:
    stock = _write_stock(tmp_path / "stock.csv")
    rows = _geolocation_rows()
    rows[1][1] = "355901,6,0"
    geoloc = _write_geolocation(tmp_path / "geoloc.csv", rows)
    with pytest.raises(InputError) as exc:
        read_jobs(stock, nantes, geolocation=geoloc)
    assert (exc.value.file, exc.value.row, exc.value.field) == (str(geoloc), 3, "x")
    rows = _geolocation_rows()
    rows[2][4] = "123456"
    _write_geolocation(geoloc, rows)
    with pytest.raises(InputError) as exc:
        read_jobs(stock, nantes, geolocation=geoloc)
    assert (exc.value.row, exc.value.field) == (4, "epsg")
    assert "EPSG 123456" in _message(exc)


def test_sirene_spreadsheet_instead_of_csv(tmp_path: Path, nantes: ReadContext) -> None:
    path = tmp_path / "StockEtablissement.csv"
    # What an .xlsx file starts with: a zip local header, full of NUL bytes.
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + b"\x00" * 64)
    with pytest.raises(CsvFormatError) as exc:
        read_jobs(path, nantes)
    assert exc.value.file == str(path)
    assert "fichier binaire" in str(exc.value)


def test_generic_jobs_sao_paulo(shared_data: Path, sao_paulo: ReadContext) -> None:
    [layer] = read_jobs(shared_data / "sao_paulo_r5py" / "spo_hexgrid.csv", sao_paulo)
    assert len(layer.frame) == 323
    assert layer.frame["jobs"].sum() == 625_298
    assert set(layer.frame["source"]) == {"generic"}
    assert set(layer.frame.geom_type) == {"Point"}
    assert layer.frame["siret"].isna().all() and not layer.frame["diffusion_partial"].any()
    [polygons] = read_jobs(
        shared_data / "sao_paulo_r5py" / "spo_hexgrid_EPSG32723.gpkg.zip", sao_paulo
    )
    assert polygons.frame["jobs"].sum() == 625_298
    assert set(polygons.frame.geom_type) == {"Point"}


def test_generic_jobs_geojson_and_errors(tmp_path: Path, nantes: ReadContext) -> None:
    path = tmp_path / "employeurs.geojson"
    points = gpd.GeoDataFrame(
        {"nom": ["Zone Atout Sud", "Marché d'intérêt national"], "Emplois": [850.0, 1200.0]},
        geometry=gpd.points_from_xy([-1.5290, -1.5770], [47.1910, 47.1890]),
        crs=4326,
    )
    points.to_file(path)
    [layer] = read_jobs(path, nantes)
    assert layer.frame["jobs"].tolist() == [850.0, 1200.0]
    assert layer.frame["name"].tolist() == ["Zone Atout Sud", "Marché d'intérêt national"]
    with pytest.raises(InputError) as exc:
        read_jobs(path, nantes, geolocation=tmp_path / "geoloc.csv")
    assert "StockEtablissement" in _message(exc)
    csv_path = _write_csv(
        tmp_path / "jobs.csv",
        ["lon", "lat", "jobs"],
        [[-1.55, 47.21, 10], [-1.54, 47.20, -2]],
        sep=";",
    )
    with pytest.raises(InputError) as exc:
        read_jobs(csv_path, nantes)
    assert (exc.value.row, exc.value.field) == (3, "jobs")
    no_jobs = _write_csv(
        tmp_path / "nojobs.csv", ["lon", "lat", "effectif"], [[-1.55, 47.21, 10]], sep=";"
    )
    with pytest.raises(InputError) as exc:
        read_jobs(no_jobs, nantes)
    assert (exc.value.row, exc.value.field) == (1, "jobs")


def test_generic_jobs_honour_the_diffusion_status(tmp_path: Path, nantes: ReadContext) -> None:
    # A jobs layer carrying SIRENE's statutDiffusionEtablissement (O public, P partial).
    x, y = 356_371.9, 6_688_301.4
    lon, lat = L93_TO_WGS.transform(x, y)
    path = _write_csv(
        tmp_path / "emplois.csv",
        ["siret", "statutDiffusionEtablissement", "name", "jobs", "lon", "lat"],
        [
            [HOSPITAL, "O", "CHU DE NANTES HOTEL DIEU", 1499.5, -1.5536, 47.2117],
            [PARTIAL, "P", "DUPONT MARIE", 1.5, f"{lon:.7f}", f"{lat:.7f}"],
        ],
        sep=",",
    )
    [layer] = read_jobs(path, nantes)
    frame = layer.frame
    assert frame["diffusion_partial"].tolist() == [False, True]
    assert frame["siret"].tolist()[0] == HOSPITAL and pd.isna(frame["siret"].iloc[1])
    assert frame["name"].tolist()[0] == "CHU DE NANTES HOTEL DIEU" and pd.isna(
        frame["name"].iloc[1]
    )
    point = frame.geometry.iloc[1]
    assert (point.x, point.y) == pytest.approx(_cell_centre_93(x, y), abs=1e-6)
    assert point.distance(shapely.Point(x, y)) > 1.0
    assert frame["jobs"].tolist() == [1499.5, 1.5]
    assert layer.extra["partially_diffusible"] == 1

    bad = _write_csv(
        tmp_path / "bad.csv",
        ["siret", "statutDiffusionEtablissement", "jobs", "lon", "lat"],
        [[HOSPITAL, "O", 3, -1.5536, 47.2117], [PARTIAL, "N", 1, -1.55, 47.21]],
        sep=",",
    )
    with pytest.raises(InputError) as exc:
        read_jobs(bad, nantes)
    assert (exc.value.row, exc.value.field) == (3, "statutDiffusionEtablissement")
    assert "« N »" in _message(exc)


def test_jobs_module_exports_its_own_names() -> None:
    from parcours.territories.readers import communes, jobs

    assert "grid_crs_for" in jobs.__all__
    for name in jobs.__all__:
        value = getattr(jobs, name)
        if callable(value):
            assert value.__module__ == jobs.__name__, name
    borrowed = {"CsvSource", "open_csv", "project", "is_table", "require_source_columns"}
    assert not borrowed & set(jobs.__all__)
    assert not {"OVERSEAS_EPSG", "epsg_for_communes"} & set(jobs.__all__)
    assert "find_column" not in communes.__all__


def test_headcount_midpoints() -> None:
    assert HEADCOUNT_JOBS["01"] == 1.5 and HEADCOUNT_JOBS["12"] == 34.5
    assert HEADCOUNT_JOBS["53"] == 10_000 and HEADCOUNT_JOBS["NN"] == 0
    assert " ".join(HEADCOUNT_JOBS) == "NN 00 01 02 03 11 12 21 22 31 32 41 42 51 52 53"


# --------------------------------------------------------------------------------------------
# Services: BPE fixtures and user lists
# --------------------------------------------------------------------------------------------

BPE_2023 = [
    "AN", "NOMRS", "CNOMRS", "NUMVOIE", "INDREP", "TYPVOIE", "LIBVOIE", "CADR", "CODPOS",
    "DEPCOM", "DEP", "REG", "DOM", "SDOM", "TYPEQU", "SIRET", "STATUT_DIFFUSION", "CANTINE",
    "INTERNAT", "RPI", "EP", "CL_PGE", "SECT", "ACCES_AIRE_PRATIQUE", "ACCES_LIBRE",
    "ACCES_SANITAIRE", "ACCES_VESTIAIRE", "CAPACITE_D_ACCUEIL", "PRES_DOUCHE", "PRES_SANITAIRE",
    "SAISONNIER", "COUVERT", "ECLAIRE", "CATEGORIE", "LAMBERT_X", "LAMBERT_Y", "QUALITE_XY",
    "EPSG", "QUALITE_GEOC", "DCIRIS", "QUALI_IRIS", "QP", "QUALI_QP", "QVA", "QUALI_QVA", "ZUS",
    "QUALI_ZUS",
]  # fmt: skip
BPE_2021 = [
    "REG",
    "DEP",
    "DEPCOM",
    "DCIRIS",
    "AN",
    "TYPEQU",
    "LAMBERT_X",
    "LAMBERT_Y",
    "QUALITE_XY",
]

# (NOMRS, TYPEQU, LAMBERT_X, LAMBERT_Y, DEPCOM)
BPE_ROWS = [
    ("FRANCE TRAVAIL NANTES CENTRE", "A122", "355946.3", "6689155.1", "44109"),
    ("FRANCE SERVICES NANTES NORD", "A128", "355120.0", "6692210.4", "44109"),
    ("AUTO ECOLE DU BOUFFAY", "A304", "355380,5", "6689790,5", "44109"),  # decimal commas
    ("[ND]", "D201", "355600.0", "6689400.0", "44109"),  # name withheld
    ("CFA DU BTP DE LOIRE-ATLANTIQUE", "C601", "353480.0", "6690420.0", "44109"),
    ("GARE DE NANTES", "E107", "356690.0", "6689660.0", "44109"),
    ("CHU DE NANTES URGENCES", "D106", "355901.6", "6688874.2", "44109"),
    ("CINEMA KATORZA", "F303", "355250.0", "6689380.0", "44109"),
    ("BUREAU DE POSTE NANTES BOURSE", "A206", "", "", "44109"),  # no coordinates
    ("GARE MONTPARNASSE", "E107", "649770.0", "6860120.0", "75115"),  # outside
    ("BUREAU DE POSTE PARIS LOUVRE", "A206", "", "", "75101"),  # no coordinates, elsewhere
]


def _bpe_2023_rows(rows: Sequence[tuple[str, str, str, str, str]] = BPE_ROWS) -> list[list[str]]:
    out = []
    for name, code, x, y, commune in rows:
        row = dict.fromkeys(BPE_2023, "_Z")
        row.update(
            AN="2023",
            NOMRS=name,
            CNOMRS="",
            NUMVOIE="1",
            TYPVOIE="RUE",
            LIBVOIE="DE STRASBOURG",
            CADR="",
            CODPOS="44000" if commune.startswith("44") else "75001",
            DEPCOM=commune,
            DEP=commune[:2],
            REG="52" if commune.startswith("44") else "11",
            DOM=code[:1],
            SDOM=code[:2],
            TYPEQU=code,
            SIRET="",
            STATUT_DIFFUSION="P" if name == "[ND]" else "O",
            LAMBERT_X=x,
            LAMBERT_Y=y,
            QUALITE_XY="Bonne" if x else "_Z",
            EPSG="2154" if x else "",
            DCIRIS=f"{commune}0101",
        )
        out.append([row[c] for c in BPE_2023])
    return out


def test_bpe_2023(tmp_path: Path, nantes: ReadContext) -> None:
    path = _write_csv(tmp_path / "BPE23.csv", BPE_2023, _bpe_2023_rows(), sep=";")
    [layer] = read_services(path, nantes)
    frame = gpd.GeoDataFrame(layer.frame)
    assert list(frame.columns) == [*SERVICES_COLUMNS, "geometry"]
    assert frame["category"].tolist() == [
        "france_travail",
        "france_services",
        "driving_school",
        "gp",
        "apprentice_centre",
        "station_rail",
        "emergency",
        "other",
    ]
    assert frame["code"].tolist() == [
        "A122",
        "A128",
        "A304",
        "D201",
        "C601",
        "E107",
        "D106",
        "F303",
    ]
    assert frame["label"].iloc[0] == "Agence France Travail (ex-Pôle emploi)"
    assert frame["label"].iloc[-1] == "Autre équipement"
    assert frame["name"].iloc[0] == "FRANCE TRAVAIL NANTES CENTRE"
    assert pd.isna(frame["name"].iloc[3])  # [ND]
    assert frame["service_id"].tolist()[:3] == ["BPE23:2", "BPE23:3", "BPE23:4"]
    assert set(frame["source"]) == {"bpe"}
    point = frame.geometry.iloc[2]
    assert (point.x, point.y) == (355_380.5, 6_689_790.5)
    assert layer.extra["unlocated"] == 1  # the Nantes post office; not the Paris one
    assert layer.warnings == [
        "1 équipement(s) des communes du territoire sans coordonnées : non placés sur la carte"
    ]
    assert layer.extra["by_category"]["france_travail"] == 1


def test_bpe_zipped_and_chunked(
    tmp_path: Path, nantes: ReadContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = _write_csv(tmp_path / "BPE23.csv", BPE_2023, _bpe_2023_rows(), sep=";").read_bytes()
    archive = tmp_path / "BPE23_csv.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("BPE23.csv", raw)
    monkeypatch.setattr(stream_module, "CHUNK_ROWS", 3)
    [layer] = read_services(archive, nantes)
    assert len(layer.frame) == 8 and layer.extra["unlocated"] == 1


def test_bpe_older_layout_overseas(tmp_path: Path) -> None:
    # Saint-Denis (La Réunion) in UTM 40S, without an EPSG column: derived from DEPCOM.
    x, y = Transformer.from_crs(4326, 2975, always_xy=True).transform(55.4504, -20.8789)
    rows = [
        ["04", "974", "97411", "974110101", "2021", "A122", f"{x:.1f}", f"{y:.1f}", "Bonne"],
        ["04", "974", "97411", "974110102", "2021", "C104", f"{x + 250:.1f}", f"{y:.1f}", "Bonne"],
        ["04", "974", "97411", "974110103", "2021", "D301", f"{x:.1f}", f"{y + 300:.1f}", "Bonne"],
    ]
    path = _write_csv(tmp_path / "bpe21_ensemble_xy.csv", BPE_2021, rows, sep=";")
    crs = CRS.from_epsg(2975)
    ctx = ReadContext(crs=crs, area=shapely.box(x - 2000, y - 2000, x + 2000, y + 2000))
    [layer] = read_services(path, ctx)
    assert layer.frame["category"].tolist() == ["france_travail", "primary_school", "pharmacy"]
    assert layer.frame["name"].isna().all()
    point = layer.frame.geometry.iloc[0]
    assert (point.x, point.y) == pytest.approx((round(x, 1), round(y, 1)))


def test_bpe_errors(tmp_path: Path, nantes: ReadContext) -> None:
    rows = _bpe_2023_rows()
    header = [c for c in BPE_2023 if c != "LAMBERT_Y"]
    index = BPE_2023.index("LAMBERT_Y")
    path = _write_csv(
        tmp_path / "BPE23.csv", header, [r[:index] + r[index + 1 :] for r in rows], sep=";"
    )
    with pytest.raises(InputError) as exc:
        read_services(path, nantes)
    assert (exc.value.row, exc.value.field) == (1, "LAMBERT_Y")

    bad = list(BPE_ROWS)
    bad[4] = ("CFA", "C601", "abc", "6690420.0", "44109")
    _write_csv(path, BPE_2023, _bpe_2023_rows(bad), sep=";")
    with pytest.raises(InputError) as exc:
        read_services(path, nantes)
    assert (exc.value.file, exc.value.row, exc.value.field) == (str(path), 6, "LAMBERT_X")
    assert "nombre attendu, trouvé « abc »" in _message(exc)

    bad = list(BPE_ROWS)
    bad[2] = ("AUTO ECOLE", "", "355380.5", "6689790.5", "44109")
    _write_csv(path, BPE_2023, _bpe_2023_rows(bad), sep=";")
    with pytest.raises(InputError) as exc:
        read_services(path, nantes)
    assert (exc.value.row, exc.value.field) == (4, "TYPEQU")

    rows = _bpe_2023_rows()
    rows[1][BPE_2023.index("EPSG")] = "999999"
    _write_csv(path, BPE_2023, rows, sep=";")
    with pytest.raises(InputError) as exc:
        read_services(path, nantes)
    assert (exc.value.row, exc.value.field) == (3, "EPSG")


def test_user_services_csv(tmp_path: Path, nantes: ReadContext) -> None:
    rows = [
        ["mission_locale", "Mission locale Nantes Métropole", -1.5480, 47.2140],
        ["CAF", "CAF de Loire-Atlantique", -1.5590, 47.2060],
        ["mobility_platform", "Plateforme mobilité Wimoov", -1.5700, 47.2200],
    ]
    path = _write_csv(
        tmp_path / "partenaires.csv",
        ["category", "name", "lon", "lat"],
        rows,
        sep=";",
        encoding="cp1252",
    )
    [layer] = read_services(path, nantes)
    frame = gpd.GeoDataFrame(layer.frame)
    assert frame["category"].tolist() == ["mission_locale", "caf", "mobility_platform"]
    assert frame["label"].tolist() == [
        "Mission locale",
        "Caisse d'allocations familiales (CAF)",
        "Plateforme de mobilité",
    ]
    assert frame["name"].iloc[0] == "Mission locale Nantes Métropole"
    assert frame["service_id"].tolist() == ["partenaires:2", "partenaires:3", "partenaires:4"]
    assert set(frame["source"]) == {"user"} and frame["code"].isna().all()
    x, y = WGS_TO_93.transform(-1.5480, 47.2140)
    assert (frame.geometry.iloc[0].x, frame.geometry.iloc[0].y) == pytest.approx((x, y))


def test_user_services_unknown_category(tmp_path: Path, nantes: ReadContext) -> None:
    rows = [["caf", -1.55, 47.21], ["pole_emploi", -1.55, 47.21]]
    path = _write_csv(tmp_path / "partenaires.csv", ["category", "lon", "lat"], rows, sep=",")
    with pytest.raises(InputError) as exc:
        read_services(path, nantes)
    assert (exc.value.row, exc.value.field) == (3, "category")
    assert "catégorie « pole_emploi » inconnue" in _message(exc)
    assert "france_travail" in _message(exc) and "mission_locale" in _message(exc)


def test_user_services_geojson_with_ids(tmp_path: Path, nantes: ReadContext) -> None:
    path = tmp_path / "services.geojson"
    gpd.GeoDataFrame(
        {"id": ["ml-1", "ccas-1"], "category": ["mission_locale", "ccas"], "code": ["ML44", None]},
        geometry=gpd.points_from_xy([-1.5480, -1.5536], [47.2140, 47.2173]),
        crs=4326,
    ).to_file(path)
    [layer] = read_services(path, nantes)
    assert layer.frame["service_id"].tolist() == ["ml-1", "ccas-1"]
    assert layer.frame["code"].tolist()[0] == "ML44" and pd.isna(layer.frame["code"].iloc[1])
    assert LAMBERT93.equals(gpd.GeoDataFrame(layer.frame).crs)


def test_services_without_category_or_typequ(tmp_path: Path, nantes: ReadContext) -> None:
    path = _write_csv(
        tmp_path / "liste.csv", ["type", "lon", "lat"], [["caf", -1.55, 47.21]], sep=","
    )
    with pytest.raises(InputError) as exc:
        read_services(path, nantes)
    assert (exc.value.row, exc.value.field) == (1, "category")


def test_category_tables_are_consistent() -> None:
    assert set(BPE_CATEGORIES.values()) <= set(CATEGORIES)
    assert all(len(code) == 4 and code[0] in "ABCDEFG" for code in BPE_CATEGORIES)
    assert {"mission_locale", "caf", "other"} <= set(CATEGORIES)
    assert all(fr and en for fr, en in CATEGORIES.values())


def test_broken_zip_archive(tmp_path: Path, nantes: ReadContext) -> None:
    path = tmp_path / "StockEtablissement_utf8.zip"
    path.write_bytes(b"not a zip archive")
    with pytest.raises(InputError) as exc:
        read_jobs(path, nantes)
    assert exc.value.file == str(path) and "zip" in _message(exc)
