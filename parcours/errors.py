"""The exceptions of parcours, and how an edge (CLI, HTTP) turns them into an outcome.

One base class, :class:`ParcoursError`; each subclass also inherits the built-in it
resembles so callers may catch either. An error carries what is needed to render it
later, in the language of the call that shows it:

- ``message``: a bilingual :class:`~parcours.i18n.Message` (from :func:`~parcours.i18n.tr`);
- ``file``, ``row``, ``field``: where. ``field`` is a column of the file, or the *Python*
  name of the parameter concerned (``max_time``, ``origins``, ``departure``), never a CLI
  flag: the edge maps parameter names to its own vocabulary (see :meth:`ParcoursError.render`);
- ``code``: a stable identifier (``input.invalid``, ``gtfs.invalid``...), a class default
  that a raise may override (``code="gtfs.outside_perimeter"``), and ``params``, the values
  that the message mentions, for clients that build their own text.

Library code raises::

    raise InputError(tr("doit être positif", "must be positive"), field="max_time",
                     code="input.not_positive", params={"value": value})

and an edge renders with ``exc.render("en", field_names={"max_time": "--max-time"})``
and looks the outcome up in :data:`OUTCOMES` with :func:`outcome` (exit code now, HTTP
status for the API).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike
from typing import Any, ClassVar

from parcours.i18n import Language, get_language, render, tr

__all__ = [
    "OUTCOMES",
    "CsvFormatError",
    "DownloadError",
    "GtfsError",
    "InputError",
    "LayerNotFoundError",
    "OsmError",
    "Outcome",
    "ParcoursError",
    "ResultNotFoundError",
    "TerritoryNotFoundError",
    "WorkspaceError",
    "outcome",
]


class ParcoursError(Exception):
    """Base class of every error raised by parcours.

    Parameters
    ----------
    message
        What is wrong and, when possible, what to do about it (from :func:`~parcours.i18n.tr`,
        so that it can be rendered in either language).
    file
        The file concerned (for a member of an archive: ``"feed.zip/stops.txt"``).
    row
        The line number in that file as a text editor shows it (the header is line 1).
    field
        The column of the file, or the Python name of the parameter concerned.
    code
        A stable identifier of the error; default: the class's :attr:`code`.
    params
        The values the message mentions (plain data).
    """

    code: ClassVar[str] = "parcours.error"

    def __init__(
        self,
        message: str,
        *,
        file: str | PathLike[str] | None = None,
        row: int | None = None,
        field: str | None = None,
        code: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.row = row
        self.field = field
        if code is not None:
            self.code = code  # type: ignore[misc]  # per-raise override of the class default
        self.params: dict[str, Any] = dict(params or {})
        super().__init__(message)

    def render(
        self, lang: Language | str | None = None, field_names: Mapping[str, str] | None = None
    ) -> str:
        """The location and the message in ``lang`` (default: the language in force).

        Parameters
        ----------
        lang
            ``"fr"`` or ``"en"``.
        field_names
            How the edge names the parameters (``{"max_time": "--max-time"}``); a field
            not in it is shown as it is.
        """
        lang = lang or get_language()
        where: list[str] = []
        if self.file is not None:
            where.append(self.file)
        if self.row is not None:
            where.append(render(tr(f"ligne {self.row}", f"line {self.row}"), lang))
        if self.field is not None:
            name = (field_names or {}).get(self.field, self.field)
            where.append(render(tr(f"champ « {name} »", f"field '{name}'"), lang))
        message = render(self.message, lang)
        separator = " : " if lang == "fr" else ": "  # French puts a space before the colon
        return f"{', '.join(where)}{separator}{message}" if where else message

    def __str__(self) -> str:
        return self.render()


class InputError(ParcoursError, ValueError):
    """A user-supplied file, option or value is invalid (exit code 2)."""

    code: ClassVar[str] = "input.invalid"


class CsvFormatError(InputError):
    """A CSV file cannot be decoded or parsed."""

    code: ClassVar[str] = "input.csv"


class GtfsError(InputError):
    """A GTFS feed is missing a file, has a bad value or a broken reference."""

    code: ClassVar[str] = "input.gtfs"


class OsmError(InputError):
    """An OpenStreetMap file cannot be read or holds nothing usable."""

    code: ClassVar[str] = "input.osm"


class TerritoryNotFoundError(InputError, LookupError):
    """The territory named does not exist in the workspace (bad input: exit code 2)."""

    code: ClassVar[str] = "territory.not_found"


class LayerNotFoundError(InputError, LookupError):
    """The territory has no such layer loaded (bad input: exit code 2)."""

    code: ClassVar[str] = "layer.not_found"


class ResultNotFoundError(InputError, LookupError):
    """A result asked for does not exist (no diagnostic run yet, an unknown job)."""

    code: ClassVar[str] = "result.not_found"


class WorkspaceError(ParcoursError, OSError):
    """The workspace (``PARCOURS_HOME``) cannot be read or written, or is locked.

    A missing territory or layer is bad input, not a workspace failure: see
    :class:`TerritoryNotFoundError` and :class:`LayerNotFoundError`.
    """

    code: ClassVar[str] = "workspace.error"


class DownloadError(ParcoursError, ConnectionError):
    """A download failed (offline machine, server error, checksum mismatch)."""

    code: ClassVar[str] = "download.failed"


# --------------------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class Outcome:
    """What an edge does with an error: the CLI's exit code, the HTTP status code."""

    exit_code: int
    http_status: int


#: One table, from exception class to outcome; the most specific class of an error's MRO
#: found here wins. Exit codes: 0 success, 1 failure, 2 bad input.
OUTCOMES: dict[type[BaseException], Outcome] = {
    TerritoryNotFoundError: Outcome(2, 404),
    LayerNotFoundError: Outcome(2, 404),
    ResultNotFoundError: Outcome(2, 404),
    InputError: Outcome(2, 422),
    WorkspaceError: Outcome(1, 503),
    DownloadError: Outcome(1, 502),
    ParcoursError: Outcome(1, 500),
    OSError: Outcome(1, 500),
    KeyboardInterrupt: Outcome(1, 500),
}


def outcome(exc: BaseException) -> Outcome | None:
    """The :data:`OUTCOMES` row of ``exc`` (by its class's MRO), or ``None`` if none fits."""
    for cls in type(exc).__mro__:
        if cls in OUTCOMES:
            return OUTCOMES[cls]
    return None
