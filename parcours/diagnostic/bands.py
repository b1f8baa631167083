"""The time bands of the diagnostic and the study dates.

A band is a departure window at an hour that matches real working hours. Within each
window the travel time is taken every minute and summarised by its median and its 80th
percentile (R5's percentile rule), so that a line running every 30 minutes shows as
such. Street modes (walking, cycling, driving) do not depend on the hour: they are
computed once and shown in every band.

=============  ===========  =======  ====================================================
band           window       day      question
=============  ===========  =======  ====================================================
``peak``       07:00-09:00  weekday  leaving home for a day job
``early``      04:30-05:30  weekday  leaving home for an early shift (start 05:00-06:30)
``late``       21:00-23:00  weekday  leaving the job after a late shift: can I get home?
``saturday``   10:00-12:00  Saturday leaving home on a Saturday
=============  ===========  =======  ====================================================

The ``late`` band is computed from the places of work to the homes (``direction =
"to_home"``), the others from the homes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final, Literal

import pandas as pd

from parcours.errors import InputError
from parcours.i18n import tr
from parcours.territories import Territory

__all__ = ["BANDS", "PERCENTILES", "TimeBand", "active_services", "study_dates"]

#: Percentiles of each band's per-minute travel times: the median and the 80th.
PERCENTILES: Final = (50, 80)


@dataclass(frozen=True)
class TimeBand:
    """A departure window of the diagnostic.

    Attributes
    ----------
    key
        Short English name used in column names (``peak``).
    label
        What a committee reads (French, English).
    start
        First departure of the window (local time of the feeds).
    window_min
        Length of the window, minutes.
    day
        ``"weekday"`` (the study Tuesday) or ``"saturday"`` (the following Saturday).
    direction
        ``"from_home"``: homes to jobs and services; ``"to_home"``: jobs to homes.
    """

    key: str
    label: str
    start: dt.time
    window_min: int
    day: Literal["weekday", "saturday"]
    direction: Literal["from_home", "to_home"]

    def departure(self, weekday: dt.date, saturday: dt.date) -> dt.datetime:
        """The first departure of the window on the study date of its day."""
        return dt.datetime.combine(weekday if self.day == "weekday" else saturday, self.start)


BANDS: Final[tuple[TimeBand, ...]] = (
    TimeBand(
        "peak",
        tr("heure de pointe (départ 7 h-9 h)", "peak hours (leaving 7-9 am)"),
        dt.time(7, 0),
        120,
        "weekday",
        "from_home",
    ),
    TimeBand(
        "early",
        tr("prise de poste matinale (départ 4 h 30-5 h 30)", "early shift (leaving 4:30-5:30 am)"),
        dt.time(4, 30),
        60,
        "weekday",
        "from_home",
    ),
    TimeBand(
        "late",
        tr("retour après un poste du soir (départ 21 h-23 h)", "home after a late shift (9-11 pm)"),
        dt.time(21, 0),
        120,
        "weekday",
        "to_home",
    ),
    TimeBand(
        "saturday",
        tr("samedi (départ 10 h-12 h)", "Saturday (leaving 10 am-12 pm)"),
        dt.time(10, 0),
        120,
        "saturday",
        "from_home",
    ),
)

_WEEKDAY_COLUMNS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def active_services(territory: Territory, day: dt.date) -> set[str]:
    """The ``service_id`` values running on ``day`` (calendar, then calendar_dates)."""
    active: set[str] = set()
    stamp = pd.Timestamp(day)
    if territory.has_layer("calendar"):
        cal = territory.layer("calendar")
        running = (
            cal[_WEEKDAY_COLUMNS[day.weekday()]].astype(bool)
            & (pd.to_datetime(cal["start_date"]) <= stamp)
            & (pd.to_datetime(cal["end_date"]) >= stamp)
        )
        active |= set(cal.loc[running, "service_id"].astype(str))
    if territory.has_layer("calendar_dates"):
        dates = territory.layer("calendar_dates")
        today = dates[pd.to_datetime(dates["date"]) == stamp]
        active |= set(today.loc[today["exception_type"] == 1, "service_id"].astype(str))
        active -= set(today.loc[today["exception_type"] == 2, "service_id"].astype(str))
    return active


def _served_by_every_feed(territory: Territory, day: dt.date) -> bool:
    trips = territory.layer("trips")
    running = trips[trips["service_id"].astype(str).isin(active_services(territory, day))]
    feeds = set(territory.layer("feeds")["feed_id"].astype(str))
    return feeds <= set(running["feed_id"].astype(str))


def study_dates(territory: Territory, date: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The study weekday and the Saturday that follows it.

    Parameters
    ----------
    territory
        A loaded territory (with or without public transport).
    date
        The weekday chosen by the user (``--date``); ``None``: the first Tuesday that
        every feed of the territory serves (from the latest feed start), or, without
        public transport, next Tuesday.

    Raises
    ------
    InputError
        If no Tuesday within the feeds' validity is served by every feed.
    """
    if date is not None:
        saturday = date + dt.timedelta(days=(5 - date.weekday()) % 7 or 7)
        return date, saturday
    if not territory.has_layer("feeds") or not territory.has_layer("trips"):
        today = dt.date.today()
        tuesday = today + dt.timedelta(days=(1 - today.weekday()) % 7)
        return tuesday, tuesday + dt.timedelta(days=4)
    feeds = territory.layer("feeds")
    first = pd.to_datetime(feeds["start_date"]).max().date()
    last = pd.to_datetime(feeds["end_date"]).min().date()
    day = first + dt.timedelta(days=(1 - first.weekday()) % 7)
    while day <= last:
        if _served_by_every_feed(territory, day):
            return day, day + dt.timedelta(days=4)
        day += dt.timedelta(days=7)
    raise InputError(
        tr(
            f"aucun mardi entre le {first} et le {last} n'est desservi par toutes les lignes "
            "du territoire : donnez la date d'étude (--date)",
            f"no Tuesday between {first} and {last} is served by every feed of the "
            "territory: give the study date (--date)",
        ),
        field="date",
    )
