"""The demo territory's source files: deterministic, well-formed, with the expected gaps.

The files are read back with the plain libraries (pyosmium, pyogrio, pandas, zipfile), not
with the parcours readers, so these tests check the generator alone.
"""

from __future__ import annotations

import collections
import hashlib
import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import osmium
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from parcours.territories.demo import DemoSources, write_demo_sources

INSEE_CODE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
FILOSOFI_COLUMNS = [
    "idcar_200m", "idcar_1km", "idcar_nat", "i_est_200", "i_est_1km", "lcog_geo", "ind", "men",
    "men_pauv", "men_1ind", "men_5ind", "men_prop", "men_fmp", "ind_snv", "men_surf", "men_coll",
    "men_mais", "log_av45", "log_45_70", "log_70_90", "log_ap90", "log_inc", "log_soc", "ind_0_3",
    "ind_4_5", "ind_6_10", "ind_11_17", "ind_18_24", "ind_25_39", "ind_40_54", "ind_55_64",
    "ind_65_79", "ind_80p", "ind_inc",
]  # fmt: skip
SIRENE_COLUMNS = [
    "siren",
    "nic",
    "siret",
    "statutDiffusionEtablissement",
    "dateCreationEtablissement",
    "trancheEffectifsEtablissement",
    "anneeEffectifsEtablissement",
    "activitePrincipaleRegistreMetiersEtablissement",
    "dateDernierTraitementEtablissement",
    "etablissementSiege",
    "nombrePeriodesEtablissement",
    "complementAdresseEtablissement",
    "numeroVoieEtablissement",
    "indiceRepetitionEtablissement",
    "dernierNumeroVoieEtablissement",
    "indiceRepetitionDernierNumeroVoieEtablissement",
    "typeVoieEtablissement",
    "libelleVoieEtablissement",
    "codePostalEtablissement",
    "libelleCommuneEtablissement",
    "libelleCommuneEtrangerEtablissement",
    "distributionSpecialeEtablissement",
    "codeCommuneEtablissement",
    "codeCedexEtablissement",
    "libelleCedexEtablissement",
    "codePaysEtrangerEtablissement",
    "libellePaysEtrangerEtablissement",
    "identifiantAdresseEtablissement",
    "coordonneeLambertAbscisseEtablissement",
    "coordonneeLambertOrdonneeEtablissement",
    "complementAdresse2Etablissement",
    "numeroVoie2Etablissement",
    "indiceRepetition2Etablissement",
    "typeVoie2Etablissement",
    "libelleVoie2Etablissement",
    "codePostal2Etablissement",
    "libelleCommune2Etablissement",
    "libelleCommuneEtranger2Etablissement",
    "distributionSpeciale2Etablissement",
    "codeCommune2Etablissement",
    "codeCedex2Etablissement",
    "libelleCedex2Etablissement",
    "codePaysEtranger2Etablissement",
    "libellePaysEtranger2Etablissement",
    "dateDebut",
    "etatAdministratifEtablissement",
    "enseigne1Etablissement",
    "enseigne2Etablissement",
    "enseigne3Etablissement",
    "denominationUsuelleEtablissement",
    "activitePrincipaleEtablissement",
    "nomenclatureActivitePrincipaleEtablissement",
    "caractereEmployeurEtablissement",
]
GEOLOCATION_COLUMNS = [
    "siret",
    "x",
    "y",
    "qualite_xy",
    "epsg",
    "plg_qp",
    "plg_iris",
    "plg_zus",
    "plg_qva",
    "plg_code_commune",
    "distance_precision",
    "qualite_qp",
    "qualite_iris",
    "qualite_zus",
    "qualite_qva",
    "y_latitude",
    "x_longitude",
]
BPE_COLUMNS = [
    "AN",
    "NOMRS",
    "CNOMRS",
    "NUMVOIE",
    "INDREP",
    "TYPVOIE",
    "LIBVOIE",
    "CADR",
    "CODPOS",
    "DEPCOM",
    "DEP",
    "REG",
    "DOM",
    "SDOM",
    "TYPEQU",
    "SIRET",
    "STATUT_DIFFUSION",
    "LAMBERT_X",
    "LAMBERT_Y",
    "QUALITE_XY",
    "EPSG",
    "QUALITE_GEOC",
]
BNLC_COLUMNS = [
    "id_lieu",
    "id_local",
    "nom_lieu",
    "ad_lieu",
    "com_lieu",
    "insee",
    "type",
    "date_maj",
    "ouvert",
    "source",
    "Xlong",
    "Ylat",
    "nbre_pl",
    "nbre_pmr",
    "duree",
    "horaires",
    "proprio",
    "lumiere",
    "comm",
]
HEADCOUNT_JOBS = {
    "01": 1.5, "02": 4.0, "03": 7.5, "11": 14.5, "12": 34.5, "21": 74.5, "22": 149.5,
    "31": 224.5, "32": 374.5, "41": 749.5, "42": 1499.5, "51": 3499.5, "52": 7499.5,
}  # fmt: skip
HEADCOUNT_CODES = {"NN", "00", "", *HEADCOUNT_JOBS, "53"}
TOWN, NEIGHBOUR = "03950", "03963"


