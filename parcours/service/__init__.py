"""The platform service's state: database, accounts, people, parcours, jobs, audit.

The web layer (:mod:`parcours.api`) serves what this package stores; the business rules
(feasibility, diagnostics) stay in :mod:`parcours.matching` and :mod:`parcours.diagnostic`.
"""

from __future__ import annotations

from parcours.service.db import Database, open_database
from parcours.service.models import LegalBasis, Role, StepStatus
from parcours.service.settings import ServiceSettings

__all__ = ["Database", "LegalBasis", "Role", "ServiceSettings", "StepStatus", "open_database"]
