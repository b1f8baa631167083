"""The statistical secret of committee outputs (DESIGN.md, "Secrecy"), defined once.

Anything shown to a steering committee is aggregated: no grid or zone statistic over fewer
than :data:`MIN_HOUSEHOLDS` households (INSEE's statistical-secret rule), no caseload
statistic over fewer than :data:`MIN_PEOPLE` beneficiaries.

The household threshold is INSEE's, which its sources already obey (Filosofi imputes its
small cells): its value lives in :mod:`parcours.territories.sources`, the lowest level that
every user may import, and is re-exported here, its public home.
"""

from __future__ import annotations

from parcours.territories.sources import INSEE_SECRET_MIN_HOUSEHOLDS

__all__ = ["MIN_HOUSEHOLDS", "MIN_PEOPLE", "is_secret"]

#: No grid or zone figure is published over fewer households (INSEE's statistical secret).
MIN_HOUSEHOLDS: int = INSEE_SECRET_MIN_HOUSEHOLDS

#: No caseload figure is published over fewer beneficiaries.
MIN_PEOPLE: int = 11


def is_secret(count: float, *, threshold: int = MIN_HOUSEHOLDS) -> bool:
    """Whether a figure resting on ``count`` units must be hidden (0 < count < threshold).

    A figure over nobody (0) reveals nothing about anyone and is published.
    """
    return 0 < count < threshold
