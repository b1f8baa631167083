"""Territories: perimeters, source readers and validators, downloaders, the workspace."""

from parcours.territories.load import LoadReport, load_sources
from parcours.territories.manage import create_and_load, create_territory, export_geopackage
from parcours.territories.sources import GTFS_LAYERS, GTFS_TABLES, SOURCE_KINDS, SourceKind
from parcours.territories.workspace import Territory, Workspace, default_home

__all__ = [
    "GTFS_LAYERS",
    "GTFS_TABLES",
    "SOURCE_KINDS",
    "LoadReport",
    "SourceKind",
    "Territory",
    "Workspace",
    "create_and_load",
    "create_territory",
    "default_home",
    "export_geopackage",
    "load_sources",
]
