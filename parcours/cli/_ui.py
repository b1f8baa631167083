"""Console, progress bars and error reporting shared by the CLI commands."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from parcours.errors import InputError, ParcoursError
from parcours.i18n import tr

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
    "console",
    "err_console",
    "fail",
    "guarded",
    "progress_bar",
]

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int) -> NoReturn:
    """Print an error on stderr and exit with ``code``."""
    err_console.print(f"[bold red]{tr('Erreur', 'Error')}[/]{tr(' :', ':')} {message}", markup=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Turn parcours errors into a message and an exit code (2 bad input, 1 failure)."""
    try:
        yield
    except InputError as exc:
        fail(str(exc).replace("[", r"\["), EXIT_BAD_INPUT)
    except ParcoursError as exc:
        fail(str(exc).replace("[", r"\["), EXIT_FAILURE)
    except KeyboardInterrupt:
        fail(tr("interrompu", "interrupted"), EXIT_FAILURE)


@contextlib.contextmanager
def progress_bar() -> Iterator[Callable[[str, float | None], None]]:
    """A rich progress bar driven by a ``(label, fraction)`` callback."""
    if not sys.stderr.isatty():
        # Not a terminal (CI, pipes): print each new step once instead of redrawing.
        last: dict[str, Any] = {"label": None}

        def plain(label: str, fraction: float | None) -> None:
            if label != last["label"]:
                err_console.print(f"… {label}")
                last["label"] = label

        yield plain
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f} %"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=1.0)

        def update(label: str, fraction: float | None) -> None:
            bar.update(task, description=label, completed=fraction if fraction is not None else 0)

        yield update
