"""Streaming large delimited text files, zipped, gzipped or not, chunk by chunk.

National open-data files (hundreds of megabytes, often zipped) are not read whole: the
encoding (UTF-8 with or without BOM, UTF-16 with BOM, else Windows-1252/Latin-1) and the
delimiter are detected from the first megabyte, then the rows are read by chunks with every
value as text, so that a caller can keep only the rows it needs and convert values with
:func:`parcours.geo.tables.to_float` / :func:`~parcours.geo.tables.to_int`.

Line numbers follow :func:`parcours.geo.tables.line_of`: the index of the chunks continues
from chunk to chunk, so record ``i`` of the file has label ``i`` (line ``i + 2``).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

import pandas as pd

from parcours.errors import CsvFormatError, InputError
from parcours.geo.tables import find_column, sniff_delimiter
from parcours.geo.vector import CSV_SUFFIXES
from parcours.i18n import tr

__all__ = [
    "CHUNK_ROWS",
    "SNIFF_BYTES",
    "CsvSource",
    "is_table",
    "open_csv",
    "require_source_columns",
]

# Bytes read to detect the encoding and the delimiter; rows per chunk when streaming.
SNIFF_BYTES = 1 << 20
CHUNK_ROWS = 200_000


@dataclass(frozen=True)
class CsvSource:
    """A delimited text file opened for streaming, possibly inside a zip archive.

    Attributes
    ----------
    path
        The file on disk.
    member
        The CSV member of a zip archive, or None.
    name
        How to name the file in messages (``archive.zip/member.csv`` for a member).
    encoding
        ``utf-8-sig``, ``utf-8``, ``utf-16``, ``cp1252`` or ``latin-1``.
    delimiter
        The separator found in the header line.
    raw_columns
        The header names as the parser reads them.
    columns
        The same names stripped of blanks, quotes and byte-order mark.
    size
        The (uncompressed) size in bytes, for progress reports (0 when unknown: gzip).
    gzipped
        True for a ``.gz`` file, decompressed while read.

    """

    path: Path
    member: str | None
    name: str
    encoding: str
    delimiter: str
    raw_columns: tuple[str, ...]
    columns: tuple[str, ...]
    size: int
    gzipped: bool = False

    def column(self, name: str) -> str | None:
        """Return the column named ``name`` in any case, or None."""
        return find_column(self.columns, [name])

    @contextlib.contextmanager
    def _binary(self) -> Iterator[IO[bytes]]:
        with contextlib.ExitStack() as stack:
            if self.gzipped:
                yield cast(IO[bytes], stack.enter_context(gzip.open(self.path, "rb")))
            elif self.member is None:
                yield stack.enter_context(self.path.open("rb"))
            else:
                archive = stack.enter_context(zipfile.ZipFile(self.path))
                yield stack.enter_context(archive.open(self.member))

    def chunks(
        self,
        columns: Sequence[str],
        *,
        rows: int | None = None,
        progress: Callable[[float | None], None] | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Yield the file's rows by chunks, every value as text.

        Parameters
        ----------
        columns
            The (stripped) columns to read, in the order wanted.
        rows
            Rows per chunk (default :data:`CHUNK_ROWS`).
        progress
            Called after each chunk with the fraction of the file read (or None).

        Yields
        ------
        pandas.DataFrame
            Text values (missing values are empty strings); the index continues from chunk
            to chunk, so record ``i`` of the file has label ``i`` (line ``i + 2``).

        Raises
        ------
        CsvFormatError
            A row cannot be parsed or a byte cannot be decoded.

        """
        raw_for = dict(zip(self.columns, self.raw_columns, strict=True))
        usecols = [raw_for[c] for c in columns]
        rename = {raw_for[c]: c for c in columns}
        with self._binary() as stream:
            try:
                reader = pd.read_csv(
                    stream,
                    sep=self.delimiter,
                    dtype=str,
                    keep_default_na=False,
                    na_filter=False,
                    usecols=usecols,
                    chunksize=rows or CHUNK_ROWS,
                    encoding=self.encoding,
                    engine="c",
                    quotechar='"',
                    skip_blank_lines=True,
                )
                for chunk in reader:
                    yield chunk.rename(columns=rename)[list(columns)]
                    if progress is not None:
                        progress(_fraction(stream, self.size))
            except (OSError, EOFError) as exc:  # a truncated or corrupt gzip stream
                raise CsvFormatError(
                    tr(f"fichier illisible : {exc}", f"unreadable file: {exc}"), file=self.name
                ) from exc
            except UnicodeDecodeError as exc:
                raise CsvFormatError(
                    tr(
                        f"encodage invalide ({self.encoding}) à l'octet {exc.start} de la partie "
                        "lue : enregistrez le fichier en UTF-8",
                        f"invalid encoding ({self.encoding}) at byte {exc.start} of the part "
                        "read: save the file as UTF-8",
                    ),
                    file=self.name,
                ) from exc
            except pd.errors.ParserError as exc:
                raise CsvFormatError(
                    tr(f"lecture impossible : {exc}", f"cannot parse: {exc}"), file=self.name
                ) from exc


