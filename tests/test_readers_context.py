"""Context-layer readers: carpool (BNLC), QPV, bike share (GBFS), communes, employment zones.

The BNLC tests read the real files of ``../shared/data/france_open_data_samples/bnlc``.
The other sources have no real sample small enough to commit: their fixtures are written
by the tests in the exact official schema (cited in each fixture's docstring), with
realistic values around Caen (Calvados).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely

from parcours.errors import InputError
from parcours.geo.crs import LAMBERT93, WGS84
from parcours.i18n import set_language
from parcours.territories.readers._base import ReadContext
from parcours.territories.readers.bikeshare import read_bikeshare
from parcours.territories.readers.carpool import CARPOOL_COLUMNS, read_carpool
from parcours.territories.readers.communes import (
    read_communes,
    read_communes_file,
    select_communes,
)
from parcours.territories.readers.employment_zones import read_employment_zones
from parcours.territories.readers.qpv import read_qpv

# --------------------------------------------------------------------------- helpers


def _ctx(lon0: float, lat0: float, lon1: float, lat1: float) -> ReadContext:
    """A Lambert-93 context whose area is a WGS84 box."""
    area = gpd.GeoSeries([shapely.box(lon0, lat0, lon1, lat1)], crs=WGS84).to_crs(LAMBERT93)
    return ReadContext(crs=LAMBERT93, area=area.iloc[0])


def _l93(lon: float, lat: float) -> tuple[float, float]:
    point = gpd.GeoSeries([shapely.Point(lon, lat)], crs=WGS84).to_crs(LAMBERT93).iloc[0]
    return point.x, point.y


def _square(lon: float, lat: float, half_m: float = 900.0) -> shapely.Polygon:
    """A square in Lambert-93 centred on a WGS84 point."""
    x, y = _l93(lon, lat)
    return shapely.box(x - half_m, y - half_m, x + half_m, y + half_m)


CAEN = _ctx(-0.60, 49.05, -0.15, 49.32)  # Caen and its suburbs
CALVADOS = _ctx(-1.20, 48.70, 0.50, 49.50)
CORSE = _ctx(8.40, 41.30, 9.65, 43.10)
DIEPPE = _ctx(0.90, 49.80, 1.30, 50.00)


def _geo(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """A reader's spatial layer (narrowed for the type checker)."""
    assert isinstance(frame, gpd.GeoDataFrame)
    return frame


def _bnlc(shared_data: Path, name: str) -> Path:
    return shared_data / "france_open_data_samples" / "bnlc" / name


def _raises(
    exc: pytest.ExceptionInfo[InputError], *, file: Path | str, row: int | None, field: str | None
) -> str:
    """Check the file, line and field of an InputError and return its message."""
    error = exc.value
    assert error.file is not None and Path(error.file).name == Path(file).name
    assert error.row == row
    assert error.field == field
    text = str(error)
    assert Path(file).name in text
    if row is not None:
        assert f"ligne {row}" in text
    if field is not None:
        assert f"« {field} »" in text
    return text


# ------------------------------------------------------------------ carpool (BNLC)

# Official example row of etalab/schema-lieux-covoiturage (exemple-valide.csv).
_VALID_ROW: dict[str, str] = {
    "id_lieu": "76217-C-001",
    "nom_lieu": "Gare SNCF de Dieppe",
    "ad_lieu": "2 Boulevard Georges Clemenceau",
    "com_lieu": "Dieppe",
    "insee": "76217",
    "type": "Parking",
    "date_maj": "2019-06-25",
    "ouvert": "true",
    "source": "217602176",
    "Xlong": "1.081183",
    "Ylat": "49.921823",
    "nbre_pl": "20",
    "nbre_pmr": "2",
    "duree": "",
    "horaires": "true",
    "proprio": "Ville de Dieppe",
    "lumiere": "true",
    "comm": "Correspondance avec la ligne TER Dieppe-Rouen",
}


def _write_bnlc(
    tmp_path: Path, rows: list[dict[str, str]], *, drop: str | None = None, name: str = "bnlc.csv"
) -> Path:
    fields = [f for f in _VALID_ROW if f != drop]
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _second(**changes: str) -> list[dict[str, str]]:
    """The official row (line 2) then a second place (line 3) with ``changes``."""
    other = {
        **_VALID_ROW,
        "id_lieu": "76217-C-002",
        "nom_lieu": "Gare Routière de Dieppe",
        "Xlong": "1.085656",
        "Ylat": "49.921921",
    }
    return [_VALID_ROW, {**other, **changes}]


