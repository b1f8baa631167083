"""Territories: perimeters, source readers and validators, downloaders, the workspace."""

from parcours.territories.load import GTFS_LAYERS, SOURCE_KINDS, LoadReport, load_sources
from parcours.territories.manage import create_and_load, create_territory, export_geopackage
from parcours.territories.workspace import Territory, Workspace, default_home

__all__ = [
    "GTFS_LAYERS",
    "SOURCE_KINDS",
    "LoadReport",
    "Territory",
    "Workspace",
    "create_and_load",
    "create_territory",
    "default_home",
    "export_geopackage",
    "load_sources",
]
