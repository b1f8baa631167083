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

import pandas as pd
import shapely

from parcours.diagnostic import Diagnostic, shift_access
from parcours.i18n import get_language, tr
from parcours.maps import diagnose
from parcours.territories import Workspace
from parcours.territories.demo import DemoSources, load_demo, write_demo_sources
from parcours.territories.readers._base import ProgressFn

__all__ = ["DEMO_DAY", "DEMO_NAME", "DemoResult", "build_demo", "labelled_shift_table"]

DEMO_NAME = "demo"
#: The weekday on which the demo's accessibility is computed (a Tuesday with service).
DEMO_DAY = dt.date(2026, 3, 10)


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
        The shift-access table to the logistics zone, labelled
        (:func:`labelled_shift_table`).
    diagnostic
        The demo's diagnostic (:func:`parcours.diagnostic.run_diagnostic`).
    sources
        The generated source files (``out/sources``).
    """

    info: dict[str, Any]
    message: str
    outputs: list[Path]
    access: pd.DataFrame
    diagnostic: Diagnostic
    sources: DemoSources


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
    territory = load_demo(workspace, sources, name=DEMO_NAME, replace=True, progress=progress)
    info = territory.info()
    info["description"] = sources.description
    summary = out / "territoire.json"
    summary.write_text(json.dumps(info, indent=2, ensure_ascii=False, default=str), "utf-8")
    report(tr("accessibilité de la zone logistique", "access to the logistics zone"), None)
    x, y = sources.places["logistics_zone"]
    access = labelled_shift_table(shift_access(territory, shapely.Point(x, y), day=DEMO_DAY))
    access_path = out / "acces.csv"
    access.to_csv(access_path, index=False)
    report(tr("file active fictive : appariement", "fictional caseload: matching"), None)
    advisor_files = _demo_caseload(workspace, out, sources.places)
    territory = workspace.open(DEMO_NAME)
    report(tr("diagnostic territorial", "territorial diagnostic"), None)
    diagnostic, outputs = diagnose(territory, out, lang=get_language(), progress=progress)
    message = tr(
        f"Territoire de démonstration FICTIF chargé sous le nom « {DEMO_NAME} » "
        f"(sources : {out / 'sources'}, résumé : {summary}, rapport : {outputs.report})",
        f"FICTIONAL demo territory loaded as '{DEMO_NAME}' "
        f"(sources: {out / 'sources'}, summary: {summary}, report: {outputs.report})",
    )
    return DemoResult(
        info=info,
        message=message,
        outputs=[
            summary,
            access_path,
            outputs.report,
            outputs.geopackage,
            *outputs.tables,
            *advisor_files,
        ],
        access=access,
        diagnostic=diagnostic,
        sources=sources,
    )


def _demo_caseload(
    workspace: Workspace, out: Path, places: dict[str, tuple[float, float]]
) -> list[Path]:
    """Load the demo catalogue, 300 fictional people and 40 drivers; match them all.

    The advisors' outputs go to ``out/conseiller`` (personal data, even if fictional here),
    the committee's caseload table to ``out/comite`` and, as the territory's
    ``caseload_feasibility`` layer, into the diagnostic that follows.
    """
    from importlib import resources

    from pyproj import Transformer

    from parcours.accessibility import TransportNetwork
    from parcours.maps import write_caseload_outputs
    from parcours.matching import (
        advisor_table,
        carpool_index_of,
        committee_table,
        load_caseload,
        match_caseload,
        store_catalogue,
        store_committee_table,
        store_driver_offers,
    )
    from parcours.matching.demo import demo_driver_offers, write_demo_caseload

    catalogue = resources.files("parcours.matching").joinpath("data/demo_catalogue.yaml")
    with resources.as_file(catalogue) as path:
        store_catalogue(workspace, DEMO_NAME, path)
    territory = workspace.open(DEMO_NAME)
    to_wgs = Transformer.from_crs(territory.crs, "EPSG:4326", always_xy=True)
    training = to_wgs.transform(*places["training_centre"])
    csv_path = write_demo_caseload(
        territory, out / "sources" / "file_active_fictive.csv", n=300, training=training
    )
    load_caseload(workspace, DEMO_NAME, csv_path)
    offers = demo_driver_offers(territory)
    store_driver_offers(
        workspace,
        DEMO_NAME,
        pd.DataFrame(
            {
                "id": [o["id"] for o in offers],
                "lon": [o["home"][0] for o in offers],  # type: ignore[index]
                "lat": [o["home"][1] for o in offers],  # type: ignore[index]
                "destination_lon": [o["destination"][0] for o in offers],  # type: ignore[index]
                "destination_lat": [o["destination"][1] for o in offers],  # type: ignore[index]
                "days": [",".join(map(str, sorted(o["days"]))) for o in offers],  # type: ignore[call-overload]
                "arrive_by": [str(o["arrive_by"])[:5] for o in offers],
                "leave_at": [str(o["leave_at"])[:5] for o in offers],
                "seats": 1,
                "max_detour_min": 10.0,
            }
        ),
    )
    territory = workspace.open(DEMO_NAME)
    network = TransportNetwork(territory)
    from parcours.matching import stored_caseload

    results = match_caseload(
        network, stored_caseload(territory), week=DEMO_DAY, carpool=carpool_index_of(network)
    )
    files = write_caseload_outputs(territory, results, out)
    communes = territory.layer("communes")
    store_committee_table(workspace, DEMO_NAME, committee_table(advisor_table(results), communes))
    return files


def labelled_shift_table(table: pd.DataFrame) -> pd.DataFrame:
    """The shift-access table with the reader's column names and mode labels.

    Columns (French, or English with ``--lang en``): ``arrivee_avant``, ``mode``,
    ``en_moins_de_min``, ``habitants``, ``part``, ``secret``.
    """
    modes = {
        "walk": tr("marche", "walk"),
        "bike": tr("vélo", "bike"),
        "car": tr("voiture", "car"),
        "transit": tr("transports en commun", "public transport"),
    }
    out = table.assign(mode=table["mode"].map(lambda m: str(modes.get(m, m))))
    return out.rename(
        columns={
            "arrive_by": str(tr("arrivee_avant", "arrive_by")),
            "mode": str(tr("mode", "mode")),
            "within_min": str(tr("en_moins_de_min", "within_min")),
            "residents": str(tr("habitants", "residents")),
            "share": str(tr("part", "share")),
            "secret": str(tr("secret", "secret")),
        }
    )
