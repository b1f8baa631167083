"""Matching: from the "test mobilité" to the parcours plan (see DESIGN.md).

The "test mobilité", the caseload, the solution catalogue, commute feasibility,
carpool matching, ranking and the parcours plan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from parcours.matching.batch import (
    MIN_PEOPLE,
    advisor_table,
    committee_table,
    match_caseload,
    store_committee_table,
)
from parcours.matching.caseload import (
    Caseload,
    load_caseload,
    read_caseload,
    read_driver_offers,
    store_driver_offers,
    stored_caseload,
    stored_driver_offers,
)
from parcours.matching.catalogue import (
    Catalogue,
    Solution,
    SolutionType,
    catalogue_of,
    read_catalogue,
    store_catalogue,
)
from parcours.matching.feasibility import MODES
from parcours.matching.match import MatchResult, match, match_people
from parcours.matching.profile import PersonFile, Profile, barriers, questionnaire, read_person_file
from parcours.matching.schedule import Shift, parse_schedule

__all__ = [
    "MIN_PEOPLE",
    "MODES",
    "Caseload",
    "Catalogue",
    "MatchResult",
    "PersonFile",
    "Profile",
    "Shift",
    "Solution",
    "SolutionType",
    "advisor_table",
    "barriers",
    "carpool_index_of",
    "catalogue_of",
    "committee_table",
    "load_caseload",
    "match",
    "match_caseload",
    "match_people",
    "parse_schedule",
    "questionnaire",
    "read_caseload",
    "read_catalogue",
    "read_driver_offers",
    "read_person_file",
    "store_catalogue",
    "store_committee_table",
    "store_driver_offers",
    "stored_caseload",
    "stored_driver_offers",
]


def carpool_index_of(network: Any) -> Any:
    """The live carpool index of a territory's stored driver offers (None when there are none)."""
    territory = network.territory
    offers = stored_driver_offers(territory)
    if offers is None or offers.empty:
        return None
    from parcours.matching.carpool import CarpoolIndex, CarpoolOffer

    areas = territory.layer("carpool") if territory.has_layer("carpool") else None
    records: Iterable[Any] = offers.itertuples(index=False)
    return CarpoolIndex(
        network,
        [
            CarpoolOffer(
                id=str(r.id),
                home=(float(r.lon), float(r.lat)),
                destination=(float(r.destination_lon), float(r.destination_lat)),
                days=frozenset(int(d) for d in str(r.days).split(",") if d != ""),
                arrive_by=dt.time.fromisoformat(str(r.arrive_by)),
                leave_at=dt.time.fromisoformat(str(r.leave_at)),
                seats=int(r.seats),
                max_detour_min=float(r.max_detour_min),
            )
            for r in records
        ],
        areas=areas,
    )
