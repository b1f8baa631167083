"""Reading GTFS feeds into the normalised transit layers.

:func:`read_gtfs` reads one or several GTFS feeds (zip archives or folders) and returns
the layers ``feeds``, ``stops``, ``routes``, ``trips``, ``stop_times``, ``calendar``,
``calendar_dates``, ``frequencies`` and ``transfers`` described in ``docs/layers.md``.

The reader is strict: a reference to a stop, route, trip, service or agency that does not
exist, a missing file or column, a malformed time or date are errors
(:class:`~parcours.errors.GtfsError`) naming the file (``feed.zip/stop_times.txt``), the
line (the header is line 1) and the field. Every broken reference of the feed is listed in
the message, the first one gives the file, line and field of the error.

What is repaired rather than refused, as R5's GTFS library (conveyal gtfs-lib) does:

* a stop time with only one of ``arrival_time``/``departure_time`` gets the other;
* blank intermediate times are interpolated by straight-line distance between consecutive
  stops of the trip (in the metric CRS of the territory) and flagged ``interpolated``;
* trips without any stop time, or with fewer than two stop times inside the area, are
  dropped (counted in the layer warnings), then routes left without trips.

Identifiers are namespaced by feed (``FEED:original``) so that several feeds can be loaded
together; the default feed id is a slug of the file name.
"""

from __future__ import annotations

import os
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from parcours.errors import GtfsError, InputError
from parcours.geo.crs import WGS84, transformer
from parcours.geo.tables import line_of, read_text_table, to_float, to_int
from parcours.i18n import tr
from parcours.territories.readers._base import LayerData, ReadContext
from parcours.territories.readers._common import first_duplicate

__all__ = ["read_gtfs"]

_FEED_ID = re.compile(r"[a-z0-9_-]+")
_TIME_PATTERN = r"[0-9]{1,2}:[0-9]{2}:[0-9]{2}"
_DATE_PATTERN = r"[0-9]{8}"
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MAX_SHOWN = 3  # bad values quoted in a message
#: The dtype of text columns: pandas' string dtype (missing values are NaN) from pandas 3.
_TEXT_DTYPE: Any = "str" if int(pd.__version__.split(".")[0]) >= 3 else object

#: Progress of one feed: ``(step label, fraction of the feed done)``.
_Report = Callable[[str, float], None]

#: Output columns and dtypes of every layer ("str": text, null when absent).
_SCHEMAS: dict[str, dict[str, str]] = {
    "feeds": {
        "feed_id": "str",
        "source": "str",
        "agency_name": "str",
        "agency_timezone": "str",
        "start_date": "datetime64[ns]",
        "end_date": "datetime64[ns]",
        "stops": "int64",
        "routes": "int64",
        "trips": "int64",
    },
    "stops": {
        "stop_id": "str",
        "feed_id": "str",
        "stop_code": "str",
        "stop_name": "str",
        "location_type": "int8",
        "parent_station": "str",
        "wheelchair_boarding": "int8",
    },
    "routes": {
        "route_id": "str",
        "feed_id": "str",
        "agency_id": "str",
        "agency_name": "str",
        "route_short_name": "str",
        "route_long_name": "str",
        "route_type": "int32",
        "mode": "str",
    },
    "trips": {
        "trip_id": "str",
        "feed_id": "str",
        "route_id": "str",
        "service_id": "str",
        "trip_headsign": "str",
        "direction_id": "int8",
        "wheelchair_accessible": "int8",
        "frequency_based": "bool",
    },
    "stop_times": {
        "trip_id": "str",
        "stop_sequence": "int32",
        "stop_id": "str",
        "arrival_s": "int32",
        "departure_s": "int32",
        "interpolated": "bool",
        "pickup_type": "int8",
        "drop_off_type": "int8",
    },
    "calendar": {
        "service_id": "str",
        **dict.fromkeys(_DAYS, "bool"),
        "start_date": "datetime64[ns]",
        "end_date": "datetime64[ns]",
    },
    "calendar_dates": {
        "service_id": "str",
        "date": "datetime64[ns]",
        "exception_type": "int8",
    },
    "frequencies": {
        "trip_id": "str",
        "start_s": "int32",
        "end_s": "int32",
        "headway_s": "int32",
        "exact_times": "int8",
    },
    "transfers": {
        "from_stop_id": "str",
        "to_stop_id": "str",
        "transfer_type": "int8",
        "min_transfer_time_s": "float64",
    },
}
_LAYERS = tuple(_SCHEMAS)

#: Basic route_type codes.
_BASIC_MODES: dict[int, str] = {
    0: "tram",
    1: "subway",
    2: "rail",
    3: "bus",
    4: "ferry",
    5: "cable",
    6: "cable",
    7: "cable",
    11: "bus",  # trolleybus
    12: "rail",  # monorail
}
#: Extended route_type ranges (first, last, mode); the first matching range wins.
_EXTENDED_MODES: tuple[tuple[int, int, str], ...] = (
    (715, 715, "on_demand"),  # demand and response bus
    (100, 199, "rail"),
    (200, 299, "bus"),  # coach
    (300, 399, "rail"),  # suburban railway
    (400, 499, "subway"),  # urban railway
    (500, 699, "subway"),  # metro, underground
    (700, 799, "bus"),
    (800, 899, "bus"),  # trolleybus
    (900, 999, "tram"),
    (1000, 1099, "ferry"),  # water transport
    (1100, 1199, "other"),  # air service
    (1200, 1299, "ferry"),
    (1300, 1499, "cable"),  # aerial lift, funicular
    (1500, 1599, "on_demand"),  # taxi
    (1600, 1799, "other"),  # self drive, miscellaneous
)


# --------------------------------------------------------------------------- public API


def read_gtfs(
    paths: Sequence[Path],
    ctx: ReadContext,
    *,
    feed_ids: Sequence[str] | None = None,
) -> list[LayerData]:
    """Read GTFS feeds into the normalised transit layers.

    Parameters
    ----------
    paths
        GTFS feeds: zip archives or folders holding the ``.txt`` files.
    ctx
        The territory CRS and area: stops outside the area are dropped (with their
        stop times, after interpolation), the stops layer is returned in ``ctx.crs``.
    feed_ids
        One id per path (lowercase letters, digits, ``_`` and ``-``, unique); by default
        a slug of each file name, made unique with ``_2``, ``_3``...

    Returns
    -------
    list of LayerData
        The layers ``feeds``, ``stops`` (GeoDataFrame of points), ``routes``, ``trips``,
        ``stop_times``, ``calendar``, ``calendar_dates``, ``frequencies`` and
        ``transfers``, always all of them (possibly empty), with the columns of
        ``docs/layers.md``. The ``feeds`` layer's ``extra["feeds"]`` holds one summary
        dictionary per feed (for the workspace manifest).

    Raises
    ------
    InputError
        Bad feed ids.
    GtfsError
        A feed cannot be read, misses a file or a column, holds a malformed value or a
        reference to something that does not exist.

    """
    paths = [Path(p) for p in paths]
    ids = _feed_ids(paths, feed_ids)
    results: list[_FeedResult] = []
    for number, (path, feed_id) in enumerate(zip(paths, ids, strict=True)):

        def report(
            step: str, fraction: float, number: int = number, feed_id: str = feed_id
        ) -> None:
            ctx.progress(
                tr(f"GTFS {feed_id} : {step}", f"GTFS {feed_id}: {step}"),
                (number + fraction) / len(paths),
            )

        results.append(_read_feed(path, feed_id, ctx, report))
    ctx.progress(tr("GTFS : terminé", "GTFS: done"), 1.0)
    return _assemble(results, ctx.crs)