def _digests(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def _csv(path: Path, sep: str = ",", encoding: str = "utf-8") -> pd.DataFrame:
    return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding=encoding)


def _gtfs(path: Path) -> dict[str, pd.DataFrame]:
    with zipfile.ZipFile(path) as archive:
        return {
            name.removesuffix(".txt"): pd.read_csv(
                io.BytesIO(archive.read(name)), dtype=str, keep_default_na=False
            )
            for name in archive.namelist()
        }


def _seconds(text: str) -> int:
    h, m, s = (int(v) for v in text.split(":"))
    return h * 3600 + m * 60 + s


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


# ------------------------------------------------------------------------- the whole folder


@pytest.mark.slow  # writes the sources twice
def test_same_seed_same_bytes_other_seed_other_bytes(
    demo_sources: DemoSources, tmp_path: Path
) -> None:
    # the cached world's sources, as parcours demo left them (it adds its fictional caseload)
    first = _digests(demo_sources.directory)
    assert len(first) >= 15
    # written again over a copy of them, in this process: the same bytes, nothing left over
    again = tmp_path / "again"
    shutil.copytree(demo_sources.directory, again)
    (again / "osm" / "demo.osm.pbf").write_bytes(b"stale")
    written = write_demo_sources(again)
    assert _digests(written.directory) == first

    other = _digests(write_demo_sources(tmp_path / "other", seed=7).directory)
    assert other.keys() == first.keys() - {"file_active_fictive.csv"}
    for name in (
        "osm/demo.osm.pbf",
        "gtfs/reseau-bus.zip",
        "filosofi/carreaux_200m_met.gpkg",
        "sirene/StockEtablissement_utf8.csv",
        "communes/communes.geojson",
    ):
        assert other[name] != first[name], name


def test_sources_description_and_readme(demo_sources: DemoSources) -> None:
    kinds = {
        "osm", "gtfs", "population", "jobs", "jobs_geolocation", "services", "carpool", "qpv",
        "bikeshare", "communes", "employment_zones", "mobpro", "addresses",
    }  # fmt: skip
    assert set(demo_sources.files) == kinds
    for paths in demo_sources.files.values():
        assert paths
        for path in paths:
            assert path.is_file() and path.stat().st_size > 0
            assert path.is_relative_to(demo_sources.directory)
    assert len(demo_sources.files["gtfs"]) == 2
    assert len(demo_sources.files["services"]) == 2
    assert len(demo_sources.communes) == 13
    assert all(INSEE_CODE.match(code) for code in demo_sources.communes)
    assert TOWN in demo_sources.communes and NEIGHBOUR not in demo_sources.communes
    lon0, lat0, lon1, lat1 = demo_sources.bbox_wgs84
    assert 1.5 < lon0 < lon1 < 4.5 and 45.5 < lat0 < lat1 < 47.5
    assert "fictif" in demo_sources.description
    readme = (demo_sources.directory / "README.txt").read_text(encoding="utf-8")
    assert "TERRITOIRE FICTIF" in readme and "English" in readme and "FICTIONAL" in readme
    assert "05:00-06:00" in readme and "52.10B" in readme


# ------------------------------------------------------------------------------------ OSM


