"""parcours.diagnostic (see DESIGN.md): indicators, gaps, equity, statistical secret."""

from parcours.diagnostic.secrecy import MIN_HOUSEHOLDS, MIN_PEOPLE, is_secret

__all__ = ["MIN_HOUSEHOLDS", "MIN_PEOPLE", "is_secret"]
