"""Webhook signatures as the Standard Webhooks specification asks
(https://www.standardwebhooks.com/, ``spec/standard-webhooks.md``).

Every POST carries three headers:

``webhook-id``
    the message's id: the notification's idempotency key, the same at every attempt, so
    a receiver drops repeats;
``webhook-timestamp``
    integer seconds since the Unix epoch when this attempt was sent; a receiver refuses
    messages outside its tolerance (5 minutes in the reference libraries) against replay;
``webhook-signature``
    ``v1,`` and the base64 HMAC-SHA256 (RFC 2104) of ``id.timestamp.body`` under the
    secret, one such signature per secret in force separated by spaces (secret rotation:
    a receiver accepts any that matches).

A secret is written ``whsec_`` and the base64 of 24 to 64 random bytes (the
specification's range); :func:`check_secret` refuses anything shorter. A contact's
stored secret may hold the new secret and the previous one, separated by a space,
while receivers switch (:func:`tocsin.alerting.duty.rotate_secret`). A secret stored
before this rule, without the prefix, still signs (as its UTF-8 bytes), and then also
with tocsin's former header ``X-Tocsin-Signature`` so that existing receivers keep
working until it is replaced.

The HMAC itself is the ``standardwebhooks`` package's (the specification's reference
implementation for Python); the test vector of the specification is in the tests.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import secrets

from standardwebhooks import Webhook

PREFIX = "whsec_"
#: Shortest and longest secret, in bytes (Standard Webhooks: 24 to 64).
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
#: How far a timestamp may lie from the receiver's clock (the reference libraries' value).
TOLERANCE = dt.timedelta(minutes=5)
GENERATE = (
    'python3 -c "import base64, secrets; '
    "print('whsec_' + base64.b64encode(secrets.token_bytes(32)).decode())\""
)


class SignatureError(ValueError):
    """A webhook that does not verify: the message says why."""


def generate_secret(size: int = 32) -> str:
    """A new secret: ``whsec_`` and the base64 of ``size`` random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(size)).decode("ascii")


def _decode(secret: str) -> bytes:
    body = secret[len(PREFIX) :]
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            f"a webhook secret after {PREFIX!r} must be base64 (A-Z, a-z, 0-9, +, /); "
            f"generate one with {GENERATE}"
        ) from None


def check_secret(secret: str) -> str:
    """``secret`` if it is a valid new secret, else :class:`ValueError` saying what to do."""
    if not secret.startswith(PREFIX):
        raise ValueError(
            f"a webhook secret must start with {PREFIX!r} and hold {MIN_SECRET_BYTES} to "
            f"{MAX_SECRET_BYTES} random bytes in base64 (Standard Webhooks); generate one "
            f"with {GENERATE}"
        )
    size = len(_decode(secret))
    if not MIN_SECRET_BYTES <= size <= MAX_SECRET_BYTES:
        raise ValueError(
            f"a webhook secret must hold {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} random "
            f"bytes; this one holds {size}; generate one with {GENERATE}"
        )
    return secret


def keys(stored: str) -> list[bytes]:
    """The HMAC keys of a stored secret (one or more, separated by spaces)."""
    return [_decode(s) if s.startswith(PREFIX) else s.encode("utf-8") for s in stored.split()]


def legacy(stored: str) -> str | None:
    """The first secret stored without the prefix (it signs ``X-Tocsin-Signature`` too)."""
    return next((s for s in stored.split() if not s.startswith(PREFIX)), None)


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` under ``key``."""
    moment = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return Webhook(key).sign(msg_id=msg_id, timestamp=moment, data=body)


def headers(stored: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every secret in ``stored``."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": " ".join(signature(k, msg_id, timestamp, body) for k in keys(stored)),
    }


def verify(
    secret: str,
    body: bytes,
    received: dict[str, str],
    *,
    now: dt.datetime,
    tolerance: dt.timedelta = TOLERANCE,
) -> None:
    """Check a received webhook as a receiver should; raise :class:`SignatureError`.

    The timestamp must lie within ``tolerance`` of ``now`` (replay), and one of the
    space-separated ``v1`` signatures must match (constant-time comparison).
    """
    lower = {k.lower(): v for k, v in received.items()}
    msg_id, stamp, given = (lower.get(f"webhook-{k}") for k in ("id", "timestamp", "signature"))
    if not (msg_id and stamp and given):
        raise SignatureError("webhook-id, webhook-timestamp and webhook-signature are required")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise SignatureError(f"webhook-timestamp {stamp!r} is not whole seconds") from None
    sent = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    if abs(now - sent) > tolerance:
        raise SignatureError(f"webhook-timestamp {sent.isoformat()} is outside the tolerance")
    expected = [signature(k, msg_id, timestamp, body) for k in keys(secret)]
    offered = given.split()
    if not any(hmac.compare_digest(e.encode(), o.encode()) for e in expected for o in offered):
        raise SignatureError("no signature matches")