class _OsmCollector(osmium.SimpleHandler):
    def __init__(self) -> None:
        super().__init__()
        self.nodes: dict[int, tuple[float, float]] = {}
        self.node_tags: list[dict[str, str]] = []
        self.ways: list[tuple[int, list[int], dict[str, str]]] = []
        self.meta: set[tuple[int, str]] = set()

    def node(self, n: osmium.osm.Node) -> None:
        assert n.location.valid()
        self.nodes[n.id] = (n.location.lon, n.location.lat)
        self.meta.add((n.version, n.timestamp.isoformat()))
        if len(n.tags):
            self.node_tags.append({t.k: t.v for t in n.tags})

    def way(self, w: osmium.osm.Way) -> None:
        self.ways.append((w.id, [r.ref for r in w.nodes], {t.k: t.v for t in w.tags}))


@pytest.fixture(scope="module")
def osm(demo_sources: DemoSources) -> _OsmCollector:
    handler = _OsmCollector()
    handler.apply_file(str(demo_sources.files["osm"][0]))
    return handler


def test_osm_pbf_is_small_and_located(demo_sources: DemoSources, osm: _OsmCollector) -> None:
    assert demo_sources.files["osm"][0].stat().st_size < 1_500_000
    assert all(node_id > 0 for node_id in osm.nodes)
    assert all(way_id > 0 for way_id, _, _ in osm.ways)
    assert len(osm.meta) == 1  # one version and one timestamp for every object
    lon0, lat0, lon1, lat1 = demo_sources.bbox_wgs84
    lons = np.array([c[0] for c in osm.nodes.values()])
    lats = np.array([c[1] for c in osm.nodes.values()])
    assert lons.min() > lon0 - 0.1 and lons.max() < lon1 + 0.1
    assert lats.min() > lat0 - 0.1 and lats.max() < lat1 + 0.1
    for _, refs, _ in osm.ways:
        assert all(ref in osm.nodes for ref in refs)


def test_osm_road_hierarchy_and_tags(osm: _OsmCollector) -> None:
    highways = [(refs, tags) for _, refs, tags in osm.ways if "highway" in tags]
    assert 500 < len(highways) < 5000
    kinds = collections.Counter(tags["highway"] for _, tags in highways)
    for kind in (
        "motorway", "motorway_link", "primary", "secondary", "tertiary", "unclassified",
        "residential", "track", "cycleway", "steps", "footway", "service", "living_street",
        "pedestrian",
    ):  # fmt: skip
        assert kinds[kind] > 0, kind
    assert kinds["residential"] > 300

    def having(**wanted: str) -> list[tuple[list[int], dict[str, str]]]:
        return [
            (refs, tags)
            for refs, tags in highways
            if all(tags.get(k.replace("__", ":")) == v for k, v in wanted.items())
        ]

    assert all(t.get("oneway") == "yes" for _, t in having(highway="motorway"))
    assert all(t.get("oneway") == "yes" for _, t in having(highway="motorway_link"))
    roundabouts = having(junction="roundabout")
    assert len(roundabouts) == 1 and roundabouts[0][0][0] == roundabouts[0][0][-1]
    steps = having(highway="steps")
    assert steps and all(t.get("incline") == "up" for _, t in steps)
    assert having(highway="footway", bridge="yes")
    assert having(oneway="yes", highway="residential")
    assert having(oneway="yes", oneway__bicycle="no")
    assert having(cycleway="lane")
    assert having(access="private")
    assert sum("maxspeed" in t for _, t in highways) > 100


def test_osm_ways_share_nodes_in_one_network(osm: _OsmCollector) -> None:
    highways = [refs for _, refs, tags in osm.ways if "highway" in tags]
    usage = collections.Counter(ref for refs in highways for ref in set(refs))
    assert sum(count >= 2 for count in usage.values()) > 500  # intersections
    index = {node_id: k for k, node_id in enumerate(usage)}
    rows = [index[a] for refs in highways for a in refs[:-1]]
    cols = [index[b] for refs in highways for b in refs[1:]]
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(index), len(index)))
    n_components, _ = connected_components(graph, directed=False)
    assert n_components == 1


def test_osm_points_of_interest(osm: _OsmCollector) -> None:
    tags = osm.node_tags
    assert any(t.get("amenity") == "hospital" for t in tags)
    assert any(t.get("shop") == "supermarket" for t in tags)
    assert sum(t.get("amenity") == "school" for t in tags) >= 5
    assert any(t.get("office") == "employment_agency" for t in tags)
    assert any(t.get("railway") == "station" for t in tags)
    assert sum(t.get("highway") == "bus_stop" for t in tags) > 30
    assert any(t.get("amenity") == "hospital" for _, _, t in osm.ways)  # as a building too


