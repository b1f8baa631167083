"""The embedded demo: a fictional territory generated, loaded and analysed end to end.

This module sits at the top of the import graph (beside :mod:`parcours.maps`): it
orchestrates the other modules on the demo territory for ``parcours demo``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parcours.i18n import tr
from parcours.territories import Workspace, create_territory, load_sources
from parcours.territories.demo import write_demo_sources
from parcours.territories.readers._base import ProgressFn

__all__ = ["DEMO_NAME", "DemoResult", "build_demo"]

DEMO_NAME = "demo"


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
    """

    info: dict[str, Any]
    message: str
    outputs: list[Path]


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
    report(tr("génération des sources du territoire fictif", "generating the fictional sources"),
           None)
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
    info = workspace.open(DEMO_NAME).info()
    info["description"] = sources.description
    summary = out / "territoire.json"
    summary.write_text(json.dumps(info, indent=2, ensure_ascii=False, default=str), "utf-8")
    message = tr(
        f"Territoire de démonstration FICTIF chargé sous le nom « {DEMO_NAME} » "
        f"(sources : {out / 'sources'}, résumé : {summary})",
        f"FICTIONAL demo territory loaded as '{DEMO_NAME}' "
        f"(sources: {out / 'sources'}, summary: {summary})",
    )
    return DemoResult(info=info, message=message, outputs=[summary])
