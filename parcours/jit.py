"""Where numba keeps parcours' compiled kernels: the user's cache folder, keyed by content.

Every numba kernel of parcours is compiled with ``cache=True``. By default numba writes
the machine code beside the sources (``__pycache__`` of the installed package) under a
folder named after the source's absolute path, so a second clone of the project, a
fresh virtualenv or a CI checkout in another folder compiles everything again (about
a minute of CPU on this project's kernels).

Importing :mod:`parcours` sets, unless the user already set them (without importing
numba, which costs 0.4 s of start-up to commands that do not compile anything):

- ``NUMBA_CACHE_DIR`` to ``<user cache dir>/parcours/numba`` (``~/.cache/parcours/numba``
  on Linux, from :mod:`platformdirs`);
- ``NUMBA_CACHE_LOCATOR_CLASSES`` to :class:`ContentCacheLocator`, then numba's own
  locators as fallbacks.

:class:`ContentCacheLocator` names a kernel's cache folder after the module's dotted
path and a hash of the source file's bytes (``parcours.accessibility.transit-3f2a…``)
instead of the absolute path: any checkout of the same source reuses the same compiled
code, and two versions of a file keep two folders (numba itself also checks a hash of
the source before loading a cached kernel). Environment variables reach the
subprocesses (Dask workers, match processes), so they share the cache too.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from numba.core.caching import UserProvidedCacheLocator

__all__ = ["ContentCacheLocator"]


class ContentCacheLocator(UserProvidedCacheLocator):
    """numba's ``NUMBA_CACHE_DIR`` locator, with a folder per module and source content."""

    @classmethod
    def get_suitable_cache_subpath(cls, py_file: str) -> str:
        """``<module's dotted name or file stem>-<sha256 of the file, 16 hex digits>``."""
        path = Path(py_file).resolve()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        return f"{_dotted_name(path)}-{digest}"


def _dotted_name(path: Path) -> str:
    """``parcours.accessibility.transit`` for ``…/parcours/accessibility/transit.py``."""
    parts = [path.stem]
    folder = path.parent
    while (folder / "__init__.py").exists() and folder != folder.parent:
        parts.append(folder.name)
        folder = folder.parent
    return ".".join(reversed(parts))