# ----------------------------------------------------------------------------------- GTFS


def test_gtfs_feeds_are_complete(demo_sources: DemoSources) -> None:
    bus_path, rail_path = demo_sources.files["gtfs"]
    assert bus_path.name == "reseau-bus.zip" and rail_path.name == "ter.zip"
    required = {"agency", "stops", "routes", "trips", "stop_times", "calendar", "calendar_dates"}
    for path in (bus_path, rail_path):
        feed = _gtfs(path)
        assert required <= feed.keys()
        assert "transfers" in feed
        assert set(feed["agency"]["agency_timezone"]) == {"Europe/Paris"}
        stops = set(feed["stops"]["stop_id"])
        assert set(feed["stop_times"]["stop_id"]) <= stops
        assert set(feed["trips"]["trip_id"]) == set(feed["stop_times"]["trip_id"])
        assert set(feed["trips"]["service_id"]) <= set(feed["calendar"]["service_id"])
        parents = set(feed["stops"]["parent_station"]) - {""}
        assert parents <= stops
        assert set(feed["transfers"]["from_stop_id"]) <= stops
        assert set(feed["stops"]["wheelchair_boarding"]) <= {"0", "1", "2"}
    bus = _gtfs(bus_path)
    assert set(bus["stops"]["wheelchair_boarding"]) == {"0", "1", "2"}


def test_gtfs_routes_and_gaps(demo_sources: DemoSources) -> None:
    bus, rail = (_gtfs(p) for p in demo_sources.files["gtfs"])
    types = collections.Counter(bus["routes"]["route_type"])
    assert 6 <= types["3"] <= 10
    assert types["715"] == 1
    assert set(rail["routes"]["route_type"]) == {"2"}
    times = bus["stop_times"].merge(bus["trips"], on="trip_id").merge(bus["routes"], on="route_id")
    timed = times[times["departure_time"] != ""].copy()
    timed["s"] = timed["departure_time"].map(_seconds)
    first = timed.sort_values("stop_sequence", key=lambda s: s.astype(int)).groupby("trip_id")
    starts = first.first()
    # Little before 06:30, nothing leaving after 20:30 on most routes, reduced Saturday.
    assert (starts["s"] < 6.5 * 3600).sum() <= 5
    last_by_route = starts.groupby("route_id")["s"].max()
    assert (last_by_route <= 20.5 * 3600).sum() >= len(last_by_route) - 1
    per_service = bus["trips"]["service_id"].value_counts()
    assert 0 < per_service["SAM"] < per_service["SEM"] / 2


def test_gtfs_calendar_has_no_sunday_and_removes_holidays(demo_sources: DemoSources) -> None:
    for path in demo_sources.files["gtfs"]:
        feed = _gtfs(path)
        calendar = feed["calendar"]
        assert set(calendar["sunday"]) == {"0"}
        assert (calendar["start_date"] == "20260105").all()
        assert (calendar["end_date"] == "20261231").all()
        removed = feed["calendar_dates"]
        removed = removed[removed["exception_type"] == "2"]
        assert {"20260501", "20260714"} <= set(removed["date"])
        weekday = calendar.loc[calendar["monday"] == "1", "service_id"].iloc[0]
        assert set(removed.loc[removed["date"] == "20260714", "service_id"]) == {weekday}


