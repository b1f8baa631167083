"""Who may use a way, in which direction, and how fast: R5's rules, per street mode.

Read by :meth:`parcours.accessibility.streets.StreetGraph.from_streets`; the tables and
the differences from R5 below are the specification of this module's code.

Access (who may use a way)
--------------------------
R5's ``TraversalPermissionLabeler`` (with the ``USTraversalPermissionLabeler`` defaults
that R5, and so r5py, applies everywhere) is the reference: a tree ``access -> foot``,
``access -> vehicle -> bicycle | motor vehicle`` with defaults by ``highway`` class
(- = none, inherited):

==========================================================  ======  ====  =======  ===
highway                                                     access  foot  bicycle  car
==========================================================  ======  ====  =======  ===
motorway, motorway_link                                     yes     no    no       -
trunk, primary, secondary, tertiary (and links),            yes     -     -        -
unclassified, residential, living_street, road, service,
track, any other value
pedestrian, path, bridleway, cycleway                       no      yes   yes      no
footway, steps, corridor, elevator, escalator, platform     no      yes   no       no
bus_guideway, busway                                        no      -     -        no
==========================================================  ======  ====  =======  ===

For each way and mode the first known label wins, in this order: the mode's own tags
(``foot``; ``bicycle``, then ``cycleway`` unless ``no``, then ``cycleway:both``;
``motor_vehicle``, then ``motorcar``); a restrictive ``access`` (*no* or *destination*
below); the class default of the mode; any other known ``access``; the class default
``access``. Tag values (the first of ``a;b``): *yes* = yes, 1, true, designated,
permissive, official, public, unknown, limited, lane, track, shared_lane, share_busway,
crossing; *no* = no, 0, false, private, agricultural, forestry, license, restricted,
prohibited, emergency, use_sidepath, dismount; *destination* = destination, customers,
customer, delivery, residents, resident, which R5 routes as "no through traffic": here
*no* for the car (a point there snaps to the nearest public road; no through traffic is
not modelled) and *yes* on foot and by bike. Other values are ignored. Differences from
R5: an explicit restrictive ``access`` beats the class default (R5 keeps
``access=private`` footways open to walkers); ``access=yes`` does not open a class that
the table closes to a mode (R5 opens ``access=yes`` footways to cars); the ``car`` and
``bicycle`` cells of the pedestrian rows and the bus-only classes (R5 treats them as
roads); private and destination ways (R5 allows them at the ends of a trip only).

``wheelchair=True`` (walk only) also drops ``highway=steps`` and the ways whose
``wheelchair`` tag says *no* (``limited`` is kept, as in R5).

Direction
---------
``oneway=yes|true|1`` forward only, ``oneway=-1|reverse`` backward only (any other value:
both ways); ``junction=roundabout|circular`` and ``highway=motorway`` imply
``oneway=yes`` unless ``oneway`` says otherwise. Pedestrians ignore oneway. Bicycles
follow ``oneway``, overridden by ``oneway:bicycle``; ``cycleway:right`` = *yes* (lane,
track...) opens the forward direction and ``cycleway:left`` = *yes* the backward one to
bicycles before oneway is applied; a contraflow (``cycleway``, ``cycleway:right`` or
``cycleway:left`` starting with ``opposite``) then reopens the direction against the
traffic (R5's rules, ``oneway:bicycle=no`` being the modern tagging of the same).

Speeds
------
Walk and bike: one speed for every edge, r5py's defaults 3.6 and 12 km/h. Car: free-flow
at the speed limit, like osmnx (no congestion, turn or signal delay; R5 adds turn
costs of 10 s right, 30 s left and 90 s for a U-turn, so its car times are longer in
dense centres, 2 to 6 minutes on the Helsinki references): the parsed
``maxspeed`` (numbers in km/h, ``mph`` and ``knots`` converted; ``a;b`` and lane lists
``a|b``: the lowest; ``FR:urban`` 50, ``FR:rural`` 80, ``FR:motorway`` 130,
``FR:zone30`` 30 and every ``*:zoneNN`` NN, ``FR:living_street`` 20, ``walk`` and
``FR:walk`` 6; other countries' implicit values from osmnx's table; ``none``,
``signals``, ``variable``: unknown). Without a usable ``maxspeed``, a ``*_link`` takes the
mean of the tagged ways of its class in the territory (osmnx's imputation), and
everything else the table below (km/h), urban or rural:

================  =====  =====
highway           urban  rural
================  =====  =====
motorway          110    130
motorway_link     70     90
trunk             70     110
other ``*_link``  50     70
primary           50     80
secondary         50     80
tertiary          50     80
unclassified      50     70
road              50     70
residential       30     50
living_street     20     20
service           20     30
parking aisle     10     10
track             20     20
other             30     50
================  =====  =====

**Urban or rural**: a chain is urban when the junctions of the car network (its nodes
of degree 3 or more) reach 38 per km² around it: counted on a grid of 100 m cells, in
the 1.1 km x 1.1 km square of 11 x 11 cells centred on the cell of the midpoint of the
chain's ends (46 junctions). Town centres have hundreds per km², suburbs 40 to 100,
villages and open country far fewer; on the test data, 98 % of the chains of central
Nantes, Helsinki and São Paulo are urban, 89 % in Cobb County (suburban Atlanta) and
16 % on Saint-Barthélemy (Gustavia and Saint-Jean).

"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from functools import lru_cache
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

import parcours.accessibility.streets as _package
from parcours.accessibility.streets._types import BoolArray, FloatArray, _Pieces
from parcours.errors import InputError
from parcours.i18n import tr

__all__ = [
    "BIKE_SPEED_KMH",
    "CAR_SPEEDS_KMH",
    "IMPLICIT_MAXSPEEDS_KMH",
    "WALK_SPEED_KMH",
    "StreetMode",
]

#: r5py's default walking speed, also the speed of the off-street legs of bike and car.
WALK_SPEED_KMH: Final = 3.6
#: r5py's default cycling speed.
BIKE_SPEED_KMH: Final = 12.0
#: The urban rule (see the module docstring): grid cell, half window in cells, density.
URBAN_CELL_M: Final = 100.0
URBAN_HALF_WINDOW: Final = 5
URBAN_MIN_JUNCTIONS_PER_KM2: Final = 38.0
_MAX_URBAN_CELLS: Final = 10_000_000


class StreetMode(StrEnum):
    """A street mode of the native engine."""

    WALK = "walk"
    BIKE = "bike"
    CAR = "car"


# --- access labels ----------------------------------------------------------------------

_UNKNOWN, _YES, _NO, _DESTINATION = 0, 1, 2, 3

_YES_VALUES = frozenset(
    {
        "yes",
        "1",
        "true",
        "designated",
        "permissive",
        "official",
        "public",
        "unknown",
        "limited",
        "lane",
        "track",
        "shared_lane",
        "share_busway",
        "crossing",
    }
)
_NO_VALUES = frozenset(
    {
        "no",
        "0",
        "false",
        "private",
        "agricultural",
        "forestry",
        "license",
        "restricted",
        "prohibited",
        "emergency",
        "use_sidepath",
        "dismount",
    }
)
_DESTINATION_VALUES = frozenset(
    {"destination", "customers", "customer", "delivery", "residents", "resident"}
)

# (access, foot, bicycle, car) defaults by highway; anything else is a road (access yes).
_ROAD: Final = (_YES, _UNKNOWN, _UNKNOWN, _UNKNOWN)
_PATH_LIKE: Final = (_NO, _YES, _YES, _NO)
_FOOT_ONLY: Final = (_NO, _YES, _NO, _NO)
_DEFAULT_ACCESS: dict[str, tuple[int, int, int, int]] = {
    "motorway": (_YES, _NO, _NO, _UNKNOWN),
    "motorway_link": (_YES, _NO, _NO, _UNKNOWN),
    "pedestrian": _PATH_LIKE,
    "path": _PATH_LIKE,
    "bridleway": _PATH_LIKE,
    "cycleway": _PATH_LIKE,
    "footway": _FOOT_ONLY,
    "steps": _FOOT_ONLY,
    "corridor": _FOOT_ONLY,
    "elevator": _FOOT_ONLY,
    "escalator": _FOOT_ONLY,
    "platform": _FOOT_ONLY,
    "bus_guideway": (_NO, _UNKNOWN, _UNKNOWN, _NO),
    "busway": (_NO, _UNKNOWN, _UNKNOWN, _NO),
}

# --- directions -------------------------------------------------------------------------

_BOTH, _FORWARD, _BACKWARD = 0, 1, 2
_ONEWAY_FORWARD = frozenset({"yes", "true", "1"})
_ONEWAY_BACKWARD = frozenset({"-1", "reverse"})
_ROUNDABOUT = frozenset({"roundabout", "circular"})

# --- car speeds -------------------------------------------------------------------------

#: (urban, rural) speed in km/h by highway class when ``maxspeed`` is missing.
CAR_SPEEDS_KMH: dict[str, tuple[float, float]] = {
    "motorway": (110.0, 130.0),
    "motorway_link": (70.0, 90.0),
    "trunk": (70.0, 110.0),
    "trunk_link": (50.0, 70.0),
    "primary": (50.0, 80.0),
    "primary_link": (50.0, 70.0),
    "secondary": (50.0, 80.0),
    "secondary_link": (50.0, 70.0),
    "tertiary": (50.0, 80.0),
    "tertiary_link": (50.0, 70.0),
    "unclassified": (50.0, 70.0),
    "road": (50.0, 70.0),
    "residential": (30.0, 50.0),
    "living_street": (20.0, 20.0),
    "service": (20.0, 30.0),
    "track": (20.0, 20.0),
}
_PARKING_AISLE_KMH: Final = 10.0
_OTHER_CAR_SPEED_KMH: Final = (30.0, 50.0)

#: Implicit ``maxspeed`` values (lower-case) read before osmnx's table.
IMPLICIT_MAXSPEEDS_KMH: dict[str, float] = {
    "fr:urban": 50.0,
    "fr:rural": 80.0,
    "fr:motorway": 130.0,
    "fr:living_street": 20.0,
    "fr:walk": 6.0,
    "walk": 6.0,
}
#: Last resort for ``CC:kind`` values of countries absent from both tables.
_GENERIC_MAXSPEEDS_KMH: dict[str, float] = {
    "urban": 50.0,
    "rural": 80.0,
    "motorway": 120.0,
    "trunk": 100.0,
    "living_street": 20.0,
    "walk": 6.0,
}
_MAXSPEED_NUMBER = re.compile(r"^(\d+(?:[.,]\d+)?)\s*(km/h|kmh|kph|mph|knots)?$")
_MAXSPEED_ZONE = re.compile(r"(?:^|:)zone:?(\d+)$")
_UNIT_KMH = {None: 1.0, "km/h": 1.0, "kmh": 1.0, "kph": 1.0, "mph": 1.609344, "knots": 1.852}


def _mode_speed(mode: StreetMode, speed_kmh: float | None, wheelchair: bool) -> float:
    """Check the options of a mode and return its speed (NaN for car)."""
    if wheelchair and mode is not StreetMode.WALK:
        raise InputError(
            tr(
                "l'option fauteuil roulant ne vaut que pour la marche",
                "the wheelchair option only applies to walking",
            ),
            field="wheelchair",
        )
    if mode is StreetMode.CAR:
        if speed_kmh is not None:
            raise InputError(
                tr(
                    "la vitesse en voiture vient des limitations et du type de voie : "
                    "n'indiquez pas speed_kmh",
                    "car speeds come from speed limits and road classes: do not give speed_kmh",
                ),
                field="speed_kmh",
            )
        return math.nan
    speed = (
        (WALK_SPEED_KMH if mode is StreetMode.WALK else BIKE_SPEED_KMH)
        if speed_kmh is None
        else speed_kmh
    )
    if not (isinstance(speed, int | float) and math.isfinite(speed) and speed > 0):
        raise InputError(
            tr(
                f"vitesse invalide : {speed_kmh} km/h (attendu un nombre > 0)",
                f"invalid speed: {speed_kmh} km/h (expected a number > 0)",
            ),
            field="speed_kmh",
        )
    return float(speed)


def _label_of(value: str | None) -> int:
    """R5's label of an access tag value (first of ``a;b``)."""
    if value is None:
        return _UNKNOWN
    text = str(value).split(";")[0].strip().lower()
    if text in _YES_VALUES:
        return _YES
    if text in _NO_VALUES:
        return _NO
    if text in _DESTINATION_VALUES:
        return _DESTINATION
    return _UNKNOWN


