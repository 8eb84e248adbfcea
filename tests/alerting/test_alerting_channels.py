"""E-mail to a real aiosmtpd server and webhooks to a real HTTP server, on loopback."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from tocsin.alerting.notify.channels import (
    DeliveryError,
    OutgoingMessage,
    SmtpSettings,
    WebhookSender,
)
from tocsin.alerting.notify.channels.email import send_email
from tocsin.alerting.notify.channels.webhook import encode_payload, sign, verify

NOTE = OutgoingMessage(
    idempotency_key="n-42-0",
    subject="[tocsin] Level II (orange): measles in SK Delmenhorst",
    body="Alert 42\nhttp://x/alerts/42\nhttp://x/cap/tocsin.alert.42.1.xml\n",
    alert_url="http://x/alerts/42",
    cap_url="http://x/cap/tocsin.alert.42.1.xml",
    payload={"alert": 42, "headline": "麻疹", "cap_url": "http://x/cap/tocsin.alert.42.1.xml"},
)


def test_email_reaches_smtp_server(smtp) -> None:
    inbox, port = smtp
    settings = SmtpSettings(host="127.0.0.1", port=port, sender="alerts@tocsin.test")
    send_email(settings, "duty@county.test", NOTE)
    (message,) = inbox.messages
    assert message["To"] == "duty@county.test"
    assert message["Subject"] == NOTE.subject
    assert message["Message-ID"] == "<n-42-0@tocsin.test>"
    assert message["X-Tocsin-Idempotency-Key"] == "n-42-0"
    assert NOTE.cap_url in message.get_payload(decode=True).decode()


def test_email_refused_mailbox_is_permanent_and_password_hidden(smtp) -> None:
    inbox, port = smtp
    inbox.refuse.add("nobody@county.test")
    settings = SmtpSettings(host="127.0.0.1", port=port, password="s3cret")
    with pytest.raises(DeliveryError) as caught:
        send_email(settings, "nobody@county.test", NOTE)
    assert caught.value.transient is False
    assert "s3cret" not in repr(settings)


def test_email_server_down_is_transient(unused_port) -> None:
    with pytest.raises(DeliveryError) as caught:
        send_email(SmtpSettings(host="127.0.0.1", port=unused_port, timeout=2), "a@b.test", NOTE)
    assert caught.value.transient is True


def test_webhook_is_signed_with_hmac_sha256_and_carries_idempotency_key(webhook) -> None:
    inbox, url = webhook
    sender = WebhookSender(allowed_hosts=["127.0.0.1"])
    assert sender.send(url + "/hook?x=1", "topsecret", NOTE) == 200
    assert sender.send(url + "/hook?x=1", "topsecret", NOTE) == 200  # kept-alive connection
    sender.close()
    request = inbox.requests[0]
    assert request["path"] == "/hook?x=1"
    expected = hmac.new(b"topsecret", request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-Tocsin-Signature"] == f"sha256={expected}"
    assert verify("topsecret", request["body"], request["headers"]["X-Tocsin-Signature"])
    assert request["headers"]["Idempotency-Key"] == "n-42-0"
    assert inbox.bodies()[0]["headline"] == "麻疹"


def test_webhook_status_classification(webhook) -> None:
    inbox, url = webhook
    sender = WebhookSender(timeout=2, allowed_hosts=["127.0.0.1"])
    inbox.fail_next = 1
    with pytest.raises(DeliveryError) as caught:
        sender.send(url, "", NOTE)
    assert caught.value.transient
    inbox.status = 404
    with pytest.raises(DeliveryError) as caught:
        sender.send(url, "", NOTE)
    assert not caught.value.transient
    with pytest.raises(DeliveryError) as caught:
        sender.send("ftp://example.org/x", "", NOTE)
    assert not caught.value.transient


def test_sign_is_rfc_2104_hmac() -> None:
    # RFC 4231 test case 2 (HMAC-SHA-256).
    digest = sign("Jefe", b"what do ya want for nothing?")
    assert digest == "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert encode_payload({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://10.0.0.5/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0/hook",
        "http://2130706433/hook",
    ],
)
def test_a_webhook_to_an_internal_address_is_refused_before_any_connection(url) -> None:
    """Server-side request forgery: refused at delivery (nothing is sent) unless the host
    is in TOCSIN_WEBHOOK_ALLOWED_HOSTS."""
    from tocsin.alerting.notify.channels.webhook import ForbiddenDestinationError, check_destination

    with pytest.raises(ForbiddenDestinationError, match="TOCSIN_WEBHOOK_ALLOWED_HOSTS"):
        check_destination(url)
    with pytest.raises(DeliveryError) as caught:
        WebhookSender(timeout=2).send(url, "", NOTE)
    assert not caught.value.transient and "internal address" in str(caught.value)


def test_the_allow_list_lets_named_hosts_and_networks_through(webhook) -> None:
    from tocsin.alerting.notify.channels.webhook import check_destination

    inbox, url = webhook
    check_destination("http://10.1.2.3/x", ["10.0.0.0/8"])
    check_destination("http://localhost:1/x", ["localhost"])
    check_destination("https://hooks.example/x")  # public (or unknown) names pass
    assert WebhookSender(allowed_hosts=["127.0.0.0/8"]).send(url, "", NOTE) == 200
    assert len(inbox.requests) == 1
