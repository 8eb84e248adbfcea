"""Settings of alerting, from ``TOCSIN_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import quote, urlencode

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tocsin.alerting.inhibit_rules import DEFAULT_RULES, InhibitRule
from tocsin.alerting.notify.channels.email import SmtpSettings

_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:_-]{0,99}")
_PLAIN = re.compile(r"[A-Za-z0-9.:_-]+")


class AlertingSettings(BaseSettings):
    """Where alerts link to, who sends CAP, how notifications are delivered."""

    model_config = SettingsConfigDict(env_prefix="TOCSIN_", extra="ignore")

    #: Base URL of the web application, used in links to alerts and CAP messages.
    public_url: str = "http://localhost:8000"
    #: CAP ``sender`` of tocsin's messages (CAP 1.2, 3.2.1: globally unique, no spaces).
    cap_sender: str = "tocsin@localhost"
    #: Name shown as CAP ``senderName``.
    cap_sender_name: str = "tocsin"
    #: Start of every CAP ``identifier`` tocsin issues, e.g. the sender's WMO register
    #: OID (``urn:oid:2.49.0.0.276.0``); letters, digits and ``.:_-`` only.
    cap_identifier_prefix: str = "tocsin"
    #: Hours an active alert's CAP message stays valid (``expires``).
    cap_expires_hours: float = 168.0
    #: Hours a closed alert's Cancel or all-clear Update stays in the feed (and valid).
    cap_feed_closed_hours: float = 48.0
    #: CAP ``contact`` and ``instruction`` (English, Chinese) of every message; empty: none.
    cap_contact: str = ""
    cap_instruction: str = ""
    cap_instruction_zh: str = ""
    #: Public outputs publish counts from 1 to this number as "fewer than N+1" (0: never).
    public_small_count_max: int = 4
    #: CAP import: geocode ``valueName`` -> template of a tocsin jurisdiction code
    #: (``{value}`` is the geocode's value); geocodes of other schemes are not mapped.
    cap_geocode_schemes: dict[str, str] = {"tocsin:jurisdiction": "{value}"}
    #: CAP import: PEM file of the certificates whose XML signatures are trusted.
    cap_trusted_certificates: str = ""

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
    #: Grouping per recipient (Alertmanager's ``group_wait`` / ``group_interval``): a new
    #: notification waits this long so that others for the same recipient join it in one
    #: digest ...
    notify_group_wait_seconds: float = 30.0
    #: ... and a recipient who had a message less than this long ago waits for the rest.
    notify_group_interval_seconds: float = 300.0
    #: Notifications due together for one recipient go out as one digest; off: one
    #: message each (for receivers that take one alert's document per request only).
    notify_digests: bool = True
    #: Notifications a worker claims at a time; 0: four per delivery thread, so that
    #: several workers share a backlog.
    notify_batch: int = 0
    #: Wait between levels of the default escalation policy (minutes).
    escalation_wait_minutes: int = 30
    #: Minutes an acknowledged alert may stay neither resolved nor updated before its
    #: escalation starts again (PagerDuty's acknowledgement timeout); 0: never.
    ack_timeout_minutes: int = 240
    #: Which active alerts mute which others (JSON list, as Alertmanager's
    #: ``inhibit_rules``); never a more serious alert. ``[]`` turns inhibition off.
    inhibit_rules: list[InhibitRule] = list(DEFAULT_RULES)
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

    @field_validator("cap_identifier_prefix")
    @classmethod
    def _plain_prefix(cls, value: str) -> str:
        if not _PREFIX.fullmatch(value):
            raise ValueError(
                "TOCSIN_CAP_IDENTIFIER_PREFIX must be letters, digits and '.', ':', '_', '-' "
                "(e.g. urn:oid:2.49.0.0.276.0), at most 100 characters"
            )
        return value

    def alert_url(self, alert_id: int) -> str:
        return f"{self.public_url.rstrip('/')}/alerts/{alert_id}"

    def cap_url(self, sender: str, identifier: str) -> str:
        """Where a CAP message is served: ``/cap/IDENTIFIER.xml`` for tocsin's own, with
        the sender in the query for another agency's (identifiers are unique per sender)."""
        base = f"{self.public_url.rstrip('/')}/cap"
        if sender == self.cap_sender and _PLAIN.fullmatch(identifier):
            return f"{base}/{identifier}.xml"  # tocsin's identifiers need no escaping
        if sender == self.cap_sender:
            return f"{base}/{quote(identifier, safe=':')}.xml"
        return f"{base}/message.xml?{urlencode({'sender': sender, 'identifier': identifier})}"


@lru_cache(maxsize=1)
def get_alerting_settings() -> AlertingSettings:
    """The settings, read once (``get_alerting_settings.cache_clear()`` rereads)."""
    return AlertingSettings()