# --------------------------------------------------------------------------- feed ids


def _slug(text: str) -> str:
    """Lowercase ASCII slug made of ``[a-z0-9_-]``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9_-]+", "_", ascii_text.lower()).strip("_-")
    return slug or "feed"


def _default_stem(path: Path) -> str:
    name = path.name
    for suffix in (".zip", ".gtfs"):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
    return name


def _feed_ids(paths: Sequence[Path], given: Sequence[str] | None) -> list[str]:
    if given is None:
        ids: list[str] = []
        for path in paths:
            base = _slug(_default_stem(path))
            candidate, n = base, 1
            while candidate in ids:
                n += 1
                candidate = f"{base}_{n}"
            ids.append(candidate)
        return ids
    given = list(given)
    if len(given) != len(paths):
        raise InputError(
            tr(
                f"{len(given)} identifiant(s) de flux pour {len(paths)} flux GTFS",
                f"{len(given)} feed id(s) for {len(paths)} GTFS feed(s)",
            ),
            field="feed_id",
        )
    for feed_id in given:
        if not isinstance(feed_id, str) or not _FEED_ID.fullmatch(feed_id):
            raise InputError(
                tr(
                    f"identifiant de flux « {feed_id} » invalide : lettres minuscules, "
                    "chiffres, « _ » et « - » seulement",
                    f"invalid feed id '{feed_id}': lowercase letters, digits, '_' and '-' only",
                ),
                field="feed_id",
            )
    duplicates = sorted({f for f in given if given.count(f) > 1})
    if duplicates:
        raise InputError(
            tr(
                f"identifiant de flux en double : {', '.join(duplicates)}",
                f"duplicate feed id: {', '.join(duplicates)}",
            ),
            field="feed_id",
        )
    return given


# --------------------------------------------------------------------------- feed source


def _folder_members(folder: Path, max_depth: int = 3) -> list[str]:
    """The files of an unzipped feed, as relative POSIX paths (subfolders up to ``max_depth``)."""
    names: list[str] = []
    for root, dirs, files in os.walk(folder):
        depth = len(Path(root).relative_to(folder).parts)
        if depth >= max_depth:
            dirs.clear()
        dirs.sort()
        for file_name in sorted(files):
            names.append((Path(root) / file_name).relative_to(folder).as_posix())
    return names


class _Source:
    """A GTFS feed on disk: a zip archive or a folder of ``.txt`` files.

    As in a zip archive, the files may sit at the root of the folder or in a subfolder
    (``feed/stops.txt``): the shallowest folder holding ``stops.txt`` is used.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        self._zip: zipfile.ZipFile | None = None
        self._members: dict[str, str] = {}
        if path.is_dir():
            self._members = self._members_of(_folder_members(path))
        elif path.is_file():
            try:
                self._zip = zipfile.ZipFile(path)
                names = [n for n in self._zip.namelist() if not n.endswith("/")]
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
                raise GtfsError(
                    tr(
                        f"archive zip illisible (tronquée ou corrompue ?) : {exc}",
                        f"unreadable zip archive (truncated or corrupt?): {exc}",
                    ),
                    file=self.name,
                ) from exc
            self._members = self._members_of(names)
        else:
            raise GtfsError(tr("fichier introuvable", "file not found"), file=str(path))

    @staticmethod
    def _members_of(names: list[str]) -> dict[str, str]:
        """Map GTFS file names to members: at the root, or in the folder of stops.txt."""
        names = [n for n in names if not n.startswith("__MACOSX/")]
        homes = sorted(
            (
                n.rsplit("/", 1)[0] if "/" in n else ""
                for n in names
                if n.rsplit("/", 1)[-1] == "stops.txt"
            ),
            key=lambda d: (d.count("/") + (d != ""), d),
        )
        home = homes[0] if homes else ""
        members: dict[str, str] = {}
        for name in names:
            folder, _, base = name.rpartition("/")
            if folder == home:
                members[base] = name
        return members

    def label(self, name: str) -> str:
        """How to name a file of the feed in messages (``feed.zip/stops.txt``)."""
        return f"{self.name}/{self._members.get(name, name)}"

    def read(self, name: str) -> bytes | None:
        """Return the bytes of a GTFS file, or None if the feed does not have it."""
        member = self._members.get(name)
        if member is None:
            return None
        try:
            if self._zip is not None:
                return self._zip.read(member)
            return (self.path / member).read_bytes()
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
            raise GtfsError(
                tr(f"lecture impossible : {exc}", f"cannot read: {exc}"), file=self.label(name)
            ) from exc

    def close(self) -> None:
        """Close the archive."""
        if self._zip is not None:
            self._zip.close()


# --------------------------------------------------------------------------- low-level parsing


@contextmanager
def _as_gtfs_error() -> Iterator[None]:
    """Re-raise the input errors of the generic table helpers as GTFS errors."""
    try:
        yield
    except GtfsError:
        raise
    except InputError as exc:
        raise GtfsError(exc.message, file=exc.file, row=exc.row, field=exc.field) from exc


def _read_table(
    src: _Source,
    name: str,
    *,
    required: bool,
    needed: Sequence[str],
    optional: Sequence[str] = (),
) -> pd.DataFrame | None:
    """Read one GTFS file as stripped text.

    Returns the needed and present optional columns (missing optional ones are filled
    with ""), indexed by record position (``line_of`` gives the line); None when the
    file is absent (or empty) and not required.
    """
    label = src.label(name)
    data = src.read(name)
    if data is not None and not data.strip(b"\xef\xbb\xbf \t\r\n"):
        if required:
            raise GtfsError(tr("fichier vide", "empty file"), file=label)
        data = None
    if data is None:
        if required:
            raise GtfsError(
                tr(
                    "fichier obligatoire absent du flux GTFS",
                    "required file missing from the GTFS feed",
                ),
                file=label,
            )
        return None
    with _as_gtfs_error():
        frame = read_text_table(data, name=label, delimiter=",").frame
    present = list(frame.columns)
    for column in needed:
        if column not in present:
            raise GtfsError(
                tr(
                    f"colonne obligatoire absente (colonnes présentes : {', '.join(present)})",
                    f"required column missing (columns present: {', '.join(present)})",
                ),
                file=label,
                row=1,
                field=column,
            )
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    for column in (*needed, *optional):
        if column in out.columns:
            continue
        if column in present:
            values = frame[column]
            if isinstance(values, pd.DataFrame):  # duplicated header: keep the first
                values = values.iloc[:, 0]
            out[column] = values.fillna("").str.strip()
        else:
            out[column] = ""
    return out


def _positions(index: pd.Index, values: pd.Series) -> np.ndarray:
    """Positions of ``values`` in ``index`` (-1 when absent)."""
    return np.asarray(index.get_indexer(pd.Index(values)), dtype=np.int64)


def _text(values: pd.Series) -> pd.Series:
    """Text column with "" turned into null."""
    return values.where(values != "").reset_index(drop=True)


def _namespaced(values: pd.Series, prefix: str) -> pd.Series:
    """``prefix + id`` for the non-blank ids, null for the blank ones."""
    return (prefix + values).where(values != "").reset_index(drop=True)


def _require_filled(frame: pd.DataFrame, column: str, label: str) -> None:
    empty = (frame[column] == "").to_numpy()
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise GtfsError(
            tr(
                f"valeur vide ({int(empty.sum())} ligne(s) concernée(s))",
                f"empty value ({int(empty.sum())} row(s) concerned)",
            ),
            file=label,
            row=line_of(i),
            field=column,
        )