def test_gtfs_night_train_blank_times_and_on_demand(demo_sources: DemoSources) -> None:
    bus, rail = (_gtfs(p) for p in demo_sources.files["gtfs"])
    rail_times = rail["stop_times"]["arrival_time"]
    assert "24:35:00" in set(rail_times) and "25:10:00" in set(rail_times)
    assert rail_times.map(_seconds).max() > 24 * 3600
    stop_times = bus["stop_times"]
    blank = stop_times[stop_times["arrival_time"] == ""]
    assert len(blank) > 50
    assert set(blank["timepoint"]) == {"0"}
    # Blank times are only ever between two timed stops of the same trip.
    sequence = stop_times["stop_sequence"].astype(int)
    ends = stop_times.groupby("trip_id")["stop_sequence"].transform(lambda s: s.astype(int).max())
    assert not ((stop_times["arrival_time"] == "") & ((sequence == 1) | (sequence == ends))).any()
    tad_route = bus["routes"].loc[bus["routes"]["route_type"] == "715", "route_id"].iloc[0]
    tad_trips = set(bus["trips"].loc[bus["trips"]["route_id"] == tad_route, "trip_id"])
    tad_times = stop_times[stop_times["trip_id"].isin(tad_trips)]
    assert len(tad_trips) >= 4 and (tad_times["pickup_type"] == "2").any()
    transfers = rail["transfers"]
    assert (transfers["from_stop_id"].str.contains("MONTCLERVAL")).all()


# ----------------------------------------------------------------------------- population


def test_filosofi_grid_schema_and_totals(demo_sources: DemoSources) -> None:
    path = demo_sources.files["population"][0]
    assert path.name == "carreaux_200m_met.gpkg"
    assert pyogrio.list_layers(path)[:, 0].tolist() == ["carreaux_200m_met"]
    info = pyogrio.read_info(path, layer="carreaux_200m_met")
    assert info["crs"] == "EPSG:2154"
    assert list(info["fields"]) == FILOSOFI_COLUMNS
    grid = pyogrio.read_dataframe(path, layer="carreaux_200m_met")
    assert list(grid.columns) == [*FILOSOFI_COLUMNS, "geometry"]
    assert grid["idcar_200m"].is_unique
    assert grid["idcar_200m"].str.fullmatch(r"CRS3035RES200mN\d{7}E\d{7}").all()
    assert grid["idcar_1km"].str.fullmatch(r"CRS3035RES1000mN\d{7}E\d{7}").all()
    assert grid["idcar_nat"].str.fullmatch(r"CRS3035RES\d+mN\d{7}E\d{7}").all()
    assert set(grid["i_est_200"]) == {0, 1}
    assert grid["lcog_geo"].str.fullmatch(r"(\d{5})+").all()
    # 200 m squares of the LAEA grid, projected to Lambert-93.
    assert np.allclose(grid.geometry.area, 40_000.0, rtol=0.01)
    to_laea = Transformer.from_crs(2154, 3035, always_xy=True)
    ids = grid["idcar_200m"].str.extract(r"N(\d+)E(\d+)").astype(float)
    centroid = grid.geometry.centroid
    east, north = to_laea.transform(centroid.x.to_numpy(), centroid.y.to_numpy())
    assert np.allclose(east, ids[1] + 100.0, atol=0.5)
    assert np.allclose(north, ids[0] + 100.0, atol=0.5)
    # Consistent counts.
    ages = grid[[c for c in FILOSOFI_COLUMNS if c.startswith("ind_") and c != "ind_snv"]]
    assert np.allclose(ages.sum(axis=1), grid["ind"], atol=0.051)
    assert (grid["men_pauv"] <= grid["men"]).all()
    assert np.allclose(grid["men_coll"] + grid["men_mais"], grid["men"], atol=0.051)
    # People: the town about 25,000, the perimeter 25,000 to 60,000.
    commune = grid["lcog_geo"].str[:5]
    town = grid.loc[commune == TOWN, "ind"].sum()
    perimeter = grid.loc[commune.isin(demo_sources.communes), "ind"].sum()
    assert 23_500 < town < 26_500
    assert 25_000 < perimeter < 60_000


def test_poor_households_concentrate_in_the_qpv(demo_sources: DemoSources) -> None:
    grid = pyogrio.read_dataframe(demo_sources.files["population"][0])
    qpv = pyogrio.read_dataframe(demo_sources.files["qpv"][0]).to_crs(2154).geometry.iloc[0]
    inside = shapely.contains(qpv, grid.geometry.centroid.to_numpy())
    assert inside.sum() >= 4
    rate_in = grid.loc[inside, "men_pauv"].sum() / grid.loc[inside, "men"].sum()
    rate_out = grid.loc[~inside, "men_pauv"].sum() / grid.loc[~inside, "men"].sum()
    assert rate_in > 0.3 and rate_in > 2.5 * rate_out
    assert grid.loc[inside, "ind"].sum() > 1000


# ------------------------------------------------------------------------- jobs, services


