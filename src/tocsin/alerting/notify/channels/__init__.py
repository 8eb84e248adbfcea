"""Notification channels: e-mail over SMTP and signed JSON webhooks.

Each channel delivers one :class:`~tocsin.alerting.channels.base.Notification` and
raises :class:`~tocsin.alerting.channels.base.DeliveryError` on failure, saying whether a
retry can help. Delivery is at least once: every message carries the notification's
idempotency key so that a receiver can drop a repeat.
"""

from tocsin.alerting.notify.channels.base import DeliveryError, Notification
from tocsin.alerting.notify.channels.email import SmtpSettings, send_email
from tocsin.alerting.notify.channels.webhook import WebhookSender, sign

__all__ = [
    "DeliveryError",
    "Notification",
    "SmtpSettings",
    "WebhookSender",
    "send_email",
    "sign",
]