def test_bnlc_calvados_utf8_bom_loads(shared_data: Path) -> None:
    """Real BNLC extract (Calvados 2024, schema >= 0.2, id_local only, UTF-8 with BOM)."""
    path = _bnlc(shared_data, "bnlc_calvados_2024_utf8.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    [layer] = read_carpool(path, CALVADOS)
    frame = _geo(layer.frame)
    assert layer.name == "carpool"
    assert len(frame) == 37
    assert list(frame.columns) == [*CARPOOL_COLUMNS, "geometry"]
    assert frame.crs.equals(LAMBERT93)
    assert set(frame.geom_type) == {"Point"}
    assert str(frame["places"].dtype) == "Int32" and str(frame["places_pmr"].dtype) == "Int32"
    assert layer.extra["encoding"] == "utf-8-sig"
    assert layer.warnings == []
    assert frame["id_lieu"].is_unique
    assert set(frame["type"]) == {"Aire de covoiturage"}
    assert "Bretelle Av. G. Clémenceau/N814 PR:" in set(frame["nom_lieu"])
    caen = frame[frame["id_lieu"] == "60"].iloc[0]
    assert caen["places"] == 238 and caen["places_pmr"] == 7 and caen["insee"] == "14101"
    assert pd.isna(frame.loc[frame["id_lieu"] == "37", "places"].iloc[0])  # empty nbre_pl
    assert frame["source"].isna().all() and frame["horaires"].isna().all()


def test_bnlc_corse_latin1_is_decoded(shared_data: Path) -> None:
    """Real 2019 Corsica export: ISO-8859-1, CRLF, ``;``, extra columns, 2A/2B codes."""
    path = _bnlc(shared_data, "bnlc_corse_2019_latin1.csv")
    raw = path.read_bytes()
    assert b"Supermarch\xe9" in raw and b"\r\n" in raw  # Latin-1 é, Windows line ends
    [layer] = read_carpool(path, CORSE)
    frame = _geo(layer.frame)
    assert len(frame) == 60
    assert layer.extra["encoding"] in ("cp1252", "latin-1")
    assert layer.extra["delimiter"] == ";"
    assert "SupermarchéCasino" in set(frame["nom_lieu"])
    assert frame["type"].value_counts().to_dict() == {
        "Parking": 27,
        "Supermarché": 14,
        "Parking relais": 8,
        "Délaissé routier": 6,
        "Aire de covoiturage": 5,
    }
    ajaccio = frame[frame["id_lieu"] == "2A004-C-006"].iloc[0]
    assert ajaccio["nom_lieu"] == "U Cimiteriu - Cimetiere"
    assert ajaccio["insee"] == "2A004" and ajaccio["places"] == 204
    assert ajaccio["horaires"] == "00:00-00:00" and ajaccio["source"] == "222000028"
    assert set(frame["insee"].str[:2]) == {"2A", "2B"}
    assert not any("\ufffd" in name or "Ã" in name for name in frame["nom_lieu"])


def test_bnlc_latin1_and_utf8_give_the_same_layer(shared_data: Path, tmp_path: Path) -> None:
    """The Corsica file re-encoded in UTF-8 gives exactly the same layer."""
    path = _bnlc(shared_data, "bnlc_corse_2019_latin1.csv")
    utf8 = tmp_path / "corse_utf8.csv"
    utf8.write_text(path.read_bytes().decode("latin-1"), encoding="utf-8")
    latin = read_carpool(path, CORSE)[0].frame
    again = read_carpool(utf8, CORSE)[0].frame
    pd.testing.assert_frame_equal(pd.DataFrame(latin), pd.DataFrame(again))


def test_bnlc_official_examples(shared_data: Path) -> None:
    """schema-lieux-covoiturage exemple-valide.csv loads; exemple-invalide.csv is refused.

    The invalid example differs by a second row whose ``date_maj`` is ``24-06-2019`` (not
    ISO 8601), the constraint the schema's validator reports.
    """
    [layer] = read_carpool(_bnlc(shared_data, "schema_exemple_valide.csv"), DIEPPE)
    row = layer.frame.iloc[0]
    assert len(layer.frame) == 1
    assert row["id_lieu"] == "76217-C-001" and row["nom_lieu"] == "Gare SNCF de Dieppe"
    assert row["places"] == 20 and row["places_pmr"] == 2 and row["source"] == "217602176"
    assert row["type"] == "Parking" and row["insee"] == "76217"

    invalid = _bnlc(shared_data, "schema_exemple_invalide.csv")
    with pytest.raises(InputError) as exc:
        read_carpool(invalid, DIEPPE)
    text = _raises(exc, file=invalid, row=3, field="date_maj")
    assert "24-06-2019" in text


def test_bnlc_clipped_to_the_area(shared_data: Path) -> None:
    path = _bnlc(shared_data, "bnlc_calvados_2024_utf8.csv")
    [layer] = read_carpool(path, _ctx(-0.45, 49.12, -0.30, 49.22))  # Caen only
    assert 0 < len(layer.frame) < 37
    assert layer.extra["outside_area"] == 37 - len(layer.frame)
    assert "14118" in set(layer.frame["insee"])


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"Xlong": "1,08x"}, "Xlong", "1,08x"),
        ({"Ylat": "149.92"}, "Ylat", "149.92"),
        ({"Ylat": ""}, "Ylat", "vide"),
        ({"insee": "7621"}, "insee", "7621"),
        ({"insee": "20004"}, "insee", "20004"),
        ({"nbre_pl": "-3"}, "nbre_pl", "-3"),
        ({"nbre_pmr": "2.5"}, "nbre_pmr", "2.5"),
        ({"ouvert": "peut-être"}, "ouvert", "peut-être"),
        ({"lumiere": "oui et non"}, "lumiere", "oui et non"),
        ({"date_maj": "2019-13-01"}, "date_maj", "2019-13-01"),
        ({"nom_lieu": " "}, "nom_lieu", "vide"),
        ({"type": ""}, "type", "vide"),
        ({"id_lieu": "76217-C-001"}, "id_lieu", "76217-C-001"),
    ],
)
def test_bnlc_bad_values(
    tmp_path: Path, changes: dict[str, str], field: str, fragment: str
) -> None:
    path = _write_bnlc(tmp_path, _second(**changes))
    with pytest.raises(InputError) as exc:
        read_carpool(path, DIEPPE)
    assert fragment in _raises(exc, file=path, row=3, field=field)


