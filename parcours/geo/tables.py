"""Reading delimited text the way French open data really ships it.

``;`` or ``,`` separators, UTF-8 with or without BOM or Latin-1/Windows-1252, decimal
commas, quoted fields holding newlines. Every value is read as text first, then
converted column by column with :func:`to_float` / :func:`to_int`, so that a bad
value is reported with its file, line and column instead of becoming a silent NaN.

Line numbers: the header is line 1 and record *i* (0-based) is line ``i + 2``; they
match what a text editor shows unless a quoted field spans several lines.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from parcours.errors import CsvFormatError, InputError
from parcours.i18n import tr

__all__ = [
    "TextTable",
    "decode_text",
    "find_column",
    "line_of",
    "read_text_table",
    "require_columns",
    "require_unique",
    "sniff_delimiter",
    "to_float",
    "to_int",
]

_DELIMITERS = (";", ",", "\t", "|")


@dataclass(frozen=True)
class TextTable:
    """A delimited file read as text.

    Attributes
    ----------
    frame
        All values as ``str`` (missing values are empty strings), columns stripped of
        surrounding blanks and of a byte-order mark.
    name
        How to name the file in messages (a path, or ``archive.zip/member.txt``).
    encoding
        The encoding that decoded the file.
    delimiter
        The separator found.
    """

    frame: pd.DataFrame
    name: str
    encoding: str
    delimiter: str


def decode_text(data: bytes, *, name: str) -> tuple[str, str]:
    """Decode bytes of a text file, detecting UTF-8 (with or without BOM) or Latin-1.

    Parameters
    ----------
    data
        The raw file content.
    name
        How to name the file in messages.

    Returns
    -------
    tuple
        The text and the name of the encoding used (``utf-8-sig``, ``utf-8``,
        ``cp1252`` or ``latin-1``).
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    if b"\x00" in data[:4096]:
        raise CsvFormatError(
            tr(
                "fichier binaire, pas un texte délimité (CSV)",
                "binary file, not delimited text (CSV)",
            ),
            file=name,
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # Windows-1252 is a superset of Latin-1 for printable characters (œ, €, ’), which
    # French exports from Excel use; fall back to Latin-1 for its 0x80-0x9f controls.
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def sniff_delimiter(header: str) -> str:
    """Return the separator of a header line: the most frequent of ``;``, ``,``, tab, ``|``.

    Separators inside double quotes are not counted; ``,`` when none is found.
    """
    counts = {d: _count_outside_quotes(header, d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _count_outside_quotes(line: str, delimiter: str) -> int:
    n, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == delimiter and not quoted:
            n += 1
    return n


def read_text_table(
    source: str | PathLike[str] | bytes,
    *,
    name: str | None = None,
    delimiter: str | None = None,
) -> TextTable:
    """Read a delimited text file with every value as text.

    Parameters
    ----------
    source
        A path, or the raw bytes of the file (e.g. a member of a zip archive).
    name
        How to name the file in messages; defaults to the path.
    delimiter
        Force the separator; by default it is detected from the header line.

    Returns
    -------
    TextTable
        The values, the encoding and the delimiter.

    Raises
    ------
    CsvFormatError
        The file is empty, binary, or its rows cannot be parsed.
    """
    if isinstance(source, bytes):
        data = source
        label = name or "<bytes>"
    else:
        path = Path(source)
        label = name or str(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise InputError(tr("fichier introuvable", "file not found"), file=label) from exc
    text, encoding = decode_text(data, name=label)
    if not text.strip():
        raise CsvFormatError(tr("fichier vide", "empty file"), file=label)
    sep = delimiter or sniff_delimiter(text.split("\n", 1)[0])
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skipinitialspace=False,
            engine="c",
            quotechar='"',
            skip_blank_lines=True,
        )
    except pd.errors.ParserError as exc:
        raise CsvFormatError(
            tr(f"lecture impossible : {exc}", f"cannot parse: {exc}"), file=label
        ) from exc
    frame.columns = [str(c).strip().lstrip("\ufeff").strip('"') for c in frame.columns]
    return TextTable(frame=frame, name=label, encoding=encoding, delimiter=sep)


def line_of(index: int) -> int:
    """Return the line number of the 0-based record ``index`` (the header is line 1)."""
    return int(index) + 2


def require_columns(table: TextTable | pd.DataFrame, columns: Iterable[str], *, name: str) -> None:
    """Raise an :class:`InputError` naming the first required column that is missing.

    Parameters
    ----------
    table
        The table to check.
    columns
        The required column names.
    name
        How to name the file in messages.
    """
    frame = table.frame if isinstance(table, TextTable) else table
    present = set(frame.columns)
    listed = ", ".join(map(str, frame.columns))
    for column in columns:
        if column not in present:
            raise InputError(
                tr(
                    f"colonne obligatoire absente (colonnes présentes : {listed})",
                    f"required column missing (columns present: {listed})",
                ),
                file=name,
                row=1,
                field=column,
            )


def find_column(columns: Iterable[Any], names: Sequence[str]) -> str | None:
    """Return the first column named like one of ``names`` (by priority), ignoring case.

    Parameters
    ----------
    columns
        The column names of a table (compared stripped and lower-cased).
    names
        Accepted names in order of preference (any case).

    Returns
    -------
    str or None
        The actual column name, or None when no name is present.

    """
    lower: dict[str, str] = {}
    for column in columns:
        lower.setdefault(str(column).strip().lower(), str(column))
    for name in names:
        if name.lower() in lower:
            return lower[name.lower()]
    return None


def require_unique(values: pd.Series, *, name: str | PathLike[str], field: str) -> None:
    """Raise an :class:`InputError` naming the line of the first duplicated identifier.

    Parameters
    ----------
    values
        The identifiers, in file order (position ``i`` is on line ``i + 2``).
    name, field
        The file and column, for messages.
    """
    duplicated = values.duplicated().to_numpy()
    if duplicated.any():
        i = _first_bad(duplicated)
        raise InputError(
            tr(
                f"identifiant « {values.iloc[i]} » en double",
                f"duplicate identifier '{values.iloc[i]}'",
            ),
            file=name,
            row=line_of(i),
            field=field,
        )


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def to_float(
    values: pd.Series,
    *,
    name: str,
    field: str,
    required: bool = True,
    minimum: float | None = None,
    maximum: float | None = None,
) -> np.ndarray:
    """Convert a text column to floats, accepting decimal commas.

    Parameters
    ----------
    values
        The text values (as read by :func:`read_text_table`).
    name, field
        The file and column, for messages.
    required
        If true an empty value is an error; otherwise it becomes NaN.
    minimum, maximum
        Inclusive bounds; a value outside them is an error.

    Returns
    -------
    numpy.ndarray
        Float64 values.

    Raises
    ------
    InputError
        Naming the line and the value of the first bad entry.
    """
    text = values.astype(str).str.strip().str.replace("\u00a0", "", regex=False)
    text = text.str.replace(" ", "", regex=False).str.replace(",", ".", regex=False)
    empty = (text == "").to_numpy()
    if required and empty.any():
        i = _first_bad(empty)
        raise InputError(tr("valeur vide", "empty value"), file=name, row=line_of(i), field=field)
    numbers = pd.to_numeric(text.where(~empty, "nan"), errors="coerce").to_numpy(dtype="float64")
    bad = np.isnan(numbers) & ~empty
    if bad.any():
        i = _first_bad(bad)
        raise InputError(
            tr(
                f"nombre attendu, trouvé « {values.iloc[i]} »",
                f"number expected, found '{values.iloc[i]}'",
            ),
            file=name,
            row=line_of(i),
            field=field,
        )
    for bound, cmp, fr_word, en_word in (
        (minimum, np.less, "inférieure au minimum", "below the minimum"),
        (maximum, np.greater, "supérieure au maximum", "above the maximum"),
    ):
        if bound is None:
            continue
        with np.errstate(invalid="ignore"):
            out = cmp(numbers, bound) & ~np.isnan(numbers)
        if out.any():
            i = _first_bad(out)
            raise InputError(
                tr(
                    f"valeur {values.iloc[i]} {fr_word} {bound}",
                    f"value {values.iloc[i]} {en_word} {bound}",
                ),
                file=name,
                row=line_of(i),
                field=field,
            )
    return numbers


def to_int(
    values: pd.Series,
    *,
    name: str,
    field: str,
    default: int | None = None,
    allowed: Iterable[int] | None = None,
) -> np.ndarray:
    """Convert a text column to integers.

    Parameters
    ----------
    values
        The text values.
    name, field
        The file and column, for messages.
    default
        The value of empty entries; ``None`` makes an empty entry an error.
    allowed
        If given, the only accepted values.

    Returns
    -------
    numpy.ndarray
        Int64 values.
    """
    text = values.astype(str).str.strip()
    empty = (text == "").to_numpy()
    if default is None and empty.any():
        i = _first_bad(empty)
        raise InputError(tr("valeur vide", "empty value"), file=name, row=line_of(i), field=field)
    filled = text.where(~empty, str(default if default is not None else 0))
    numbers = pd.to_numeric(filled, errors="coerce")
    as_float = numbers.to_numpy(dtype="float64")
    bad = np.isnan(as_float) | (np.floor(as_float) != as_float)
    if bad.any():
        i = _first_bad(bad)
        raise InputError(
            tr(
                f"entier attendu, trouvé « {values.iloc[i]} »",
                f"integer expected, found '{values.iloc[i]}'",
            ),
            file=name,
            row=line_of(i),
            field=field,
        )
    result = as_float.astype("int64")
    if allowed is not None:
        allowed_set = sorted(set(allowed))
        out = ~np.isin(result, allowed_set)
        if out.any():
            i = _first_bad(out)
            raise InputError(
                tr(
                    f"valeur « {values.iloc[i]} » non autorisée (attendu : {allowed_set})",
                    f"value '{values.iloc[i]}' not allowed (expected: {allowed_set})",
                ),
                file=name,
                row=line_of(i),
                field=field,
            )
    return result
