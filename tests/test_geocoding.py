"""Geocoding: normalisation, the offline BAN index, the BAN reader, the Addok client.

The BAN fixture is built at test time from the real OSM extract of central Nantes
(../shared/data/france_nantes_tempus): its house numbers come from the ``associatedStreet``
relations of the French address import (the source of BANO, the BAN's ancestor), so the
street names, numbers and positions are real. Nothing derived from it is committed.
"""

from __future__ import annotations

import collections
import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import osmium
import pandas as pd
import pytest
from fixtures.addok import start_addok
from fixtures.cli import run_cli
from servicekit import free_port

from parcours.errors import DownloadError, InputError
from parcours.geo.geocoding import (
    BAN_COLUMNS,
    DEFAULT_MIN_SCORE,
    GEOCODE_COLUMNS,
    AddokClient,
    AddressIndex,
    normalise_address,
    parse_address,
)
from parcours.territories import load_sources
from parcours.territories.demo import DemoSources
from parcours.territories.manage import create_territory
from parcours.territories.readers import ReadContext, read_addresses
from parcours.territories.workspace import Workspace

NANTES_PBF = Path("france_nantes_tempus") / "nantes_subset_2014.osm.pbf"
_BANO_REP = {"b": "bis", "t": "ter", "q": "quater"}


# ------------------------------------------------------------------ normalisation, parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "12 bis av. du Gal de Gaulle 03100 Montluçon",
            "12 bis avenue du general de gaulle 03100 montlucon",
        ),
        ("3 ter, Bd Victor-Hugo", "3 ter boulevard victor hugo"),
        ("12B rue St-Exupéry", "12 b rue saint exupery"),
        ("12bis r. Pasteur", "12 bis rue pasteur"),
        ("Place de l'Église", "place de l eglise"),
        ("Place de l’Église", "place de l eglise"),
        ("1 r. Jean Jaurès 44000 NANTES CEDEX 1", "1 rue jean jaures 44000 nantes"),
        ("Chem. des Prés", "chemin des pres"),
        ("14 Allée des Châtaigniers", "14 allee des chataigniers"),
        ("rte de Vannes", "route de vannes"),
        ("5 imp. du Mal Foch", "5 impasse du marechal foch"),
        ("Fbg St-Jacques", "faubourg saint jacques"),
        ("2 Pl. du Pdt Wilson", "2 place du president wilson"),
        ("Rue du Dr Schweitzer", "rue du docteur schweitzer"),
        ("Av. du 1er Mai", "avenue du 1er mai"),
        ("Rue du Premier Mai", "rue du 1er mai"),
        ("ZI des Grandes Terres", "zi des grandes terres"),
        ("Qu. de la Fosse", "quai de la fosse"),
        ("Sq. Ste-Anne", "square sainte anne"),
        ("Rés. les Œillets", "residence les oeillets"),
    ],
)
def test_normalise_real_french_spellings(text: str, expected: str) -> None:
    assert normalise_address(text) == expected


def test_normalise_keeps_words_that_only_look_like_abbreviations() -> None:
    # "Prés" (meadows) is not "président", "Lot" stays a word only when alone as a type.
    assert normalise_address("Chemin des Prés") == "chemin des pres"
    assert normalise_address("Route du Col") == "route du col"


def test_parse_address_parts() -> None:
    parsed = parse_address("12 bis av. du Gal de Gaulle 03100 Montluçon")
    assert (parsed.housenumber, parsed.rep, parsed.postcode, parsed.city) == (
        12,
        "bis",
        "03100",
        "montlucon",
    )
    assert parsed.street == "avenue du general de gaulle"

    parsed = parse_address("3 ter, Bd Victor-Hugo")
    assert (parsed.housenumber, parsed.rep, parsed.street, parsed.postcode) == (
        3,
        "ter",
        "boulevard victor hugo",
        None,
    )
    assert parse_address("12B rue St-Exupéry").rep == "b"
    assert parse_address("12 b rue St-Exupéry").rep == "b"
    assert parse_address("12 r St-Exupéry").rep is None  # "r" is "rue"
    cedex = parse_address("1 r. Jean Jaurès 44000 NANTES CEDEX 1")
    assert (cedex.housenumber, cedex.street, cedex.postcode, cedex.city) == (
        1,
        "rue jean jaures",
        "44000",
        "nantes",
    )
    street_only = parse_address("Place de l'Église")
    assert street_only.housenumber is None and street_only.street == "place de l eglise"
    assert parse_address("12-14 rue du Moulin").housenumber == 12
    assert parse_address("12-14 rue du Moulin").street == "rue du moulin"