@pytest.mark.parametrize("missing", ["Ylat", "nom_lieu", "insee", "date_maj"])
def test_bnlc_missing_column(tmp_path: Path, missing: str) -> None:
    path = _write_bnlc(tmp_path, _second(), drop=missing)
    with pytest.raises(InputError) as exc:
        read_carpool(path, DIEPPE)
    _raises(exc, file=path, row=1, field=missing)


def test_bnlc_real_world_drift_warns(tmp_path: Path) -> None:
    """Unknown type, non-SIREN source: warnings; closed place: skipped; ; and decimal comma."""
    rows = [
        {**_VALID_ROW, "type": "aire de Covoiturage", "Xlong": "1,081183"},
        {**_VALID_ROW, "id_lieu": "76217-C-002", "type": "Parking de gare", "source": "SNCF"},
        {**_VALID_ROW, "id_lieu": "76217-C-003", "ouvert": "false"},
    ]
    path = tmp_path / "bnlc_semicolon.csv"
    with path.open("w", encoding="cp1252", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(_VALID_ROW), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    [layer] = read_carpool(path, DIEPPE)
    assert list(layer.frame["id_lieu"]) == ["76217-C-001", "76217-C-002"]
    assert list(layer.frame["type"]) == ["Aire de covoiturage", "Parking de gare"]
    text = " ".join(layer.warnings)
    assert "Parking de gare" in text and "SNCF" in text and "fermé" in text


def test_bnlc_producer_file_without_id_lieu(tmp_path: Path) -> None:
    """Schema 0.2 producer files only have id_local: it becomes the layer's id_lieu."""
    rows = [{**{k: v for k, v in _VALID_ROW.items() if k != "id_lieu"}, "id_local": "DIE-01"}]
    path = tmp_path / "producteur.csv"
    fields = ["id_local", *[f for f in _VALID_ROW if f != "id_lieu"]]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    [layer] = read_carpool(path, DIEPPE)
    assert list(layer.frame["id_lieu"]) == ["DIE-01"]


def test_bnlc_error_in_english(tmp_path: Path) -> None:
    set_language("en")
    path = _write_bnlc(tmp_path, _second(date_maj="24/06/2019"))
    with pytest.raises(InputError, match=r"line 3, field 'date_maj': ISO date"):
        read_carpool(path, DIEPPE)


# ----------------------------------------------------------------------------- QPV

_QP2024_FIELDS = [
    "code_qp",
    "lib_qp",
    "insee_reg",
    "lib_reg",
    "insee_dep",
    "lib_dep",
    "insee_com",
    "lib_com",
    "siren_epci",
]


def _qp2024(
    tmp_path: Path,
    rows: list[dict[str, Any]] | None = None,
    geoms: list[shapely.Geometry] | None = None,
) -> Path:
    """ANCT / SIG-ville, QP 2024 fichier géographique (France hexagonale, Lambert-93).

    Fields of the official QP2024 contour files (décret n° 2023-1314 modifié par le décret
    n° 2024-806); a neighbourhood over two communes is published as one feature per commune.
    """
    common = {
        "insee_reg": "28",
        "lib_reg": "Normandie",
        "insee_dep": "14",
        "lib_dep": "Calvados",
        "siren_epci": "200065597",
    }
    if rows is None:
        rows = [
            {
                "code_qp": "QN01404M",
                "lib_qp": "Guérinière",
                "insee_com": "14118",
                "lib_com": "Caen",
            },
            {
                "code_qp": "QN01403M",
                "lib_qp": "Grâce de Dieu",
                "insee_com": "14118",
                "lib_com": "Caen",
            },
            {
                "code_qp": "QN01406M",
                "lib_qp": "Le Val - Grande Delle",
                "insee_com": "14327",
                "lib_com": "Hérouville-Saint-Clair",
            },
            {
                "code_qp": "QN01406M",
                "lib_qp": "Le Val - Grande Delle",
                "insee_com": "14118",
                "lib_com": "Caen",
            },
        ]
        geoms = [
            _square(-0.345, 49.160, 400),
            _square(-0.352, 49.165, 300),
            _square(-0.330, 49.203, 350),
            _square(-0.338, 49.203, 350),
        ]
    assert geoms is not None
    frame = gpd.GeoDataFrame([{**common, **r} for r in rows], geometry=geoms, crs=LAMBERT93)
    frame = frame[[*_QP2024_FIELDS, "geometry"]]
    path = tmp_path / "QP2024_France_hexagonale_LB93.gpkg"
    pyogrio.write_dataframe(frame, path, layer="QP2024_France_hexagonale_LB93", driver="GPKG")
    return path


def _qp2015_shapefile(tmp_path: Path, *, prj: bool = True) -> Path:
    """SIG-ville, contours des QP 2015 (QP_METROPOLE_LB93.shp: CODE_QP, NOM_QP, COMMUNE_QP)."""
    frame = gpd.GeoDataFrame(
        {
            "CODE_QP": ["QP014003", "QP014004"],
            "NOM_QP": ["Grâce de Dieu", "Guérinière"],
            "COMMUNE_QP": ["Caen", "Caen"],
        },
        geometry=[_square(-0.352, 49.165, 300), _square(-0.345, 49.160, 400)],
        crs=LAMBERT93 if prj else None,
    )
    path = tmp_path / "QP_METROPOLE_LB93.shp"
    if prj:
        pyogrio.write_dataframe(frame, path, encoding="UTF-8")
    else:
        with pytest.warns(UserWarning, match="crs"):
            pyogrio.write_dataframe(frame, path, encoding="UTF-8")
    return path


def test_qpv_2024_geopackage(tmp_path: Path) -> None:
    path = _qp2024(tmp_path)
    [layer] = read_qpv(path, CAEN)
    frame = _geo(layer.frame)
    assert layer.name == "qpv"
    assert list(frame.columns) == ["code_qp", "name", "communes", "geometry"]
    assert list(frame["code_qp"]) == ["QN01404M", "QN01403M", "QN01406M"]
    assert frame.crs.equals(LAMBERT93)
    merged = frame[frame["code_qp"] == "QN01406M"].iloc[0]
    assert merged["name"] == "Le Val - Grande Delle"
    assert merged["communes"] == "Hérouville-Saint-Clair, Caen"
    pieces = shapely.union_all([_square(-0.330, 49.203, 350), _square(-0.338, 49.203, 350)])
    assert merged.geometry.area == pytest.approx(pieces.area, rel=1e-6)
    assert layer.extra["vintage"] == "2024" and layer.extra["features_in_file"] == 4


def test_qpv_2024_geojson_wgs84_is_projected_and_clipped(tmp_path: Path) -> None:
    gpkg = _qp2024(tmp_path)
    geojson = tmp_path / "QP2024_France_hexagonale_WGS84.geojson"
    pyogrio.write_dataframe(gpd.read_file(gpkg).to_crs(WGS84), geojson, driver="GeoJSON")
    [layer] = read_qpv(geojson, _ctx(-0.36, 49.15, -0.34, 49.17))  # south of Caen only
    assert set(layer.frame["code_qp"]) == {"QN01404M", "QN01403M"}
    assert _geo(layer.frame).crs.equals(LAMBERT93)


def test_qpv_2015_shapefile(tmp_path: Path) -> None:
    [layer] = read_qpv(_qp2015_shapefile(tmp_path), CAEN)
    assert list(layer.frame["code_qp"]) == ["QP014003", "QP014004"]
    assert list(layer.frame["name"]) == ["Grâce de Dieu", "Guérinière"]
    assert list(layer.frame["communes"]) == ["Caen", "Caen"]
    assert layer.extra["vintage"] == "2015"


def test_qpv_shapefile_without_prj_is_refused(tmp_path: Path) -> None:
    path = _qp2015_shapefile(tmp_path, prj=False)
    assert not path.with_suffix(".prj").exists()
    with pytest.raises(InputError, match="CRS") as exc:
        read_qpv(path, CAEN)
    _raises(exc, file=path, row=None, field=None)


def test_qpv_missing_field(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"CODE": ["QN01404M"], "lib_qp": ["Guérinière"]},
        geometry=[_square(-0.345, 49.160)],
        crs=LAMBERT93,
    )
    path = tmp_path / "qp.gpkg"
    pyogrio.write_dataframe(frame, path, driver="GPKG")
    with pytest.raises(InputError) as exc:
        read_qpv(path, CAEN)
    _raises(exc, file=path, row=1, field="code_qp")


