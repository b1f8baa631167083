"""Weekly schedules as advisors write them: ``lun-ven 05:30-13:00; sam 06:00-12:00``.

A schedule is a list of :class:`Shift`: days of the week and a start and an end time. The
text form, shared by the caseload CSV (``horaires``), the profile file and the solution
catalogue (opening hours), is one or more ``DAYS HH:MM-HH:MM`` separated by ``;``:

- days: ``lun mar mer jeu ven sam dim`` (also ``lundi`` ... ``dimanche``, and English
  ``mon`` ... ``sun``), ranges ``lun-ven``, lists ``lun,mer,ven``, or ``tous`` for every day;
- times: ``05:30``, ``5h30``, ``5h``; an end before the start ends the next day
  (``lun-ven 21:00-05:00``: a night shift); ``24:00`` is midnight at the end of the day.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

from parcours.errors import InputError
from parcours.i18n import tr

__all__ = ["DAY_NAMES", "DAY_NAMES_EN", "Shift", "format_days", "parse_schedule"]

#: French names of the days, Monday first (index = ``date.weekday()``).
DAY_NAMES: tuple[str, ...] = (
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "samedi",
    "dimanche",
)
DAY_NAMES_EN: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
_ALIASES: dict[str, int] = {}
for _i, (_fr, _en) in enumerate(zip(DAY_NAMES, DAY_NAMES_EN, strict=True)):
    _ALIASES[_fr] = _ALIASES[_fr[:3]] = _ALIASES[_en] = _ALIASES[_en[:3]] = _i

_TIME = re.compile(r"^(\d{1,2})(?:[:h](\d{2})?)?$")
_FORMAT_HELP = (
    "attendu par exemple « lun-ven 05:30-13:00; sam 06:00-12:00 »",
    "expected e.g. 'lun-ven 05:30-13:00; sam 06:00-12:00'",
)


@dataclass(frozen=True, order=True)
class Shift:
    """Days of the week and the hours of one shift (or opening period).

    Attributes
    ----------
    days
        Weekdays, 0 = Monday ... 6 = Sunday, sorted.
    start, end
        Minutes after midnight of the day; ``end > start`` always (a shift ending the next
        morning has ``end > 1440``).
    """

    days: tuple[int, ...]
    start: int
    end: int

    @property
    def start_time(self) -> dt.time:
        """The start as a clock time."""
        return dt.time(self.start // 60 % 24, self.start % 60)

    @property
    def end_time(self) -> dt.time:
        """The end as a clock time (the next day when the shift crosses midnight)."""
        return dt.time(self.end // 60 % 24, self.end % 60)

    def covers(self, day: int, minute: float) -> bool:
        """Whether minute ``minute`` of weekday ``day`` falls in this period.

        ``minute`` may pass 1440 (05:00 the next morning is minute 1740 of the evening's
        day); the week wraps (Sunday night runs into Monday).
        """
        week = 7 * 1440
        t = (day * 1440 + minute) % week
        for d in self.days:
            first = d * 1440 + self.start
            if any(first <= x <= first + (self.end - self.start) for x in (t, t + week)):
                return True
        return False

    def text(self) -> str:
        """The shift in the schedule syntax (``lun-ven 05:30-13:00``)."""
        return f"{format_days(self.days, short=True)} {_hhmm(self.start)}-{_hhmm(self.end)}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}" if minutes != 1440 else "24:00"


def format_days(days: tuple[int, ...], *, short: bool = False) -> str:
    """``(0, 1, 2, 3, 4)`` -> ``lun-ven`` (short) or ``du lundi au vendredi``."""
    names = [n[:3] if short else n for n in DAY_NAMES]
    days = tuple(sorted(set(days)))
    if not days:
        return ""
    runs: list[tuple[int, int]] = []
    for d in days:
        if runs and runs[-1][1] == d - 1:
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    parts = []
    for a, b in runs:
        if a == b:
            parts.append(names[a])
        elif short:
            parts.append(f"{names[a]}-{names[b]}" if b > a + 1 else f"{names[a]},{names[b]}")
        else:
            parts.append(
                f"du {names[a]} au {names[b]}" if b > a + 1 else f"{names[a]} et {names[b]}"
            )
    return ",".join(parts) if short else ", ".join(parts)


def _minutes(text: str, where: str) -> int:
    match = _TIME.match(text.strip().lower())
    if not match:
        raise InputError(
            tr(
                f"{where} : heure illisible « {text} » (attendu HH:MM, par exemple 05:30)",
                f"{where}: unreadable time '{text}' (expected HH:MM, e.g. 05:30)",
            )
        )
    hours, minutes = int(match.group(1)), int(match.group(2) or 0)
    if hours > 24 or minutes > 59 or (hours == 24 and minutes):
        raise InputError(
            tr(f"{where} : heure impossible « {text} »", f"{where}: impossible time '{text}'")
        )
    return hours * 60 + minutes


def _days(text: str, where: str) -> tuple[int, ...]:
    out: set[int] = set()
    token = text.strip().lower()
    if token in ("tous", "tlj", "all", "daily"):
        return tuple(range(7))
    for part in token.split(","):
        part = part.strip().rstrip(".")
        ends = [p.strip().rstrip(".") for p in part.split("-")]
        if len(ends) not in (1, 2) or any(e not in _ALIASES for e in ends):
            raise InputError(
                tr(
                    f"{where} : jour inconnu « {part} » (jours : lun mar mer jeu ven sam dim, "
                    "plages lun-ven, listes lun,mer)",
                    f"{where}: unknown day '{part}' (days: lun mar mer jeu ven sam dim, "
                    "ranges lun-ven, lists lun,mer)",
                )
            )
        a, b = _ALIASES[ends[0]], _ALIASES[ends[-1]]
        d = a
        while True:
            out.add(d)
            if d == b:
                break
            d = (d + 1) % 7
    return tuple(sorted(out))


def parse_schedule(text: str, *, where: str = "horaires") -> list[Shift]:
    """Parse a weekly schedule (see the module docstring); cached, the result is a new list.

    Parameters
    ----------
    text
        The schedule, e.g. ``lun-ven 05:30-13:00; sam 06:00-12:00``.
    where
        What to name in an error message (the file, row and field).

    Returns
    -------
    list of Shift
        In the order written.

    Raises
    ------
    InputError
        When a day or a time cannot be read, naming ``where`` and the allowed forms.
    """
    return list(_parse_cached(str(text), where))


@functools.lru_cache(maxsize=8192)
def _parse_cached(text: str, where: str) -> tuple[Shift, ...]:
    return tuple(_parse(text, where))


def _parse(text: str, where: str) -> list[Shift]:
    """:func:`parse_schedule`, uncached."""
    shifts: list[Shift] = []
    if not str(text).strip():
        raise InputError(
            tr(
                f"{where} : horaires vides ({_FORMAT_HELP[0]})",
                f"{where}: empty schedule ({_FORMAT_HELP[1]})",
            )
        )
    for chunk in str(text).split(";"):
        chunk = chunk.strip()
        if not chunk:
            continue
        match = _CHUNK.match(chunk)
        if match is None:
            raise InputError(
                tr(
                    f"{where} : « {chunk} » illisible ({_FORMAT_HELP[0]})",
                    f"{where}: cannot read '{chunk}' ({_FORMAT_HELP[1]})",
                )
            )
        days = _days(_day_words(match.group("days")), where)
        # split shifts: "lun-ven 08:00-12:00, 14:00-17:00" (also "et")
        for span in re.split(r"\s*(?:,|\bet\b)\s*", match.group("times").strip()):
            first, sep, last = span.partition("-")
            if not sep:
                raise InputError(
                    tr(
                        f"{where} : plage horaire « {span} » illisible ({_FORMAT_HELP[0]})",
                        f"{where}: cannot read the hours '{span}' ({_FORMAT_HELP[1]})",
                    )
                )
            start, end = _minutes(first, where), _minutes(last, where)
            if end == start:
                raise InputError(
                    tr(
                        f"{where} : « {span} » commence et finit à la même heure",
                        f"{where}: '{span}' starts and ends at the same time",
                    )
                )
            if end < start:
                end += 1440
            if start >= 1440:
                raise InputError(
                    tr(
                        f"{where} : une prise de poste à 24:00 s'écrit 00:00",
                        f"{where}: write 00:00, not 24:00, for a start",
                    )
                )
            shifts.append(Shift(days, start, end))
    return shifts


#: ``DAYS TIMES``: the times start at the first digit.
_CHUNK = re.compile(r"^(?P<days>[^\d]+?)\s+(?P<times>\d.*)$")


def _day_words(text: str) -> str:
    """The days as :func:`_days` reads them (``du lundi au vendredi`` -> ``lundi-vendredi``).

    ``lun et mer`` becomes ``lun,mer``.
    """
    words = text.strip().lower().replace("’", "'")
    words = re.sub(r"^(du|le|les)\s+", "", words)
    words = re.sub(r"\s+(au|à)\s+", "-", words)
    words = re.sub(r"\s*(,|\bet\b)\s*", ",", words)
    return re.sub(r"\s+", "", words)
