"""Inhibition: an active alert mutes the notifications of others, never of a more serious
one (issue 9), and the rules are configurable as Alertmanager's ``inhibit_rules``.

Runs on SQLite and PostgreSQL (the ``store_engine`` fixture of tests/conftest.py).
"""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError
from tests.alerting.conftest import outbox_of

from tocsin.alerting import lifecycle
from tocsin.alerting.inhibit_rules import InhibitRule
from tocsin.alerting.matchers import Matcher
from tocsin.alerting.settings import AlertingSettings
from tocsin.store import write_session

T0 = dt.datetime(2024, 3, 4, 8, 0, tzinfo=dt.UTC)


def raise_(world, settings, code, level, now=T0, indicator="measles"):
    with write_session(world.engine) as session:
        return lifecycle.raise_alert(
            session,
            jurisdiction=code,
            indicator=indicator,
            level=level,
            headline=f"Measles {level} in {code}",
            by=f"duty-{code}",
            now=now,
            settings=settings,
        ).id


def outbox(world, alert_id):
    return outbox_of(world, alert_id, "status", "last_error")


def escalate(world, settings, now):
    with write_session(world.engine) as session:
        lifecycle.escalate_due(session, now=now, settings=settings)


def test_a_less_serious_alert_above_never_mutes_a_more_serious_one(world, settings) -> None:
    """The defect: a level IV regional alert muted a level I county alert and its
    escalation to the region's desk; nobody was told."""
    raise_(world, settings, "R", "IV")
    red = raise_(world, settings, "C1", "I")
    escalate(world, settings, T0 + dt.timedelta(hours=2))  # default policy: C1, P, R
    assert outbox(world, red) == [
        ("C1", "pending", None),
        ("P", "pending", None),
        ("R", "pending", None),
    ]


def test_an_alert_above_at_least_as_serious_inhibits(world, settings) -> None:
    raise_(world, settings, "P", "II")
    same = raise_(world, settings, "C1", "II")
    lower = raise_(world, settings, "C2", "IV")
    ((_, status, why),) = outbox(world, same)
    assert status == "suppressed" and why.startswith("inhibited by alert") and " in P" in why
    assert outbox(world, lower)[0][1] == "suppressed"
    # Not the other way round: an alert is not inhibited by one below it.
    up = raise_(world, settings, "R", "I")
    assert outbox(world, up) == [("R", "pending", None)]


def test_a_more_serious_alert_raised_later_inhibits_from_then_on(world, settings) -> None:
    county = raise_(world, settings, "C1", "III")
    raise_(world, settings, "P", "I", now=T0 + dt.timedelta(minutes=5))
    escalate(world, settings, T0 + dt.timedelta(minutes=40))  # step 1 -> P, muted
    assert [s for _, s, _ in outbox(world, county)] == ["pending", "suppressed"]


def test_configured_rules_replace_the_default(world, settings) -> None:
    """A rule like Alertmanager's: red and orange alerts above inhibit blue ones of the
    same indicator below; yellow ones are no longer inhibited."""
    configured = settings.model_copy(
        update={
            "inhibit_rules": [
                InhibitRule(
                    source_matchers=['level=~"I|II"'],
                    target_matchers=["level=IV"],
                    equal=["indicator"],
                )
            ]
        }
    )
    raise_(world, configured, "P", "II")
    yellow = raise_(world, configured, "C1", "III")
    blue = raise_(world, configured, "C2", "IV")
    assert outbox(world, yellow)[0][1] == "pending"
    assert outbox(world, blue)[0][1] == "suppressed"


def test_no_rule_inhibits_a_more_serious_alert_whatever_its_matchers(world, settings) -> None:
    configured = settings.model_copy(
        update={"inhibit_rules": [InhibitRule(source_matchers=["level=IV"], equal=["indicator"])]}
    )
    raise_(world, configured, "R", "IV")
    red = raise_(world, configured, "C1", "I")
    assert outbox(world, red)[0][1] == "pending"


def test_an_empty_rule_list_turns_inhibition_off(world, settings) -> None:
    off = settings.model_copy(update={"inhibit_rules": []})
    raise_(world, off, "P", "I")
    county = raise_(world, off, "C1", "IV")
    assert outbox(world, county)[0][1] == "pending"


def test_rules_from_the_environment_and_their_errors(monkeypatch) -> None:
    monkeypatch.setenv(
        "TOCSIN_INHIBIT_RULES",
        '[{"source_matchers": ["source=\\"manual\\""], "target_matchers": ["indicator!=flu"],'
        ' "equal": ["indicator"]}]',
    )
    (rule,) = AlertingSettings().inhibit_rules
    assert rule.source_matchers == [Matcher("source", "=", "manual")]
    assert rule.target_matchers == [Matcher("indicator", "!=", "flu")]
    for bad, says in (
        ('[{"source_matchers": ["colour=red"]}]', "unknown label 'colour'"),
        ('[{"source_matchers": ["level=~(I"]}]', "not a regular expression"),
        ('[{"source_matchers": ["level"]}]', 'label="value"'),
        ('[{"equal": ["colour"]}]', "equal: unknown label"),
    ):
        monkeypatch.setenv("TOCSIN_INHIBIT_RULES", bad)
        with pytest.raises(ValidationError, match=says):
            AlertingSettings()


@pytest.mark.parametrize(
    ("text", "value", "matches"),
    [
        ('level=~"I|II"', "II", True),
        ('level=~"I|II"', "III", False),  # anchored, as Alertmanager's
        ("level!~I", "II", True),
        ("indicator=measles", "measles", True),
        ("indicator!=measles", "measles", False),
        ('jurisdiction=~"C.*"', "C2", True),
    ],
)
def test_matchers(text, value, matches) -> None:
    label = text.split("=")[0].rstrip("!")
    assert Matcher.parse(text).matches({label: value}.get(label, "")) is matches


def test_a_drills_exercise_alert_never_mutes_a_real_one(world, settings) -> None:
    """An exercise at the province, then a real county alert: the county's desk is told
    (an exercise inhibiting it would silence a real hazard during a drill)."""
    with write_session(world.engine) as session:
        lifecycle.raise_alert(
            session, jurisdiction="P", indicator="measles", level="I",
            headline="Exercise: measles in P", by="drill", now=T0, settings=settings,
            exercise=True,
        )  # fmt: skip
    real = raise_(world, settings, "C1", "II", now=T0 + dt.timedelta(minutes=1))
    assert outbox(world, real) == [("C1", "pending", None)]
    # Nor from an earlier batch (the muter is built from the active alerts).
    later = raise_(world, settings, "C2", "II", now=T0 + dt.timedelta(minutes=2))
    assert outbox(world, later) == [("C2", "pending", None)]