def _require_unique(values: pd.Series, label: str, column: str) -> None:
    found = first_duplicate(values)
    if found is not None:
        i = found.position
        raise GtfsError(
            tr(
                f"identifiant « {values.iloc[i]} » en double "
                f"({found.count} doublon(s) dans le fichier)",
                f"duplicate id '{values.iloc[i]}' ({found.count} duplicate(s) in the file)",
            ),
            file=label,
            row=line_of(int(values.index[i])),
            field=column,
        )


def _ints(
    frame: pd.DataFrame,
    column: str,
    label: str,
    *,
    default: int | None,
    allowed: Sequence[int] | None = None,
) -> np.ndarray:
    """Convert a text column to int64 (see :func:`parcours.geo.tables.to_int`).

    Plain integers take a fast vectorised path; anything else goes through ``to_int``,
    which names the line and the value of the first bad entry.
    """
    values = frame[column]
    empty = (values == "").to_numpy()
    if default is not None or not empty.any():
        plain = values.str.fullmatch(r"-?[0-9]{1,9}").to_numpy(dtype=bool, na_value=False)
        if (plain | empty).all():
            filled = values.where(~empty, str(default if default is not None else 0))
            result = np.asarray(filled.astype("int64").to_numpy(), dtype=np.int64)
            if allowed is None or np.isin(result, list(allowed)).all():
                return result
    with _as_gtfs_error():
        return to_int(values, name=label, field=column, default=default, allowed=allowed)


def _parse_times(values: pd.Series, label: str, column: str, *, required: bool) -> np.ndarray:
    """Convert ``H:MM:SS``/``HH:MM:SS`` texts to seconds (float, NaN when blank).

    Vectorised: the texts are validated with a regular expression, left-padded to
    ``HH:MM:SS`` and read as fixed-width ASCII digits.
    """
    empty = (values == "").to_numpy()
    if required and empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise GtfsError(tr("heure vide", "empty time"), file=label, row=line_of(i), field=column)
    well_formed = values.str.fullmatch(_TIME_PATTERN).to_numpy(dtype=bool, na_value=False)
    bad = ~well_formed & ~empty
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise GtfsError(
            tr(
                f"heure HH:MM:SS attendue, trouvé « {values.iloc[i]} » "
                f"({int(bad.sum())} valeur(s) invalide(s))",
                f"time HH:MM:SS expected, found '{values.iloc[i]}' ({int(bad.sum())} bad value(s))",
            ),
            file=label,
            row=line_of(i),
            field=column,
        )
    padded = values.where(~empty, "00:00:00").str.zfill(8).to_numpy(dtype=object).astype("S8")
    digits = padded.view(np.uint8).reshape(-1, 8).astype(np.int32) - ord("0")
    hours = digits[:, 0] * 10 + digits[:, 1]
    minutes = digits[:, 3] * 10 + digits[:, 4]
    seconds = digits[:, 6] * 10 + digits[:, 7]
    bad = (minutes > 59) | (seconds > 59)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise GtfsError(
            tr(
                f"heure invalide « {values.iloc[i]} » : minutes et secondes vont de 00 à 59",
                f"invalid time '{values.iloc[i]}': minutes and seconds range from 00 to 59",
            ),
            file=label,
            row=line_of(i),
            field=column,
        )
    result = (hours * 3600 + minutes * 60 + seconds).astype(np.float64)
    result[empty] = np.nan
    return result


def _parse_dates(values: pd.Series, label: str, column: str) -> np.ndarray:
    """Convert ``YYYYMMDD`` texts to ``datetime64[ns]`` (a blank or bad date is an error)."""
    well_formed = values.str.fullmatch(_DATE_PATTERN).to_numpy(dtype=bool, na_value=False)
    dates = pd.to_datetime(values.where(well_formed, None), format="%Y%m%d", errors="coerce")
    bad = ~well_formed | dates.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise GtfsError(
            tr(
                f"date AAAAMMJJ attendue, trouvé « {values.iloc[i]} »",
                f"date YYYYMMDD expected, found '{values.iloc[i]}'",
            ),
            file=label,
            row=line_of(i),
            field=column,
        )
    return dates.to_numpy().astype("datetime64[ns]")


def _route_modes(route_types: np.ndarray, values: pd.Series, label: str) -> np.ndarray:
    """Map basic and extended route_type codes to modes (unknown code: error)."""
    modes = np.full(len(route_types), "", dtype=object)
    for code, mode in _BASIC_MODES.items():
        modes[route_types == code] = mode
    for first, last, mode in _EXTENDED_MODES:
        hit = (route_types >= first) & (route_types <= last) & (modes == "")
        modes[hit] = mode
    unknown = modes == ""
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise GtfsError(
            tr(
                f"type de ligne inconnu « {values.iloc[i]} » (codes GTFS 0-7, 11, 12 "
                "ou étendus 100-1799)",
                f"unknown route type '{values.iloc[i]}' (GTFS codes 0-7, 11, 12 "
                "or extended 100-1799)",
            ),
            file=label,
            row=line_of(i),
            field="route_type",
        )
    return modes


# --------------------------------------------------------------------------- references


@dataclass(frozen=True)
class _BrokenReference:
    """Rows of a file referring to an id that does not exist."""

    file: str
    line: int
    field: str
    count: int
    values: tuple[str, ...]
    target: str  # the file that should define the ids

    def describe(self) -> str:
        shown_fr = ", ".join(f"« {v} »" for v in self.values)
        shown_en = ", ".join(f"'{v}'" for v in self.values)
        return tr(
            f"{self.count} ligne(s) font référence à un identifiant absent de {self.target} "
            f"(première(s) valeur(s) : {shown_fr})",
            f"{self.count} row(s) refer to an id missing from {self.target} "
            f"(first value(s): {shown_en})",
        )


def _broken(
    values: pd.Series, known: pd.Index, *, file: str, field: str, target: str
) -> list[_BrokenReference]:
    """Check that the non-blank ``values`` are all in ``known`` (a list of 0 or 1 problem).

    ``known`` must hold unique ids.
    """
    bad = (_positions(known, values) < 0) & (values != "").to_numpy()
    if not bad.any():
        return []
    positions = np.flatnonzero(bad)
    shown = tuple(pd.unique(values.iloc[positions].to_numpy())[:_MAX_SHOWN])
    return [
        _BrokenReference(
            file=file,
            line=line_of(int(positions[0])),
            field=field,
            count=len(positions),
            values=tuple(str(v) for v in shown),
            target=target,
        )
    ]


def _raise_broken(problems: list[_BrokenReference]) -> None:
    if not problems:
        return
    first = problems[0]
    message = first.describe()
    if len(problems) > 1:
        others = tr(" ; ", "; ").join(
            tr(
                f"{p.file}, ligne {p.line}, champ « {p.field} » : {p.describe()}",
                f"{p.file}, line {p.line}, field '{p.field}': {p.describe()}",
            )
            for p in problems[1:]
        )
        message += tr(
            f". Autres références cassées : {others}", f". Other broken references: {others}"
        )
    raise GtfsError(message, file=first.file, row=first.line, field=first.field)


# --------------------------------------------------------------------------- one feed


@dataclass
class _FeedResult:
    """The namespaced layers of one feed and its summary."""

    frames: dict[str, pd.DataFrame]
    stop_geometry: np.ndarray
    summary: dict[str, Any]
    warnings: dict[str, list[str]] = field(default_factory=dict)


def _read_feed(path: Path, feed_id: str, ctx: ReadContext, report: _Report) -> _FeedResult:
    """Read, check and clip one feed."""
    report(tr("lecture", "reading"), 0.0)
    src = _Source(path)
    try:
        return _parse_feed(src, feed_id, ctx, report)
    finally:
        src.close()


