"""What a channel delivers and how it fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class DeliveryError(Exception):
    """A delivery failed; ``transient`` says whether a retry may succeed."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to one recipient about one alert, as a channel sends it (the outbox row
    it comes from is :class:`tocsin.alerting.models.Notification`).

    Attributes:
        idempotency_key: the same for every attempt at this notification, so that a
            receiver that sees it twice (delivery is at least once) can drop the repeat.
        subject: one line for people (e-mail subject).
        body: plain text for people, with the links to the alert and its CAP message.
        payload: the JSON document a webhook receives.
    """

    idempotency_key: str
    subject: str
    body: str
    alert_url: str
    cap_url: str
    payload: dict[str, Any] = field(default_factory=dict)
