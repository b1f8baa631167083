"""What the background jobs run: a territory's diagnostic, a platform's batch match."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from parcours.errors import InputError, ParcoursError
from parcours.i18n import tr
from parcours.service.db import Database
from parcours.service.jobs import Work
from parcours.service.matcher import Matcher
from parcours.service.models import Job, Person
from parcours.service.people import person_file, record_match
from parcours.service.security import Principal
from parcours.territories import Workspace

__all__ = ["job_works"]


def job_works(workspace: Workspace, matcher: Matcher, database: Database) -> dict[str, Work]:
    """The job kinds of :class:`~parcours.service.jobs.JobRunner` and what each runs."""

    def diagnostic(job: Job, progress: Callable[[str, float | None], None]) -> dict[str, Any]:
        from parcours.maps import diagnose

        params = job.params
        territory = workspace.open(job.territory)
        date = dt.date.fromisoformat(params["date"]) if params.get("date") else None
        diagnose(
            territory,
            territory.path,  # published by renaming a finished staging folder
            date=date,
            modes=params.get("modes") or None,
            lang=str(params.get("lang", "fr")),
            progress=progress,
        )
        return {}

    def batch_match(job: Job, progress: Callable[[str, float | None], None]) -> dict[str, Any]:
        from parcours.service.models import User

        runner_db = database
        if job.platform_id is None:
            raise InputError(tr("tâche sans plateforme", "job without a platform"))
        with runner_db.session() as session:
            ids = list(
                session.scalars(
                    select(Person.id)
                    .where(Person.platform_id == job.platform_id)
                    .order_by(Person.id)
                )
            )
        label = str(tr("appariement de la file active", "matching the caseload"))
        week = dt.date.fromisoformat(job.params["week"]) if job.params.get("week") else None
        matched = 0
        failed: list[dict[str, Any]] = []
        for done, person_id in enumerate(ids):
            progress(f"{label} ({done}/{len(ids)})", done / max(1, len(ids)))
            with runner_db.session() as session:
                # the author's account, read again for each person: disabled, the job stops
                user = session.get(User, job.user_id) if job.user_id is not None else None
                if user is None or not user.active:
                    raise InputError(
                        tr(
                            "le compte qui a lancé la tâche est désactivé ou supprimé",
                            "the account that started the job is disabled or gone",
                        )
                    )
                person = session.get(Person, person_id)
                if person is None:  # erased meanwhile
                    continue
                try:
                    answer = matcher.match(job.territory, person_file(person), week)
                except ParcoursError as exc:  # e.g. an address not found
                    failed.append(
                        {"id": person_id, "code": exc.code, "field": getattr(exc, "field", None)}
                    )
                    continue
                record_match(session, Principal.of(user), person, answer)
                matched += 1
        # ids and error codes only: the job's summary is no place for personal data
        return {"people": matched + len(failed), "matched": matched, "failed": failed}

    return {"diagnostic": diagnostic, "batch_match": batch_match}