def _map_unique(values: pd.Series, function: Any, dtype: Any) -> npt.NDArray[Any]:
    """Apply ``function`` to each distinct value only (nulls give ``function(None)``)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.asarray([function(value) for value in uniques] + [function(None)], dtype=dtype)
    return mapped[np.where(codes >= 0, codes, len(uniques))]


def _labels(frame: pd.DataFrame, column: str) -> npt.NDArray[np.int8]:
    """Return the access label of each way for one tag column."""
    return _map_unique(frame[column], _label_of, np.int8)


def _resolve(*levels: npt.NDArray[np.int8]) -> npt.NDArray[np.int8]:
    """Return the most specific known label, ``levels`` going from the root to the leaf."""
    result = levels[0].copy()
    for level in levels[1:]:
        result = np.where(level != _UNKNOWN, level, result)
    return result


def _direction_of(value: str | None) -> int:
    """R5's direction of a oneway tag value (``_BOTH`` when unknown)."""
    if value is None:
        return _BOTH
    text = str(value).strip().lower()
    if text in _ONEWAY_FORWARD:
        return _FORWARD
    if text in _ONEWAY_BACKWARD:
        return _BACKWARD
    return _BOTH


def _permissions(
    frame: pd.DataFrame, mode: StreetMode, *, wheelchair: bool
) -> tuple[BoolArray, BoolArray]:
    """Whether each way may be used by the mode along and against its node order."""
    defaults = _map_unique(
        frame["highway"], lambda h: _DEFAULT_ACCESS.get(str(h).strip().lower(), _ROAD), object
    )
    default = np.asarray(list(defaults), dtype=np.int8).reshape(len(frame), 4)
    access = _labels(frame, "access")
    if mode is StreetMode.WALK:
        label = _mode_label(_labels(frame, "foot"), access, default[:, 1], default[:, 0])
        allowed = (label == _YES) | (label == _DESTINATION)
        if wheelchair:
            steps = frame["highway"].to_numpy(dtype=object) == "steps"
            chair = _resolve(
                np.where(steps, _NO, _UNKNOWN).astype(np.int8), _labels(frame, "wheelchair")
            )
            allowed &= chair != _NO
        return allowed, allowed.copy()

    direction = _map_unique(frame["oneway"], _package._direction_of, np.int8)
    implied = (frame["highway"].to_numpy(dtype=object) == "motorway") | frame["junction"].isin(
        _ROUNDABOUT
    ).to_numpy()
    direction = np.where(frame["oneway"].isna().to_numpy() & implied, _FORWARD, direction)

    if mode is StreetMode.CAR:
        own = _resolve(_labels(frame, "motor_vehicle"), _labels(frame, "motorcar"))
        allowed = _mode_label(own, access, default[:, 3], default[:, 0]) == _YES
        return allowed & (direction != _BACKWARD), allowed & (direction != _FORWARD)

    cycleway = _labels(frame, "cycleway")
    own = _resolve(
        _labels(frame, "bicycle"),
        np.where(cycleway == _NO, _UNKNOWN, cycleway).astype(np.int8),
        _labels(frame, "cycleway_both"),
    )
    label = _mode_label(own, access, default[:, 2], default[:, 0])
    allowed = (label == _YES) | (label == _DESTINATION)
    forward = allowed | (_labels(frame, "cycleway_right") == _YES)
    backward = allowed | (_labels(frame, "cycleway_left") == _YES)
    bike_direction = np.where(
        frame["oneway_bicycle"].notna().to_numpy(),
        _map_unique(frame["oneway_bicycle"], _package._direction_of, np.int8),
        direction,
    )
    forward &= bike_direction != _BACKWARD
    backward &= bike_direction != _FORWARD
    opposite = np.zeros(len(frame), dtype=np.bool_)
    for column in ("cycleway", "cycleway_right", "cycleway_left"):
        opposite |= _map_unique(frame[column], _is_opposite, np.bool_)
    against_backward = direction == _BACKWARD
    forward |= opposite & against_backward
    backward |= opposite & ~against_backward
    return forward, backward