def test_sirene_stock_and_geolocation(demo_sources: DemoSources) -> None:
    stock_path = demo_sources.files["jobs"][0]
    assert stock_path.read_text(encoding="utf-8").split("\n", 1)[0] == ",".join(SIRENE_COLUMNS)
    stock = _csv(stock_path)
    assert list(stock.columns) == SIRENE_COLUMNS
    assert stock["siret"].is_unique
    assert (stock["siret"].str[:9] == stock["siren"]).all()
    assert (stock["siret"].str[9:] == stock["nic"]).all()
    assert stock["siret"].map(_luhn).all() and stock["siren"].map(_luhn).all()
    assert set(stock["trancheEffectifsEtablissement"]) <= HEADCOUNT_CODES
    assert {"NN", "00", "01", "02", "03", "11", "12", "21"} <= set(
        stock["trancheEffectifsEtablissement"]
    )
    assert (stock["statutDiffusionEtablissement"] == "P").sum() >= 3
    assert set(stock["etatAdministratifEtablissement"]) == {"A", "F"}
    assert (stock["etatAdministratifEtablissement"] == "F").sum() == 2
    assert stock["codeCommuneEtablissement"].map(lambda c: bool(INSEE_CODE.match(c))).all()
    naf = stock["activitePrincipaleEtablissement"]
    assert naf.str.fullmatch(r"\d{2}\.\d{2}[A-Z]").all()
    logistics = stock[naf.isin(["52.10A", "52.10B"])]
    assert logistics["denominationUsuelleEtablissement"].str.contains("5H").any()
    active = stock[
        (stock["etatAdministratifEtablissement"] == "A")
        & stock["codeCommuneEtablissement"].isin(demo_sources.communes)
    ]
    jobs = active["trancheEffectifsEtablissement"].map(HEADCOUNT_JOBS).fillna(0.0).sum()
    assert 10_000 <= jobs <= 12_500

    geo_path = demo_sources.files["jobs_geolocation"][0]
    assert geo_path.read_text(encoding="utf-8").split("\n", 1)[0] == ";".join(GEOLOCATION_COLUMNS)
    geo = _csv(geo_path, sep=";")
    assert set(geo["siret"]) == set(stock["siret"])
    assert set(geo["epsg"]) == {"2154"}
    x, y = geo["x"].astype(float), geo["y"].astype(float)
    assert x.between(640_000, 740_000).all() and y.between(6_560_000, 6_640_000).all()
    to_wgs = Transformer.from_crs(2154, 4326, always_xy=True)
    lon, lat = to_wgs.transform(x.to_numpy(), y.to_numpy())
    assert np.allclose(lon, geo["x_longitude"].astype(float), atol=1e-6)
    assert np.allclose(lat, geo["y_latitude"].astype(float), atol=1e-6)


def test_bpe_and_user_services(demo_sources: DemoSources) -> None:
    bpe_path, user_path = demo_sources.files["services"]
    assert bpe_path.read_text(encoding="utf-8").split("\n", 1)[0] == ";".join(BPE_COLUMNS)
    bpe = _csv(bpe_path, sep=";")
    codes = set(bpe["TYPEQU"])
    for code in (
        "A122", "A128", "A304", "D101", "D201", "C601", "C101", "C104", "C201", "C301", "D502",
        "B101", "B102", "E108", "E109",
    ):  # fmt: skip
        assert code in codes, code
    assert (bpe["DOM"] == bpe["TYPEQU"].str[0]).all()
    assert (bpe["SDOM"] == bpe["TYPEQU"].str[:2]).all()
    assert set(bpe["EPSG"]) == {"2154"}
    assert bpe["LAMBERT_X"].astype(float).between(640_000, 740_000).all()
    # The training centre is in the neighbouring town, outside the perimeter.
    assert set(bpe.loc[bpe["TYPEQU"] == "C601", "DEPCOM"]) == {NEIGHBOUR}

    user = _csv(user_path)
    assert list(user.columns) == ["id", "name", "category", "lon", "lat"]
    assert set(user["category"]) == {"mission_locale", "caf"}
    assert user["lon"].astype(float).between(2.0, 4.0).all()
    assert user["lat"].astype(float).between(46.0, 47.0).all()


# ---------------------------------------------------------------------- the other layers


