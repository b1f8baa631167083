"""Changes to an account that the audit log records (the API, the pages and the CLI)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from parcours.service.audit import audit
from parcours.service.models import ApiToken, AuthSession, User
from parcours.service.security import Principal

__all__ = ["set_active"]


def set_active(
    session: Session, principal: Principal | None, user: User, active: bool
) -> int | None:
    """Enable or disable an account; disabling also revokes its sessions and tokens.

    A disabled account can neither log in nor use a token; enabled again, it needs a new
    token (the old ones are gone). The change is audited (``user.enabled``,
    ``user.disabled``) as done by ``principal`` (None: the command line).

    Returns
    -------
    int or None
        How many sessions and tokens were revoked; None when the account already was so
        (nothing changed, nothing audited).
    """
    if user.active == active:
        return None
    user.active = active
    revoked = 0
    if not active:
        for table in (AuthSession, ApiToken):
            result = session.execute(delete(table).where(table.user_id == user.id))
            revoked += int(getattr(result, "rowcount", 0) or 0)
    audit(
        session,
        principal,
        "user.enabled" if active else "user.disabled",
        object_type="user",
        object_id=user.id,
        revoked=revoked,
    )
    return revoked