def _mode_label(
    own: npt.NDArray[np.int8],
    access: npt.NDArray[np.int8],
    default_mode: npt.NDArray[np.int8],
    default_access: npt.NDArray[np.int8],
) -> npt.NDArray[np.int8]:
    """Return the label of a mode: own tags, restrictive access, defaults (see module)."""
    label = np.where(access != _UNKNOWN, access, default_access)
    label = np.where(default_mode != _UNKNOWN, default_mode, label)
    restrictive = (access == _NO) | (access == _DESTINATION)
    label = np.where(restrictive, access, label)
    return np.where(own != _UNKNOWN, own, label).astype(np.int8)


def _is_opposite(value: str | None) -> bool:
    """Whether a cycleway tag value is a contraflow lane (``opposite``, ``opposite_lane``...)."""
    return value is not None and str(value).strip().lower().startswith("opposite")


def _car_speeds(frame: pd.DataFrame, pieces: _Pieces) -> FloatArray:
    """Free-flow car speed of each chain (km/h): maxspeed, else link mean, else the table."""
    maxspeed = _map_unique(frame["maxspeed"], _parse_maxspeed_kmh, np.float64)
    highway = frame["highway"].to_numpy(dtype=object)
    # osmnx's imputation, for links only: the mean tagged speed of the class
    for link in {h for h in pd.unique(highway) if isinstance(h, str) and h.endswith("_link")}:
        of_class = highway == link
        tagged = maxspeed[of_class & np.isfinite(maxspeed)]
        if len(tagged):
            maxspeed[of_class & ~np.isfinite(maxspeed)] = float(tagged.mean())
    urban = _urban_chains(pieces)
    table = _map_unique(
        frame["highway"],
        lambda h: CAR_SPEEDS_KMH.get(str(h), _OTHER_CAR_SPEED_KMH),
        object,
    )
    table_kmh = np.asarray(list(table), dtype=np.float64).reshape(len(frame), 2)
    aisle = (frame["service"].to_numpy(dtype=object) == "parking_aisle") & (highway == "service")
    table_kmh[aisle] = _PARKING_AISLE_KMH
    way = pieces.way
    default = np.where(urban, table_kmh[way, 0], table_kmh[way, 1])
    speed = maxspeed[way]
    return np.where(np.isfinite(speed), speed, default)


