"""The web service: the platform's pages and JSON API (see :mod:`parcours.api.app`)."""

from parcours.api.app import create_app

__all__ = ["create_app"]
