"""Plain texts in the language in force, fast enough for a caseload's hundred thousand reasons.

:func:`~parcours.i18n.tr` makes a bilingual :class:`~parcours.i18n.Message` and looks the
language up each time it is rendered; the answers of a match are plain JSON strings, so
inside :func:`fixed_language` the language is read once and :func:`t` picks the text.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from parcours.i18n import get_language

__all__ = ["fixed_language", "t"]

_LANG: ContextVar[str | None] = ContextVar("parcours_matching_language", default=None)


def t(fr: str, en: str) -> str:
    """``fr`` or ``en``, by the language in force (read once inside :func:`fixed_language`)."""
    lang = _LANG.get() or get_language()
    return en if lang == "en" else fr


@contextlib.contextmanager
def fixed_language() -> Iterator[None]:
    """Read the language once for the texts made in the block."""
    token = _LANG.set(get_language())
    try:
        yield
    finally:
        _LANG.reset(token)
