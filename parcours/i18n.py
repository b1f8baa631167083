"""User-facing language (French by default, English on demand), chosen per call.

Every text a user reads (CLI messages, errors, reports) is written in both languages
right where it is produced, with :func:`tr`::

    raise InputError(tr("colonne manquante", "missing column"), file=path, field="id")

:func:`tr` returns a :class:`Message` that keeps both texts. It is a ``str`` (so every
string operation works on it, in the language in force when it was made), but ``str()``,
``format()`` and f-strings render it in the language in force *at that moment*, and ``+``
between messages keeps both languages. An error raised in French can thus be shown in
English by the edge that catches it (see :meth:`parcours.errors.ParcoursError.render`).

The language in force is a :class:`contextvars.ContextVar`, so two HTTP requests served
concurrently in two languages do not race: wrap each call in ``with language("en"):``.
:func:`set_language` (the CLI's ``--lang``) sets it for the current context and also
becomes the default of the threads that set none; without either, ``PARCOURS_LANG``
decides, French by default.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any, Literal, SupportsIndex

__all__ = [
    "Language",
    "Message",
    "get_language",
    "language",
    "render",
    "set_language",
    "tr",
]

Language = Literal["fr", "en"]
_SUPPORTED: tuple[Language, ...] = ("fr", "en")
_current: ContextVar[Language | None] = ContextVar("parcours_language", default=None)
_process_default: Language | None = None


def _parse(language: str) -> Language:
    lang = language.lower()[:2]
    if lang not in _SUPPORTED:
        raise ValueError(f"unsupported language {language!r}: use 'fr' or 'en'")
    return "en" if lang == "en" else "fr"


def set_language(language: str | None) -> None:
    """Set the language of user-facing texts for this context (and threads without one).

    Parameters
    ----------
    language
        ``"fr"`` or ``"en"``; ``None`` goes back to ``PARCOURS_LANG`` (default French).
    """
    global _process_default
    value = None if language is None else _parse(language)
    _current.set(value)
    _process_default = value


@contextlib.contextmanager
def language(lang: str) -> Iterator[Language]:
    """Render user-facing texts in ``lang`` inside the ``with`` block (this context only).

    This is what a server does per request: other threads and tasks are not affected.
    """
    token = _current.set(_parse(lang))
    try:
        yield _parse(lang)
    finally:
        _current.reset(token)


def get_language() -> Language:
    """Return the language in force.

    This context's (:func:`language`), else :func:`set_language`'s, else ``PARCOURS_LANG``,
    else French.
    """
    value = _current.get()
    if value is not None:
        return value
    if _process_default is not None:
        return _process_default
    env = os.environ.get("PARCOURS_LANG", "fr").lower()[:2]
    return "en" if env == "en" else "fr"


class Message(str):
    """A text in French and English, rendered in the language in force when shown.

    As a ``str`` its value is the text of the language in force when it was made, so
    ``join``, ``replace``, slicing and comparisons keep working; ``str()``, ``format()``
    and f-strings render it in the language in force at that moment, and :meth:`render`
    in a given one.
    """

    fr: str
    en: str

    def __new__(cls, fr: str, en: str) -> Message:
        self = super().__new__(cls, en if get_language() == "en" else fr)
        self.fr = fr.fr if isinstance(fr, Message) else fr
        self.en = en.en if isinstance(en, Message) else en
        return self

    def render(self, lang: str | None = None) -> str:
        """The text in ``lang`` (default: the language in force)."""
        return self.en if (_parse(lang) if lang else get_language()) == "en" else self.fr

    def __str__(self) -> str:
        return self.render()

    def __format__(self, format_spec: str) -> str:
        return format(self.render(), format_spec)

    def __repr__(self) -> str:
        return f"tr({self.fr!r}, {self.en!r})"

    def __add__(self, other: str) -> Message:
        return Message(self.fr + _text(other, "fr"), self.en + _text(other, "en"))

    def __radd__(self, other: str) -> Message:
        return Message(_text(other, "fr") + self.fr, _text(other, "en") + self.en)

    def __mul__(self, n: SupportsIndex) -> Message:
        return Message(self.fr * n, self.en * n)

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]
        return (self.fr, self.en)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Message, (self.fr, self.en))


def _text(value: object, lang: Language) -> str:
    return value.render(lang) if isinstance(value, Message) else str(value)


def render(value: object, lang: str | None = None) -> str:
    """Render a :class:`Message` (or any value, with ``str``) in ``lang``."""
    return value.render(lang) if isinstance(value, Message) else str(value)


def tr(fr: str, en: str) -> str:
    """Return the text in both languages; it shows in the language in force when rendered.

    The value is a :class:`Message`, typed as the ``str`` it is so that lists and
    dicts of texts keep their plain types; :func:`render` gives it in a chosen language.
    """
    return Message(fr, en)
