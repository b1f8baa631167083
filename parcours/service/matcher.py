"""Matches run in worker processes, each holding the territories' networks warm.

A match is CPU work in numpy, scipy and pandas, much of it holding the GIL: run in the
web process, it would stall every page being served beside it. :class:`Matcher` sends
each match to a small pool of processes (``spawn``ed, so no lock is inherited) that each
load a territory's network once and keep it, with its carpool index, until the
territory is loaded again (its manifest changes). ``processes=0`` matches in the calling
process (one at a time).

An error of the person's data comes back as the same kind of parcours error, its message
already in the request's language.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from parcours.errors import InputError, ParcoursError, ResultNotFoundError
from parcours.i18n import get_language, language

__all__ = ["Matcher"]

#: Per process: (workspace home, territory) -> (manifest stamp, network, carpool index).
_NETWORKS: dict[tuple[str, str], tuple[Any, Any, Any]] = {}
_LOCK = threading.Lock()


def _network(home: str, name: str) -> tuple[Any, Any]:
    from parcours.accessibility import TransportNetwork
    from parcours.matching import carpool_index_of
    from parcours.territories import Workspace

    territory = Workspace(Path(home)).open(name)
    stamp = territory.manifest.get("updated")
    with _LOCK:
        known = _NETWORKS.get((home, name))
        if known is None or known[0] != stamp:
            network = TransportNetwork(territory)
            known = (stamp, network, carpool_index_of(network))
            _NETWORKS[(home, name)] = known
    return known[1], known[2]


#: How often a match process checks that the service that started it is alive (seconds).
_PARENT_CHECK_S = 1.0


def _start_worker(parent: int) -> None:
    """A match process: numba on one thread, and it ends when the service is gone.

    A match searches from a handful of points: a parallel region gains nothing there,
    and its threads (OpenMP's spin on their cores after each region) would take CPU from
    the web process and the other match processes. Matches run side by side in
    processes instead.

    A service killed with SIGKILL cannot stop its pool: the process would live on,
    holding the territory's network in memory. It watches its parent (``parent``, the
    service's pid, given by the service: the parent may be gone before this runs) and
    exits once it is re-parented.
    """
    import numba

    numba.set_num_threads(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_CHECK_S)
        os._exit(0)

    threading.Thread(target=watch, name="parcours-parent-watch", daemon=True).start()


def _match(
    home: str, name: str, person: dict[str, Any], week: str | None, lang: str
) -> tuple[str, Any]:
    """One match: ``("ok", answer)`` or ``(error kind, message)``."""
    from parcours.matching import match
    from parcours.matching.profile import person_from_mapping

    with language(lang):
        try:
            network, carpool = _network(home, name)
            parsed = person_from_mapping(person, source=str(person.get("id") or "personne"))
            day = dt.date.fromisoformat(week) if week else None
            answer: dict[str, Any] = match(network, parsed, week=day, carpool=carpool).answer
        except ResultNotFoundError as exc:
            return "not_found", exc.render(lang)
        except ParcoursError as exc:
            return "input", exc.render(lang)
    return "ok", answer


def _warm(home: str, name: str) -> int:
    """Load a territory's network and run one match of its caseload (graphs, timetables)."""
    from parcours.matching import match, stored_caseload
    from parcours.territories import Workspace

    network, carpool = _network(home, name)
    files = stored_caseload(Workspace(Path(home)).open(name)).files
    if files:
        match(network, files[0], carpool=carpool)
    return len(files)


class Matcher:
    """Matches people on a workspace's territories, in ``processes`` worker processes."""

    def __init__(self, home: Path, processes: int = 1) -> None:
        self.home = str(Path(home).resolve())
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._local = threading.Lock()
        if processes > 0:
            self._pool = ProcessPoolExecutor(
                max_workers=processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(os.getpid(),),
            )

    def match(self, territory: str, person: Any, week: dt.date | None = None) -> dict[str, Any]:
        """The answer of :func:`parcours.matching.match` for a person file (or its mapping).

        Raises
        ------
        InputError, ResultNotFoundError
            On a person, address or territory the match refuses (the message rendered).
        """
        data = (
            person.model_dump(mode="json", exclude_none=True)
            if hasattr(person, "model_dump")
            else dict(person)
        )
        args = (self.home, territory, data, week.isoformat() if week else None, str(get_language()))
        if self._pool is None:
            with self._local:
                kind, value = _match(*args)
        else:
            kind, value = self._pool.submit(_match, *args).result()
        if kind == "ok":
            answer: dict[str, Any] = value
            return answer
        if kind == "not_found":
            raise ResultNotFoundError(value, field="territory")
        raise InputError(value)

    def warm(self, names: list[str]) -> list[Future[int]]:
        """Load the territories' networks in every worker (in the background)."""
        if self._pool is None:
            return []
        return [
            self._pool.submit(_warm, self.home, name)
            for name in names
            for _ in range(self.processes)  # one each, most likely: idle workers take them
        ]

    def shutdown(self) -> None:
        """Stop the worker processes."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
