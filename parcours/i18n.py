"""User-facing language (French by default, English on demand).

Every text a user reads (CLI messages, errors, reports) is written in both languages
right where it is produced, with :func:`tr`::

    raise InputError(tr("colonne manquante", "missing column"), file=path, field="id")

The language comes from :func:`set_language` (the CLI's ``--lang``) or the
``PARCOURS_LANG`` environment variable; French is the default.
"""

from __future__ import annotations

import os
from typing import Literal

__all__ = ["Language", "get_language", "set_language", "tr"]

Language = Literal["fr", "en"]
_SUPPORTED: tuple[Language, ...] = ("fr", "en")
_current: Language | None = None


def set_language(language: str | None) -> None:
    """Set the language of user-facing texts for this process.

    Parameters
    ----------
    language
        ``"fr"`` or ``"en"``; ``None`` goes back to ``PARCOURS_LANG`` (default French).
    """
    global _current
    if language is None:
        _current = None
        return
    lang = language.lower()[:2]
    if lang not in _SUPPORTED:
        raise ValueError(f"unsupported language {language!r}: use 'fr' or 'en'")
    _current = "en" if lang == "en" else "fr"


def get_language() -> Language:
    """Return the language in force: :func:`set_language`, else ``PARCOURS_LANG``, else French."""
    if _current is not None:
        return _current
    env = os.environ.get("PARCOURS_LANG", "fr").lower()[:2]
    return "en" if env == "en" else "fr"


def tr(fr: str, en: str) -> str:
    """Return the French or English text, according to the language in force."""
    return en if get_language() == "en" else fr
