"""The HTTP service: start a diagnostic, follow it, fetch its indicators, maps and report.

``create_app(home)`` builds a FastAPI app over a workspace (``PARCOURS_HOME``). A
diagnostic runs in the background, one at a time (a two-core machine runs one well, two
badly); its files are written where ``parcours diagnose`` writes them (the territory's
folder), so the service and the CLI read the same results and a restart loses only the
job list, not the files.

Endpoints (JSON unless said; maps and GeoJSON in WGS84, as DESIGN.md says):

=========================================  ================================================
``GET  /health``                           ``{"status": "ok", "version": ...}``
``GET  /territories``                      the territories of the workspace
``POST /diagnostics``                      ``{"territory", "date"?, "modes"?, "lang"?}`` ->
                                           202 ``{"job_id", "status_url"}``
``GET  /diagnostics/{job_id}``             status (``queued``, ``running``, ``done``,
                                           ``failed``), progress step and fraction, error,
                                           links to the results
``GET  /territories/{name}/indicators``    ``?level=commune|epci|employment_zone|territory``:
                                           the published means, one record per area
``GET  /territories/{name}/cells.geojson`` the published cells and their indicators
``GET  /territories/{name}/report``        ``rapport.html``
``GET  /territories/{name}/maps``          the report's maps page (``rapport.html#cartes``)
``POST /territories/{name}/match``         body: a person file (``domicile``,
                                           ``destinations``, ``profil``), ``?semaine=``:
                                           the advisor's answer (``options``, ``plan``)
=========================================  ================================================

Errors are parcours errors rendered in the request's language (``?lang=en`` or the
``Accept-Language`` header), with the HTTP status of :data:`parcours.errors.OUTCOMES`.
There is no authentication yet: ``parcours serve`` listens on 127.0.0.1 only unless told
otherwise (the advisor's pages and access control come with a later issue).
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import geopandas as gpd
import pandas as pd
import pyogrio
from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from parcours import __version__
from parcours.errors import ParcoursError, ResultNotFoundError, outcome
from parcours.i18n import language, tr
from parcours.maps import diagnose
from parcours.maps.exports import AREA_LAYERS
from parcours.territories import Workspace

__all__ = ["DiagnosticRequest", "JobStatus", "create_app"]

_LEVELS = {**AREA_LAYERS, "territory": "territory"}


ModeName = Literal["walk", "bike", "transit", "car"]


def _all_modes() -> list[ModeName]:
    return ["walk", "bike", "transit", "car"]


class DiagnosticRequest(BaseModel):
    """A diagnostic to run."""

    territory: str = Field(description="The territory's name in the workspace.")
    date: dt.date | None = Field(
        default=None, description="The study Tuesday (default: the first every feed serves)."
    )
    modes: list[ModeName] = Field(default_factory=_all_modes)
    lang: Literal["fr", "en"] = "fr"


class JobStatus(BaseModel):
    """Where a diagnostic job stands."""

    job_id: str
    territory: str
    status: Literal["queued", "running", "done", "failed"]
    step: str | None = None
    fraction: float | None = None
    error: str | None = None
    started: dt.datetime | None = None
    finished: dt.datetime | None = None
    results: dict[str, str] = Field(default_factory=dict)


@dataclass
class _Job:
    job_id: str
    territory: str
    status: str = "queued"
    step: str | None = None
    fraction: float | None = None
    error: str | None = None
    started: dt.datetime | None = None
    finished: dt.datetime | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def status_model(self) -> JobStatus:
        with self.lock:
            results = {}
            if self.status == "done":
                base = f"/territories/{self.territory}"
                results = {
                    "report": f"{base}/report",
                    "cells": f"{base}/cells.geojson",
                    "indicators": f"{base}/indicators?level=commune",
                }
            return JobStatus(
                job_id=self.job_id,
                territory=self.territory,
                status=self.status,  # type: ignore[arg-type]
                step=self.step,
                fraction=self.fraction,
                error=self.error,
                started=self.started,
                finished=self.finished,
                results=results,
            )


def _request_language(request: Request) -> str:
    wanted = request.query_params.get("lang") or request.headers.get("accept-language", "fr")
    return "en" if wanted.lower().startswith("en") else "fr"


def _not_found(name: str, what: str) -> ResultNotFoundError:
    return ResultNotFoundError(
        tr(
            f"{what} introuvable : « {name} » (lancez d'abord le diagnostic)",
            f"{what} not found: '{name}' (run the diagnostic first)",
        ),
        field="territory",
    )


def create_app(home: Path | str | None = None) -> FastAPI:
    """The parcours web service over the workspace at ``home`` (default ``PARCOURS_HOME``)."""
    workspace = Workspace(Path(home)) if home is not None else Workspace()
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parcours-diagnostic")
    jobs: dict[str, _Job] = {}
    app = FastAPI(
        title="parcours",
        version=__version__,
        description=str(
            tr(
                "Diagnostic territorial de mobilité inclusive (sans authentification : "
                "à n'exposer qu'en local).",
                "Inclusive-mobility territorial diagnostic (no authentication: local use only).",
            )
        ),
    )

    @app.exception_handler(ParcoursError)
    async def _parcours_error(request: Request, exc: ParcoursError) -> JSONResponse:
        found = outcome(exc)
        status = found.http_status if found is not None else 500
        lang = _request_language(request)
        return JSONResponse(
            status_code=status,
            content={"error": exc.render(lang), "code": getattr(exc, "code", None)},
        )

    def folder_of(name: str) -> Path:
        return workspace.open(name).path

    def results_file(name: str, file: str) -> Path:
        path = folder_of(name) / file
        if not path.exists():
            raise _not_found(name, str(tr("diagnostic", "diagnostic")))
        return path

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/territories")
    def territories() -> list[dict[str, Any]]:
        out = []
        for name in workspace.names():
            folder = workspace.path_of(name)
            out.append({"name": name, "diagnostic": (folder / "rapport.html").exists()})
        return out

    def run(job: _Job, request: DiagnosticRequest) -> None:
        def progress(label: str, fraction: float | None) -> None:
            with job.lock:
                job.step, job.fraction = str(label), fraction

        with job.lock:
            job.status, job.started = "running", dt.datetime.now(dt.UTC)
        try:
            with language(request.lang):
                territory = workspace.open(request.territory)
                diagnose(
                    territory,
                    territory.path,
                    date=request.date,
                    modes=request.modes,
                    lang=request.lang,
                    progress=progress,
                )
        except ParcoursError as exc:
            with job.lock:
                job.status, job.error = "failed", exc.render(request.lang)
        except Exception as exc:  # a bug: the job says so instead of vanishing
            with job.lock:
                job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
        else:
            with job.lock:
                job.status = "done"
        finally:
            with job.lock:
                job.finished = dt.datetime.now(dt.UTC)

    @app.post("/diagnostics", status_code=202)
    def start(request: DiagnosticRequest) -> dict[str, str]:
        workspace.open(request.territory)  # an unknown territory is refused now, not later
        job = _Job(job_id=uuid.uuid4().hex, territory=request.territory)
        jobs[job.job_id] = job
        executor.submit(run, job, request)
        return {"job_id": job.job_id, "status_url": f"/diagnostics/{job.job_id}"}

    @app.get("/diagnostics/{job_id}")
    def status(job_id: str) -> JobStatus:
        job = jobs.get(job_id)
        if job is None:
            raise _not_found(job_id, str(tr("tâche", "job")))
        return job.status_model()

    @app.get("/territories/{name}/indicators")
    def indicators(
        name: str,
        level: Literal["commune", "epci", "employment_zone", "territory"] = Query("commune"),
    ) -> Response:
        path = results_file(name, "diagnostic.gpkg")
        layer = _LEVELS[level]
        if layer not in {str(n) for n, _ in pyogrio.list_layers(path)}:
            raise _not_found(f"{name}/{level}", str(tr("niveau", "level")))
        frame = pyogrio.read_dataframe(path, layer=layer, read_geometry=False)
        records = pd.DataFrame(frame).to_json(orient="records", force_ascii=False)
        return Response(content=records, media_type="application/json")

    @app.get("/territories/{name}/cells.geojson")
    def cells(name: str) -> Response:
        path = results_file(name, "diagnostic.gpkg")
        frame = gpd.read_file(path, layer="cells").to_crs(4326)
        return Response(
            content=frame.to_json(drop_id=True, to_wgs84=False),
            media_type="application/geo+json",
        )

    @app.get("/territories/{name}/report")
    def report(name: str) -> FileResponse:
        return FileResponse(results_file(name, "rapport.html"), media_type="text/html")

    @app.get("/territories/{name}/maps")
    def maps(name: str) -> RedirectResponse:
        results_file(name, "rapport.html")
        return RedirectResponse(f"/territories/{name}/report#cartes")

    networks: dict[str, Any] = {}
    networks_lock = threading.Lock()

    def warm_network(name: str) -> Any:
        """One network per territory and process, kept warm between requests."""
        from parcours.accessibility import TransportNetwork

        territory = workspace.open(name)
        with networks_lock:
            known = networks.get(name)
            if known is None or known[0] != territory.manifest.get("updated"):
                network = TransportNetwork(territory)
                from parcours.matching import carpool_index_of

                known = (territory.manifest.get("updated"), network, carpool_index_of(network))
                networks[name] = known
        return known

    @app.post("/territories/{name}/match")
    def match_person(
        name: str,
        person: dict[str, Any],
        semaine: Annotated[dt.date | None, Query()] = None,
    ) -> dict[str, Any]:
        """Feasibility and plan for one person (the body is a person file, as the YAML)."""
        from parcours.matching import match
        from parcours.matching.profile import person_from_mapping

        _, network, carpool = warm_network(name)
        parsed = person_from_mapping(person, source="body")
        answer: dict[str, Any] = match(network, parsed, week=semaine, carpool=carpool).answer
        return answer

    app.state.executor = executor
    app.state.jobs = jobs
    return app