def _fraction(stream: IO[bytes], size: int) -> float | None:
    try:
        return min(1.0, stream.tell() / size) if size else None
    except (OSError, ValueError):
        return None


def open_csv(path: Path) -> CsvSource:
    """Open a delimited text file (gzipped or not, or the single CSV of a zip) for streaming.

    The encoding (UTF-8 with or without BOM, UTF-16 with BOM, else Windows-1252/Latin-1) and
    the delimiter (``;``, ``,``, tab, ``|``) are detected from the first megabyte.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    CsvSource
        The file's header, encoding and delimiter.

    Raises
    ------
    InputError
        Missing file, archive without a single CSV.
    CsvFormatError
        Empty or binary file (e.g. a spreadsheet renamed ``.csv``).

    """
    path = Path(path)
    if not path.exists():
        raise InputError(tr("fichier introuvable", "file not found"), file=path)
    member: str | None = None
    name = str(path)
    gzipped = path.suffix.lower() == ".gz"
    if gzipped:
        size = 0
        try:
            with gzip.open(path, "rb") as stream:
                sample = stream.read(SNIFF_BYTES)
        except (OSError, EOFError) as exc:
            raise CsvFormatError(
                tr(f"fichier gzip illisible : {exc}", f"unreadable gzip file: {exc}"), file=name
            ) from exc
    elif path.suffix.lower() == ".zip":
        member = _csv_member(path)
        name = f"{path}/{member}"
        with zipfile.ZipFile(path) as archive:
            size = archive.getinfo(member).file_size
            with archive.open(member) as stream:
                sample = stream.read(SNIFF_BYTES)
    else:
        size = path.stat().st_size
        with path.open("rb") as stream:
            sample = stream.read(SNIFF_BYTES)
    encoding = _detect_encoding(sample, truncated=len(sample) >= SNIFF_BYTES, name=name)
    text = sample.decode(encoding, errors="ignore")
    header = next((line for line in text.splitlines() if line.strip()), "")
    if not header:
        raise CsvFormatError(tr("fichier vide", "empty file"), file=name)
    delimiter = sniff_delimiter(header)
    raw = pd.read_csv(io.StringIO(header + "\n"), sep=delimiter, dtype=str, nrows=0).columns
    raw_columns = tuple(str(c) for c in raw)
    columns = tuple(c.strip().lstrip("\ufeff").strip('"').strip() for c in raw_columns)
    return CsvSource(path, member, name, encoding, delimiter, raw_columns, columns, size, gzipped)


def _csv_member(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        members = [
            m
            for m in archive.namelist()
            if m.lower().endswith(CSV_SUFFIXES) and "__MACOSX" not in m
        ]
    if len(members) != 1:
        raise InputError(
            tr(
                f"l'archive doit contenir un seul fichier CSV (trouvés : {len(members)})",
                f"the archive must hold exactly one CSV file (found: {len(members)})",
            ),
            file=path,
        )
    return members[0]


def _detect_encoding(sample: bytes, *, truncated: bool, name: str) -> str:
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if not sample.strip():
        raise CsvFormatError(tr("fichier vide", "empty file"), file=name)
    if b"\x00" in sample[:4096]:
        raise CsvFormatError(
            tr(
                "fichier binaire, pas un texte délimité (CSV) : exportez le tableur en CSV",
                "binary file, not delimited text (CSV): export a spreadsheet as CSV",
            ),
            file=name,
        )
    if truncated:  # do not judge a multi-byte character cut at the end of the sample
        sample = sample[: sample.rfind(b"\n") + 1] or sample
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def require_source_columns(source: CsvSource, names: Sequence[str]) -> dict[str, str]:
    """Return the actual name of each required column (matched in any case), or raise.

    Parameters
    ----------
    source
        The opened file.
    names
        The required columns, as documented.

    Returns
    -------
    dict
        Documented name -> name in the file.

    Raises
    ------
    InputError
        Naming the first missing column (line 1) and listing the columns present.

    """
    found: dict[str, str] = {}
    present = ", ".join(source.columns)
    for wanted in names:
        column = source.column(wanted)
        if column is None:
            raise InputError(
                tr(
                    f"colonne obligatoire absente (colonnes présentes : {present})",
                    f"required column missing (columns present: {present})",
                ),
                file=source.name,
                row=1,
                field=wanted,
            )
        found[wanted] = column
    return found


def is_table(path: Path) -> bool:
    """Tell whether a file is delimited text: a CSV, or a zip holding CSV but no vector layer."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return True
    if suffix != ".zip":
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            names = [m.lower() for m in archive.namelist()]
    except zipfile.BadZipFile as exc:
        raise InputError(tr("archive zip illisible", "unreadable zip archive"), file=path) from exc
    has_vector = any(m.endswith((".shp", ".gpkg", ".geojson", ".json", ".fgb")) for m in names)
    return not has_vector and any(m.endswith(CSV_SUFFIXES) for m in names)