def test_qpv_bad_code_and_geometry(tmp_path: Path) -> None:
    rows = [
        {"code_qp": "QN01404M", "lib_qp": "Guérinière", "insee_com": "14118", "lib_com": "Caen"},
        {"code_qp": "14118", "lib_qp": "Chemin Vert", "insee_com": "14118", "lib_com": "Caen"},
    ]
    path = _qp2024(tmp_path, rows, [_square(-0.345, 49.160), _square(-0.38, 49.19)])
    with pytest.raises(InputError) as exc:
        read_qpv(path, CAEN)
    assert "14118" in _raises(exc, file=path, row=3, field="code_qp")

    rows[1]["code_qp"] = "QN01402M"
    point = tmp_path / "points"
    point.mkdir()
    path = _qp2024(point, rows, [_square(-0.345, 49.160), shapely.Point(_l93(-0.38, 49.19))])
    with pytest.raises(InputError, match="Point") as exc:
        read_qpv(path, CAEN)
    _raises(exc, file=path, row=3, field="geometry")


# ------------------------------------------------------------------ bike share (GBFS)

_STATIONS_V2 = [
    {
        "station_id": "1",
        "name": "Place de la République",
        "lat": 49.18290,
        "lon": -0.36270,
        "capacity": 20,
        "address": "Place de la République, 14000 Caen",
    },
    {"station_id": "2", "name": "Gare SNCF", "lat": 49.17652, "lon": -0.34880, "capacity": 24},
    {"station_id": "3", "name": "Château", "lat": 49.18640, "lon": -0.36340},
    {
        "station_id": "40",
        "name": "Bayeux Cathédrale",
        "lat": 49.27860,
        "lon": -0.70400,
        "capacity": 10,
    },
]


