"""The client side: plan the territories, run their parts on Dask, publish, aggregate.

:func:`diagnose_territories` turns each territory's
:class:`~parcours.diagnostic.run.DiagnosticPlan` into Dask tasks
(:mod:`parcours.cluster.tasks`): one per part of its cells, one per part of its jobs, one
for its landmarks, then one that assembles and publishes it once all its parts are
written. With two territories or more, the region's means (communes, EPCIs, employment
zones, the whole) are then computed over all the cells and published with the
statistical secret applied to the region's own areas.

Where it runs: a :class:`distributed.LocalCluster` of ``workers`` processes (one thread
each, numba on one thread: a worker is one core), an existing scheduler by its address,
a :class:`distributed.Client` given by the caller, or, with none of them, this process
(the same tasks one after the other, without Dask).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import socket
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import geopandas as gpd

from parcours.cluster.tasks import (
    Published,
    RunSpec,
    code_key,
    content_key,
    count_task,
    forward_task,
    landmarks_task,
    publish_task,
    reverse_task,
)
from parcours.diagnostic import BANDS, MODES
from parcours.diagnostic.run import CELLS_PER_PART, JOBS_PER_PART, check_inputs, region_areas
from parcours.errors import InputError
from parcours.i18n import tr
from parcours.maps.exports import AREA_LAYERS, staged
from parcours.maps.themes import Tiles
from parcours.progress import ProgressFn, no_progress
from parcours.territories import Workspace

__all__ = ["RunResult", "diagnose_territories"]

#: How many times a failed task is tried again (a killed worker's tasks are rescheduled
#: by the scheduler as well, up to ``distributed.scheduler.allowed-failures``).
RETRIES: Final = 2


@dataclass
class RunResult:
    """What a run published.

    Attributes
    ----------
    published
        One entry per territory, in the order given.
    region
        The region's folder (two territories or more), else None.
    dashboard
        Dask's dashboard address (None in process or without bokeh).
    tasks
        How many parts the territories had (cells, jobs, landmarks, publication).
    reused
        How many parts were found already written (a resumed run).
    region_summary
        The region's ``region.json``: its territories, cells (a cell in two territories
        counted once), hidden cells, population, published areas per type.
    """

    published: list[Published]
    region: Path | None = None
    dashboard: str | None = None
    tasks: int = 0
    reused: int = 0
    region_summary: dict[str, Any] = field(default_factory=dict)


def _knock(scheduler: str, timeout_s: float = 10.0) -> None:
    """Open and close a TCP connection to a ``tcp://`` or ``tls://`` scheduler.

    A refused connection is said at once (Dask's client would retry it until its
    timeout, 10 s); other address kinds are left to Dask.

    Raises
    ------
    OSError
        When nothing listens there, or the host is unknown.
    """
    parts = urllib.parse.urlsplit(scheduler)
    if parts.scheme in ("tcp", "tls") and parts.hostname and parts.port:
        socket.create_connection((parts.hostname, parts.port), timeout=timeout_s).close()


@contextlib.contextmanager
def _client(workers: int | None, scheduler: str | None, client: Any) -> Iterator[Any]:
    """The Dask client to run on (None: in this process)."""
    if client is not None:
        yield client
        return
    if scheduler is None and not workers:
        yield None
        return
    import distributed

    if scheduler is not None:
        try:
            _knock(scheduler)
            remote = distributed.Client(scheduler, timeout="10s")
        except (OSError, ValueError, TimeoutError) as error:
            raise InputError(
                tr(
                    f"ordonnanceur Dask injoignable à « {scheduler} » : {error}",
                    f"Dask scheduler unreachable at '{scheduler}': {error}",
                ),
                field="scheduler",
            ) from error
        with remote:
            yield remote
        return
    cluster = distributed.LocalCluster(
        n_workers=int(workers or 1),
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        # a task's error comes back to the client, which says it once, without the workers'
        # tracebacks (Dask logs a failed task as a warning)
        silence_logs=logging.ERROR,
        # one core per worker: numba's loops on one thread
        env={"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    )
    with cluster, distributed.Client(cluster) as local:
        yield local


def _specs(
    workspace: Workspace,
    names: Sequence[str],
    *,
    out: Path | None,
    date: dt.date | None,
    modes: Sequence[str],
    lang: str,
    tiles: Tiles,
    cells_per_part: int,
    jobs_per_part: int,
) -> list[RunSpec]:
    """Each territory's spec (the territory opened: an unknown name is refused here)."""
    unique = list(dict.fromkeys(names))
    specs = []
    for name in unique:
        territory = workspace.open(name)
        check_inputs(territory, modes)  # here, not on a worker: a clear message at once
        specs.append(
            RunSpec(
                home=str(workspace.home.resolve()),
                code=code_key(),
                name=name,
                manifest_key=content_key(territory),
                date=date,
                modes=tuple(modes),
                cells_per_part=max(1, int(cells_per_part)),
                jobs_per_part=max(1, int(jobs_per_part)),
                lang=lang,
                tiles=tiles,
                out=str(territory.path if out is None else out if len(unique) == 1 else out / name),
            )
        )
    return specs


