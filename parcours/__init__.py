"""parcours: territorial diagnostic of inclusive mobility and advisor matching.

The top level exposes only the version and the base exception; each module
(:mod:`parcours.geo`, :mod:`parcours.territories`, :mod:`parcours.accessibility`, ...)
declares its own public names.
"""

import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from parcours.errors import InputError, ParcoursError

try:
    __version__ = version("parcours")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["InputError", "ParcoursError", "__version__"]


def _use_user_numba_cache() -> None:
    """Compiled kernels in the user's cache folder, keyed by source content (:mod:`parcours.jit`).

    Settings the user made are kept. numba is not imported here (0.4 s of start-up);
    if it already is, its configuration is read again.
    """
    import platformdirs

    folder = Path(platformdirs.user_cache_dir("parcours")) / "numba"
    os.environ.setdefault("NUMBA_CACHE_DIR", str(folder))
    os.environ.setdefault(
        "NUMBA_CACHE_LOCATOR_CLASSES",
        "parcours.jit.ContentCacheLocator,UserProvidedCacheLocator,InTreeCacheLocator",
    )
    if "numba" in sys.modules:
        from numba.core.config import reload_config

        reload_config()


_use_user_numba_cache()
