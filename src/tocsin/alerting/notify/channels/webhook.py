"""Webhook notifications: HTTP POST of JSON, signed as the Standard Webhooks
specification asks (:mod:`tocsin.alerting.notify.channels.signing`).

Headers sent with every POST:

``webhook-id``, ``webhook-timestamp``, ``webhook-signature``
    Standard Webhooks: ``v1,`` base64 HMAC-SHA256 of ``id.timestamp.body`` under each
    secret in force (the id is the idempotency key; the timestamp is this attempt's).
``X-Tocsin-Signature: sha256=<hex>``
    only for a secret stored before Standard Webhooks (without ``whsec_``): HMAC-SHA256
    of the body alone, tocsin's former header, until the secret is replaced.
``Idempotency-Key`` (and ``X-Tocsin-Idempotency-Key``)
    the same for every attempt at one notification; delivery is at least once.

Server-side request forgery (OWASP SSRF Prevention Cheat Sheet): a webhook whose host is,
or resolves to, a loopback, private, link-local, multicast, reserved or unspecified
address is refused, when the contact is saved and again before every delivery (a name
may resolve elsewhere later), unless the host or its network is in
``TOCSIN_WEBHOOK_ALLOWED_HOSTS`` (e.g. ``127.0.0.1,hooks.internal,10.8.0.0/16``).

:class:`WebhookSender` keeps one HTTP/1.1 connection per host alive, so that one worker
delivers hundreds of notifications a second.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import urlsplit

from tocsin.alerting.notify.channels import signing
from tocsin.alerting.notify.channels.base import DeliveryError, OutgoingMessage

SIGNATURE_HEADER = "X-Tocsin-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class ForbiddenDestinationError(ValueError):
    """A webhook URL that must not be called; the message says why and what to do."""


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _internal(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def _allowed(host: str, addresses: list[Address], allowed: Collection[str]) -> list[Address]:
    """The internal addresses that ``allowed`` (names, addresses, networks) does not cover."""
    names = {a.strip().lower() for a in allowed if a.strip()}
    if host in names:
        return []
    networks = []
    for name in names:
        try:
            networks.append(ipaddress.ip_network(name, strict=False))
        except ValueError:
            continue
    return [a for a in addresses if _internal(a) and not any(a in n for n in networks)]


def check_destination(url: str, allowed: Collection[str] = (), *, resolve: bool = True) -> None:
    """Raise :class:`ForbiddenDestinationError` unless ``url`` is an http(s) URL whose host
    is public, or allowed by ``allowed`` (``TOCSIN_WEBHOOK_ALLOWED_HOSTS``).

    A host name is resolved (``resolve``) and every address it has is checked; a name
    that does not resolve passes here and fails at delivery as unreachable.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ForbiddenDestinationError(
            f"webhook URL {url!r} must be http:// or https:// with a host"
        )
    host = parts.hostname.lower()
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = []
        if resolve:
            try:
                found = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError):
                found = []
            addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]
        if host == "localhost" or host.endswith(".localhost"):
            addresses.append(ipaddress.ip_address("127.0.0.1"))
    refused = _allowed(host, addresses, allowed)
    if refused:
        raise ForbiddenDestinationError(
            f"webhook URL {url!r} points to the internal address {refused[0]} (loopback, "
            "private or link-local); tocsin calls only public hosts unless an administrator "
            "lists the host in TOCSIN_WEBHOOK_ALLOWED_HOSTS"
        )


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

    def __init__(
        self,
        timeout: float = 10.0,
        allowed_hosts: Collection[str] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.timeout = timeout
        self.allowed_hosts = tuple(allowed_hosts)
        #: Seconds since the epoch of ``webhook-timestamp`` (the wall clock receivers share).
        self.clock = clock
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

    def send(self, url: str, secret: str, notification: OutgoingMessage) -> int:
        """POST the notification's payload to ``url``; return the HTTP status.

        2xx is success; 408, 429 and 5xx are transient failures; other statuses are
        permanent. A dropped keep-alive connection is retried once at once.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise DeliveryError(f"webhook URL {url!r} is not http(s)", transient=False)
        try:  # again at every delivery: the name may resolve elsewhere by now
            check_destination(url, self.allowed_hosts)
        except ForbiddenDestinationError as exc:
            raise DeliveryError(str(exc), transient=False) from None
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        body = encode_payload(notification.payload)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "tocsin-webhook",
            IDEMPOTENCY_HEADER: notification.idempotency_key,
            "X-Tocsin-Idempotency-Key": notification.idempotency_key,
        }
        if secret and secret.strip():
            key = notification.idempotency_key
            headers.update(signing.headers(secret, key, int(self.clock()), body))
            former = signing.legacy(secret)
            if former is not None:
                headers[SIGNATURE_HEADER] = sign(former, body)
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
