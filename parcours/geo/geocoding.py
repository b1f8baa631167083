"""Geocoding French postal addresses: offline against the BAN, or through an Addok server.

Addresses in the wild
---------------------
Addresses typed by people ("12 bis av. du Gal de Gaulle 03100 Montluçon", "3 ter, Bd
Victor-Hugo", "1 r. Jean Jaurès 44000 NANTES CEDEX 1") are first brought to one spelling
by :func:`normalise_address`, step by step:

1. lower case, accents removed (Unicode NFKD, combining marks dropped), ``œ``/``æ``
   spelled out;
2. apostrophes, hyphens and every other punctuation become spaces (``l'Église`` ->
   ``l eglise``, ``St-Exupéry`` -> ``st exupery``);
3. a number glued to a repetition index is split: ``12bis`` -> ``12 bis``, ``12B`` ->
   ``12 b`` (:data:`REPETITIONS`: ``bis, ter, quater, quinquies`` and single letters);
4. ordinals get one spelling (:data:`ORDINALS`): ``1er``, ``1ere``, ``1re``, ``premier`` ->
   ``1er``; ``2e``, ``2eme``, ``2nd`` -> ``2e``;
5. abbreviations are expanded word by word through :data:`ABBREVIATIONS` (street types
   ``av`` -> ``avenue``, ``bd`` -> ``boulevard``, ``r`` -> ``rue``...; titles ``st`` ->
   ``saint``, ``gal``/``gen`` -> ``general``, ``mal`` -> ``marechal``, ``pdt`` ->
   ``president``, ``dr`` -> ``docteur``...); ``zi``, ``za``, ``zac`` stay as words;
6. ``cedex`` and the office number following it are removed (a Cedex is a mail sorting
   code, not a place).

:func:`parse_address` then splits the words: a leading number (and its repetition index:
a word of :data:`REPETITIONS`, a single letter other than the abbreviation ``r``), then the
street, then a 5-digit postcode and the commune after it. A second number right after
the first (``12-14 rue ...``) is dropped: the first one is geocoded.

Scoring (offline index)
-----------------------
:class:`AddressIndex` holds BAN addresses grouped into streets (one street = one
``nom_voie`` in one commune). A query is compared with the streets sharing at least one
distinctive word with it (not a street type nor a short article; a misspelled word is
replaced by the vocabulary words sharing the most letter pairs with it), never with every
street; when the query names a place (postcode, commune), the streets of the communes of
that place are scored first and the others only if none of them has a ``name`` of at least
0.9. Its score, between 0 and 1, is in the spirit of Addok's (similarity of the label,
then filters):

``score = (0.6 * name + 0.25 * place + 0.15 * number) * factor``

- ``name``: token-set similarity of the query's street words and the street's
  (:func:`name_similarity`; a word matches another when equal or when their
  :class:`difflib.SequenceMatcher` ratio is at least 0.75, credited by its square; articles
  weigh 0.2, street types 0.5, other words 1); the BAN ``alias`` and ``nom_ld`` count as
  other names of the street;
- ``place``: 1 when every part of the place given (postcode, commune name, commune code)
  agrees with the street (a commune name agrees at a :class:`difflib.SequenceMatcher`
  ratio of 0.85); 0.7 when the place is the street's commune without being exactly the
  street's: the postcode is another postcode of the same commune (``44000`` for a street of
  Nantes in ``44100``), or the postcode agrees and the commune name is none the index knows
  (a former commune, a lieu-dit, a sorting-office label); otherwise the query names
  another place, or a place the index does not know (a postcode of no commune of the
  index, even with the name of one: communes share names across France): ``place`` is 0
  and ``factor`` 0.9, so the score is 0.675 at most, under :data:`DEFAULT_MIN_SCORE`,
  and the match is reported ``score_faible`` (a guess for the advisor to check, not a
  position). Without a postcode or commune, ``place`` is 0.6 when the street name is found
  in one commune only and 0 when several communes have it (the result is then ambiguous
  and ``factor`` is 0.9 too). The same holds for a postcode given alone when several
  communes share it and more than one of them has the street (rural communes often
  share a postcode, and each village has its ``Grande Rue``): ``place`` 0, ``factor`` 0.9,
  ``score_faible`` until the commune is named;
- ``number``: 1 for the exact number and repetition index, 0.95 for a one-letter
  spelling of an index (``12 b`` for ``12 bis``), 0.6 when the query has no number (the
  street is placed at its centroid, type ``street``) and 0.3 when the number is not in the
  street: it is then placed at the nearest number of the same side (parity), type
  ``street``. A repetition index asked for that the street does not have (``33 bis``
  where only ``33`` exists) also scores 0.3: the plain number is placed, type
  ``housenumber``, with its own label (``33 Rue ...``, no ``bis``), and the score stays
  under 0.9 (0.895 with the place agreeing), below an exact address's.
- ``factor``: 1, or 0.9 for an ambiguous street or a place contradicted (see ``place``).

A query whose best street has a ``name`` below 0.5 is ``introuvable`` (not found); one
whose score is below ``min_score`` (:data:`DEFAULT_MIN_SCORE`) is ``score_faible``: its
best guess is reported (label, score) but it gets no coordinates. Only ``ok`` rows are
placed.

Addok
-----
:class:`AddokClient` speaks the HTTP API of Addok (the BAN's geocoder, as served by
api-adresse.data.gouv.fr or a local instance): ``GET /search/?q=&limit=&postcode=&citycode=``
and ``GET /reverse/?lon=&lat=`` answer a GeoJSON ``FeatureCollection`` whose features
carry ``label, score, housenumber, street, name, postcode, citycode, city, type, ...``;
``POST /search/csv/`` (the addok-csv plugin) takes a multipart file ``data``, the
``columns`` to geocode and the CSV dialect (``delimiter``, ``quote``) and returns the CSV
with ``latitude, longitude, result_label, result_score, result_type, result_id,
result_housenumber, result_name, result_street, result_postcode, result_city,
result_citycode, ...`` appended. The public server caps
requests at 50 per second per IP: batch work goes through ``/search/csv/``, one request.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import TracebackType
from typing import Any

import httpx
import numpy as np
import pandas as pd

from parcours.errors import DownloadError, InputError
from parcours.i18n import tr

__all__ = [
    "ABBREVIATIONS",
    "BAN_COLUMNS",
    "DEFAULT_MIN_SCORE",
    "GEOCODE_COLUMNS",
    "ORDINALS",
    "REPETITIONS",
    "STATUSES",
    "AddokClient",
    "AddressIndex",
    "ParsedAddress",
    "ban_label",
    "name_similarity",
    "normalise_address",
    "parse_address",
]

#: Below this score a match is reported as ``score_faible`` and not placed.
DEFAULT_MIN_SCORE = 0.75

#: The statuses of a geocoded row: placed, found but doubtful, not found.
STATUSES: tuple[str, ...] = ("ok", "score_faible", "introuvable")

#: The columns of :meth:`AddressIndex.geocode` and :meth:`AddokClient.geocode`.
GEOCODE_COLUMNS: tuple[str, ...] = (
    "query",
    "status",
    "score",
    "label",
    "type",
    "housenumber",
    "street",
    "postcode",
    "citycode",
    "city",
    "lon",
    "lat",
)

#: The header of a BAN ``adresses-DD.csv`` file (adresse.data.gouv.fr), in its order.
BAN_COLUMNS: tuple[str, ...] = (
    "id", "id_fantoir", "numero", "rep", "nom_voie", "code_postal", "code_insee",
    "nom_commune", "code_insee_ancienne_commune", "nom_ancienne_commune", "x", "y", "lon",
    "lat", "type_position", "alias", "nom_ld", "libelle_acheminement", "nom_afnor",
    "source_position", "source_nom_voie", "certification_commune", "cad_parcelles",
)  # fmt: skip

#: Repetition indices ("indices de répétition") written after a number, besides letters.
REPETITIONS: tuple[str, ...] = ("bis", "ter", "quater", "quinquies")

#: Abbreviation (normalised, one word) -> the word it stands for. Street types first, then
#: titles and common words of street names.
ABBREVIATIONS: dict[str, str] = {
    # street types
    "av": "avenue", "ave": "avenue", "aven": "avenue", "avn": "avenue",
    "bd": "boulevard", "bld": "boulevard", "blvd": "boulevard", "bvd": "boulevard",
    "boul": "boulevard", "boulv": "boulevard",
    "r": "rue",
    "pl": "place", "plc": "place",
    "ch": "chemin", "che": "chemin", "chem": "chemin", "chm": "chemin",
    "imp": "impasse",
    "all": "allee",
    "rte": "route", "rt": "route",
    "fg": "faubourg", "fbg": "faubourg",
    "sq": "square",
    "qu": "quai", "qua": "quai", "qai": "quai",
    "crs": "cours",
    "res": "residence", "resid": "residence",
    "lot": "lotissement", "lotiss": "lotissement",
    "pass": "passage",
    "prom": "promenade",
    "rpt": "rond point", "rdpt": "rond point",
    "sent": "sentier", "sen": "sentier",
    "ham": "hameau",
    "mte": "montee",
    "vla": "villa",
    "cit": "cite",
    "esp": "esplanade",
    "pte": "porte",
    "trav": "traverse",
    # titles and common words
    "st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes",
    "gal": "general", "gen": "general", "gl": "general",
    "mal": "marechal",
    "pdt": "president",
    "dr": "docteur", "doct": "docteur",
    "pr": "professeur", "prof": "professeur",
    "cdt": "commandant", "cmdt": "commandant",
    "lt": "lieutenant", "ltn": "lieutenant",
    "cpt": "capitaine",
    "adj": "adjudant",
    "mgr": "monseigneur",
    "nd": "notre dame",
    "gde": "grande", "gd": "grand",
    "vx": "vieux",
}  # fmt: skip

#: Street-type words (they weigh less in the name similarity and do not find candidates).
STREET_TYPES: frozenset[str] = frozenset(
    {
        "rue", "avenue", "boulevard", "place", "chemin", "impasse", "allee", "route",
        "faubourg", "square", "quai", "cours", "residence", "lotissement", "passage",
        "promenade", "rond", "point", "sentier", "hameau", "montee", "villa", "cite",
        "esplanade", "porte", "traverse", "voie", "ruelle", "parvis", "mail", "zi", "za",
        "zac", "lieu", "dit", "grande",
    }
)  # fmt: skip
# "grande" is there for "Grande Rue", whose distinctive word is none.

#: Articles and prepositions: they weigh little in the name similarity.
ARTICLES: frozenset[str] = frozenset(
    {"le", "la", "les", "l", "de", "du", "des", "d", "et", "a", "au", "aux", "en", "sur", "sous"}
)

#: Ordinal spellings (normalised word) -> the one spelling used.
ORDINALS: dict[str, str] = {"premier": "1er", "premiere": "1er", "1ere": "1er", "1re": "1er"}
_ORDINAL = re.compile(r"^(\d+)(?:e|eme|ieme|nd|nde)$")
_GLUED = re.compile(r"^(\d+)(bis|ter|quater|quinquies|[a-z])$")
_NUMBER = re.compile(r"^\d+$")
_POSTCODE = re.compile(r"^\d{5}$")
# Repetition written with one letter -> its word (``12 b`` means ``12 bis`` when no ``b``).
_REP_LETTERS = {"b": "bis", "t": "ter", "q": "quater"}

# Weights of the scoring (see the module docstring).
_W_NAME, _W_PLACE, _W_NUMBER = 0.6, 0.25, 0.15
_MIN_NAME = 0.5
_TOKEN_RATIO = 0.75
_AMBIGUOUS_FACTOR = 0.9
_ELSEWHERE_FACTOR = 0.9  # the query names another place, or one the index does not know
_PLACE_PARTIAL = 0.7
_CITY_RATIO = 0.85  # a commune name this similar to the street's agrees
_NUMBER_OTHER_REP = 0.3  # "33 bis" asked, only "33" in the street
_AMBIGUITY_MARGIN = 0.02
_LOCAL_NAME = 0.9  # a street of the place named this similar ends the search


# --------------------------------------------------------------------------------------
# Normalisation and parsing
# --------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    text = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", " ", bare.casefold())


def _words(text: str) -> list[str]:
    """Normalised words of a text (steps 1-6 of the module docstring)."""
    words: list[str] = []
    for word in _fold(text).split():
        glued = _GLUED.match(word)
        if glued and not _ORDINAL.match(word):
            words += [glued.group(1), glued.group(2)]
            continue
        if word in ORDINALS:
            words.append(ORDINALS[word])
            continue
        ordinal = _ORDINAL.match(word)
        if ordinal:
            number = ordinal.group(1)
            words.append(f"{number}er" if number == "1" else f"{number}e")
            continue
        if word == "1er":
            words.append(word)
            continue
        words += ABBREVIATIONS.get(word, word).split()
    # "cedex" and the number of the sorting office after it.
    out: list[str] = []
    skip_number = False
    for word in words:
        if word == "cedex":
            skip_number = True
            continue
        if skip_number and _NUMBER.match(word) and len(word) <= 3:
            skip_number = False
            continue
        skip_number = False
        out.append(word)
    return out


def normalise_address(text: str) -> str:
    """Bring an address (or a street or commune name) to one spelling.

    Parameters
    ----------
    text
        An address as typed (``"12 bis av. du Gal de Gaulle 03100 Montluçon"``).

    Returns
    -------
    str
        Lower-case ASCII words separated by single spaces, abbreviations expanded
        (``"12 bis avenue du general de gaulle 03100 montlucon"``); see the module docstring.
    """
    return " ".join(_words(text))


@dataclass(frozen=True)
class ParsedAddress:
    """An address split into its parts, normalised (see :func:`parse_address`).

    Attributes
    ----------
    housenumber
        The number (``12``), or None.
    rep
        The repetition index (``bis``, ``ter``, ``quater``, ``quinquies`` or a letter), or None.
    street
        The street, normalised (``avenue du general de gaulle``); empty when none.
    postcode
        The 5-digit postcode, or None.
    city
        The commune, normalised (``montlucon``), or None (only read after a postcode).
    """

    housenumber: int | None
    rep: str | None
    street: str
    postcode: str | None
    city: str | None


def parse_address(text: str) -> ParsedAddress:
    """Split an address into number, repetition index, street, postcode and commune.

    Parameters
    ----------
    text
        An address as typed.

    Returns
    -------
    ParsedAddress
        The parts, normalised by :func:`normalise_address`.
    """
    return _parse_words(_words(text))


def _parse_words(words: list[str]) -> ParsedAddress:
    housenumber: int | None = None
    rep: str | None = None
    i = 0
    if words and _NUMBER.match(words[0]) and not _POSTCODE.match(words[0]):
        housenumber = int(words[0])
        i = 1
        if i < len(words) and (
            words[i] in REPETITIONS or (len(words[i]) == 1 and words[i].isalpha())
        ):
            rep = words[i]
            i += 1
        if i < len(words) and _NUMBER.match(words[i]) and not _POSTCODE.match(words[i]):
            i += 1  # "12-14 rue ...": the first number
    rest = words[i:]
    postcode: str | None = None
    city: str | None = None
    for k in range(len(rest) - 1, -1, -1):
        if _POSTCODE.match(rest[k]) and (k > 0 or len(rest) > 1):
            postcode = rest[k]
            city = " ".join(rest[k + 1 :]) or None
            rest = rest[:k]
            break
    return ParsedAddress(housenumber, rep, " ".join(rest), postcode, city)


# --------------------------------------------------------------------------------------
# Similarity
# --------------------------------------------------------------------------------------


def _weight(word: str) -> float:
    if word in ARTICLES:
        return 0.2
    if word in STREET_TYPES:
        return 0.5
    return 1.0


@lru_cache(maxsize=200_000)
def _word_ratio(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if _NUMBER.match(a) or _NUMBER.match(b):
        return 0.0  # "rue du 8 mai" is not "rue du 9 mai"
    if 2 * min(len(a), len(b)) < _TOKEN_RATIO * (len(a) + len(b)):
        return 0.0  # the ratio cannot reach the threshold
    ratio = difflib.SequenceMatcher(None, a, b).ratio()
    return ratio * ratio if ratio >= _TOKEN_RATIO else 0.0


def name_similarity(query: Sequence[str], name: Sequence[str]) -> float:
    """Token-set similarity of two lists of normalised words, between 0 and 1.

    Each word of either side is matched with its best counterpart on the other side (equal,
    or a :class:`difflib.SequenceMatcher` ratio of at least 0.75, credited by its square);
    the matched weight of both sides over their total weight (articles weigh 0.2, street
    types 0.5, other words 1).

    Parameters
    ----------
    query, name
        Normalised words (``["avenue", "general", "de", "gaulle"]``).

    Returns
    -------
    float
        1 for the same set of words, 0 when nothing matches.
    """
    if not query or not name:
        return 0.0
    total = 0.0
    matched = 0.0
    for side, other in ((query, name), (name, query)):
        for word in side:
            w = _weight(word)
            total += w
            matched += w * max(_word_ratio(word, o) for o in other)
    return matched / total if total else 0.0


def ban_label(
    housenumber: int | str | None, rep: str | None, street: str, postcode: str, city: str
) -> str:
    """The BAN label of an address: ``"numero rep nom_voie code_postal nom_commune"``."""
    parts = [str(housenumber) if housenumber not in (None, "") else "", rep or "", street]
    parts += [postcode, city]
    return " ".join(p for p in parts if p)


# --------------------------------------------------------------------------------------
# The offline index
# --------------------------------------------------------------------------------------


@dataclass
class _Street:
    name: str
    names: list[list[str]]  # normalised words of nom_voie, then alias and nom_ld
    postcode: str
    postcodes: frozenset[str]
    citycode: str
    city: str
    city_words: str
    rows: np.ndarray  # row positions of its addresses
    numbers: dict[tuple[int, str], int]  # (numero, rep) -> row
    lon: float  # centroid
    lat: float


@dataclass
class _Match:
    street: int
    name: float
    place: float
    number: float
    row: int | None  # address row placed, None for the street's centroid
    kind: str  # housenumber | street
    ambiguous: bool = False
    elsewhere: bool = False  # the place named is another one, or unknown to the index

    @property
    def score(self) -> float:
        value = _W_NAME * self.name + _W_PLACE * self.place + _W_NUMBER * self.number
        if self.ambiguous:
            value *= _AMBIGUOUS_FACTOR
        if self.elsewhere:
            value *= _ELSEWHERE_FACTOR
        return value


def _text(values: Any) -> list[str]:
    return ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in values]


class AddressIndex:
    """An offline geocoder over BAN addresses (see the module docstring for the scoring).

    Build it with :meth:`from_frame`; :meth:`geocode` answers many queries at once,
    :meth:`search` one query with several results (the shape of Addok's ``/search``),
    :meth:`reverse` the nearest address of a point.
    """

    def __init__(
        self,
        addresses: pd.DataFrame,
        streets: list[_Street],
        postings: dict[str, list[int]],
        city_names: dict[str, set[str]],
    ) -> None:
        self._addresses = addresses
        # Plain Python columns: indexing a pandas column row by row is slow.
        self._numero: list[int] = addresses["numero"].astype("int64").tolist()
        self._rep: list[str] = [str(v) for v in addresses["rep"]]
        self._street_of: list[str] = [str(v) for v in addresses["nom_voie"]]
        self._postcode_of: list[str] = [str(v) for v in addresses["code_postal"]]
        self._citycode_of: list[str] = [str(v) for v in addresses["code_insee"]]
        self._city_of: list[str] = [str(v) for v in addresses["nom_commune"]]
        self._lon: list[float] = addresses["lon"].astype("float64").tolist()
        self._lat: list[float] = addresses["lat"].astype("float64").tolist()
        self._streets = streets
        self._postings = postings
        self._vocabulary = sorted(postings)
        self._bigrams: dict[str, list[int]] = defaultdict(list)
        for k, word in enumerate(self._vocabulary):
            for gram in _bigrams(word):
                self._bigrams[gram].append(k)
        self._city_names = city_names  # normalised commune name -> citycodes
        self._city_list = sorted(city_names)
        self._by_citycode: dict[str, set[int]] = defaultdict(set)
        self._communes_of_postcode: dict[str, set[str]] = defaultdict(set)
        self._postcodes_of_commune: dict[str, set[str]] = defaultdict(set)
        for sid, street in enumerate(streets):
            for code in street.postcodes:
                self._communes_of_postcode[code].add(street.citycode)
                self._postcodes_of_commune[street.citycode].add(code)
            self._by_citycode[street.citycode].add(sid)
        self._max_city_words = max((len(c.split()) for c in city_names), default=0)
        lon = addresses["lon"].to_numpy(dtype="float64")
        lat = addresses["lat"].to_numpy(dtype="float64")
        self._lat0 = float(np.nanmean(lat)) if len(lat) else 0.0
        self._tree = None
        if len(lon):
            from scipy.spatial import cKDTree  # here: 0.25 s of every command's start-up

            self._tree = cKDTree(np.column_stack(self._metric(lon, lat)))

    # ---------------------------------------------------------------- construction

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> AddressIndex:
        """Build the index from BAN columns.

        Parameters
        ----------
        frame
            A table with the BAN columns ``numero, rep, nom_voie, code_postal, code_insee,
            nom_commune, lon, lat`` (WGS84 degrees); ``alias`` and ``nom_ld`` are used when
            present (other names of the street). Values may be text (as read from the CSV)
            or numbers.

        Returns
        -------
        AddressIndex
            The index.

        Raises
        ------
        InputError
            A required column is missing, or a number or a coordinate is not numeric.
        """
        required = ("numero", "rep", "nom_voie", "code_postal", "code_insee", "nom_commune")
        missing = [c for c in (*required, "lon", "lat") if c not in frame.columns]
        if missing:
            raise InputError(
                tr(
                    f"colonnes BAN absentes : {', '.join(missing)}",
                    f"BAN columns missing: {', '.join(missing)}",
                ),
                field=missing[0],
                code="input.missing_column",
            )
        numbers = pd.to_numeric(frame["numero"], errors="coerce")
        lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(dtype="float64")
        lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(dtype="float64")
        for field, values in (
            ("numero", numbers.to_numpy(dtype="float64")),
            ("lon", lon),
            ("lat", lat),
        ):
            bad = np.isnan(values)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InputError(
                    tr(f"ligne {i} : nombre attendu", f"row {i}: number expected"),
                    field=field,
                    code="input.not_a_number",
                )
        table = pd.DataFrame(
            {
                "numero": numbers.to_numpy(dtype="int64"),
                "rep": [r.strip().lower() for r in _text(frame["rep"])],
                "nom_voie": [v.strip() for v in _text(frame["nom_voie"])],
                "code_postal": [
                    v.strip().zfill(5) if v.strip() else "" for v in _text(frame["code_postal"])
                ],
                "code_insee": [v.strip().zfill(5) for v in _text(frame["code_insee"])],
                "nom_commune": [v.strip() for v in _text(frame["nom_commune"])],
                "lon": lon,
                "lat": lat,
            }
        )
        alias = _text(frame["alias"]) if "alias" in frame.columns else [""] * len(table)
        nom_ld = _text(frame["nom_ld"]) if "nom_ld" in frame.columns else [""] * len(table)
        streets: list[_Street] = []
        postings: dict[str, set[int]] = defaultdict(set)
        city_names: dict[str, set[str]] = defaultdict(set)
        numero: list[int] = table["numero"].tolist()
        rep: list[str] = table["rep"].tolist()
        postcode_of: list[str] = table["code_postal"].tolist()
        city_of: list[str] = table["nom_commune"].tolist()
        groups: dict[tuple[str, str], list[int]] = defaultdict(list)
        for r, key in enumerate(
            zip(table["code_insee"].tolist(), table["nom_voie"].tolist(), strict=True)
        ):
            groups[key].append(r)
        for (citycode, street_name), members in sorted(groups.items()):
            rows = np.asarray(members, dtype="int64")
            names = [_words(street_name)]
            for other in sorted({alias[r] for r in members} | {nom_ld[r] for r in members}):
                words = _words(other) if other.strip() else []
                if words and words not in names:
                    names.append(words)
            postcodes = Counter(postcode_of[r] for r in members)
            city = city_of[members[0]]
            sid = len(streets)
            numbers_of: dict[tuple[int, str], int] = {}
            for r in members:
                numbers_of.setdefault((numero[r], rep[r]), r)
            streets.append(
                _Street(
                    name=street_name,
                    names=names,
                    postcode=postcodes.most_common(1)[0][0],
                    postcodes=frozenset(postcodes),
                    citycode=citycode,
                    city=city,
                    city_words=normalise_address(city),
                    rows=rows,
                    numbers=numbers_of,
                    lon=float(lon[rows].mean()),
                    lat=float(lat[rows].mean()),
                )
            )
            for words in names:
                for word in _distinctive(words) or words:
                    postings[word].add(sid)
            city_names[normalise_address(city)].add(str(citycode))
        return cls(
            table,
            streets,
            {w: sorted(s) for w, s in postings.items()},
            dict(city_names),
        )

    def __len__(self) -> int:
        """The number of addresses."""
        return len(self._addresses)

    @property
    def streets(self) -> int:
        """The number of streets (one ``nom_voie`` in one commune)."""
        return len(self._streets)

    # ---------------------------------------------------------------- matching

    def _metric(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Local equirectangular metres (enough for a nearest-neighbour search)."""
        scale = 111_320.0
        return lon * scale * math.cos(math.radians(self._lat0)), lat * scale

    @lru_cache(maxsize=100_000)  # noqa: B019  (the index lives as long as its cache)
    def _similar_words(self, word: str) -> tuple[str, ...]:
        """Vocabulary words close to a word absent from it (letter pairs, then ratio)."""
        counts: Counter[int] = Counter()
        for gram in _bigrams(word):
            counts.update(self._bigrams.get(gram, ()))
        found = []
        for k, _ in counts.most_common(30):
            candidate = self._vocabulary[k]
            if _word_ratio(word, candidate) > 0:
                found.append(candidate)
        return tuple(found[:5])

    def _candidates(self, words: list[str]) -> set[int]:
        keys = _distinctive(words) or [w for w in words if w not in ARTICLES] or words
        found: set[int] = set()
        for word in keys:
            if word in self._postings:
                found.update(self._postings[word])
            if word not in self._postings or len(self._postings[word]) < 3:
                for other in self._similar_words(word):
                    found.update(self._postings[other])
        return found

    def _split_city(self, parsed: ParsedAddress) -> ParsedAddress:
        """Without a postcode, take the trailing words naming a known commune as the city."""
        if parsed.city is not None or not parsed.street:
            return parsed
        words = parsed.street.split()
        for n in range(min(self._max_city_words, len(words) - 1), 0, -1):
            tail = " ".join(words[-n:])
            if tail in self._city_names and _distinctive(words[:-n]):
                return ParsedAddress(
                    parsed.housenumber,
                    parsed.rep,
                    " ".join(words[:-n]),
                    parsed.postcode,
                    tail,
                )
        return parsed

    @lru_cache(maxsize=10_000)  # noqa: B019  (the index lives as long as its cache)
    def _known_city(self, city: str) -> bool:
        """Whether a normalised commune name is (nearly) the name of a commune of the index."""
        if city in self._city_names:
            return True
        return bool(difflib.get_close_matches(city, self._city_list, n=1, cutoff=_CITY_RATIO))

    def _place_score(
        self, street: _Street, postcode: str | None, city: str | None, citycode: str | None
    ) -> tuple[float, bool] | None:
        """The ``place`` term and whether the place named is elsewhere (module docstring)."""
        if postcode is None and city is None and citycode is None:
            return None
        elsewhere = (0.0, True)
        if citycode is not None and citycode != street.citycode:
            return elsewhere
        city_agrees = city is None or _city_ratio(city, street.city_words) >= _CITY_RATIO
        if postcode is None or postcode in street.postcodes:
            if city_agrees:
                return 1.0, False
            # The postcode (or the commune code) agrees; a commune name the index does not
            # know is a former commune, a lieu-dit...; one it knows is another commune.
            assert city is not None
            if (postcode is not None or citycode is not None) and not self._known_city(city):
                return _PLACE_PARTIAL, False
            return elsewhere
        # The postcode is not the street's: another postcode of the same commune will do
        # (not one of another commune, nor one the index does not know).
        if city_agrees and postcode in self._postcodes_of_commune.get(street.citycode, ()):
            return _PLACE_PARTIAL, False
        return elsewhere

    def _number_match(
        self, street: _Street, number: int | None, rep: str | None
    ) -> tuple[float, int | None, str]:
        if number is None:
            return 0.6, None, "street"
        rep = rep or ""
        if (number, rep) in street.numbers:
            return 1.0, street.numbers[(number, rep)], "housenumber"
        if rep in _REP_LETTERS and (number, _REP_LETTERS[rep]) in street.numbers:
            return 0.95, street.numbers[(number, _REP_LETTERS[rep])], "housenumber"
        if rep and (number, "") in street.numbers:
            # The index asked for is not there: the plain number, less sure than exact.
            return _NUMBER_OTHER_REP, street.numbers[(number, "")], "housenumber"
        # Not in the street: the nearest number on the same side (else any side).
        keys = list(street.numbers)
        same_side = [k for k in keys if k[0] % 2 == number % 2] or keys
        nearest = min(same_side, key=lambda k: (abs(k[0] - number), k[1]))
        return 0.3, street.numbers[nearest], "street"

    def _match(
        self, text: str | list[str], *, postcode: str | None = None, citycode: str | None = None
    ) -> list[_Match]:
        """Every candidate street of a query, best first."""
        parsed = self._split_city(_parse_words(_words(text) if isinstance(text, str) else text))
        words = parsed.street.split()
        if not words:
            return []
        wanted_postcode = postcode or parsed.postcode
        candidates = self._candidates(words)
        # Streets of the communes of the place named first: elsewhere they could not score
        # higher than a street of the place whose name matches well (their place term is 0
        # and their score 0.675 at most, not placed anyway).
        local = candidates & self._in_place(wanted_postcode, parsed.city, citycode)
        matches = self._score(local, parsed, words, wanted_postcode, citycode)
        if not matches or max(m.name for m in matches) < _LOCAL_NAME:
            matches += self._score(candidates - local, parsed, words, wanted_postcode, citycode)
        if not matches:
            return []
        best = max(m.name for m in matches)
        if matches[0].place < 0:  # no place given: is the name found in several communes?
            communes = {
                self._streets[m.street].citycode
                for m in matches
                if m.name >= best - _AMBIGUITY_MARGIN
            }
            ambiguous = len(communes) > 1
            for m in matches:
                m.place = 0.0 if ambiguous else 0.6
                m.ambiguous = ambiguous
        elif parsed.city is None and citycode is None:
            # a postcode alone: several communes may share it, each with its Grande Rue
            agreeing = [m for m in matches if m.place > 0 and m.name >= best - _AMBIGUITY_MARGIN]
            if len({self._streets[m.street].citycode for m in agreeing}) > 1:
                for m in agreeing:
                    m.place = 0.0
                    m.ambiguous = True
        matches.sort(key=lambda m: (-m.score, -m.name, self._streets[m.street].citycode, m.street))
        return matches

    def _in_place(self, postcode: str | None, city: str | None, citycode: str | None) -> set[int]:
        """The streets of the communes of the postcode, commune name or commune code given."""
        found: set[int] = set()
        if postcode is not None:
            for code in self._communes_of_postcode.get(postcode, ()):
                found |= self._by_citycode.get(code, set())
        if citycode is not None:
            found |= self._by_citycode.get(citycode, set())
        if city is not None:
            for code in self._city_names.get(city, ()):
                found |= self._by_citycode.get(code, set())
        return found

    def _score(
        self,
        sids: Iterable[int],
        parsed: ParsedAddress,
        words: list[str],
        postcode: str | None,
        citycode: str | None,
    ) -> list[_Match]:
        matches: list[_Match] = []
        for sid in sorted(sids):
            street = self._streets[sid]
            name = max(name_similarity(words, n) for n in street.names)
            if name < _MIN_NAME:
                continue
            place = self._place_score(street, postcode, parsed.city, citycode)
            number, row, kind = self._number_match(street, parsed.housenumber, parsed.rep)
            if place is None:
                matches.append(_Match(sid, name, -1.0, number, row, kind))
            else:
                matches.append(_Match(sid, name, place[0], number, row, kind, elsewhere=place[1]))
        return matches

    def _result(self, match: _Match) -> dict[str, Any]:
        street = self._streets[match.street]
        if match.row is None:
            lon, lat = street.lon, street.lat
        else:
            lon, lat = self._lon[match.row], self._lat[match.row]
        housenumber: str | None = None
        postcode = street.postcode
        if match.kind == "housenumber" and match.row is not None:
            housenumber = self._housenumber(match.row)
            postcode = self._postcode_of[match.row] or postcode
        return {
            "score": round(match.score, 4),
            "label": ban_label(housenumber, None, street.name, postcode, street.city),
            "type": match.kind,
            "housenumber": housenumber,
            "street": street.name,
            "postcode": postcode,
            "citycode": street.citycode,
            "city": street.city,
            "lon": lon,
            "lat": lat,
        }

    def _housenumber(self, row: int) -> str:
        rep = self._rep[row]
        return f"{self._numero[row]} {rep}" if rep else str(self._numero[row])

    # ---------------------------------------------------------------- public queries

    def search(
        self,
        q: str,
        *,
        limit: int = 1,
        postcode: str | None = None,
        citycode: str | None = None,
    ) -> list[dict[str, Any]]:
        """The best matches of one query (the properties of Addok's ``/search`` features).

        Parameters
        ----------
        q
            The address.
        limit
            How many results at most.
        postcode, citycode
            Filters, as Addok's: only streets of that postcode or INSEE commune code.

        Returns
        -------
        list of dict
            ``score, label, type, housenumber, street, postcode, citycode, city, lon, lat``
            (WGS84 degrees), best first; empty when nothing matches.
        """
        matches = self._match(q, postcode=postcode, citycode=citycode)
        if postcode is not None:
            matches = [m for m in matches if postcode in self._streets[m.street].postcodes]
        if citycode is not None:
            matches = [m for m in matches if self._streets[m.street].citycode == citycode]
        return [self._result(m) for m in matches[: max(0, limit)]]

    def geocode(
        self, queries: Sequence[str], *, min_score: float = DEFAULT_MIN_SCORE
    ) -> pd.DataFrame:
        """Geocode many addresses, one row per query in order.

        Parameters
        ----------
        queries
            Addresses as typed.
        min_score
            Below this score (0..1) a match is ``score_faible`` and gets no coordinates.

        Returns
        -------
        pandas.DataFrame
            The columns of :data:`GEOCODE_COLUMNS`: ``status`` is ``ok``, ``score_faible`` or
            ``introuvable``; ``lon``/``lat`` (WGS84 degrees) are NaN unless ``ok``.
        """
        cache: dict[str, dict[str, Any]] = {}
        rows = []
        for query in queries:
            text = "" if query is None else str(query)
            words = _words(text)
            key = " ".join(words)
            if key not in cache:
                matches = self._match(words)
                cache[key] = self._result(matches[0]) if matches else {}
            rows.append(_row(text, cache[key], min_score))
        return _frame(rows)

    def reverse(self, lon: float, lat: float) -> dict[str, Any]:
        """The address nearest to a point.

        Parameters
        ----------
        lon, lat
            WGS84 degrees.

        Returns
        -------
        dict
            ``label, type ("housenumber"), housenumber, street, postcode, citycode, city, lon,
            lat, distance_m`` (approximate metres); empty when the index is empty.
        """
        if self._tree is None:
            return {}
        x, y = self._metric(np.array([lon]), np.array([lat]))
        distance, row = self._tree.query([float(x[0]), float(y[0])])
        r = int(row)
        housenumber = self._housenumber(r)
        street, postcode, city = self._street_of[r], self._postcode_of[r], self._city_of[r]
        return {
            "label": ban_label(housenumber, None, street, postcode, city),
            "score": 1.0,
            "type": "housenumber",
            "housenumber": housenumber,
            "street": street,
            "postcode": postcode,
            "citycode": self._citycode_of[r],
            "city": city,
            "lon": self._lon[r],
            "lat": self._lat[r],
            "distance_m": float(distance),
        }


@lru_cache(maxsize=50_000)
def _city_ratio(a: str, b: str) -> float:
    return 1.0 if a == b else difflib.SequenceMatcher(None, a, b).ratio()


def _bigrams(word: str) -> set[str]:
    padded = f" {word} "
    return {padded[i : i + 2] for i in range(len(padded) - 1)}


def _distinctive(words: Iterable[str]) -> list[str]:
    return [w for w in words if w not in ARTICLES and w not in STREET_TYPES]


def _row(query: str, result: Mapping[str, Any], min_score: float) -> dict[str, Any]:
    if not result:
        return {"query": query, "status": "introuvable", "score": 0.0}
    score = float(result["score"])
    status = "ok" if score >= min_score else "score_faible"
    row = {"query": query, "status": status, **{k: result.get(k) for k in GEOCODE_COLUMNS[2:]}}
    if status != "ok":
        row["lon"] = row["lat"] = math.nan
    return row


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(GEOCODE_COLUMNS))
    frame["score"] = frame["score"].astype("float64")
    for column in ("lon", "lat"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in GEOCODE_COLUMNS:
        if column not in ("score", "lon", "lat"):
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame


# --------------------------------------------------------------------------------------
# Addok over HTTP
# --------------------------------------------------------------------------------------


class AddokClient:
    """A client of an Addok geocoder (``/search``, ``/reverse``, ``/search/csv``).

    Parameters
    ----------
    base_url
        The server's root, e.g. ``http://localhost:7878`` or
        ``https://api-adresse.data.gouv.fr``.
    timeout_s
        Seconds before a request is abandoned.
    client
        An ``httpx.Client`` to use (kept open by the caller); by default one is made and
        closed by :meth:`close`.

    Raises
    ------
    DownloadError
        From every method, when the server cannot be reached, answers an HTTP error or an
        answer that is not Addok's; the message names the URL.
    """

    def __init__(
        self, base_url: str, *, timeout_s: float = 10.0, client: httpx.Client | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._own = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout_s)

    def close(self) -> None:
        """Close the HTTP client if this object made it."""
        if self._own:
            self._client.close()

    def __enter__(self) -> AddokClient:
        """Use as a context manager (closes its own client)."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the client."""
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = f"{self.base_url}{path}"
        try:
            response = self._client.request(method, url, timeout=self.timeout_s, **kwargs)
        except httpx.HTTPError as exc:
            raise DownloadError(
                tr(
                    f"géocodeur Addok injoignable ({url}) : {exc}. Vérifiez l'adresse du "
                    "serveur et qu'il est démarré, ou géocodez hors ligne avec un fichier BAN",
                    f"Addok geocoder unreachable ({url}): {exc}. Check the server's address "
                    "and that it is running, or geocode offline with a BAN file",
                ),
                code="geocoder.unreachable",
                params={"url": url},
            ) from None
        if response.status_code >= 400:
            raise DownloadError(
                tr(
                    f"le géocodeur Addok ({url}) a répondu HTTP {response.status_code}",
                    f"the Addok geocoder ({url}) answered HTTP {response.status_code}",
                ),
                code="geocoder.http_error",
                params={"url": url, "status": response.status_code},
            )
        return response

    def _bad_answer(self, path: str, detail: str) -> DownloadError:
        url = f"{self.base_url}{path}"
        return DownloadError(
            tr(
                f"réponse inattendue du géocodeur Addok ({url}) : {detail}",
                f"unexpected answer from the Addok geocoder ({url}): {detail}",
            ),
            code="geocoder.bad_answer",
            params={"url": url},
        )

    def _features(self, path: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        response = self._request("GET", path, params=dict(params))
        try:
            payload = response.json()
            features = payload["features"]
            out = []
            for feature in features:
                props = dict(feature.get("properties") or {})
                lon, lat = feature["geometry"]["coordinates"][:2]
                props["lon"], props["lat"] = float(lon), float(lat)
                out.append(props)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise self._bad_answer(path, f"{type(exc).__name__}: {exc}") from None
        return out

    def search(
        self,
        q: str,
        *,
        limit: int = 1,
        postcode: str | None = None,
        citycode: str | None = None,
    ) -> list[dict[str, Any]]:
        """Search one address (``GET /search/``).

        Parameters
        ----------
        q
            The address.
        limit
            How many results at most.
        postcode, citycode
            Addok's filters.

        Returns
        -------
        list of dict
            Each feature's properties (``label, score, housenumber, street, postcode,
            citycode, city, type``...) plus ``lon`` and ``lat`` (WGS84 degrees).
        """
        params: dict[str, Any] = {"q": q, "limit": limit}
        if postcode:
            params["postcode"] = postcode
        if citycode:
            params["citycode"] = citycode
        return self._features("/search/", params)

    def reverse(self, lon: float, lat: float) -> dict[str, Any] | None:
        """The address nearest to a point (``GET /reverse/``), or None when there is none.

        Parameters
        ----------
        lon, lat
            WGS84 degrees.
        """
        found = self._features("/reverse/", {"lon": lon, "lat": lat})
        return found[0] if found else None

    def geocode(
        self, queries: Sequence[str], *, min_score: float = DEFAULT_MIN_SCORE
    ) -> pd.DataFrame:
        """Geocode many addresses with one ``POST /search/csv/`` (Addok's batch endpoint).

        Parameters
        ----------
        queries
            Addresses as typed.
        min_score
            Below this score (0..1) a match is ``score_faible`` and gets no coordinates.

        Returns
        -------
        pandas.DataFrame
            The columns of :data:`GEOCODE_COLUMNS`, one row per query in order (as
            :meth:`AddressIndex.geocode`).
        """
        texts = ["" if q is None else str(q) for q in queries]
        if not texts:
            return _frame([])
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["parcours_id", "q"])
        writer.writerows([str(i), t] for i, t in enumerate(texts))
        path = "/search/csv/"
        response = self._request(
            "POST",
            path,
            files={"data": ("adresses.csv", buffer.getvalue().encode("utf-8"), "text/csv")},
            # the dialect said, not guessed: addok-csv's sniffer takes a quoted comma in an
            # address for the delimiter and refuses the whole batch (HTTP 400)
            data={"columns": "q", "delimiter": ",", "quote": '"'},
        )
        try:
            text = response.content.decode("utf-8-sig")
            records = list(csv.DictReader(io.StringIO(text)))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise self._bad_answer(path, str(exc)) from None
        if records and "parcours_id" not in records[0]:
            raise self._bad_answer(path, "parcours_id")
        by_id = {str(r.get("parcours_id")): r for r in records}
        rows = []
        for i, query in enumerate(texts):
            record = by_id.get(str(i), {})
            rows.append(_row(query, _csv_result(record), min_score))
        return _frame(rows)


def _csv_result(record: Mapping[str, str | None]) -> dict[str, Any]:
    """One row of Addok's ``/search/csv/`` answer as a result (empty when not found)."""

    def value(key: str) -> str | None:
        raw = record.get(key)
        return raw.strip() if isinstance(raw, str) and raw.strip() else None

    label = value("result_label")
    if label is None:
        return {}
    try:
        score = float(value("result_score") or "nan")
        lon = float(value("longitude") or "nan")
        lat = float(value("latitude") or "nan")
    except ValueError:
        return {}
    if math.isnan(score):
        return {}
    return {
        "score": score,
        "label": label,
        "type": value("result_type"),
        "housenumber": value("result_housenumber"),
        "street": value("result_street") or value("result_name"),
        "postcode": value("result_postcode"),
        "citycode": value("result_citycode"),
        "city": value("result_city"),
        "lon": lon,
        "lat": lat,
    }
