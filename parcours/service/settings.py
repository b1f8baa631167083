"""The service's settings, read from ``PARCOURS_*`` environment variables (pydantic-settings).

======================================  ==================================================
``PARCOURS_HOME``                       the workspace (territories) and, by default, the
                                        SQLite database ``parcours.db`` in it
``PARCOURS_DATABASE_URL``               a SQLAlchemy URL, e.g.
                                        ``postgresql+psycopg://user:pw@host/db`` (PostGIS
                                        stores the homes as points); default: SQLite (WAL)
``PARCOURS_RETENTION_DAYS``             days kept after a person's last contact (730)
``PARCOURS_SESSION_HOURS``              a login lasts this long without activity (8)
``PARCOURS_LOGIN_ATTEMPTS``             failed logins allowed per account and address in
                                        ``PARCOURS_LOGIN_WINDOW_MIN`` minutes (5 in 15)
``PARCOURS_MATCH_PROCESSES``            processes that run the matches, each holding the
                                        networks (1; 0: in the web process)
``PARCOURS_TLS_CERTFILE`` / ``_KEYFILE``  serve HTTPS directly
``PARCOURS_BEHIND_PROXY``               a reverse proxy terminates TLS (cookies are then
                                        marked Secure and the service may listen beyond
                                        127.0.0.1)
======================================  ==================================================
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ServiceSettings"]


class ServiceSettings(BaseSettings):
    """What ``parcours serve`` and ``parcours purge`` read from the environment."""

    model_config = SettingsConfigDict(env_prefix="PARCOURS_", extra="ignore")

    home: Path = Field(default=Path("parcours-data"), description="The workspace folder.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default SQLite in the workspace."
    )
    retention_days: int = Field(default=730, ge=1, description="Days kept after last contact.")
    session_hours: float = Field(default=8.0, gt=0)
    login_attempts: int = Field(default=5, ge=1)
    login_window_min: float = Field(default=15.0, gt=0)
    match_processes: int = Field(
        default=1, ge=0, le=64, description="Processes running the matches (0: in the web process)."
    )
    tls_certfile: Path | None = None
    tls_keyfile: Path | None = None
    behind_proxy: bool = False

    @property
    def url(self) -> str:
        """The database URL (SQLite file ``parcours.db`` in the workspace by default)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'parcours.db').resolve()}"

    def environment(self) -> dict[str, str]:
        """These settings as ``PARCOURS_*`` variables (for worker processes)."""
        env = {"PARCOURS_HOME": str(self.home.resolve()), "PARCOURS_DATABASE_URL": self.url}
        names = (
            "retention_days",
            "session_hours",
            "login_attempts",
            "login_window_min",
            "match_processes",
        )
        for name in names:
            env[f"PARCOURS_{name.upper()}"] = str(getattr(self, name))
        env["PARCOURS_BEHIND_PROXY"] = "1" if self.behind_proxy else "0"
        for name in ("tls_certfile", "tls_keyfile"):
            value = getattr(self, name)
            if value is not None:
                env[f"PARCOURS_{name.upper()}"] = str(Path(value).resolve())
        return env

    @property
    def secure_cookies(self) -> bool:
        """Cookies only over HTTPS (served directly or behind a TLS proxy)."""
        return self.behind_proxy or self.tls_certfile is not None
