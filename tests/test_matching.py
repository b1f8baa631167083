"""The advisor workflow on the demo territory: scenarios with answers worked out by hand.

The demo (a FICTIONAL agglomeration, see parcours.territories.demo) has a logistics zone
whose warehouse works 05:00-13:00 / 13:00-21:00 while its bus runs from 07:00: the first
bus reaching it arrives at 07:30. Its on-demand transport runs 06:00-20:00 (catalogue).
The dates are in March 2026 (sunrise about 07:10 in Montclerval).
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from parcours.accessibility import TransportNetwork, latest_departure_matrix, pair_times
from parcours.cli import app
from parcours.errors import InputError
from parcours.matching import (
    MODES,
    committee_table,
    load_caseload,
    match,
    read_catalogue,
    read_person_file,
    store_catalogue,
)
from parcours.matching.profile import person_from_mapping
from parcours.matching.schedule import parse_schedule
from parcours.territories import Workspace

CATALOGUE = Path(__file__).parents[1] / "parcours" / "matching" / "data" / "demo_catalogue.yaml"
WEEK = dt.date(2026, 3, 9)
HOME = {"lon": 2.9990, "lat": 46.5040}  # Montclerval, near the town centre
WAREHOUSE = {"nom": "Entrepôt", "lon": 3.07352, "lat": 46.48161}


@pytest.fixture(scope="module")
def matching_demo(demo_loaded: tuple[Workspace, Any]) -> tuple[Workspace, TransportNetwork, Any]:
    workspace, sources = demo_loaded
    store_catalogue(workspace, "demo", CATALOGUE)
    return workspace, TransportNetwork(workspace.open("demo")), sources


def _person(**profile: Any) -> Any:
    base: dict[str, Any] = {
        "age": 34,
        "statut": "demandeur_emploi",
        "inscrit_depuis_mois": 8,
        "permis": "aucun",
        "voiture": False,
        "deux_roues": False,
        "velo": {"sait_rouler": True, "possede": True, "electrique": False, "roule_de_nuit": False},
        "transports_seul": True,
        "fauteuil_roulant": False,
        "marche_max_min": 15,
        "budget_mois_eur": 40,
    }
    dests = profile.pop(
        "destinations", [{**WAREHOUSE, "motif": "emploi", "horaires": "lun-ven 05:30-13:00"}]
    )
    base.update(profile)
    return person_from_mapping(
        {"domicile": HOME, "destinations": dests, "profil": base}, source="test"
    )


def _option(
    answer: dict[str, Any], mode: str, direction: str, day: str = "lundi"
) -> dict[str, Any]:
    hits = [
        o
        for o in answer["options"]
        if o["mode"] == mode and o["trajet"] == direction and o["jour"] == day
    ]
    assert len(hits) == 1, (mode, direction, day)
    return hits[0]


def test_warehouse_shift(matching_demo: Any) -> None:
    _, network, _ = matching_demo
    answer = match(network, _person(), week=WEEK).answer
    # every mode judged for each day and direction
    assert len(answer["options"]) == 5 * 2 * len(MODES)
    bus = _option(answer, "transports", "aller")
    assert bus["verdict"] == "infaisable"
    assert "le premier bus arrive à 07:30" in bus["raison"] and "05:30" in bus["raison"]
    bike = _option(answer, "velo", "aller")
    assert bike["verdict"] == "faisable_avec_solution"
    assert bike["solution"] == "velo-ecole"
    assert "lever du jour à 07:" in bike["raison"] and "en mars" in bike["raison"]
    # back at 13:00 in daylight: her own bike needs nothing
    assert _option(answer, "velo", "retour")["verdict"] == "faisable"
    back = _option(answer, "transports", "retour")
    assert back["verdict"] == "faisable" and back["depart"] == "13:00"
    assert _option(answer, "scooter", "aller")["verdict"] == "infaisable"
    assert "permis AM" in _option(answer, "scooter", "aller")["raison"]
    tad = _option(answer, "transport_a_la_demande", "aller")
    assert tad["verdict"] == "infaisable" and "05:30" in tad["raison"]
    assert _option(answer, "covoiturage", "aller")["verdict"] == "infaisable"
    assert _option(answer, "voiture", "aller")["verdict"] == "infaisable"
    # the plan: her bike with the night-riding school now; the licence later
    assert answer["destinations"][0]["mode_retenu"] == "velo"
    now = [s for step in answer["plan"] if step["quand"] == "maintenant" for s in step["solutions"]]
    later = [
        s for step in answer["plan"] if step["quand"] == "dans_les_mois" for s in step["solutions"]
    ]
    assert now == ["velo-ecole"]
    assert "auto-ecole-solidaire" in later
    assert {b["code"] for b in answer["personne"]["barrieres"]} >= {"sans_permis", "pas_de_nuit"}
    json.dumps(answer)  # JSON-able


def test_scooter_only_with_the_am_licence(matching_demo: Any) -> None:
    _, network, _ = matching_demo
    answer = match(network, _person(permis="AM"), week=WEEK).answer
    scooter = _option(answer, "scooter", "aller")
    assert scooter["verdict"] == "faisable_avec_solution"
    assert scooter["solution"] == "location-scooter"


def test_training_35_km_away_lists_the_france_travail_aid(matching_demo: Any) -> None:
    _, network, sources = matching_demo
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(2154, 4326, always_xy=True).transform(
        *sources.places["training_centre"]
    )
    person = _person(
        destinations=[
            {
                "nom": "CFA",
                "lon": lon,
                "lat": lat,
                "motif": "formation",
                "horaires": "lun-ven 08:30-17:00",
            }
        ]
    )
    answer = match(network, person, week=WEEK).answer
    aid = [s for s in answer["plan"] if "aide-mobilite-ft" in s["solutions"]]
    assert len(aid) == 1 and aid[0]["quand"] == "maintenant"
    assert "km" in aid[0]["action"]
    # the same person as a salaried worker is not eligible
    answer = match(
        network,
        _person(statut="salarie", destinations=person.model_dump(mode="json")["destinations"]),
        week=WEEK,
    ).answer
    assert not [s for s in answer["plan"] if "aide-mobilite-ft" in s["solutions"]]


def test_wheelchair_user(matching_demo: Any) -> None:
    _, network, _ = matching_demo
    town_hall = {
        "nom": "Hôpital",
        "lon": 3.0043,
        "lat": 46.4972,
        "motif": "sante",
        "horaires": "mar 09:00-11:00",
    }
    answer = match(
        network, _person(fauteuil_roulant=True, destinations=[town_hall]), week=WEEK
    ).answer
    for mode in ("velo", "velo_electrique", "scooter"):
        assert _option(answer, mode, "aller", "mardi")["verdict"] == "infaisable"
    tad = _option(answer, "transport_a_la_demande", "aller", "mardi")
    assert tad["verdict"] == "faisable_avec_solution"
    assert "veille avant 17:00" in tad["raison"]
    assert answer["destinations"][0]["mode_retenu"] not in ("velo", "velo_electrique", "scooter")


def test_bad_profiles_name_the_field_and_the_allowed_values(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        _person(statut="chomeur")
    assert "statut" in str(err.value) and "demandeur_emploi" in str(err.value)
    with pytest.raises(InputError) as err:
        _person(permis="C")
    assert "permis" in str(err.value) and "B_en_cours" in str(err.value)
    with pytest.raises(InputError) as err:
        _person(couleur="bleu")
    assert "couleur" in str(err.value) and "inconnu" in str(err.value)
    with pytest.raises(InputError) as err:
        _person(destinations=[{**WAREHOUSE, "horaires": "lundi au vendredi le matin"}])
    assert "horaires" in str(err.value)
    assert parse_schedule("lun-ven 05:30-13:00; sam 06:00-12:00")[1].days == (5,)
    night = parse_schedule("lun-ven 21:00-05:00")[0]
    assert night.end == 29 * 60 and night.covers(1, 2 * 60)  # Tuesday 02:00 is Monday's night
    bad = tmp_path / "p.yaml"
    bad.write_text(
        "domicile: {lon: 2.9}\ndestinations: []\nprofil: {age: 30, statut: rsa}\n", "utf-8"
    )
    result = CliRunner().invoke(app, ["match", "--territory", "demo", "--profile", str(bad)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_catalogue_errors_name_the_solution_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "cat.yaml"
    bad.write_text(
        textwrap.dedent(
            """\
            date: 2026-01-01
            solutions:
              - {id: velo, nom: Prêt, type: pret_velo}
              - {id: tad, nom: TAD, type: taxi_magique}
            """
        ),
        "utf-8",
    )
    with pytest.raises(InputError) as err:
        read_catalogue(bad)
    assert "solutions[tad].type" in str(err.value) and "transport_a_la_demande" in str(err.value)
    csv_bad = tmp_path / "cat.csv"
    csv_bad.write_text("id;nom;type;age_min\nvelo;Prêt;pret_velo;dix\n", "utf-8")
    with pytest.raises(InputError) as err:
        read_catalogue(csv_bad)
    assert err.value.row == 2 and "age_min" in str(err.value)


def test_caseload_load_and_errors(matching_demo: Any, tmp_path: Path) -> None:
    workspace, _, _ = matching_demo
    good = tmp_path / "file.csv"
    good.write_text(
        "id;lon;lat;destination_lon;destination_lat;motif;horaires;age;statut;permis\n"
        "A1;2.999;46.504;3.07352;46.48161;emploi;lun-ven 05:30-13:00;30;rsa;aucun\n"
        "A1;2.999;46.504;3.0043;46.4972;entretien;jeu 10:00-11:00;30;rsa;aucun\n"
        "A2;3.0;46.50;3.07352;46.48161;emploi;lun-sam 06:00-12:00;22;jeune;B\n",
        "utf-8",
    )
    caseload = load_caseload(workspace, "demo", good)
    assert caseload.ids == ["A1", "A2"] and len(caseload.files[0].destinations) == 2
    folder = workspace.open("demo").path / "personnel"
    assert (folder / "caseload.parquet").exists()
    assert "DONNÉES PERSONNELLES" in (folder / "LISEZMOI_DONNEES_PERSONNELLES.txt").read_text(
        "utf-8"
    )
    assert "personnel" not in workspace.open("demo").layer_names()
    bad = tmp_path / "bad.csv"
    bad.write_text(
        good.read_text("utf-8").replace("lun-sam 06:00-12:00", "tous les jours"), "utf-8"
    )
    before = (folder / "caseload.parquet").read_bytes()
    with pytest.raises(InputError) as err:
        load_caseload(workspace, "demo", bad)
    assert err.value.row == 4 and "horaires" in str(err.value)
    assert (folder / "caseload.parquet").read_bytes() == before  # untouched
    unknown = tmp_path / "unknown.csv"
    unknown.write_text(
        "id;adresse;destination_lon;destination_lat;horaires;age;statut\n"
        "B1;12 rue Inconnue 03970 Montclerval;3.07352;46.48161;lun-ven 08:00-12:00;40;rsa\n",
        "utf-8",
    )
    with pytest.raises(InputError) as err:
        load_caseload(workspace, "demo", unknown)
    assert "adresse" in str(err.value)
    half = tmp_path / "half.csv"
    half.write_text(good.read_text("utf-8").replace("A2;3.0;46.50", "A2;3.0;"), "utf-8")
    with pytest.raises(InputError) as err:
        load_caseload(workspace, "demo", half)
    assert err.value.row == 4


def test_pair_times_equal_the_matrix(matching_demo: Any) -> None:
    """The pairwise search (reverse RAPTOR per destination) gives the matrix's latest minute."""
    _, network, _ = matching_demo
    rng = np.random.default_rng(3)
    homes = gpd.GeoDataFrame(
        {"id": np.arange(60)},
        geometry=shapely.points(rng.uniform(2.97, 3.03, 60), rng.uniform(46.48, 46.52, 60)),
        crs=4326,
    )
    dests = gpd.GeoDataFrame(
        {"id": np.arange(8)},
        geometry=shapely.points(rng.uniform(2.97, 3.08, 8), rng.uniform(46.48, 46.52, 8)),
        crs=4326,
    )
    pairs = pd.DataFrame({"origin": np.arange(60), "destination": rng.integers(0, 8, 60)})
    deadline = dt.datetime(2026, 3, 10, 7, 45)
    mine = pair_times(
        network, homes, dests, pairs, transport_modes=["walk", "transit"], arrive_by=deadline
    )
    ref = latest_departure_matrix(
        network, homes, dests, arrive_by=deadline, transport_modes=["walk", "transit"]
    ).set_index(["from_id", "to_id"])
    ref_dep = ref.reindex(
        list(zip(pairs.origin.astype(str), pairs.destination.astype(str), strict=True))
    )["departure"]
    a = mine["departure"].dt.floor("min").to_numpy()
    b = pd.to_datetime(ref_dep).to_numpy()
    assert ((a == b) | (pd.isna(a) & pd.isna(b))).all()
    assert mine["departure"].notna().sum() > 30


