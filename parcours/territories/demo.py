"""The embedded demo territory: a FICTIONAL French agglomeration written as real source files.

:func:`write_demo_sources` writes, into one folder, the files a planner would download for a
real territory (OSM PBF, two GTFS feeds, the Filosofi 200 m grid, SIRENE and its geolocation
file, BPE, BNLC, GBFS, QPV contours, communes, employment zones, the MOBPRO commuting
detail file, the BAN addresses), in their official formats, for an invented agglomeration:
Montclerval (about 25,000 inhabitants), four periurban communes and eight villages up to
25 km away, one EPCI and one employment zone, plus a neighbouring town 35 km away
(Pontreval) with the training centre of the long-distance cases.

Nothing here describes a real place. The territory sits in Lambert-93 around
x = 700,000 m, y = 6,600,000 m (metropolitan France) so that every CRS-dependent path of
parcours runs as on real data; its INSEE codes use the real format in département 03 but
with commune numbers 950 to 963, which no commune holds (the département's codes stop
near 03321). Everything is drawn from one :class:`numpy.random.Generator`: the same seed
writes byte-identical files (no timestamps are taken from the clock). The files added
later draw from generators of their own, derived from the seed (MOBPRO, the BAN
addresses), so that adding them changed no byte of the others.

The territory carries the gaps a diagnostic must find: a logistics zone whose shifts start at
05:00-06:00 and end at 21:00-22:00 while its bus runs 07:00-19:00, little transit before
06:30, nothing after 20:30 on most routes, a reduced Saturday and no Sunday; poor households
concentrated in one QPV; villages served only by on-demand transport (GTFS route_type 715).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import math
import textwrap
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pyogrio
import shapely
from osmium.osm.mutable import Node as MutableNode
from osmium.osm.mutable import Way as MutableWay

from parcours.geo.crs import transformer
from parcours.territories.load import load_sources
from parcours.territories.manage import create_territory
from parcours.territories.readers._base import ProgressFn
from parcours.territories.readers.jobs import HEADCOUNT_JOBS
from parcours.territories.sources import INSEE_SECRET_MIN_HOUSEHOLDS
from parcours.territories.workspace import Territory, Workspace

__all__ = ["DemoSources", "load_demo", "write_demo_sources"]

XY = tuple[float, float]
Key = tuple[int, int]

# --------------------------------------------------------------------------------------
# Fixed facts of the fictional territory
# --------------------------------------------------------------------------------------

#: Lambert-93 position of the town centre (metres).
_X0, _Y0 = 700_000.0, 6_600_000.0
_DEP, _LIB_DEP = "03", "Allier"
_REG, _LIB_REG = "84", "Auvergne-Rhône-Alpes"
_EPCI_NAME = "Communauté d'agglomération Montclerval Val de Clerve"
_NEIGHBOUR_EPCI_NAME = "Communauté de communes du Pays de Pontreval"
_ZE_CODE, _ZE_NAME = "8499", "Montclerval"
_NEIGHBOUR_ZE_CODE, _NEIGHBOUR_ZE_NAME = "8498", "Pontreval"
_QPV_CODE, _QPV_NAME = "QN00391M", "Les Peupliers"
_OSM_TIMESTAMP = dt.datetime(2025, 12, 1, tzinfo=dt.UTC)
_ZIP_DATE = (2026, 1, 1, 0, 0, 0)
_GPKG_DATE = "2026-01-01T00:00:00.000Z"
_GBFS_LAST_UPDATED = 1_767_225_600  # 2026-01-01T00:00:00Z
_FEED_START, _FEED_END = "20260105", "20261231"
#: French public holidays of 2026 falling inside the feeds' validity (Monday to Saturday).
_HOLIDAYS_WEEKDAY = (
    "20260406",  # lundi de Pâques
    "20260501",  # fête du Travail
    "20260508",  # Victoire 1945
    "20260514",  # Ascension
    "20260525",  # lundi de Pentecôte
    "20260714",  # fête nationale
    "20261111",  # Armistice
    "20261225",  # Noël
)
_HOLIDAYS_SATURDAY = ("20260815",)  # Assomption

#: Columns of the Filosofi 2019 200 m grid, in INSEE's order.
FILOSOFI_2019_COLUMNS: tuple[str, ...] = (
    "idcar_200m", "idcar_1km", "idcar_nat", "i_est_200", "i_est_1km", "lcog_geo", "ind", "men",
    "men_pauv", "men_1ind", "men_5ind", "men_prop", "men_fmp", "ind_snv", "men_surf", "men_coll",
    "men_mais", "log_av45", "log_45_70", "log_70_90", "log_ap90", "log_inc", "log_soc", "ind_0_3",
    "ind_4_5", "ind_6_10", "ind_11_17", "ind_18_24", "ind_25_39", "ind_40_54", "ind_55_64",
    "ind_65_79", "ind_80p", "ind_inc",
)  # fmt: skip

#: Columns of INSEE's SIRENE ``StockEtablissement`` file, in its order.
SIRENE_COLUMNS: tuple[str, ...] = (
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
)  # fmt: skip

#: Columns of the SIRENE geolocation file (« pour études statistiques »).
SIRENE_GEOLOCATION_COLUMNS: tuple[str, ...] = (
    "siret", "x", "y", "qualite_xy", "epsg", "plg_qp", "plg_iris", "plg_zus", "plg_qva",
    "plg_code_commune", "distance_precision", "qualite_qp", "qualite_iris", "qualite_zus",
    "qualite_qva", "y_latitude", "x_longitude",
)  # fmt: skip

#: Columns of the BPE file with coordinates (« ensemble, géolocalisé »).
BPE_COLUMNS: tuple[str, ...] = (
    "AN", "NOMRS", "CNOMRS", "NUMVOIE", "INDREP", "TYPVOIE", "LIBVOIE", "CADR", "CODPOS",
    "DEPCOM", "DEP", "REG", "DOM", "SDOM", "TYPEQU", "SIRET", "STATUT_DIFFUSION", "LAMBERT_X",
    "LAMBERT_Y", "QUALITE_XY", "EPSG", "QUALITE_GEOC",
)  # fmt: skip

#: Columns of the national carpool-areas base (schema-lieux-covoiturage).
BNLC_COLUMNS: tuple[str, ...] = (
    "id_lieu", "id_local", "nom_lieu", "ad_lieu", "com_lieu", "insee", "type", "date_maj",
    "ouvert", "source", "Xlong", "Ylat", "nbre_pl", "nbre_pmr", "duree", "horaires", "proprio",
    "lumiere", "comm",
)  # fmt: skip

#: Columns of INSEE's employment-zone composition table.
ZE_COLUMNS: tuple[str, ...] = (
    "CODGEO", "LIBGEO", "ZE2020", "LIBZE2020", "ZE2020_PARTIE_REG", "DEP", "REG",
)  # fmt: skip

#: SIRENE headcount bands -> middle of the band (jobs), used to size the territory: the
#: reader's table, so that the demo's job totals are those a load computes.
HEADCOUNT_MIDPOINTS: dict[str, float] = HEADCOUNT_JOBS


@dataclass(frozen=True)
class DemoSources:
    """The source files of the demo territory, as written by :func:`write_demo_sources`.

    Attributes
    ----------
    directory
        The folder holding the files (and a ``README.txt``).
    files
        Loader source kind -> files: ``osm``, ``gtfs`` (urban network + regional rail),
        ``population``, ``jobs``, ``jobs_geolocation``, ``services`` (BPE + the user list of
        missions locales and CAF), ``carpool``, ``qpv``, ``bikeshare``, ``communes``,
        ``employment_zones``, ``mobpro``, ``addresses`` (the BAN file of the département:
        numbers along the PBF's named streets).
    communes
        INSEE codes of the perimeter communes (the agglomeration's EPCI; the neighbouring
        town is not part of it).
    bbox_wgs84
        ``(min lon, min lat, max lon, max lat)`` of the whole generated area (all communes,
        the neighbouring town included).
    description
        A French text describing the (fictional) territory.
    places
        Key destinations, Lambert-93 metres: ``logistics_zone`` (the main warehouse of
        the early/late-shift zone), ``hospital``, ``france_travail``, ``mission_locale``,
        ``training_centre`` (the CFA of the neighbouring town), ``station``.
    """

    directory: Path
    files: dict[str, list[Path]]
    communes: list[str]
    bbox_wgs84: tuple[float, float, float, float]
    description: str
    places: dict[str, tuple[float, float]] = field(default_factory=dict)


# --------------------------------------------------------------------------------------
# Places
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PlaceSpec:
    """A commune of the territory before jitter (offsets from the town centre, metres)."""

    key: str
    name: str
    number: int  # INSEE commune number inside the département
    postcode: str
    kind: str  # town, periurban, village, neighbour
    dx: float
    dy: float
    population: int
    spacing: float  # street grid spacing
    radius: float  # radius of the built-up area


_PLACES: tuple[_PlaceSpec, ...] = (
    _PlaceSpec("T", "Montclerval", 950, "03970", "town", 0, 0, 25_000, 160, 2000),
    _PlaceSpec("P1", "Brenac-sur-Clerve", 951, "03971", "periurban", 5200, 3000, 4200, 150, 520),
    _PlaceSpec("P2", "Les Essarts-Fouquet", 952, "03972", "periurban", -4800, 3200, 3100, 150, 480),
    _PlaceSpec(
        "P3", "Saint-Ours-la-Plaine", 953, "03973", "periurban", -2800, -5200, 2600, 150, 450
    ),
    _PlaceSpec("P4", "Lavergne-en-Clerve", 954, "03974", "periurban", 3800, -5000, 3600, 150, 500),
    _PlaceSpec("V1", "Orbazac", 955, "03975", "village", 11000, 9500, 1100, 130, 200),
    _PlaceSpec("V2", "Sauvelande", 956, "03976", "village", -13500, 5000, 650, 120, 180),
    _PlaceSpec("V3", "Mirevault", 957, "03977", "village", 1500, 15500, 480, 120, 180),
    _PlaceSpec("V4", "Grangeroux", 958, "03978", "village", -8500, -14500, 820, 120, 180),
    _PlaceSpec(
        "V5", "Chazelières-sur-Clerve", 959, "03975", "village", 14500, -10500, 390, 120, 180
    ),
    _PlaceSpec("V6", "Puyvalon", 960, "03976", "village", -20000, -4000, 560, 120, 180),
    _PlaceSpec("V7", "Combelonge", 961, "03975", "village", 21000, 1500, 720, 120, 180),
    _PlaceSpec("V8", "Vaudrelle", 962, "03977", "village", -6000, 21000, 300, 120, 180),
    _PlaceSpec("N", "Pontreval", 963, "03979", "neighbour", -33000, 12000, 11_000, 180, 1500),
)

_TOWN_ROW_NAMES = (
    "Rue des Tanneurs", "Rue du Moulin", "Rue Pasteur", "Rue des Écoles", "Rue Jean Moulin",
    "Rue de la Fontaine", "Boulevard du Midi", "Rue des Tilleuls", "Rue Victor Hugo",
    "Rue des Jardins", "Rue de la Poste", "Rue du Marché", "Avenue de la République",
    "Rue de la Halle", "Rue Émile Zola", "Rue des Lilas", "Rue Jules Ferry", "Rue des Vergers",
    "Boulevard du Nord", "Rue de la Gare", "Rue Gambetta", "Rue des Prés", "Rue Voltaire",
    "Rue des Vignes", "Rue du Stade",
)  # fmt: skip
_TOWN_COL_NAMES = (
    "Rue des Acacias", "Rue de Verdun", "Rue des Charmes", "Rue Louis Pergaud", "Rue du Four",
    "Rue Lamartine", "Boulevard de l'Ouest", "Rue des Cordiers", "Rue Anatole France",
    "Rue du Château", "Rue Saint-Martin", "Rue de l'Église", "Boulevard Carnot",
    "Rue des Carmes", "Rue de la Liberté", "Rue Paul Bert", "Rue des Peupliers",
    "Rue du Parc", "Boulevard de l'Est", "Rue de la Clerve", "Rue Jean Jaurès",
    "Rue des Mésanges", "Rue de la Forge", "Rue des Glycines", "Rue des Sables",
)  # fmt: skip
_SMALL_STREET_NAMES = (
    "Grande Rue", "Rue de l'Église", "Rue du Stade", "Allée des Chênes", "Rue des Écoles",
    "Chemin des Prés", "Rue du Lavoir", "Impasse des Noyers", "Rue de la Mairie",
    "Allée des Bleuets", "Rue des Sources", "Chemin du Moulin",
)  # fmt: skip

_STREET_TYPES = {
    "Rue": "RUE", "Avenue": "AV", "Boulevard": "BD", "Place": "PL", "Allée": "ALL",
    "Impasse": "IMP", "Chemin": "CHE", "Route": "RTE",
}  # fmt: skip


@dataclass
class _Place:
    """A commune with its absolute position and street grid (Lambert-93)."""

    spec: _PlaceSpec
    x: float
    y: float
    grid: dict[Key, XY]
    row_names: dict[int, str]
    col_names: dict[int, str]

    @property
    def insee(self) -> str:
        return f"{_DEP}{self.spec.number:03d}"

    @property
    def name(self) -> str:
        return self.spec.name

    def boundary(self) -> list[Key]:
        """Grid nodes with fewer than four neighbours (where country roads start)."""
        out = []
        for i, j in self.grid:
            around = ((i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1))
            if sum(k in self.grid for k in around) < 4:
                out.append((i, j))
        return out

    def gate(self, toward: XY) -> XY:
        """The boundary node nearest to a point outside the place."""
        best = min(self.boundary(), key=lambda k: _dist(self.grid[k], toward))
        return self.grid[best]


@dataclass
class _Site:
    """A located facility (service, employer, stop): Lambert-93 point and its address."""

    x: float
    y: float
    place: str
    street: str


@dataclass
class _World:
    """Everything later steps share: places, communes, key sites."""

    rng: np.random.Generator
    places: dict[str, _Place]
    communes: dict[str, shapely.Polygon]  # place key -> polygon (Lambert-93)
    qpv: shapely.Polygon
    za_grid: dict[Key, XY]
    station: XY
    rail_stations: dict[str, XY]
    roundabout: dict[str, XY]
    interchange: dict[str, XY]
    sites: dict[str, _Site] = field(default_factory=dict)
    rural_lines: list[list[XY]] = field(default_factory=list)
    bus_stops: dict[str, tuple[str, XY]] = field(default_factory=dict)

    @property
    def town(self) -> _Place:
        return self.places["T"]

    def g(self, i: int, j: int) -> XY:
        """Town grid node (i, j)."""
        return self.town.grid[(i, j)]

    def place_of(self, x: float, y: float) -> str:
        """Key of the commune containing a point (nearest commune when outside all)."""
        for key, poly in self.communes.items():
            if shapely.contains_xy(poly, x, y):
                return key
        return min(self.communes, key=lambda k: self.communes[k].distance(shapely.Point(x, y)))


def _dist(a: XY, b: XY) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def _luhn_ok(digits: str) -> bool:
    """Whether a digit string passes the Luhn check (SIREN, SIRET)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _luhn_complete(prefix: str) -> str:
    """Append the digit that makes ``prefix`` Luhn-valid."""
    for char in "0123456789":
        if _luhn_ok(prefix + char):
            return prefix + char
    raise AssertionError("unreachable: one digit always completes a Luhn number")


_EPCI_SIREN = _luhn_complete("20009950")
_NEIGHBOUR_EPCI_SIREN = _luhn_complete("20009951")


def _ascii_upper(text: str) -> str:
    """Upper-case without accents, as INSEE writes addresses (``L EGLISE``)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return plain.upper().replace("'", " ")


def _split_street(street: str) -> tuple[str, str]:
    """``"Rue des Acacias"`` -> ``("RUE", "DES ACACIAS")`` (SIRENE/BPE address fields)."""
    first, _, rest = street.partition(" ")
    if first in _STREET_TYPES:
        return _STREET_TYPES[first], _ascii_upper(rest)
    return "", _ascii_upper(street)


def _make_grid(
    cx: float, cy: float, spacing: float, radius: float, rng: np.random.Generator, jitter: float
) -> dict[Key, XY]:
    n = int(radius // spacing)
    grid: dict[Key, XY] = {}
    for i in range(-n, n + 1):
        for j in range(-n, n + 1):
            if math.hypot(i * spacing, j * spacing) <= radius + 1e-6:
                jx, jy = rng.normal(0.0, jitter, 2) if jitter > 0 else (0.0, 0.0)
                grid[(i, j)] = (round(cx + i * spacing + jx, 2), round(cy + j * spacing + jy, 2))
    return grid


def _build_world(rng: np.random.Generator) -> _World:
    places: dict[str, _Place] = {}
    for spec in _PLACES:
        if spec.key == "T":
            x, y = _X0, _Y0
        else:
            x = _X0 + spec.dx + float(rng.uniform(-150, 150))
            y = _Y0 + spec.dy + float(rng.uniform(-150, 150))
        jitter = 9.0 if spec.kind in ("town", "neighbour") else 6.0
        grid = _make_grid(x, y, spec.spacing, spec.radius, rng, jitter)
        n = int(spec.radius // spec.spacing)
        if spec.key == "T":
            rows = {j: _TOWN_ROW_NAMES[j + 12] for j in range(-n, n + 1)}
            cols = {i: _TOWN_COL_NAMES[i + 12] for i in range(-n, n + 1)}
        else:
            names = list(_SMALL_STREET_NAMES)
            order = rng.permutation(len(names))
            rows = {j: names[order[(j + n) % len(names)]] for j in range(-n, n + 1)}
            cols = {i: names[order[(i + n + 6) % len(names)]] for i in range(-n, n + 1)}
            rows[0] = "Grande Rue"
        places[spec.key] = _Place(spec, x, y, grid, rows, cols)

    # Communes: Voronoi cells of the centres, clipped to a buffered hull.
    centres = shapely.MultiPoint([(p.x, p.y) for p in places.values()])
    hull = shapely.convex_hull(centres).buffer(7000.0, quad_segs=4)
    cells = shapely.get_parts(shapely.voronoi_polygons(centres, extend_to=hull))
    communes: dict[str, shapely.Polygon] = {}
    for key, place in places.items():
        for cell in cells:
            if shapely.contains_xy(cell, place.x, place.y):
                poly = shapely.intersection(cell, hull)
                communes[key] = shapely.set_precision(poly, 0.01)
                break

    t = places["T"]
    # The QPV "Les Peupliers": high-rise blocks south-east of the centre.
    qx, qy = t.x + 1300.0, t.y - 880.0
    angles = np.linspace(0.0, 2.0 * math.pi, 9)[:-1]
    radii = np.array([380, 330, 300, 340, 400, 350, 290, 330], dtype=float) * rng.uniform(
        0.92, 1.08, 8
    )
    qpv = shapely.Polygon(
        [
            (round(qx + r * math.cos(a) * 1.2, 1), round(qy + r * math.sin(a), 1))
            for r, a in zip(radii, angles, strict=True)
        ]
    )

    # Logistics zone "Parc d'activités des Grandes Terres", outside the town, by the motorway.
    za_grid = {
        (i, j): (t.x + 5580.0 + 230.0 * i, t.y - 1760.0 - 220.0 * j)
        for i in range(3)
        for j in range(3)
    }
    east = t.grid[(12, 0)]
    rc = (east[0] + 45.0, east[1])
    roundabout = {
        "W": (rc[0] - 25.0, rc[1]),
        "N": (rc[0], rc[1] + 25.0),
        "E": (rc[0] + 25.0, rc[1]),
        "S": (rc[0], rc[1] - 25.0),
        "C": rc,
    }
    interchange = {
        "W": (t.x + 7400.0, t.y - 1500.0),
        "E": (t.x + 7600.0, t.y - 1500.0),
        "ZA": (t.x + 5810.0, t.y - 1500.0),
        "X": (t.x + 3500.0, t.y - 700.0),
    }
    station = (t.x - 1150.0, t.y + 1050.0)
    rail_stations = {
        "N": (places["N"].x + 420.0, places["N"].y - 880.0),
        "V2": (places["V2"].x + 80.0, places["V2"].y - 380.0),
        "P2": (places["P2"].x + 150.0, places["P2"].y - 720.0),
        "T": station,
    }
    return _World(
        rng=rng,
        places=places,
        communes=communes,
        qpv=qpv,
        za_grid=za_grid,
        station=station,
        rail_stations=rail_stations,
        roundabout=roundabout,
        interchange=interchange,
    )


def _site(world: _World, key: str, xy: XY, street: str, offset: XY = (14.0, 11.0)) -> _Site:
    x, y = xy[0] + offset[0], xy[1] + offset[1]
    site = _Site(round(x, 2), round(y, 2), world.place_of(x, y), street)
    world.sites[key] = site
    return site


def _place_sites(world: _World) -> None:
    """The named facilities of the territory (shared by OSM, SIRENE, BPE and GTFS)."""
    t = world.town
    s = _site
    s(world, "mairie", world.g(0, 1), t.col_names[0])
    s(world, "hopital", world.g(7, 8), t.row_names[8], (40.0, 40.0))
    s(world, "france_travail", world.g(2, -2), t.row_names[-2])
    s(world, "mission_locale", world.g(-1, 2), t.row_names[2])
    s(world, "caf", world.g(1, 3), t.row_names[3])
    s(world, "hyper", world.g(11, -3), t.row_names[-3], (30.0, -40.0))
    s(world, "super_ouest", world.g(-6, -4), t.row_names[-4])
    s(world, "super_nord", world.g(3, 9), t.row_names[9])
    s(world, "lycee", world.g(-4, -9), t.row_names[-9], (40.0, 30.0))
    s(world, "lycee_pro", world.g(5, -10), t.row_names[-10], (40.0, 30.0))
    s(world, "college_est", world.g(4, 4), t.row_names[4])
    s(world, "college_ouest", world.g(-8, -2), t.row_names[-2])
    s(world, "cinema", world.g(-1, -1), t.row_names[-1])
    s(world, "poste", world.g(1, 0), t.row_names[0], (12.0, -15.0))
    s(world, "gare", world.station, "Place de la Gare", (0.0, 0.0))
    for n, (i, j) in enumerate(
        ((-5, 5), (3, -5), (8, -6), (-3, -6), (6, 2), (-9, 3), (0, 9), (9, -7))
    ):
        s(world, f"ecole_{n}", world.g(i, j), t.row_names[j])
    for n, (i, j) in enumerate(((2, 2), (-4, 1), (9, -5))):
        s(world, f"creche_{n}", world.g(i, j), t.row_names[j], (-15.0, 14.0))
    for n, (i, j) in enumerate(((0, 2), (-2, 0), (3, -1), (1, -4), (-5, 3), (6, 6), (8, -4))):
        s(world, f"medecin_{n}", world.g(i, j), t.row_names[j], (-12.0, -13.0))
    for n, (i, j) in enumerate(((-2, 1), (4, 0), (9, -3))):
        s(world, f"pharmacie_{n}", world.g(i, j), t.row_names[j], (13.0, -12.0))
    for n, (i, j) in enumerate(((-3, 2), (5, -2), (-7, -3))):
        s(world, f"auto_ecole_{n}", world.g(i, j), t.row_names[j], (-14.0, 12.0))
    # Periurban communes and villages.
    for key in ("P1", "P2", "P3", "P4"):
        p = world.places[key]
        s(world, f"ecole_{key}", p.grid[(1, 1)], p.row_names[1])
        s(world, f"mairie_{key}", p.grid[(0, 0)], p.row_names[0], (15.0, 15.0))
        s(world, f"medecin_{key}", p.grid[(-1, 0)], p.row_names[0], (-12.0, -13.0))
        s(world, f"creche_{key}", p.grid[(0, -1)], p.row_names[-1], (-15.0, 14.0))
    s(world, "super_P1", world.places["P1"].grid[(2, 0)], "Grande Rue", (25.0, -30.0))
    s(world, "college_P2", world.places["P2"].grid[(-2, 1)], world.places["P2"].row_names[1])
    s(world, "france_services_P3", world.places["P3"].grid[(1, 0)], "Grande Rue", (12.0, -14.0))
    s(world, "france_services_V6", world.places["V6"].grid[(0, 1)], "Grande Rue", (12.0, 14.0))
    s(world, "superette_V2", world.places["V2"].grid[(1, 0)], "Grande Rue")
    for key in ("V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8"):
        p = world.places[key]
        s(world, f"mairie_{key}", p.grid[(0, 0)], "Grande Rue", (15.0, 15.0))
    for key in ("V1", "V4"):
        s(world, f"ecole_{key}", world.places[key].grid[(-1, 0)], "Grande Rue", (12.0, -14.0))
        s(world, f"medecin_{key}", world.places[key].grid[(1, 1)], "Grande Rue", (-12.0, -13.0))
    s(world, "auto_ecole_P1", world.places["P1"].grid[(0, 1)], world.places["P1"].row_names[1])
    # Logistics zone.
    za = world.za_grid
    s(world, "za_entrepot", za[(0, 1)], "Rue de l'Entrepôt", (60.0, -60.0))
    s(world, "za_froid", za[(2, 1)], "Rue de l'Entrepôt", (-60.0, -60.0))
    s(world, "za_messagerie", za[(1, 2)], "Rue des Transporteurs", (60.0, 50.0))
    s(world, "za_transport", za[(0, 2)], "Rue des Transporteurs", (40.0, 40.0))
    s(world, "za_agro", za[(2, 2)], "Rue des Transporteurs", (-50.0, 40.0))
    s(world, "za_plasturgie", za[(2, 0)], "Rue des Grandes Terres", (-50.0, -40.0))
    s(world, "za_nettoyage", za[(1, 0)], "Rue des Grandes Terres", (20.0, -30.0))
    # Neighbouring town: the training centre of the long-distance cases.
    pontreval = world.places["N"]
    s(world, "cfa", pontreval.grid[(2, 1)], pontreval.row_names[1], (40.0, 30.0))
    s(world, "gare_N", world.rail_stations["N"], "Place de la Gare", (0.0, 0.0))
    s(world, "hopital_N", pontreval.grid[(-3, 2)], pontreval.row_names[2], (40.0, 40.0))
    s(world, "france_travail_N", pontreval.grid[(0, -1)], pontreval.row_names[-1])


# --------------------------------------------------------------------------------------
# OSM road network
# --------------------------------------------------------------------------------------


@dataclass
class _PlannedWay:
    coords: list[XY]
    tags: dict[str, str]
    crossable: bool = True


def _key(p: XY) -> Key:
    return (round(p[0] * 100.0), round(p[1] * 100.0))


def _wiggle(
    p: XY, q: XY, rng: np.random.Generator, step: float = 280.0, amp_max: float = 160.0
) -> list[XY]:
    """A country road from p to q: a gentle meander, exact end points."""
    length = _dist(p, q)
    n = max(1, int(length // step))
    t = np.linspace(0.0, 1.0, n + 1)
    a1, a2 = (min(amp_max, length / 18.0) * rng.uniform(-1.0, 1.0, 2)).tolist()
    offset = a1 * np.sin(math.pi * t) + a2 * np.sin(2.0 * math.pi * t) * 0.5
    ux, uy = (q[0] - p[0]) / length, (q[1] - p[1]) / length
    xs = p[0] + t * (q[0] - p[0]) - offset * uy
    ys = p[1] + t * (q[1] - p[1]) + offset * ux
    pts = [(round(float(x), 2), round(float(y), 2)) for x, y in zip(xs, ys, strict=True)]
    pts[0], pts[-1] = p, q
    return pts


class _OsmPlan:
    """Ways and nodes of the demo PBF, in Lambert-93 until written."""

    def __init__(self) -> None:
        self.ways: list[_PlannedWay] = []
        self.others: list[_PlannedWay] = []  # railways, areas: no automatic crossings
        self.node_tags: dict[Key, dict[str, str]] = {}
        self.pois: list[tuple[XY, dict[str, str]]] = []

    def road(
        self,
        coords: Sequence[XY],
        tags: dict[str, str],
        *,
        max_nodes: int = 14,
        crossable: bool = True,
    ) -> None:
        """Add a highway, split into ways of at most ``max_nodes`` nodes."""
        pts = list(coords)
        start = 0
        while start < len(pts) - 1:
            end = min(len(pts) - 1, start + max_nodes - 1)
            self.ways.append(_PlannedWay(pts[start : end + 1], dict(tags), crossable))
            start = end

    def other(self, coords: Sequence[XY], tags: dict[str, str]) -> None:
        self.others.append(_PlannedWay(list(coords), dict(tags), False))

    def tag_node(self, p: XY, tags: dict[str, str]) -> None:
        self.node_tags.setdefault(_key(p), {}).update(tags)

    def resolve_crossings(self) -> int:
        """Insert a shared node wherever two crossable ways cross (at-grade junctions)."""
        idx = [k for k, w in enumerate(self.ways) if w.crossable]
        lines = [shapely.LineString(self.ways[k].coords) for k in idx]
        tree = shapely.STRtree(lines)
        left, right = tree.query(lines, predicate="intersects")
        keep = left < right
        left, right = left[keep], right[keep]
        inter = shapely.intersection(
            np.asarray(lines, dtype=object)[left], np.asarray(lines, dtype=object)[right]
        )
        inserts: dict[int, list[XY]] = {}
        added = 0
        for a, b, geom in zip(left.tolist(), right.tolist(), inter, strict=True):
            wa, wb = self.ways[idx[a]], self.ways[idx[b]]
            for pt in shapely.get_parts(geom):
                if shapely.get_type_id(pt) != 0:  # overlapping segments: leave them
                    continue
                p = (float(shapely.get_x(pt)), float(shapely.get_y(pt)))
                near = [c for c in (*wa.coords, *wb.coords) if _dist(c, p) < 0.5]
                p = near[0] if near else (round(p[0], 2), round(p[1], 2))
                for k, w in ((idx[a], wa), (idx[b], wb)):
                    if all(_key(c) != _key(p) for c in w.coords):
                        inserts.setdefault(k, []).append(p)
                        added += 1
        for k, pts in inserts.items():
            way = self.ways[k]
            line = shapely.LineString(way.coords)
            cum = [0.0]
            for c0, c1 in zip(way.coords[:-1], way.coords[1:], strict=True):
                cum.append(cum[-1] + _dist(c0, c1))
            merged = [(d, 0, c) for d, c in zip(cum, way.coords, strict=True)]
            merged += [(float(line.project(shapely.Point(p))), 1, p) for p in pts]
            merged.sort(key=lambda item: (item[0], item[1]))
            coords: list[XY] = []
            for _, _, c in merged:
                if not coords or _key(coords[-1]) != _key(c):
                    coords.append(c)
            way.coords = coords
        return added


def _plan_roads(world: _World) -> _OsmPlan:
    """Plan every way of the demo PBF (in Lambert-93), before crossings are resolved."""
    plan = _OsmPlan()
    _plan_town_grid(world, plan)
    _plan_motorway(world, plan)
    _plan_country_roads(world, plan)
    _plan_small_places(world, plan)
    _plan_logistics_zone(world, plan)
    _plan_paths(world, plan)
    _plan_railway(world, plan)
    return plan


def _plan_town_grid(world: _World, plan: _OsmPlan) -> None:
    """Town streets (rows and columns split into ways), the roundabout, traffic lights."""
    rng = world.rng
    t = world.town
    n = int(t.spec.radius // t.spec.spacing)
    for axis in ("row", "col"):
        for line in range(-n, n + 1):
            keys = [(k, line) if axis == "row" else (line, k) for k in range(-n, n + 1)]
            runs: list[list[Key]] = [[]]
            for key in keys:
                if key in t.grid:
                    runs[-1].append(key)
                elif runs[-1]:
                    runs.append([])
            for segment in (r for r in runs if len(r) > 1):
                # Ways break where the street changes class (ring, axes, centre).
                along = [k[0] if axis == "row" else k[1] for k in segment]
                start = 0
                while start < len(segment) - 1:
                    stop = min(len(segment) - 1, start + int(rng.integers(3, 6)))
                    for cut in range(start + 1, stop):
                        if along[cut] in _TOWN_BREAKS:
                            stop = cut
                            break
                    _town_street(plan, world, axis, line, segment[start : stop + 1])
                    start = stop
    # Roundabout at the east entrance, drawn counter-clockwise as driven in France.
    rb = world.roundabout
    cx, cy = rb["C"]
    ring: list[XY] = []
    for angle in np.radians(np.arange(180, 540, 30)).tolist():
        p = (round(cx + 25.0 * math.cos(angle), 2), round(cy + 25.0 * math.sin(angle), 2))
        ring.append(next((rb[s] for s in "WSEN" if _dist(p, rb[s]) < 0.1), p))
    roundabout = {"highway": "primary", "junction": "roundabout", "ref": "D 707"}
    plan.road([*ring, ring[0]], roundabout | {"maxspeed": "50", "lanes": "1"}, max_nodes=20)
    avenue = {"highway": "primary", "ref": "D 707", "name": "Avenue de la République"}
    plan.road([t.grid[(12, 0)], rb["W"]], avenue | {"maxspeed": "50"})
    for key in ((0, 0), (0, 6), (0, -6), (6, 0), (-6, 0)):
        plan.tag_node(t.grid[key], {"highway": "traffic_signals"})


def _plan_motorway(world: _World, plan: _OsmPlan) -> None:
    """Motorway A 98: two one-way carriageways and a diamond interchange (exit 12)."""
    ic = world.interchange
    xm, ym = ic["W"][0] + 100.0, ic["W"][1]
    nb_off, nb_on = (xm + 15.0, ym - 800.0), (xm + 15.0, ym + 800.0)
    sb_off, sb_on = (xm - 15.0, ym + 800.0), (xm - 15.0, ym - 800.0)
    # The motorway crosses the whole area, from one edge of the communes to the other.
    extent = shapely.union_all(list(world.communes.values()))
    axis = shapely.LineString([(xm, _Y0 - 99_000.0), (xm, _Y0 + 99_000.0)])
    bounds = shapely.bounds(shapely.intersection(axis, extent)).tolist()
    south, north = bounds[1] + 300.0, bounds[3] - 300.0
    motorway = {"highway": "motorway", "ref": "A 98", "oneway": "yes", "maxspeed": "130"}
    motorway["lanes"] = "2"
    nb_south = [(xm + 15.0, y) for y in np.arange(south, nb_off[1], 1000.0).tolist()]
    nb_north = [(xm + 15.0, y) for y in np.arange(nb_on[1] + 1000.0, north, 1000.0).tolist()]
    sb_north = [(xm - 15.0, y) for y in np.arange(north, sb_off[1], -1000.0).tolist()]
    sb_south = [(xm - 15.0, y) for y in np.arange(sb_on[1] - 1000.0, south, -1000.0).tolist()]
    for coords in ([*nb_south, nb_off], [nb_off, nb_on], [nb_on, *nb_north]):
        plan.road(coords, motorway, crossable=False)
    for coords in ([*sb_north, sb_off], [sb_off, sb_on], [sb_on, *sb_south]):
        plan.road(coords, motorway, crossable=False)
    link = {"highway": "motorway_link", "oneway": "yes", "maxspeed": "70"}
    ramps: list[tuple[list[XY], str]] = [
        ([nb_off, (xm + 60.0, ym - 420.0), ic["E"]], "Montclerval;Zone d'activités"),
        ([ic["E"], (xm + 60.0, ym + 420.0), nb_on], "Paris"),
        ([sb_off, (xm - 60.0, ym + 420.0), ic["W"]], "Montclerval"),
        ([ic["W"], (xm - 60.0, ym - 420.0), sb_on], "Clermont"),
    ]
    for coords, destination in ramps:
        plan.road(coords, link | {"destination": destination}, crossable=False)
    for node in (nb_off, sb_off):
        plan.tag_node(node, {"highway": "motorway_junction", "ref": "12", "name": "Montclerval"})


#: Country roads: (from, to, tags). Ends are place keys (the nearest edge of the place's
#: streets), ``T:W``/``T:N``/``T:S`` (town gates), ``RB:N``/``RB:S`` (roundabout exits) or
#: ``ZA:S`` (the logistics zone's south-west corner).
_COUNTRY_ROADS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("N", "V2", {"highway": "primary", "ref": "D 707", "name": "Route de Pontreval"}),
    ("V2", "P2", {"highway": "primary", "ref": "D 707", "maxspeed": "80"}),
    ("P2", "T:W", {"highway": "primary", "ref": "D 707", "cycleway:right": "lane"}),
    ("T:N", "V3", {"highway": "secondary", "ref": "D 12", "maxspeed": "80"}),
    ("V3", "V8", {"highway": "secondary", "ref": "D 12", "maxspeed": "80"}),
    ("T:S", "P3", {"highway": "secondary", "ref": "D 23", "maxspeed": "80"}),
    ("P3", "V4", {"highway": "secondary", "ref": "D 23", "maxspeed": "80"}),
    ("RB:N", "P1", {"highway": "secondary", "ref": "D 31", "cycleway:right": "track"}),
    ("P1", "V1", {"highway": "secondary", "ref": "D 31", "maxspeed": "80"}),
    ("RB:S", "P4", {"highway": "secondary", "ref": "D 45", "maxspeed": "80"}),
    ("P4", "V5", {"highway": "secondary", "ref": "D 45", "maxspeed": "80"}),
    ("P2", "V8", {"highway": "tertiary", "ref": "D 131"}),
    ("V2", "V6", {"highway": "tertiary", "ref": "D 214", "maxspeed": "80"}),
    ("V6", "P3", {"highway": "tertiary", "ref": "D 215"}),
    ("V1", "V7", {"highway": "tertiary", "ref": "D 310", "maxspeed": "80"}),
    ("V5", "V7", {"highway": "tertiary", "ref": "D 311"}),
    ("V3", "V1", {"highway": "tertiary", "ref": "D 132"}),
    ("P2", "P3", {"highway": "tertiary", "ref": "D 216", "maxspeed": "70"}),
    ("P4", "ZA:S", {"highway": "tertiary", "ref": "D 46", "maxspeed": "70"}),
    ("V4", "V6", {"highway": "unclassified"}),
    ("V4", "V5", {"highway": "unclassified"}),
    ("V2", "V8", {"highway": "unclassified"}),
    ("P1", "V3", {"highway": "unclassified"}),
    ("P3", "P4", {"highway": "unclassified", "name": "Chemin de Lavergne"}),
    ("N", "V6", {"highway": "unclassified"}),
)


def _plan_country_roads(world: _World, plan: _OsmPlan) -> None:
    """Departmental roads between the places, and the east primary through the interchange."""
    rng = world.rng
    t = world.town
    rb = world.roundabout
    ic = world.interchange
    fixed = {
        "T:W": t.grid[(-12, 0)],
        "T:N": t.grid[(0, 12)],
        "T:S": t.grid[(0, -12)],
        "RB:N": rb["N"],
        "RB:S": rb["S"],
        "ZA:S": world.za_grid[(0, 2)],
    }

    def centre(spec: str) -> XY:
        if spec in fixed:
            return fixed[spec]
        return (world.places[spec].x, world.places[spec].y)

    def end(spec: str, toward: str) -> XY:
        if spec in fixed:
            return fixed[spec]
        return world.places[spec].gate(centre(toward))

    for a, b, tags in _COUNTRY_ROADS:
        if "maxspeed" not in tags and tags["highway"] == "primary":
            tags = tags | {"maxspeed": "80"}
        pts = _wiggle(end(a, b), end(b, a), rng)
        plan.road(pts, tags, max_nodes=12)
        world.rural_lines.append(pts)
    # East primary: roundabout -> logistics zone -> interchange -> Combelonge.
    east = [
        *_wiggle(rb["E"], ic["X"], rng, amp_max=60.0)[:-1],
        *_wiggle(ic["X"], ic["ZA"], rng, amp_max=40.0)[:-1],
        ic["ZA"],
        ic["W"],
        ic["E"],
    ]
    primary = {"highway": "primary", "ref": "D 707", "maxspeed": "80"}
    plan.road(east, primary | {"lanes": "2", "name": "Route de la Croix-Blanche"})
    beyond = _wiggle(ic["E"], world.places["V7"].gate(ic["E"]), rng)
    plan.road(beyond, primary, max_nodes=12)
    world.rural_lines += [east, beyond]


def _plan_small_places(world: _World, plan: _OsmPlan) -> None:
    """Streets of the periurban communes, villages and neighbouring town; farm tracks."""
    rng = world.rng
    for key, place in world.places.items():
        if key == "T":
            continue
        m = int(place.spec.radius // place.spec.spacing)
        for axis in ("row", "col"):
            for line in range(-m, m + 1):
                keys = [(k, line) if axis == "row" else (line, k) for k in range(-m, m + 1)]
                pts = [place.grid[k] for k in keys if k in place.grid]
                if len(pts) < 2:
                    continue
                name = place.row_names[line] if axis == "row" else place.col_names[line]
                tags = {"highway": "residential", "name": name}
                if place.spec.kind == "village" or line == 0:
                    tags["maxspeed"] = "30" if place.spec.kind == "village" else "50"
                if key == "N" and line == 0:
                    tags["highway"] = "secondary"
                plan.road(pts, tags, max_nodes=6)
        # Farm tracks leaving the built-up area.
        for _ in range(2 if place.spec.kind != "neighbour" else 1):
            boundary = place.boundary()
            begin = place.grid[boundary[int(rng.integers(len(boundary)))]]
            heading = math.atan2(begin[1] - place.y, begin[0] - place.x)
            heading += float(rng.uniform(-0.5, 0.5))
            length = float(rng.uniform(700.0, 1900.0))
            finish = (
                round(begin[0] + length * math.cos(heading), 2),
                round(begin[1] + length * math.sin(heading), 2),
            )
            farm_track = {
                "highway": "track",
                "tracktype": str(rng.choice(["grade2", "grade3"])),
                "surface": str(rng.choice(["gravel", "ground", "compacted"])),
            }
            pts = _wiggle(begin, finish, rng, step=200.0, amp_max=60.0)
            plan.road(pts, farm_track, max_nodes=10)
    # An agricultural track closed to ordinary traffic.
    p3 = world.places["P3"]
    begin = p3.gate((p3.x - 2000.0, p3.y - 1000.0))
    finish = (begin[0] - 1500.0, begin[1] - 900.0)
    agricultural = {"highway": "track", "tracktype": "grade4", "motor_vehicle": "agricultural"}
    plan.road(
        _wiggle(begin, finish, rng, step=200.0, amp_max=50.0), agricultural | {"surface": "ground"}
    )


def _plan_logistics_zone(world: _World, plan: _OsmPlan) -> None:
    """Streets of the logistics zone, its private yard and the hypermarket car park."""
    za = world.za_grid
    rows = ("Rue des Grandes Terres", "Rue de l'Entrepôt", "Rue des Transporteurs")
    cols = ("Allée des Quais", "Rue de la Logistique", "Allée du Fret")
    for j in range(3):
        tags = {"highway": "unclassified", "name": rows[j], "maxspeed": "50"}
        plan.road([za[(i, j)] for i in range(3)], tags)
    for i in range(3):
        plan.road([za[(i, j)] for j in range(3)], {"highway": "unclassified", "name": cols[i]})
    access = {"highway": "unclassified", "name": "Rue de la Logistique", "maxspeed": "50"}
    plan.road([world.interchange["ZA"], za[(1, 0)]], access)
    yx, yy = za[(1, 1)]
    yard = [(yx, yy), (yx + 60.0, yy - 70.0), (yx + 150.0, yy - 90.0)]
    plan.road(yard, {"highway": "service", "access": "private", "name": "Cour logistique"})
    hyper = world.sites["hyper"]
    aisle = [world.g(11, -3), (hyper.x, hyper.y), (hyper.x + 60.0, hyper.y - 20.0)]
    plan.road(aisle, {"highway": "service", "service": "parking_aisle"})


def _plan_paths(world: _World, plan: _OsmPlan) -> None:
    """Cycle routes, the station footbridge with steps, the market square, a park path."""
    rng = world.rng
    t = world.town
    # Greenway from the south-west of the town to Saint-Ours-la-Plaine.
    start = world.g(-9, -7)
    finish = world.places["P3"].gate(start)
    mid = ((start[0] + finish[0]) / 2.0 - 350.0, (start[1] + finish[1]) / 2.0 + 150.0)
    greenway = [
        *_wiggle(start, mid, rng, step=150.0, amp_max=80.0)[:-1],
        *_wiggle(mid, finish, rng, step=150.0, amp_max=80.0),
    ]
    green = {"highway": "cycleway", "name": "Voie verte de la Clerve", "surface": "asphalt"}
    plan.road(greenway, green | {"foot": "designated", "segregated": "no"})
    # A two-way cycle track beside the south boulevard.
    south_row = [t.grid[(i, -6)] for i in range(-6, 7)]
    cycle_track = [(x, round(y - 12.0, 2)) for x, y in south_row]
    piste = {"highway": "cycleway", "name": "Piste cyclable du Boulevard du Midi"}
    plan.road(cycle_track, piste | {"surface": "asphalt", "oneway": "no"})
    plan.road([south_row[0], cycle_track[0]], {"highway": "cycleway"})
    plan.road([south_row[-1], cycle_track[-1]], {"highway": "cycleway"})

    # Footbridge with steps over the tracks, 60 m before the station.
    sx, sy = world.station
    hx, hy = world.rail_stations["P2"]
    norm = math.hypot(sx - hx, sy - hy)
    ux, uy = (sx - hx) / norm, (sy - hy) / norm
    mx, my = sx - 60.0 * ux, sy - 60.0 * uy

    def across(d: float) -> XY:
        return (round(mx - d * uy, 2), round(my + d * ux, 2))

    foot_a, deck_a, deck_b, foot_b = across(38.0), across(26.0), across(-26.0), across(-38.0)
    steps = {"highway": "steps", "incline": "up", "step_count": "26", "handrail": "yes"}
    steps["wheelchair"] = "no"
    bridge = {"highway": "footway", "bridge": "yes", "layer": "1", "wheelchair": "no"}
    plan.road([foot_a, deck_a], steps, crossable=False)
    plan.road([deck_a, deck_b], bridge | {"name": "Passerelle de la Gare"}, crossable=False)
    plan.road([foot_b, deck_b], steps, crossable=False)
    for foot in (foot_a, foot_b):
        near = min(t.grid.values(), key=lambda c: _dist(c, foot))
        plan.road([near, foot], {"highway": "footway", "surface": "asphalt", "wheelchair": "yes"})
    forecourt = {"highway": "footway", "name": "Parvis de la Gare", "wheelchair": "yes"}
    plan.road([world.g(-7, 6), world.station], forecourt, crossable=False)

    # A market square (pedestrian area) joined to the street grid.
    qx = (world.g(-1, -1)[0] + world.g(0, 0)[0]) / 2.0
    qy = (world.g(-1, -1)[1] + world.g(0, 0)[1]) / 2.0
    corners = ((-35, -30), (35, -30), (35, 30), (-35, 30), (-35, -30))
    square = [(round(qx + dx, 2), round(qy + dy, 2)) for dx, dy in corners]
    place = {"highway": "pedestrian", "area": "yes", "name": "Place du Marché"}
    plan.road(square, place | {"surface": "paving_stones"}, crossable=False)
    plan.road([world.g(0, 0), square[2]], {"highway": "footway"}, crossable=False)
    plan.road([world.g(-1, -1), square[0]], {"highway": "footway"}, crossable=False)
    # A park path through the QPV.
    centroid = world.qpv.centroid
    mall = [world.g(7, -5), (round(centroid.x, 2), round(centroid.y, 2)), world.g(9, -6)]
    plan.road(mall, {"highway": "footway", "name": "Mail des Peupliers", "wheelchair": "yes"})


def _plan_railway(world: _World, plan: _OsmPlan) -> None:
    """The regional line (not a highway: crossings with roads are bridges) and its stations."""
    rs = world.rail_stations
    rail: list[XY] = []
    for a, b in (("N", "V2"), ("V2", "P2"), ("P2", "T")):
        part = _wiggle(rs[a], rs[b], world.rng, step=400.0, amp_max=120.0)
        rail += part if not rail else part[1:]
    cuts = [0, rail.index(rs["V2"]), rail.index(rs["P2"]), len(rail) - 1]
    line = {"railway": "rail", "usage": "branch", "gauge": "1435", "electrified": "no"}
    for s0, s1 in itertools.pairwise(cuts):
        plan.other(rail[s0 : s1 + 1], line | {"name": "Ligne de Pontreval à Montclerval"})
    station = {"public_transport": "station", "train": "yes"}
    plan.tag_node(rs["T"], station | {"railway": "station", "name": "Montclerval"})
    plan.tag_node(rs["N"], station | {"railway": "station", "name": "Pontreval"})
    plan.tag_node(rs["V2"], station | {"railway": "halt", "name": "Sauvelande"})
    plan.tag_node(rs["P2"], station | {"railway": "halt", "name": "Les Essarts-Fouquet"})


#: Grid indices where town ways are split (the tertiary ring at +-6, the axes, the centre).
_TOWN_BREAKS = frozenset({-6, -4, -1, 0, 1, 2, 4, 6})


def _town_street(plan: _OsmPlan, world: _World, axis: str, line: int, chunk: list[Key]) -> None:
    """Tag one way of the town grid: hierarchy, one-way streets, zone 30, QPV."""
    t = world.town
    pts = [t.grid[k] for k in chunk]
    name = t.row_names[line] if axis == "row" else t.col_names[line]
    others = [k[0] if axis == "row" else k[1] for k in chunk]
    central = abs(line) <= 4 and all(abs(o) <= 4 for o in others)
    mid = shapely.Point(pts[len(pts) // 2])
    tags: dict[str, str] = {"name": name}
    if axis == "row" and line == 0:
        tags |= {"highway": "primary", "ref": "D 707", "maxspeed": "50"}
        tags |= {"cycleway": "lane"} if others[0] < 0 else {"cycleway:both": "lane"}
    elif axis == "col" and line == 0:
        tags |= {
            "highway": "secondary",
            "ref": "D 12" if others[0] >= 0 else "D 23",
            "maxspeed": "50",
            "cycleway:right": "lane",
            "cycleway:left": "no",
        }
    elif abs(line) == 6 and all(abs(o) <= 6 for o in others):
        tags |= {"highway": "tertiary", "maxspeed": "50", "lanes": "2"}
        if axis == "row" and line == 6:
            tags["cycleway"] = "lane"
    elif axis == "col" and line == 1 and all(-1 <= o <= 2 for o in others):
        tags |= {"highway": "pedestrian", "surface": "paving_stones"}
    elif world.qpv.contains(mid):
        tags |= {
            "highway": "living_street" if line % 2 == 0 else "residential",
            "maxspeed": "20" if line % 2 == 0 else "30",
        }
    else:
        tags["highway"] = "residential"
        if central:
            tags |= {"maxspeed": "30", "surface": "paving_stones" if abs(line) <= 1 else "asphalt"}
        elif (line + others[0]) % 3 == 0:
            tags["maxspeed"] = "50"
    if central and axis == "row" and line % 2 != 0 and tags["highway"] == "residential":
        tags["oneway"] = "yes"
        if line % 4 in (1, -3):
            pts = pts[::-1]  # one-way westwards
        if line in (1, -3):
            tags["oneway:bicycle"] = "no"
            tags["cycleway"] = "opposite_lane" if line == 1 else "opposite"
    if central and axis == "col" and line in (-3, 3) and tags["highway"] == "residential":
        tags["oneway"] = "yes"
        if line == -3:
            pts = pts[::-1]
        tags["oneway:bicycle"] = "no"
    if world.qpv.contains(mid) and axis == "col" and line == 10:
        tags["access"] = "destination"
    plan.road(pts, tags, max_nodes=len(pts))


def _add_pois(world: _World, plan: _OsmPlan) -> None:
    """Points of interest as OSM nodes (the hospital and the ZA as closed ways)."""
    sites = world.sites
    h = sites["hopital"]
    plan.other(
        [
            (h.x - 60.0, h.y - 50.0),
            (h.x + 70.0, h.y - 50.0),
            (h.x + 70.0, h.y + 60.0),
            (h.x - 60.0, h.y + 60.0),
            (h.x - 60.0, h.y - 50.0),
        ],
        {
            "amenity": "hospital",
            "building": "hospital",
            "emergency": "yes",
            "name": "Centre hospitalier de Montclerval",
            "healthcare": "hospital",
        },
    )
    za = world.za_grid
    x0, y0 = za[(0, 2)][0] - 80.0, za[(0, 2)][1] - 80.0
    x1, y1 = za[(2, 0)][0] + 80.0, za[(2, 0)][1] + 80.0
    plan.other(
        [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)],
        {"landuse": "industrial", "name": "Parc d'activités des Grandes Terres"},
    )

    def poi(key: str, tags: dict[str, str]) -> None:
        s = sites[key]
        plan.pois.append(((s.x, s.y), tags))

    poi("mairie", {"amenity": "townhall", "name": "Hôtel de ville de Montclerval"})
    poi(
        "hopital",
        {
            "amenity": "hospital",
            "name": "Centre hospitalier de Montclerval - Urgences",
            "emergency": "yes",
            "healthcare": "hospital",
        },
    )
    poi("france_travail", {"office": "employment_agency", "name": "France Travail Montclerval"})
    poi(
        "mission_locale",
        {
            "office": "association",
            "name": "Mission locale du Val de Clerve",
            "social_facility": "outreach",
        },
    )
    poi(
        "caf",
        {
            "office": "government",
            "government": "social_security",
            "name": "CAF - point d'accueil de Montclerval",
        },
    )
    poi("hyper", {"shop": "supermarket", "name": "Hyper Clerval"})
    poi("super_ouest", {"shop": "supermarket", "name": "Marché des Tanneurs"})
    poi("super_nord", {"shop": "supermarket", "name": "Supermarché du Nord"})
    poi("super_P1", {"shop": "supermarket", "name": "Supermarché de Brenac"})
    poi("superette_V2", {"shop": "convenience", "name": "Épicerie de Sauvelande"})
    poi("lycee", {"amenity": "school", "name": "Lycée Jean Moulin"})
    poi("lycee_pro", {"amenity": "school", "name": "Lycée professionnel des Métiers de la Clerve"})
    poi("college_est", {"amenity": "school", "name": "Collège Marie Curie"})
    poi("college_ouest", {"amenity": "school", "name": "Collège Louis Pergaud"})
    poi("college_P2", {"amenity": "school", "name": "Collège des Essarts"})
    poi("cinema", {"amenity": "cinema", "name": "Cinéma Le Clerval"})
    poi("poste", {"amenity": "post_office", "name": "La Poste Montclerval"})
    poi("cfa", {"amenity": "college", "name": "CFA interprofessionnel de Pontreval"})
    poi(
        "hopital_N",
        {"amenity": "hospital", "name": "Hôpital de Pontreval", "healthcare": "hospital"},
    )
    poi(
        "france_services_P3",
        {"office": "government", "name": "France Services Saint-Ours-la-Plaine"},
    )
    poi("france_services_V6", {"office": "government", "name": "France Services Puyvalon"})
    for key in sorted(sites):
        if key.startswith("ecole_"):
            poi(
                key,
                {
                    "amenity": "school",
                    "name": "École " + ("élémentaire" if key[-1] in "0246" else "primaire"),
                },
            )
        elif key.startswith("creche_"):
            poi(key, {"amenity": "kindergarten", "name": "Crèche multi-accueil"})
        elif key.startswith("medecin_"):
            poi(key, {"amenity": "doctors", "healthcare": "doctor", "name": "Cabinet médical"})
        elif key.startswith("pharmacie_"):
            poi(key, {"amenity": "pharmacy", "healthcare": "pharmacy", "name": "Pharmacie"})
        elif key.startswith("auto_ecole_"):
            poi(key, {"amenity": "driving_school", "name": "Auto-école"})
        elif key.startswith("mairie_"):
            poi(key, {"amenity": "townhall", "name": "Mairie de " + world.places[key[7:]].name})


def _write_pbf(
    path: Path, plan: _OsmPlan, bbox: tuple[float, float, float, float]
) -> tuple[int, int]:
    """Write the plan as an OSM PBF with node locations; returns (nodes, ways)."""
    ids: dict[Key, int] = {}
    coords: list[XY] = []
    all_ways = plan.ways + plan.others
    for way in all_ways:
        for p in way.coords:
            k = _key(p)
            if k not in ids:
                ids[k] = len(coords) + 1
                coords.append(p)
    poi_start = len(coords) + 1
    coords += [p for p, _ in plan.pois]
    to_wgs = transformer(2154, 4326)
    lon, lat = to_wgs.transform(np.array([c[0] for c in coords]), np.array([c[1] for c in coords]))
    lon, lat = np.round(lon, 7), np.round(lat, 7)
    key_tags = {ids[k]: tags for k, tags in plan.node_tags.items() if k in ids}
    header = osmium.io.Header()
    header.set("generator", "parcours demo territory (fictional)")
    header.add_box(
        osmium.osm.Box(osmium.osm.Location(bbox[0], bbox[1]), osmium.osm.Location(bbox[2], bbox[3]))
    )
    if path.exists():
        path.unlink()
    writer = osmium.SimpleWriter(osmium.io.File(str(path), "pbf"), header=header)
    try:
        for index in range(len(coords)):
            node_id = index + 1
            tags = (
                plan.pois[node_id - poi_start][1]
                if node_id >= poi_start
                else key_tags.get(node_id, {})
            )
            writer.add_node(
                MutableNode(
                    id=node_id,
                    location=(float(lon[index]), float(lat[index])),
                    tags=tags,
                    version=1,
                    timestamp=_OSM_TIMESTAMP,
                    changeset=1,
                    uid=1,
                    user="parcours-demo",
                )
            )
        for way_id, way in enumerate(all_ways, start=1):
            refs = [ids[_key(p)] for p in way.coords]
            writer.add_way(
                MutableWay(
                    id=way_id,
                    nodes=refs,
                    tags=way.tags,
                    version=1,
                    timestamp=_OSM_TIMESTAMP,
                    changeset=1,
                    uid=1,
                    user="parcours-demo",
                )
            )
    finally:
        writer.close()
    return len(coords), len(all_ways)


# --------------------------------------------------------------------------------------
# Addresses: the Base Adresse Nationale (BAN) file of the département
# --------------------------------------------------------------------------------------

#: Columns of the BAN « adresses-DD.csv » files (adresse.data.gouv.fr), in their order.
BAN_COLUMNS: tuple[str, ...] = (
    "id", "id_fantoir", "numero", "rep", "nom_voie", "code_postal", "code_insee",
    "nom_commune", "code_insee_ancienne_commune", "nom_ancienne_commune", "x", "y", "lon",
    "lat", "type_position", "alias", "nom_ld", "libelle_acheminement", "nom_afnor",
    "source_position", "source_nom_voie", "certification_commune", "cad_parcelles",
)  # fmt: skip

#: Highways along which houses are numbered (not paths, yards or squares).
_ADDRESSED_HIGHWAYS = frozenset(
    {"residential", "living_street", "primary", "secondary", "tertiary", "unclassified",
     "pedestrian"}
)  # fmt: skip
#: Distance between two numbers of one side of a street (metres), by kind of place.
_ADDRESS_STEP_M = {"town": 120.0, "neighbour": 140.0, "periurban": 60.0, "village": 45.0}
_ADDRESS_OFFSET_M = 9.0  # from the street's axis to the door
_LOGISTICS_STREETS = frozenset(
    {"Rue des Grandes Terres", "Rue de l'Entrepôt", "Rue des Transporteurs", "Allée des Quais",
     "Rue de la Logistique", "Allée du Fret"}
)  # fmt: skip
_REP_ORDER = {"": 0, "bis": 1, "ter": 2}


def _ban_rows(world: _World, plan: _OsmPlan, seed: int) -> list[list[object]]:
    """BAN addresses along the named streets of the PBF, odd numbers left, even right.

    A street is one name in one commune (the commune of the middle of its ways); numbers
    start at the end nearest the commune's centre, one pair every ``_ADDRESS_STEP_M``, and
    only in the built-up area (or along the logistics zone's streets). A few numbers get a
    ``bis`` or ``ter`` house next to them. Draws come from a generator of their own, so the
    other files do not change.
    """
    rng = np.random.default_rng([seed, 3])  # 3: the département of the BAN file
    groups: dict[tuple[str, str], list[list[XY]]] = {}
    for way in plan.ways:
        name = way.tags.get("name")
        if not name or way.tags.get("highway") not in _ADDRESSED_HIGHWAYS:
            continue
        if way.tags.get("area") == "yes":
            continue
        mid = way.coords[len(way.coords) // 2]
        groups.setdefault((world.place_of(*mid), name), []).append(way.coords)
    to_wgs = transformer(2154, 4326)
    rows: list[tuple[str, str, int, str, str, str, str, float, float]] = []
    for street_number, ((key, name), parts) in enumerate(sorted(groups.items()), start=1):
        place = world.places[key]
        spec = place.spec
        merged = shapely.line_merge(shapely.MultiLineString(parts))
        lines = sorted(shapely.get_parts(merged).tolist(), key=lambda g: (-g.length, g.coords[0]))
        step = _ADDRESS_STEP_M[spec.kind]
        reach = spec.radius + 120.0
        fantoir = f"{place.insee}_{street_number:04d}"
        next_pair = 0
        for line in lines:
            start, end = line.coords[0], line.coords[-1]
            if _dist(end, (place.x, place.y)) < _dist(start, (place.x, place.y)):
                line = shapely.LineString(line.coords[::-1])
            for d in np.arange(step / 2.0, line.length, step).tolist():
                p0 = line.interpolate(max(0.0, d - 1.0))
                p1 = line.interpolate(min(line.length, d + 1.0))
                dx, dy = p1.x - p0.x, p1.y - p0.y
                norm = math.hypot(dx, dy) or 1.0
                nx, ny = -dy / norm, dx / norm  # left of the direction of numbering
                at = line.interpolate(d)
                inside = _dist((at.x, at.y), (place.x, place.y)) <= reach
                if not inside and name not in _LOGISTICS_STREETS:
                    continue
                next_pair += 1
                for side in (1, -1):
                    number = 2 * next_pair - (1 if side == 1 else 0)
                    reps = [""]
                    draw = float(rng.random())
                    if draw < 0.05:
                        reps.append("bis")
                    if draw < 0.012:
                        reps.append("ter")
                    for k, rep in enumerate(reps):
                        along = d + 6.0 * k
                        q = line.interpolate(min(line.length, along))
                        x = round(q.x + side * nx * _ADDRESS_OFFSET_M, 2)
                        y = round(q.y + side * ny * _ADDRESS_OFFSET_M, 2)
                        rows.append(
                            (place.insee, fantoir, number, rep, name, spec.postcode,
                             place.name, x, y)
                        )  # fmt: skip
    rows.sort(key=lambda r: (r[0], r[1], r[2], _REP_ORDER[r[3]]))
    xs = np.array([r[7] for r in rows])
    ys = np.array([r[8] for r in rows])
    lon, lat = to_wgs.transform(xs, ys) if rows else (np.array([]), np.array([]))
    out: list[list[object]] = []
    for r, lo, la in zip(rows, lon.tolist(), lat.tolist(), strict=True):
        insee, fid, num, rp, street, postcode, city, x, y = r
        suffix = f"_{rp}" if rp else ""
        record: list[object] = [
            f"{fid}_{num:05d}{suffix}", fid, num, rp, street, postcode, insee, city, "", "",
            _fmt(x, 2), _fmt(y, 2), _fmt(lo, 6), _fmt(la, 6), "entrée", "", "",
            _ascii_upper(city), _ascii_upper(street), "commune", "commune", 1, "",
        ]  # fmt: skip
        out.append(record)
    return out


# --------------------------------------------------------------------------------------
# Population: Filosofi 2019 200 m grid
# --------------------------------------------------------------------------------------

_AGE_SHARES = {
    "base": (0.040, 0.022, 0.055, 0.080, 0.075, 0.165, 0.195, 0.130, 0.160, 0.078),
    "young": (0.065, 0.035, 0.080, 0.110, 0.100, 0.200, 0.180, 0.100, 0.090, 0.040),
    "centre": (0.035, 0.018, 0.045, 0.060, 0.120, 0.210, 0.170, 0.120, 0.140, 0.082),
    "family": (0.045, 0.026, 0.070, 0.095, 0.060, 0.150, 0.220, 0.140, 0.140, 0.054),
}
_LOG_SHARES = {
    "centre": (0.45, 0.25, 0.15, 0.12, 0.03),
    "town": (0.15, 0.35, 0.25, 0.22, 0.03),
    "qpv": (0.02, 0.78, 0.12, 0.06, 0.02),
    "periurban": (0.12, 0.18, 0.30, 0.38, 0.02),
    "village": (0.40, 0.15, 0.20, 0.23, 0.02),
}
# Per profile: household size, poverty, one-person, 5+ persons, owners, single parents,
# standard of living (EUR), m2 per dwelling, collective housing, social housing, age and
# dwelling-age share keys.
_PROFILES: dict[
    str, tuple[float, float, float, float, float, float, float, float, float, float, str, str]
] = {
    "centre": (1.75, 0.17, 0.52, 0.03, 0.35, 0.10, 20_500, 62, 0.85, 0.12, "centre", "centre"),
    "town": (2.05, 0.12, 0.38, 0.05, 0.55, 0.09, 21_800, 82, 0.45, 0.12, "base", "town"),
    "qpv": (2.45, 0.46, 0.33, 0.13, 0.08, 0.22, 12_800, 66, 0.96, 0.82, "young", "qpv"),
    "periurban": (
        2.45,
        0.07,
        0.22,
        0.07,
        0.80,
        0.07,
        24_800,
        108,
        0.08,
        0.04,
        "family",
        "periurban",
    ),
    "village": (2.30, 0.11, 0.28, 0.06, 0.81, 0.06, 21_300, 112, 0.04, 0.02, "base", "village"),
    "hamlet": (2.25, 0.13, 0.27, 0.06, 0.84, 0.05, 20_900, 118, 0.0, 0.0, "base", "village"),
    "neighbour": (2.05, 0.15, 0.38, 0.05, 0.52, 0.10, 20_900, 80, 0.45, 0.16, "base", "town"),
}


def _split(total: float, shares: Sequence[float], decimals: int) -> list[float]:
    """Split ``total`` by ``shares`` so the parts, rounded, add up exactly to it."""
    scale = 10**decimals
    units = round(total * scale)
    raw = np.asarray(shares, dtype=float)
    raw = raw / raw.sum() * units
    base = np.floor(raw).astype(int)
    rest = units - int(base.sum())
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:rest]] += 1
    return [float(v) / scale for v in base]


def _population_contributions(world: _World) -> dict[Key, dict[str, float]]:
    """Inhabitants per LAEA 200 m cell ``(northing, easting)`` and per housing profile."""
    rng = world.rng
    to3035 = transformer(2154, 3035)
    to2154 = transformer(3035, 2154)
    contributions: dict[Key, dict[str, float]] = {}

    def add(cell: Key, count: float, profile: str) -> None:
        if count > 0:
            slot = contributions.setdefault(cell, {})
            slot[profile] = slot.get(profile, 0.0) + count

    for key, place in world.places.items():
        spec = place.spec
        ex, ny = to3035.transform(place.x, place.y)
        r = spec.radius + 250.0
        e0, e1 = math.floor((ex - r - 400) / 200) * 200, math.ceil((ex + r + 400) / 200) * 200
        n0, n1 = math.floor((ny - r - 400) / 200) * 200, math.ceil((ny + r + 400) / 200) * 200
        mesh_e, mesh_n = np.meshgrid(np.arange(e0, e1, 200), np.arange(n0, n1, 200))
        cx, cy = to2154.transform(mesh_e.ravel() + 100.0, mesh_n.ravel() + 100.0)
        d = np.hypot(cx - place.x, cy - place.y)
        inside = d <= r
        easting, northing = mesh_e.ravel()[inside], mesh_n.ravel()[inside]
        cx, cy, d = cx[inside], cy[inside], d[inside]
        scale = {"town": 850.0, "neighbour": 700.0}.get(spec.kind, spec.radius * 0.7)
        weight = (np.exp(-d / scale) + 0.12) * rng.lognormal(0.0, 0.35, d.size)
        profiles = [spec.kind] * d.size
        if key == "T":
            in_qpv = shapely.contains_xy(world.qpv, cx, cy)
            weight[in_qpv] *= 7.0
            # The station and the hospital hold (almost) no housing.
            for site_key in ("hopital", "gare"):
                site = world.sites[site_key]
                weight[np.hypot(cx - site.x, cy - site.y) < 150] *= 0.1
            profiles = [
                "qpv" if q else "centre" if dd < 650 else "town"
                for q, dd in zip(in_qpv.tolist(), d.tolist(), strict=True)
            ]
        counts = rng.multinomial(spec.population, weight / weight.sum())
        for n, e, c, profile in zip(
            northing.tolist(), easting.tolist(), counts.tolist(), profiles, strict=True
        ):
            add((int(n), int(e)), float(c), profile)

    # Scattered farms and hamlets along the country roads, away from the built-up areas.
    centres = np.array([(p.x, p.y, p.spec.radius) for p in world.places.values()])
    hamlets = attempts = 0
    while hamlets < 140 and attempts < 2000:
        attempts += 1
        line = world.rural_lines[int(rng.integers(len(world.rural_lines)))]
        k = int(rng.integers(len(line) - 1))
        t = float(rng.uniform())
        x = line[k][0] + t * (line[k + 1][0] - line[k][0]) + float(rng.normal(0.0, 90.0))
        y = line[k][1] + t * (line[k + 1][1] - line[k][1]) + float(rng.normal(0.0, 90.0))
        if np.any(np.hypot(centres[:, 0] - x, centres[:, 1] - y) < centres[:, 2] + 900.0):
            continue
        ex, ny = to3035.transform(x, y)
        cell = (math.floor(ny / 200) * 200, math.floor(ex / 200) * 200)
        add(cell, float(rng.integers(2, 17)), "hamlet")
        hamlets += 1
    return contributions


def _aggregate(values: dict[Key, float], size: int) -> dict[Key, float]:
    """Sum cell values over the aligned squares of ``size`` metres of the LAEA grid."""
    out: dict[Key, float] = {}
    for (n, e), v in values.items():
        k = (n // size * size, e // size * size)
        out[k] = out.get(k, 0.0) + v
    return out


def _filosofi_rows(world: _World) -> tuple[gpd.GeoDataFrame, dict[str, float]]:
    """The Filosofi 2019 grid (EPSG:2154) and the population of each place key."""
    rng = world.rng
    contributions = _population_contributions(world)
    keys = sorted(contributions)
    northing = np.array([k[0] for k in keys], dtype=float)
    easting = np.array([k[1] for k in keys], dtype=float)
    # Cell squares built in LAEA then projected corner by corner to Lambert-93.
    corners_e = np.stack([easting, easting + 200, easting + 200, easting, easting], axis=1)
    corners_n = np.stack([northing, northing, northing + 200, northing + 200, northing], axis=1)
    px, py = transformer(3035, 2154).transform(corners_e.ravel(), corners_n.ravel())
    rings = np.stack([np.round(px, 2), np.round(py, 2)], axis=1).reshape(len(keys), 5, 2)
    polys = shapely.polygons(rings)
    order = sorted(world.communes, key=lambda k: world.places[k].insee)
    areas = np.stack(
        [shapely.area(shapely.intersection(polys, world.communes[k])) for k in order], axis=1
    )

    # Households first: the natural cells and the 1 km flags depend on them.
    households: dict[Key, float] = {}
    draws: dict[Key, np.ndarray] = {}
    for key in keys:
        contrib = contributions[key]
        profile = max(contrib, key=lambda p: (contrib[p], p))
        draws[key] = rng.lognormal(0.0, 0.12, 8)
        households[key] = max(1.0, sum(contrib.values()) / (_PROFILES[profile][0] * draws[key][0]))
    # Natural cells (INSEE's secrecy aggregates): the smallest aligned square of 200 * 2**k m
    # holding at least INSEE_SECRET_MIN_HOUSEHOLDS (11) households.
    levels = [200 * 2**k for k in range(7)]
    by_level = [_aggregate(households, size) for size in levels]
    by_km = _aggregate(households, 1000)

    out: dict[str, list[object]] = {c: [] for c in FILOSOFI_2019_COLUMNS}
    population: dict[str, float] = {}
    age_columns = FILOSOFI_2019_COLUMNS[23:33]
    log_columns = ("log_av45", "log_45_70", "log_70_90", "log_ap90", "log_inc")
    for key, row_areas in zip(keys, areas, strict=True):
        n, e = key
        contrib = contributions[key]
        profile = max(contrib, key=lambda p: (contrib[p], p))
        _, pauv, one, five, prop, fmp, snv, surf, coll, soc, ages, logs = _PROFILES[profile]
        noise = draws[key]
        imputed = households[key] < INSEE_SECRET_MIN_HOUSEHOLDS
        dec = 1 if imputed else 0
        ind = sum(contrib.values())
        if imputed:
            ind = round(ind + float(rng.uniform(-0.4, 0.4)), 1)
        ind = max(ind, 1.0)
        men = max(round(households[key], dec), 1.0)
        nat = next(
            s
            for s, agg in zip(levels, by_level, strict=True)
            if agg[(n // s * s, e // s * s)] >= INSEE_SECRET_MIN_HOUSEHOLDS or s == levels[-1]
        )
        inside = [world.places[order[c]].insee for c in np.flatnonzero(row_areas > 1.0)]
        main = order[int(np.argmax(row_areas))]
        out["idcar_200m"].append(f"CRS3035RES200mN{n}E{e}")
        out["idcar_1km"].append(f"CRS3035RES1000mN{n // 1000 * 1000}E{e // 1000 * 1000}")
        out["idcar_nat"].append(f"CRS3035RES{nat}mN{n // nat * nat}E{e // nat * nat}")
        out["i_est_200"].append(int(imputed))
        out["i_est_1km"].append(
            int(by_km[(n // 1000 * 1000, e // 1000 * 1000)] < INSEE_SECRET_MIN_HOUSEHOLDS)
        )
        out["lcog_geo"].append("".join(inside) or world.places[main].insee)
        out["ind"].append(ind)
        out["men"].append(men)
        out["men_pauv"].append(round(men * min(0.9, pauv * noise[1]), dec))
        out["men_1ind"].append(round(men * min(0.9, one * noise[2]), dec))
        out["men_5ind"].append(round(men * min(0.5, five * noise[3]), dec))
        out["men_prop"].append(round(men * min(0.98, prop * noise[4]), dec))
        out["men_fmp"].append(round(men * min(0.6, fmp * noise[5]), dec))
        out["ind_snv"].append(round(ind * snv * noise[6], 1))
        out["men_surf"].append(round(men * surf * noise[7], dec))
        men_coll = round(men * coll, dec)
        out["men_coll"].append(men_coll)
        out["men_mais"].append(round(men - men_coll, dec))
        for col, v in zip(log_columns, _split(men, _LOG_SHARES[logs], dec), strict=True):
            out[col].append(v)
        out["log_soc"].append(round(men * soc, dec))
        for col, v in zip(age_columns, _split(ind, _AGE_SHARES[ages], dec), strict=True):
            out[col].append(v)
        out["ind_inc"].append(0.0)
        population[main] = population.get(main, 0.0) + ind
    frame = gpd.GeoDataFrame(out, geometry=polys, crs="EPSG:2154")
    frame["i_est_200"] = frame["i_est_200"].astype("int32")
    frame["i_est_1km"] = frame["i_est_1km"].astype("int32")
    return frame, population


def _write_gpkg(path: Path, frame: gpd.GeoDataFrame, layer: str) -> None:
    """Write a GeoPackage whose bytes do not depend on the clock."""
    if path.exists():
        path.unlink()
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _GPKG_DATE})
    try:
        pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


# --------------------------------------------------------------------------------------
# Establishments (SIRENE) and facilities (BPE, user list)
# --------------------------------------------------------------------------------------


@dataclass
class _Establishment:
    siret: str
    name: str
    naf: str
    tranche: str
    x: float
    y: float
    place: str
    street: str
    diffusion: str = "O"
    active: bool = True
    siege: bool = True
    employer: str = "O"


class _SiretFactory:
    """Unique, Luhn-valid SIREN/SIRET numbers."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.sirens: set[str] = set()

    def siren(self, first: str = "") -> str:
        while True:
            body = first + "".join(
                str(d) for d in self.rng.integers(0, 10, 8 - len(first)).tolist()
            )
            if body[0] in "0":
                continue
            siren = _luhn_complete(body)
            if siren not in self.sirens:
                self.sirens.add(siren)
                return siren

    def siret(self, siren: str, number: int) -> str:
        return _luhn_complete(siren + f"{number:04d}")


# (key of site, name, NAF, headcount band, SIREN first digits)
_BIG_EMPLOYERS: tuple[tuple[str, str, str, str, str], ...] = (
    ("hopital", "CENTRE HOSPITALIER DE MONTCLERVAL", "86.10Z", "42", "26"),
    ("mairie", "COMMUNE DE MONTCLERVAL", "84.11Z", "22", "21"),
    (
        "za_entrepot",
        "LOGISTIQUE DES GRANDES TERRES - ENTREPOT (POSTES 5H-13H / 13H-21H)",
        "52.10B",
        "32",
        "4",
    ),
    (
        "za_froid",
        "PLATEFORME FROID CLERVE - ENTREPOSAGE FRIGORIFIQUE (POSTES 6H-14H / 14H-22H)",
        "52.10A",
        "31",
        "5",
    ),
    ("za_messagerie", "MESSAGERIE EXPRESS DU CENTRE - TRI DE NUIT (21H-5H)", "52.29A", "22", "4"),
    ("za_transport", "TRANSPORTS ROUTIERS DE LA CLERVE", "49.41A", "21", "3"),
    ("za_agro", "CONSERVERIE DES GRANDES TERRES (EQUIPES 5H-13H / 13H-21H)", "10.13A", "22", "4"),
    ("za_plasturgie", "PLASTURGIE CLERVE INJECTION (3X8)", "22.22Z", "21", "3"),
    ("za_nettoyage", "PROPRETE INDUSTRIELLE DU CENTRE (5H-8H / 18H-22H)", "81.22Z", "12", "5"),
    ("hyper", "HYPER CLERVAL", "47.11F", "22", "3"),
    ("super_ouest", "MARCHE DES TANNEURS", "47.11D", "12", "4"),
    ("super_nord", "SUPERMARCHE DU NORD", "47.11D", "12", "4"),
    ("super_P1", "SUPERMARCHE DE BRENAC", "47.11D", "11", "4"),
    ("lycee", "LYCEE JEAN MOULIN", "85.31Z", "21", "19"),
    ("lycee_pro", "LYCEE PROFESSIONNEL DES METIERS DE LA CLERVE", "85.32Z", "21", "19"),
    ("college_est", "COLLEGE MARIE CURIE", "85.31Z", "12", "19"),
    ("college_ouest", "COLLEGE LOUIS PERGAUD", "85.31Z", "12", "19"),
    ("college_P2", "COLLEGE DES ESSARTS", "85.31Z", "12", "19"),
    ("france_travail", "FRANCE TRAVAIL MONTCLERVAL", "84.13Z", "12", "13"),
    ("mission_locale", "MISSION LOCALE DU VAL DE CLERVE", "88.99B", "11", "3"),
    ("caf", "CAF - POINT D ACCUEIL DE MONTCLERVAL", "84.30C", "11", "7"),
    ("poste", "LA POSTE MONTCLERVAL", "53.10Z", "12", "3"),
    ("cinema", "CINEMA LE CLERVAL", "59.14Z", "02", "4"),
    ("gare", "GARE DE MONTCLERVAL", "49.10Z", "03", "5"),
    ("cfa", "CFA INTERPROFESSIONNEL DE PONTREVAL", "85.32Z", "21", "7"),
    ("hopital_N", "HOPITAL DE PONTREVAL", "86.10Z", "32", "26"),
    ("france_travail_N", "FRANCE TRAVAIL PONTREVAL", "84.13Z", "12", "13"),
)

# Small establishments by location class: (NAF, weight, band profile)
_SMALL_NAF: dict[str, tuple[tuple[str, float, str], ...]] = {
    "centre": (
        ("47.71Z", 4, "shop"),
        ("47.24Z", 2, "shop"),
        ("56.10A", 5, "shop"),
        ("56.30Z", 3, "shop"),
        ("96.02A", 3, "shop"),
        ("86.21Z", 3, "liberal"),
        ("86.23Z", 2, "liberal"),
        ("69.10Z", 2, "liberal"),
        ("69.20Z", 2, "office"),
        ("64.19Z", 2, "office"),
        ("66.22Z", 2, "office"),
        ("68.31Z", 2, "office"),
        ("47.73Z", 1, "shop"),
        ("88.10A", 2, "care"),
        ("85.59A", 1, "office"),
        ("62.02A", 1, "office"),
        ("47.76Z", 1, "shop"),
        ("47.62Z", 1, "shop"),
    ),
    "town": (
        ("43.21A", 3, "craft"),
        ("43.22A", 3, "craft"),
        ("45.20A", 2, "craft"),
        ("88.91A", 1, "care"),
        ("86.90D", 2, "liberal"),
        ("87.10A", 1, "ehpad"),
        ("10.71C", 2, "shop"),
        ("55.10Z", 1, "shop"),
        ("49.32Z", 2, "liberal"),
        ("80.10Z", 1, "office"),
        ("96.09Z", 2, "liberal"),
        ("85.20Z", 1, "school"),
        ("81.21Z", 2, "cleaning"),
        ("68.20A", 4, "none"),
        ("94.99Z", 4, "assoc"),
        ("93.12Z", 2, "assoc"),
    ),
    "rural": (
        ("01.11Z", 5, "farm"),
        ("01.50Z", 3, "farm"),
        ("01.41Z", 2, "farm"),
        ("43.99C", 2, "craft"),
        ("41.20A", 2, "craft"),
        ("45.20A", 1, "craft"),
        ("47.11B", 1, "shop"),
        ("56.10A", 1, "shop"),
        ("10.71C", 1, "shop"),
        ("68.20A", 3, "none"),
        ("94.99Z", 2, "assoc"),
        ("88.10A", 1, "care"),
    ),
    "za": (
        ("46.90Z", 3, "firm"),
        ("49.41A", 3, "firm"),
        ("52.29A", 1, "firm"),
        ("33.12Z", 2, "firm"),
        ("25.62B", 2, "firm"),
        ("43.12A", 2, "craft"),
        ("77.12Z", 1, "firm"),
        ("46.73A", 1, "firm"),
        ("52.10B", 1, "firm"),
    ),
}

_BANDS = ("NN", "00", "01", "02", "03", "11", "12", "21", "22")
_BAND_WEIGHTS: dict[str, tuple[float, ...]] = {
    "shop": (0.15, 0.15, 0.25, 0.22, 0.12, 0.07, 0.035, 0.005, 0.0),
    "liberal": (0.30, 0.35, 0.22, 0.10, 0.03, 0.0, 0.0, 0.0, 0.0),
    "office": (0.12, 0.12, 0.20, 0.22, 0.16, 0.11, 0.06, 0.01, 0.0),
    "care": (0.05, 0.05, 0.08, 0.12, 0.15, 0.22, 0.25, 0.08, 0.0),
    "ehpad": (0.0, 0.0, 0.0, 0.0, 0.05, 0.15, 0.45, 0.35, 0.0),
    "craft": (0.15, 0.20, 0.22, 0.20, 0.12, 0.08, 0.03, 0.0, 0.0),
    "school": (0.0, 0.0, 0.0, 0.10, 0.35, 0.45, 0.10, 0.0, 0.0),
    "cleaning": (0.10, 0.05, 0.10, 0.15, 0.15, 0.20, 0.17, 0.08, 0.0),
    "none": (0.70, 0.30, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    "assoc": (0.55, 0.15, 0.12, 0.08, 0.05, 0.04, 0.01, 0.0, 0.0),
    "farm": (0.35, 0.35, 0.20, 0.07, 0.03, 0.0, 0.0, 0.0, 0.0),
    "firm": (0.05, 0.05, 0.10, 0.18, 0.20, 0.22, 0.15, 0.04, 0.01),
}
_LOCATION_CLASSES = (
    ("centre", 0.30),
    ("town", 0.30),
    ("periurban", 0.17),
    ("village", 0.08),
    ("za", 0.09),
    ("neighbour", 0.06),
)

#: Jobs of the perimeter (sum of band middles) the generator aims at.
_JOBS_TARGET = 11_000.0

#: Shop-sign words by NAF code, for the usual name of small establishments.
_TRADE_LABELS = {
    "47.71Z": "BOUTIQUE", "47.24Z": "PATISSERIE", "56.10A": "RESTAURANT", "56.30Z": "CAFE",
    "96.02A": "COIFFURE", "47.73Z": "PHARMACIE", "10.71C": "BOULANGERIE", "45.20A": "GARAGE",
    "43.21A": "ELECTRICITE", "43.22A": "PLOMBERIE", "55.10Z": "HOTEL", "49.32Z": "TAXI",
    "47.11B": "EPICERIE", "01.11Z": "EARL", "01.50Z": "GAEC", "01.41Z": "GAEC",
    "49.41A": "TRANSPORTS",
    "46.90Z": "NEGOCE", "33.12Z": "MAINTENANCE", "25.62B": "MECANIQUE", "47.76Z": "FLEURS",
    "47.62Z": "LIBRAIRIE", "43.99C": "MACONNERIE", "41.20A": "CONSTRUCTIONS",
}  # fmt: skip
#: Invented surnames for shop signs (fictional businesses).
_SURNAMES = (
    "AUBRAC", "BELCOUR", "CHAMBRAY", "DORVAL", "ESCOFFIER", "FAVRAUD", "GARNIAC", "HERVELIN",
    "JOUBARD", "LAVERNAY", "MARCELOT", "NOIRAULT", "PERDRIGAL", "ROUVENAC", "SAULNAY", "TREVOUX",
    "VARENNOT", "VIGNERAC",
)  # fmt: skip


def _random_location(world: _World, cls: str) -> tuple[float, float, str]:
    rng = world.rng
    t = world.town
    if cls in ("centre", "town"):
        keys = [k for k in sorted(t.grid) if (max(abs(k[0]), abs(k[1])) <= 4) == (cls == "centre")]
        k = keys[int(rng.integers(len(keys)))]
        xy, street = t.grid[k], t.row_names[k[1]] if rng.uniform() < 0.5 else t.col_names[k[0]]
    elif cls == "za":
        k = sorted(world.za_grid)[int(rng.integers(9))]
        xy, street = (
            world.za_grid[k],
            ("Rue des Grandes Terres", "Rue de l'Entrepôt", "Rue des Transporteurs")[k[1]],
        )
    else:
        if cls == "periurban":
            pool = ["P1", "P2", "P3", "P4"]
        elif cls == "village":
            pool = ["V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8"]
        else:
            pool = ["N"]
        weights = np.array([world.places[p].spec.population for p in pool], dtype=float)
        place = world.places[pool[int(rng.choice(len(pool), p=weights / weights.sum()))]]
        keys = sorted(place.grid)
        k = keys[int(rng.integers(len(keys)))]
        xy, street = place.grid[k], place.row_names[k[1]]
    x = round(xy[0] + float(rng.uniform(-30.0, 30.0)) + 8.0, 2)
    y = round(xy[1] + float(rng.uniform(-30.0, 30.0)) + 8.0, 2)
    return x, y, street


def _make_establishments(world: _World) -> list[_Establishment]:
    rng = world.rng
    factory = _SiretFactory(rng)
    out: list[_Establishment] = []
    for key, name, naf, band, first in _BIG_EMPLOYERS:
        site = world.sites[key]
        siren = factory.siren(first)
        out.append(
            _Establishment(
                factory.siret(siren, 1), name, naf, band, site.x, site.y, site.place, site.street
            )
        )
    # A chain of bakeries: one SIREN, several establishments.
    chain = factory.siren("8")
    for number, k in enumerate(((-2, -2), (5, 3), (-6, 6)), start=1):
        xy = world.g(*k)
        out.append(
            _Establishment(
                factory.siret(chain, number * 11),
                "BOULANGERIE DU FOURNIL",
                "10.71C",
                "02",
                round(xy[0] + 9.0, 2),
                round(xy[1] + 9.0, 2),
                "T",
                world.town.row_names[k[1]],
                siege=number == 1,
            )
        )
    jobs = sum(HEADCOUNT_MIDPOINTS[e.tranche] for e in out if e.place != "N")
    classes = [c for c, _ in _LOCATION_CLASSES]
    class_p = np.array([w for _, w in _LOCATION_CLASSES])
    neighbour_count = 0
    while jobs < _JOBS_TARGET or neighbour_count < 40:
        cls = classes[int(rng.choice(len(classes), p=class_p))]
        if jobs >= _JOBS_TARGET and cls != "neighbour":
            continue
        table = _SMALL_NAF[
            "rural"
            if cls in ("village", "periurban") and rng.uniform() < 0.6
            else "centre"
            if cls == "centre"
            else "za"
            if cls == "za"
            else "town"
        ]
        weights = np.array([w for _, w, _ in table], dtype=float)
        naf, _, profile = table[int(rng.choice(len(table), p=weights / weights.sum()))]
        bw = np.array(_BAND_WEIGHTS[profile])
        band = _BANDS[int(rng.choice(len(_BANDS), p=bw / bw.sum()))]
        x, y, street = _random_location(world, cls)
        siren = factory.siren()
        place = world.place_of(x, y)
        label = _TRADE_LABELS.get(naf, "")
        name = (
            f"{label} {_SURNAMES[int(rng.integers(len(_SURNAMES)))]}"
            if label and rng.uniform() < 0.6
            else ""
        )
        est = _Establishment(
            factory.siret(siren, 1 + int(rng.integers(0, 40))), name, naf, band, x, y, place, street
        )
        est.employer = "N" if band in ("NN", "00") and rng.uniform() < 0.97 else "O"
        est.diffusion = "P" if rng.uniform() < 0.03 else "O"
        out.append(est)
        if place == "N":
            neighbour_count += 1
        else:
            jobs += HEADCOUNT_MIDPOINTS[band]
    # Two closed establishments (etatAdministratifEtablissement = F).
    for name, naf, cls in (
        ("ANCIENNE FILATURE DE LA CLERVE", "13.10Z", "town"),
        ("STATION SERVICE DU PONT", "47.30Z", "periurban"),
    ):
        x, y, street = _random_location(world, cls)
        siren = factory.siren()
        out.append(
            _Establishment(
                factory.siret(siren, 1),
                name,
                naf,
                "NN",
                x,
                y,
                world.place_of(x, y),
                street,
                active=False,
                employer="N",
            )
        )
    return out


def _write_csv(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    delimiter: str = ",",
    bom: bool = False,
    lineterminator: str = "\n",
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=lineterminator)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    path.write_bytes(("\ufeff" if bom else "").encode() + buffer.getvalue().encode("utf-8"))


def _fmt(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def _write_sirene(world: _World, estabs: list[_Establishment], stock: Path, geoloc: Path) -> None:
    rng = world.rng
    to_wgs = transformer(2154, 4326)
    rows: list[list[object]] = []
    geo_rows: list[list[object]] = []
    for est in estabs:
        place = world.places[est.place]
        created = dt.date(1975, 1, 1) + dt.timedelta(days=int(rng.integers(0, 17_900)))
        started = (
            created
            if rng.uniform() < 0.7
            else created + dt.timedelta(days=int(rng.integers(0, 2000)))
        )
        treated = dt.datetime(2023, 1, 1) + dt.timedelta(seconds=int(rng.integers(0, 60_000_000)))
        typ, voie = _split_street(est.street)
        number = str(int(rng.integers(1, 140)))
        hidden = est.diffusion == "P"
        nd = "[ND]"
        record = {
            "siren": est.siret[:9],
            "nic": est.siret[9:],
            "siret": est.siret,
            "statutDiffusionEtablissement": est.diffusion,
            "dateCreationEtablissement": created.isoformat(),
            "trancheEffectifsEtablissement": ""
            if est.tranche == "NN" and rng.uniform() < 0.5
            else est.tranche,
            "anneeEffectifsEtablissement": "" if est.tranche == "NN" else "2022",
            "activitePrincipaleRegistreMetiersEtablissement": "",
            "dateDernierTraitementEtablissement": treated.strftime("%Y-%m-%dT%H:%M:%S"),
            "etablissementSiege": "true" if est.siege else "false",
            "nombrePeriodesEtablissement": str(1 + int(rng.integers(0, 4))),
            "numeroVoieEtablissement": nd if hidden else number,
            "typeVoieEtablissement": nd if hidden else typ,
            "libelleVoieEtablissement": nd if hidden else voie,
            "codePostalEtablissement": place.spec.postcode,
            "libelleCommuneEtablissement": _ascii_upper(place.name),
            "codeCommuneEtablissement": place.insee,
            "coordonneeLambertAbscisseEtablissement": nd if hidden else _fmt(est.x, 1),
            "coordonneeLambertOrdonneeEtablissement": nd if hidden else _fmt(est.y, 1),
            "dateDebut": started.isoformat(),
            "etatAdministratifEtablissement": "A" if est.active else "F",
            "enseigne1Etablissement": nd
            if hidden
            else (est.name if est.name and rng.uniform() < 0.5 else ""),
            "denominationUsuelleEtablissement": nd if hidden else est.name,
            "activitePrincipaleEtablissement": est.naf,
            "nomenclatureActivitePrincipaleEtablissement": "NAFRev2",
            "caractereEmployeurEtablissement": est.employer,
        }
        if est.tranche in ("NN",) and record["trancheEffectifsEtablissement"] == "":
            record["anneeEffectifsEtablissement"] = ""
        rows.append([record.get(c, "") for c in SIRENE_COLUMNS])
        lon, lat = to_wgs.transform(est.x, est.y)
        in_qp = bool(shapely.contains_xy(world.qpv, est.x, est.y))
        iris = place.insee + (
            "0000"
            if place.spec.kind != "town"
            else f"01{1 + int(est.x > place.x) + 2 * int(est.y > place.y):02d}"
        )
        geo_rows.append(
            [
                est.siret,
                _fmt(est.x, 1),
                _fmt(est.y, 1),
                str(rng.choice(["11", "11", "11", "12", "21", "22"])),
                "2154",
                _QPV_CODE if in_qp else "HZ",
                iris,
                "HZ",
                "HZ",
                place.insee,
                _fmt(float(rng.uniform(0, 40)), 2),
                "1",
                "1",
                "1",
                "1",
                _fmt(lat, 7),
                _fmt(lon, 7),
            ]
        )
    _write_csv(stock, SIRENE_COLUMNS, rows)
    _write_csv(geoloc, SIRENE_GEOLOCATION_COLUMNS, geo_rows, delimiter=";")


# BPE: (site key or prefix, TYPEQU, name)
def _bpe_rows(world: _World, estabs: list[_Establishment]) -> list[list[object]]:
    rng = world.rng
    by_site = {e.name: e.siret for e in estabs}
    items: list[tuple[_Site, str, str, str]] = []

    def add(key: str, typequ: str, name: str = "", siret_name: str = "") -> None:
        items.append(
            (world.sites[key], typequ, name, by_site.get(siret_name, "") if siret_name else "")
        )

    add("france_travail", "A122", "FRANCE TRAVAIL MONTCLERVAL", "FRANCE TRAVAIL MONTCLERVAL")
    add("france_travail_N", "A122", "FRANCE TRAVAIL PONTREVAL", "FRANCE TRAVAIL PONTREVAL")
    add("france_services_P3", "A128", "FRANCE SERVICES SAINT-OURS-LA-PLAINE")
    add("france_services_V6", "A128", "FRANCE SERVICES PUYVALON")
    add("poste", "A206", "LA POSTE MONTCLERVAL", "LA POSTE MONTCLERVAL")
    for key in sorted(world.sites):
        if key.startswith("auto_ecole_"):
            add(key, "A304")
        elif key.startswith("medecin_"):
            add(key, "D201")
            if rng.uniform() < 0.6:
                add(key, "D201")
        elif key.startswith("pharmacie_"):
            add(key, "D301")
        elif key.startswith("creche_"):
            add(key, "D502")
        elif key.startswith("ecole_"):
            add(key, "C101" if key[-1] in "135" else "C104")
            if key[-1] in "02P":
                add(key, "C101")
    add("hopital", "D101", "CENTRE HOSPITALIER DE MONTCLERVAL", "CENTRE HOSPITALIER DE MONTCLERVAL")
    add("hopital", "D106", "CENTRE HOSPITALIER DE MONTCLERVAL - URGENCES")
    add("hopital_N", "D101", "HOPITAL DE PONTREVAL", "HOPITAL DE PONTREVAL")
    add("cfa", "C601", "CFA INTERPROFESSIONNEL DE PONTREVAL", "CFA INTERPROFESSIONNEL DE PONTREVAL")
    add("college_est", "C201", "COLLEGE MARIE CURIE", "COLLEGE MARIE CURIE")
    add("college_ouest", "C201", "COLLEGE LOUIS PERGAUD", "COLLEGE LOUIS PERGAUD")
    add("college_P2", "C201", "COLLEGE DES ESSARTS", "COLLEGE DES ESSARTS")
    add("lycee", "C301", "LYCEE JEAN MOULIN", "LYCEE JEAN MOULIN")
    add(
        "lycee_pro",
        "C302",
        "LYCEE PROFESSIONNEL DES METIERS DE LA CLERVE",
        "LYCEE PROFESSIONNEL DES METIERS DE LA CLERVE",
    )
    add("hyper", "B101", "HYPER CLERVAL", "HYPER CLERVAL")
    add("super_ouest", "B102", "MARCHE DES TANNEURS", "MARCHE DES TANNEURS")
    add("super_nord", "B102", "SUPERMARCHE DU NORD", "SUPERMARCHE DU NORD")
    add("super_P1", "B102", "SUPERMARCHE DE BRENAC", "SUPERMARCHE DE BRENAC")
    add("superette_V2", "B201", "EPICERIE DE SAUVELANDE")
    add("gare", "E108", "GARE DE MONTCLERVAL", "GARE DE MONTCLERVAL")
    add("gare_N", "E108", "GARE DE PONTREVAL")
    for key, label in (("V2", "HALTE DE SAUVELANDE"), ("P2", "HALTE DES ESSARTS-FOUQUET")):
        x, y = world.rail_stations[key]
        site = _Site(x, y, world.place_of(x, y), "Chemin de la Halte")
        items.append((site, "E109", label, ""))
    rows: list[list[object]] = []
    for site, typequ, name, siret in items:
        place = world.places[site.place]
        typ, voie = _split_street(site.street)
        rows.append(
            [
                "2023",
                name,
                "",
                str(int(rng.integers(1, 90))),
                "",
                typ,
                voie,
                "",
                place.spec.postcode,
                place.insee,
                _DEP,
                _REG,
                typequ[0],
                typequ[:2],
                typequ,
                siret,
                "O" if siret else "",
                _fmt(site.x, 2),
                _fmt(site.y, 2),
                "Bonne",
                "2154",
                "11",
            ]
        )
    return rows


# --------------------------------------------------------------------------------------
# Transit: GTFS feeds
# --------------------------------------------------------------------------------------


def _hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _minutes(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def _departures(*bands: tuple[str, str, int]) -> list[int]:
    """Departure minutes from bands ``(first, last, headway minutes)``."""
    out: list[int] = []
    for first, last, headway in bands:
        m = _minutes(first)
        while m <= _minutes(last):
            if m not in out:
                out.append(m)
            m += headway
    return sorted(out)


@dataclass
class _Stop:
    stop_id: str
    name: str
    x: float
    y: float
    wheelchair: int
    parent: str = ""
    location_type: int = 0
    code: str = ""


@dataclass
class _Route:
    route_id: str
    short: str
    long: str
    route_type: int
    color: str
    stops: list[str]  # direction 0
    services: dict[str, tuple[list[int], list[int]]]  # service -> (dir 0, dir 1) departure minutes
    blanks: bool = False  # leave some intermediate times blank (timepoint = 0)
    pickup: int = 0
    variants: list[list[str]] = field(default_factory=list)


class _Gtfs:
    """Accumulates the tables of one feed."""

    def __init__(self) -> None:
        self.stops: dict[str, _Stop] = {}
        self.trips: list[list[object]] = []
        self.stop_times: list[list[object]] = []

    def add_stop(self, stop: _Stop) -> str:
        self.stops.setdefault(stop.stop_id, stop)
        return stop.stop_id

    def add_trip(
        self,
        route: _Route,
        service: str,
        direction: int,
        start_min: int,
        stop_ids: list[str],
        offsets_s: list[int],
        *,
        wheelchair: int,
        blanks: bool,
        pickup: int,
        headsign: str,
        suffix: str = "",
    ) -> None:
        hhmm = f"{start_min // 60:02d}{start_min % 60:02d}"
        trip_id = f"{route.route_id}-{service}-{direction}-{hhmm}{suffix}"
        self.trips.append([route.route_id, service, trip_id, headsign, direction, wheelchair])
        last = len(stop_ids) - 1
        for seq, (sid, off) in enumerate(zip(stop_ids, offsets_s, strict=True), start=1):
            t = start_min * 60 + off
            blank = blanks and 0 < seq - 1 < last and (seq - 1) % 3 == 2
            time = "" if blank else _hms(t)
            dwell = (
                _hms(t + 60)
                if (not blank and route.route_type == 2 and 0 < seq - 1 < last)
                else time
            )
            pick = pickup if seq - 1 < last else 1
            drop = pickup if seq > 1 else 1
            self.stop_times.append([trip_id, time, dwell, sid, seq, pick, drop, 0 if blank else 1])


def _travel_offsets(
    stops: list[_Stop], town: XY, speed_town_kmh: float = 17.0, speed_rural_kmh: float = 45.0
) -> list[int]:
    """Seconds from the first stop, rounded to whole minutes."""
    out = [0]
    cum = 0.0
    for a, b in itertools.pairwise(stops):
        d = _dist((a.x, a.y), (b.x, b.y))
        in_town = _dist((a.x, a.y), town) < 2300 and _dist((b.x, b.y), town) < 2300
        speed = speed_town_kmh if in_town else speed_rural_kmh
        cum += d * (1.2 if in_town else 1.3) / (speed / 3.6) + 20.0
        out.append(max(out[-1] + 60, round(cum / 60.0) * 60))
    return out


def _build_bus_feed(world: _World) -> tuple[_Gtfs, list[_Route]]:
    rng = world.rng
    t = world.town
    feed = _Gtfs()
    wheel_choices = np.array([0, 1, 1, 1, 2])

    def grid_stop(i: int, j: int, name: str = "", *, vertical: bool = False) -> str:
        sid = f"CLV{1000 + (i + 12) * 25 + (j + 12)}"
        if sid not in feed.stops:
            x, y = t.grid[(i, j)]
            # Named after the cross street, without its type: "Rue des Acacias" -> "Acacias".
            cross = t.row_names[j] if vertical else t.col_names[i]
            label = cross.split(" ", 1)[1]
            for article in ("des ", "de la ", "du ", "de l'"):
                label = label.removeprefix(article)
            label = label[:1].upper() + label[1:]
            feed.add_stop(
                _Stop(
                    sid,
                    name or label,
                    round(x + 7.0, 2),
                    round(y - 7.0, 2),
                    int(rng.choice(wheel_choices)),
                    code=sid[3:],
                )
            )
        elif name:
            feed.stops[sid].name = name
        return sid

    def point_stop(sid: str, name: str, xy: XY, wheelchair: int | None = None) -> str:
        if sid not in feed.stops:
            w = int(rng.choice(wheel_choices)) if wheelchair is None else wheelchair
            feed.add_stop(
                _Stop(sid, name, round(xy[0] + 6.0, 2), round(xy[1] - 6.0, 2), w, code=sid[3:])
            )
        return sid

    def town_path(points: list[Key], names: dict[Key, str], first: str = "") -> list[str]:
        path: list[Key] = [points[0]]
        for (i0, j0), (i1, j1) in itertools.pairwise(points):
            step_i = 1 if i1 > i0 else -1
            for i in range(i0 + step_i, i1 + step_i, step_i) if i1 != i0 else []:
                path.append((i, j0))
            step_j = 1 if j1 > j0 else -1
            for j in range(j0 + step_j, j1 + step_j, step_j) if j1 != j0 else []:
                path.append((i1, j))
        out: list[str] = [first] if first else []
        for n, k in enumerate(path):
            if n == 0 and first:
                continue
            if k in names or n % 2 == 0 or n == len(path) - 1:
                other = path[n - 1] if n > 0 else path[min(1, len(path) - 1)]
                vertical = other[0] == k[0]
                out.append(grid_stop(k[0], k[1], names.get(k, ""), vertical=vertical))
        return out

    # The station: a parent with two bus bays and a transfer between them.
    gx, gy = t.grid[(-7, 6)]
    feed.add_stop(
        _Stop("CLV_GARE", "Gare SNCF", round(gx + 2.0, 2), round(gy + 20.0, 2), 1, location_type=1)
    )
    feed.add_stop(
        _Stop(
            "CLV_GARE_A",
            "Gare SNCF",
            round(gx + 9.0, 2),
            round(gy + 12.0, 2),
            1,
            parent="CLV_GARE",
            code="GA",
        )
    )
    feed.add_stop(
        _Stop(
            "CLV_GARE_B",
            "Gare SNCF",
            round(gx - 9.0, 2),
            round(gy + 12.0, 2),
            0,
            parent="CLV_GARE",
            code="GB",
        )
    )
    names = {
        (0, 1): "Hôtel de Ville",
        (0, 0): "République",
        (8, -6): "Les Peupliers",
        (8, -4): "Les Peupliers - Centre social",
        (7, 8): "Centre hospitalier",
        (2, -2): "France Travail",
        (-4, -9): "Lycée Jean Moulin",
        (4, 4): "Collège Marie Curie",
        (12, 0): "Croix-Blanche",
        (0, 12): "Les Hauts de Montclerval",
        (0, -12): "Sud - Saint-Ours",
        (-12, 0): "Ouest - Les Essarts",
        (-1, 2): "Mission locale",
        (5, -10): "Lycée professionnel",
        (11, -3): "Hyper Clerval",
    }

    def place_stops(key: str, code: str) -> list[str]:
        p = world.places[key]
        g1 = p.gate((t.x, t.y))
        out = [
            point_stop(f"CLV{code}1", f"{p.name} - Entrée", g1),
            point_stop(f"CLV{code}2", f"{p.name} - Mairie", p.grid[(0, 0)]),
        ]
        far = [k for k in p.grid if abs(k[0]) + abs(k[1]) >= 2]
        if p.spec.kind == "periurban" and far:
            k = max(far, key=lambda k: _dist(p.grid[k], (t.x, t.y)))
            out.append(point_stop(f"CLV{code}3", f"{p.name} - {p.row_names[k[1]]}", p.grid[k]))
        return out

    za = world.za_grid
    za_stops = [
        point_stop("CLVZ01", "Route de la Croix-Blanche", world.interchange["X"]),
        point_stop("CLVZ02", "ZA Grandes Terres - Entrée", world.interchange["ZA"], 1),
        point_stop("CLVZ03", "ZA Grandes Terres - Entrepôts", za[(1, 1)], 2),
        point_stop("CLVZ04", "ZA Grandes Terres - Transporteurs", za[(1, 2)], 0),
    ]
    weekday = {
        "L1": (
            _departures(
                ("06:10", "06:10", 60),
                ("06:40", "09:00", 15),
                ("09:30", "16:00", 30),
                ("16:15", "19:00", 15),
                ("19:30", "20:15", 45),
            ),
            _departures(
                ("06:25", "06:25", 60),
                ("06:55", "09:10", 15),
                ("09:40", "16:10", 30),
                ("16:25", "19:10", 15),
                ("19:40", "20:25", 45),
            ),
        ),
        "L2": (_departures(("06:45", "19:45", 30)), _departures(("07:00", "20:00", 30))),
        "L3": (
            [_minutes(m) for m in ("07:05", "07:35", "08:05", "12:05", "13:05", "17:05", "18:05")],
            [_minutes(m) for m in ("07:40", "08:10", "12:40", "13:40", "17:40", "18:10", "18:40")],
        ),
        "L4": (_departures(("06:50", "19:50", 60)), _departures(("07:20", "19:20", 60))),
        "L5": (_departures(("06:35", "19:35", 60)), _departures(("07:05", "20:05", 60))),
        "L6": (_departures(("07:00", "19:00", 90)), _departures(("07:40", "19:40", 90))),
        "L7": (
            [_minutes(m) for m in ("07:15", "12:15", "17:45")],
            [_minutes(m) for m in ("06:30", "13:00", "18:30")],
        ),
    }
    saturday = {
        "L1": (_departures(("08:00", "19:00", 30)), _departures(("08:15", "19:15", 30))),
        "L2": (_departures(("08:30", "18:30", 60)), _departures(("09:00", "18:00", 60))),
        "L4": (_departures(("08:50", "17:50", 180)), _departures(("09:20", "18:20", 180))),
        "L5": (_departures(("08:35", "17:35", 180)), _departures(("09:05", "18:05", 180))),
        "L6": (_departures(("09:00", "15:00", 180)), _departures(("09:40", "15:40", 180))),
        "L7": ([_minutes("09:15")], [_minutes("12:30")]),
    }
    routes = [
        _Route(
            "L1",
            "1",
            "Gare SNCF - Les Peupliers",
            3,
            "E2001A",
            town_path([(-7, 6), (0, 6), (0, 0), (8, 0), (8, -6)], names, "CLV_GARE_A"),
            {},
        ),
        _Route(
            "L2",
            "2",
            "Centre hospitalier - Lycée Jean Moulin",
            3,
            "0072BC",
            town_path([(7, 8), (2, 8), (2, -2), (-4, -2), (-4, -9)], names),
            {},
        ),
        _Route(
            "L3",
            "3",
            "Hôtel de Ville - ZA des Grandes Terres",
            3,
            "F39200",
            [*town_path([(0, 1), (0, 0), (12, 0)], names), *za_stops],
            {},
        ),
        _Route(
            "L4",
            "4",
            "Gare SNCF - Brenac-sur-Clerve",
            3,
            "3AAA35",
            [
                *town_path([(-7, 6), (4, 6), (4, 4), (7, 4), (7, 8)], names, "CLV_GARE_A"),
                *place_stops("P1", "P1"),
            ],
            {},
            blanks=True,
        ),
        _Route(
            "L5",
            "5",
            "Hôtel de Ville - Les Essarts-Fouquet",
            3,
            "8E44AD",
            [*town_path([(0, 1), (0, 0), (-12, 0)], names), *place_stops("P2", "P2")],
            {},
            blanks=True,
        ),
        _Route(
            "L6",
            "6",
            "République - Saint-Ours - Lavergne",
            3,
            "16A085",
            [
                *town_path([(0, 0), (0, -12)], names),
                *place_stops("P3", "P3"),
                *place_stops("P4", "P4")[::-1],
            ],
            {},
            blanks=True,
        ),
        _Route(
            "L7",
            "7",
            "Montclerval - Mirevault - Vaudrelle",
            3,
            "7F8C8D",
            [
                *town_path([(0, 1), (0, 12)], names),
                *place_stops("V3", "V3")[1:],
                *place_stops("V8", "V8")[1:],
            ],
            {},
            blanks=True,
        ),
    ]
    for r in routes:
        r.services = {"SEM": weekday[r.route_id]}
        if r.route_id in saturday:
            r.services["SAM"] = saturday[r.route_id]
    town_xy = (t.x, t.y)
    for r in routes:
        stops0 = r.stops
        stops1 = [("CLV_GARE_B" if s == "CLV_GARE_A" else s) for s in stops0[::-1]]
        for direction, ids in ((0, stops0), (1, stops1)):
            offsets = _travel_offsets([feed.stops[s] for s in ids], town_xy)
            for service, (dep0, dep1) in r.services.items():
                for start in dep0 if direction == 0 else dep1:
                    feed.add_trip(
                        r,
                        service,
                        direction,
                        start,
                        ids,
                        offsets,
                        wheelchair=2 if r.route_id == "L7" else 1,
                        blanks=r.blanks,
                        pickup=0,
                        headsign=feed.stops[ids[-1]].name,
                    )
    # On-demand transport (route_type 715) for the villages, booked by phone.
    tad = _Route("TAD", "TAD", "Clervia à la demande - villages", 715, "95A5A6", [], {}, pickup=2)
    variants = {
        "O": ["V6", "V4"],
        "E": ["V7", "V5"],
        "N": ["V1"],
        "S": ["V2"],
    }
    centre_stop = grid_stop(0, 1, "Hôtel de Ville")
    for suffix, keys in variants.items():
        village_stops = [
            point_stop(
                f"CLVT{k}",
                f"{world.places[k].name} - Place de l'Église",
                world.places[k].grid[(0, 0)],
                0,
            )
            for k in keys
        ]
        to_town = [*village_stops, "CLV_GARE_A", centre_stop]
        from_town = [centre_stop, "CLV_GARE_B", *village_stops[::-1]]
        for direction, ids, starts, service in (
            (0, to_town, ("08:20", "13:20"), "SEM"),
            (1, from_town, ("12:00", "17:30"), "SEM"),
            (0, to_town, ("09:00",), "SAM"),
            (1, from_town, ("12:00",), "SAM"),
        ):
            offsets = _travel_offsets([feed.stops[s] for s in ids], town_xy, speed_rural_kmh=55.0)
            for first_departure in starts:
                feed.add_trip(
                    tad,
                    service,
                    direction,
                    _minutes(first_departure),
                    ids,
                    offsets,
                    wheelchair=1,
                    blanks=False,
                    pickup=2,
                    headsign=feed.stops[ids[-1]].name,
                    suffix=suffix,
                )
    routes.append(tad)
    return feed, routes


def _build_rail_feed(world: _World) -> tuple[_Gtfs, list[_Route]]:
    feed = _Gtfs()
    rs = world.rail_stations
    feed.add_stop(
        _Stop("StopArea:MONTCLERVAL", "Montclerval", rs["T"][0], rs["T"][1], 1, location_type=1)
    )
    feed.add_stop(
        _Stop(
            "StopPoint:MONTCLERVAL:1",
            "Montclerval",
            rs["T"][0] + 8.0,
            rs["T"][1] - 6.0,
            1,
            parent="StopArea:MONTCLERVAL",
            code="1",
        )
    )
    feed.add_stop(
        _Stop(
            "StopPoint:MONTCLERVAL:2",
            "Montclerval",
            rs["T"][0] + 2.0,
            rs["T"][1] + 8.0,
            1,
            parent="StopArea:MONTCLERVAL",
            code="2",
        )
    )
    feed.add_stop(
        _Stop("StopArea:PONTREVAL", "Pontreval", rs["N"][0], rs["N"][1], 0, location_type=1)
    )
    feed.add_stop(
        _Stop(
            "StopPoint:PONTREVAL",
            "Pontreval",
            rs["N"][0] + 6.0,
            rs["N"][1] - 5.0,
            0,
            parent="StopArea:PONTREVAL",
        )
    )
    feed.add_stop(
        _Stop("StopPoint:SAUVELANDE", "Sauvelande", rs["V2"][0] + 5.0, rs["V2"][1] - 5.0, 2)
    )
    feed.add_stop(
        _Stop("StopPoint:ESSARTS", "Les Essarts-Fouquet", rs["P2"][0] + 5.0, rs["P2"][1] - 5.0, 0)
    )
    route = _Route("TER-PM", "K30", "Pontreval - Montclerval", 2, "0C3C78", [], {})
    to_mcv = [
        "StopPoint:PONTREVAL",
        "StopPoint:SAUVELANDE",
        "StopPoint:ESSARTS",
        "StopPoint:MONTCLERVAL:1",
    ]
    to_pon = [
        "StopPoint:MONTCLERVAL:2",
        "StopPoint:ESSARTS",
        "StopPoint:SAUVELANDE",
        "StopPoint:PONTREVAL",
    ]
    off0 = [0, 14 * 60, 23 * 60, 30 * 60]
    off1 = [0, 6 * 60, 15 * 60, 30 * 60]
    week0 = [
        "05:50",
        "06:50",
        "07:40",
        "08:50",
        "11:50",
        "12:50",
        "16:50",
        "17:40",
        "18:50",
        "20:20",
        "24:05",
    ]
    week1 = [
        "06:10",
        "07:10",
        "08:10",
        "12:10",
        "13:10",
        "17:10",
        "18:10",
        "19:10",
        "21:10",
        "24:40",
    ]
    sat0 = ["07:50", "11:50", "16:50", "19:50"]
    sat1 = ["08:40", "12:40", "17:40", "20:40"]
    for service, dep0, dep1 in (("LV", week0, week1), ("S", sat0, sat1)):
        for m in dep0:
            feed.add_trip(
                route,
                service,
                0,
                _minutes(m),
                to_mcv,
                off0,
                wheelchair=1,
                blanks=False,
                pickup=0,
                headsign="Montclerval",
            )
        for m in dep1:
            feed.add_trip(
                route,
                service,
                1,
                _minutes(m),
                to_pon,
                off1,
                wheelchair=1,
                blanks=False,
                pickup=0,
                headsign="Pontreval",
            )
    return feed, [route]


def _gtfs_calendar(weekday: str, saturday: str) -> tuple[list[list[object]], list[list[object]]]:
    calendar = [
        [weekday, 1, 1, 1, 1, 1, 0, 0, _FEED_START, _FEED_END],
        [saturday, 0, 0, 0, 0, 0, 1, 0, _FEED_START, _FEED_END],
    ]
    dates = [[weekday, d, 2] for d in _HOLIDAYS_WEEKDAY] + [
        [saturday, d, 2] for d in _HOLIDAYS_SATURDAY
    ]
    return calendar, dates


def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _write_zip(path: Path, members: dict[str, bytes]) -> None:
    """A zip whose bytes depend only on its members (fixed dates and attributes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=6)
    path.write_bytes(buffer.getvalue())


def _write_gtfs(
    path: Path,
    feed: _Gtfs,
    routes: list[_Route],
    agency: list[object],
    services: tuple[str, str],
    transfers: list[list[object]],
    version: str,
) -> None:
    to_wgs = transformer(2154, 4326)
    stop_rows = []
    for s in feed.stops.values():
        lon, lat = to_wgs.transform(s.x, s.y)
        stop_rows.append(
            [
                s.stop_id,
                s.code,
                s.name,
                f"{lat:.6f}",
                f"{lon:.6f}",
                s.location_type,
                s.parent,
                s.wheelchair,
            ]
        )
    calendar, dates = _gtfs_calendar(*services)
    members = {
        "agency.txt": _csv_bytes(
            ("agency_id", "agency_name", "agency_url", "agency_timezone", "agency_lang"), [agency]
        ),
        "stops.txt": _csv_bytes(
            (
                "stop_id",
                "stop_code",
                "stop_name",
                "stop_lat",
                "stop_lon",
                "location_type",
                "parent_station",
                "wheelchair_boarding",
            ),
            stop_rows,
        ),
        "routes.txt": _csv_bytes(
            (
                "route_id",
                "agency_id",
                "route_short_name",
                "route_long_name",
                "route_type",
                "route_color",
                "route_text_color",
            ),
            [
                [r.route_id, agency[0], r.short, r.long, r.route_type, r.color, "FFFFFF"]
                for r in routes
            ],
        ),
        "trips.txt": _csv_bytes(
            (
                "route_id",
                "service_id",
                "trip_id",
                "trip_headsign",
                "direction_id",
                "wheelchair_accessible",
            ),
            feed.trips,
        ),
        "stop_times.txt": _csv_bytes(
            (
                "trip_id",
                "arrival_time",
                "departure_time",
                "stop_id",
                "stop_sequence",
                "pickup_type",
                "drop_off_type",
                "timepoint",
            ),
            feed.stop_times,
        ),
        "calendar.txt": _csv_bytes(
            (
                "service_id",
                "monday",
                "tuesday",
                "wednesday",
                "thursday",
                "friday",
                "saturday",
                "sunday",
                "start_date",
                "end_date",
            ),
            calendar,
        ),
        "calendar_dates.txt": _csv_bytes(("service_id", "date", "exception_type"), dates),
        "transfers.txt": _csv_bytes(
            ("from_stop_id", "to_stop_id", "transfer_type", "min_transfer_time"), transfers
        ),
        "feed_info.txt": _csv_bytes(
            (
                "feed_publisher_name",
                "feed_publisher_url",
                "feed_lang",
                "feed_start_date",
                "feed_end_date",
                "feed_version",
            ),
            [
                [
                    "parcours - données fictives de démonstration",
                    "https://parcours.example",
                    "fr",
                    _FEED_START,
                    _FEED_END,
                    version,
                ]
            ],
        ),
    }
    _write_zip(path, members)


# --------------------------------------------------------------------------------------
# Other layers: carpool, bike share, QPV, communes, employment zones, user services
# --------------------------------------------------------------------------------------


def _lonlat(x: float, y: float) -> XY:
    lon, lat = transformer(2154, 4326).transform(x, y)
    return float(lon), float(lat)


def _geojson_geometry(geom: shapely.Geometry) -> dict[str, object]:
    """RFC 7946 geometry in WGS84 (exterior rings counter-clockwise), 7 decimals."""
    to_wgs = transformer(2154, 4326)
    wgs = shapely.transform(geom, lambda c: np.column_stack(to_wgs.transform(c[:, 0], c[:, 1])))
    wgs = shapely.orient_polygons(shapely.set_precision(wgs, 1e-7), exterior_cw=False)
    mapping: dict[str, object] = json.loads(shapely.to_geojson(wgs))
    return mapping


def _write_json(path: Path, payload: object) -> None:
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _write_carpool(world: _World, path: Path) -> None:
    rng = world.rng
    rb = world.roundabout
    ic = world.interchange
    items = [
        (
            "Échangeur A 98 sortie 12",
            "A98 sortie 12 Montclerval",
            (ic["W"][0] - 120.0, ic["W"][1] + 60.0),
            "Sortie d'autoroute",
            60,
            2,
            "24/7",
            True,
            "Arrêt ZA Grandes Terres à 1,6 km",
        ),
        (
            "Croix-Blanche",
            "Rond-point de la Croix-Blanche, D 707",
            (rb["C"][0] + 70.0, rb["C"][1] + 60.0),
            "Aire de covoiturage",
            35,
            1,
            "",
            True,
            "",
        ),
        (
            "Gare de Montclerval",
            "Place de la Gare",
            (world.station[0] + 40.0, world.station[1] - 50.0),
            "Parking relais",
            80,
            4,
            "24/7",
            True,
            "Correspondance TER et bus",
        ),
        (
            "Parking Hyper Clerval",
            "",
            (world.sites["hyper"].x + 60.0, world.sites["hyper"].y - 60.0),
            "Supermarché",
            12,
            None,
            "Mo-Sa 08:00-20:00",
            False,
            "",
        ),
        (
            "Sauvelande - D 707",
            "croisement D 707 - D 214",
            (world.places["V2"].x + 220.0, world.places["V2"].y + 90.0),
            "Aire de covoiturage",
            15,
            None,
            "",
            False,
            "",
        ),
        (
            "Lavergne - D 45",
            "",
            (world.places["P4"].x + 540.0, world.places["P4"].y - 120.0),
            "Délaissé routier",
            8,
            0,
            "",
            False,
            "",
        ),
        (
            "Orbazac - salle des fêtes",
            "Grande Rue",
            (world.places["V1"].x - 60.0, world.places["V1"].y + 50.0),
            "Parking",
            10,
            None,
            "",
            False,
            "",
        ),
    ]
    counters: dict[str, int] = {}
    rows = []
    for n, (name, address, (x, y), typ, places, pmr, hours, light, comment) in enumerate(
        items, start=1
    ):
        place = world.places[world.place_of(x, y)]
        counters[place.insee] = counters.get(place.insee, 0) + 1
        lon, lat = _lonlat(x, y)
        rows.append(
            [
                f"{place.insee}-C-{counters[place.insee]:03d}",
                f"MCV-{n:02d}",
                name,
                address,
                place.name,
                place.insee,
                typ,
                f"2025-{int(rng.integers(3, 10)):02d}-{int(rng.integers(1, 29)):02d}",
                "true",
                _EPCI_SIREN,
                repr(round(lon, 10)),
                repr(round(lat, 10)),
                places,
                "" if pmr is None else pmr,
                "",
                hours,
                _EPCI_NAME if n < 5 else "Département de l'Allier",
                "true" if light else "false",
                comment,
            ]
        )
    _write_csv(path, BNLC_COLUMNS, rows, bom=True)


def _write_gbfs(world: _World, path: Path) -> None:
    rng = world.rng
    t = world.town
    spots = [
        ("Gare SNCF", (-7, 6)),
        ("Hôtel de Ville", (0, 1)),
        ("République", (1, 0)),
        ("Centre hospitalier", (7, 8)),
        ("Lycée Jean Moulin", (-4, -9)),
        ("Les Peupliers", (8, -5)),
        ("Place du Marché", (-1, -1)),
        ("Collège Marie Curie", (4, 4)),
        ("Piscine", (-6, -6)),
        ("Parc de la Clerve", (3, -7)),
        ("Croix-Blanche", (11, 0)),
    ]
    stations = []
    for n, (name, k) in enumerate(spots, start=1):
        x, y = t.grid[k]
        lon, lat = _lonlat(x + 10.0, y + 10.0)
        stations.append(
            {
                "station_id": f"MCV{n:02d}",
                "name": name,
                "lat": round(lat, 6),
                "lon": round(lon, 6),
                "address": t.row_names[k[1]],
                "post_code": t.spec.postcode,
                "capacity": int(rng.choice([8, 10, 12, 12, 15, 20])),
                "is_virtual_station": False,
            }
        )
    _write_json(
        path,
        {
            "last_updated": _GBFS_LAST_UPDATED,
            "ttl": 86_400,
            "version": "2.3",
            "data": {"stations": stations},
        },
    )
    system = {
        "last_updated": _GBFS_LAST_UPDATED,
        "ttl": 86_400,
        "version": "2.3",
        "data": {
            "system_id": "clervia_velo",
            "language": "fr",
            "name": "Clervia Vélo (fictif)",
            "timezone": "Europe/Paris",
        },
    }
    _write_json(path.with_name("system_information.json"), system)


def _write_qpv(world: _World, path: Path) -> None:
    t = world.town
    feature = {
        "type": "Feature",
        "properties": {
            "code_qp": _QPV_CODE,
            "lib_qp": _QPV_NAME,
            "insee_reg": _REG,
            "lib_reg": _LIB_REG,
            "insee_dep": _DEP,
            "lib_dep": _LIB_DEP,
            "insee_com": t.insee,
            "lib_com": t.name,
            "siren_epci": _EPCI_SIREN,
        },
        "geometry": _geojson_geometry(world.qpv),
    }
    _write_json(path, {"type": "FeatureCollection", "name": "qp2024", "features": [feature]})


def _write_communes(world: _World, path: Path, population: dict[str, float]) -> None:
    features = []
    for key, place in sorted(world.places.items(), key=lambda kv: kv[1].insee):
        neighbour = place.spec.kind == "neighbour"
        siren = _NEIGHBOUR_EPCI_SIREN if neighbour else _EPCI_SIREN
        name = _NEIGHBOUR_EPCI_NAME if neighbour else _EPCI_NAME
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "code": place.insee,
                    "nom": place.name,
                    "codeDepartement": _DEP,
                    "codeRegion": _REG,
                    "codeEpci": siren,
                    "nomEpci": name,
                    "epci": {"code": siren, "nom": name},
                    "population": round(population.get(key, 0.0)),
                },
                "geometry": _geojson_geometry(world.communes[key]),
            }
        )
    _write_json(path, {"type": "FeatureCollection", "features": features})


def _write_ze(world: _World, path: Path) -> None:
    rows = []
    for place in sorted(world.places.values(), key=lambda p: p.insee):
        neighbour = place.spec.kind == "neighbour"
        code, name = (_NEIGHBOUR_ZE_CODE, _NEIGHBOUR_ZE_NAME) if neighbour else (_ZE_CODE, _ZE_NAME)
        rows.append([place.insee, place.name, code, name, code, _DEP, _REG])
    _write_csv(path, ZE_COLUMNS, rows, delimiter=";")


def _write_user_services(world: _World, path: Path) -> None:
    items = [
        (
            "ML-01",
            "Mission locale du Val de Clerve",
            "mission_locale",
            world.sites["mission_locale"],
        ),
        (
            "ML-02",
            "Mission locale - permanence de Brenac-sur-Clerve",
            "mission_locale",
            world.sites["mairie_P1"],
        ),
        (
            "ML-03",
            "Mission locale - permanence France Services Puyvalon",
            "mission_locale",
            world.sites["france_services_V6"],
        ),
        ("CAF-01", "CAF - point d'accueil de Montclerval", "caf", world.sites["caf"]),
        (
            "CAF-02",
            "CAF - permanence France Services Saint-Ours-la-Plaine",
            "caf",
            world.sites["france_services_P3"],
        ),
    ]
    rows = []
    for sid, name, category, site in items:
        lon, lat = _lonlat(site.x, site.y)
        rows.append([sid, name, category, f"{lon:.6f}", f"{lat:.6f}"])
    _write_csv(path, ("id", "name", "category", "lon", "lat"), rows)


# --------------------------------------------------------------------------------------
# Commuting: INSEE's MOBPRO detail file
# --------------------------------------------------------------------------------------

#: Columns of INSEE's ``FD_MOBPRO_2020.csv``, in its order.
MOBPRO_COLUMNS: tuple[str, ...] = (
    "COMMUNE", "ARM", "DCFLT", "DCLT", "AGEREVQ", "CS1", "DEROU", "DIPL", "EMPL", "ILT",
    "ILTUU", "IMMI", "INATC", "INEEM", "INPOM", "INPSM", "IPONDI", "LPRM", "METRODOM", "MOCO",
    "NA17", "NA5", "NPERR", "REGION", "REGLT", "SEXE", "STAT", "STOCD", "TP", "TRANS", "TYPL",
    "TYPMR", "VOIT",
)  # fmt: skip

#: Employed residents (actifs ayant un emploi) per inhabitant.
_EMPLOYED_PER_INHABITANT = 0.42
#: A commune code outside the demo (its number is held by no commune): work elsewhere.
_ELSEWHERE = f"{_DEP}964"
#: Where the employed residents of each kind of place work: own commune, the town,
#: another commune of the agglomeration, the neighbouring town, elsewhere.
_WORK_PLACES: dict[str, tuple[float, float, float, float, float]] = {
    "town": (0.66, 0.0, 0.20, 0.06, 0.08),
    "periurban": (0.28, 0.46, 0.14, 0.04, 0.08),
    "village": (0.22, 0.48, 0.16, 0.04, 0.10),
    "neighbour": (0.72, 0.12, 0.02, 0.0, 0.14),
}
#: TRANS (2020 coding: 1 none, 2 walk, 3 bike, 4 two-wheeler, 5 car, 6 transit) by trip:
#: within the town, within a smaller commune, to the town, any other trip.
_TRANS_SHARES: dict[str, tuple[float, ...]] = {
    "in_town": (0.05, 0.20, 0.07, 0.02, 0.50, 0.16),
    "in_place": (0.12, 0.14, 0.04, 0.02, 0.66, 0.02),
    "to_town": (0.0, 0.0, 0.03, 0.03, 0.84, 0.10),
    "other": (0.0, 0.0, 0.01, 0.03, 0.91, 0.05),
}


def _mobpro_rows(world: _World, population: dict[str, float], seed: int) -> list[list[object]]:
    """Census records of the employed residents, weighted as INSEE's sample is.

    In a commune of 10,000 inhabitants or more the census surveys about 40 % of the
    dwellings over five years (weights near 2.5); smaller communes are surveyed whole
    (weights near 1). Drawn from a generator of its own, so that the other files do not
    change with it.
    """
    rng = np.random.default_rng([seed, 2020])
    places = sorted(world.places.values(), key=lambda p: p.insee)
    town = world.town.insee
    agglomeration = [p.insee for p in places if p.spec.kind in ("town", "periurban", "village")]
    rows: list[list[object]] = []
    for place in places:
        workers = _EMPLOYED_PER_INHABITANT * population.get(place.spec.key, 0.0)
        if workers <= 0:
            continue
        base = 2.5 if population.get(place.spec.key, 0.0) >= 10_000 else 1.0
        n = max(1, round(workers / base))
        weights = base * rng.uniform(0.9, 1.1, n)
        weights *= workers / weights.sum()
        where = rng.choice(5, size=n, p=_WORK_PLACES[place.spec.kind])
        others = [c for c in agglomeration if c not in (place.insee, town)]
        for weight, kind in zip(weights, where, strict=True):
            if kind == 0 or (kind == 1 and place.insee == town):
                work = place.insee
            elif kind == 1:
                work = town
            elif kind == 2:
                work = str(rng.choice(others))
            elif kind == 3:
                work = f"{_DEP}963"
            else:
                work = _ELSEWHERE
            if work == place.insee:
                trip = "in_town" if work == town else "in_place"
            else:
                trip = "to_town" if work == town else "other"
            trans = int(rng.choice(6, p=_TRANS_SHARES[trip])) + 1
            age = int(rng.choice([15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65]))
            values = {
                "COMMUNE": place.insee,
                "ARM": "ZZZZZ",
                "DCFLT": "99999",
                "DCLT": work,
                "AGEREVQ": f"{age:03d}",
                "CS1": str(rng.choice([1, 2, 3, 4, 5, 6], p=[0.02, 0.07, 0.17, 0.26, 0.27, 0.21])),
                "DEROU": "Z",
                "DIPL": str(rng.choice(["01", "11", "13", "14", "16", "17", "18", "19"])),
                "EMPL": str(rng.choice(["11", "12", "13", "14", "15", "16", "21", "22", "23"])),
                "ILT": "1" if work == place.insee else "2",
                "ILTUU": "1" if work == place.insee else "2",
                "IMMI": str(rng.choice(["1", "2"], p=[0.06, 0.94])),
                "INATC": str(rng.choice(["1", "2"], p=[0.95, 0.05])),
                "INEEM": str(int(rng.integers(0, 3))),
                "INPOM": str(int(rng.integers(1, 4))),
                "INPSM": str(int(rng.integers(0, 3))),
                "IPONDI": f"{weight:.15f}",
                "LPRM": str(rng.choice(["1", "2", "3"], p=[0.55, 0.3, 0.15])),
                "METRODOM": "M",
                "MOCO": str(rng.choice(["11", "12", "21", "22", "23", "31", "32"])),
                "NA17": str(rng.choice(["AZ", "C5", "FZ", "GZ", "HZ", "MN", "OQ", "RU"])),
                "NA5": str(rng.choice(["AZ", "BE", "FZ", "GU", "OQ"])),
                "NPERR": str(int(rng.integers(1, 7))),
                "REGION": _REG,
                "REGLT": _REG,
                "SEXE": str(rng.choice(["1", "2"])),
                "STAT": str(rng.choice(["10", "21", "22", "23"], p=[0.87, 0.07, 0.04, 0.02])),
                "STOCD": str(rng.choice(["10", "21", "22", "23", "30"])),
                "TP": str(rng.choice(["1", "2"], p=[0.82, 0.18])),
                "TRANS": str(trans),
                "TYPL": str(rng.choice(["1", "2"], p=[0.6, 0.4])),
                "TYPMR": str(rng.choice(["11", "12", "21", "22", "30", "41", "42"])),
                "VOIT": str(rng.choice(["0", "1", "2", "3"], p=[0.08, 0.38, 0.44, 0.10])),
            }
            rows.append([values[c] for c in MOBPRO_COLUMNS])
    return rows


def _write_mobpro(world: _World, path: Path, population: dict[str, float], seed: int) -> None:
    """Write ``FD_MOBPRO_2020.csv`` as INSEE does: ``;``-separated, one record per line."""
    rows = _mobpro_rows(world, population, seed)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(MOBPRO_COLUMNS)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode("latin-1"))


# --------------------------------------------------------------------------------------
# README and entry point
# --------------------------------------------------------------------------------------

_DESCRIPTION = (
    "Territoire fictif de démonstration : l'agglomération imaginaire de Montclerval "
    "(environ 25\u00a0000 habitants), quatre communes périurbaines et huit villages jusqu'à 25 km, "
    "réunis dans une communauté d'agglomération et une zone d'emploi, plus une ville voisine "
    "fictive, Pontreval, à 35 km (centre de formation d'apprentis). Aucune de ces communes "
    "n'existe : noms, codes INSEE (03950 à 03963), réseaux, entreprises et populations sont "
    "inventés, aux formats des sources officielles, pour essayer parcours sans téléchargement."
)


def _readme(stats: dict[str, float], seed: int, za_commune: str) -> str:
    """The README.txt of the demo folder (French, with an English paragraph)."""

    def num(key: str) -> str:
        return f"{stats[key]:,.0f}".replace(",", "\u202f")

    description = textwrap.fill(_DESCRIPTION, width=92)
    return f"""TERRITOIRE FICTIF DE DÉMONSTRATION — parcours
================================================

{description}

Ce dossier a été produit par parcours.territories.demo.write_demo_sources (graine {seed}).
Les mêmes paramètres redonnent des fichiers identiques octet pour octet. Rien ici ne décrit
un lieu réel : le territoire est placé en Lambert-93 autour de x = 700 000 m, y = 6 600 000 m
pour que les systèmes de coordonnées soient ceux de la France métropolitaine ; les codes
INSEE ont le format réel (département 03) mais des numéros de commune (950 à 963) qu'aucune
commune ne porte.

Contenu (formats des téléchargements réels)
-------------------------------------------
- osm/demo.osm.pbf : réseau routier OSM (autoroute A 98 avec échangeur, routes
  départementales, grille de rues, rond-point, sens uniques avec double-sens cyclable, voie
  verte, bandes cyclables, passerelle avec escaliers à la gare, chemins agricoles, voie
  privée) et points d'intérêt ; {num("osm_ways")} voies, {num("osm_nodes")} nœuds.
- gtfs/reseau-bus.zip : réseau urbain « Clervia » (7 lignes de bus et un transport à la
  demande, route_type 715) ; gtfs/ter.zip : ligne ferroviaire régionale Pontreval –
  Montclerval (route_type 2), avec un train de nuit après minuit (24:35, 25:10).
  {num("trips")} courses. Services du lundi au vendredi et le samedi du 5 janvier au
  31 décembre 2026, jours fériés retirés (calendar_dates.txt) ; aucun service le dimanche.
- filosofi/carreaux_200m_met.gpkg : carreaux de 200 m au schéma Filosofi 2019 (EPSG:2154),
  {num("population")} habitants dont {num("town_population")} à Montclerval ;
  ménages pauvres concentrés dans le quartier prioritaire « {_QPV_NAME} ».
- sirene/StockEtablissement_utf8.csv et
  sirene/GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv :
  {num("establishments")} établissements (environ {num("jobs")} emplois dans le
  périmètre, au milieu des tranches d'effectifs), dont quelques-uns à diffusion partielle (P)
  et deux fermés (F).
- bpe/bpe23_ensemble_xy.csv : équipements au schéma de la BPE (France Travail A122, France
  Services A128, auto-écoles A304, hôpital D101, médecins D201, CFA C601 à Pontreval, écoles,
  collèges, lycées, crèches, commerces, gares).
- services/lieux_accueil.csv : liste utilisateur (missions locales, CAF), absente de la BPE.
- bnlc/bnlc.csv : aires de covoiturage (schéma lieux de covoiturage), UTF-8 avec BOM.
- gbfs/station_information.json : vélos en libre-service (GBFS 2.3).
- qpv/qp2024.geojson : contour du quartier prioritaire (WGS84).
- communes/communes.geojson : contours des communes (forme geo.api.gouv.fr).
- zones_emploi/ze2020.csv : composition communale des zones d'emploi 2020.
- mobpro/FD_MOBPRO_2020.csv : navettes domicile-travail au schéma du fichier détail MOBPRO
  du recensement (mode de transport TRANS, poids IPONDI), {num("commuters")} actifs.

Les manques que le diagnostic doit trouver
------------------------------------------
- Zone d'activités des Grandes Terres, à {za_commune}, près de la sortie 12 de l'A 98
  (entreposage 52.10A/52.10B, messagerie, conserverie, propreté) : postes de 5 h ou 6 h à
  13 h ou 14 h et de 13 h ou 14 h à 21 h ou 22 h, tri de nuit ; la ligne 3 ne la dessert
  qu'entre 7 h et 19 h en semaine, jamais le samedi.
- Peu de bus avant 6 h 30, aucun après 20 h 30 sur la plupart des lignes, samedi réduit,
  aucun service le dimanche ni les jours fériés.
- Six villages desservis seulement par le transport à la demande (sur réservation), quelques
  courses par jour.
- Formation en alternance au CFA de Pontreval, à 35 km : cas de mobilité longue distance.

English
-------
FICTIONAL demo territory: the imaginary agglomeration of Montclerval (about 25,000
inhabitants), four periurban communes and eight villages within 25 km, one EPCI and one
employment zone, plus a fictional neighbouring town, Pontreval, 35 km away (apprentice
training centre). None of these places exist: names, INSEE codes (03950-03963), networks,
businesses and populations are invented, written in the formats of the official French
sources so that parcours can be tried without any download. The logistics zone's shifts
start at 05:00-06:00 and end at 21:00-22:00 while its bus runs 07:00-19:00 on weekdays only.
"""


def write_demo_sources(directory: Path, *, seed: int = 2026) -> DemoSources:
    """Write the source files of the fictional demo territory.

    Parameters
    ----------
    directory
        Destination folder, created when missing; files of a previous run are overwritten.
    seed
        Seed of the random generator: the same seed writes byte-identical files.

    Returns
    -------
    DemoSources
        The files written, grouped by source kind, and facts about the territory.
    """
    directory = Path(directory)
    rng = np.random.default_rng(seed)
    world = _build_world(rng)
    _place_sites(world)

    paths = {
        "osm": directory / "osm" / "demo.osm.pbf",
        "gtfs_bus": directory / "gtfs" / "reseau-bus.zip",
        "gtfs_rail": directory / "gtfs" / "ter.zip",
        "population": directory / "filosofi" / "carreaux_200m_met.gpkg",
        "jobs": directory / "sirene" / "StockEtablissement_utf8.csv",
        "jobs_geolocation": directory
        / "sirene"
        / "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv",
        "bpe": directory / "bpe" / "bpe23_ensemble_xy.csv",
        "user_services": directory / "services" / "lieux_accueil.csv",
        "carpool": directory / "bnlc" / "bnlc.csv",
        "bikeshare": directory / "gbfs" / "station_information.json",
        "qpv": directory / "qpv" / "qp2024.geojson",
        "communes": directory / "communes" / "communes.geojson",
        "employment_zones": directory / "zones_emploi" / "ze2020.csv",
        "mobpro": directory / "mobpro" / "FD_MOBPRO_2020.csv",
        "addresses": directory / "ban" / "adresses-03.csv",
    }
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)

    all_communes = shapely.union_all(list(world.communes.values()))
    minx, miny, maxx, maxy = shapely.bounds(
        _geojson_to_shape(_geojson_geometry(all_communes))
    ).tolist()
    bbox = (round(minx, 6), round(miny, 6), round(maxx, 6), round(maxy, 6))

    plan = _plan_roads(world)
    plan.resolve_crossings()
    _add_pois(world, plan)
    bus, bus_routes = _build_bus_feed(world)
    rail, rail_routes = _build_rail_feed(world)
    for stop in bus.stops.values():
        if stop.location_type == 0:
            tags = {
                "highway": "bus_stop",
                "public_transport": "platform",
                "bus": "yes",
                "name": stop.name,
            }
            plan.pois.append(((stop.x, stop.y), tags))
    osm_nodes, osm_ways = _write_pbf(paths["osm"], plan, bbox)
    _write_csv(paths["addresses"], BAN_COLUMNS, _ban_rows(world, plan, seed), delimiter=";")

    grid, population = _filosofi_rows(world)
    _write_gpkg(paths["population"], grid, "carreaux_200m_met")

    estabs = _make_establishments(world)
    _write_sirene(world, estabs, paths["jobs"], paths["jobs_geolocation"])
    _write_csv(paths["bpe"], BPE_COLUMNS, _bpe_rows(world, estabs), delimiter=";")
    _write_user_services(world, paths["user_services"])

    _write_gtfs(
        paths["gtfs_bus"],
        bus,
        bus_routes,
        [
            "CLERVIA",
            "Clervia - réseau de Montclerval",
            "https://www.clervia.example",
            "Europe/Paris",
            "fr",
        ],
        ("SEM", "SAM"),
        [["CLV_GARE_A", "CLV_GARE_B", 2, 120], ["CLV_GARE_B", "CLV_GARE_A", 2, 120]],
        f"demo-{seed}",
    )
    _write_gtfs(
        paths["gtfs_rail"],
        rail,
        rail_routes,
        [
            "TRV",
            "Trains régionaux du Val de Clerve",
            "https://www.trains-val-de-clerve.example",
            "Europe/Paris",
            "fr",
        ],
        ("LV", "S"),
        [
            ["StopPoint:MONTCLERVAL:1", "StopPoint:MONTCLERVAL:2", 2, 240],
            ["StopPoint:MONTCLERVAL:2", "StopPoint:MONTCLERVAL:1", 2, 240],
        ],
        f"demo-{seed}",
    )

    _write_carpool(world, paths["carpool"])
    _write_gbfs(world, paths["bikeshare"])
    _write_qpv(world, paths["qpv"])
    _write_communes(world, paths["communes"], population)
    _write_ze(world, paths["employment_zones"])
    _write_mobpro(world, paths["mobpro"], population, seed)

    perimeter = [p for k, p in world.places.items() if p.spec.kind != "neighbour"]
    jobs = sum(HEADCOUNT_MIDPOINTS[e.tranche] for e in estabs if e.active and e.place != "N")
    stats_population = sum(v for k, v in population.items() if k != "N")
    stats = {
        "osm_nodes": float(osm_nodes),
        "osm_ways": float(osm_ways),
        "trips": float(len(bus.trips) + len(rail.trips)),
        "population": sum(v for k, v in population.items() if k != "N"),
        "town_population": population.get("T", 0.0),
        "establishments": float(len(estabs)),
        "jobs": jobs,
        "commuters": _EMPLOYED_PER_INHABITANT * stats_population,
    }
    za_x, za_y = world.za_grid[(1, 1)]
    za_commune = world.places[world.place_of(za_x, za_y)].name
    (directory / "README.txt").write_text(_readme(stats, seed, za_commune), encoding="utf-8")

    files = {
        "osm": [paths["osm"]],
        "gtfs": [paths["gtfs_bus"], paths["gtfs_rail"]],
        "population": [paths["population"]],
        "jobs": [paths["jobs"]],
        "jobs_geolocation": [paths["jobs_geolocation"]],
        "services": [paths["bpe"], paths["user_services"]],
        "carpool": [paths["carpool"]],
        "qpv": [paths["qpv"]],
        "bikeshare": [paths["bikeshare"]],
        "communes": [paths["communes"]],
        "employment_zones": [paths["employment_zones"]],
        "mobpro": [paths["mobpro"]],
        "addresses": [paths["addresses"]],
    }
    return DemoSources(
        directory=directory,
        files=files,
        communes=sorted(p.insee for p in perimeter),
        bbox_wgs84=bbox,
        description=_DESCRIPTION,
        places={
            name: (world.sites[key].x, world.sites[key].y)
            for name, key in (
                ("logistics_zone", "za_entrepot"),
                ("hospital", "hopital"),
                ("france_travail", "france_travail"),
                ("mission_locale", "mission_locale"),
                ("training_centre", "cfa"),
                ("station", "gare"),
            )
        },
    )


def _geojson_to_shape(geometry: dict[str, object]) -> shapely.Geometry:
    return shapely.from_geojson(json.dumps(geometry))


def load_demo(
    workspace: Workspace,
    sources: DemoSources,
    *,
    name: str = "demo",
    communes: Sequence[str] | None = None,
    replace: bool = False,
    progress: ProgressFn | None = None,
) -> Territory:
    """Create a territory on the demo's communes and load every demo source into it.

    Parameters
    ----------
    workspace
        The workspace.
    sources
        :func:`write_demo_sources`' files.
    name
        The territory's name.
    communes
        Its perimeter: these INSEE codes (default: the demo's perimeter communes).
    replace
        Replace a territory of that name.
    progress
        Progress callback.
    """
    create_territory(
        workspace,
        name,
        communes=",".join(sources.communes if communes is None else communes),
        communes_file=sources.files["communes"][0],
        replace=replace,
    )
    files = dict(sources.files)
    geolocation = files.pop("jobs_geolocation", [None])[0]
    load_sources(workspace, name, files, jobs_geolocation=geolocation, progress=progress)
    return workspace.open(name)