def _parse_feed(src: _Source, feed_id: str, ctx: ReadContext, report: _Report) -> _FeedResult:
    """Read the tables of one feed, check references, interpolate, clip, namespace."""
    problems: list[_BrokenReference] = []
    agencies = _read_agencies(src)
    stops = _read_stops(src, problems)
    routes = _read_routes(src, agencies, problems)
    calendar, calendar_dates = _read_calendars(src)
    services = pd.Index(
        pd.unique(
            np.concatenate(
                [
                    calendar["service_id"].to_numpy(dtype=object),
                    calendar_dates["service_id"].to_numpy(dtype=object),
                ]
            )
        )
    )
    trips = _read_trips(src, routes.index, services, problems)
    report(tr("horaires", "stop times"), 0.2)
    stop_times = _read_table(
        src,
        "stop_times.txt",
        required=True,
        needed=("trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"),
        optional=("pickup_type", "drop_off_type"),
    )
    assert stop_times is not None
    st_label = src.label("stop_times.txt")
    for column, index, target in (
        ("trip_id", trips.index, "trips.txt"),
        ("stop_id", stops.index, "stops.txt"),
    ):
        _require_filled(stop_times, column, st_label)
        problems += _broken(stop_times[column], index, file=st_label, field=column, target=target)
    frequencies = _read_table(
        src,
        "frequencies.txt",
        required=False,
        needed=("trip_id", "start_time", "end_time", "headway_secs"),
        optional=("exact_times",),
    )
    if frequencies is not None:
        label = src.label("frequencies.txt")
        _require_filled(frequencies, "trip_id", label)
        problems += _broken(
            frequencies["trip_id"], trips.index, file=label, field="trip_id", target="trips.txt"
        )
    transfers = _read_table(
        src,
        "transfers.txt",
        required=False,
        needed=("from_stop_id", "to_stop_id"),
        optional=("transfer_type", "min_transfer_time"),
    )
    if transfers is not None:
        label = src.label("transfers.txt")
        for column in ("from_stop_id", "to_stop_id"):
            problems += _broken(
                transfers[column], stops.index, file=label, field=column, target="stops.txt"
            )
    _raise_broken(problems)
    report(tr("contrôles", "checks"), 0.5)

    x, y = _locate_stops(stops, src.label("stops.txt"), ctx)
    st = _build_stop_times(stop_times, trips.index, stops.index, x, y, st_label)
    report(tr("découpage", "clipping"), 0.8)
    warnings: dict[str, list[str]] = {}
    keep_stop, keep_trip, st = _clip(stops, trips, st, x, y, ctx, feed_id, warnings)
    if len(keep_stop) and not keep_stop.any():
        box = ", ".join(f"{v:.3f}" for v in ctx.area_wgs84().bounds)
        raise GtfsError(
            tr(
                f"le réseau « {feed_id} » n'a aucun arrêt dans le périmètre du territoire "
                f"(tampon compris, emprise WGS84 {box}) : est-ce le réseau d'un autre territoire ?",
                f"feed '{feed_id}' has no stop inside the territory's perimeter (buffer "
                f"included, WGS84 extent {box}): is it another territory's feed?",
            ),
            file=src.label("stops.txt"),
            code="gtfs.outside_perimeter",
            params={"feed": feed_id, "extent_wgs84": box},
        )
    keep_route = np.zeros(len(routes.index), dtype=bool)
    keep_route[_positions(routes.index, trips.table["route_id"])[keep_trip]] = True

    prefix = f"{feed_id}:"
    frequencies_out, frequency_based = _parse_frequencies(
        frequencies, trips.index, keep_trip, src.label("frequencies.txt"), prefix
    )
    frames = {
        "stops": _stops_layer(stops, feed_id, prefix)[keep_stop].reset_index(drop=True),
        "routes": _routes_layer(routes, feed_id, prefix)[keep_route].reset_index(drop=True),
        "trips": _trips_layer(trips, frequency_based, feed_id, prefix)[keep_trip].reset_index(
            drop=True
        ),
        "stop_times": _stop_times_layer(st, trips, stops, prefix),
        "calendar": calendar.assign(service_id=prefix + calendar["service_id"]),
        "calendar_dates": calendar_dates.assign(service_id=prefix + calendar_dates["service_id"]),
        "frequencies": frequencies_out,
        "transfers": _parse_transfers(
            transfers, stops.index, keep_stop, src.label("transfers.txt"), warnings, feed_id, prefix
        ),
    }
    kept_services = pd.Index(pd.unique(trips.table["service_id"].to_numpy()[keep_trip]))
    start, end = _service_span(calendar, calendar_dates, kept_services)
    summary: dict[str, Any] = {
        "feed_id": feed_id,
        "source": src.name,
        "agency_name": " / ".join(dict.fromkeys(str(n) for n in agencies.names if n)),
        "agency_timezone": agencies.timezone,
        "start_date": start,
        "end_date": end,
        "stops": len(frames["stops"]),
        "routes": len(frames["routes"]),
        "trips": len(frames["trips"]),
    }
    report(tr("terminé", "done"), 1.0)
    return _FeedResult(
        frames=frames,
        stop_geometry=shapely.points(x[keep_stop], y[keep_stop]),
        summary=summary,
        warnings=warnings,
    )


# --------------------------------------------------------------------------- tables of a feed


@dataclass
class _Agencies:
    """agency.txt: ids ("" when absent), names and the feed's single timezone."""

    ids: pd.Series
    names: pd.Series
    timezone: str


@dataclass
class _Stops:
    """stops.txt as text plus the parsed values (coordinates NaN when blank)."""

    table: pd.DataFrame
    index: pd.Index
    location_type: np.ndarray
    wheelchair: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    parent_pos: np.ndarray


@dataclass
class _Routes:
    """routes.txt as text plus the parsed values."""

    table: pd.DataFrame
    index: pd.Index
    route_type: np.ndarray
    mode: np.ndarray
    agency_id: pd.Series
    agency_name: pd.Series


@dataclass
class _Trips:
    """trips.txt as text plus the parsed values."""

    table: pd.DataFrame
    index: pd.Index
    direction: np.ndarray
    accessible: np.ndarray


def _read_agencies(src: _Source) -> _Agencies:
    """Read agency.txt: required, one timezone for all agencies."""
    label = src.label("agency.txt")
    agency = _read_table(
        src,
        "agency.txt",
        required=True,
        needed=("agency_name", "agency_timezone"),
        optional=("agency_id",),
    )
    assert agency is not None
    if agency.empty:
        raise GtfsError(tr("aucun réseau (agency) déclaré", "no agency defined"), file=label)
    _require_filled(agency, "agency_timezone", label)
    timezones = [str(t) for t in pd.unique(agency["agency_timezone"].to_numpy())]
    if len(timezones) > 1:
        i = int(np.flatnonzero((agency["agency_timezone"] != timezones[0]).to_numpy())[0])
        raise GtfsError(
            tr(
                f"fuseaux horaires différents dans un même flux : {', '.join(timezones)}",
                f"different timezones in one feed: {', '.join(timezones)}",
            ),
            file=label,
            row=line_of(i),
            field="agency_timezone",
        )
    _check_timezone(timezones[0], label)
    ids = agency["agency_id"]
    if len(agency) > 1:
        _require_filled(agency, "agency_id", label)
    _require_unique(ids[ids != ""], label, "agency_id")
    return _Agencies(ids=ids, names=agency["agency_name"], timezone=timezones[0])


