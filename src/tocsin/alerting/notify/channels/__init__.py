"""Notification channels: e-mail over SMTP and signed JSON webhooks.

Each channel delivers one :class:`~tocsin.alerting.notify.channels.base.OutgoingMessage` and
raises :class:`~tocsin.alerting.notify.channels.base.DeliveryError` on failure, saying whether a
retry can help. Delivery is at least once: every message carries the notification's
idempotency key so that a receiver can drop a repeat.
"""

from tocsin.alerting.notify.channels.base import DeliveryError, OutgoingMessage
from tocsin.alerting.notify.channels.email import SmtpSettings, send_email
from tocsin.alerting.notify.channels.webhook import WebhookSender, sign

__all__ = [
    "DeliveryError",
    "OutgoingMessage",
    "SmtpSettings",
    "WebhookSender",
    "send_email",
    "sign",
]
