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
    "os_error_message",
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

    Parcours errors print their message; any other ``OSError`` that escapes (permission
    denied, disk full, a file where a folder is expected) prints one line with the path
    concerned and exits with code 1: never a traceback.
    """
    try:
        yield
    except InputError as exc:
        fail(str(exc).replace("[", r"\["), EXIT_BAD_INPUT)
    except ParcoursError as exc:
        fail(str(exc).replace("[", r"\["), EXIT_FAILURE)
    except OSError as exc:
        # A backstop: permission denied, disk full, not a folder... one line, no traceback.
        fail(os_error_message(exc).replace("[", r"\["), EXIT_FAILURE)
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
