"""Accounts: passwords, sessions, tokens and the login rate limit.

argon2 password hashes, browser sessions with a CSRF token, bearer tokens, and the
login rate limit. Only hashes of secrets are stored (SHA-256 of random tokens).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from parcours.errors import InputError
from parcours.i18n import tr
from parcours.service.models import (
    ApiToken,
    AuthSession,
    LoginFailure,
    Platform,
    Role,
    User,
    utcnow,
)

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "Principal",
    "check_csrf",
    "create_user",
    "hash_password",
    "issue_api_token",
    "login",
    "logout",
    "new_session",
    "principal_of_session",
    "principal_of_token",
    "verify_password",
]

MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHasher()
#: a hash verified when the account does not exist, so both answers take the same time
_DUMMY_HASH = _hasher.hash("not a password of anyone")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Principal:
    """Who makes a request: the user's id, role and platform (and its territory)."""

    user_id: int
    email: str
    name: str
    role: Role
    platform_id: int | None
    territory: str | None
    csrf: str | None = None  #: the session's CSRF token (None for a bearer token)

    @classmethod
    def of(cls, user: User, csrf: str | None = None) -> Principal:
        """The principal of a loaded user."""
        platform = user.platform
        return cls(
            user_id=user.id,
            email=user.email,
            name=user.name,
            role=Role(user.role),
            platform_id=user.platform_id,
            territory=platform.territory if platform is not None else None,
            csrf=csrf,
        )


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str,
    role: Role | str,
    platform: Platform | None = None,
) -> User:
    """Add a user; advisors, prescribers and committee viewers belong to a platform.

    Raises
    ------
    InputError
        On a short password, an unknown role, a missing or needless platform, or an e-mail
        already used.
    """
    try:
        role = Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InputError(
            tr(
                f"rôle inconnu « {role} » (permis : {allowed})",
                f"unknown role '{role}' ({allowed})",
            ),
            field="role",
        ) from None
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(
            tr(
                f"mot de passe trop court : au moins {MIN_PASSWORD_LENGTH} caractères",
                f"password too short: at least {MIN_PASSWORD_LENGTH} characters",
            ),
            field="password",
        )
    needs_platform = role in (Role.ADVISOR, Role.PRESCRIBER, Role.COMMITTEE)
    if needs_platform and platform is None:
        raise InputError(
            tr(
                f"le rôle {role.value} demande une plateforme",
                f"role {role.value} needs a platform",
            ),
            field="platform",
        )
    if not needs_platform:
        platform = None
    email = email.strip().lower()
    if "@" not in email:
        raise InputError(
            tr(f"adresse e-mail invalide : {email}", f"invalid e-mail: {email}"), field="email"
        )
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise InputError(
            tr(f"un compte existe déjà pour {email}", f"an account already exists for {email}"),
            field="email",
        )
    user = User(
        email=email,
        name=name.strip() or email,
        password_hash=hash_password(password),
        role=role.value,
        platform_id=platform.id if platform is not None else None,
    )
    session.add(user)
    session.flush()
    return user


def _limited(session: Session, key: str, attempts: int, window_min: float) -> bool:
    since = utcnow() - dt.timedelta(minutes=window_min)
    count = session.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.key == key, LoginFailure.at >= since)
    )
    return int(count or 0) >= attempts


class LoginRefused(InputError):
    """Wrong e-mail or password (the message never says which)."""

    code = "auth.refused"


class LoginLimited(InputError):
    """Too many failed logins for this account from this address."""

    code = "auth.limited"


def login(
    session: Session,
    email: str,
    password: str,
    *,
    client: str,
    attempts: int = 5,
    window_min: float = 15.0,
) -> User:
    """The user with this e-mail and password.

    Raises
    ------
    LoginLimited
        After ``attempts`` failures for this account and address within ``window_min``.
    LoginRefused
        On a wrong e-mail or password, or a disabled account.
    """
    email = email.strip().lower()
    key = f"{email}|{client}"
    if _limited(session, key, attempts, window_min):
        raise LoginLimited(
            tr(
                f"trop d'essais : réessayez dans {window_min:g} minutes",
                f"too many attempts: try again in {window_min:g} minutes",
            ),
            field="email",
        )
    user = session.scalar(select(User).where(User.email == email))
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not ok or not user.active:
        session.add(LoginFailure(key=key))
        session.commit()  # counted even though the caller's transaction rolls back
        raise LoginRefused(
            tr("e-mail ou mot de passe incorrect", "wrong e-mail or password"), field="email"
        )
    session.execute(delete(LoginFailure).where(LoginFailure.key == key))
    user.last_login_at = utcnow()
    return user


def new_session(session: Session, user: User, *, hours: float) -> tuple[str, str]:
    """Open a browser session: the cookie's token and the CSRF token."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(
        AuthSession(
            token_hash=_digest(token),
            user_id=user.id,
            csrf=csrf,
            expires_at=utcnow() + dt.timedelta(hours=hours),
        )
    )
    return token, csrf


def principal_of_session(session: Session, token: str, *, hours: float) -> Principal | None:
    """The principal of a session cookie (its expiry slides with use), None if none."""
    row = session.get(AuthSession, _digest(token))
    now = utcnow()
    if row is None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if row.expires_at - now < dt.timedelta(hours=hours) - dt.timedelta(minutes=5):
        row.expires_at = now + dt.timedelta(hours=hours)
    return Principal.of(user, csrf=row.csrf)


def logout(session: Session, token: str) -> None:
    """Close a browser session."""
    session.execute(delete(AuthSession).where(AuthSession.token_hash == _digest(token)))


def issue_api_token(session: Session, user: User, label: str = "") -> str:
    """A new bearer token for ``user`` (shown once; only its hash is kept)."""
    token = "pcs_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_digest(token), label=label))
    return token


def principal_of_token(session: Session, token: str) -> Principal | None:
    """The principal of a bearer token, None if unknown."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=5):
        row.last_used_at = now  # not on every request: one write per token and 5 minutes
    return Principal.of(user)


def check_csrf(expected: str | None, given: str | None) -> bool:
    """Whether a form's CSRF token is the session's (constant-time)."""
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))
