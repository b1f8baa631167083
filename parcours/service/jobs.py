"""Background jobs (diagnostics, batch matches) whose state lives in the database.

A job is a row of :class:`~parcours.service.models.Job`: queued, running (with the
process id, the step and its percent), done or failed. :class:`JobRunner` runs them one at
a time in a daemon thread of the service's process (a two-core machine runs one diagnostic
well, two badly); when the service stops, the running job fails at its next step. When
the service starts, :meth:`JobRunner.recover` marks failed every job a previous process
left queued or running (killed, crashed, restarted): the outputs of a diagnostic are
published by renaming a finished staging folder (:func:`parcours.maps.exports.staged`), so
such a job left nothing half-written, and it can be run again (:meth:`JobRunner.rerun`).
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import null, select, update

from parcours.errors import InputError, ParcoursError
from parcours.i18n import language, tr
from parcours.service.audit import audit
from parcours.service.db import Database
from parcours.service.models import Job, utcnow
from parcours.service.security import Principal

__all__ = ["JOB_KINDS", "JobRunner", "job_view", "process_identity"]

#: What a job does: ``diagnostic`` (a territory's report, GeoPackage, tables) and
#: ``batch_match`` (every person of a platform matched, the results stored).
JOB_KINDS = ("diagnostic", "batch_match")

#: Progress is written at most this often (seconds): a busy job does not hammer the database.
_PROGRESS_EVERY_S = 0.5

Work = Callable[[Job, Callable[[str, float | None], None]], dict[str, Any]]

#: How long a stopping service waits for its running job to reach its next step (seconds).
_STOP_WAIT_S = 30.0

_log = logging.getLogger(__name__)


class _Stopped(Exception):
    """Raised in a running job at its next step when the service stops."""


def _interrupted() -> str:
    return str(
        tr(
            "interrompue : le service s'est arrêté pendant la tâche (relancez-la)",
            "interrupted: the service stopped during the job (run it again)",
        )
    )


def job_view(job: Job) -> dict[str, Any]:
    """A job as the API shows it."""
    results: dict[str, str] = {}
    if job.status == "done" and job.kind == "diagnostic":
        base = f"/territories/{job.territory}"
        results = {
            "report": f"{base}/report",
            "cells": f"{base}/cells.geojson",
            "indicators": f"{base}/indicators?level=commune",
        }
    return {
        "job_id": job.id,
        "kind": job.kind,
        "territory": job.territory,
        "status": job.status,
        "step": job.step or None,
        "percent": round(job.percent, 1),
        "fraction": round(job.percent / 100.0, 4),
        "error": job.error,
        "created": job.created_at.isoformat(),
        "started": job.started_at.isoformat() if job.started_at else None,
        "finished": job.finished_at.isoformat() if job.finished_at else None,
        "results": results,
        "summary": job.summary or {},
    }


def process_identity(pid: int | None = None) -> str:
    """``host:pid:start time`` of a process (this one by default), "" if it is gone."""
    import psutil

    pid = os.getpid() if pid is None else pid
    try:
        started = psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return ""
    return f"{socket.gethostname()}:{pid}:{started:.0f}"


def _orphaned(runner: str) -> bool:
    """Whether the process named by ``runner`` (on this host) is gone."""
    host, _, rest = runner.partition(":")
    if host != socket.gethostname():
        return False  # another machine's job: it says itself how it ends
    pid = rest.partition(":")[0]
    return not pid.isdigit() or process_identity(int(pid)) != runner


class JobRunner:
    """Runs the jobs of one service process, one at a time, and records their progress.

    Several service processes may share a database (``uvicorn --workers``): each runs the
    jobs it queued, and a process starting marks failed only the jobs of processes that
    are gone.
    """

    def __init__(self, database: Database, works: dict[str, Work]) -> None:
        self.database = database
        self.works = works
        self.identity = process_identity()
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._stopping = threading.Event()
        #: once set (a step outlasted the stop), the job's own writes are dropped
        self._closed = False
        self._write = threading.Lock()
        self._current: str | None = None
        # a daemon: a step that outlasts the stop does not keep the process alive
        self._thread = threading.Thread(target=self._loop, name="parcours-job", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while (job_id := self._queue.get()) is not None and not self._stopping.is_set():
            self._current = job_id
            try:
                self._run(job_id)
            finally:
                self._current = None

    def recover(self) -> int:
        """Mark failed the jobs that gone processes left unfinished; how many."""
        with self.database.session() as session:
            unfinished = session.scalars(select(Job).where(Job.status.in_(("queued", "running"))))
            rows = [job for job in unfinished if _orphaned(job.runner)]
            for job in rows:
                job.status = "failed"
                job.error = _interrupted()
                job.finished_at = utcnow()
                audit(
                    session,
                    None,
                    "job.interrupted",
                    object_type="job",
                    object_id=job.id,
                    platform_id=job.platform_id,
                )
        return len(rows)

    def submit(
        self,
        principal: Principal,
        kind: str,
        territory: str,
        *,
        platform_id: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> Job:
        """Queue a job and start it when the previous one is done."""
        if kind not in self.works:
            raise InputError(tr(f"tâche inconnue : {kind}", f"unknown job: {kind}"), field="kind")
        with self.database.session() as session:
            job = Job(
                id=uuid.uuid4().hex,
                kind=kind,
                territory=territory,
                platform_id=platform_id,
                user_id=principal.user_id,
                params=params or {},
                runner=self.identity,
            )
            session.add(job)
            audit(
                session,
                principal,
                f"job.{kind}",
                object_type="job",
                object_id=job.id,
                platform_id=platform_id,
                territory=territory,
            )
        self._queue.put(job.id)
        return job

    def rerun(self, principal: Principal, job: Job) -> Job:
        """The same job again (after a failure)."""
        return self.submit(
            principal, job.kind, job.territory, platform_id=job.platform_id, params=job.params
        )

    def _set(self, job_id: str, **values: Any) -> None:
        with self._write:
            if self._closed:
                return
            with self.database.session() as session:
                session.execute(update(Job).where(Job.id == job_id).values(**values))

    def _run(self, job_id: str) -> None:
        with self.database.session() as session:
            job = session.get(Job, job_id)
            if job is None or job.status != "queued":
                return
            job.status, job.started_at, job.pid = "running", utcnow(), os.getpid()
        last: list[Any] = [0.0, None]
        lock = threading.Lock()

        def progress(label: str, fraction: float | None) -> None:
            if self._stopping.is_set():
                raise _Stopped
            now = time.monotonic()
            with lock:  # a new step is always written, a step's fractions now and then
                if label == last[1] and now - last[0] < _PROGRESS_EVERY_S:
                    return
                last[0], last[1] = now, label
            percent = 100.0 * fraction if fraction is not None else 0.0
            self._set(job_id, step=str(label)[:500], percent=max(0.0, min(100.0, percent)))

        lang = str(job.params.get("lang", "fr"))
        try:
            with language(lang):
                summary = self.works[job.kind](job, progress)
        except _Stopped:
            with language(lang):
                self._set(job_id, status="failed", error=_interrupted(), finished_at=utcnow())
        except ParcoursError as exc:
            self._set(job_id, status="failed", error=exc.render(lang), finished_at=utcnow())
        except Exception as exc:  # a bug: the job says so instead of vanishing
            # the message may quote data (a database error quotes its parameters): the
            # job shows the kind of error, the service's log the rest
            _log.error("job %s (%s) failed:\n%s", job_id, job.kind, traceback.format_exc())
            with language(lang):
                error = tr(
                    f"erreur interne ({type(exc).__name__}) : voir le journal du service",
                    f"internal error ({type(exc).__name__}): see the service's log",
                )
            self._set(job_id, status="failed", error=str(error), finished_at=utcnow())
        else:
            self._set(
                job_id,
                status="done",
                percent=100.0,
                step="",
                summary=summary or null(),
                finished_at=utcnow(),
            )

    def shutdown(self) -> None:
        """Stop taking jobs; the running one stops at its next step, marked failed.

        The queued jobs stay queued and are marked failed when the service starts again
        (:meth:`recover`). A running job whose step outlasts :data:`_STOP_WAIT_S` is marked
        failed here and its later writes to the job's row are dropped; its thread (a
        daemon) ends with the process, its files left in the staging folder, never
        published. A batch match's last person may still be stored if their match was
        in flight.
        """
        self._stopping.set()
        self._queue.put(None)
        self._thread.join(timeout=_STOP_WAIT_S)
        with self._write:
            self._closed = True
            stuck = self._current
            if stuck is not None and self._thread.is_alive():
                with self.database.session() as session:
                    session.execute(
                        update(Job)
                        .where(Job.id == stuck, Job.status == "running")
                        .values(status="failed", error=_interrupted(), finished_at=utcnow())
                    )
