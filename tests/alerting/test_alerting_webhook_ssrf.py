"""A webhook contact to a loopback or private address is refused when it is saved, and
again at delivery (a host name may resolve elsewhere later), unless an administrator
allows the host with TOCSIN_WEBHOOK_ALLOWED_HOSTS (issue 18)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from tocsin.alerting import duty, lifecycle
from tocsin.alerting.clock import ManualClock
from tocsin.alerting.models import DutyContact, Notification
from tocsin.alerting.settings import AlertingSettings, get_alerting_settings
from tocsin.errors import UserError
from tocsin.store import write_session
from tocsin.worker import Worker

T0 = dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def no_allowed_hosts(monkeypatch):
    monkeypatch.delenv("TOCSIN_WEBHOOK_ALLOWED_HOSTS", raising=False)
    get_alerting_settings.cache_clear()
    yield
    get_alerting_settings.cache_clear()


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/hook", "http://localhost/hook", "http://10.9.8.7/x"]
)
def test_a_contact_to_an_internal_host_is_refused_on_creation(world, no_allowed_hosts, url):
    refused = pytest.raises(UserError, match="TOCSIN_WEBHOOK_ALLOWED_HOSTS")
    with refused, write_session(world.engine) as session:
        duty.add_contact(session, jurisdiction="C1", name="desk", webhook_url=url, by="t")
    contact = world.contacts["C1"]
    refused = pytest.raises(UserError, match="internal address")
    with refused, write_session(world.engine) as session:
        duty.update_contact(session, contact, webhook_url=url, by="t")


def test_the_allow_list_admits_a_host(world, monkeypatch):
    monkeypatch.setenv("TOCSIN_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1, hooks.internal")
    get_alerting_settings.cache_clear()
    try:
        with write_session(world.engine) as session:
            duty.add_contact(
                session, jurisdiction="C1", name="desk", webhook_url="http://127.0.0.1:9/h", by="t"
            )
    finally:
        get_alerting_settings.cache_clear()


def test_delivery_checks_again_and_sends_nothing(world, webhook, settings):
    """A contact stored before the rule (or whose name now resolves inside) is not called:
    the delivery fails permanently and the receiver sees no request."""
    inbox, url = webhook
    strict = AlertingSettings(**{**settings.model_dump(), "webhook_allowed_hosts": ""})
    with write_session(world.engine) as session:
        session.execute(update(DutyContact).values(webhook_url=f"{url}/hook"))
        lifecycle.raise_alert(
            session, jurisdiction="C1", level="II", headline="Flood", by="duty", now=T0,
            settings=strict,
        )  # fmt: skip
    worker = Worker(world.engine, clock=ManualClock(T0), settings=strict, name="strict")
    try:
        assert worker.tick().delivered == 0
    finally:
        worker.close()
    assert inbox.requests == []
    with world.engine.connect() as conn:
        errors = conn.scalars(select(Notification.last_error)).all()
    assert errors and all("TOCSIN_WEBHOOK_ALLOWED_HOSTS" in (e or "") for e in errors)