def _check_timezone(timezone: str, label: str) -> None:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        if available_timezones():  # only judge when the system has a tz database
            raise GtfsError(
                tr(f"fuseau horaire inconnu « {timezone} »", f"unknown timezone '{timezone}'"),
                file=label,
                row=2,
                field="agency_timezone",
            ) from exc


def _read_stops(src: _Source, problems: list[_BrokenReference]) -> _Stops:
    """Read stops.txt; coordinates are required except for nodes and boarding areas."""
    label = src.label("stops.txt")
    stops = _read_table(
        src,
        "stops.txt",
        required=True,
        needed=("stop_id",),
        optional=(
            "stop_code",
            "stop_name",
            "stop_lat",
            "stop_lon",
            "location_type",
            "parent_station",
            "wheelchair_boarding",
        ),
    )
    assert stops is not None
    _require_filled(stops, "stop_id", label)
    _require_unique(stops["stop_id"], label, "stop_id")
    location_type = _ints(stops, "location_type", label, default=0, allowed=range(5))
    wheelchair = _ints(stops, "wheelchair_boarding", label, default=0, allowed=range(3))
    with _as_gtfs_error():
        lat = to_float(
            stops["stop_lat"], name=label, field="stop_lat", required=False, minimum=-90, maximum=90
        ).copy()
        lon = to_float(
            stops["stop_lon"],
            name=label,
            field="stop_lon",
            required=False,
            minimum=-180,
            maximum=180,
        ).copy()
    need_xy = (np.isnan(lat) | np.isnan(lon)) & (location_type <= 2)
    if need_xy.any():
        i = int(np.flatnonzero(need_xy)[0])
        raise GtfsError(
            tr(
                "coordonnées obligatoires pour un arrêt, une station ou une entrée",
                "coordinates are required for a stop, a station or an entrance",
            ),
            file=label,
            row=line_of(i),
            field="stop_lat" if np.isnan(lat[i]) else "stop_lon",
        )
    index = pd.Index(stops["stop_id"])
    problems += _broken(
        stops["parent_station"], index, file=label, field="parent_station", target="stops.txt"
    )
    return _Stops(
        table=stops,
        index=index,
        location_type=location_type,
        wheelchair=wheelchair.copy(),
        lat=lat,
        lon=lon,
        parent_pos=_positions(index, stops["parent_station"]),
    )


def _read_routes(src: _Source, agencies: _Agencies, problems: list[_BrokenReference]) -> _Routes:
    """Read routes.txt; resolve each route's agency (the only one when blank)."""
    label = src.label("routes.txt")
    routes = _read_table(
        src,
        "routes.txt",
        required=True,
        needed=("route_id", "route_type"),
        optional=("agency_id", "route_short_name", "route_long_name"),
    )
    assert routes is not None
    _require_filled(routes, "route_id", label)
    _require_unique(routes["route_id"], label, "route_id")
    route_type = _ints(routes, "route_type", label, default=None)
    mode = _route_modes(route_type, routes["route_type"], label)
    single = len(agencies.ids) == 1
    if not single:
        _require_filled(routes, "agency_id", label)
    known = agencies.ids[agencies.ids != ""]
    if len(known):
        problems += _broken(
            routes["agency_id"], pd.Index(known), file=label, field="agency_id", target="agency.txt"
        )
    agency_id = routes["agency_id"]
    if single:
        agency_id = agency_id.where(agency_id != "", str(agencies.ids.iloc[0]))
    names = dict(zip(agencies.ids, agencies.names, strict=True))
    agency_name = agency_id.map(names)
    if single:  # a route naming the only agency by an id agency.txt does not give
        agency_name = agency_name.fillna(str(agencies.names.iloc[0]))
    return _Routes(
        table=routes,
        index=pd.Index(routes["route_id"]),
        route_type=route_type,
        mode=mode,
        agency_id=agency_id,
        agency_name=agency_name.fillna(""),
    )


def _read_calendars(src: _Source) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read calendar.txt and calendar_dates.txt (at least one of them)."""
    calendar = _read_table(
        src, "calendar.txt", required=False, needed=("service_id", *_DAYS, "start_date", "end_date")
    )
    calendar_dates = _read_table(
        src, "calendar_dates.txt", required=False, needed=("service_id", "date", "exception_type")
    )
    if calendar is None and calendar_dates is None:
        raise GtfsError(
            tr(
                "ni calendar.txt ni calendar_dates.txt : il faut au moins l'un des deux",
                "neither calendar.txt nor calendar_dates.txt: at least one is required",
            ),
            file=src.label("calendar.txt"),
        )
    return _parse_calendars(calendar, calendar_dates, src.label)


def _read_trips(
    src: _Source, route_index: pd.Index, services: pd.Index, problems: list[_BrokenReference]
) -> _Trips:
    """Read trips.txt; check its routes and services."""
    label = src.label("trips.txt")
    trips = _read_table(
        src,
        "trips.txt",
        required=True,
        needed=("route_id", "service_id", "trip_id"),
        optional=("trip_headsign", "direction_id", "wheelchair_accessible"),
    )
    assert trips is not None
    for column in ("trip_id", "route_id", "service_id"):
        _require_filled(trips, column, label)
    _require_unique(trips["trip_id"], label, "trip_id")
    direction = _ints(trips, "direction_id", label, default=-1, allowed=(-1, 0, 1))
    accessible = _ints(trips, "wheelchair_accessible", label, default=0, allowed=range(3))
    problems += _broken(
        trips["route_id"], route_index, file=label, field="route_id", target="routes.txt"
    )
    problems += _broken(
        trips["service_id"],
        services,
        file=label,
        field="service_id",
        target="calendar.txt / calendar_dates.txt",
    )
    return _Trips(
        table=trips, index=pd.Index(trips["trip_id"]), direction=direction, accessible=accessible
    )


def _locate_stops(stops: _Stops, label: str, ctx: ReadContext) -> tuple[np.ndarray, np.ndarray]:
    """Complete coordinates and wheelchair_boarding from parents; project to ``ctx.crs``."""
    parent = stops.parent_pos
    lat, lon, wheelchair = stops.lat, stops.lon, stops.wheelchair
    for _ in range(2):  # boarding area -> platform -> station
        fill = (np.isnan(lat) | np.isnan(lon)) & (parent >= 0)
        lat[fill] = lat[parent[fill]]
        lon[fill] = lon[parent[fill]]
        inherit = (wheelchair == 0) & (parent >= 0)
        wheelchair[inherit] = wheelchair[parent[inherit]]
    missing = np.isnan(lat) | np.isnan(lon)
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise GtfsError(
            tr(
                "coordonnées absentes, et pas de station parente qui en ait",
                "coordinates missing, and no parent station that has some",
            ),
            file=label,
            row=line_of(i),
            field="stop_lat",
        )
    x, y = transformer(WGS84, ctx.crs).transform(lon, lat)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _clip(
    stops: _Stops,
    trips: _Trips,
    st: pd.DataFrame,
    x: np.ndarray,
    y: np.ndarray,
    ctx: ReadContext,
    feed_id: str,
    warnings: dict[str, list[str]],
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Keep the stops inside the area (and their parents) and the trips still served.

    Returns the masks of kept stops and trips, and the stop times left: those at kept
    stops, of trips with at least two of them.
    """
    n_trips = len(trips.index)
    has_times = np.zeros(n_trips, dtype=bool)
    has_times[st["trip_pos"].to_numpy()] = True
    n_without = int((~has_times).sum())
    if n_without:
        warnings.setdefault("trips", []).append(
            tr(
                f"{feed_id} : {n_without} course(s) sans horaire dans stop_times.txt ignorée(s)",
                f"{feed_id}: {n_without} trip(s) without any stop time in stop_times.txt ignored",
            )
        )
    area = ctx.area
    shapely.prepare(area)
    keep_stop = np.asarray(shapely.intersects_xy(area, x, y), dtype=bool)
    for _ in range(2):  # parents, grand-parents of boarding areas
        keep_stop[stops.parent_pos[keep_stop & (stops.parent_pos >= 0)]] = True
    single = np.bincount(st["trip_pos"].to_numpy(), minlength=n_trips) == 1
    n_single = int(single.sum())
    if n_single:
        warnings.setdefault("trips", []).append(
            tr(
                f"{feed_id} : {n_single} course(s) desservant un seul arrêt ignorée(s)",
                f"{feed_id}: {n_single} trip(s) serving a single stop ignored",
            )
        )
    st = st[keep_stop[st["stop_pos"].to_numpy()]]
    keep_trip = np.bincount(st["trip_pos"].to_numpy(), minlength=n_trips) >= 2
    n_short = int((has_times & ~single & ~keep_trip).sum())
    if n_short:
        warnings.setdefault("trips", []).append(
            tr(
                f"{feed_id} : {n_short} course(s) ayant moins de 2 arrêts dans le périmètre "
                "ignorée(s)",
                f"{feed_id}: {n_short} trip(s) with fewer than 2 stops inside the area ignored",
            )
        )
    st = st[keep_trip[st["trip_pos"].to_numpy()]]
    return keep_stop, keep_trip, st


