"""Episodes: a group's alarms in one batch, split where its alert would have resolved.

An alert resolves once ``resolve_after_periods`` evaluated periods without an alarm
follow its last alarm (docs/alerting.md, *Resolution*). A batch that holds a long
history -- a first detection run over years of data -- can hold several such episodes
for one group key: last season's alarms, a quiet summer, this season's. Each is an alert
of its own, with the level of its own alarms; one alert spanning them all would carry
last year's level next to this year's count.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from tocsin.alerting.severity import Grade, Level


class Alarm(Protocol):
    """What an episode needs of a signal (:class:`tocsin.alerting.grouping.SignalIn`)."""

    @property
    def period(self) -> int: ...


#: A detector's alarm and its grade.
Graded = tuple[Alarm, Grade]


@dataclass
class Episode:
    """Alarms of one alert, in period order.

    ``last_quiet`` is the latest quiet period after its last alarm (and before the next
    episode), from which resolution is judged; ``continues`` says that the episode
    continues the group's active alert (it may then have no alarm of its own).
    """

    alarms: list[Graded] = field(default_factory=list)
    last_quiet: int | None = None
    continues: bool = False

    @property
    def first_period(self) -> int:
        return min(signal.period for signal, _ in self.alarms)

    @property
    def latest(self) -> Alarm:
        """The signal of the latest alarm."""
        return self.alarms[-1][0]

    @property
    def deciding(self) -> Graded:
        """The alarm that sets the level: the most serious, the latest of those."""
        worst = self.level
        return [a for a in self.alarms if a[1].level == worst][-1]

    @property
    def level(self) -> Level:
        levels = [grade.level for _, grade in self.alarms if grade.level is not None]
        return min(levels)


def split(
    alarms: Iterable[Graded],
    quiet: Iterable[int],
    resolve_after: int,
    *,
    active: bool = False,
    active_until: int | None = None,
) -> list[Episode]:
    """The episodes of a group's ``alarms`` given its ``quiet`` periods.

    With ``active``, the group has an active alert whose last alarm was ``active_until``:
    the first episode returned continues it (``continues``), possibly without alarms.
    """
    ordered = sorted(alarms, key=lambda a: a[0].period)
    silent = sorted(set(quiet))
    episodes: list[Episode] = []
    current = Episode(continues=True) if active else None
    last = active_until

    def latest_quiet_before(period: int | None) -> int | None:
        index = len(silent) if period is None else bisect.bisect_left(silent, period)
        return silent[index - 1] if index else None

    for alarm in ordered:
        period = alarm[0].period
        if current is not None and last is not None:
            gap = latest_quiet_before(period)
            if gap is not None and gap > last and gap - last >= resolve_after:
                current.last_quiet = gap
                episodes.append(current)
                current = None
        if current is None:
            current = Episode()
        current.alarms.append(alarm)
        last = period if last is None else max(last, period)
    if current is not None:
        gap = latest_quiet_before(None)
        current.last_quiet = gap if gap is not None and (last is None or gap > last) else None
        episodes.append(current)
    return episodes
