"""The names and rules of the territory layer's sources, defined once.

:class:`SourceKind` is the kind of a source file, as ``parcours territory load`` takes it
(one option per kind) and as the workspace's manifest and the downloaders record it.
:data:`GTFS_LAYERS` are the layers a GTFS load replaces together; :data:`GTFS_TABLES`
are those of them that come from the feeds' own files (everything but ``feeds``, the
table describing the feeds), the tables a routing engine reads.

:data:`INSEE_SECRET_MIN_HOUSEHOLDS` is INSEE's statistical-secret threshold. It is defined
here, the lowest level that all its users may import, because the sources themselves obey
it (Filosofi imputes the cells of fewer than 11 households and publishes natural cells
holding at least 11; the demo generator reproduces that), and the import graph is one-way
(``geo`` <- ``territories`` <- ``accessibility`` <- ``diagnostic``): the territories layer
cannot import ``parcours.diagnostic.secrecy``, which owns the secrecy rules of every
committee output and re-exports this value as ``MIN_HOUSEHOLDS``.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "CASELOAD_LAYER",
    "GTFS_LAYERS",
    "GTFS_TABLES",
    "INSEE_SECRET_MIN_HOUSEHOLDS",
    "SECRET_MIN_BENEFICIARIES",
    "SOURCE_KINDS",
    "SourceKind",
]

#: INSEE's statistical-secret threshold: no figure published over fewer households.
INSEE_SECRET_MIN_HOUSEHOLDS = 11
#: No caseload figure over fewer beneficiaries (DESIGN.md): the committee never sees a person.
SECRET_MIN_BENEFICIARIES = 11
#: The table layer of the caseload's feasibility per commune (aggregated by the matching,
#: at least :data:`SECRET_MIN_BENEFICIARIES` people a row), read by the diagnostic.
CASELOAD_LAYER = "caseload_feasibility"


class SourceKind(StrEnum):
    """The kind of a source, in the order the loader reads them.

    A member is a ``str`` (``SourceKind.OSM == "osm"``), so manifests, CLI options and
    mappings keyed by plain strings keep working.
    """

    OSM = "osm"
    GTFS = "gtfs"
    POPULATION = "population"
    JOBS = "jobs"
    SERVICES = "services"
    CARPOOL = "carpool"
    QPV = "qpv"
    BIKESHARE = "bikeshare"
    ADDRESSES = "addresses"
    COMMUNES = "communes"
    EMPLOYMENT_ZONES = "employment_zones"
    MOBPRO = "mobpro"


#: The kinds of source ``parcours territory load`` accepts, in the order they are read.
SOURCE_KINDS: tuple[SourceKind, ...] = tuple(SourceKind)

#: The GTFS tables read from the feeds (the routing engines' input).
GTFS_TABLES: tuple[str, ...] = (
    "stops",
    "routes",
    "trips",
    "stop_times",
    "calendar",
    "calendar_dates",
    "frequencies",
    "transfers",
)

#: The layers a GTFS load replaces together: the feeds' description, then their tables.
GTFS_LAYERS: tuple[str, ...] = ("feeds", *GTFS_TABLES)
