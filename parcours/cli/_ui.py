"""Console, progress bars and error reporting shared by the CLI commands."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from parcours.errors import ParcoursError, outcome
from parcours.i18n import get_language, tr

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
    "FIELD_FLAGS",
    "console",
    "err_console",
    "error_message",
    "fail",
    "guarded",
    "os_error_message",
    "progress_bar",
]

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2

#: How the CLI names the library's parameters in messages: Python name -> flag.
#: A field not here (a column of a file) is shown as it is.
FIELD_FLAGS: dict[str, str] = {
    "max_time": "--max-time",
    "max_time_walking": "--max-walk",
    "speed_walking": "--speed-walking",
    "speed_cycling": "--speed-cycling",
    "max_public_transport_rides": "--max-rides",
    "access_modes": "--access",
    "egress_modes": "--egress",
    "departure_time_window": "--window",
    "percentiles": "--percentiles",
    "cutoffs": "--cutoffs",
    "origin": "--from",
    "origins": "--origins",
    "destination": "--to",
    "destinations": "--destinations",
    "departure": "--departure",
    "arrive_by": "--arrive-by",
    "transport_modes": "--modes",
    "modes": "--modes",
    "date": "--date",
    "host": "--host",
    "tiles": "--tiles",
    "engine": "--engine",
    "wheelchair": "--wheelchair",
    "territory": "--territory",
    "osm": "--osm",
    "gtfs": "--gtfs",
    "bbox": "--bbox",
    "communes": "--communes",
    "communes_file": "--communes-file",
    "perimeter": "--perimeter",
    "buffer_km": "--buffer-km",
    "sources": "--sources",
    "out": "--out",
    "population": "--population",
    "jobs": "--jobs",
    "jobs_geolocation": "--jobs-geolocation",
    "services": "--services",
    "carpool": "--carpool",
    "qpv": "--qpv",
    "bikeshare": "--bikeshare",
    "addresses": "--addresses",
    "employment_zones": "--employment-zones",
    "mobpro": "--mobpro",
    "lang": "--lang",
}

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int) -> NoReturn:
    """Print an error on stderr and exit with ``code``."""
    err_console.print(f"[bold red]{tr('Erreur', 'Error')}[/]{tr(' :', ':')} {message}", markup=True)
    raise typer.Exit(code)


def error_message(exc: ParcoursError) -> str:
    """An error rendered for the terminal: this call's language, the CLI's flag names."""
    return exc.render(get_language(), FIELD_FLAGS)


def os_error_message(exc: OSError) -> str:
    """One line for a system error: what failed, on which path (``exc.filename``)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    if not paths:
        return tr(f"erreur système : {reason}", f"system error: {reason}")
    where = " -> ".join(paths)
    return tr(f"erreur système sur {where} : {reason}", f"system error on {where}: {reason}")


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Turn errors into a message and an exit code (2 bad input, 1 failure).

    The exit code comes from :data:`parcours.errors.OUTCOMES`. Parcours errors print their
    message (fields named by their flags, :data:`FIELD_FLAGS`); any other ``OSError`` that
    escapes (permission denied, disk full, a file where a folder is expected) prints one
    line with the path concerned: never a traceback.
    """
    try:
        yield
    except (ParcoursError, OSError, KeyboardInterrupt) as exc:
        row = outcome(exc)
        code = EXIT_FAILURE if row is None else row.exit_code
        if isinstance(exc, ParcoursError):
            text = error_message(exc)
        elif isinstance(exc, OSError):
            # A backstop: permission denied, disk full, not a folder... one line.
            text = os_error_message(exc)
        else:
            text = str(tr("interrompu", "interrupted"))
        fail(text.replace("[", r"\["), code)


@contextlib.contextmanager
def progress_bar() -> Iterator[Callable[[str, float | None], None]]:
    """A rich progress bar driven by a ``(label, fraction)`` callback.

    The callback is :data:`parcours.progress.ProgressFn`'s: a step's label, and the done
    fraction in [0, 1] (``None`` when unknown: a spinner, no percentage). Each new label
    restarts the bar, with its percentage, elapsed and remaining time.
    """
    if not sys.stderr.isatty():
        # Not a terminal (CI, pipes): print each new step once instead of redrawing.
        last: dict[str, Any] = {"label": None}

        def plain(label: str, fraction: float | None) -> None:
            if label != last["label"]:
                err_console.print(f"… {label}", markup=False)
                last["label"] = label

        yield plain
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f} %"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=None)
        state: dict[str, Any] = {"label": None}

        def update(label: str, fraction: float | None) -> None:
            if label != state["label"]:
                # A new step: its own bar, so that the time left is estimated afresh.
                bar.reset(task, description=str(label))
                state["label"] = label
            if fraction is None:
                bar.update(task, total=None)
            else:
                bar.update(task, total=1.0, completed=fraction)

        yield update
