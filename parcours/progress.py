"""Progress reporting, one type for every long step (loads, downloads, routing).

A step reports ``(label, fraction done or None)`` to a :data:`ProgressFn`; the edges (the
CLI's rich bar, later the service's job table) decide how to show it. Library code takes
``progress: ProgressFn | None`` and calls :func:`no_progress` when none is given.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ProgressFn", "no_progress"]

#: Progress callback: ``(label, fraction done or None)``.
ProgressFn = Callable[[str, float | None], None]


def no_progress(label: str, fraction: float | None) -> None:
    """Ignore progress reports."""