def _gbfs(
    folder: Path, stations: list[dict[str, Any]], *, version: str = "2.3", text: str | None = None
) -> Path:
    """GBFS v2.3 station_information.json (MobilityData GBFS reference, v2.3).

    ``{"last_updated", "ttl", "version", "data": {"stations": [...]}}``; for v3.0 the
    ``last_updated`` is an RFC 3339 timestamp and ``name`` a list of localised strings.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "station_information.json"
    document = {
        "last_updated": 1718000000 if version < "3" else "2024-06-10T08:00:00+02:00",
        "ttl": 60,
        "version": version,
        "data": {"stations": stations},
    }
    path.write_text(
        text if text is not None else json.dumps(document, ensure_ascii=False, indent=2),
        encoding="utf-8",
    )
    return path


def test_gbfs_v23_station_information(tmp_path: Path) -> None:
    path = _gbfs(tmp_path / "twisto_veol", _STATIONS_V2)
    [layer] = read_bikeshare(path, CAEN)
    frame = _geo(layer.frame)
    assert layer.name == "bikeshare"
    assert list(frame.columns) == ["station_id", "name", "capacity", "system", "geometry"]
    assert list(frame["station_id"]) == ["1", "2", "3"]  # Bayeux is outside the area
    assert list(frame["name"]) == ["Place de la République", "Gare SNCF", "Château"]
    assert str(frame["capacity"].dtype) == "Int32"
    assert frame["capacity"].tolist()[:2] == [20, 24] and pd.isna(frame["capacity"].iloc[2])
    assert set(frame["system"]) == {"twisto_veol"}
    assert frame.crs.equals(LAMBERT93)
    assert layer.extra["version"] == "2.3" and layer.extra["stations_in_file"] == 4


def test_gbfs_folder_and_system_information(tmp_path: Path) -> None:
    folder = tmp_path / "gbfs"
    _gbfs(folder, _STATIONS_V2)
    (folder / "system_information.json").write_text(
        json.dumps(
            {
                "last_updated": 1718000000,
                "ttl": 3600,
                "version": "2.3",
                "data": {
                    "system_id": "caen_veol",
                    "language": "fr",
                    "name": "V'eol",
                    "timezone": "Europe/Paris",
                },
            }
        ),
        encoding="utf-8",
    )
    [layer] = read_bikeshare(folder, CAEN)
    assert set(layer.frame["system"]) == {"caen_veol"}


def test_gbfs_v3_localised_names(tmp_path: Path) -> None:
    stations = [
        {
            "station_id": "2",
            "lat": 49.17652,
            "lon": -0.34880,
            "capacity": 24,
            "name": [
                {"text": "Railway station", "language": "en"},
                {"text": "Gare SNCF", "language": "fr"},
            ],
        },
        {
            "station_id": "5",
            "lat": 49.18380,
            "lon": -0.36000,
            "name": [{"text": "Saint-Pierre", "language": "en"}],
        },
    ]
    [layer] = read_bikeshare(_gbfs(tmp_path / "caen", stations, version="3.0"), CAEN)
    assert list(layer.frame["name"]) == ["Gare SNCF", "Saint-Pierre"]


def test_gbfs_json_syntax_error(tmp_path: Path) -> None:
    good = json.dumps(
        {"version": "2.3", "data": {"stations": _STATIONS_V2[:2]}}, indent=2, ensure_ascii=False
    )
    broken = good.replace('"capacity": 20,', '"capacity": 20', 1)  # missing comma
    path = _gbfs(tmp_path / "x", [], text=broken)
    line = next(i for i, t in enumerate(broken.splitlines(), 1) if '"capacity": 20' in t) + 1
    with pytest.raises(InputError, match="colonne") as exc:
        read_bikeshare(path, CAEN)
    _raises(exc, file=path, row=line, field=None)


@pytest.mark.parametrize(
    ("index", "change", "field", "fragment"),
    [
        (1, {"lat": None}, "lat", "absent"),
        (2, {"lon": "ouest"}, "lon", "ouest"),
        (0, {"lat": 149.2}, "lat", "149.2"),
        (1, {"capacity": -4}, "capacity", "-4"),
        (2, {"name": ""}, "name", "nom"),
        (3, {"station_id": "1"}, "station_id", "double"),
    ],
)
def test_gbfs_bad_station(
    tmp_path: Path, index: int, change: dict[str, Any], field: str, fragment: str
) -> None:
    stations = [dict(s) for s in _STATIONS_V2]
    stations[index].update(change)
    if change.get("lat", 0) is None:
        del stations[index]["lat"]
    path = _gbfs(tmp_path / "bad", stations)
    with pytest.raises(InputError) as exc:
        read_bikeshare(path, CAEN)
    assert fragment in _raises(exc, file=path, row=None, field=f"data.stations[{index}].{field}")


def test_gbfs_not_a_station_file(tmp_path: Path) -> None:
    path = tmp_path / "free_bike_status.json"
    path.write_text(json.dumps({"version": "2.3", "data": {"bikes": []}}), encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_bikeshare(path, CAEN)
    _raises(exc, file=path, row=None, field="data.stations")


# ------------------------------------------------------------------------- communes

_COMMUNES = [
    # INSEE_COM, NOM, POPULATION, centre lon/lat, STATUT
    ("14118", "Caen", 108200, (-0.370, 49.183), "Préfecture de département"),
    ("14327", "Hérouville-Saint-Clair", 22816, (-0.330, 49.205), "Commune simple"),
    ("14341", "Ifs", 12230, (-0.350, 49.140), "Commune simple"),
    ("14437", "Mondeville", 9855, (-0.315, 49.172), "Commune simple"),
]


def _admin_express(tmp_path: Path, *, with_epci: bool = True) -> Path:
    """IGN ADMIN EXPRESS COG, descriptif de contenu, tables COMMUNE and EPCI (GeoPackage).

    COMMUNE: ID, NOM, NOM_M, INSEE_COM, STATUT, POPULATION, INSEE_CAN, INSEE_ARR,
    INSEE_DEP, INSEE_REG, SIREN_EPCI; EPCI: ID, CODE_SIREN, NOM, NATURE. Lambert-93.
    """
    path = tmp_path / "ADMIN-EXPRESS-COG_3-2__GPKG_LAMB93_FXX_2024-02-22.gpkg"
    communes = gpd.GeoDataFrame(
        {
            "ID": [f"COMMUNE_00000000097488{i:02d}" for i in range(len(_COMMUNES))],
            "NOM": [c[1] for c in _COMMUNES],
            "NOM_M": [c[1].upper().replace("É", "E") for c in _COMMUNES],
            "INSEE_COM": [c[0] for c in _COMMUNES],
            "STATUT": [c[4] for c in _COMMUNES],
            "POPULATION": [c[2] for c in _COMMUNES],
            "INSEE_CAN": ["1499", "1499", "1499", "1499"],
            "INSEE_ARR": ["1", "1", "1", "1"],
            "INSEE_DEP": ["14"] * 4,
            "INSEE_REG": ["28"] * 4,
            "SIREN_EPCI": ["200065597"] * 4,
        },
        geometry=[_square(lon, lat, 1500) for *_, (lon, lat), _ in _COMMUNES],
        crs=LAMBERT93,
    )
    departement = gpd.GeoDataFrame(
        {
            "ID": ["DEPARTEM_FXX_00000000014"],
            "NOM": ["Calvados"],
            "INSEE_DEP": ["14"],
            "INSEE_REG": ["28"],
        },
        geometry=[_square(-0.35, 49.1, 40000)],
        crs=LAMBERT93,
    )
    pyogrio.write_dataframe(departement, path, layer="DEPARTEMENT", driver="GPKG")
    pyogrio.write_dataframe(communes, path, layer="COMMUNE", driver="GPKG", append=True)
    if with_epci:
        epci = gpd.GeoDataFrame(
            {
                "ID": ["EPCI____00000000000000000001"],
                "CODE_SIREN": ["200065597"],
                "NOM": ["CU Caen la Mer"],
                "NATURE": ["Communauté urbaine"],
            },
            geometry=[communes.union_all()],
            crs=LAMBERT93,
        )
        pyogrio.write_dataframe(epci, path, layer="EPCI", driver="GPKG", append=True)
    return path


def _geo_api(tmp_path: Path, features: list[dict[str, Any]] | None = None) -> Path:
    """geo.api.gouv.fr ``/communes?codeDepartement=14&fields=code,nom,codeEpci,epci,population,
    codeDepartement&format=geojson&geometry=contour`` (WGS84 FeatureCollection)."""
    if features is None:
        features = []
        for code, nom, population, (lon, lat), _ in _COMMUNES:
            contour = gpd.GeoSeries([_square(lon, lat, 1500)], crs=LAMBERT93).to_crs(WGS84)
            features.append(
                {
                    "type": "Feature",
                    "geometry": shapely.geometry.mapping(contour.iloc[0]),
                    "properties": {
                        "code": code,
                        "nom": nom,
                        "codeEpci": "200065597",
                        "epci": {"code": "200065597", "nom": "CU Caen la Mer"},
                        "population": population,
                        "codeDepartement": "14",
                    },
                }
            )
    path = tmp_path / "communes_14.geojson"
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
        encoding="utf-8",
    )
    return path


def test_communes_admin_express_geopackage(tmp_path: Path) -> None:
    path = _admin_express(tmp_path)
    frame = read_communes_file(path)
    assert list(frame.columns) == [
        "insee",
        "name",
        "epci_siren",
        "epci_name",
        "population",
        "geometry",
    ]
    assert list(frame["insee"]) == ["14118", "14327", "14341", "14437"]
    assert list(frame["name"])[:2] == ["Caen", "Hérouville-Saint-Clair"]
    assert set(frame["epci_name"]) == {"CU Caen la Mer"}
    assert str(frame["population"].dtype) == "Int64" and frame["population"].iloc[0] == 108200
    assert frame.crs.equals(LAMBERT93)

    [layer] = read_communes(path, _ctx(-0.40, 49.16, -0.34, 49.20))  # around central Caen
    assert layer.name == "communes"
    assert "14118" in set(layer.frame["insee"]) and "14341" not in set(layer.frame["insee"])


def test_communes_admin_express_without_epci_layer(tmp_path: Path) -> None:
    frame = read_communes_file(_admin_express(tmp_path, with_epci=False))
    assert set(frame["epci_siren"]) == {"200065597"}
    assert frame["epci_name"].isna().all()


def test_communes_geo_api_gouv_geojson(tmp_path: Path) -> None:
    path = _geo_api(tmp_path)
    frame = read_communes_file(path)
    assert frame.crs.equals(WGS84)
    assert list(frame["insee"]) == ["14118", "14327", "14341", "14437"]
    assert set(frame["epci_siren"]) == {"200065597"}
    assert set(frame["epci_name"]) == {"CU Caen la Mer"}
    assert frame["population"].tolist() == [c[2] for c in _COMMUNES]
    [layer] = read_communes(path, CAEN)
    assert _geo(layer.frame).crs.equals(LAMBERT93) and len(layer.frame) == 4


def test_communes_generic_file_and_special_epci_codes(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {
            "CODGEO": ["29155", "75101", "2A004"],
            "LIBGEO": ["Ouessant", "Paris 1er Arrondissement", "Ajaccio"],
            "siren_epci": ["NC", "200054781/200057867", "200066999"],
        },
        geometry=[_square(-5.09, 48.46), _square(2.34, 48.86), _square(8.74, 41.93)],
        crs=LAMBERT93,
    )
    path = tmp_path / "communes.gpkg"
    pyogrio.write_dataframe(frame, path, driver="GPKG")
    read = read_communes_file(path)
    assert list(read["insee"]) == ["29155", "75101", "2A004"]
    assert pd.isna(read["epci_siren"].iloc[0]) and read["epci_siren"].iloc[1] == "200054781"
    assert read["population"].isna().all()


@pytest.mark.parametrize(
    ("code", "fragment"), [("1411", "1411"), ("2C004", "2C004"), ("", "vide"), ("14118", "double")]
)
def test_communes_bad_insee_code(tmp_path: Path, code: str, fragment: str) -> None:
    features = json.loads(_geo_api(tmp_path).read_text(encoding="utf-8"))["features"]
    features[2]["properties"]["code"] = code
    path = _geo_api(tmp_path, features)
    with pytest.raises(InputError) as exc:
        read_communes_file(path)
    assert fragment in _raises(exc, file=path, row=4, field="code")


def test_communes_bad_population_and_missing_code(tmp_path: Path) -> None:
    features = json.loads(_geo_api(tmp_path).read_text(encoding="utf-8"))["features"]
    features[1]["properties"]["population"] = "beaucoup"
    path = _geo_api(tmp_path, features)
    with pytest.raises(InputError) as exc:
        read_communes_file(path)
    _raises(exc, file=path, row=3, field="population")

    for feature in features:
        feature["properties"] = {"nom": feature["properties"]["nom"]}
    path = _geo_api(tmp_path, features)
    with pytest.raises(InputError) as exc:
        read_communes_file(path)
    _raises(exc, file=path, row=1, field="insee")


def test_select_communes(tmp_path: Path) -> None:
    frame = read_communes_file(_admin_express(tmp_path))
    chosen = select_communes(frame, ["14341", "14118", "14341"], name="admin-express")
    assert list(chosen["insee"]) == ["14341", "14118"]
    with pytest.raises(InputError) as exc:
        select_communes(frame, ["14118", "14047", "14762"], name="admin-express")
    assert "14047" in str(exc.value) and "14762" in str(exc.value)
    assert exc.value.file == "admin-express" and exc.value.field == "insee"


# ----------------------------------------------------------------- employment zones

_ZE_HEADER = ["CODGEO", "LIBGEO", "ZE2020", "LIBZE2020", "ZE2020_PARTIE_REG", "DEP", "REG"]
_ZE_ROWS = [
    ["14047", "Bayeux", "2802", "Bayeux", "2802", "14", "28"],
    ["14118", "Caen", "2803", "Caen", "2803", "14", "28"],
    ["14327", "Hérouville-Saint-Clair", "2803", "Caen", "2803", "14", "28"],
    ["14341", "Ifs", "2803", "Caen", "2803", "14", "28"],
]
# Cells typed as numbers by a spreadsheet (leading zeros lost, here none to lose).
_ZE_ROWS_XLSX: list[list[Any]] = [[14047, "Bayeux", 2802, "Bayeux", 2802, 14, 28], *_ZE_ROWS[1:]]


def _ze_xlsx(tmp_path: Path, rows: list[list[str]] | None = None) -> Path:
    """INSEE, Zonage en zones d'emploi 2020, composition communale (ZE2020_au_01-01-2024.xlsx).

    Sheet ``Composition_communale``: five title lines, then the header CODGEO, LIBGEO,
    ZE2020, LIBZE2020, ZE2020_PARTIE_REG, DEP, REG on row 6; a first sheet lists the zones.
    """
    workbook = openpyxl.Workbook()
    zones = workbook.active
    assert zones is not None
    zones.title = "Zones_d_emploi_2020"
    for row in (
        ["Liste des zones d'emploi 2020"],
        [],
        [],
        [],
        [],
        ["ZE2020", "LIBZE2020", "REG"],
        ["2802", "Bayeux", "28"],
        ["2803", "Caen", "28"],
    ):
        zones.append(row)
    sheet = workbook.create_sheet("Composition_communale")
    for row in (
        ["Zonage en zones d'emploi 2020"],
        ["Découpage de la France en communes au 01/01/2024"],
        ["Source : Insee"],
        [],
        [],
        _ZE_HEADER,
        *(rows if rows is not None else _ZE_ROWS_XLSX),
    ):
        sheet.append(row)
    path = tmp_path / "ZE2020_au_01-01-2024.xlsx"
    workbook.save(path)
    return path


@pytest.fixture
def caen_communes(tmp_path: Path) -> gpd.GeoDataFrame:
    """The territory's communes layer (Caen, Hérouville, Ifs, Mondeville) in Lambert-93."""
    folder = tmp_path / "admin"
    folder.mkdir()
    return read_communes(_admin_express(folder), CAEN)[0].frame