# --------------------------------------------------------------- the real BAN of Nantes


class _Relations(osmium.SimpleHandler):
    def __init__(self) -> None:
        super().__init__()
        self.street_of: dict[int, str] = {}

    def relation(self, r: Any) -> None:
        if r.tags.get("type") == "associatedStreet" and "name" in r.tags:
            for m in r.members:
                if m.type == "n" and m.role == "house":
                    self.street_of[m.ref] = r.tags["name"]


class _Houses(osmium.SimpleHandler):
    def __init__(self, street_of: dict[int, str]) -> None:
        super().__init__()
        self.street_of = street_of
        self.rows: list[tuple[int, str, str, str | None, float, float]] = []

    def node(self, n: Any) -> None:
        number = n.tags.get("addr:housenumber")
        street = n.tags.get("addr:street") or self.street_of.get(n.id)
        if number and street:
            postcode = n.tags.get("addr:postcode")
            self.rows.append((n.id, number, street, postcode, n.location.lon, n.location.lat))


def _ban_from_osm(pbf: Path) -> pd.DataFrame:
    relations = _Relations()
    relations.apply_file(str(pbf))
    houses = _Houses(relations.street_of)
    houses.apply_file(str(pbf))
    postcodes: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for _, _, street, postcode, _, _ in houses.rows:
        if postcode:
            postcodes[street][postcode] += 1
    records = []
    seen: set[str] = set()
    for node_id, number, street, postcode, lon, lat in houses.rows:
        match = re.match(r"^(\d+)\s*([A-Za-z]*)$", number.strip())
        if not match:
            continue
        numero, letter = match.group(1), match.group(2).lower()
        rep = _BANO_REP.get(letter, letter)
        postcode = postcode or (
            postcodes[street].most_common(1)[0][0] if postcodes[street] else "44000"
        )
        code, city = ("44020", "Bouguenais") if postcode == "44340" else ("44109", "Nantes")
        key = f"{code}|{street}|{numero}|{rep}"
        if key in seen:
            continue
        seen.add(key)
        record = dict.fromkeys(BAN_COLUMNS, "")
        record |= {
            "id": f"{code}_{node_id}",
            "numero": numero,
            "rep": rep,
            "nom_voie": street,
            "code_postal": postcode,
            "code_insee": code,
            "nom_commune": city,
            "lon": f"{lon:.7f}",
            "lat": f"{lat:.7f}",
            "type_position": "entrée",
        }
        records.append(record)
    return pd.DataFrame(records, columns=list(BAN_COLUMNS))