def test_bnlc_follows_the_national_file(demo_sources: DemoSources) -> None:
    path = demo_sources.files["carpool"][0]
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, like the published files
    table = _csv(path, encoding="utf-8-sig")
    assert list(table.columns) == BNLC_COLUMNS
    assert table["id_lieu"].str.fullmatch(r"([013-9]\d|2[AB1-9])\d{3}-C-\d{3}").all()
    assert table["id_lieu"].is_unique
    allowed = {
        "Aire de covoiturage", "Sortie d'autoroute", "Parking", "Supermarché", "Parking relais",
        "Délaissé routier", "Auto-stop",
    }  # fmt: skip
    assert set(table["type"]) <= allowed
    assert table["date_maj"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert set(table["ouvert"]) == {"true"}
    assert set(table["lumiere"]) <= {"true", "false"}
    assert table["source"].str.fullmatch(r"\d{9}").all()
    assert table["nbre_pl"].astype(int).gt(0).all()
    assert set(table["insee"]) <= set(demo_sources.communes)


def test_gbfs_station_information(demo_sources: DemoSources) -> None:
    payload = json.loads(demo_sources.files["bikeshare"][0].read_text(encoding="utf-8"))
    assert payload["version"] == "2.3"
    assert isinstance(payload["last_updated"], int) and payload["ttl"] > 0
    stations = payload["data"]["stations"]
    assert 8 <= len(stations) <= 15
    assert len({s["station_id"] for s in stations}) == len(stations)
    assert all(s["capacity"] > 0 and 46.0 < s["lat"] < 47.0 for s in stations)


def test_qpv_geojson(demo_sources: DemoSources) -> None:
    payload = json.loads(demo_sources.files["qpv"][0].read_text(encoding="utf-8"))
    assert "crs" not in payload  # RFC 7946: WGS84 only
    (feature,) = payload["features"]
    props = feature["properties"]
    assert set(props) == {
        "code_qp", "lib_qp", "insee_reg", "lib_reg", "insee_dep", "lib_dep", "insee_com",
        "lib_com", "siren_epci",
    }  # fmt: skip
    assert re.fullmatch(r"QN\d{5}M", props["code_qp"])
    assert props["insee_com"] == TOWN
    ring = np.array(feature["geometry"]["coordinates"][0])
    signed = np.sum(ring[:-1, 0] * ring[1:, 1] - ring[1:, 0] * ring[:-1, 1])
    assert signed > 0  # exterior ring counter-clockwise


def test_communes_tile_the_area(demo_sources: DemoSources) -> None:
    communes = pyogrio.read_dataframe(demo_sources.files["communes"][0])
    assert str(communes.crs) == "EPSG:4326"
    assert {"code", "nom", "codeEpci", "nomEpci", "codeDepartement", "population"} <= set(
        communes.columns
    )
    assert set(demo_sources.communes) < set(communes["code"])
    assert communes["code"].map(lambda c: bool(INSEE_CODE.match(c))).all()
    epci = communes.set_index("code")["codeEpci"]
    assert epci[list(demo_sources.communes)].nunique() == 1
    assert epci[NEIGHBOUR] != epci[TOWN]
    metric = communes.to_crs(2154).set_index("code")
    union = shapely.union_all(metric.geometry.to_numpy())
    assert abs(union.area - metric.geometry.area.sum()) < 1.0  # no overlaps
    distance = metric.geometry[TOWN].centroid.distance(metric.geometry[NEIGHBOUR].centroid)
    assert 25_000 < distance < 50_000
    population = communes.set_index("code")["population"]
    assert 23_500 < population[TOWN] < 26_500


def test_employment_zones(demo_sources: DemoSources) -> None:
    path = demo_sources.files["employment_zones"][0]
    zones = _csv(path, sep=";")
    assert list(zones.columns) == [
        "CODGEO", "LIBGEO", "ZE2020", "LIBZE2020", "ZE2020_PARTIE_REG", "DEP", "REG",
    ]  # fmt: skip
    perimeter = zones[zones["CODGEO"].isin(demo_sources.communes)]
    assert len(perimeter) == len(demo_sources.communes)
    assert perimeter["ZE2020"].nunique() == 1
    assert zones["ZE2020"].str.fullmatch(r"\d{4}").all()
