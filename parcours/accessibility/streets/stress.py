"""Cyclists' level of traffic stress (LTS 1-4), R5's labelling of OSM ways.

r5py's ``max_bicycle_traffic_stress`` (default 3) keeps cyclists off stressful streets:
R5 lets them ride only edges of stress at most the limit and makes them *walk* (their
bike) on the others ("routing will revert to walking", R5 / r5r documentation). The
labels follow R5's ``LevelOfTrafficStressLabeler.label``, from the tags the ``streets``
layer keeps:

1. A way no car may use (either direction) is LTS 1.
2. ``highway=service`` is left unlabelled (alleys and parking aisles should not "bleed"
   stress into the streets they join).
3. ``highway=residential`` or ``living_street``: LTS 1.
4. Bike lanes: ``cycleway=lane`` is a lane both ways; ``cycleway:left=lane``,
   ``cycleway=opposite`` or ``cycleway:right=opposite`` a lane against the way;
   ``cycleway:left=opposite`` or ``cycleway:right=lane`` a lane along it.
5. ``maxspeed`` parsed as R5 does (a number, optionally ``km/h``, ``kmh``, ``kph``,
   ``mph`` or ``knots``; anything else is unknown) and ``lanes`` as an integer (unknown
   otherwise). The default is LTS 3; LTS 2 when the speed is at most 40.25 km/h (25 mph)
   and the lanes at most 3 or unknown.
6. ``unclassified``, ``tertiary``, ``tertiary_link``: with at most 3 lanes and no known
   speed the default is LTS 2; a direction with a bike lane is LTS 2, the other the
   default. Any other class (trunk, primary, secondary...): a direction with a bike lane
   gets the default; without a lane it is LTS 4.

Unlabelled ways (service) are ridden whatever the limit.

Differences from R5, all from what the ``streets`` layer holds:

- R5 then raises every street to the stress of the junctions at its ends (the highest
  LTS meeting there, ``applyIntersectionCosts``) *except at traffic signals*. The layer
  keeps no node tags, so signals are unknown; applied at every junction the rule made
  the six comparable Helsinki bicycle pairs of ``tests/test_r5_reference.py`` slower than
  R5 (mean +1 min, median |d| 1.5), while the labels alone give mean 0, median |d| 1
  (and no stress at all: mean -0.67). The junction rule is therefore not applied; it
  needs the signal nodes in the layer first.
- No ``lts`` tag override (the layer does not keep the tag).
- One label per chain, the higher of the directions a cyclist may ride it (R5 labels
  each direction), so a street with a contraflow lane but none along it counts as
  stressful both ways.
"""

from __future__ import annotations

import re
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["MAX_STRESS", "traffic_stress"]

#: The highest level of traffic stress (no limit).
MAX_STRESS: Final = 4
_SLOW_KMH: Final = 25 * 1.61
_SPEED = re.compile(r"^([0-9][.0-9]*?) ?(km/h|kmh|kph|mph|knots)?$")
_MINOR: Final = frozenset({"unclassified", "tertiary", "tertiary_link"})

Int8Array = npt.NDArray[np.int8]


def _speed_kmh(value: object) -> float:
    """R5's ``getSpeedKmh``: NaN when the tag is absent or not a plain speed."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return float("nan")
    match = _SPEED.match(str(value))
    if match is None:
        return float("nan")
    try:
        speed = float(match.group(1))
    except ValueError:
        return float("nan")
    unit = match.group(2)
    if unit == "mph":
        return speed * 1.609
    if unit == "knots":
        return speed * 1.852
    return speed


def _lanes(value: object) -> float:
    """The ``lanes`` tag as a number; inf when absent or not an integer (R5)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return float("inf")
    try:
        return float(int(str(value)))
    except ValueError:
        return float("inf")


def _is(frame: pd.DataFrame, column: str, value: str) -> npt.NDArray[np.bool_]:
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=np.bool_)
    return (
        (frame[column].astype("string").str.strip().str.lower() == value)
        .fillna(False)
        .to_numpy(dtype=bool)
    )


def traffic_stress(
    frame: pd.DataFrame, allows_car: npt.NDArray[np.bool_]
) -> tuple[Int8Array, Int8Array]:
    """R5's LTS of each way along and against its node order (0: unlabelled).

    Parameters
    ----------
    frame
        The ``streets`` layer's rows (tags as in ``docs/layers.md``).
    allows_car
        Whether a car may use the way in at least one direction.
    """
    n = len(frame)
    highway = frame["highway"].astype("string").str.strip().str.lower().fillna("")
    highway_values = highway.to_numpy(dtype=object)
    speed = frame["maxspeed"].map(_speed_kmh).to_numpy(dtype=float) if n else np.zeros(0)
    lanes = frame["lanes"].map(_lanes).to_numpy(dtype=float) if n else np.zeros(0)
    both = _is(frame, "cycleway", "lane")
    backward_lane = (
        both
        | _is(frame, "cycleway_left", "lane")
        | _is(frame, "cycleway", "opposite")
        | _is(frame, "cycleway_right", "opposite")
    )
    forward_lane = (
        both | _is(frame, "cycleway_left", "opposite") | _is(frame, "cycleway_right", "lane")
    )
    slow = speed <= _SLOW_KMH  # False for NaN, as Java's comparison
    default = np.where(slow & ((lanes <= 3) | np.isinf(lanes)), 2, 3)
    minor = np.isin(highway_values, list(_MINOR))
    default = np.where(minor & (lanes <= 3) & np.isnan(speed), 2, default)
    forward = np.where(
        minor, np.where(forward_lane, 2, default), np.where(forward_lane, default, 4)
    )
    backward = np.where(
        minor, np.where(backward_lane, 2, default), np.where(backward_lane, default, 4)
    )
    quiet = np.isin(highway_values, ["residential", "living_street"])
    forward = np.where(quiet, 1, forward)
    backward = np.where(quiet, 1, backward)
    service = highway_values == "service"
    forward = np.where(service, 0, forward)
    backward = np.where(service, 0, backward)
    no_car = ~np.asarray(allows_car, dtype=bool)
    forward = np.where(no_car, 1, forward)
    backward = np.where(no_car, 1, backward)
    return forward.astype(np.int8), backward.astype(np.int8)
