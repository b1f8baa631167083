"""The caseload in one run: every person matched, one table row per person and destination.

:func:`match_caseload` matches everybody at once (the engine queries are shared by the
people with the same shift times, see :mod:`parcours.matching.feasibility`) and returns
the advisors' table (:func:`advisor_table`: personal data) and the answers.
:func:`committee_table` is what a steering committee may see of the caseload: feasibility
rates per commune of residence over at least :data:`MIN_PEOPLE` people (the rest grouped
as "autres communes", itself shown only when it reaches the threshold), never a person.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import pandas as pd

from parcours.accessibility import TransportNetwork
from parcours.matching.caseload import Caseload
from parcours.matching.catalogue import Catalogue
from parcours.matching.feasibility import VERDICT_RANK
from parcours.matching.match import MatchResult, match_people
from parcours.matching.profile import PersonFile
from parcours.territories import Territory, Workspace
from parcours.territories.sources import CASELOAD_LAYER, SECRET_MIN_BENEFICIARIES

__all__ = [
    "MIN_PEOPLE",
    "advisor_table",
    "committee_table",
    "match_caseload",
    "store_committee_table",
]

#: No caseload statistic over fewer people (DESIGN.md: the committee never sees a person).
MIN_PEOPLE: Final = SECRET_MIN_BENEFICIARIES


def match_caseload(
    territory: Territory | TransportNetwork,
    caseload: Caseload,
    *,
    catalogue: Catalogue | None = None,
    week: dt.date | None = None,
    carpool: Any = None,
    batch_size: int = 2000,
) -> list[MatchResult]:
    """Match every person of a caseload (located: the caseload stores coordinates).

    People are matched ``batch_size`` at a time (the engine queries of a batch are
    shared); the answers are those of :func:`~parcours.matching.match.match` one by one.
    """
    results: list[MatchResult] = []
    files: list[PersonFile] = caseload.files
    for first in range(0, len(files), batch_size):
        part = files[first : first + batch_size]
        ids = caseload.ids[first : first + batch_size]
        results.extend(
            match_people(territory, part, catalogue=catalogue, week=week, carpool=carpool, ids=ids)
        )
    return results


def _worst_choice(dest: dict[str, Any], direction: str) -> dict[str, Any] | None:
    """The choice of a destination for one direction on its hardest day."""
    choices = [c for c in dest["choix"] if c["trajet"] == direction]
    if not choices:
        return None
    return max(choices, key=lambda c: VERDICT_RANK[c["verdict"]])


def advisor_table(results: list[MatchResult]) -> pd.DataFrame:
    """One row per person and destination (personal data: for advisors only).

    Columns: ``id, commune, lon, lat, destination, motif, horaires, meilleur_mode``
    (the mode retained, empty when none covers every trip), ``verdict`` (the worst of
    the trips with that choice), ``verdict_aller, verdict_retour, raison`` (of the worst
    trip), ``solutions`` (the plan's, ``|``-separated), ``barrieres``.
    """
    rows = []
    for r in results:
        a = r.brief
        plan = "|".join(s for step in a["plan"] for s in step["solutions"])
        barriers = "|".join(b["code"] for b in a["personne"]["barrieres"])
        for dest in a["destinations"]:
            there = _worst_choice(dest, "aller")
            back = _worst_choice(dest, "retour")
            worst = max((c for c in (there, back) if c), key=lambda c: VERDICT_RANK[c["verdict"]])
            rows.append(
                {
                    "id": r.person.id,
                    "commune": r.person.home_commune,
                    "lon": r.person.home[0],
                    "lat": r.person.home[1],
                    "destination": dest["nom"],
                    "motif": dest["motif"],
                    "horaires": dest["horaires"],
                    "meilleur_mode": dest["mode_retenu"] or "",
                    "verdict": worst["verdict"],
                    "verdict_aller": there["verdict"] if there else None,
                    "verdict_retour": back["verdict"] if back else None,
                    "raison": worst["texte"],
                    "solutions": plan,
                    "barrieres": barriers,
                }
            )
    return pd.DataFrame(rows)


def committee_table(table: pd.DataFrame, communes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Feasibility rates per commune of residence, over at least :data:`MIN_PEOPLE` people.

    Parameters
    ----------
    table
        :func:`advisor_table`.
    communes
        The territory's communes (``insee``, ``name``) for the names.

    Returns
    -------
    pandas.DataFrame
        ``commune, nom, personnes, faisable_pct, avec_solution_pct, infaisable_pct``; a
        person counts once, by their worst destination. Communes under the threshold are
        pooled in ``autres``; the pool is dropped if it is under the threshold too.
    """
    if table.empty:
        return pd.DataFrame(
            columns=[
                "commune",
                "nom",
                "personnes",
                "faisable_pct",
                "avec_solution_pct",
                "infaisable_pct",
            ]
        )
    per_person = (
        table.assign(rank=table["verdict"].map(VERDICT_RANK))
        .groupby("id", as_index=False)
        .agg(commune=("commune", "first"), rank=("rank", "max"))
    )
    per_person["commune"] = per_person["commune"].fillna("autres")
    counts = per_person.groupby("commune")["id"].count()
    small = counts[counts < MIN_PEOPLE].index
    per_person.loc[per_person["commune"].isin(small), "commune"] = "autres"
    names = (
        dict(zip(communes["insee"].astype(str), communes["name"], strict=True))
        if communes is not None
        else {}
    )
    rows = []
    for commune, group in per_person.groupby("commune"):
        n = len(group)
        if n < MIN_PEOPLE:
            continue
        rows.append(
            {
                "commune": commune,
                "nom": names.get(str(commune), "autres communes" if commune == "autres" else ""),
                "personnes": n,
                "faisable_pct": round(100 * float((group["rank"] == 0).mean()), 1),
                "avec_solution_pct": round(100 * float((group["rank"] == 1).mean()), 1),
                "infaisable_pct": round(100 * float((group["rank"] == 2).mean()), 1),
            }
        )
    return pd.DataFrame(rows)


def store_committee_table(workspace: Workspace, name: str, table: pd.DataFrame) -> None:
    """Store :func:`committee_table` as the territory's public layer ``caseload_feasibility``.

    The diagnostic reads it (report, GeoPackage and tables); it holds no person, only
    rows of at least :data:`MIN_PEOPLE` people.
    """
    if len(table) and (table["personnes"] < MIN_PEOPLE).any():
        raise ValueError("a caseload row under the secrecy threshold")  # never: committee_table
    with workspace.transaction(name) as tx:
        tx.write_layer(
            CASELOAD_LAYER,
            table.reset_index(drop=True),
            sources=[],
            reader="parcours.matching.batch.committee_table",
            summary={"people": int(table["personnes"].sum()) if len(table) else 0},
        )
