"""The ``parcours`` command line (see ``parcours --help``)."""

from parcours.cli.app import app, main

__all__ = ["app", "main"]
