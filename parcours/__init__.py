"""parcours: territorial diagnostic of inclusive mobility and advisor matching.

The top level exposes only the version and the base exception; each module
(:mod:`parcours.geo`, :mod:`parcours.territories`, :mod:`parcours.accessibility`, ...)
declares its own public names.
"""

from importlib.metadata import PackageNotFoundError, version

from parcours.errors import InputError, ParcoursError

try:
    __version__ = version("parcours")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["InputError", "ParcoursError", "__version__"]
