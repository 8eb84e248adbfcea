"""Escalation policies: who is notified when, while an alert stays unacknowledged.

A policy is an ordered list of steps. Each step waits some time after the previous one
(the first step after the alert opens) and then notifies the duty contacts of the
jurisdiction ``levels_up`` levels above the alert's own (0 is the alert's jurisdiction,
1 its parent, ...; a step that would climb above the root notifies the root). After the
last step the policy may start again ``repeats`` times, ``repeat_interval`` after the
previous round's last step -- Alertmanager's *repeat interval*.

Acknowledging, resolving or cancelling an alert stops its escalation: the service simply
stops asking for the next step. When every step has run and nobody acknowledged within
one more repeat interval, the escalation is *exhausted* (:func:`exhausted_at`), which the
alert shows; an acknowledgement that times out starts a new round
(:mod:`tocsin.alerting.acknowledgement`). A jurisdiction without a policy of its own inherits its
parent's; when no ancestor has one, :func:`default_policy` climbs one level every
30 minutes up to the root.

This module is pure: it computes *when* step ``i`` falls due from the time the alert
opened, so that a worker killed and restarted finds every deadline again from the
database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

DEFAULT_CLIMB_WAIT = dt.timedelta(minutes=30)


@dataclass(frozen=True)
class EscalationStep:
    """Wait ``wait`` after the previous step, then notify ``levels_up`` levels above."""

    wait: dt.timedelta
    levels_up: int = 0

    def __post_init__(self) -> None:
        if self.wait < dt.timedelta(0):
            raise ValueError(f"an escalation step cannot wait a negative time ({self.wait})")
        if self.levels_up < 0:
            raise ValueError(f"levels_up must be 0 or more; got {self.levels_up}")


@dataclass(frozen=True)
class EscalationPolicy:
    """Ordered steps, optionally repeated ``repeats`` more times."""

    steps: tuple[EscalationStep, ...]
    repeats: int = 0
    repeat_interval: dt.timedelta = dt.timedelta(hours=1)

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError("an escalation policy needs at least one step")
        if self.repeats < 0:
            raise ValueError(f"repeats must be 0 or more; got {self.repeats}")
        if self.repeat_interval <= dt.timedelta(0) and self.repeats:
            raise ValueError("a repeated policy needs a positive repeat interval")

    @property
    def total_steps(self) -> int:
        """How many steps run in all, counting repeats."""
        return len(self.steps) * (1 + self.repeats)

    def _offsets(self) -> list[dt.timedelta]:
        offsets, total = [], dt.timedelta(0)
        for step in self.steps:
            total += step.wait
            offsets.append(total)
        return offsets

    def step(self, index: int) -> EscalationStep | None:
        """Step ``index`` counting repeats (None after the last)."""
        if not 0 <= index < self.total_steps:
            return None
        return self.steps[index % len(self.steps)]

    def due_at(self, opened_at: dt.datetime, index: int) -> dt.datetime | None:
        """When step ``index`` falls due for an alert opened at ``opened_at``."""
        if self.step(index) is None:
            return None
        offsets = self._offsets()
        round_span = offsets[-1] + self.repeat_interval
        round_number, position = divmod(index, len(self.steps))
        return opened_at + round_number * round_span + offsets[position]


@dataclass(frozen=True)
class DueStep:
    """A step that has fallen due: its index, deadline and target in the chain."""

    index: int
    due_at: dt.datetime
    target: int


def target_index(chain_length: int, levels_up: int) -> int:
    """Position in the chain ``[own, parent, ..., root]`` that a step notifies."""
    if chain_length < 1:
        raise ValueError("a jurisdiction chain has at least the alert's own jurisdiction")
    return min(levels_up, chain_length - 1)


def due_steps(
    policy: EscalationPolicy,
    opened_at: dt.datetime,
    next_index: int,
    now: dt.datetime,
    chain_length: int,
) -> list[DueStep]:
    """Steps from ``next_index`` on whose deadline is at or before ``now``.

    A worker that was down while several deadlines passed gets them all, in order.
    """
    return plan_steps(policy, opened_at, next_index, now, chain_length)[0]


def plan_steps(
    policy: EscalationPolicy,
    started_at: dt.datetime,
    next_index: int,
    now: dt.datetime,
    chain_length: int,
    reachable: Callable[[int], bool] | None = None,
) -> tuple[list[DueStep], dt.datetime]:
    """The due steps, and the start of the round as it then stands.

    A step whose target (its position in the chain) is not ``reachable`` -- nobody on
    duty there -- is due as usual but moves the next step to ``now``: the round's start
    moves earlier by the time that step would still have waited, and every later step
    with it, so nobody waits for a notification nobody receives (issue 9).
    """
    due = []
    index = next_index
    while (at := policy.due_at(started_at, index)) is not None and at <= now:
        step = policy.step(index)
        assert step is not None
        target = target_index(chain_length, step.levels_up)
        due.append(DueStep(index, at, target))
        index += 1
        following = policy.due_at(started_at, index)
        if reachable is not None and not reachable(target) and following and following > now:
            started_at -= following - now
    return due, started_at


def exhausted_at(policy: EscalationPolicy, opened_at: dt.datetime) -> dt.datetime:
    """When a policy is exhausted: its last step has run and nobody acknowledged within
    one more repeat interval (the time a further round would have waited)."""
    last = policy.due_at(opened_at, policy.total_steps - 1)
    assert last is not None
    return last + policy.repeat_interval


def default_policy(chain_length: int, wait: dt.timedelta = DEFAULT_CLIMB_WAIT) -> EscalationPolicy:
    """Notify the own jurisdiction at once, then one level up every ``wait``, to the root."""
    steps = [EscalationStep(dt.timedelta(0), 0)]
    steps += [EscalationStep(wait, level) for level in range(1, max(chain_length, 1))]
    return EscalationPolicy(tuple(steps))


def effective_policy(
    chain_policies: Sequence[EscalationPolicy | None], wait: dt.timedelta = DEFAULT_CLIMB_WAIT
) -> EscalationPolicy:
    """The policy that applies to an alert: its jurisdiction's, else the nearest ancestor's.

    ``chain_policies`` runs from the alert's jurisdiction up to the root (``None`` where a
    jurisdiction has no policy of its own, i.e. inherits).
    """
    for policy in chain_policies:
        if policy is not None:
            return policy
    return default_policy(len(chain_policies), wait)
