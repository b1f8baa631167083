"""parcours.diagnostic (see DESIGN.md): indicators, gaps, equity, statistical secret.

:func:`run_diagnostic` computes a territory's :class:`Diagnostic`; ``parcours.maps``
writes it out (report, GeoPackage, tables).
"""

from parcours.diagnostic.bands import BANDS, PERCENTILES, TimeBand, study_dates
from parcours.diagnostic.commuting import modal_shares
from parcours.diagnostic.indicators import CUTOFFS_MIN, MODES, SERVICE_CATEGORIES
from parcours.diagnostic.run import (
    AREA_TYPES,
    CELLS_PER_PART,
    JOBS_PER_PART,
    Diagnostic,
    DiagnosticPlan,
    Landmarks,
    assemble_diagnostic,
    headline_columns,
    landmark_access,
    plan_diagnostic,
    region_areas,
    run_diagnostic,
)
from parcours.diagnostic.secrecy import MIN_HOUSEHOLDS, MIN_PEOPLE, is_secret
from parcours.diagnostic.shifts import SHIFT_STARTS, shift_access

__all__ = [
    "AREA_TYPES",
    "BANDS",
    "CELLS_PER_PART",
    "CUTOFFS_MIN",
    "JOBS_PER_PART",
    "MIN_HOUSEHOLDS",
    "MIN_PEOPLE",
    "MODES",
    "PERCENTILES",
    "SERVICE_CATEGORIES",
    "SHIFT_STARTS",
    "Diagnostic",
    "DiagnosticPlan",
    "Landmarks",
    "TimeBand",
    "assemble_diagnostic",
    "headline_columns",
    "is_secret",
    "landmark_access",
    "modal_shares",
    "plan_diagnostic",
    "region_areas",
    "run_diagnostic",
    "shift_access",
    "study_dates",
]
