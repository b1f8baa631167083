"""Shared fixtures: where the real data lives, a throw-away workspace."""

from __future__ import annotations

from pathlib import Path

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
