"""INSEE MOBPRO: the reader, its errors, loading, the demo file and the modal shares.

The fixture ``tests/data/FD_MOBPRO_2020.csv`` holds 40 records in INSEE's layout (33
columns, ``;``, Latin-1): residents of Nantes (44109, 300 weighted workers), Rezé (44143,
150), Saint-Herblain (44162, 120) and Carquefou (44035, 250), commuters from Saint-Nazaire
(44184, 12) and Saint-Sébastien-sur-Loire (44190, 8) into the territory, one Nantes worker
abroad (99127, 5), and three records wholly outside (44184 -> 44184, 35238 -> 35238,
85191 -> 85191) which the reader drops. One weight uses a decimal comma (``17,5``).
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS

from parcours.diagnostic import modal_shares
from parcours.diagnostic.commuting import MODAL_SHARE_COLUMNS, TERRITORY
from parcours.diagnostic.secrecy import MOBPRO_MIN_WORKERS
from parcours.errors import CsvFormatError, InputError
from parcours.i18n import language
from parcours.territories import SOURCE_KINDS, load_sources
from parcours.territories.demo import DemoSources
from parcours.territories.download.catalogue import (
    _NOT_IN_ALL,
    SOURCE_KINDS_BY_NAME,
    SOURCE_NAMES,
    SourceUrls,
)
from parcours.territories.load import territory_communes
from parcours.territories.readers import ReadContext, read_mobpro
from parcours.territories.readers.mobpro import (
    COMMUTING_COLUMNS,
    arrondissement_commune,
    mobpro_edition,
)
from parcours.territories.workspace import Workspace

FIXTURE = Path(__file__).parent / "data" / "FD_MOBPRO_2020.csv"
COMMUNES = ["44109", "44143", "44162", "44035"]
LAMBERT93 = CRS.from_epsg(2154)
CTX = ReadContext(crs=LAMBERT93, area=shapely.box(300_000, 6_680_000, 380_000, 6_720_000))


def _lines() -> list[str]:
    return FIXTURE.read_bytes().decode("latin-1").splitlines()


def _write(path: Path, lines: list[str], encoding: str = "latin-1") -> Path:
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def _set(lines: list[str], line: int, column: str, value: str) -> list[str]:
    """Change one value: ``line`` as an editor numbers it (the header is line 1)."""
    header = lines[0].split(";")
    out = list(lines)
    values = out[line - 1].split(";")
    values[header.index(column)] = value
    out[line - 1] = ";".join(values)
    return out


def _read(path: Path, **kwargs: object) -> pd.DataFrame:
    [layer] = read_mobpro(path, CTX, communes=COMMUNES, **kwargs)  # type: ignore[arg-type]
    return layer.frame


# --------------------------------------------------------------------------- reader


def test_reader_keeps_the_territory_rows_and_their_weights() -> None:
    [layer] = read_mobpro(FIXTURE, CTX, communes=COMMUNES, chunk_rows=7)
    frame = layer.frame
    assert layer.name == "commuting"
    assert list(frame.columns) == [*COMMUTING_COLUMNS, "ilt", "agerevq", "sexe", "voit"]
    assert len(frame) == 37  # 40 records, 3 neither living nor working in the territory
    assert frame["weight"].sum() == pytest.approx(840.0)  # 820 residents + 12 + 8 inbound
    assert frame.groupby("commune")["weight"].sum().to_dict() == pytest.approx(
        {"44109": 300.0, "44143": 150.0, "44162": 120.0, "44035": 250.0, "44184": 12.0,
         "44190": 8.0}
    )  # fmt: skip
    assert frame["weight"].dtype == np.float64 and frame["trans"].dtype == np.int8
    assert frame["arm"].isna().all()  # ARM = ZZZZZ outside Paris, Lyon, Marseille
    assert frame["abroad"].sum() == 1
    assert frame.loc[frame["abroad"], "work_place"].tolist() == ["99127"]
    assert set(frame["mode"]) == {"none", "walk", "bike", "two_wheeler", "car", "transit"}
    assert layer.extra["rows_in_file"] == 40 and layer.extra["rows_kept"] == 37
    assert layer.extra["edition"] == 2020 and layer.extra["encoding"] == "latin-1"
    assert layer.extra["workers_resident"] == pytest.approx(820.0)
    assert layer.warnings == []
    # The same result whatever the chunk size.
    pd.testing.assert_frame_equal(frame, _read(FIXTURE))


def test_reader_latin1_utf8_bom_and_zip(tmp_path: Path) -> None:
    # A Latin-1 file with accents in an extra column (a spreadsheet's label), ignored.
    header, *rows = _lines()
    lines = [header + ";LIBCOM"] + [r + ";Rezé" for r in rows]
    latin = _read(_write(tmp_path / "FD_MOBPRO_2020.csv", lines))
    assert len(latin) == 37
    utf8 = tmp_path / "bom" / "FD_MOBPRO_2020.csv"
    utf8.parent.mkdir()
    utf8.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode("utf-8") + b"\n")
    [layer] = read_mobpro(utf8, CTX, communes=COMMUNES)
    assert layer.extra["encoding"] == "utf-8-sig"
    pd.testing.assert_frame_equal(layer.frame, latin)
    archive = tmp_path / "RP2020_mobpro_csv.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(FIXTURE, "FD_MOBPRO_2020.csv")
        zf.writestr("Varmod_MOBPRO_2020.csv", "COD_VAR;LIB_VAR\n")
    pd.testing.assert_frame_equal(_read(archive), _read(FIXTURE))


def test_arrondissements_and_editions() -> None:
    codes = pd.Series(["75108", "69381", "13216", "44109", "99127"])
    assert arrondissement_commune(codes).tolist() == ["75056", "69123", "13055", "44109", "99127"]
    assert mobpro_edition("RP2020_mobpro_csv.zip/FD_MOBPRO_2020.csv") == 2020
    assert mobpro_edition("navettes.csv") is None


def test_paris_arrondissement_residents(tmp_path: Path) -> None:
    lines = _set(_set(_lines(), 2, "COMMUNE", "75056"), 2, "ARM", "75111")
    lines = _set(lines, 2, "DCLT", "75108")
    [layer] = read_mobpro(_write(tmp_path / "FD_MOBPRO_2020.csv", lines), CTX, communes=["75111"])
    row = layer.frame.iloc[0]
    assert (row["commune"], row["arm"], row["work_commune"], row["work_place"]) == (
        "75056", "75111", "75056", "75108"
    )  # fmt: skip
    shares = modal_shares(layer.frame, ["75111"], min_workers=0)
    assert shares.loc[0, "share_work_outside"] == 1.0  # another arrondissement
    assert shares.loc[0, "share_work_outside_territory"] == 1.0


# --------------------------------------------------------------------------- reader errors


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("TRANS", "7", "code TRANS inconnu « 7 »"),
        ("TRANS", "", "valeur vide"),
        ("IPONDI", "-1.5", "inférieure au minimum"),
        ("IPONDI", "1.2.3", "nombre attendu, trouvé « 1.2.3 »"),
        ("IPONDI", "", "valeur vide"),
        ("COMMUNE", "4410", "code INSEE invalide « 4410 »"),
        ("DCLT", "44A09", "code INSEE invalide « 44A09 »"),
        ("ARM", "7511", "code INSEE invalide « 7511 »"),
    ],
)
def test_bad_values_name_file_line_and_field(
    tmp_path: Path, column: str, value: str, words: str
) -> None:
    path = _write(tmp_path / "FD_MOBPRO_2020.csv", _set(_lines(), 12, column, value))
    with pytest.raises(InputError) as error:
        read_mobpro(path, CTX, communes=COMMUNES, chunk_rows=5)
    assert (error.value.file, error.value.row, error.value.field) == (str(path), 12, column)
    assert words in str(error.value)
    assert str(path) in str(error.value) and "ligne 12" in str(error.value)


def test_bad_value_in_a_row_outside_the_territory_is_not_read(tmp_path: Path) -> None:
    # Line 39 is 35238 -> 35238 (Rennes): dropped before any check.
    path = _write(tmp_path / "FD_MOBPRO_2020.csv", _set(_lines(), 39, "TRANS", "9"))
    assert _lines()[38].startswith("35238;")
    assert len(_read(path)) == 37


def test_error_messages_in_english(tmp_path: Path) -> None:
    path = _write(tmp_path / "FD_MOBPRO_2020.csv", _set(_lines(), 5, "TRANS", "0"))
    with pytest.raises(InputError) as error:
        _read(path)
    with language("en"):
        text = str(error.value)
    assert "line 5" in text and "field 'TRANS'" in text and "unknown TRANS code '0'" in text


def test_missing_column(tmp_path: Path) -> None:
    names = _lines()[0].split(";")
    at = names.index("IPONDI")
    lines = [";".join(v for i, v in enumerate(line.split(";")) if i != at) for line in _lines()]
    path = _write(tmp_path / "FD_MOBPRO_2020.csv", lines)
    with pytest.raises(InputError) as error:
        _read(path)
    assert (error.value.file, error.value.row, error.value.field) == (str(path), 1, "IPONDI")
    assert "colonne absente" in str(error.value) and "TRANS" in str(error.value)


def test_wrong_separator(tmp_path: Path) -> None:
    lines = [line.replace(";", ",") for line in _lines()]
    path = _write(tmp_path / "FD_MOBPRO_2020.csv", lines)
    with pytest.raises(CsvFormatError) as error:
        _read(path)
    assert (error.value.file, error.value.row) == (str(path), 1)
    assert "séparateur « ; » attendu" in str(error.value) and "« , »" in str(error.value)


def test_old_edition_is_refused_unknown_one_warned(tmp_path: Path) -> None:
    old = tmp_path / "FD_MOBPRO_2018.csv"
    old.write_bytes(FIXTURE.read_bytes())
    with pytest.raises(InputError) as error:
        _read(old)
    assert error.value.field == "TRANS" and "édition 2018" in str(error.value)
    renamed = tmp_path / "navettes.csv"
    renamed.write_bytes(FIXTURE.read_bytes())
    [layer] = read_mobpro(renamed, CTX, communes=COMMUNES)
    assert len(layer.frame) == 37 and "édition inconnue" in layer.warnings[0]
    [layer] = read_mobpro(renamed, CTX, communes=COMMUNES, edition=2021)
    assert layer.warnings == [] and layer.extra["edition"] == 2021


def test_no_row_kept_and_other_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="aucun actif"):
        read_mobpro(FIXTURE, CTX, communes=["03950"])
    with pytest.raises(InputError, match="introuvable"):
        read_mobpro(tmp_path / "FD_MOBPRO_2020.csv", CTX, communes=COMMUNES)
    empty = tmp_path / "FD_MOBPRO_2021.csv"
    empty.write_bytes(b"")
    with pytest.raises(CsvFormatError, match="vide"):
        read_mobpro(empty, CTX, communes=COMMUNES)
    archive = tmp_path / "autre.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("lisezmoi.txt", "rien")
    with pytest.raises(InputError, match="FD_MOBPRO"):
        read_mobpro(archive, CTX, communes=COMMUNES)


# --------------------------------------------------------------------------- modal shares


def test_modal_shares_by_hand() -> None:
    shares = modal_shares(_read(FIXTURE), COMMUNES, min_workers=100)
    assert list(shares.columns) == list(MODAL_SHARE_COLUMNS)
    assert shares["level"].tolist() == ["commune"] * 4 + [TERRITORY]
    assert shares["commune"].tolist()[:4] == COMMUNES and pd.isna(shares["commune"].iloc[4])
    by = shares.set_index(shares["commune"].fillna(TERRITORY))
    expected = {
        # workers, none, walk, bike, two-wheeler, car, transit, outside commune, territory
        "44109": (300, 10, 40, 30, 15, 115, 90, 125, 20),
        "44143": (150, 5, 20, 15, 0, 70, 40, 125, 25),
        "44162": (120, 0, 10, 0, 15, 70, 25, 80, 0),
        "44035": (250, 10, 0, 20, 0, 180, 40, 160, 20),
        TERRITORY: (820, 25, 70, 65, 30, 435, 195, 490, 65),
    }
    columns = [c for c in MODAL_SHARE_COLUMNS if c.startswith("share_")]
    for code, (workers, *counts) in expected.items():
        row = by.loc[code]
        assert row["workers"] == pytest.approx(workers)
        for column, count in zip(columns, counts, strict=True):
            assert row[column] == pytest.approx(count / workers, abs=1e-12), (code, column)
        assert sum(row[c] for c in columns[:6]) == pytest.approx(1.0)
        assert not row["fragile"]


def test_modal_shares_fragile_under_200_workers() -> None:
    assert MOBPRO_MIN_WORKERS == 200
    shares = modal_shares(_read(FIXTURE), [*COMMUNES, "44026"])
    by = shares.set_index(shares["commune"].fillna(TERRITORY))
    # Rezé (150) and Saint-Herblain (120) are under 200; 44026 has nobody.
    assert by["fragile"].to_dict() == {
        "44109": False, "44143": True, "44162": True, "44035": False, "44026": True,
        TERRITORY: False,
    }  # fmt: skip
    share_columns = [c for c in MODAL_SHARE_COLUMNS if c.startswith("share_")]
    assert by.loc[["44143", "44162", "44026"], share_columns].isna().all().all()
    assert by.loc[["44143", "44162", "44026"], "workers"].tolist() == [150.0, 120.0, 0.0]
    # The territory row still counts every resident, fragile communes included.
    assert by.loc[TERRITORY, "workers"] == pytest.approx(820.0)
    assert by.loc[TERRITORY, "share_car"] == pytest.approx(435 / 820)
    assert by.loc["44109", "share_transit"] == pytest.approx(90 / 300)


def test_modal_shares_refuses_a_bad_table() -> None:
    frame = _read(FIXTURE)
    with pytest.raises(InputError) as error:
        modal_shares(frame.drop(columns=["weight"]), COMMUNES)
    assert error.value.field == "weight"
    frame.loc[0, "mode"] = "plane"
    with pytest.raises(InputError, match="plane"):
        modal_shares(frame, COMMUNES)


# --------------------------------------------------------------------------- loading


def _territory(tmp_path: Path, definition: dict[str, object]) -> Workspace:
    workspace = Workspace(tmp_path / "home")
    perimeter = gpd.GeoDataFrame(
        geometry=[shapely.box(340_000, 6_680_000, 370_000, 6_700_000)], crs=LAMBERT93
    )
    workspace.create("nantes", perimeter, crs=LAMBERT93, buffer_m=500.0, definition=definition)
    return workspace


def test_load_through_the_territory_loader(tmp_path: Path) -> None:
    assert "mobpro" in SOURCE_KINDS
    workspace = _territory(tmp_path, {"communes": COMMUNES, "communes_source": "test"})
    report = load_sources(workspace, "nantes", {"mobpro": [FIXTURE]})
    assert report.layers == {"commuting": 37}
    territory = workspace.open("nantes")
    layer = territory.layer("commuting")
    assert isinstance(layer, pd.DataFrame) and not isinstance(layer, gpd.GeoDataFrame)
    assert layer["weight"].sum() == pytest.approx(840.0)
    entry = territory.manifest["layers"]["commuting"]
    assert entry["summary"]["rows_kept"] == 37 and entry["summary"]["edition"] == 2020
    shares = modal_shares(layer, COMMUNES)
    assert shares["workers"].iloc[-1] == pytest.approx(820.0)


def test_load_needs_the_communes(tmp_path: Path) -> None:
    workspace = _territory(tmp_path, {"bbox": [-1.7, 47.1, -1.4, 47.3]})
    with pytest.raises(InputError) as error:
        load_sources(workspace, "nantes", {"mobpro": [FIXTURE]})
    assert error.value.field == "communes_file" and "communes" in str(error.value)
    # A communes layer: the communes whose inner point is in the perimeter.
    inside = shapely.box(341_000, 6_681_000, 349_000, 6_689_000)
    buffer_only = shapely.box(369_800, 6_681_000, 380_000, 6_689_000)
    communes = gpd.GeoDataFrame(
        {"insee": ["44109", "44184"]}, geometry=[inside, buffer_only], crs=LAMBERT93
    )
    assert territory_communes(workspace.open("nantes"), communes) == ["44109"]


def test_catalogue_knows_mobpro_but_all_leaves_it_out() -> None:
    assert "mobpro" in SOURCE_NAMES and "mobpro" in _NOT_IN_ALL
    assert SOURCE_KINDS_BY_NAME["mobpro"] == "mobpro"
    assert SourceUrls().mobpro.endswith("/7637844/RP2020_mobpro_csv.zip")


# --------------------------------------------------------------------------- demo


def test_demo_writes_a_mobpro_file_that_loads(demo_sources: DemoSources) -> None:
    demo = demo_sources
    [path] = demo.files["mobpro"]
    assert path.name == "FD_MOBPRO_2020.csv"
    [layer] = read_mobpro(path, CTX, communes=demo.communes)
    frame = layer.frame
    assert set(frame["commune"]) >= set(demo.communes)
    resident = frame[frame["commune"].isin(demo.communes)]
    # About 0.42 employed residents per inhabitant of the agglomeration (~44,000).
    assert 15_000 < resident["weight"].sum() < 22_000
    shares = modal_shares(frame, demo.communes)
    total = shares.iloc[-1]
    assert not total["fragile"] and 0.6 < total["share_car"] < 0.85
    assert shares["fragile"].any()  # the smallest villages
    modes = [c for c in MODAL_SHARE_COLUMNS if c.startswith("share_")][:6]
    assert math.isclose(sum(total[c] for c in modes), 1.0)
