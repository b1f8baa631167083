"""The workspace: one folder per territory under ``PARCOURS_HOME``.

Layout of a territory folder::

    NAME/
      territory.json        name, perimeter definition, buffer, CRS, creation date
      perimeter.parquet     the perimeter polygon (GeoParquet, territory CRS)
      layers/LAYER.parquet  normalised public layers (GeoParquet or Parquet tables)
      manifest.json         per layer: row count, CRS, sources (path, sha256, size, dates),
                            loading date, software version, warnings
      cache/                derived data (routing graphs), keyed by input hashes

Writes are atomic: a :class:`Transaction` copies the territory (hard links, so it is
cheap) into a staging folder, writes there, and swaps the folders with renames only
when everything succeeded. A failed load leaves the previous territory as it was.

Writes are also serialised: a transaction (and the creation or removal of a territory)
holds an exclusive lock, ``fcntl.flock`` on ``$PARCOURS_HOME/.locks/NAME.lock``, from the
copy to the swap. Two loads of the same territory therefore run one after the other, the
second starting from what the first wrote; a process that cannot get the lock within
``lock_timeout_s`` (default 300 s, or ``PARCOURS_LOCK_TIMEOUT``) gives up with a
:class:`~parcours.errors.WorkspaceError`.

A :class:`Territory` keeps its manifest and perimeter in memory once read (a network
serving many requests from several threads asks for them often). Each access checks the
file's identity on disk (inode, size, modification time in nanoseconds): every write of the
workspace replaces the files (a transaction swaps the whole folder, and the manifest is
written as a new file, never through the hard link to the live one), so a load through any
workspace object, in this process or another, is seen on the next access.

Personal data (a platform's caseload) never goes in a territory folder.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import hashlib
import json
import os
import re
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
from pyproj import CRS

from parcours.errors import (
    InputError,
    LayerNotFoundError,
    TerritoryNotFoundError,
    WorkspaceError,
)
from parcours.geo.crs import WGS84
from parcours.i18n import tr

__all__ = [
    "Territory",
    "Transaction",
    "Workspace",
    "default_home",
    "file_digest",
]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MANIFEST = "manifest.json"
META = "territory.json"
PERIMETER = "perimeter.parquet"
LOCKS = ".locks"

#: How long a write waits for another process's lock on the same territory, in seconds.
DEFAULT_LOCK_TIMEOUT_S = 300.0

# Locks held by this process: (lock file, thread id). flock does not nest across file
# descriptions, so a second transaction on the same territory in the same thread would wait
# for itself; it is refused at once instead.
_HELD: set[tuple[str, int]] = set()
_HELD_GUARD = threading.Lock()


def default_home() -> Path:
    """Return ``PARCOURS_HOME`` (default ``./parcours-data``)."""
    return Path(os.environ.get("PARCOURS_HOME", "parcours-data"))


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _software_version() -> str:
    from parcours import __version__

    return __version__


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).replace(microsecond=0).isoformat()


def _hash_file(path: Path, h: Any) -> None:
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            h.update(chunk)


def _folder_files(folder: Path) -> list[tuple[str, Path]]:
    """The regular files under a folder, as (relative POSIX path, path), sorted by that path."""
    found: list[tuple[str, Path]] = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for file_name in files:
            path = Path(root) / file_name
            if path.is_file():
                found.append((path.relative_to(folder).as_posix(), path))
    return sorted(found)


def file_digest(path: Path) -> dict[str, Any]:
    """Describe a source for the manifest: path, size, sha256 and modification date.

    A folder (an unzipped GTFS feed, a GBFS folder) is described by its files: the sha256
    runs over each member file's relative POSIX path and content, in sorted path order
    (each path and content prefixed by its length, so no two folders collide by
    concatenation); ``size_bytes`` is the total of the files, ``modified`` the latest
    modification date, and ``files`` their number.
    """
    path = Path(path)
    h = hashlib.sha256()
    if path.is_dir():
        members = _folder_files(path)
        total = 0
        latest = path.stat().st_mtime
        for relative, member in members:
            stat = member.stat()
            encoded = relative.encode("utf-8")
            h.update(len(encoded).to_bytes(8, "big") + encoded)
            h.update(stat.st_size.to_bytes(8, "big"))
            _hash_file(member, h)
            total += stat.st_size
            latest = max(latest, stat.st_mtime)
        return {
            "path": str(path.resolve()),
            "size_bytes": total,
            "sha256": h.hexdigest(),
            "modified": _iso(latest),
            "files": len(members),
        }
    _hash_file(path, h)
    stat = path.stat()
    return {
        "path": str(path.resolve()),
        "size_bytes": stat.st_size,
        "sha256": h.hexdigest(),
        "modified": _iso(stat.st_mtime),
    }


def _file_key(path: Path) -> tuple[int, int, int, int] | None:
    """A file's identity on disk (device, inode, size, mtime in ns), or None when absent."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _write_new_file(path: Path, text: str) -> None:
    """Write a file as a new inode (never through a hard link), replacing it atomically."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text, "utf-8")
    tmp.replace(path)


@dataclass
class Territory:
    """A territory of the workspace, read-only.

    Attributes
    ----------
    name
        The territory's name (its folder name).
    path
        Its folder.
    crs
        The metric CRS of its layers.
    buffer_m
        The buffer around the perimeter kept by the readers, in metres.
    definition
        How the perimeter was defined (communes, file or bbox).
    """

    name: str
    path: Path
    crs: CRS
    buffer_m: float
    definition: dict[str, Any] = field(default_factory=dict)
    _cache: dict[str, tuple[Any, Any]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _cache_lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def _cached(self, file_name: str, read: Any) -> Any:
        """The content of one of the territory's files, read again only when it changed.

        The cache is keyed by the file's identity on disk (:func:`_file_key`); ``read``
        gets the path (or None when the file is absent) and returns the content.
        """
        path = self.path / file_name
        key = _file_key(path)
        with self._cache_lock:
            hit = self._cache.get(file_name)
            if hit is not None and hit[0] == key:
                return hit[1]
            value = read(path if key is not None else None)
            # The key read before the content: if a write came in between, the next
            # access sees a different key and reads again.
            self._cache[file_name] = (key, value)
            return value

    @property
    def manifest(self) -> dict[str, Any]:
        """The manifest (layers, sources, feeds): a copy, the caller may change it."""

        def read(path: Path | None) -> dict[str, Any]:
            if path is None:
                return {"layers": {}}
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return data

        data: dict[str, Any] = copy.deepcopy(self._cached(MANIFEST, read))
        return data

    @property
    def perimeter(self) -> gpd.GeoDataFrame:
        """The perimeter polygon(s), in the territory CRS: a copy, the caller may change it."""

        def read(path: Path | None) -> gpd.GeoDataFrame:
            return gpd.read_parquet(path if path is not None else self.path / PERIMETER)

        frame: gpd.GeoDataFrame = self._cached(PERIMETER, read).copy()
        return frame

    def clip_area(self) -> Any:
        """The perimeter plus the buffer, as one shapely geometry in the territory CRS."""
        return self.perimeter.union_all().buffer(self.buffer_m)

    def layer_names(self) -> list[str]:
        """The names of the loaded layers."""
        return sorted(self.manifest.get("layers", {}))

    def has_layer(self, name: str) -> bool:
        """Whether a layer is loaded."""
        return (self.path / "layers" / f"{name}.parquet").exists()

    def layer(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """Read a layer: a GeoDataFrame for spatial layers, a DataFrame for tables.

        Raises
        ------
        LayerNotFoundError
            When the layer is not loaded (the message says how to load it); an
            :class:`~parcours.errors.InputError`, so the CLI exits with code 2.
        """
        path = self.path / "layers" / f"{name}.parquet"
        if not path.exists():
            raise LayerNotFoundError(
                tr(
                    f"le territoire « {self.name} » n'a pas de couche « {name} » : chargez-la "
                    f"avec « parcours territory load {self.name} »",
                    f"territory '{self.name}' has no '{name}' layer: load it with "
                    f"'parcours territory load {self.name}'",
                )
            )
        metadata = pq.read_schema(path).metadata or {}
        if b"geo" in metadata:
            return gpd.read_parquet(path, columns=columns)
        return pd.read_parquet(path, columns=columns)

    def cache_dir(self) -> Path:
        """A folder for derived data (routing graphs), created on demand."""
        path = self.path / "cache"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def info(self) -> dict[str, Any]:
        """Summary for ``parcours territory info``: name, extent, layers, feeds, sources."""
        manifest = self.manifest
        layers = {
            name: meta.get("rows") for name, meta in sorted(manifest.get("layers", {}).items())
        }
        extent = [round(v, 6) for v in self.perimeter.to_crs(WGS84).total_bounds.tolist()]
        return {
            "name": self.name,
            "crs": self.crs.to_string(),
            "perimeter": self.definition,
            "buffer_m": self.buffer_m,
            "extent": extent,
            "layers": layers,
            "feeds": manifest.get("feeds", []),
            "updated": manifest.get("updated"),
            "software_version": manifest.get("software", {}).get("version"),
        }


class Workspace:
    """The folder holding the territories (``PARCOURS_HOME``).

    Parameters
    ----------
    home
        The folder; defaults to :func:`default_home`.
    lock_timeout_s
        How long a write waits for another process's lock on the same territory, in
        seconds; defaults to ``PARCOURS_LOCK_TIMEOUT`` or :data:`DEFAULT_LOCK_TIMEOUT_S`.
    """

    def __init__(
        self, home: str | os.PathLike[str] | None = None, *, lock_timeout_s: float | None = None
    ) -> None:
        self.home = Path(home) if home is not None else default_home()
        if lock_timeout_s is None:
            lock_timeout_s = _env_timeout()
        self.lock_timeout_s = float(lock_timeout_s)

    def _check_home(self) -> None:
        """Refuse a ``PARCOURS_HOME`` that exists but is not a folder."""
        if self.home.exists() and not self.home.is_dir():
            raise WorkspaceError(
                tr(
                    f"PARCOURS_HOME ({self.home}) n'est pas un dossier : donnez un dossier "
                    "(il est créé s'il n'existe pas)",
                    f"PARCOURS_HOME ({self.home}) is not a folder: give a folder "
                    "(it is created if missing)",
                )
            )

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """Hold the exclusive write lock of a territory (``.locks/NAME.lock``).

        Waits up to ``lock_timeout_s`` for another process to release it.

        Raises
        ------
        WorkspaceError
            When the lock cannot be created, is still held after the timeout, or is
            already held by this thread (a transaction inside another one).
        """
        self.path_of(name)  # validates the name: it is part of the lock file's name
        self._check_home()
        lock_path = self.home / LOCKS / f"{name}.lock"
        try:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise WorkspaceError(
                tr(
                    f"verrou impossible à créer ({lock_path}) : {exc.strerror or exc}",
                    f"cannot create the lock {lock_path}: {exc.strerror or exc}",
                )
            ) from exc
        key = (str(lock_path.resolve()), threading.get_ident())
        try:
            with _HELD_GUARD:
                if key in _HELD:
                    raise WorkspaceError(
                        tr(
                            f"le territoire « {name} » est déjà en cours de modification "
                            "(transaction imbriquée)",
                            f"territory '{name}' is already being modified (nested transaction)",
                        )
                    )
            _acquire(fd, lock_path, name, self.lock_timeout_s)
            with _HELD_GUARD:
                _HELD.add(key)
            try:
                yield
            finally:
                with _HELD_GUARD:
                    _HELD.discard(key)
                _release(fd)
        finally:
            os.close(fd)

    def path_of(self, name: str) -> Path:
        """The folder of a territory (checking the name is a plain folder name)."""
        if not _NAME_RE.match(name):
            raise InputError(
                tr(
                    "nom de territoire invalide : lettres, chiffres, « - », « _ » ou « . » "
                    "(64 caractères au plus)",
                    "invalid territory name: letters, digits, '-', '_' or '.' (64 at most)",
                ),
                field="NAME",
            )
        return self.home / name

    def names(self) -> list[str]:
        """The territories present."""
        self._check_home()
        if not self.home.exists():
            return []
        return sorted(p.name for p in self.home.iterdir() if (p / META).exists())

    def exists(self, name: str) -> bool:
        """Whether a territory exists."""
        self._check_home()
        return (self.path_of(name) / META).exists()

    def open(self, name: str) -> Territory:
        """Open an existing territory.

        Raises
        ------
        TerritoryNotFoundError
            When it does not exist (the message says how to create it); an
            :class:`~parcours.errors.InputError`, so the CLI exits with code 2.
        WorkspaceError
            When ``PARCOURS_HOME`` is not a folder.
        """
        path = self.path_of(name)
        self._check_home()
        meta_path = path / META
        if not meta_path.exists():
            raise TerritoryNotFoundError(
                tr(
                    f"territoire « {name} » introuvable dans {self.home} : créez-le avec "
                    f"« parcours territory create {name} »",
                    f"territory '{name}' not found in {self.home}: create it with "
                    f"'parcours territory create {name}'",
                )
            )
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        return Territory(
            name=name,
            path=path,
            crs=CRS.from_user_input(meta["crs"]),
            buffer_m=float(meta["buffer_m"]),
            definition=meta.get("perimeter", {}),
        )

    def create(
        self,
        name: str,
        perimeter: gpd.GeoDataFrame,
        *,
        crs: CRS,
        buffer_m: float,
        definition: Mapping[str, Any],
        replace: bool = False,
    ) -> Territory:
        """Create a territory from its perimeter (atomically).

        Parameters
        ----------
        name
            The territory's name.
        perimeter
            The perimeter polygon(s), any CRS.
        crs
            The metric CRS of its layers.
        buffer_m
            Buffer kept around the perimeter by the readers, in metres.
        definition
            How the perimeter was defined, recorded in ``territory.json``.
        replace
            Replace an existing territory of that name (its layers are dropped).
        """
        path = self.path_of(name)
        with self.lock(name):
            if (path / META).exists() and not replace:
                raise InputError(
                    tr(
                        f"le territoire « {name} » existe déjà (option --replace pour le "
                        "remplacer)",
                        f"territory '{name}' already exists (use --replace to replace it)",
                    ),
                    field="NAME",
                )
            self._write_new(
                name, path, perimeter, crs=crs, buffer_m=buffer_m, definition=definition
            )
        return self.open(name)

    def remove(self, name: str) -> None:
        """Delete a territory's folder (under its lock); nothing happens if it does not exist."""
        path = self.path_of(name)
        with self.lock(name):
            if not path.exists():
                return
            trash = self.home / ".staging" / f"{name}.removed.{uuid.uuid4().hex[:8]}"
            try:
                trash.parent.mkdir(parents=True, exist_ok=True)
                path.rename(trash)
            except OSError as exc:
                raise WorkspaceError(
                    tr(
                        f"suppression impossible de {path} : {exc.strerror or exc}",
                        f"cannot remove {path}: {exc.strerror or exc}",
                    )
                ) from exc
            shutil.rmtree(trash, ignore_errors=True)

    def _write_new(
        self,
        name: str,
        path: Path,
        perimeter: gpd.GeoDataFrame,
        *,
        crs: CRS,
        buffer_m: float,
        definition: Mapping[str, Any],
    ) -> None:
        staging = self._staging_dir(name)
        try:
            try:
                staging.mkdir(parents=True)
            except OSError as exc:
                raise WorkspaceError(
                    tr(
                        f"écriture impossible dans {staging.parent} : {exc.strerror or exc}",
                        f"cannot write in {staging.parent}: {exc.strerror or exc}",
                    )
                ) from exc
            outline = perimeter.to_crs(crs)[["geometry"]].reset_index(drop=True)
            outline.to_parquet(staging / PERIMETER, index=False)
            meta = {
                "name": name,
                "crs": f"EPSG:{crs.to_epsg()}" if crs.to_epsg() else crs.to_wkt(),
                "buffer_m": buffer_m,
                "perimeter": dict(definition),
                "created": _now(),
                "software_version": _software_version(),
            }
            (staging / META).write_text(json.dumps(meta, indent=2, ensure_ascii=False), "utf-8")
            manifest = {
                "territory": name,
                "crs": meta["crs"],
                "updated": meta["created"],
                "software": {"name": "parcours", "version": _software_version()},
                "layers": {},
                "feeds": [],
            }
            (staging / MANIFEST).write_text(
                json.dumps(manifest, indent=2, ensure_ascii=False), "utf-8"
            )
            self._swap(staging, path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    @contextlib.contextmanager
    def transaction(self, name: str) -> Iterator[Transaction]:
        """Modify a territory atomically.

        Usage::

            with workspace.transaction("demo") as tx:
                tx.write_layer("stops", stops, sources=[...])

        Everything written inside the block becomes visible at once when the block
        exits normally; on an exception nothing changes. The territory's lock is held
        for the whole block (see :meth:`lock`), so concurrent transactions on the same
        territory run one after the other and none loses the other's layers.
        """
        self.open(name)  # fails fast (no lock file) when the territory does not exist
        with self.lock(name):
            territory = self.open(name)
            staging = self._staging_dir(name)
            try:
                # The routing cache is keyed by input hashes, so it may be kept as it is.
                shutil.copytree(territory.path, staging, copy_function=_link_or_copy)
                tx = Transaction(territory=territory, staging=staging)
                yield tx
                tx._commit()
                self._swap(staging, territory.path)
            finally:
                shutil.rmtree(staging, ignore_errors=True)

    def _staging_dir(self, name: str) -> Path:
        return self.home / ".staging" / f"{name}.{uuid.uuid4().hex[:8]}"

    def _swap(self, staging: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and _exchange(staging, target):
            # Readers saw the old folder, then the new one, never no folder at all;
            # the old one is now at ``staging`` and the caller removes it.
            return
        trash = self.home / ".staging" / f"{target.name}.old.{uuid.uuid4().hex[:8]}"
        try:
            if target.exists():
                target.rename(trash)
            staging.rename(target)
        except OSError as exc:
            if trash.exists() and not target.exists():
                trash.rename(target)
            raise WorkspaceError(
                tr(f"écriture impossible dans {target} : {exc}", f"cannot write {target}: {exc}")
            ) from exc
        shutil.rmtree(trash, ignore_errors=True)


_RENAME_EXCHANGE: Final = 2  # linux/fs.h
_AT_FDCWD: Final = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False when the system or the file system cannot (not Linux, a glibc
    older than 2.28, a file system without the flag): the caller then falls back
    to two renames, between which the target is briefly absent.
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    renameat2.argtypes += [ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    done = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise WorkspaceError(
        tr(
            f"écriture impossible dans {b} : {os.strerror(code)}",
            f"cannot write {b}: {os.strerror(code)}",
        )
    )


def _env_timeout() -> float:
    raw = os.environ.get("PARCOURS_LOCK_TIMEOUT", "").strip()
    if not raw:
        return DEFAULT_LOCK_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        raise InputError(
            tr("nombre de secondes attendu", "a number of seconds expected"),
            field="PARCOURS_LOCK_TIMEOUT",
        ) from None
    return max(value, 0.0)


def _acquire(fd: int, path: Path, name: str, timeout_s: float) -> None:
    """Take an exclusive flock on ``fd``, polling until ``timeout_s`` has passed."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: writes are not serialised
        return
    deadline = time.monotonic() + timeout_s
    delay = 0.02
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                raise WorkspaceError(
                    tr(
                        f"verrou impossible ({path}) : {exc.strerror or exc}",
                        f"cannot lock {path}: {exc.strerror or exc}",
                    )
                ) from exc
        if time.monotonic() >= deadline:
            raise WorkspaceError(
                tr(
                    f"le territoire « {name} » est en cours de modification par un autre "
                    f"processus depuis plus de {timeout_s:g} s (verrou {path}) : réessayez plus "
                    "tard",
                    f"territory '{name}' has been locked by another process for more than "
                    f"{timeout_s:g} s (lock {path}): try again later",
                )
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def _release(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover
        return
    fcntl.flock(fd, fcntl.LOCK_UN)


def _link_or_copy(src: str, dst: str) -> str:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst


@dataclass
class Transaction:
    """Pending changes to a territory (see :meth:`Workspace.transaction`)."""

    territory: Territory
    staging: Path
    touched: set[str] = field(default_factory=set)
    _layers: dict[str, dict[str, Any]] = field(default_factory=dict)
    _feeds: list[dict[str, Any]] | None = None

    def write_layer(
        self,
        name: str,
        frame: pd.DataFrame,
        *,
        sources: list[dict[str, Any]],
        reader: str,
        warnings: list[str] | None = None,
        summary: Mapping[str, Any] | None = None,
    ) -> None:
        """Write (or replace) one layer.

        Parameters
        ----------
        name
            The layer name (``streets``, ``stops``, ``population``, ...).
        frame
            A GeoDataFrame in the territory CRS, or a plain table.
        sources
            Descriptions of the source files (:func:`file_digest`).
        reader
            Which reader produced it (recorded in the manifest).
        warnings
            Non-fatal problems found while reading, recorded in the manifest.
        summary
            Facts the reader computed (totals, counts), JSON-serialisable, recorded in
            the manifest under ``summary``.
        """
        layers = self.staging / "layers"
        layers.mkdir(exist_ok=True)
        target = layers / f"{name}.parquet"
        target.unlink(missing_ok=True)  # a hard link to the live file: never write through it
        entry: dict[str, Any] = {
            "rows": len(frame),
            "reader": reader,
            "sources": sources,
            "loaded": _now(),
            "software_version": _software_version(),
            "warnings": list(warnings or []),
        }
        if summary:
            entry["summary"] = dict(summary)
        if isinstance(frame, gpd.GeoDataFrame):
            if frame.crs is None or not CRS.from_user_input(frame.crs).equals(self.territory.crs):
                raise WorkspaceError(
                    f"layer {name} is not in the territory CRS {self.territory.crs.to_string()}"
                )
            frame.to_parquet(target, index=False, write_covering_bbox=True)
            entry["crs"] = self.territory.crs.to_string()
            types = sorted(set(frame.geom_type.dropna()))
            entry["geometry_types"] = types
        else:
            frame.to_parquet(target, index=False)
        self._layers[name] = entry
        self.touched.add(name)

    def set_feeds(self, feeds: list[dict[str, Any]]) -> None:
        """Record the GTFS feeds of the territory (id, agency, service dates, source)."""
        self._feeds = feeds

    def remove_layer(self, name: str) -> None:
        """Remove a layer (e.g. an optional GTFS table absent from the new feeds)."""
        (self.staging / "layers" / f"{name}.parquet").unlink(missing_ok=True)
        self._layers[name] = {}
        self.touched.add(name)

    def _commit(self) -> None:
        path = self.staging / MANIFEST
        manifest = json.loads(path.read_text(encoding="utf-8"))
        for name, entry in self._layers.items():
            if entry:
                manifest["layers"][name] = entry
            else:
                manifest["layers"].pop(name, None)
        if self._feeds is not None:
            manifest["feeds"] = self._feeds
        manifest["updated"] = _now()
        manifest["software"] = {"name": "parcours", "version": _software_version()}
        # The staging manifest is a hard link to the live one: write a new file.
        _write_new_file(path, json.dumps(manifest, indent=2, ensure_ascii=False))
