"""Webhooks signed as the Standard Webhooks specification asks (issue 9): the three
headers, ``v1`` HMAC-SHA256 over ``id.timestamp.body``, tolerance against replay, secret
rotation, a minimum secret length. Deliveries go to a real HTTP receiver on loopback and
are checked with the ``standardwebhooks`` package, as a receiver would.
"""

from __future__ import annotations

import base64
import datetime as dt
import time

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from tocsin.alerting import duty, lifecycle
from tocsin.alerting.clock import ManualClock
from tocsin.alerting.notify.channels import signing
from tocsin.alerting.notify.channels.base import OutgoingMessage
from tocsin.alerting.notify.channels.webhook import WebhookSender
from tocsin.errors import UserError
from tocsin.store import write_session
from tocsin.worker import Worker

NOTE = OutgoingMessage(
    idempotency_key="alert-1/step-0/contact-1/webhook",
    subject="s",
    body="b",
    alert_url="http://tocsin.test/alerts/1",
    cap_url="http://tocsin.test/cap/x.xml",
    payload={"alert_id": 1, "headline": "麻疹"},
)
SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
NEXT = "whsec_" + base64.b64encode(b"n" * 32).decode()


def test_the_specification_test_vector() -> None:
    """The example of the Standard Webhooks specification (spec/standard-webhooks.md)."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    msg_id, timestamp, body = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    (key,) = signing.keys(secret)
    assert signing.signature(key, msg_id, timestamp, body) == expected
    assert signing.headers(secret, msg_id, timestamp, body) == {
        "webhook-id": msg_id,
        "webhook-timestamp": "1614265330",
        "webhook-signature": expected,
    }
    signing.verify(
        secret,
        body,
        {"Webhook-Id": msg_id, "Webhook-Timestamp": "1614265330", "Webhook-Signature": expected},
        now=dt.datetime.fromtimestamp(timestamp + 60, dt.UTC),
    )


def test_a_delivery_carries_the_three_headers_and_verifies(webhook) -> None:
    inbox, url = webhook
    sender = WebhookSender(allowed_hosts=["127.0.0.1"])
    try:
        sender.send(url + "/hook", SECRET, NOTE)
    finally:
        sender.close()
    (request,) = inbox.requests
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["webhook-id"] == NOTE.idempotency_key
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    assert headers["webhook-signature"].startswith("v1,")
    assert "x-tocsin-signature" not in headers  # only for secrets of before
    # A receiver's library accepts it ...
    assert Webhook(SECRET).verify(request["body"], request["headers"])["headline"] == "麻疹"
    # ... and refuses a changed body.
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(request["body"].replace(b"1", b"2"), request["headers"])


def test_a_replayed_delivery_is_refused(webhook) -> None:
    """The timestamp is signed: an old message fails the receiver's tolerance."""
    inbox, url = webhook
    sender = WebhookSender(allowed_hosts=["127.0.0.1"], clock=lambda: time.time() - 600)
    try:
        sender.send(url + "/hook", SECRET, NOTE)
    finally:
        sender.close()
    (request,) = inbox.requests
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(SECRET).verify(request["body"], request["headers"])
    sent = int(request["headers"]["webhook-timestamp"])
    at = dt.datetime.fromtimestamp(sent, dt.UTC)
    signing.verify(SECRET, request["body"], request["headers"], now=at + dt.timedelta(minutes=4))
    with pytest.raises(signing.SignatureError, match="outside the tolerance"):
        signing.verify(
            SECRET, request["body"], request["headers"], now=at + dt.timedelta(minutes=6)
        )


def test_a_retry_keeps_its_id_and_signs_a_new_timestamp(webhook) -> None:
    inbox, url = webhook
    now = [1_700_000_000.0]
    sender = WebhookSender(allowed_hosts=["127.0.0.1"], clock=lambda: now[0])
    inbox.fail_next = 1
    try:
        with pytest.raises(Exception, match="503"):
            sender.send(url + "/hook", SECRET, NOTE)
        now[0] += 30
        sender.send(url + "/hook", SECRET, NOTE)
    finally:
        sender.close()
    (request,) = inbox.requests
    assert request["headers"]["webhook-id"] == NOTE.idempotency_key
    assert request["headers"]["webhook-timestamp"] == "1700000030"


def test_secret_rotation_signs_with_both_secrets(world, settings, webhook) -> None:
    inbox, _ = webhook
    ident = world.contacts["C1"]
    with write_session(world.engine) as session:
        duty.update_contact(session, ident, webhook_secret=SECRET, by="admin")
    with write_session(world.engine) as session:
        duty.update_contact(
            session, ident, webhook_secret=NEXT, keep_previous_secret=True, by="admin"
        )
    clock = ManualClock(dt.datetime.now(dt.UTC))
    with write_session(world.engine) as session:
        lifecycle.raise_alert(
            session, jurisdiction="C1", level="II", headline="Flooding", by="duty-C1",
            now=clock.now(), settings=settings,
        )  # fmt: skip
    worker = Worker(world.engine, clock=clock, settings=settings, name="w1")
    try:
        assert worker.tick().delivered == 1
    finally:
        worker.close()
    (request,) = inbox.requests
    assert len(request["headers"]["webhook-signature"].split()) == 2
    for receiver_secret in (SECRET, NEXT):  # receivers that switched and those that did not
        Webhook(receiver_secret).verify(request["body"], request["headers"])
    # Setting the new secret again ends the rotation; the audit says so, never the secret.
    with write_session(world.engine) as session:
        duty.update_contact(session, ident, webhook_secret=NEXT, by="admin")
        contact = duty.get_contact(session, ident)
        assert contact.webhook_secret == NEXT
        from tocsin.audit.models import AuditEntry

        afters = session.scalars(
            select(AuditEntry.after)
            .where(AuditEntry.action == "duty_contact.update")
            .order_by(AuditEntry.id)
        ).all()
    assert [a["webhook_secret"] for a in afters] == ["(set)", "(2 set, rotating)", "(set)"]
    assert all(SECRET not in str(a) and NEXT not in str(a) for a in afters)


@pytest.mark.parametrize(
    ("secret", "says"),
    [
        ("topsecret", "must start with 'whsec_'"),
        ("whsec_" + base64.b64encode(b"x" * 16).decode(), "24 to 64 random bytes; this one holds"),
        ("whsec_" + base64.b64encode(b"x" * 65).decode(), "this one holds 65"),
        ("whsec_not base64!", "must be base64"),
    ],
)
def test_a_secret_too_short_or_not_in_the_format_is_refused(world, secret, says) -> None:
    with write_session(world.engine) as session, pytest.raises(UserError, match=says):
        duty.add_contact(
            session, jurisdiction="C1", name="desk", webhook_url="https://hooks.example/x",
            webhook_secret=secret, by="admin",
        )  # fmt: skip


def test_a_secret_of_before_still_signs_with_both_headers(webhook) -> None:
    """Contacts set up before Standard Webhooks keep working until their secret changes."""
    inbox, url = webhook
    sender = WebhookSender(allowed_hosts=["127.0.0.1"])
    try:
        sender.send(url + "/hook", "old-secret", NOTE)
    finally:
        sender.close()
    (request,) = inbox.requests
    assert request["headers"]["X-Tocsin-Signature"].startswith("sha256=")
    Webhook(b"old-secret").verify(request["body"], request["headers"])


def test_generated_secrets_pass_the_check() -> None:
    assert signing.check_secret(signing.generate_secret()).startswith("whsec_")
