"""Settings of alerting, from ``TOCSIN_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from tocsin.alerting.notify.channels.email import SmtpSettings


class AlertingSettings(BaseSettings):
    """Where alerts link to, who sends CAP, how notifications are delivered."""

    model_config = SettingsConfigDict(env_prefix="TOCSIN_", extra="ignore")

    #: Base URL of the web application, used in links to alerts and CAP messages.
    public_url: str = "http://localhost:8000"
    #: CAP ``sender`` of tocsin's messages (CAP 1.2, 3.2.1: globally unique, no spaces).
    cap_sender: str = "tocsin@localhost"
    #: Name shown as CAP ``senderName``.
    cap_sender_name: str = "tocsin"

    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_sender: str = "tocsin@localhost"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False

    #: Attempts before a notification is marked failed.
    notify_max_attempts: int = 8
    #: First retry delay; doubled after each failure up to ``notify_backoff_max``.
    notify_backoff_seconds: float = 30.0
    notify_backoff_max: float = 3600.0
    #: How long a worker owns a claimed notification before another may retry it.
    notify_lease_seconds: float = 120.0
    #: Deliveries in flight at once in one worker.
    notify_concurrency: int = 8
    #: Wait between levels of the default escalation policy (minutes).
    escalation_wait_minutes: int = 30
    #: Hosts (names, addresses or networks, comma-separated) that webhooks may call
    #: although they are loopback, private or link-local; by default none.
    webhook_allowed_hosts: str = ""

    def allowed_webhook_hosts(self) -> tuple[str, ...]:
        """:attr:`webhook_allowed_hosts` as a list."""
        return tuple(h.strip() for h in self.webhook_allowed_hosts.split(",") if h.strip())

    def smtp(self) -> SmtpSettings:
        """The SMTP settings of the e-mail channel."""
        return SmtpSettings(
            host=self.smtp_host,
            port=self.smtp_port,
            sender=self.smtp_sender,
            username=self.smtp_username,
            password=self.smtp_password.get_secret_value(),
            starttls=self.smtp_starttls,
        )

    def alert_url(self, alert_id: int) -> str:
        return f"{self.public_url.rstrip('/')}/alerts/{alert_id}"

    def cap_url(self, identifier: str) -> str:
        return f"{self.public_url.rstrip('/')}/cap/{identifier}.xml"


@lru_cache(maxsize=1)
def get_alerting_settings() -> AlertingSettings:
    """The settings, read once (``get_alerting_settings.cache_clear()`` rereads)."""
    return AlertingSettings()