def _label(total: int) -> str:
    return str(tr(f"diagnostic : {total} tâches", f"diagnostic: {total} tasks"))


def _in_process(specs: Sequence[RunSpec], report: ProgressFn) -> list[Published]:
    counts = [count_task(spec) for spec in specs]
    total = sum(n_cells + n_jobs + 2 for n_cells, n_jobs in counts)
    done = 0
    label = _label(total)

    def tick() -> None:
        nonlocal done
        done += 1
        report(label, done / total)

    published = []
    for spec, (n_cells, n_jobs) in zip(specs, counts, strict=True):
        cells = []
        for index in range(n_cells):
            cells.append(forward_task(spec, index))
            tick()
        jobs = []
        for index in range(n_jobs):
            jobs.append(reverse_task(spec, index))
            tick()
        landmarks = landmarks_task(spec)
        tick()
        published.append(publish_task(spec, cells, jobs, landmarks))
        tick()
    return published


def _on_dask(
    client: Any, specs: Sequence[RunSpec], report: ProgressFn, retries: int
) -> list[Published]:
    import distributed

    # the territories are planned on the workers, in parallel (a region has hundreds)
    report(tr("plan des territoires", "planning the territories"), None)
    planned = [
        client.submit(count_task, spec, key=f"parcours-{spec.name}-{spec.key}-plan")
        for spec in specs
    ]
    counts = client.gather(planned)
    total = sum(n_cells + n_jobs + 2 for n_cells, n_jobs in counts)
    futures = []
    finals = []
    for spec, (n_cells, n_jobs) in zip(specs, counts, strict=True):
        stem = f"parcours-{spec.name}-{spec.key}"
        # longest first, so that no worker is left with a long task at the end: the
        # landmarks (one task), then the cells' parts, then the (shorter) jobs' parts
        landmarks = client.submit(
            landmarks_task, spec, key=f"{stem}-landmarks-{spec.lang}", retries=retries, priority=30
        )
        cells = [
            client.submit(
                forward_task, spec, i, key=f"{stem}-cells-{i}", retries=retries, priority=20
            )
            for i in range(n_cells)
        ]
        jobs = [
            client.submit(
                reverse_task, spec, i, key=f"{stem}-jobs-{i}", retries=retries, priority=10
            )
            for i in range(n_jobs)
        ]
        final = client.submit(
            publish_task,
            spec,
            cells,
            jobs,
            landmarks,
            key=f"{stem}-publish-{spec.publication_key}",
            retries=retries,
        )
        futures += [*cells, *jobs, landmarks, final]
        finals.append(final)
    label = _label(total)
    done = 0
    try:
        for future in distributed.as_completed(futures):
            if future.status == "error":
                future.result()  # raises the task's own error
            done += 1
            report(label, done / total)
        return [final.result() for final in finals]
    finally:
        client.cancel(futures)


def _write_region(published: Sequence[Published], folder: Path) -> dict[str, Any]:
    """The region's area tables, over every territory's cells, published at once."""
    frames = [gpd.read_parquet(p.cells) for p in published]
    bands = [b for b in BANDS if b.key in published[0].bands]
    indicators = list(dict.fromkeys(c for p in published for c in p.indicators))
    areas, secret, full, repeated = region_areas(frames, indicators, bands)
    names = {**AREA_LAYERS, "territory": "region"}
    summary: dict[str, Any] = {
        "territories": [p.name for p in published],
        "cells": len(full),
        "cells_in_two_territories": repeated,
        "hidden_cells_primary": secret.primary_cells,
        "hidden_cells_secondary": secret.secondary_cells,
        "population": float(full["population"].sum()),
        "areas": {name: len(table) for name, table in areas.items()},
    }
    files = [f"{names[name]}.csv" for name in areas]
    with staged(folder, [*files, "region.json"]) as staging:
        for name, table in areas.items():
            table.to_csv(staging / f"{names[name]}.csv", index=False)
        (staging / "region.json").write_text(
            json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8"
        )
    return summary


