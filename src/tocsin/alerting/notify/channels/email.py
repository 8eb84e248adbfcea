"""E-mail notifications over SMTP (RFC 5321) with :mod:`smtplib`."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate

from tocsin.alerting.notify.channels.base import DeliveryError, OutgoingMessage


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send e-mail. The password never appears in ``repr`` or logs."""

    host: str = "localhost"
    port: int = 25
    sender: str = "tocsin@localhost"
    username: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = False
    timeout: float = 10.0


def build_email(
    settings: SmtpSettings, recipient: str, notification: OutgoingMessage
) -> EmailMessage:
    """The RFC 5322 message; its Message-ID derives from the idempotency key."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = recipient
    message["Subject"] = notification.subject
    message["Date"] = formatdate(localtime=False)
    domain = settings.sender.rpartition("@")[2] or "tocsin"
    message["Message-ID"] = f"<{notification.idempotency_key}@{domain}>"
    message["X-Tocsin-Idempotency-Key"] = notification.idempotency_key
    message.set_content(notification.body)
    return message


def send_email(settings: SmtpSettings, recipient: str, notification: OutgoingMessage) -> None:
    """Send ``notification`` to ``recipient``; :class:`DeliveryError` on failure.

    Permanent SMTP replies (5xx, e.g. an unknown mailbox) are not retried.
    """
    message = build_email(settings, recipient, notification)
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls()
            if settings.username:
                smtp.login(settings.username, settings.password)
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise DeliveryError(
            f"SMTP server refused {recipient}: {codes}", transient=all(c < 500 for c in codes)
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(
            f"SMTP server answered {exc.smtp_code}", transient=exc.smtp_code < 500
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(
            f"cannot send e-mail via {settings.host}:{settings.port}: {type(exc).__name__}: {exc}"
        ) from None
