"""parcours.api: the HTTP service (FastAPI), see :mod:`parcours.api.app`."""

from parcours.api.app import DiagnosticRequest, JobStatus, create_app

__all__ = ["DiagnosticRequest", "JobStatus", "create_app"]