def diagnose_territories(
    names: Sequence[str],
    *,
    workspace: Workspace | None = None,
    out: Path | None = None,
    region_out: Path | None = None,
    date: dt.date | None = None,
    modes: Sequence[str] = MODES,
    lang: str = "fr",
    tiles: Tiles = None,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    cells_per_part: int = CELLS_PER_PART,
    jobs_per_part: int = JOBS_PER_PART,
    retries: int = RETRIES,
    progress: ProgressFn | None = None,
    on_dashboard: Callable[[str], None] | None = None,
) -> RunResult:
    """Diagnose territories, on Dask or in this process, and publish each (and the region).

    Parameters
    ----------
    names
        The territories of the workspace (a name given twice counts once).
    workspace
        Default: ``PARCOURS_HOME``; on a cluster, on storage every worker sees.
    out
        Each territory's outputs go to ``out/NAME`` (one territory: to ``out``; default:
        the territory's folder).
    region_out
        The region's tables (two territories or more; default ``out/region``, else
        ``./region``).
    date, modes, lang, tiles
        As ``parcours diagnose``.
    workers
        Start a local cluster of this many worker processes.
    scheduler
        The address of an existing Dask scheduler (``tcp://host:8786``).
    client
        A :class:`distributed.Client` to run on (tests, notebooks).
    cells_per_part, jobs_per_part
        The tasks' sizes (:class:`~parcours.diagnostic.run.DiagnosticPlan`); the same
        sizes give the same numbers wherever the tasks run.
    retries
        How many times a failed task is tried again.
    progress
        Called with ``(label, fraction)`` as tasks finish.
    on_dashboard
        Called with the dashboard's address once the cluster is up.

    Raises
    ------
    InputError
        An unknown territory, a missing layer, an unreachable scheduler, bad options.
    """
    if not names:
        raise InputError(tr("donnez au moins un territoire", "give a territory"), field="names")
    if workers is not None and workers < 1:
        raise InputError(
            tr(
                f"--workers doit être au moins 1 (reçu : {workers})",
                f"--workers must be 1 or more (got {workers})",
            ),
            field="workers",
        )
    if workers and scheduler:
        raise InputError(
            tr(
                "donnez --workers ou --scheduler, pas les deux",
                "give --workers or --scheduler, not both",
            ),
            field="scheduler",
        )
    if region_out is None and len(set(names)) > 1 and out is not None and "region" in names:
        raise InputError(
            tr(
                "un territoire nommé « region » occuperait le dossier des agrégats de la "
                "région : donnez un autre dossier de sortie à la région",
                "a territory named 'region' would take the region's folder: give the region "
                "another output folder",
            ),
            field="names",
        )
    report = progress or no_progress
    workspace = workspace or Workspace()
    specs = _specs(
        workspace,
        names,
        out=out,
        date=date,
        modes=modes,
        lang=lang,
        tiles=tiles,
        cells_per_part=cells_per_part,
        jobs_per_part=jobs_per_part,
    )
    reused = sum(
        len(list(spec.part(kind, 0).parent.glob("part-*.parquet")))
        for spec in specs
        for kind in ("cells", "jobs")
    )
    result = RunResult(published=[], reused=reused)
    with _client(workers, scheduler, client) as dask:
        if dask is None:
            result.published = _in_process(specs, report)
        else:
            result.dashboard = getattr(dask, "dashboard_link", None)
            if result.dashboard and on_dashboard is not None:
                on_dashboard(result.dashboard)
            result.published = _on_dask(dask, specs, report, retries)
    result.tasks = sum(p.tasks for p in result.published)
    if len(result.published) > 1:
        folder = region_out or ((out / "region") if out is not None else Path("region"))
        report(tr("agrégats de la région", "the region's aggregates"), None)
        result.region_summary = _write_region(result.published, folder)
        result.region = folder
    return result