def test_employment_zones_xlsx_composition(tmp_path: Path, caen_communes: gpd.GeoDataFrame) -> None:
    [layer] = read_employment_zones(_ze_xlsx(tmp_path), CAEN, communes=caen_communes)
    frame = _geo(layer.frame)
    assert layer.name == "employment_zones"
    assert list(frame.columns) == ["ze_code", "ze_name", "communes", "geometry"]
    assert list(frame["ze_code"]) == ["2803"]  # Bayeux has no commune in the territory
    assert frame["ze_name"].iloc[0] == "Caen" and frame["communes"].iloc[0] == 3
    assert set(frame.geom_type) == {"MultiPolygon"} and frame.crs.equals(LAMBERT93)
    members = caen_communes[caen_communes["insee"].isin(["14118", "14327", "14341"])]
    assert frame.geometry.iloc[0].area == pytest.approx(members.union_all().area)
    assert any("14437" in w for w in layer.warnings)  # Mondeville not in the table


def test_employment_zones_csv_composition(tmp_path: Path, caen_communes: gpd.GeoDataFrame) -> None:
    path = tmp_path / "ZE2020_composition.csv"
    lines = [";".join(_ZE_HEADER), *(";".join(r) for r in _ZE_ROWS)]
    path.write_bytes(("\n".join(lines) + "\n").encode("cp1252"))
    [layer] = read_employment_zones(path, CAEN, communes=caen_communes)
    assert list(layer.frame["ze_code"]) == ["2803"] and layer.frame["communes"].iloc[0] == 3

    titled = tmp_path / "ZE2020_with_titles.csv"
    titled.write_text(
        "Zonage en zones d'emploi 2020;;;;;;\n;;;;;;\n"
        + "\n".join([lines[0], lines[1], "14X18;Caen;2803;Caen;2803;14;28"]),
        encoding="utf-8",
    )
    with pytest.raises(InputError) as exc:
        read_employment_zones(titled, CAEN, communes=caen_communes)
    _raises(exc, file=titled, row=5, field="CODGEO")


