"""Alerts from signals, grouping, lifecycle, escalation, silences, inhibition, CAP.

Runs on SQLite and PostgreSQL (the ``store_engine`` fixture of tests/conftest.py).
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from capparselib.parsers import CAPParser
from sqlalchemy import func, select

from tocsin.alerting import duty, grouping, lifecycle, queries, rules, silences
from tocsin.alerting.cap import message as cap
from tocsin.alerting.cap.feed import public_feed
from tocsin.alerting.cap.render import cap_xml
from tocsin.alerting.clock import ManualClock
from tocsin.alerting.escalation import EscalationStep
from tocsin.alerting.grouping import SignalIn
from tocsin.alerting.models import Alert, CapMessageRow, Notification
from tocsin.alerting.severity import SeverityRule
from tocsin.errors import ConflictError, UserError
from tocsin.store import write_session

T0 = dt.datetime(2024, 3, 4, 8, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)
WEEK = 2830  # an ISO week ordinal


#: Tail probabilities that give levels IV, III, II and I under the default rule.
TAIL = {4: 5e-3, 3: 5e-4, 2: 5e-5, 1: 5e-6}


def sig(world, code, period, observed, upper=10.0, alarm=None):
    """A signal whose tail probability grows with ``observed / upper`` (below 1.5: the
    level IV of its alarm; 1.5, 2, 3 times the bound: levels III, II, I)."""
    ratio = observed / upper
    level = 1 if ratio >= 3 else 2 if ratio >= 2 else 3 if ratio >= 1.5 else 4
    return SignalIn(
        world.series[code],
        period,
        observed > upper if alarm is None else alarm,
        observed,
        5.0,
        upper,
        tail_probability=TAIL[level],
        method="farrington_flexible",
    )


def process(world, signals, settings, now=T0):
    with write_session(world.engine) as session:
        return grouping.process_signals(session, signals, now=now, settings=settings)


def detail(world, alert_id):
    with write_session(world.engine) as session:
        return queries.alert_detail(session, alert_id)


def check_cap(world, settings, alert_id):
    """Every CAP message of the alert is valid CAP 1.2 and readable by capparselib."""
    parsed = []
    with write_session(world.engine) as session:
        idents = session.execute(
            select(CapMessageRow.sender, CapMessageRow.identifier)
            .where(CapMessageRow.alert_id == alert_id)
            .order_by(CapMessageRow.id)
        ).all()
        for sender, ident in idents:
            xml = cap_xml(session, sender, ident, settings)
            cap.validate(xml, ident)
            (alert,) = CAPParser(xml.decode()).as_dict()
            assert [str(i["cap_language"]) for i in alert["cap_info"]] == ["en-US", "zh-CN"]
            parsed.append(cap.parse(xml))
    return parsed


def notifications(world, alert_id=None):
    with write_session(world.engine) as session:
        query = select(Notification).order_by(Notification.id)
        if alert_id is not None:
            query = query.where(Notification.alert_id == alert_id)
        return session.scalars(query).all()


def test_alarms_open_one_alert_per_series_and_update_it(world, settings) -> None:
    first = process(world, [sig(world, "C1", WEEK, 15.0)], settings)
    assert len(first.opened) == 1
    alert_id = first.opened[0]
    again = process(world, [sig(world, "C1", WEEK, 15.0)], settings)  # idempotent
    assert again.opened == again.updated == again.resolved == []
    second = process(world, [sig(world, "C1", WEEK + 1, 35.0)], settings)
    assert second.updated == [alert_id] and second.opened == []
    info = detail(world, alert_id)
    assert info.alert.level == 1 and info.alert.status == "open"
    assert [t.action for t in info.transitions] == ["open", "update"]
    messages = check_cap(world, settings, alert_id)
    assert [m.msg_type for m in messages] == ["Alert", "Update"]
    assert messages[1].references == (messages[0].reference(),)
    en, zh = messages[1].infos
    assert en.severity == "Extreme" and en.categories == ("Health",)
    assert ("tocsin:colour", "red") in en.parameters
    assert en.areas[0].geocodes == (("tocsin:jurisdiction", "C1"),)
    assert en.areas[0].polygons[0].startswith("39.0000,116.0000")
    assert zh.areas[0].description == "一县" and "麻疹" in zh.headline
    assert "2024-W" in en.description
    with write_session(world.engine) as session:
        count = session.scalar(select(func.count()).select_from(Alert))
    assert count == 1
    reasons = [n.reason for n in notifications(world, alert_id)]
    assert reasons == ["opened", "updated"]


def test_auto_resolution_after_quiet_periods(world, settings) -> None:
    (alert_id,) = process(world, [sig(world, "C1", WEEK, 15.0)], settings).opened
    assert process(world, [sig(world, "C1", WEEK + 1, 3.0)], settings).resolved == []
    result = process(world, [sig(world, "C1", WEEK + 2, 3.0)], settings)
    assert result.resolved == [alert_id]
    info = detail(world, alert_id)
    assert info.alert.status == "resolved" and info.alert.next_escalation_at is None
    assert info.transitions[-1].action == "auto-resolve"
    messages = check_cap(world, settings, alert_id)
    assert messages[-1].msg_type == "Update"
    assert messages[-1].infos[0].urgency == "Past"
    assert messages[-1].infos[0].response_types == ("AllClear",)
    assert [n.reason for n in notifications(world, alert_id)] == ["opened", "resolved"]
    # Old alarms seen again (a run re-evaluating history) do not reopen it; a new one does.
    assert process(world, [sig(world, "C1", WEEK, 15.0)], settings).opened == []
    assert len(process(world, [sig(world, "C1", WEEK + 5, 15.0)], settings).opened) == 1


def test_open_and_resolve_in_one_batch_and_rule_grouping(world, settings) -> None:
    with write_session(world.engine) as session:
        rules.set_rule(
            session,
            indicator="measles",
            group_by="indicator",
            resolve_after_periods=1,
            min_level="III",
            by="analyst",
        )
    signals = [
        sig(world, "C1", WEEK, 11.0),  # level IV: below min_level III, no alert
        sig(world, "C2", WEEK, 16.0),
        sig(world, "C1", WEEK + 1, 25.0),
        sig(world, "C2", WEEK + 1, 2.0),
        sig(world, "C1", WEEK + 2, 2.0),
        sig(world, "C2", WEEK + 2, 2.0),
    ]
    result = process(world, signals, settings)
    assert len(result.opened) == 1 and result.resolved == result.opened
    info = detail(world, result.opened[0])
    assert info.alert.fingerprint == f"indicator:{world.indicator}"
    assert info.alert.first_period == WEEK and info.alert.last_alarm_period == WEEK + 1
    assert info.alert.level == 2
    assert info.notifications == []  # over before anyone could act: recorded, not called
    assert [m.msg_type for m in info.messages] == ["Alert", "Update"]


def test_ears_c3_statistic_never_makes_a_small_count_red(world, settings) -> None:
    """EARS C3 off a constant baseline: statistic 7.8 (read as an exceedance ratio
    before, so level I), 2 cases; then the lagged terms alone alarm with 0 cases and an
    upper bound of -inf. The level comes from the tail probability, capped by the
    minimum counts; the zero count raises nothing."""

    def c3(period, observed, upper, tail, code="C1"):
        return SignalIn(
            world.series[code], period, True, observed, 0.1, upper,
            tail_probability=tail, method="ears_c3",
        )  # fmt: skip

    (alert_id,) = process(world, [c3(WEEK, 2.0, 0.78, 0.0)], settings).opened
    assert process(world, [c3(WEEK + 1, 0.0, -math.inf, 1.0)], settings).updated == []
    info = detail(world, alert_id)
    assert info.alert.level == 4 and info.alert.observed == 2.0
    assert info.alert.severity_basis["level_by_probability"] == 1
    assert info.alert.severity_basis["min_count"] == 1
    assert info.alert.severity_basis["method"] == "ears_c3"
    # A zero count alone opens nothing, whatever the detector says.
    assert process(world, [c3(WEEK, 0.0, -math.inf, 0.0, "C2")], settings).opened == []
    # 3 cases with the bound -inf, then quiet: the all-clear says "no bound", not "-inf".
    quiet = [sig(world, "C1", WEEK + k, 0.0, alarm=False) for k in (3, 4)]
    assert process(world, [c3(WEEK + 2, 3.0, -math.inf, 0.0), *quiet], settings).resolved
    messages = check_cap(world, settings, alert_id)
    for message in messages:
        en, zh = message.infos
        assert en.severity == "Minor" and "inf" not in en.description.lower()
        assert "inf" not in zh.description.lower() and "exceedance" not in en.description
    en, zh = messages[-1].infos
    # A public message gives 3 cases as "fewer than 5" (issue 10) and then leaves out
    # the tail probability, which would give the small count away.
    assert "Observed fewer than 5 cases" in en.description and "no bound" in en.description
    assert "无上限" in zh.description and "tail probability" not in en.description
    assert not any(name == "tocsin:tail_probability" for name, _ in en.parameters)


def test_history_loaded_at_once_gives_one_alert_per_episode(world, settings) -> None:
    """A season's alarms, quiet weeks, then the next season's: two alerts, each with the
    level of its own alarms (before, one alert spanned both seasons and kept the level
    of last year's peak while showing this year's count)."""
    last_season = [sig(world, "C1", WEEK, 40.0), sig(world, "C1", WEEK + 1, 25.0)]
    summer = [sig(world, "C1", WEEK + k, 3.0) for k in range(2, 40)]
    this_season = [sig(world, "C1", WEEK + 40, 11.0), sig(world, "C1", WEEK + 41, 12.0)]
    result = process(world, [*last_season, *summer, *this_season], settings)
    assert len(result.opened) == 2 and len(result.resolved) == 1
    with write_session(world.engine) as session:
        alerts = session.scalars(select(Alert).order_by(Alert.id)).all()
        session.expunge_all()
    old, new = alerts
    assert (old.status, old.level, old.first_period, old.last_alarm_period) == (
        "resolved",
        1,
        WEEK,
        WEEK + 1,
    )
    assert (new.status, new.level, new.first_period, new.last_alarm_period) == (
        "open",
        4,
        WEEK + 40,
        WEEK + 41,
    )
    assert new.severity_basis["observed"] == 12.0 and new.observed == 12.0
    # Only the alert that is still open called anyone.
    assert notifications(world, old.id) == [] and notifications(world, new.id)
    # The same history again changes nothing; the next season's end resolves the alert.
    again = process(world, [*last_season, *summer, *this_season], settings)
    assert again.opened == again.updated == again.resolved == []
    quiet = [sig(world, "C1", WEEK + 42, 2.0), sig(world, "C1", WEEK + 43, 2.0)]
    assert process(world, quiet, settings).resolved == [new.id]


def test_an_active_alert_ends_when_a_batch_shows_its_episode_is_over(world, settings) -> None:
    (first,) = process(world, [sig(world, "C1", WEEK, 25.0)], settings).opened
    later = [sig(world, "C1", WEEK + k, 2.0) for k in (1, 2, 3)] + [
        sig(world, "C1", WEEK + 4, 16.0)
    ]
    result = process(world, later, settings)
    assert result.resolved == [first] and len(result.opened) == 1
    with write_session(world.engine) as session:
        levels = [(a.status, a.level) for a in session.scalars(select(Alert).order_by(Alert.id))]
    assert levels == [("resolved", 2), ("open", 3)]


def test_level_needs_both_the_tail_probability_and_the_count(world, settings) -> None:
    with write_session(world.engine) as session:
        rules.set_rule(
            session,
            indicator="measles",
            severity_rule=SeverityRule(cutoffs=(0.01, 1e-3, 1e-4), min_counts=(2, 5, 8, 50)),
            by="analyst",
        )

    def signal(code, observed, tail):
        return SignalIn(world.series[code], WEEK, True, observed, 1.0, 4.0, tail_probability=tail)

    result = process(
        world,
        [signal("C1", 1.0, 1e-9), signal("C2", 12.0, 1e-9), signal("P", 60.0, 0.005)],
        settings,
    )
    levels = {}
    with write_session(world.engine) as session:
        for alert_id in result.opened:
            alert = session.get(Alert, alert_id)
            levels[alert.series_id] = (alert.level, alert.tail_probability)
    assert levels == {world.series["C2"]: (2, 1e-9), world.series["P"]: (3, 0.005)}


def test_escalation_climbs_until_acknowledged(world, settings) -> None:
    clock = ManualClock(T0)
    with write_session(world.engine) as session:  # inherited by P and C1 from R
        duty.set_policy(
            session,
            jurisdiction="R",
            steps=[
                EscalationStep(0 * MIN, 0),
                EscalationStep(15 * MIN, 1),
                EscalationStep(15 * MIN, 2),
            ],
            by="admin",
        )
    (alert_id,) = process(world, [sig(world, "C1", WEEK, 15.0)], settings, clock.now()).opened
    targets = lambda: [n.target.rsplit("/", 1)[1] for n in notifications(world, alert_id)]  # noqa: E731
    assert targets() == ["C1"]
    clock.advance(14 * MIN)
    with write_session(world.engine) as session:
        assert lifecycle.escalate_due(session, now=clock.now(), settings=settings) == 0
    clock.advance(1 * MIN)
    with write_session(world.engine) as session:
        assert lifecycle.escalate_due(session, now=clock.now(), settings=settings) == 1
    assert targets() == ["C1", "P"]
    with write_session(world.engine) as session:
        lifecycle.acknowledge(session, alert_id, by="duty-P", comment="on it", now=clock.now())
    clock.advance(dt.timedelta(hours=3))
    with write_session(world.engine) as session:
        assert lifecycle.escalate_due(session, now=clock.now(), settings=settings) == 0
    assert targets() == ["C1", "P"]
    info = detail(world, alert_id)
    ack = info.transitions[-1]
    assert (ack.action, ack.actor, ack.comment, ack.at) == (
        "acknowledge",
        "duty-P",
        "on it",
        clock.now() - dt.timedelta(hours=3),
    )
    assert [n.payload["escalation_step"] for n in info.notifications] == [0, 1]
    assert [m.msg_type for m in check_cap(world, settings, alert_id)] == ["Alert"]  # internal


def test_default_policy_climbs_to_the_root(world, settings) -> None:
    (alert_id,) = process(world, [sig(world, "C2", WEEK, 15.0)], settings).opened
    with write_session(world.engine) as session:
        lifecycle.escalate_due(session, now=T0 + dt.timedelta(hours=5), settings=settings)
    targets = [n.target.rsplit("/", 1)[1] for n in notifications(world, alert_id)]
    assert targets == ["C2", "P", "R"]


def test_silence_and_inhibition_mute_notifications_not_alerts(world, settings) -> None:
    with write_session(world.engine) as session:
        silences.add_silence(
            session,
            jurisdiction="P",
            indicator="measles",
            levels=["IV", "III"],
            starts_at=T0 - MIN,
            ends_at=T0 + dt.timedelta(hours=1),
            by="duty-P",
            comment="known outbreak",
        )
    (silenced,) = process(world, [sig(world, "C1", WEEK, 15.0)], settings).opened
    (loud,) = process(world, [sig(world, "C2", WEEK, 40.0)], settings).opened  # level I
    (muted_note,) = notifications(world, silenced)
    assert muted_note.status == "suppressed" and "silenced by silence" in muted_note.last_error
    assert notifications(world, loud)[0].status == "pending"
    # An active alert in the prefecture inhibits the same indicator below it.
    process(world, [sig(world, "P", WEEK, 40.0)], settings)
    with write_session(world.engine) as session:
        manual = lifecycle.raise_alert(
            session,
            jurisdiction="C1",
            indicator="measles",
            level="red",
            headline="Measles outbreak confirmed",
            by="duty-C1",
            now=T0,
            settings=settings,
        )
    (inhibited,) = notifications(world, manual.id)
    assert inhibited.status == "suppressed" and "inhibited by alert" in inhibited.last_error
    with write_session(world.engine) as session:
        visible = {a.id for a in queries.list_alerts(session, active_only=True, jurisdiction="P")}
    assert {silenced, loud, manual.id} <= visible


def test_lifecycle_rules_and_cancel(world, settings) -> None:
    (alert_id,) = process(world, [sig(world, "C1", WEEK, 15.0)], settings).opened
    with write_session(world.engine) as session, pytest.raises(UserError):
        lifecycle.acknowledge(session, alert_id, by=" ", now=T0)
    with write_session(world.engine) as session:
        lifecycle.cancel(session, alert_id, by="duty-C1", comment="data error", now=T0 + MIN)
    with write_session(world.engine) as session, pytest.raises(ConflictError):
        lifecycle.acknowledge(session, alert_id, by="duty-C1", now=T0 + MIN)
    messages = check_cap(world, settings, alert_id)
    assert messages[-1].msg_type == "Cancel"
    assert [r.identifier for r in messages[-1].references] == [messages[0].identifier]
    info = detail(world, alert_id)
    assert [(t.from_status, t.to_status) for t in info.transitions] == [
        (None, "open"),
        ("open", "cancelled"),
    ]
    assert [n.reason for n in info.notifications] == ["opened", "cancelled"]


def test_manual_alert_is_published_and_in_the_feed(world, settings) -> None:
    with write_session(world.engine) as session:
        alert = lifecycle.raise_alert(
            session,
            jurisdiction="P",
            level="II",
            headline="Flooding expected",
            headline_zh="预计发生洪水",
            by="duty-P",
            now=T0,
            settings=settings,
        )
        hidden = lifecycle.raise_alert(
            session,
            jurisdiction="C2",
            level="IV",
            headline="Internal check",
            public=False,
            by="duty-C2",
            now=T0,
            settings=settings,
        )
    (message,) = check_cap(world, settings, alert.id)
    assert message.infos[0].certainty == "Observed" and message.infos[1].headline == "预计发生洪水"
    assert check_cap(world, settings, hidden.id)[0].scope == "Restricted"
    with write_session(world.engine) as session:
        xml = public_feed(session, settings, T0)
        (hidden_row,) = queries.alert_detail(session, hidden.id).messages
        with pytest.raises(UserError):
            cap_xml(session, hidden_row.sender, hidden_row.identifier, settings, public_only=True)
        (shown_row,) = queries.alert_detail(session, alert.id).messages
    parsed = CAPParser(xml.decode()).as_dict()
    assert [str(a["cap_id"]) for a in parsed] == [shown_row.identifier]
    assert b"http://tocsin.test/cap/feed.atom" in xml


def _contact_audit(world):
    from tocsin.audit.models import AuditEntry

    with write_session(world.engine) as session:
        rows = session.execute(
            select(AuditEntry.action, AuditEntry.object_id, AuditEntry.before, AuditEntry.after)
            .where(AuditEntry.action.startswith("duty_contact."))
            .order_by(AuditEntry.id)
        ).all()
    return [tuple(r) for r in rows]


def test_update_a_contact_with_the_rules_of_creation(world, settings) -> None:
    from tocsin.alerting.models import DutyContact
    from tocsin.errors import NotFoundError

    ident = world.contacts["C1"]
    with write_session(world.engine) as session:
        duty.update_contact(session, ident, name="night desk", email="night@c1.example", by="admin")
    with write_session(world.engine) as session:
        contact = session.get(DutyContact, ident)
        assert (contact.name, contact.email) == ("night desk", "night@c1.example")
        assert contact.webhook_url.endswith("/hook/C1") and contact.active
    for changes, message in (
        ({"email": "", "webhook_url": ""}, "needs an e-mail address or a webhook URL"),
        ({"webhook_url": "ftp://c1.example/hook"}, "must start with http:// or https://"),
        ({"name": "  "}, "needs a name"),
    ):
        with write_session(world.engine) as session, pytest.raises(UserError, match=message):
            duty.update_contact(session, ident, **changes, by="admin")
    with write_session(world.engine) as session, pytest.raises(NotFoundError):
        duty.update_contact(session, 999_999, name="nobody", by="admin")
    # Only the valid change is audited, with the contact before and after; never the secret.
    ((action, object_id, before, after),) = _contact_audit(world)
    assert (action, object_id) == ("duty_contact.update", str(ident))
    assert (before["name"], before["email"]) == ("duty C1", None)
    assert (after["name"], after["email"], after["active"]) == (
        "night desk",
        "night@c1.example",
        True,
    )
    assert before["webhook_secret"] == after["webhook_secret"] == "(set)"
    assert after["jurisdiction"] == "C1"


def test_deactivated_contact_gets_no_notification_until_reactivated(world, settings) -> None:
    clock = ManualClock(T0)
    with write_session(world.engine) as session:  # notify C1, again after an hour
        duty.set_policy(
            session,
            jurisdiction="R",
            steps=[EscalationStep(0 * MIN, 0)],
            repeats=1,
            repeat_interval_minutes=60,
            by="admin",
        )
        duty.update_contact(session, world.contacts["C1"], active=False, by="admin")
    (alert_id,) = process(world, [sig(world, "C1", WEEK, 15.0)], settings, clock.now()).opened
    assert notifications(world, alert_id) == []  # the only contact of C1 is off duty
    # C2's contact is still notified.
    (other,) = process(world, [sig(world, "C2", WEEK, 15.0)], settings, clock.now()).opened
    assert [n.target.rsplit("/", 1)[1] for n in notifications(world, other)] == ["C2"]
    # Nobody on duty in C1: both rounds moved on at once (issue 9), as the timeline says.
    skips = [t for t in detail(world, alert_id).transitions if t.action == "escalation-skip"]
    assert [t.comment.split(":")[0] for t in skips] == ["step 0", "step 1"]
    assert "nobody on duty in C1" in skips[0].comment
    with write_session(world.engine) as session:
        duty.update_contact(session, world.contacts["C1"], active=True, by="admin")
    clock.advance(60 * MIN)
    with write_session(world.engine) as session:
        alert_id = lifecycle.raise_alert(
            session, jurisdiction="C1", level="I", headline="Measles", by="duty-C1",
            now=clock.now(), settings=settings,
        ).id  # fmt: skip
    (again,) = notifications(world, alert_id)
    assert again.contact_id == world.contacts["C1"] and again.target.endswith("/hook/C1")
    assert [(a, b["active"], c["active"]) for a, _, b, c in _contact_audit(world)] == [
        ("duty_contact.deactivate", True, False),
        ("duty_contact.reactivate", False, True),
    ]
    # Deactivating keeps the row, so past notifications still name their contact.
    with write_session(world.engine) as session:
        duty.update_contact(session, world.contacts["C1"], active=False, by="admin")
    assert notifications(world, alert_id)[0].contact_id == world.contacts["C1"]


def test_policy_limits_are_checked_by_the_service(world, settings) -> None:
    for steps, repeats, interval, message in (
        ([EscalationStep(527_041 * MIN, 0)], 0, 60, "step 1: the wait must be 0 to 527040"),
        ([EscalationStep(0 * MIN, 21)], 0, 60, "levels up must be 0 to 20"),
        ([EscalationStep(0 * MIN, 0)], 1001, 60, "repeats must be 0 to 1000"),
        ([EscalationStep(0 * MIN, 0)], 0, 0, "repeat interval must be 1 to 527040"),
    ):
        with write_session(world.engine) as session, pytest.raises(UserError, match=message):
            duty.set_policy(
                session,
                jurisdiction="R",
                steps=steps,
                repeats=repeats,
                repeat_interval_minutes=interval,
                by="admin",
            )