def _urban_chains(pieces: _Pieces) -> BoolArray:
    """Whether each chain is urban: enough car-network junctions around its middle.

    The junctions are counted on a grid of ``URBAN_CELL_M`` cells (coarser when the
    territory would need more than ``_MAX_URBAN_CELLS`` cells), in the square of
    ``2 * URBAN_HALF_WINDOW + 1`` cells centred on the cell of the chain's middle, with
    a summed-area table.
    """
    degree = np.bincount(np.concatenate((pieces.u, pieces.v)), minlength=len(pieces.node_x))
    junction = degree >= 3
    if not junction.any():
        return np.zeros(len(pieces.u), dtype=np.bool_)
    mid_x = (pieces.node_x[pieces.u] + pieces.node_x[pieces.v]) / 2
    mid_y = (pieces.node_y[pieces.u] + pieces.node_y[pieces.v]) / 2
    x0, y0 = float(pieces.node_x.min()), float(pieces.node_y.min())
    width = float(pieces.node_x.max()) - x0
    height = float(pieces.node_y.max()) - y0
    cell = URBAN_CELL_M
    while (width / cell + 1) * (height / cell + 1) > _MAX_URBAN_CELLS:
        cell *= 2
    half = max(0, round(URBAN_HALF_WINDOW * URBAN_CELL_M / cell))
    n_x, n_y = int(width // cell) + 1, int(height // cell) + 1
    jx = ((pieces.node_x[junction] - x0) // cell).astype(np.int64)
    jy = ((pieces.node_y[junction] - y0) // cell).astype(np.int64)
    counts = np.bincount(jy * n_x + jx, minlength=n_x * n_y).reshape(n_y, n_x)
    table = np.zeros((n_y + 1, n_x + 1), dtype=np.int64)
    table[1:, 1:] = counts.cumsum(axis=0).cumsum(axis=1)
    cx = np.clip(((mid_x - x0) // cell).astype(np.int64), 0, n_x - 1)
    cy = np.clip(((mid_y - y0) // cell).astype(np.int64), 0, n_y - 1)
    left, right = np.clip(cx - half, 0, n_x), np.clip(cx + half + 1, 0, n_x)
    bottom, top = np.clip(cy - half, 0, n_y), np.clip(cy + half + 1, 0, n_y)
    around = table[top, right] - table[bottom, right] - table[top, left] + table[bottom, left]
    window_km2 = ((2 * half + 1) * cell / 1000.0) ** 2
    return np.asarray(around >= URBAN_MIN_JUNCTIONS_PER_KM2 * window_km2, dtype=np.bool_)


@lru_cache(maxsize=1)
def _osmnx_implicit_maxspeeds() -> dict[str, float]:
    """Return osmnx's table of implicit maxspeed values (``"DE:rural"``...), if any."""
    try:
        from osmnx import routing
    except ImportError:  # pragma: no cover - osmnx is a dependency
        return {}
    table = getattr(routing, "_IMPLICIT_MAXSPEEDS", {})
    return {str(key).lower(): float(value) for key, value in table.items()}


def _parse_maxspeed_kmh(value: Any) -> float:
    """Return the speed limit of a ``maxspeed`` value in km/h, NaN when unknown.

    Numbers are km/h unless followed by ``mph`` or ``knots``; several values (``a;b``,
    lanes ``a|b``) give the lowest; implicit values (``FR:urban``, ``DE:rural``,
    ``FR:zone30``, ``walk``...) are read from the tables of the module docstring.
    """
    if not isinstance(value, str):
        return math.nan
    speeds = [_parse_one_maxspeed(part) for part in re.split(r"[;|]", value)]
    valid = [speed for speed in speeds if math.isfinite(speed)]
    return min(valid) if valid else math.nan


def _parse_one_maxspeed(text: str) -> float:
    """One ``maxspeed`` value in km/h (NaN when unknown)."""
    low = text.strip().lower()
    if not low:
        return math.nan
    match = _MAXSPEED_NUMBER.match(low)
    if match:
        speed = float(match.group(1).replace(",", ".")) * _UNIT_KMH[match.group(2)]
        return speed if 0 < speed <= 300 else math.nan
    if low in IMPLICIT_MAXSPEEDS_KMH:
        return IMPLICIT_MAXSPEEDS_KMH[low]
    zone = _MAXSPEED_ZONE.search(low)
    if zone:
        return float(zone.group(1))
    implicit = _osmnx_implicit_maxspeeds().get(low)
    if implicit is not None:
        return implicit
    if ":" in low:
        return _GENERIC_MAXSPEEDS_KMH.get(low.split(":", 1)[1], math.nan)
    return math.nan