def test_employment_zones_need_communes(tmp_path: Path) -> None:
    path = _ze_xlsx(tmp_path)
    with pytest.raises(InputError, match="--communes-file"):
        read_employment_zones(path, CAEN, communes=None)


def test_employment_zones_bad_rows(tmp_path: Path, caen_communes: gpd.GeoDataFrame) -> None:
    rows = [list(r) for r in _ZE_ROWS]
    rows[2][0] = "1432"
    path = _ze_xlsx(tmp_path, rows)
    with pytest.raises(InputError) as exc:
        read_employment_zones(path, CAEN, communes=caen_communes)
    assert "1432" in _raises(exc, file=f"{path}/Composition_communale", row=9, field="CODGEO")

    rows = [list(r) for r in _ZE_ROWS]
    rows[1][2] = "28A"
    path = _ze_xlsx(tmp_path, rows)
    with pytest.raises(InputError) as exc:
        read_employment_zones(path, CAEN, communes=caen_communes)
    _raises(exc, file=f"{path}/Composition_communale", row=8, field="ZE2020")

    rows = [list(r) for r in _ZE_ROWS]
    rows[3][0] = "14118"
    path = _ze_xlsx(tmp_path, rows)
    with pytest.raises(InputError, match="double") as exc:
        read_employment_zones(path, CAEN, communes=caen_communes)
    _raises(exc, file=f"{path}/Composition_communale", row=10, field="CODGEO")


def test_employment_zones_vector_file(tmp_path: Path, caen_communes: gpd.GeoDataFrame) -> None:
    zones = gpd.GeoDataFrame(
        {"ze2020": ["2803", "2802"], "libze2020": ["Caen", "Bayeux"]},
        geometry=[caen_communes.union_all().buffer(100), _square(-0.70, 49.28, 5000)],
        crs=LAMBERT93,
    ).to_crs(WGS84)
    path = tmp_path / "ze2020.geojson"
    pyogrio.write_dataframe(zones, path, driver="GeoJSON")
    [layer] = read_employment_zones(path, CAEN, communes=caen_communes)
    assert list(layer.frame["ze_code"]) == ["2803"]
    assert layer.frame["communes"].iloc[0] == 4
    assert set(layer.frame.geom_type) == {"MultiPolygon"}
    [alone] = read_employment_zones(path, CAEN, communes=None)
    assert alone.frame["communes"].isna().all()
