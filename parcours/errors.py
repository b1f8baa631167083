"""The exceptions of parcours.

One base class, :class:`ParcoursError`; each subclass also inherits the built-in it
resembles so callers may catch either. :class:`InputError` (and its subclasses) mean
the user gave bad input: the CLI exits with code 2 for them, 1 for other failures.
An input error names the file, the row and the field when they are known.
"""

from __future__ import annotations

from os import PathLike

from parcours.i18n import tr

__all__ = [
    "CsvFormatError",
    "DownloadError",
    "GtfsError",
    "InputError",
    "LayerNotFoundError",
    "OsmError",
    "ParcoursError",
    "TerritoryNotFoundError",
    "WorkspaceError",
]


class ParcoursError(Exception):
    """Base class of every error raised by parcours."""


class InputError(ParcoursError, ValueError):
    """A user-supplied file, option or value is invalid.

    Parameters
    ----------
    message
        What is wrong and, when possible, what to do about it (already translated).
    file
        The file concerned (for a member of an archive: ``"feed.zip/stops.txt"``).
    row
        The line number in that file as a text editor shows it (the header is line 1).
    field
        The column or option concerned.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | PathLike[str] | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.row = row
        self.field = field
        super().__init__(self._render())

    def _render(self) -> str:
        where: list[str] = []
        if self.file is not None:
            where.append(self.file)
        if self.row is not None:
            where.append(tr(f"ligne {self.row}", f"line {self.row}"))
        if self.field is not None:
            where.append(tr(f"champ « {self.field} »", f"field '{self.field}'"))
        separator = tr(" : ", ": ")  # French typography puts a space before the colon
        return f"{', '.join(where)}{separator}{self.message}" if where else self.message


class CsvFormatError(InputError):
    """A CSV file cannot be decoded or parsed."""


class GtfsError(InputError):
    """A GTFS feed is missing a file, has a bad value or a broken reference."""


class OsmError(InputError):
    """An OpenStreetMap file cannot be read or holds nothing usable."""


class TerritoryNotFoundError(InputError, LookupError):
    """The territory named does not exist in the workspace (bad input: exit code 2)."""


class LayerNotFoundError(InputError, LookupError):
    """The territory has no such layer loaded (bad input: exit code 2)."""


class WorkspaceError(ParcoursError, OSError):
    """The workspace (``PARCOURS_HOME``) cannot be read or written, or is locked.

    A missing territory or layer is bad input, not a workspace failure: see
    :class:`TerritoryNotFoundError` and :class:`LayerNotFoundError`.
    """


class DownloadError(ParcoursError, ConnectionError):
    """A download failed (offline machine, server error, checksum mismatch)."""