def test_committee_table_never_shows_fewer_than_11() -> None:
    table = pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(30)],
            "commune": ["A"] * 20 + ["B"] * 6 + ["C"] * 4,
            "verdict": ["faisable"] * 10 + ["infaisable"] * 10 + ["faisable_avec_solution"] * 10,
        }
    )
    out = committee_table(table)
    assert set(out["commune"]) == {"A"}  # B and C pooled: 10 people, under the threshold
    assert out["personnes"].tolist() == [20] and out["faisable_pct"].tolist() == [50.0]


def test_cli_match_profile_writes_json_and_html(
    matching_demo: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace, _, _ = matching_demo
    monkeypatch.setenv("PARCOURS_HOME", str(workspace.home))
    profile = tmp_path / "p.yaml"
    profile.write_text(
        textwrap.dedent(
            """\
            domicile: {lon: 2.9990, lat: 46.5040}
            destinations:
              - {nom: "Entrepôt", lon: 3.07352, lat: 46.48161, motif: emploi,
                 horaires: "lun-ven 05:30-13:00"}
            profil: {age: 34, statut: demandeur_emploi, permis: aucun,
                     velo: {sait_rouler: true, possede: true}}
            """
        ),
        "utf-8",
    )
    out = tmp_path / "r.json"
    result = CliRunner().invoke(
        app,
        [
            "match",
            "--territory",
            "demo",
            "--profile",
            str(profile),
            "--out",
            str(out),
            "--semaine",
            "2026-03-10",
        ],
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(out.read_text("utf-8"))
    assert set(answer) >= {"options", "plan"}
    assert {
        "destination",
        "jour",
        "trajet",
        "mode",
        "verdict",
        "solution",
        "raison",
        "duree_min",
        "cout_mois_eur",
    } <= set(answer["options"][0])
    html = tmp_path / "plan.html"
    result = CliRunner().invoke(
        app,
        [
            "match",
            "--territory",
            "demo",
            "--profile",
            str(profile),
            "--out",
            str(html),
            "--semaine",
            "2026-03-10",
        ],
    )
    assert result.exit_code == 0 and "Vélo-école" in html.read_text("utf-8")
    assert read_person_file(profile).profil.age == 34


def test_home_address_is_geocoded_or_refused(matching_demo: Any) -> None:
    workspace, network, _ = matching_demo
    addresses = workspace.open("demo").layer("addresses")
    row = addresses[
        (addresses["city"] == "Montclerval") & addresses["street"].str.startswith("Rue des")
    ].iloc[0]
    # an advisor's spelling: abbreviated street type, lower case, no accents
    street = str(row["street"]).replace("Rue des", "r. des").lower()
    spelled = f"{row['housenumber']} {street} {row['postcode']} montclerval"
    person = _person().model_dump(mode="json")
    person["domicile"] = {"adresse": spelled}
    answer = match(network, person_from_mapping(person, source="test"), week=WEEK).answer
    home = answer["personne"]["domicile"]
    assert home["label"] == row["label"]
    x, y = (
        gpd.GeoSeries([shapely.Point(home["lon"], home["lat"])], crs=4326)
        .to_crs(addresses.crs)
        .iloc[0]
        .coords[0]
    )
    assert shapely.Point(x, y).distance(row.geometry) < 1.0
    person["domicile"] = {"adresse": "45 avenue des Champs-Élysées 75008 Paris"}
    with pytest.raises(InputError) as err:
        match(network, person_from_mapping(person, source="test"), week=WEEK)
    assert "Champs" in str(err.value) and "corriger" in str(err.value)


def test_itinerary_of_the_retained_option(matching_demo: Any) -> None:
    _, network, _ = matching_demo
    answer = match(network, _person(), week=WEEK).answer
    bike = _option(answer, "velo", "aller")
    legs = bike["itineraire"]
    assert legs and legs[0]["mode"] == "bike"
    assert legs[-1]["arrivee"] <= "05:30"
    assert len(legs[0]["coordonnees"]) > 2
    # someone who cannot ride: the bus home is retained, its line named
    answer = match(network, _person(velo={"sait_rouler": False}), week=WEEK).answer
    back = _option(answer, "transports", "retour")
    assert back["verdict"] == "faisable"
    assert any(leg["ligne"] for leg in back["itineraire"])


def test_no_public_transport_on_sunday(matching_demo: Any) -> None:
    _, network, _ = matching_demo
    answer = match(
        network, _person(destinations=[{**WAREHOUSE, "horaires": "dim 08:00-12:00"}]), week=WEEK
    ).answer
    bus = _option(answer, "transports", "aller", "dimanche")
    assert bus["verdict"] == "infaisable" and "ce jour-là" in bus["raison"]


def test_a_driver_seat_is_promised_once(matching_demo: Any) -> None:
    from parcours.matching import match_people
    from parcours.matching.carpool import CarpoolIndex, CarpoolOffer

    _, network, _ = matching_demo
    offer = CarpoolOffer(
        id="C1",
        home=(HOME["lon"] + 0.0005, HOME["lat"]),
        destination=(WAREHOUSE["lon"], WAREHOUSE["lat"]),
        days=frozenset(range(5)),
        arrive_by=dt.time(5, 25),
        leave_at=dt.time(13, 5),
        seats=1,
    )
    index = CarpoolIndex(network, [offer])
    one = match(network, _person(), week=WEEK, carpool=index).answer
    assert _option(one, "covoiturage", "aller")["verdict"] == "faisable_avec_solution"
    assert "C1" in _option(one, "covoiturage", "aller")["raison"]
    both = match_people(network, [_person(), _person()], week=WEEK, carpool=index, ids=["a", "b"])
    verdicts = sorted(_option(r.answer, "covoiturage", "aller")["verdict"] for r in both)
    assert verdicts == ["faisable_avec_solution", "infaisable"]


GARE_STATION = (2.98552, 46.509)  # the demo catalogue's car-sharing station "Gare"


def test_car_sharing_walk_to_the_station(matching_demo: Any) -> None:
    _, network, _ = matching_demo
    near = person_from_mapping(
        {
            "domicile": {"lon": GARE_STATION[0] + 0.001, "lat": GARE_STATION[1]},
            "destinations": [{**WAREHOUSE, "horaires": "lun-ven 08:30-17:00"}],
            "profil": {"age": 40, "statut": "salarie", "permis": "B", "marche_max_min": 15},
        },
        source="test",
    )
    option = _option(match(network, near, week=WEEK).answer, "autopartage", "aller")
    assert option["verdict"] == "faisable_avec_solution"
    assert "1 min à pied" in option["raison"] or "2 min à pied" in option["raison"]
    far = _person(permis="B")  # about 1.1 km from the nearest station: over 15 min on foot
    option = _option(match(network, far, week=WEEK).answer, "autopartage", "aller")
    assert option["verdict"] == "infaisable" and "plus de 15 min" in option["raison"]


def test_night_and_midnight_shifts(matching_demo: Any) -> None:
    from parcours.matching.feasibility import _is_dark

    home = (HOME["lon"], HOME["lat"])
    assert _is_dark(home, dt.datetime(2026, 12, 15, 23, 40), dt.datetime(2026, 12, 16, 0, 10))[0]
    assert not _is_dark(home, dt.datetime(2026, 6, 15, 12, 0), dt.datetime(2026, 6, 15, 12, 30))[0]
    _, network, _ = matching_demo
    # a Monday shift starting at 00:30: the day before (Sunday) runs no bus, no error
    answer = match(
        network, _person(destinations=[{**WAREHOUSE, "horaires": "lun-ven 00:30-07:00"}]), week=WEEK
    ).answer
    bike = _option(answer, "velo", "aller")
    assert bike["verdict"] == "faisable_avec_solution" and bike["solution"] == "velo-ecole"
    assert _option(answer, "transports", "aller")["verdict"] == "infaisable"
    # the night shift's return is dated the next morning
    friday = [o for o in answer["options"] if o["jour"] == "vendredi" and o["trajet"] == "retour"]
    assert {o["date"] for o in friday} == {"2026-03-13"} and {o["heure"] for o in friday} == {
        "07:00"
    }


def test_transit_cost_and_social_fare(matching_demo: Any) -> None:
    _, network, _ = matching_demo
    back = _option(
        match(network, _person(budget_mois_eur=40), week=WEEK).answer, "transports", "retour"
    )
    assert (
        back["verdict"] == "faisable" and back["cout_mois_eur"] == 32 and back["solution"] is None
    )
    assert "8 € possible" in back["raison"]
    poor = _option(
        match(network, _person(budget_mois_eur=20), week=WEEK).answer, "transports", "retour"
    )
    assert poor["verdict"] == "faisable_avec_solution" and poor["solution"] == "tarif-solidaire"
    assert poor["cout_mois_eur"] == 8


def test_scooter_without_licence_when_born_before_1988(matching_demo: Any) -> None:
    _, network, _ = matching_demo
    answer = match(network, _person(age=48, deux_roues=True), week=WEEK).answer
    assert _option(answer, "scooter", "aller")["verdict"] == "faisable"


def test_destination_outside_the_territory(matching_demo: Any) -> None:
    _, network, sources = matching_demo
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(2154, 4326, always_xy=True).transform(
        *sources.places["training_centre"]
    )
    answer = match(
        network,
        _person(
            destinations=[
                {
                    "nom": "CFA",
                    "lon": lon,
                    "lat": lat,
                    "motif": "formation",
                    "horaires": "lun 08:30-17:00",
                }
            ]
        ),
        week=WEEK,
    ).answer
    assert all("hors du territoire chargé" in o["raison"] for o in answer["options"])
    assert [s for s in answer["plan"] if "aide-mobilite-ft" in s["solutions"]]  # by distance


def test_france_travail_aid_not_for_a_short_contract(matching_demo: Any) -> None:
    _, network, _ = matching_demo
    combelonge, puyvalon = (3.27196, 46.5121), (2.72403, 46.46601)  # 41 km apart
    job = {
        "nom": "Entrepôt de Puyvalon",
        "lon": puyvalon[0],
        "lat": puyvalon[1],
        "motif": "emploi",
        "horaires": "lun-ven 08:30-17:00",
    }
    base = _person().model_dump(mode="json")
    base["domicile"] = {"lon": combelonge[0], "lat": combelonge[1]}
    rsa = {**base, "destinations": [job], "profil": {**base["profil"], "statut": "rsa"}}
    answer = match(network, person_from_mapping(rsa, source="t"), week=WEEK).answer
    assert not [s for s in answer["plan"] if "aide-mobilite-ft" in s["solutions"]]
    rsa["profil"]["inscrit_france_travail"] = True  # an RSA recipient registered: eligible
    answer = match(network, person_from_mapping(rsa, source="t"), week=WEEK).answer
    assert [s for s in answer["plan"] if "aide-mobilite-ft" in s["solutions"]]
    for contract, listed in (("cdi", True), ("cdd_court", False), (None, True)):
        person = {**base, "destinations": [{**job, **({"contrat": contract} if contract else {})}]}
        answer = match(network, person_from_mapping(person, source="t"), week=WEEK).answer
        steps = [s for s in answer["plan"] if "aide-mobilite-ft" in s["solutions"]]
        assert bool(steps) is listed, contract
        if contract is None:
            assert "à vérifier" in steps[0]["action"]


def test_drivers_csv(matching_demo: Any, tmp_path: Path) -> None:
    from parcours.matching import read_driver_offers

    good = tmp_path / "c.csv"
    good.write_text(
        "id;lon;lat;destination_lon;destination_lat;jours;arrivee;depart;places\n"
        "C1;2,999;46,504;3,07352;46,48161;lun-ven;5h25;13:05;2\n",
        "utf-8",
    )
    offers = read_driver_offers(good)
    assert offers.iloc[0]["arrive_by"] == "05:25" and offers.iloc[0]["seats"] == 2
    assert offers.iloc[0]["days"] == "0,1,2,3,4"
    bad = tmp_path / "b.csv"
    bad.write_text(good.read_text("utf-8").replace("46,48161", "nord"), "utf-8")
    with pytest.raises(InputError) as err:
        read_driver_offers(bad)
    assert err.value.row == 2 and err.value.field == "destination_lat"
    missing = tmp_path / "m.csv"
    missing.write_text("id;lon;lat\nC1;1;2\n", "utf-8")
    with pytest.raises(InputError) as err:
        read_driver_offers(missing)
    assert err.value.field == "destination_lon"


def test_messages_are_french() -> None:
    with pytest.raises(InputError) as err:
        person_from_mapping(
            {"domicile": HOME, "destinations": [], "profil": {"age": "trente", "statut": "rsa"}},
            source="fiche",
        )
    text = str(err.value)
    assert "au moins 1 élément" in text and "nombre entier attendu" in text
    assert "Input should" not in text and "List should" not in text
