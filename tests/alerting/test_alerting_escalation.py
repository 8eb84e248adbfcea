"""Escalation policies: steps, repeats, inheritance, what is due when."""

from __future__ import annotations

import datetime as dt

import pytest

from tocsin.alerting.clock import ManualClock
from tocsin.alerting.escalation import (
    EscalationPolicy,
    EscalationStep,
    default_policy,
    due_steps,
    effective_policy,
    exhausted_at,
    plan_steps,
)

T0 = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)

POLICY = EscalationPolicy(
    (EscalationStep(0 * MIN, 0), EscalationStep(15 * MIN, 1), EscalationStep(60 * MIN, 5)),
    repeats=1,
    repeat_interval=120 * MIN,
)


def test_deadlines_follow_steps_and_repeats() -> None:
    deadlines = [POLICY.due_at(T0, i) for i in range(POLICY.total_steps + 1)]
    assert deadlines == [
        T0,
        T0 + 15 * MIN,
        T0 + 75 * MIN,
        T0 + 195 * MIN,
        T0 + 210 * MIN,
        T0 + 270 * MIN,
        None,
    ]


def test_due_steps_over_hours_with_a_manual_clock() -> None:
    clock = ManualClock(T0)
    chain = 3  # county, prefecture, region
    assert [d.target for d in due_steps(POLICY, T0, 0, clock.now(), chain)] == [0]
    clock.advance(14 * MIN)
    assert due_steps(POLICY, T0, 1, clock.now(), chain) == []
    clock.advance(dt.timedelta(hours=5))  # a worker that was down catches up in order
    late = due_steps(POLICY, T0, 1, clock.now(), chain)
    assert [d.index for d in late] == [1, 2, 3, 4, 5]
    assert [d.target for d in late] == [1, 2, 0, 1, 2]  # levels_up 5 is clipped to the root


def test_inheritance_and_default() -> None:
    own = EscalationPolicy((EscalationStep(0 * MIN),))
    assert effective_policy([None, POLICY, own]) is POLICY
    assert effective_policy([own, POLICY]) is own
    default = effective_policy([None, None, None])
    assert default == default_policy(3)
    assert [s.levels_up for s in default.steps] == [0, 1, 2]
    assert default.due_at(T0, 2) == T0 + 60 * MIN


def test_invalid_policies() -> None:
    with pytest.raises(ValueError):
        EscalationPolicy(())
    with pytest.raises(ValueError):
        EscalationStep(-MIN)
    with pytest.raises(ValueError):
        EscalationStep(MIN, -1)


def test_a_step_with_nobody_on_duty_brings_the_next_one_forward() -> None:
    """The demo's policy: wait 30 minutes, notify the district; wait 2 hours, notify the
    state; then the country an hour later. Nobody on duty in the district: the state is
    told at once, and the country an hour after that."""
    policy = EscalationPolicy(
        (EscalationStep(30 * MIN, 0), EscalationStep(120 * MIN, 1), EscalationStep(60 * MIN, 2))
    )
    due, started = plan_steps(policy, T0, 0, T0 + 30 * MIN, 3, reachable=lambda at: at != 0)
    assert [(d.index, d.target) for d in due] == [(0, 0), (1, 1)]
    assert started == T0 - 120 * MIN
    assert policy.due_at(started, 2) == T0 + 90 * MIN
    assert exhausted_at(policy, started) == T0 + 150 * MIN  # plus the repeat interval
    # Everyone on duty: the plan is the schedule.
    due, same = plan_steps(policy, T0, 0, T0 + 30 * MIN, 3, reachable=lambda at: True)
    assert [d.index for d in due] == [0] and same == T0
