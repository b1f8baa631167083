"""What a Dask worker runs: the parts of a diagnostic plan, with the network cached.

Every task gets a small :class:`RunSpec` (the workspace folder, the territory, the
options, the run folder) and an index; it opens the territory from the shared workspace,
checks that its manifest is still the one the run was planned on, and takes the
territory's network and plan from a per-process cache (:func:`loaded`): a worker loads
each network once and keeps it for the next tasks of that territory. The cache is keyed by
the manifest's hash, so a territory loaded again in between is never served stale.

Each task writes its result to the run folder, to a temporary name then renamed: a part
is there complete or not at all, and a task finding its part already written returns at
once. That is what makes a rerun after a crash resume where it stopped, and a task run
twice (a worker presumed dead that was not) harmless: both write the same bytes.

Run folder (``$PARCOURS_HOME/.runs/NAME-KEY/``, one per territory and set of options)::

    cells/part-00000.parquet   GeoParquet: cell_id, the searches from the cells, polygons
    jobs/part-00000.parquet    the to_home counts from one part of the jobs, every cell
    landmarks-LANG.pkl         landmarks (named in LANG), isochrones, arriving on time
    cells_full.parquet         every cell with its final indicators (for the region)
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import pickle
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import pandas as pd

from parcours import __version__
from parcours.accessibility import TransportNetwork
from parcours.diagnostic import MODES
from parcours.diagnostic.run import (
    CELLS_PER_PART,
    JOBS_PER_PART,
    DiagnosticPlan,
    Landmarks,
    assemble_diagnostic,
    landmark_access,
    plan_diagnostic,
)
from parcours.errors import WorkspaceError
from parcours.i18n import language, tr
from parcours.maps.report import map_sections, write_outputs
from parcours.maps.themes import Tiles
from parcours.territories import Territory, Workspace

__all__ = [
    "Published",
    "RunSpec",
    "code_key",
    "content_key",
    "count_task",
    "forward_task",
    "landmarks_task",
    "loaded",
    "publish_task",
    "reverse_task",
]

#: Territories whose network a worker keeps (``PARCOURS_WORKER_NETWORKS`` overrides).
CACHED_NETWORKS: Final = 2
#: The run folders' parent, inside ``PARCOURS_HOME``.
RUNS_FOLDER: Final = ".runs"


@functools.cache
def code_key() -> str:
    """A hash of parcours' own source files: parts computed by other code are not reused."""
    digest = hashlib.sha256(__version__.encode("utf-8"))
    package = Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode("utf-8"))
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def content_key(territory: Territory) -> str:
    """A hash of the territory's manifest: its layers, their sources' sha256 and dates."""
    text = json.dumps(territory.manifest, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class RunSpec:
    """One territory's share of a run: what every task of it needs (small, picklable).

    Attributes
    ----------
    home
        The workspace folder (``PARCOURS_HOME``), on storage every worker sees.
    name
        The territory.
    manifest_key
        :func:`content_key` of the territory when the run was planned.
    date
        The study Tuesday (None: the first one every feed serves).
    modes
        The modes.
    cells_per_part, jobs_per_part
        The parts' sizes (:class:`~parcours.diagnostic.run.DiagnosticPlan`).
    lang
        The language of the outputs.
    tiles
        The report's online base map (None: offline).
    out
        Where the territory's outputs are published (an absolute path).
    code
        :func:`code_key` on the client.
    """

    home: str
    name: str
    manifest_key: str
    date: dt.date | None = None
    modes: tuple[str, ...] = MODES
    cells_per_part: int = CELLS_PER_PART
    jobs_per_part: int = JOBS_PER_PART
    lang: str = "fr"
    tiles: Tiles = None
    out: str = ""
    code: str = ""

    @property
    def key(self) -> str:
        """What the parts depend on: the territory's content, the options, the code."""
        fields = asdict(self)
        for name in ("home", "out", "tiles", "lang"):
            fields.pop(name)  # where things are written or how they are shown
        text = json.dumps(fields, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    @property
    def publication_key(self) -> str:
        """Everything the publication depends on (also where and how it is shown)."""
        text = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    @property
    def run_dir(self) -> Path:
        """The run folder of the territory."""
        return Path(self.home) / RUNS_FOLDER / f"{self.name}-{self.key}"

    def part(self, kind: str, index: int) -> Path:
        """The file of part ``index`` of ``kind`` (``cells`` or ``jobs``)."""
        return self.run_dir / kind / f"part-{index:05d}.parquet"


@dataclass(frozen=True)
class Published:
    """What a territory's publication returns to the client (small).

    Attributes
    ----------
    name
        The territory.
    summary
        The diagnostic's headline figures (:attr:`~parcours.diagnostic.Diagnostic.summary`).
    report, geopackage, tables
        The files published.
    cells
        Every cell with its final indicators (the run folder's ``cells_full.parquet``):
        not for publication, read by the region's aggregation.
    bands
        The keys of the time bands computed.
    indicators
        The indicator columns of ``cells``.
    tasks
        The territory's parts: cells, jobs, the landmarks and this publication.
    """

    name: str
    summary: dict[str, Any]
    report: Path
    geopackage: Path
    tables: Path
    cells: Path
    bands: tuple[str, ...]
    indicators: tuple[str, ...]
    tasks: int


_LOCK = threading.Lock()
_CACHE: OrderedDict[tuple[str, str, str], tuple[Territory, TransportNetwork, DiagnosticPlan]] = (
    OrderedDict()
)


def loaded(spec: RunSpec) -> tuple[Territory, TransportNetwork, DiagnosticPlan]:
    """The territory, its network and its plan, from this process's cache.

    Raises
    ------
    WorkspaceError
        The territory changed since the run was planned (loaded again): its parts
        would not fit together.
    """
    cache_key = (spec.home, spec.name, spec.key)
    with _LOCK:
        hit = _CACHE.get(cache_key)
        if hit is not None:
            _CACHE.move_to_end(cache_key)
            territory = hit[0]  # its manifest is read again only when it changed on disk
        else:
            territory = Workspace(Path(spec.home)).open(spec.name)
        if content_key(territory) != spec.manifest_key:
            _CACHE.pop(cache_key, None)
            raise WorkspaceError(
                tr(
                    f"le territoire « {spec.name} » a changé pendant le calcul (chargé à "
                    "nouveau) : relancez le diagnostic",
                    f"territory '{spec.name}' changed during the run (loaded again): run "
                    "the diagnostic again",
                )
            )
        if hit is not None:
            return hit
        plan = plan_diagnostic(
            territory,
            date=spec.date,
            modes=spec.modes,
            cells_per_part=spec.cells_per_part,
            jobs_per_part=spec.jobs_per_part,
        )
        entry = (territory, TransportNetwork(territory), plan)
        _CACHE[cache_key] = entry
        size = int(os.environ.get("PARCOURS_WORKER_NETWORKS", CACHED_NETWORKS))
        while len(_CACHE) > max(1, size):
            _CACHE.popitem(last=False)
        return entry


def _write_atomic(path: Path, write: Callable[[Path], Any]) -> None:
    """Write a file under a temporary name in its folder, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def count_task(spec: RunSpec) -> tuple[int, int]:
    """Plan the territory (checking its layers): how many cell parts and job parts."""
    with language(spec.lang):
        _, _, plan = loaded(spec)
    return len(plan.cell_parts), len(plan.job_parts)


def forward_task(spec: RunSpec, index: int) -> str:
    """Cell part ``index``: the searches from its cells, as GeoParquet."""
    path = spec.part("cells", index)
    if path.exists():
        return str(path)
    with language(spec.lang):
        _, network, plan = loaded(spec)
        frame = plan.forward_part(network, index)
        first, last = plan.cell_parts[index]
        cells = gpd.GeoDataFrame(
            frame, geometry=plan.cells.geometry.iloc[first:last].to_numpy(), crs=plan.cells.crs
        )
        _write_atomic(path, lambda tmp: cells.to_parquet(tmp, index=False))
    return str(path)


def reverse_task(spec: RunSpec, index: int) -> str:
    """Job part ``index``: the ``to_home`` counts of every cell from these jobs."""
    path = spec.part("jobs", index)
    if path.exists():
        return str(path)
    with language(spec.lang):
        _, network, plan = loaded(spec)
        frame = plan.reverse_part(network, index)
        _write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))
    return str(path)


def landmarks_task(spec: RunSpec) -> str:
    """The landmarks, their isochrones and arriving on time (one file)."""
    path = spec.run_dir / f"landmarks-{spec.lang}.pkl"  # the landmarks' names are translated
    if path.exists():
        return str(path)
    with language(spec.lang):
        territory, network, plan = loaded(spec)
        views = landmark_access(network, territory, plan)
        _write_atomic(path, lambda tmp: tmp.write_bytes(pickle.dumps(views)))
    return str(path)


def publish_task(spec: RunSpec, cells: list[str], jobs: list[str], landmarks: str) -> Published:
    """Put the parts together and publish the territory's report, GeoPackage and tables.

    The outputs go through :func:`~parcours.maps.report.write_outputs` (a staging folder,
    then renames): a publication is whole or absent.
    """
    with language(spec.lang):
        territory, _, plan = loaded(spec)
        forward = [pd.DataFrame(gpd.read_parquet(p).drop(columns="geometry")) for p in cells]
        reverse = [pd.read_parquet(p) for p in jobs]
        views: Landmarks = pickle.loads(Path(landmarks).read_bytes())
        diagnostic = assemble_diagnostic(territory, plan, forward, reverse, views)
        sections = map_sections(diagnostic, territory, tiles=spec.tiles, lang=spec.lang)
        outputs = write_outputs(diagnostic, Path(spec.out), maps=sections, lang=spec.lang)
        full = spec.run_dir / "cells_full.parquet"
        _write_atomic(full, lambda tmp: diagnostic.cells.to_parquet(tmp, index=False))
    return Published(
        name=spec.name,
        summary=dict(diagnostic.summary),
        report=outputs.report,
        geopackage=outputs.geopackage,
        tables=outputs.report.parent / "tables",
        cells=full,
        bands=tuple(b.key for b in plan.bands),
        indicators=diagnostic.indicators,
        tasks=len(plan.cell_parts) + len(plan.job_parts) + 2,
    )
