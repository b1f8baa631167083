"""Shared fixtures: where the real data lives, a throw-away workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from parcours.i18n import set_language

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real datasets of ../shared/data (see its README)."""
    if not SHARED_DATA.exists():
        pytest.fail(f"{SHARED_DATA} is missing: the test data must sit beside the project")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _french_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts in French with no PARCOURS_* setting leaking in."""
    monkeypatch.delenv("PARCOURS_LANG", raising=False)
    set_language(None)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty PARCOURS_HOME."""
    path = tmp_path / "home"
    monkeypatch.setenv("PARCOURS_HOME", str(path))
    return path


@pytest.fixture(scope="session")
def demo_loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    """The demo territory's sources written and loaded (no diagnostic), once per session.

    Returns ``(workspace, sources)``: a :class:`~parcours.territories.Workspace` holding
    territory ``demo`` and the :class:`~parcours.territories.demo.DemoSources`. Tests may
    add to it (a catalogue, a caseload) but must not remove its layers.
    """
    from parcours.territories import Workspace
    from parcours.territories.demo import load_demo, write_demo_sources

    root = tmp_path_factory.mktemp("demo-loaded")
    sources = write_demo_sources(root / "sources")
    workspace = Workspace(root / "home")
    load_demo(workspace, sources)
    return workspace, sources