@pytest.fixture(scope="module")
def nantes_ban(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = _ban_from_osm(shared_data / NANTES_PBF)
    assert len(frame) > 5000
    path = tmp_path_factory.mktemp("ban") / "adresses-44.csv"
    frame.to_csv(path, sep=";", index=False)
    return path


@pytest.fixture(scope="module")
def nantes_frame(nantes_ban: Path) -> pd.DataFrame:
    return pd.read_csv(nantes_ban, sep=";", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def nantes(nantes_frame: pd.DataFrame) -> AddressIndex:
    return AddressIndex.from_frame(nantes_frame)


def _row(frame: pd.DataFrame, street: str, numero: str, rep: str = "") -> pd.Series:
    sel = frame[(frame.nom_voie == street) & (frame.numero == numero) & (frame.rep == rep)]
    assert len(sel) == 1, (street, numero, rep)
    return sel.iloc[0]


def _numbers(frame: pd.DataFrame, street: str) -> list[int]:
    return sorted({int(n) for n in frame.loc[frame.nom_voie == street, "numero"]})


@pytest.mark.parametrize(
    ("street", "spellings"),
    [
        (
            "Rue du Maréchal Joffre",
            [
                "{n} r. du Mal Joffre 44000 NANTES",
                "{n} rue du marechal jofre, Nantes",
                "{n} RUE DU MARÉCHAL JOFFRE 44000",
                "{n} r du marchal joffre 44000 nantes cedex 2",
            ],
        ),
        ("Rue Saint-Léonard", ["{n} r. St-Léonard 44000 Nantes", "{n} rue saint leonard nantes"]),
        ("Rue Kervégan", ["{n} rue kervegan 44000 nantes", "{n} Rue Kervegant, 44000 Nantes"]),
        ("Place du Pilori", ["{n} pl. du Pilori 44000 Nantes", "{n} PLACE DU PILLORI 44000"]),
        ("Rue de Strasbourg", ["{n}, r. de Strasbourg, 44000 Nantes"]),
    ],
)
def test_real_spellings_find_the_ban_address(
    nantes: AddressIndex, nantes_frame: pd.DataFrame, street: str, spellings: list[str]
) -> None:
    numbers = _numbers(nantes_frame, street)
    n = str(numbers[len(numbers) // 2])
    expected = _row(nantes_frame, street, n)
    queries = [s.format(n=n) for s in spellings]
    result = nantes.geocode(queries)
    assert list(result.columns) == list(GEOCODE_COLUMNS)
    assert result["query"].tolist() == queries
    for _, row in result.iterrows():
        assert row["status"] == "ok", row.to_dict()
        assert row["street"] == street and row["type"] == "housenumber"
        assert row["housenumber"] == n
        assert row["label"] == f"{n} {street} {expected.code_postal} Nantes"
        assert row["lon"] == pytest.approx(float(expected.lon), abs=1e-9)
        assert row["lat"] == pytest.approx(float(expected.lat), abs=1e-9)
        assert 0.75 <= row["score"] <= 1.0


def test_repetition_indices_bis_and_letters(
    nantes: AddressIndex, nantes_frame: pd.DataFrame
) -> None:
    # OSM has some streets twice, in two spellings ("Rue De Chateaubriand"): avoid them.
    spellings = nantes_frame.groupby(nantes_frame.nom_voie.map(normalise_address)).nom_voie
    unique = {s for names in spellings.unique() if len(names) == 1 for s in names}
    bis = nantes_frame[(nantes_frame.rep == "bis") & nantes_frame.nom_voie.isin(unique)].iloc[0]
    plain = nantes_frame[
        (nantes_frame.nom_voie == bis.nom_voie) & (nantes_frame.numero == bis.numero)
    ]
    queries = [
        f"{bis.numero} bis {bis.nom_voie} {bis.code_postal} Nantes",
        f"{bis.numero}B {bis.nom_voie} {bis.code_postal} Nantes",
        f"{bis.numero}bis {bis.nom_voie.lower()} {bis.code_postal}",
    ]
    result = nantes.geocode(queries)
    assert (result["housenumber"] == f"{bis.numero} bis").all(), result.to_dict("records")
    assert np.allclose(result["lon"], float(bis.lon)) and np.allclose(result["lat"], float(bis.lat))
    exact, letter, _ = result["score"].tolist()
    assert letter < exact  # "12B" for "12 bis": found, a little less sure
    if (plain.rep == "").any():
        alone = nantes.geocode([f"{bis.numero} {bis.nom_voie} {bis.code_postal} Nantes"])
        assert alone["housenumber"].iloc[0] == str(bis.numero)


def test_unknown_addresses_are_introuvable(nantes: AddressIndex) -> None:
    result = nantes.geocode(
        ["12 rue Imaginaire du Zzyzx 44000 Nantes", "", "44000", "qwertyuiop asdfgh"]
    )
    assert (result["status"] == "introuvable").all()
    assert result["lon"].isna().all() and result["label"].isna().all()
    assert (result["score"] == 0).all()


def test_number_missing_from_the_street_falls_back_to_the_street(
    nantes: AddressIndex, nantes_frame: pd.DataFrame
) -> None:
    street = "Rue de Strasbourg"
    numbers = _numbers(nantes_frame, street)
    missing = max(numbers) + 101  # same parity? make it odd, away from every number
    missing += 1 - missing % 2
    present = nantes.geocode([f"{numbers[0]} rue de Strasbourg 44000 Nantes"]).iloc[0]
    absent = nantes.geocode([f"{missing} rue de Strasbourg 44000 Nantes"]).iloc[0]
    assert absent["type"] == "street" and absent["housenumber"] is None
    assert absent["street"] == street and absent["label"].startswith("Rue de Strasbourg 44")
    assert absent["score"] < present["score"]
    # Placed at the nearest number on the same side (odd).
    odd = [n for n in numbers if n % 2 == 1]
    nearest = _row(nantes_frame, street, str(max(odd)))
    assert absent["lon"] == pytest.approx(float(nearest.lon))
    assert absent["lat"] == pytest.approx(float(nearest.lat))


def test_every_ban_label_geocodes_to_itself(
    nantes: AddressIndex, nantes_frame: pd.DataFrame
) -> None:
    sample = nantes_frame.sample(1500, random_state=3)
    labels = [
        " ".join(p for p in (r.numero, r.rep, r.nom_voie, r.code_postal, r.nom_commune) if p)
        for r in sample.itertuples()
    ]
    result = nantes.geocode(labels)
    # OSM spells a few streets twice ("rue François Albert", "Rue François Albert"): the
    # label is compared normalised, the position within 30 m.
    same = np.array(
        [
            status == "ok" and normalise_address(str(found)) == normalise_address(label)
            for status, found, label in zip(result["status"], result["label"], labels, strict=True)
        ]
    )
    assert same.mean() > 0.995, result.loc[~same].head().to_dict("records")
    dx = (result["lon"].to_numpy() - sample["lon"].astype(float).to_numpy()) * 75_000
    dy = (result["lat"].to_numpy() - sample["lat"].astype(float).to_numpy()) * 111_000
    assert (np.hypot(dx, dy)[same] < 30).mean() > 0.995


def test_low_score_is_reported_not_placed(nantes: AddressIndex) -> None:
    # Right street name, but another town: a guess, not a position.
    result = nantes.geocode(["12 bis av. du Gal de Gaulle 03100 Montluçon"]).iloc[0]
    assert result["status"] == "score_faible"
    assert "Gaulle" in result["label"] and np.isnan(result["lon"]) and np.isnan(result["lat"])
    # A min_score of 0 places it.
    loose = nantes.geocode(["12 bis av. du Gal de Gaulle 03100 Montluçon"], min_score=0.0)
    assert loose["status"].iloc[0] == "ok" and not np.isnan(loose["lon"].iloc[0])


def test_another_postcode_of_the_same_commune_is_placed(
    nantes: AddressIndex, nantes_frame: pd.DataFrame
) -> None:
    # Nantes has several postcodes and people write 44000 for all of it: still placed, a
    # little less sure; the postcode of another commune (Bouguenais) is not.
    nantes_rows = nantes_frame[nantes_frame.code_insee == "44109"]
    postcodes = nantes_rows.groupby("nom_voie").code_postal.unique()
    street = next(s for s, codes in postcodes.items() if "44000" not in codes)
    n = str(_numbers(nantes_frame, street)[0])
    expected = nantes_rows[(nantes_rows.nom_voie == street) & (nantes_rows.numero == n)].iloc[0]
    assert set(nantes_frame.loc[nantes_frame.code_insee == "44020", "code_postal"]) == {"44340"}
    exact, other_postcode, other_commune = nantes.geocode(
        [
            f"{n} {street} {expected.code_postal} Nantes",
            f"{n} {street} 44000 Nantes",
            f"{n} {street} 44340 Nantes",
        ]
    ).itertuples()
    assert exact.status == "ok" and exact.score == pytest.approx(1.0)
    assert other_postcode.status == "ok" and other_postcode.type == "housenumber"
    assert other_postcode.label == exact.label == f"{n} {street} {expected.code_postal} Nantes"
    assert other_postcode.score < exact.score
    assert other_commune.status == "score_faible" and np.isnan(other_commune.lon)
    assert other_commune.score < DEFAULT_MIN_SCORE


def test_reverse_gives_the_nearest_address(
    nantes: AddressIndex, nantes_frame: pd.DataFrame
) -> None:
    row = _row(nantes_frame, "Place du Pilori", str(_numbers(nantes_frame, "Place du Pilori")[0]))
    found = nantes.reverse(float(row.lon) + 0.00001, float(row.lat))
    assert found["street"] == "Place du Pilori" and found["housenumber"] == row.numero
    assert 0 < found["distance_m"] < 2.0


def test_index_build_needs_the_ban_columns(nantes_frame: pd.DataFrame) -> None:
    with pytest.raises(InputError) as info:
        AddressIndex.from_frame(nantes_frame.drop(columns=["lat"]))
    assert info.value.field == "lat"


# -------------------------------------------------------------------- the demo territory


@pytest.fixture(scope="module")
def demo_workspace(
    demo_sources: DemoSources, tmp_path_factory: pytest.TempPathFactory
) -> Workspace:
    workspace = Workspace(tmp_path_factory.mktemp("home"))
    create_territory(
        workspace,
        "demo",
        communes=",".join(demo_sources.communes),
        communes_file=demo_sources.files["communes"][0],
    )
    files = {
        "communes": demo_sources.files["communes"],
        "addresses": demo_sources.files["addresses"],
    }
    load_sources(workspace, "demo", files)
    return workspace


def test_demo_ban_file_has_the_ban_format(demo_sources: DemoSources) -> None:
    path = demo_sources.files["addresses"][0]
    assert path.name == "adresses-03.csv"
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ";".join(BAN_COLUMNS)
    frame = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)
    assert 2000 < len(frame) < 10_000
    assert not frame["id"].duplicated().any()
    assert set(frame["rep"]) == {"", "bis", "ter"}
    assert frame["code_insee"].str.match(r"^039[56]\d$").all()
    # Odd numbers on one side, even on the other: same street, same pair, both sides.
    street = frame[frame.nom_voie == "Rue Pasteur"]
    assert {int(n) % 2 for n in street.numero} == {0, 1}
    # x/y are Lambert-93 of lon/lat.
    from pyproj import Transformer

    to_l93 = Transformer.from_crs(4326, 2154, always_xy=True)
    x, y = to_l93.transform(frame["lon"].astype(float), frame["lat"].astype(float))
    assert np.allclose(x, frame["x"].astype(float), atol=0.2)
    assert np.allclose(y, frame["y"].astype(float), atol=0.2)


def test_demo_addresses_load_as_a_layer(demo_workspace: Workspace) -> None:
    territory = demo_workspace.open("demo")
    layer = territory.layer("addresses")
    assert territory.crs.to_epsg() == 2154 and layer.crs.to_epsg() == 2154
    expected = ["address_id", "housenumber", "rep", "street", "postcode", "citycode", "city"]
    assert list(layer.columns[:7]) == expected
    assert "label" in layer.columns and layer["housenumber"].dtype == "int64"
    assert len(layer) > 2000
    assert (layer.geometry.geom_type == "Point").all()
    assert set(layer["rep"].dropna()) == {"bis", "ter"}


def test_geocoding_a_demo_address_returns_its_point(
    demo_workspace: Workspace, demo_sources: DemoSources
) -> None:
    frame = pd.read_csv(
        demo_sources.files["addresses"][0], sep=";", dtype=str, keep_default_na=False
    )
    index = AddressIndex.from_frame(frame)
    layer = demo_workspace.open("demo").layer("addresses").to_crs(4326)
    target = layer[(layer.street == "Rue Pasteur") & (layer.rep.isna())].iloc[3]
    query = f"{target.housenumber} r. Pasteur {target.postcode} MONTCLERVAL"
    result = index.geocode([query]).iloc[0]
    assert result["status"] == "ok" and result["type"] == "housenumber"
    assert result["label"] == target.label
    assert result["lon"] == pytest.approx(target.geometry.x, abs=1e-6)
    assert result["lat"] == pytest.approx(target.geometry.y, abs=1e-6)


def test_ambiguous_street_without_commune_scores_lower(demo_sources: DemoSources) -> None:
    frame = pd.read_csv(
        demo_sources.files["addresses"][0], sep=";", dtype=str, keep_default_na=False
    )
    index = AddressIndex.from_frame(frame)
    small = frame[frame.nom_voie == "Grande Rue"]
    assert small["code_insee"].nunique() > 3  # every village has its Grande Rue
    one = small.iloc[0]
    with_place, without = index.geocode(
        [f"{one.numero} Grande Rue {one.code_postal} {one.nom_commune}", f"{one.numero} Grande Rue"]
    ).itertuples()
    assert with_place.status == "ok" and with_place.city == one.nom_commune
    assert without.score < with_place.score
    assert without.status == "score_faible" and np.isnan(without.lon)


@pytest.fixture(scope="module")
def demo_frame(demo_sources: DemoSources) -> pd.DataFrame:
    return pd.read_csv(
        demo_sources.files["addresses"][0], sep=";", dtype=str, keep_default_na=False
    )


@pytest.fixture(scope="module")
def demo_index(demo_frame: pd.DataFrame) -> AddressIndex:
    return AddressIndex.from_frame(demo_frame)


def test_postcode_or_commune_contradicting_the_match_is_not_placed(
    demo_index: AddressIndex, demo_frame: pd.DataFrame
) -> None:
    # "Rue de la Halle" is in Montclerval (03970) only; Pontreval is 03979; Combelonge and
    # Orbazac share 03975 and, of the two, only Combelonge has a "Rue du Lavoir".
    halle = demo_frame[demo_frame.nom_voie == "Rue de la Halle"]
    assert set(halle.nom_commune) == {"Montclerval"} and set(halle.code_postal) == {"03970"}
    lavoir = demo_frame[demo_frame.nom_voie == "Rue du Lavoir"]
    assert set(lavoir.loc[lavoir.code_postal == "03975", "nom_commune"]) == {"Combelonge"}
    assert "Orbazac" in set(demo_frame.loc[demo_frame.code_postal == "03975", "nom_commune"])
    lavoir_n = lavoir.loc[lavoir.nom_commune == "Combelonge", "numero"].iloc[0]
    elsewhere = [
        "33 Rue de la Halle 03100 Montluçon",  # postcode and commune unknown to the index
        "33 Rue de la Halle 03100",  # postcode unknown
        "33 Rue de la Halle 03100 Montclerval",  # a homonym elsewhere in France
        "33 Rue de la Halle 03979 Montclerval",  # the postcode of another commune
        "33 Rue de la Halle 03970 Pontreval",  # right postcode, another commune
        "33 Rue de la Halle Pontreval",  # another commune, no postcode
        f"{lavoir_n} Rue du Lavoir 03975 Orbazac",  # a shared postcode, another commune
    ]
    result = demo_index.geocode(elsewhere)
    assert (result["status"] == "score_faible").all(), result.to_dict("records")
    assert (result["score"] < DEFAULT_MIN_SCORE).all()
    assert result["lon"].isna().all() and result["lat"].isna().all()
    # The guess is still reported, for the advisor to check.
    assert result["label"].tolist()[:-1] == ["33 Rue de la Halle 03970 Montclerval"] * 6
    assert result["street"].iloc[-1] == "Rue du Lavoir" and result["city"].iloc[-1] != "Orbazac"
    assert (result["type"] == "housenumber").all()
    assert (demo_index.geocode(elsewhere, min_score=0.0)["status"] == "ok").all()

    placed = demo_index.geocode(
        [
            "33 Rue de la Halle 03970 Montclerval",
            "33 r. de la Halle 03970 MONTCLERVAL CEDEX",
            "33 Rue de la Halle 03970 Montclerval-le-Vieux",  # a name the index does not know
            "33 Rue de la Halle",  # no place named: as before
            f"{lavoir_n} Rue du Lavoir 03975 Combelonge",
        ]
    )
    assert (placed["status"] == "ok").all(), placed.to_dict("records")
    assert placed["label"].tolist()[:4] == ["33 Rue de la Halle 03970 Montclerval"] * 4
    exact, cedex, unknown_name, no_place, _ = placed["score"].tolist()
    assert exact == cedex == pytest.approx(1.0)
    assert DEFAULT_MIN_SCORE <= unknown_name < exact and DEFAULT_MIN_SCORE <= no_place < exact


def test_repetition_index_absent_from_the_street_scores_lower(
    demo_index: AddressIndex, demo_frame: pd.DataFrame
) -> None:
    halle = demo_frame[demo_frame.nom_voie == "Rue de la Halle"]
    reps = set(zip(halle.numero, halle.rep, strict=True))
    assert ("33", "") in reps and not {("33", r) for r in ("bis", "ter")} & reps
    assert {("28", ""), ("28", "bis"), ("61", "bis"), ("61", "ter")} <= reps
    assert ("28", "ter") not in reps
    result = demo_index.geocode(
        [
            "33 Rue de la Halle 03970 Montclerval",
            "33bis Rue de la Halle 03970 Montclerval",
            "33 B Rue de la Halle 03970 Montclerval",
            "28 ter Rue de la Halle 03970 Montclerval",
            "28 bis Rue de la Halle 03970 Montclerval",
            "61 ter Rue de la Halle 03970 Montclerval",
            "999 Rue de la Halle 03970 Montclerval",  # a number the street does not have
        ]
    )
    plain, bis, b, ter28, bis28, ter61, missing = result.itertuples()
    # The index asked for is not there: the plain number, its own label, a lower score.
    for row, n in ((bis, "33"), (b, "33"), (ter28, "28")):
        assert row.status == "ok" and row.type == "housenumber", row
        assert row.housenumber == n and row.label == f"{n} Rue de la Halle 03970 Montclerval"
        assert row.score < 0.9 and row.score == pytest.approx(missing.score)
    assert (bis.lon, bis.lat) == (plain.lon, plain.lat)
    assert missing.type == "street" and missing.housenumber is None
    # The exact number and index exist: exact.
    assert plain.score == bis28.score == ter61.score == pytest.approx(1.0)
    assert bis28.housenumber == "28 bis" and ter61.housenumber == "61 ter"
    assert bis28.label == "28 bis Rue de la Halle 03970 Montclerval"


@pytest.mark.parametrize("with_commune", [True, False])
def test_index_geocodes_ten_thousand_queries(demo_sources: DemoSources, with_commune: bool) -> None:
    """10,000 abbreviated queries: each address placed is the one asked for, at its BAN
    position. A postcode alone that several villages share, each with its Grande Rue
    ("8 Grande Rue 03975"), is score_faible (ask for the commune), never another
    village's number 8 placed 15 km away."""
    frame = pd.read_csv(
        demo_sources.files["addresses"][0], sep=";", dtype=str, keep_default_na=False
    )
    index = AddressIndex.from_frame(frame)
    sample = frame.sample(10_000, replace=True, random_state=1)
    queries = [
        f"{r.numero}{r.rep} {r.nom_voie.replace('Rue', 'r.')} {r.code_postal}"
        + (f" {r.nom_commune}" if with_commune else "")
        for r in sample.itertuples()
    ]
    result = index.geocode(queries)
    assert len(result) == 10_000
    placed = (result["status"] == "ok").to_numpy()
    assert placed.mean() > (0.98 if with_commune else 0.9)
    asked = sample[placed]
    number = (asked["numero"] + " " + asked["rep"]).str.strip()
    assert (result.loc[placed, "housenumber"].to_numpy() == number.to_numpy()).all()
    assert (result.loc[placed, "citycode"].to_numpy() == asked["code_insee"].to_numpy()).all()
    assert np.allclose(result.loc[placed, "lon"], asked["lon"].astype(float), atol=1e-7)
    assert np.allclose(result.loc[placed, "lat"], asked["lat"].astype(float), atol=1e-7)
    if not with_commune:
        unplaced = result[~placed]
        assert set(unplaced["status"]) == {"score_faible"}
        assert unplaced["query"].str.contains(" 0397[5-9]$").all()  # shared postcodes


# --------------------------------------------------------------------- the reader's errors


def _ctx(demo_workspace: Workspace) -> ReadContext:
    from parcours.territories.load import read_context

    return read_context(demo_workspace.open("demo"))


def _lines(demo_sources: DemoSources) -> list[str]:
    return demo_sources.files["addresses"][0].read_text(encoding="utf-8").splitlines()


def test_reader_reads_gzip_like_csv(
    demo_sources: DemoSources, demo_workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "adresses-03.csv.gz"
    path.write_bytes(gzip.compress(demo_sources.files["addresses"][0].read_bytes()))
    plain = read_addresses(demo_sources.files["addresses"][0], _ctx(demo_workspace))[0].frame
    zipped = read_addresses(path, _ctx(demo_workspace))[0].frame
    assert len(zipped) == len(plain) > 0
    assert zipped["label"].tolist() == plain["label"].tolist()


def test_reader_missing_column(
    demo_sources: DemoSources, demo_workspace: Workspace, tmp_path: Path
) -> None:
    frame = pd.read_csv(
        demo_sources.files["addresses"][0], sep=";", dtype=str, keep_default_na=False
    )
    path = tmp_path / "adresses.csv"
    frame.drop(columns=["nom_voie"]).to_csv(path, sep=";", index=False)
    with pytest.raises(InputError) as info:
        read_addresses(path, _ctx(demo_workspace))
    assert (info.value.file, info.value.row, info.value.field) == (str(path), 1, "nom_voie")


def test_reader_bad_coordinate_names_its_line(
    demo_sources: DemoSources, demo_workspace: Workspace, tmp_path: Path
) -> None:
    lines = _lines(demo_sources)
    header = lines[0].split(";")
    cells = lines[41].split(";")
    cells[header.index("lon")] = "2,97x"
    lines[41] = ";".join(cells)
    path = tmp_path / "adresses.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_addresses(path, _ctx(demo_workspace))
    assert (info.value.file, info.value.row, info.value.field) == (str(path), 42, "lon")
    assert "2,97x" in str(info.value)


def test_reader_wrong_separator(
    demo_sources: DemoSources, demo_workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "adresses.csv"
    text = "\n".join(line.replace(";", " ") for line in _lines(demo_sources)[:50])
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_addresses(path, _ctx(demo_workspace))
    assert info.value.row == 1 and "(;)" in str(info.value)


@pytest.mark.slow  # parcours as a process
def test_cli_bad_addresses_exit_2_and_write_nothing(
    demo_sources: DemoSources, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    bbox = ",".join(str(v) for v in demo_sources.bbox_wgs84)
    assert run_cli("territory", "create", "t", "--bbox", bbox, home=home).returncode == 0
    good = demo_sources.files["addresses"][0]
    loaded = run_cli("territory", "load", "t", "--addresses", str(good), home=home)
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout)["layers"]["addresses"] > 2000
    before = (home / "t" / "manifest.json").read_bytes()

    lines = _lines(demo_sources)
    header = lines[0].split(";")
    cells = lines[9].split(";")
    cells[header.index("lat")] = "quarante-six"
    lines[9] = ";".join(cells)
    broken = tmp_path / "adresses-03.csv"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli("territory", "load", "t", "--addresses", str(broken), home=home)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    for needle in ("adresses-03.csv", "ligne 10", "lat", "quarante-six"):
        assert needle in result.stderr, (needle, result.stderr)
    assert (home / "t" / "manifest.json").read_bytes() == before


# -------------------------------------------------------------- an Addok server, for real


@pytest.fixture(scope="module")
def addok(nantes_frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Addok (redis, addok-fr, addok-france, addok-csv) indexing the Nantes BAN file."""
    yield from start_addok(nantes_frame, tmp_path_factory.mktemp("addok"))


def test_addok_search_and_reverse(addok: str, nantes_frame: pd.DataFrame) -> None:
    expected = _row(nantes_frame, "Place du Pilori", "4")
    with AddokClient(addok) as client:
        found = client.search("4 pl. du Pilori 44000 Nantes", limit=3)
        assert found and found[0]["street"] == "Place du Pilori"
        assert found[0]["type"] == "housenumber" and found[0]["housenumber"] == "4"
        assert found[0]["lon"] == pytest.approx(float(expected.lon))
        assert found[0]["lat"] == pytest.approx(float(expected.lat))
        assert client.search("4 place du Pilori", citycode="44020") == []  # not in Bouguenais
        assert client.search("zzzz qwerty") == []
        near = client.reverse(float(expected.lon), float(expected.lat))
        assert near is not None and near["label"] == "4 Place du Pilori 44000 Nantes"


def test_addok_batch_is_one_post_and_places_what_the_offline_index_places(
    addok: str, nantes: AddressIndex, nantes_frame: pd.DataFrame
) -> None:
    """Two independent geocoders: where both place an address, at the same BAN point."""
    queries = [
        "4 pl. du Pilori 44000 Nantes",
        "12 rue Imaginaire du Zzyzx 44000 Nantes",
        '10 rue de la Juiverie, "44000" NANTES CEDEX 1',  # a quoted comma in the batch
        "12 bis av. du Gal de Gaulle 03100 Montluçon",
        "rue kervegan",
    ]
    calls: list[str] = []
    record = lambda request: calls.append(f"{request.method} {request.url.path}")  # noqa: E731
    with httpx.Client(timeout=30, event_hooks={"request": [record]}) as http:
        remote = AddokClient(addok, client=http).geocode(queries)
    assert calls == ["POST /search/csv/"]
    assert list(remote.columns) == list(GEOCODE_COLUMNS)
    assert remote["query"].tolist() == queries
    # the made-up street and the address of another département are not placed
    assert remote["status"].tolist() == ["ok", "score_faible", "ok", "introuvable", "ok"]
    assert remote.loc[~(remote["status"] == "ok"), "lon"].isna().all()
    local = nantes.geocode(queries)
    both = (remote["status"] == "ok") & (local["status"] == "ok")
    assert both.sum() == 3
    assert remote.loc[both, "label"].tolist() == local.loc[both, "label"].tolist()
    assert np.allclose(remote.loc[both, ["lon", "lat"]], local.loc[both, ["lon", "lat"]])
    pilori = _row(nantes_frame, "Place du Pilori", "4")
    assert remote.loc[0, "lon"] == pytest.approx(float(pilori.lon))
    assert remote.loc[0, "citycode"] == "44109"


def test_addok_down_or_failing_is_a_clear_error(addok: str) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    with AddokClient(down, timeout_s=2.0) as client, pytest.raises(DownloadError) as info:
        client.geocode(["4 place du Pilori 44000 Nantes"])
    assert f"{down}/search/csv/" in str(info.value)
    assert info.value.code == "geocoder.unreachable"
    assert isinstance(info.value, ConnectionError)

    with AddokClient(f"{addok}/broken") as client:  # not Addok's root: its 404s
        with pytest.raises(DownloadError) as info:
            client.search("4 place du Pilori")
        assert "HTTP 404" in str(info.value) and f"{addok}/broken/search/" in str(info.value)
        with pytest.raises(DownloadError) as info:
            client.geocode(["4 place du Pilori"])
        assert info.value.code == "geocoder.http_error"
        assert info.value.params["status"] == 404
