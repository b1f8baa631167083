"""Array aliases and the intermediate ways-cut-into-chains record of the street engine."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ObjectArray = npt.NDArray[np.object_]


@dataclass(frozen=True)
class _Pieces:
    """Ways cut at the graph nodes (before island pruning)."""

    node_x: FloatArray
    node_y: FloatArray
    node_osm_id: IntArray
    way: IntArray  # the way (row of the prepared frame) of each chain
    u: IntArray
    v: IntArray
    length_m: FloatArray
    forward: BoolArray
    backward: BoolArray
    geometry: ObjectArray
