"""The advisors' outputs of a caseload match, and what the committee may see of it.

:func:`write_caseload_outputs` writes, under ``out``:

- ``conseiller/`` (PERSONAL DATA, for the platform's advisors): ``options.csv`` (one row
  per person and destination, :func:`~parcours.matching.advisor_table`),
  ``reponses.json`` (every person's full answer), ``carte.html`` (the caseload map) and a
  notice saying it is personal data;
- ``comite/file_active_communes.csv``: feasibility rates per commune of residence over at
  least 11 people (:func:`~parcours.matching.committee_table`), the only caseload figure a
  steering committee gets; the diagnostic copies it into its outputs.

Each file is written to a temporary name and renamed, so a reader never sees half of one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely

from parcours.geo.crs import WGS84
from parcours.maps.caseload import caseload_map
from parcours.matching import MatchResult, advisor_table, committee_table
from parcours.territories import Territory

__all__ = ["write_caseload_outputs"]

_NOTICE = (
    "DONNÉES PERSONNELLES — réservé aux conseillers mobilité de la plateforme.\n"
    "Ne pas transmettre au comité de pilotage : il reçoit comite/file_active_communes.csv\n"
    "(taux par commune sur au moins 11 personnes).\n"
)


def _write(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def write_caseload_outputs(
    territory: Territory, results: list[MatchResult], out: Path
) -> list[Path]:
    """Write the caseload outputs (see the module docstring) and return their paths."""
    advisors = Path(out) / "conseiller"
    committee = Path(out) / "comite"
    advisors.mkdir(parents=True, exist_ok=True)
    committee.mkdir(parents=True, exist_ok=True)
    table = advisor_table(results)
    written = [
        _write(advisors / "LISEZMOI_DONNEES_PERSONNELLES.txt", _NOTICE),
        _write(advisors / "options.csv", table.to_csv(index=False)),
        _write(
            advisors / "reponses.json",
            json.dumps([r.answer for r in results], ensure_ascii=False, indent=1),
        ),
    ]
    if not table.empty:
        frame: Any = table.drop_duplicates("id").set_index("id", drop=False)
        homes = gpd.GeoDataFrame(
            frame, geometry=shapely.points(frame["lon"], frame["lat"]), crs=WGS84
        )
        written.append(caseload_map(homes, advisors / "carte.html"))
    communes = territory.layer("communes") if territory.has_layer("communes") else None
    written.append(
        _write(
            committee / "file_active_communes.csv",
            committee_table(table, communes).to_csv(index=False),
        )
    )
    return written