def _stops_layer(stops: _Stops, feed_id: str, prefix: str) -> pd.DataFrame:
    table = stops.table
    return pd.DataFrame(
        {
            "stop_id": _namespaced(table["stop_id"], prefix),
            "feed_id": feed_id,
            "stop_code": _text(table["stop_code"]),
            "stop_name": _text(table["stop_name"]),
            "location_type": stops.location_type.astype(np.int8),
            "parent_station": _namespaced(table["parent_station"], prefix),
            "wheelchair_boarding": stops.wheelchair.astype(np.int8),
        }
    )


def _routes_layer(routes: _Routes, feed_id: str, prefix: str) -> pd.DataFrame:
    table = routes.table
    return pd.DataFrame(
        {
            "route_id": _namespaced(table["route_id"], prefix),
            "feed_id": feed_id,
            "agency_id": _namespaced(routes.agency_id, prefix),
            "agency_name": _text(routes.agency_name),
            "route_short_name": _text(table["route_short_name"]),
            "route_long_name": _text(table["route_long_name"]),
            "route_type": routes.route_type.astype(np.int32),
            "mode": routes.mode,
        }
    )


def _trips_layer(
    trips: _Trips, frequency_based: np.ndarray, feed_id: str, prefix: str
) -> pd.DataFrame:
    table = trips.table
    return pd.DataFrame(
        {
            "trip_id": _namespaced(table["trip_id"], prefix),
            "feed_id": feed_id,
            "route_id": _namespaced(table["route_id"], prefix),
            "service_id": _namespaced(table["service_id"], prefix),
            "trip_headsign": _text(table["trip_headsign"]),
            "direction_id": trips.direction.astype(np.int8),
            "wheelchair_accessible": trips.accessible.astype(np.int8),
            "frequency_based": frequency_based,
        }
    )


def _stop_times_layer(st: pd.DataFrame, trips: _Trips, stops: _Stops, prefix: str) -> pd.DataFrame:
    trip_ids = (prefix + trips.table["trip_id"]).take(st["trip_pos"].to_numpy())
    stop_ids = (prefix + stops.table["stop_id"]).take(st["stop_pos"].to_numpy())
    return pd.DataFrame(
        {
            "trip_id": trip_ids.reset_index(drop=True),
            "stop_sequence": st["stop_sequence"].to_numpy().astype(np.int32),
            "stop_id": stop_ids.reset_index(drop=True),
            "arrival_s": st["arrival_s"].to_numpy().astype(np.int32),
            "departure_s": st["departure_s"].to_numpy().astype(np.int32),
            "interpolated": st["interpolated"].to_numpy(),
            "pickup_type": st["pickup_type"].to_numpy().astype(np.int8),
            "drop_off_type": st["drop_off_type"].to_numpy().astype(np.int8),
        }
    )


# --------------------------------------------------------------------------- stop times


def _build_stop_times(
    stop_times: pd.DataFrame,
    trip_index: pd.Index,
    stop_index: pd.Index,
    x: np.ndarray,
    y: np.ndarray,
    label: str,
) -> pd.DataFrame:
    """Sort, parse and complete the stop times of one feed (rows in trip order).

    Returns the columns ``trip_pos``, ``stop_pos`` (positions in trips.txt / stops.txt),
    ``stop_sequence``, ``arrival_s``, ``departure_s``, ``interpolated``, ``pickup_type``
    and ``drop_off_type``.
    """
    trip_pos = _positions(trip_index, stop_times["trip_id"])
    stop_pos = _positions(stop_index, stop_times["stop_id"])
    sequence = _ints(stop_times, "stop_sequence", label, default=None)
    negative = sequence < 0
    if negative.any():
        i = int(np.flatnonzero(negative)[0])
        raise GtfsError(
            tr("stop_sequence doit être positif ou nul", "stop_sequence must be non-negative"),
            file=label,
            row=line_of(i),
            field="stop_sequence",
        )
    arrival = _parse_times(stop_times["arrival_time"], label, "arrival_time", required=False)
    departure = _parse_times(stop_times["departure_time"], label, "departure_time", required=False)
    pickup = _ints(stop_times, "pickup_type", label, default=0, allowed=range(4))
    drop_off = _ints(stop_times, "drop_off_type", label, default=0, allowed=range(4))

    order = np.lexsort((sequence, trip_pos))
    trip_pos, stop_pos, sequence = trip_pos[order], stop_pos[order], sequence[order]
    arrival, departure = arrival[order], departure[order]
    pickup, drop_off = pickup[order], drop_off[order]
    row = order  # record positions in the file
    n = len(order)

    new_trip = np.ones(n, dtype=bool)
    new_trip[1:] = trip_pos[1:] != trip_pos[:-1]
    last_of_trip = np.ones(n, dtype=bool)
    last_of_trip[:-1] = new_trip[1:]
    duplicate = ~new_trip & np.r_[False, sequence[1:] == sequence[:-1]]
    if duplicate.any():
        i = int(np.flatnonzero(duplicate)[0])
        trip = trip_index[trip_pos[i]]
        raise GtfsError(
            tr(
                f"stop_sequence {sequence[i]} en double pour la course « {trip} »",
                f"duplicate stop_sequence {sequence[i]} in trip '{trip}'",
            ),
            file=label,
            row=line_of(int(row[i])),
            field="stop_sequence",
        )

    # Only one of arrival/departure given: copy it to the other.
    arrival = np.where(np.isnan(arrival), departure, arrival)
    departure = np.where(np.isnan(departure), arrival, departure)
    missing = np.isnan(departure)
    bad_end = missing & (new_trip | last_of_trip)
    if bad_end.any():
        i = int(np.flatnonzero(bad_end)[0])
        n_trips = len(np.unique(trip_pos[bad_end]))
        raise GtfsError(
            tr(
                f"le premier et le dernier arrêt d'une course doivent avoir un horaire : "
                f"course « {trip_index[trip_pos[i]]} » ({n_trips} course(s) concernée(s))",
                f"the first and last stops of a trip must have a time: trip "
                f"'{trip_index[trip_pos[i]]}' ({n_trips} trip(s) concerned)",
            ),
            file=label,
            row=line_of(int(row[i])),
            field="departure_time" if new_trip[i] else "arrival_time",
        )

    # Times must not go backwards along a trip (checked between the given times; the
    # interpolated ones then cannot go backwards either).
    last_timed = np.maximum.accumulate(np.where(missing, -1, np.arange(n)))
    previous_timed = np.r_[-1, last_timed[:-1]] if n else last_timed
    backwards = ~missing & ~new_trip & (arrival < departure[previous_timed])
    dep_before_arr = departure < arrival
    for bad, column, fr_text, en_text in (
        (
            dep_before_arr,
            "departure_time",
            "départ avant l'arrivée au même arrêt",
            "departure before arrival at the same stop",
        ),
        (
            backwards,
            "arrival_time",
            "arrivée avant le départ de l'arrêt précédent",
            "arrival before the departure from the previous stop",
        ),
    ):
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            trip, count = trip_index[trip_pos[i]], int(bad.sum())
            raise GtfsError(
                tr(
                    f"{fr_text} (course « {trip} », {count} ligne(s) concernée(s))",
                    f"{en_text} (trip '{trip}', {count} row(s) concerned)",
                ),
                file=label,
                row=line_of(int(row[i])),
                field=column,
            )
    if missing.any():
        arrival, departure = _interpolate(arrival, departure, missing, new_trip, stop_pos, x, y)
    return pd.DataFrame(
        {
            "trip_pos": trip_pos,
            "stop_pos": stop_pos,
            "stop_sequence": sequence,
            "arrival_s": arrival,
            "departure_s": departure,
            "interpolated": missing,
            "pickup_type": pickup,
            "drop_off_type": drop_off,
        }
    )


