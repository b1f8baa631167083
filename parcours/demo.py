"""The embedded demo: a fictional territory generated, loaded and analysed end to end.

This module sits at the top of the import graph (beside :mod:`parcours.maps`): it
orchestrates the other modules on the demo territory for ``parcours demo``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from parcours.accessibility import TransportNetwork, latest_departure_matrix
from parcours.diagnostic.secrecy import is_secret
from parcours.i18n import tr
from parcours.territories import Territory, Workspace, create_territory, load_sources
from parcours.territories.demo import write_demo_sources
from parcours.territories.readers._base import ProgressFn

__all__ = ["DEMO_DAY", "DEMO_NAME", "DemoResult", "build_demo", "shift_access_table"]

DEMO_NAME = "demo"
#: The weekday on which the demo's accessibility is computed (a Tuesday with service).
DEMO_DAY = dt.date(2026, 3, 10)
#: Shift start times checked: early (logistics) and office hours.
SHIFT_STARTS = (dt.time(5, 30), dt.time(8, 30))
THRESHOLDS_MIN = (30, 45, 60)


@dataclass(frozen=True)
class DemoResult:
    """What ``parcours demo`` produced.

    Attributes
    ----------
    info
        The territory summary (as ``parcours territory info``).
    message
        A short text for the user (translated).
    outputs
        The files written in the output folder.
    access
        The shift-access table (see :func:`shift_access_table`).
    """

    info: dict[str, Any]
    message: str
    outputs: list[Path]
    access: pd.DataFrame


def build_demo(
    workspace: Workspace, out: Path, *, seed: int = 2026, progress: ProgressFn | None = None
) -> DemoResult:
    """Generate the demo sources in ``out/sources``, load them as territory ``demo``.

    Parameters
    ----------
    workspace
        The workspace receiving territory ``demo`` (replaced if present).
    out
        The output folder.
    seed
        Seed of the deterministic generator.
    progress
        Progress callback.

    Returns
    -------
    DemoResult
        The territory summary and the files written.
    """
    out = Path(out)
    report = progress or (lambda label, fraction: None)
    report(
        tr("génération des sources du territoire fictif", "generating the fictional sources"), None
    )
    sources = write_demo_sources(out / "sources", seed=seed)
    communes_file = sources.files["communes"][0]
    create_territory(
        workspace,
        DEMO_NAME,
        communes=",".join(sources.communes),
        communes_file=communes_file,
        replace=True,
    )
    files = dict(sources.files)
    geolocation = files.pop("jobs_geolocation", [None])[0]
    load_sources(workspace, DEMO_NAME, files, jobs_geolocation=geolocation, progress=progress)
    territory = workspace.open(DEMO_NAME)
    info = territory.info()
    info["description"] = sources.description
    summary = out / "territoire.json"
    summary.write_text(json.dumps(info, indent=2, ensure_ascii=False, default=str), "utf-8")
    report(tr("accessibilité de la zone logistique", "access to the logistics zone"), None)
    x, y = sources.places["logistics_zone"]
    access = shift_access_table(territory, shapely.Point(x, y))
    access_path = out / "acces.csv"
    access.to_csv(access_path, index=False)
    message = tr(
        f"Territoire de démonstration FICTIF chargé sous le nom « {DEMO_NAME} » "
        f"(sources : {out / 'sources'}, résumé : {summary})",
        f"FICTIONAL demo territory loaded as '{DEMO_NAME}' "
        f"(sources: {out / 'sources'}, summary: {summary})",
    )
    return DemoResult(info=info, message=message, outputs=[summary, access_path], access=access)


def shift_access_table(
    territory: Territory, destination: shapely.Point, *, day: dt.date = DEMO_DAY
) -> pd.DataFrame:
    """Share of residents who can reach a place by each shift start, by mode.

    From every populated cell inside the territory's perimeter (not its buffer) to
    ``destination`` (in the territory's CRS), the latest departure arriving by each of
    :data:`SHIFT_STARTS` is computed by walking, cycling, driving and public transport
    (walk + transit); the time to set aside is the deadline minus that departure. The
    table gives, for each start time, mode and threshold of :data:`THRESHOLDS_MIN`, the
    number and share of residents (cell population) who can make it within that time.
    Driving assumes a car and a licence, which many of the people a platform follows do
    not have.

    Statistical secret: a figure resting on fewer than :data:`MIN_HOUSEHOLDS` households
    (those who make it, or those who do not, when there are some) is not given: its
    residents and share are empty and ``secret`` is true.

    Returns
    -------
    pandas.DataFrame
        Columns (French, or English with ``--lang en``): start time, mode, threshold in
        minutes, residents, share, secret.
    """
    network = TransportNetwork(territory)
    cells = territory.layer("population")
    points = cells.geometry.representative_point()
    inside = points.within(territory.perimeter.union_all()).to_numpy()
    keep = inside & (cells["population"].to_numpy(dtype=float) > 0)
    cells = cells.loc[keep].reset_index(drop=True)
    origins = gpd.GeoDataFrame(
        {"id": cells["cell_id"].astype(str)},
        geometry=points.loc[keep].to_numpy(),
        crs=cells.crs,
    )
    target = gpd.GeoDataFrame({"id": ["destination"]}, geometry=[destination], crs=territory.crs)
    people = cells["population"].to_numpy(dtype=float)
    households = cells["households"].fillna(0).to_numpy(dtype=float)
    total_people = float(people.sum())
    total_households = float(households.sum())
    labels = {
        "walk": tr("marche", "walk"),
        "bike": tr("vélo", "bike"),
        "car": tr("voiture", "car"),
        "transit": tr("transports en commun", "public transport"),
    }
    rows: list[dict[str, Any]] = []
    for start in SHIFT_STARTS:
        deadline = dt.datetime.combine(day, start)
        for mode in ("walk", "bike", "car", "transit"):
            frame = latest_departure_matrix(
                network,
                origins,
                target,
                arrive_by=deadline,
                transport_modes=[mode],
                max_time=dt.timedelta(minutes=max(THRESHOLDS_MIN)),
            )
            minutes = frame["travel_time"].to_numpy(dtype=float)
            for threshold in THRESHOLDS_MIN:
                ok = np.nan_to_num(minutes, nan=np.inf) <= threshold
                reached = float(households[ok].sum())
                missed = total_households - reached
                secret = is_secret(reached) or is_secret(missed)
                residents = float(people[ok].sum())
                rows.append(
                    {
                        tr("arrivee_avant", "arrive_by"): start.strftime("%H:%M"),
                        tr("mode", "mode"): labels[mode],
                        tr("en_moins_de_min", "within_min"): threshold,
                        tr("habitants", "residents"): None if secret else round(residents),
                        tr("part", "share"): None
                        if secret or not total_people
                        else round(residents / total_people, 4),
                        tr("secret", "secret"): secret,
                    }
                )
    table = pd.DataFrame(rows)
    residents_col = tr("habitants", "residents")
    table[residents_col] = table[residents_col].astype("Int64")
    return table
