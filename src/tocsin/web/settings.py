"""Settings of the web application, from ``TOCSIN_*`` environment variables."""

from __future__ import annotations

import secrets

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    """Web settings; each field ``x`` is read from ``TOCSIN_X``."""

    model_config = SettingsConfigDict(env_prefix="TOCSIN_", extra="ignore")

    #: Key of the HMACs behind CSRF tokens. Unset, each process draws a random one
    #: (forms opened before a restart must then be reloaded). Set it when several
    #: worker processes serve the same site. Never logged.
    secret_key: str = Field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    #: Largest request body accepted (bytes); larger ones get 413.
    max_body_bytes: int = 20 * 1024 * 1024
    #: Whether cookies carry the ``Secure`` attribute (browsers treat
    #: http://127.0.0.1 and http://localhost as secure contexts, so the default works
    #: for the local demo too).
    secure_cookies: bool = True
    #: How long a browser session lasts without use (seconds).
    session_idle_seconds: int = 8 * 3600
    #: Failed logins of one user name (or from one client address) within
    #: ``login_window_seconds`` after which further attempts are refused.
    login_max_failures: int = 5
    login_window_seconds: int = 15 * 60
