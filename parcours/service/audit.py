"""The audit log: who did what to which object. Ids and actions only, never personal data."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from parcours.service.models import AuditEntry
from parcours.service.security import Principal

__all__ = ["audit"]


def audit(
    session: Session,
    principal: Principal | None,
    action: str,
    *,
    object_type: str = "",
    object_id: object = "",
    platform_id: int | None = None,
    **detail: Any,
) -> None:
    """Record an action (``detail`` holds codes and counts, not names or addresses)."""
    session.add(
        AuditEntry(
            user_id=principal.user_id if principal is not None else None,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            platform_id=platform_id
            if platform_id is not None
            else (principal.platform_id if principal is not None else None),
            detail=detail,
        )
    )
