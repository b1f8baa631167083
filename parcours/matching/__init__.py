"""Matching: from the "test mobilité" to the parcours plan (see DESIGN.md).

The "test mobilité", the caseload, the solution catalogue, commute feasibility,
carpool matching, ranking and the parcours plan.
"""

from __future__ import annotations

from parcours.matching.batch import (
    MIN_PEOPLE,
    advisor_table,
    committee_table,
    match_caseload,
    store_committee_table,
)
from parcours.matching.carpool import carpool_index_of
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