def _interpolate(
    arrival: np.ndarray,
    departure: np.ndarray,
    missing: np.ndarray,
    new_trip: np.ndarray,
    stop_pos: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Fill blank times by straight-line distance between the timed stops around them.

    Like conveyal gtfs-lib: the time at a blank stop is the departure of the previous
    timed stop plus the travel time to the next timed stop times the share of the
    distance covered, truncated to the second; arrival and departure are equal. When
    the timed stops coincide, the stops are spread evenly.
    """
    n = len(missing)
    idx = np.arange(n)
    previous = np.maximum.accumulate(np.where(missing, -1, idx))
    following = np.minimum.accumulate(np.where(missing, n, idx)[::-1])[::-1]
    xs, ys = x[stop_pos], y[stop_pos]
    segment_m = np.zeros(n)
    segment_m[1:] = np.hypot(xs[1:] - xs[:-1], ys[1:] - ys[:-1])
    segment_m[new_trip] = 0.0
    along_m = np.cumsum(segment_m)
    rows = np.flatnonzero(missing)
    p, q = previous[rows], following[rows]
    total_m = along_m[q] - along_m[p]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total_m > 0, (along_m[rows] - along_m[p]) / total_m, (rows - p) / (q - p))
    start_s = departure[p]
    duration_s = arrival[q] - start_s
    # The tiny epsilon keeps exact shares (e.g. 1/2 of 60 s) from flooring one second low.
    times_s = np.floor(start_s + duration_s * share + 1e-6)
    arrival = arrival.copy()
    departure = departure.copy()
    arrival[rows] = times_s
    departure[rows] = times_s
    return arrival, departure


# --------------------------------------------------------------------------- other tables


def _parse_calendars(
    calendar: pd.DataFrame | None,
    calendar_dates: pd.DataFrame | None,
    lbl: Callable[[str], str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse calendar.txt and calendar_dates.txt (original service ids)."""
    if calendar is not None:
        label = lbl("calendar.txt")
        _require_filled(calendar, "service_id", label)
        _require_unique(calendar["service_id"], label, "service_id")
        columns: dict[str, Any] = {"service_id": calendar["service_id"]}
        for day in _DAYS:
            columns[day] = _ints(calendar, day, label, default=None, allowed=(0, 1)).astype(bool)
        columns["start_date"] = _parse_dates(calendar["start_date"], label, "start_date")
        columns["end_date"] = _parse_dates(calendar["end_date"], label, "end_date")
        reversed_span = columns["end_date"] < columns["start_date"]
        if reversed_span.any():
            i = int(np.flatnonzero(reversed_span)[0])
            raise GtfsError(
                tr("end_date antérieure à start_date", "end_date before start_date"),
                file=label,
                row=line_of(i),
                field="end_date",
            )
        calendar_out = pd.DataFrame(columns)
    else:
        calendar_out = _empty("calendar")
    if calendar_dates is not None:
        label = lbl("calendar_dates.txt")
        _require_filled(calendar_dates, "service_id", label)
        dates = _parse_dates(calendar_dates["date"], label, "date")
        exception = _ints(calendar_dates, "exception_type", label, default=None, allowed=(1, 2))
        calendar_dates_out = pd.DataFrame(
            {
                "service_id": calendar_dates["service_id"],
                "date": dates,
                "exception_type": exception.astype(np.int8),
            }
        )
        # The same exception twice is harmless; an addition and a removal on one date
        # contradict each other.
        repeated = calendar_dates_out.duplicated().to_numpy()
        calendar_dates_out = calendar_dates_out[~repeated]
        conflict = calendar_dates_out.duplicated(["service_id", "date"]).to_numpy()
        if conflict.any():
            i = int(calendar_dates_out.index[np.flatnonzero(conflict)[0]])
            service = calendar_dates_out["service_id"].loc[i]
            raise GtfsError(
                tr(
                    f"le service « {service} » est à la fois ajouté et retiré à cette date",
                    f"service '{service}' is both added and removed on this date",
                ),
                file=label,
                row=line_of(i),
                field="date",
            )
        calendar_dates_out = calendar_dates_out.reset_index(drop=True)
    else:
        calendar_dates_out = _empty("calendar_dates")
    return calendar_out, calendar_dates_out


def _service_span(
    calendar: pd.DataFrame,
    calendar_dates: pd.DataFrame,
    services: pd.Index,
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """First and last dates on which one of ``services`` runs (None when never).

    Vectorised over dates: the (service, day) pairs of each calendar range are
    expanded, the days of week applied, then calendar_dates added and removed. Only the
    first and last ``7 * (removals + 1)`` days of a range are expanded: each removal
    cancels one day at most, so the first and last running days lie within them.
    """
    day_ns = np.int64(86_400 * 10**9)
    cal = calendar[calendar["service_id"].isin(services)]
    exceptions = calendar_dates[calendar_dates["service_id"].isin(services)]
    cal_codes = _positions(services, cal["service_id"])
    start_d = cal["start_date"].to_numpy().astype(np.int64) // day_ns
    end_d = cal["end_date"].to_numpy().astype(np.int64) // day_ns
    exception_codes = _positions(services, exceptions["service_id"])
    exception_d = exceptions["date"].to_numpy().astype(np.int64) // day_ns
    removal = exceptions["exception_type"].to_numpy() == 2
    if not len(start_d) and not len(exception_d):
        return None, None
    origin_d = int(np.concatenate([start_d, exception_d]).min())  # keys stay non-negative

    def keys(codes: np.ndarray, days: np.ndarray) -> np.ndarray:
        return (codes.astype(np.int64) << 32) | (days - origin_d)

    running: list[np.ndarray] = []
    if len(cal):
        removals = np.bincount(exception_codes[removal], minlength=len(services))
        window = np.minimum(end_d - start_d + 1, 7 * (removals[cal_codes] + 1))
        flags = cal[list(_DAYS)].to_numpy(dtype=bool)
        rows = np.repeat(np.arange(len(cal)), window)
        offsets = np.arange(int(window.sum())) - np.repeat(np.cumsum(window) - window, window)
        for first_d in (start_d, end_d - window + 1):  # head and tail of each range
            days = first_d[rows] + offsets
            weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
            active = flags[rows, weekday]
            running.append(keys(cal_codes[rows][active], days[active]))
    running.append(keys(exception_codes[~removal], exception_d[~removal]))
    active_keys = np.setdiff1d(
        np.concatenate(running), keys(exception_codes[removal], exception_d[removal])
    )
    if not len(active_keys):
        return None, None
    days = (active_keys & np.int64(0xFFFFFFFF)) + origin_d
    return (
        pd.Timestamp(np.datetime64(int(days.min()), "D")).as_unit("ns"),
        pd.Timestamp(np.datetime64(int(days.max()), "D")).as_unit("ns"),
    )


def _parse_frequencies(
    frequencies: pd.DataFrame | None,
    trip_index: pd.Index,
    keep_trip: np.ndarray,
    label: str,
    prefix: str,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Parse frequencies.txt; return the rows of kept trips and the frequency-based flags."""
    frequency_based = np.zeros(len(trip_index), dtype=bool)
    if frequencies is None or frequencies.empty:
        return _empty("frequencies"), frequency_based
    start = _parse_times(frequencies["start_time"], label, "start_time", required=True)
    end = _parse_times(frequencies["end_time"], label, "end_time", required=True)
    headway = _ints(frequencies, "headway_secs", label, default=None)
    exact = _ints(frequencies, "exact_times", label, default=0, allowed=(0, 1))
    for bad, column, fr_text, en_text in (
        (
            headway <= 0,
            "headway_secs",
            "l'intervalle doit être positif",
            "the headway must be positive",
        ),
        (end < start, "end_time", "end_time antérieure à start_time", "end_time before start_time"),
    ):
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise GtfsError(tr(fr_text, en_text), file=label, row=line_of(i), field=column)
    trip_pos = _positions(trip_index, frequencies["trip_id"])
    frequency_based[trip_pos] = True
    keep = keep_trip[trip_pos]
    out = pd.DataFrame(
        {
            "trip_id": _namespaced(frequencies["trip_id"], prefix),
            "start_s": start.astype(np.int32),
            "end_s": end.astype(np.int32),
            "headway_s": headway.astype(np.int32),
            "exact_times": exact.astype(np.int8),
        }
    )
    return out[keep].reset_index(drop=True), frequency_based


def _parse_transfers(
    transfers: pd.DataFrame | None,
    stop_index: pd.Index,
    keep_stop: np.ndarray,
    label: str,
    warnings: dict[str, list[str]],
    feed_id: str,
    prefix: str,
) -> pd.DataFrame:
    """Parse transfers.txt; keep the rows between kept stops."""
    if transfers is None or transfers.empty:
        return _empty("transfers")
    transfer_type = _ints(transfers, "transfer_type", label, default=0, allowed=range(6))
    with _as_gtfs_error():
        min_time = to_float(
            transfers["min_transfer_time"],
            name=label,
            field="min_transfer_time",
            required=False,
            minimum=0,
        )
    blank = ((transfers["from_stop_id"] == "") | (transfers["to_stop_id"] == "")).to_numpy()
    needs_stops = blank & (transfer_type < 4)
    if needs_stops.any():
        i = int(np.flatnonzero(needs_stops)[0])
        column = "from_stop_id" if transfers["from_stop_id"].iloc[i] == "" else "to_stop_id"
        raise GtfsError(tr("valeur vide", "empty value"), file=label, row=line_of(i), field=column)
    if blank.any():
        # In-seat transfers between trips (types 4 and 5) without stops: not representable.
        count = int(blank.sum())
        warnings.setdefault("transfers", []).append(
            tr(
                f"{feed_id} : {count} correspondance(s) entre courses sans arrêt ignorée(s)",
                f"{feed_id}: {count} trip-to-trip transfer(s) without stops ignored",
            )
        )
    keep = ~blank
    from_pos = _positions(stop_index, transfers["from_stop_id"])
    to_pos = _positions(stop_index, transfers["to_stop_id"])
    keep &= (from_pos >= 0) & (to_pos >= 0)
    keep &= keep_stop[from_pos] & keep_stop[to_pos]
    out = pd.DataFrame(
        {
            "from_stop_id": _namespaced(transfers["from_stop_id"], prefix),
            "to_stop_id": _namespaced(transfers["to_stop_id"], prefix),
            "transfer_type": transfer_type.astype(np.int8),
            "min_transfer_time_s": min_time.astype(np.float64),
        }
    )
    return out[keep].reset_index(drop=True)


# --------------------------------------------------------------------------- assembly


def _empty(layer: str) -> pd.DataFrame:
    """Return an empty table with the columns and dtypes of ``layer``."""
    return pd.DataFrame({c: pd.Series(dtype=_dtype(t)) for c, t in _SCHEMAS[layer].items()})


def _dtype(kind: str) -> Any:
    return _TEXT_DTYPE if kind == "str" else kind


def _conform(frame: pd.DataFrame, layer: str) -> pd.DataFrame:
    """Select and order the columns of ``layer`` and cast them to the layer's dtypes."""
    schema = _SCHEMAS[layer]
    out = frame[list(schema)].reset_index(drop=True)
    casts = {c: _dtype(t) for c, t in schema.items() if out[c].dtype != _dtype(t)}
    return out.astype(casts) if casts else out


def _concat(frames: list[pd.DataFrame], layer: str) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return _empty(layer)
    if len(frames) == 1:
        return _conform(frames[0], layer)
    return _conform(pd.concat(frames, ignore_index=True), layer)


def _assemble(results: list[_FeedResult], crs: CRS) -> list[LayerData]:
    layers: dict[str, LayerData] = {}
    summaries = [r.summary for r in results]
    feeds = pd.DataFrame(
        {
            "feed_id": [s["feed_id"] for s in summaries],
            "source": [s["source"] for s in summaries],
            "agency_name": [s["agency_name"] or None for s in summaries],
            "agency_timezone": [s["agency_timezone"] for s in summaries],
            "start_date": pd.to_datetime([s["start_date"] for s in summaries]).as_unit("ns"),
            "end_date": pd.to_datetime([s["end_date"] for s in summaries]).as_unit("ns"),
            "stops": [s["stops"] for s in summaries],
            "routes": [s["routes"] for s in summaries],
            "trips": [s["trips"] for s in summaries],
        }
    )
    feeds = _conform(feeds, "feeds") if len(feeds) else _empty("feeds")
    manifest = [
        {
            **s,
            "start_date": None if s["start_date"] is None else s["start_date"].date().isoformat(),
            "end_date": None if s["end_date"] is None else s["end_date"].date().isoformat(),
        }
        for s in summaries
    ]
    layers["feeds"] = LayerData("feeds", feeds, extra={"feeds": manifest})
    for name in _LAYERS[1:]:
        frame = _concat([r.frames[name] for r in results], name)
        if name == "stops":
            parts = [r.stop_geometry for r in results]
            geometry = np.concatenate(parts) if parts else np.empty(0, dtype=object)
            frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs=crs), crs=crs)
        if name == "stop_times" and len(frame):
            frame = frame.sort_values(["trip_id", "stop_sequence"], kind="stable").reset_index(
                drop=True
            )
        warnings = [w for r in results for w in r.warnings.get(name, [])]
        layers[name] = LayerData(name, frame, warnings=warnings)
    return [layers[name] for name in _LAYERS]
