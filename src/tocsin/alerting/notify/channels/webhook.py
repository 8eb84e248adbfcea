"""Webhook notifications: HTTP POST of JSON, signed with HMAC-SHA256 (RFC 2104).

Headers sent with every POST:

``X-Tocsin-Signature: sha256=<hex>``
    HMAC-SHA256 of the exact request body under the contact's secret. A receiver
    recomputes it and compares in constant time (:func:`hmac.compare_digest`).
``Idempotency-Key`` (and ``X-Tocsin-Idempotency-Key``)
    the same for every attempt at one notification; delivery is at least once.

:class:`WebhookSender` keeps one HTTP/1.1 connection per host alive, so that one worker
delivers hundreds of notifications a second.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import threading
from typing import Any
from urllib.parse import urlsplit

from tocsin.alerting.notify.channels.base import DeliveryError, Notification

SIGNATURE_HEADER = "X-Tocsin-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def sign(secret: str | bytes, body: bytes) -> str:
    """The signature header value: ``sha256=`` and the hex HMAC-SHA256 of ``body``."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify(secret: str | bytes, body: bytes, header: str) -> bool:
    """Whether ``header`` is the signature of ``body`` under ``secret`` (constant time)."""
    return hmac.compare_digest(sign(secret, body), header or "")


def encode_payload(payload: dict[str, Any]) -> bytes:
    """The canonical JSON body (UTF-8, sorted keys, no spaces)."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


class WebhookSender:
    """POSTs notifications, reusing one connection per (scheme, host, port) and thread."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._local = threading.local()

    def _connection(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        pool: dict[tuple[str, str], http.client.HTTPConnection] = self._local.__dict__.setdefault(
            "pool", {}
        )
        key = (scheme, netloc)
        if key not in pool:
            factory = (
                http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
            )
            pool[key] = factory(netloc, timeout=self.timeout)
        return pool[key]

    def _drop(self, scheme: str, netloc: str) -> None:
        connection = self._local.__dict__.get("pool", {}).pop((scheme, netloc), None)
        if connection is not None:
            connection.close()

    def send(self, url: str, secret: str, notification: Notification) -> int:
        """POST the notification's payload to ``url``; return the HTTP status.

        2xx is success; 408, 429 and 5xx are transient failures; other statuses are
        permanent. A dropped keep-alive connection is retried once at once.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise DeliveryError(f"webhook URL {url!r} is not http(s)", transient=False)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        body = encode_payload(notification.payload)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "tocsin-webhook",
            IDEMPOTENCY_HEADER: notification.idempotency_key,
            "X-Tocsin-Idempotency-Key": notification.idempotency_key,
        }
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, body)
        for attempt in (1, 2):
            connection = self._connection(parts.scheme, parts.netloc)
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
                if response.will_close:
                    self._drop(parts.scheme, parts.netloc)
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._drop(parts.scheme, parts.netloc)
                if attempt == 2:
                    raise DeliveryError(f"webhook {parts.netloc} closed the connection") from None
            except (OSError, http.client.HTTPException) as exc:
                self._drop(parts.scheme, parts.netloc)
                raise DeliveryError(
                    f"webhook {parts.netloc} unreachable: {type(exc).__name__}: {exc}"
                ) from None
        if 200 <= status < 300:
            return status
        transient = status in (408, 429) or status >= 500
        raise DeliveryError(f"webhook {parts.netloc} answered HTTP {status}", transient=transient)

    def close(self) -> None:
        """Close this thread's connections."""
        for connection in self._local.__dict__.pop("pool", {}).values():
            connection.close()
