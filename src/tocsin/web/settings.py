"""Settings of the web application, from ``TOCSIN_*`` environment variables."""

from __future__ import annotations

import secrets

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from tocsin.accounts.throttle import ThrottlePolicy


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
    #: Login throttling (:mod:`tocsin.accounts.throttle`): failures in a row that cost
    #: nothing, per account and per client address; the first wait (seconds), doubled
    #: with each further failure up to the ceilings; failures are forgotten after
    #: ``login_window_seconds`` without a new one.
    login_account_free_failures: int = 5
    login_address_free_failures: int = 20
    login_first_delay_seconds: float = 1.0
    login_account_max_delay_seconds: float = 60.0
    login_address_max_delay_seconds: float = 15 * 60.0
    login_window_seconds: int = 15 * 60
    #: Addresses (or networks, comma-separated) of the reverse proxies whose
    #: ``X-Forwarded-For`` and ``X-Forwarded-Proto`` headers are believed, as uvicorn's
    #: ``--forwarded-allow-ips``. Empty (the default): none; the client is the peer of
    #: the connection. ``*`` trusts every peer: only behind a proxy that is the sole
    #: way in.
    trusted_proxies: str = ""
    #: Write one line per request to the ``tocsin.access`` logger (``tocsin serve``
    #: prints it on standard error).
    access_log: bool = True
    #: ``/readyz`` answers 503 when no worker has written its heartbeat for this many
    #: seconds (``tocsin worker`` beats at every tick: every ``--poll`` seconds when idle,
    #: and before and after each detection run). 0: the worker is not checked (a site
    #: whose alerts are handled elsewhere).
    ready_heartbeat_seconds: float = 120.0
    #: ``/metrics`` answers requests from the loopback interface that did not come
    #: through a proxy without credentials (a Prometheus on the same machine); false:
    #: only the API token of an administrator of the whole territory.
    metrics_from_loopback: bool = True

    def throttle_policy(self) -> ThrottlePolicy:
        """The login throttling policy of these settings."""
        return ThrottlePolicy(
            account_free_failures=self.login_account_free_failures,
            address_free_failures=self.login_address_free_failures,
            first_delay_seconds=self.login_first_delay_seconds,
            account_max_delay_seconds=self.login_account_max_delay_seconds,
            address_max_delay_seconds=self.login_address_max_delay_seconds,
            forget_after_seconds=self.login_window_seconds,
        )

    def trusted_proxy_list(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]
