"""Reporting completeness (issue 14): due rules, arrival on time / late / missing per
series and period, and the alerts of source ``missing`` that the worker raises, escalates
and resolves when the data arrive. "Now" is injected everywhere; nothing sleeps."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from tocsin.alerting import missing
from tocsin.alerting.clock import ManualClock
from tocsin.alerting.models import Alert, DutyContact, Notification
from tocsin.alerting.settings import AlertingSettings
from tocsin.audit.models import AuditEntry
from tocsin.errors import UserError
from tocsin.monitoring import completeness, ingest
from tocsin.monitoring.due import DueRule, due_rule
from tocsin.monitoring.models import Jurisdiction
from tocsin.periods import PeriodKind, last_day, parse_periods, period_of
from tocsin.store import write_session
from tocsin.worker import Worker

BERLIN_TUESDAY_NOON = due_rule(2, "12:00", "Europe/Berlin")


def _ordinal(label: str) -> int:
    return int(parse_periods([label]).ordinals[0])


def _monday_after(label: str, hour: int = 10) -> dt.datetime:
    """10:00 UTC on the Monday after ISO week ``label`` (before Tuesday's deadline)."""
    sunday = last_day(PeriodKind.WEEK, _ordinal(label))
    return dt.datetime.combine(sunday + dt.timedelta(days=1), dt.time(hour), tzinfo=dt.UTC)


def test_deadlines_are_local_times_after_the_periods_last_day():
    rule = BERLIN_TUESDAY_NOON
    # 2024-W07 ends on Sunday 18 February; Tuesday noon in Berlin (CET) is 11:00 UTC.
    assert rule.deadline(PeriodKind.WEEK, _ordinal("2024-W07")) == dt.datetime(
        2024, 2, 20, 11, tzinfo=dt.UTC
    )
    # Summer time began on 31 March 2024: noon in Berlin is then 10:00 UTC.
    assert rule.deadline(PeriodKind.WEEK, _ordinal("2024-W13")) == dt.datetime(
        2024, 4, 2, 10, tzinfo=dt.UTC
    )
    monthly = due_rule(5, "09:00", "Asia/Shanghai")
    assert monthly.deadline(PeriodKind.MONTH, _ordinal("2024-02")) == dt.datetime(
        2024, 3, 5, 1, tzinfo=dt.UTC
    )
    quarterly = due_rule(30, "17:00", "Europe/London")  # 30 days after 30 June, BST
    assert quarterly.deadline(PeriodKind.QUARTER, _ordinal("2024-Q2")) == dt.datetime(
        2024, 7, 30, 16, tzinfo=dt.UTC
    )
    daily = due_rule(0, "23:30", None)
    assert daily.deadline(PeriodKind.DAY, _ordinal("2024-02-29")) == dt.datetime(
        2024, 2, 29, 23, 30, tzinfo=dt.UTC
    )


@given(
    st.sampled_from([PeriodKind.WEEK, PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.DAY]),
    st.dates(dt.date(2, 1, 1), dt.date(9998, 12, 31)),
)
def test_a_day_lies_in_its_period_and_the_period_ends_after_it(kind, day):
    ordinal = period_of(kind, day)
    assert last_day(kind, ordinal) >= day
    assert last_day(kind, ordinal - 1) < day


@given(st.integers(0, 60), st.dates(dt.date(1900, 1, 1), dt.date(2200, 1, 1)))
def test_later_periods_fall_due_later(days, day):
    rule = DueRule(days, dt.time(2, 30), "America/New_York")  # 02:30 may not exist locally
    for kind in (PeriodKind.WEEK, PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.DAY):
        ordinal = period_of(kind, day)
        assert rule.deadline(kind, ordinal) < rule.deadline(kind, ordinal + 1)


@pytest.mark.parametrize(
    ("days", "time", "zone", "says"),
    [
        (2, "25:00", None, "not a time of day like 12:00"),
        (2, "noon", None, "not a time of day"),
        (2, "12:00", "Mars/Olympus", "not an IANA time zone"),
        (400, None, None, "not between 0 and 366"),
        (None, "12:00", None, "needs the number of due days"),
    ],
)
def test_a_bad_due_rule_says_what_is_expected(days, time, zone, says):
    with pytest.raises(UserError, match=says):
        due_rule(days, time, zone)


def _ingest(engine, write_file, rows: list[tuple[str, str, float]], at: dt.datetime) -> None:
    lines = "period,jurisdiction,value\n" + "".join(f"{p},{j},{v}\n" for p, j, v in rows)
    path: Path = write_file(lines, f"cases-{at:%Y%m%d%H%M}-{len(rows)}.csv")
    ingest.ingest_file(engine, path, indicator="cases", actor="test", now=at)


def _set_rule(engine, rule=BERLIN_TUESDAY_NOON, now=None):
    with write_session(engine) as db:
        completeness.set_due(db, "cases", rule, actor="test", now=now or _monday_after("2024-W01"))


@pytest.fixture
def reporting(engine, write_file):
    """Weeks 2024-W01..W04 from A1, A2 and B1 on time; W05 from A1, A2 on time and from
    B1 on Thursday (late); W06 from A1 and A2 only (B1 fell silent)."""
    for week in ("2024-W01", "2024-W02", "2024-W03", "2024-W04"):
        _ingest(engine, write_file, [(week, j, 3) for j in ("A1", "A2", "B1")], _monday_after(week))
    _ingest(
        engine, write_file, [("2024-W05", j, 4) for j in ("A1", "A2")], _monday_after("2024-W05")
    )
    thursday = _monday_after("2024-W05") + dt.timedelta(days=3)
    _ingest(engine, write_file, [("2024-W05", "B1", 4)], thursday)
    _ingest(
        engine, write_file, [("2024-W06", j, 5) for j in ("A1", "A2")], _monday_after("2024-W06")
    )
    return engine


#: Wednesday after 2024-W06: W06's deadline (Tuesday 13 February, 11:00 UTC) has passed.
WEDNESDAY = _monday_after("2024-W06") + dt.timedelta(days=2)


def _ids(engine) -> dict[str, int]:
    with write_session(engine) as db:
        return dict(db.execute(select(Jurisdiction.code, Jurisdiction.id)).all())


def test_without_a_due_rule_nothing_is_tracked_and_nothing_raised(reporting):
    with write_session(reporting) as db:
        assert completeness.expected(db, now=WEDNESDAY) == []
        result = missing.check(db, now=WEDNESDAY)
    assert result.opened == []


def test_each_series_period_is_on_time_late_or_missing(reporting):
    _set_rule(reporting)
    with write_session(reporting) as db:
        rows = completeness.expected(db, now=WEDNESDAY)
    ids = _ids(reporting)
    b1 = {r.label: r for r in rows if r.jurisdiction_id == ids["B1"]}
    assert {label: r.status for label, r in b1.items()} == {
        "2024-W01": "on-time",
        "2024-W02": "on-time",
        "2024-W03": "on-time",
        "2024-W04": "on-time",
        "2024-W05": "late",
        "2024-W06": "missing",
    }
    # Due Tuesday 6 February 11:00 UTC, arrived Thursday 8 February 10:00 UTC.
    assert b1["2024-W05"].lateness == dt.timedelta(days=1, hours=23)
    assert b1["2024-W06"].arrived_at is None
    assert b1["2024-W06"].lateness == WEDNESDAY - b1["2024-W06"].deadline
    assert all(r.status == "on-time" for r in rows if r.jurisdiction_id != ids["B1"])
    summary = completeness.summarise(
        rows, {ids["DE"]: ids.values(), ids["DE-BW"]: [ids["DE-BW"], ids["B1"]]}
    )
    assert (summary[ids["DE-BW"]].expected, summary[ids["DE-BW"]].late) == (6, 1)
    assert summary[ids["DE-BW"]].missing == 1
    assert summary[ids["DE-BW"]].share == pytest.approx(5 / 6)
    assert (summary[ids["DE"]].expected, summary[ids["DE"]].on_time) == (18, 16)
    # Before W06's deadline W06 is not expected yet: nothing missing.
    tuesday = WEDNESDAY - dt.timedelta(days=1, hours=2)
    with write_session(reporting) as db:
        early = completeness.expected(db, now=tuesday)
    assert {r.label for r in early} == {f"2024-W0{i}" for i in range(1, 6)}


def test_a_revision_keeps_the_time_the_period_first_arrived(reporting, write_file):
    _set_rule(reporting)
    later = WEDNESDAY + dt.timedelta(days=20)
    _ingest(reporting, write_file, [("2024-W01", "A1", 9)], later)  # a correction
    with write_session(reporting) as db:
        rows = completeness.expected(db, now=WEDNESDAY + dt.timedelta(hours=1), periods=8)
    a1 = _ids(reporting)["A1"]
    [w01] = [r for r in rows if r.jurisdiction_id == a1 and r.label == "2024-W01"]
    assert (w01.status, w01.arrived_at) == ("on-time", _monday_after("2024-W01"))


def test_the_window_counts_back_from_the_newest_period_due(reporting):
    _set_rule(reporting)
    with write_session(reporting) as db:
        rows = completeness.expected(db, now=WEDNESDAY, periods=2)
    assert {r.label for r in rows} == {"2024-W05", "2024-W06"}


def test_missing_data_raise_one_alert_per_jurisdiction_that_climbs_and_resolves(
    reporting, write_file
):
    _set_rule(reporting)
    ids = _ids(reporting)
    with write_session(reporting) as db:
        db.add(DutyContact(jurisdiction_id=ids["DE-BW"], name="desk", email="bw@example.org"))
    with write_session(reporting) as db:
        first = missing.check(db, now=WEDNESDAY)
        assert missing.check(db, now=WEDNESDAY).opened == []  # no duplicate
    [alert_id] = first.opened
    with write_session(reporting) as db:
        alert = db.get(Alert, alert_id)
        assert (alert.source, alert.fingerprint, alert.level, alert.public) == (
            "missing",
            f"missing:{ids['B1']}",
            4,
            False,
        )
        assert alert.jurisdiction_id == ids["B1"]
        assert "District B1" in alert.headline and "1 series" in alert.headline
        assert "cases (Cases): 2024-W06" in alert.description
        told = db.scalars(select(Notification).where(Notification.alert_id == alert_id))
        # B1 has no duty contact: the alert climbs to its region's desk at once.
        assert [(n.reason, n.target) for n in told] == [("escalated", "bw@example.org")]
        audited = db.scalars(
            select(AuditEntry.action).where(AuditEntry.object_id == str(alert_id))
        ).all()
        assert "alert.raise" in audited
    # A week later A1 and A2 report W07, B1 still nothing: two periods, level III.
    next_week = WEDNESDAY + dt.timedelta(days=7)
    _ingest(reporting, write_file, [("2024-W07", j, 5) for j in ("A1", "A2")], next_week)
    with write_session(reporting) as db:
        assert missing.check(db, now=next_week).raised == [alert_id]
        alert = db.get(Alert, alert_id)
        assert alert.level == 3 and "2024-W06, 2024-W07" in alert.description
    # B1 sends W06 late: the alert names W07 only (same level: texts follow).
    _ingest(reporting, write_file, [("2024-W06", "B1", 2)], next_week + dt.timedelta(hours=1))
    with write_session(reporting) as db:
        result = missing.check(db, now=next_week + dt.timedelta(hours=2))
        assert result.updated == [alert_id]
        assert "2024-W06" not in db.get(Alert, alert_id).description
    # ... then W07: nothing is missing any more and the alert resolves itself.
    _ingest(reporting, write_file, [("2024-W07", "B1", 2)], next_week + dt.timedelta(hours=3))
    with write_session(reporting) as db:
        assert missing.check(db, now=next_week + dt.timedelta(hours=4)).resolved == [alert_id]
        assert db.get(Alert, alert_id).status == "resolved"


def test_when_no_series_reports_the_indicator_is_named_overdue(reporting):
    _set_rule(reporting)
    two_weeks_on = WEDNESDAY + dt.timedelta(days=14)
    with write_session(reporting) as db:
        [overdue] = completeness.overdue_indicators(db, now=two_weeks_on)
        assert (overdue.indicator, overdue.label) == ("cases", "2024-W07")
        assert completeness.overdue_indicators(db, now=WEDNESDAY) == []


def test_setting_and_clearing_a_due_rule_is_audited(reporting):
    _set_rule(reporting)
    _set_rule(reporting)  # unchanged: not audited again
    with write_session(reporting) as db:
        completeness.set_due(db, "cases", None, actor="test", now=WEDNESDAY)
        entries = db.scalars(
            select(AuditEntry).where(AuditEntry.action == "indicator.due").order_by(AuditEntry.id)
        ).all()
        assert [(e.before["due_days"], e.after["due_days"]) for e in entries] == [
            (None, 2),
            (2, None),
        ]
        assert completeness.expected(db, now=WEDNESDAY) == []


def test_the_worker_checks_for_missing_data_on_its_own_clock(reporting):
    _set_rule(reporting)
    clock = ManualClock(WEDNESDAY - dt.timedelta(days=2))  # before W06's deadline
    settings = AlertingSettings(public_url="http://tocsin.test")
    worker = Worker(reporting, clock=clock, settings=settings, missing_every=dt.timedelta(hours=1))
    try:
        worker.tick()
        with write_session(reporting) as db:
            assert db.scalars(select(Alert).where(Alert.source == "missing")).all() == []
        clock.advance(dt.timedelta(days=2))
        worker.tick()
        second = Worker(reporting, clock=clock, settings=settings, name="second")
        second.tick()  # a second worker finds the alert there: no duplicate
        second.close()
        with write_session(reporting) as db:
            found = db.scalars(select(Alert.fingerprint).where(Alert.source == "missing")).all()
        assert found == [f"missing:{_ids(reporting)['B1']}"]
    finally:
        worker.close()


def _outage_alerts(engine) -> list[Alert]:
    with write_session(engine) as db:
        found = db.scalars(
            select(Alert).where(Alert.source == "missing", Alert.fingerprint.like("%outage%"))
        ).all()
        db.expunge_all()
    return list(found)


def test_a_total_outage_raises_one_alert_at_the_root_of_the_indicators_tree(engine, write_file):
    """Every series of ``cases`` reports W01..W03 on time, then none reports again. The
    expected periods come from the due rule and the clock, not from what arrived: on the
    Wednesday after W05, W04 and W05 are missing everywhere. One alert, at the jurisdiction
    above all of the indicator's series (DE), climbs like any other and resolves when
    the data arrive."""
    for week in ("2024-W01", "2024-W02", "2024-W03"):
        _ingest(engine, write_file, [(week, j, 3) for j in ("A1", "A2", "B1")], _monday_after(week))
    _set_rule(engine)
    ids = _ids(engine)
    with write_session(engine) as db:
        db.add(DutyContact(jurisdiction_id=ids["DE"], name="desk", email="de@example.org"))
    before = _monday_after("2024-W04") + dt.timedelta(hours=3)  # W04 not yet due
    with write_session(engine) as db:
        assert missing.check(db, now=before).opened == []
    wednesday = _monday_after("2024-W05") + dt.timedelta(days=2)
    with write_session(engine) as db:
        first = missing.check(db, now=wednesday)
        assert missing.check(db, now=wednesday).opened == []  # no duplicate
    [alert_id] = first.opened
    with write_session(engine) as db:
        alert = db.get(Alert, alert_id)
        assert (alert.fingerprint, alert.jurisdiction_id, alert.level, alert.public) == (
            f"missing:outage:{alert.indicator_id}",
            ids["DE"],
            3,  # two periods
            False,
        )
        assert "Cases" in alert.headline and "no series" in alert.headline
        assert "2024-W04, 2024-W05" in alert.description and "3 series" in alert.description
        assert alert.headline_zh and "Cases" in alert.headline_zh
        told = db.scalars(select(Notification.target).where(Notification.alert_id == alert_id))
        assert list(told) == ["de@example.org"]
    # Two weeks on, still nothing: four periods, level II.
    later = wednesday + dt.timedelta(days=14)
    with write_session(engine) as db:
        assert missing.check(db, now=later).raised == [alert_id]
        assert "2024-W04, 2024-W05, 2024-W06, 2024-W07" in db.get(Alert, alert_id).description
    # A1 sends W04..W07: the outage is over (A2 and B1 now miss them: their own alerts).
    for week in ("2024-W04", "2024-W05", "2024-W06", "2024-W07"):
        _ingest(engine, write_file, [(week, "A1", 1)], later + dt.timedelta(hours=1))
    with write_session(engine) as db:
        result = missing.check(db, now=later + dt.timedelta(hours=2))
        assert result.resolved == [alert_id]
        assert db.get(Alert, alert_id).status == "resolved"
        found = set(
            db.scalars(
                select(Alert.fingerprint).where(Alert.source == "missing", Alert.status == "open")
            )
        )
    assert found == {f"missing:{ids['A2']}", f"missing:{ids['B1']}"}


def test_an_outage_of_an_indicator_of_one_district_is_raised_there(engine, write_file):
    _ingest(engine, write_file, [("2024-W01", "B1", 3)], _monday_after("2024-W01"))
    _set_rule(engine)
    wednesday = _monday_after("2024-W02") + dt.timedelta(days=2)
    b1 = _ids(engine)["B1"]
    with write_session(engine) as db:
        [alert_id] = missing.check(db, now=wednesday).opened
        alert = db.get(Alert, alert_id)
        assert (alert.jurisdiction_id, alert.level) == (b1, 4)
    # Clearing the due rule says the data are no longer expected: the alert resolves.
    with write_session(engine) as db:
        completeness.set_due(db, "cases", None, actor="test", now=wednesday)
    with write_session(engine) as db:
        assert missing.check(db, now=wednesday).resolved == [alert_id]


def test_the_worker_raises_an_outage_on_its_own_clock(engine, write_file):
    for week in ("2024-W01", "2024-W02"):
        _ingest(engine, write_file, [(week, j, 3) for j in ("A1", "A2")], _monday_after(week))
    _set_rule(engine)
    clock = ManualClock(_monday_after("2024-W03"))  # W03 not yet due
    settings = AlertingSettings(public_url="http://tocsin.test")
    worker = Worker(engine, clock=clock, settings=settings, missing_every=dt.timedelta(hours=1))
    try:
        worker.tick()
        assert _outage_alerts(engine) == []
        clock.advance(dt.timedelta(days=2))
        worker.tick()
        [alert] = _outage_alerts(engine)
        assert (alert.jurisdiction_id, alert.status) == (_ids(engine)["DE-BY"], "open")
    finally:
        worker.close()


def _ingest_strata(engine, write_file, rows: list[tuple[str, str, str]], at: dt.datetime) -> None:
    """Rows ``(period, jurisdiction, stratum)`` of ``cases``, value 3."""
    lines = "period,jurisdiction,stratum,value\n" + "".join(f"{p},{j},{s},3\n" for p, j, s in rows)
    path: Path = write_file(lines, f"strata-{at:%Y%m%d%H%M}-{len(rows)}.csv")
    ingest.ingest_file(engine, path, indicator="cases", actor="test", now=at)


def test_a_missing_data_alert_names_the_stratum_of_its_silent_series(engine, write_file):
    """Issue 16 ("an alert names its stratum"): A1 and A2 report ``cases`` by age group;
    A1's 65+ series falls silent in W04. Its alert names the stratum as a detection alert
    of that series would: the column (alert list, its filter, the alert page, the CSV),
    the headlines and the CAP parameter ``tocsin:stratum``. When A1's 0-14 series falls
    silent too the alert concerns two strata and names none."""
    from tocsin.alerting import queries
    from tocsin.alerting.cap import message as cap
    from tocsin.alerting.cap.render import cap_xml
    from tocsin.alerting.models import CapMessageRow

    strata = [(j, s) for j in ("A1", "A2") for s in ("0-14", "65+")]
    for week in ("2024-W01", "2024-W02", "2024-W03"):
        _ingest_strata(engine, write_file, [(week, j, s) for j, s in strata], _monday_after(week))
    w04 = [("2024-W04", j, s) for j, s in strata if (j, s) != ("A1", "65+")]
    _ingest_strata(engine, write_file, w04, _monday_after("2024-W04"))
    _set_rule(engine)
    a1 = _ids(engine)["A1"]
    wednesday = _monday_after("2024-W04") + dt.timedelta(days=2)
    with write_session(engine) as db:
        [alert_id] = missing.check(db, now=wednesday).opened
        alert = db.get(Alert, alert_id)
        assert (alert.jurisdiction_id, alert.stratum) == (a1, "65+")
        assert "District A1 (65+)" in alert.headline
        assert "（65+）" in alert.headline_zh
        assert "cases/65+ (Cases): 2024-W04" in alert.description
        listed = db.execute(queries.alerts([a1], stratum="65+")).all()
        assert [row[0].id for row in listed] == [alert_id]
        sender, ident = db.execute(
            select(CapMessageRow.sender, CapMessageRow.identifier).where(
                CapMessageRow.alert_id == alert_id
            )
        ).one()
        en, zh = cap.parse(cap_xml(db, sender, ident, AlertingSettings())).infos
        assert ("tocsin:stratum", "65+") in en.parameters
        assert ("tocsin:stratum", "65+") in zh.parameters
    # W05: A1 sends nothing at all; the alert now covers both of its strata.
    next_week = wednesday + dt.timedelta(days=7)
    w05 = [("2024-W05", "A2", s) for s in ("0-14", "65+")]
    _ingest_strata(engine, write_file, w05, _monday_after("2024-W05"))
    with write_session(engine) as db:
        assert missing.check(db, now=next_week).raised == [alert_id]
        alert = db.get(Alert, alert_id)
        assert alert.stratum is None
        assert "(65+)" not in alert.headline and "2 series" in alert.headline
    # A1 sends its 0-14 series (W04 was not missed, W05 is now): 65+ alone again, same
    # level (two periods): the texts and the stratum follow, and the change is audited.
    late = next_week + dt.timedelta(hours=1)
    _ingest_strata(engine, write_file, [("2024-W05", "A1", "0-14")], late)
    with write_session(engine) as db:
        assert missing.check(db, now=late + dt.timedelta(hours=1)).updated == [alert_id]
        alert = db.get(Alert, alert_id)
        assert (alert.level, alert.stratum) == (3, "65+")
        assert "District A1 (65+)" in alert.headline
        [change] = db.scalars(
            select(AuditEntry).where(
                AuditEntry.object_id == str(alert_id), AuditEntry.action == "alert.update"
            )
        ).all()
        assert change.after["stratum"] == "65+"
