"""Source readers: each validates one kind of source and returns normalised layers.

Every reader takes the file(s) and a :class:`ReadContext` (the territory's CRS and the
perimeter plus buffer) and returns :class:`LayerData` items in the schema of
``docs/layers.md``. A bad input raises an :class:`~parcours.errors.InputError` that names
the file, the line and the field.
"""

from parcours.territories.readers._base import LayerData, ReadContext
from parcours.territories.readers.addresses import read_addresses
from parcours.territories.readers.bikeshare import read_bikeshare
from parcours.territories.readers.carpool import read_carpool
from parcours.territories.readers.communes import read_communes, read_communes_file
from parcours.territories.readers.employment_zones import read_employment_zones
from parcours.territories.readers.gtfs import read_gtfs
from parcours.territories.readers.jobs import read_jobs
from parcours.territories.readers.mobpro import read_mobpro
from parcours.territories.readers.osm import read_osm
from parcours.territories.readers.population import read_population
from parcours.territories.readers.qpv import read_qpv
from parcours.territories.readers.services import read_services

__all__ = [
    "LayerData",
    "ReadContext",
    "read_addresses",
    "read_bikeshare",
    "read_carpool",
    "read_communes",
    "read_communes_file",
    "read_employment_zones",
    "read_gtfs",
    "read_jobs",
    "read_mobpro",
    "read_osm",
    "read_population",
    "read_qpv",
    "read_services",
]
