"""Due rules: when the data of an indicator's period are due.

A period's data are due ``days`` days after the period's last day (the Sunday of an ISO
week, the last day of a month, the day itself; :func:`tocsin.periods.last_day`), at
``time`` local time in ``timezone`` (an IANA name). "Weekly data by Tuesday 12:00 Berlin
time" is ``DueRule(2, 12:00, "Europe/Berlin")``. Local time, so that a deadline stays at
noon across daylight-saving changes. Pure: no database.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tocsin.errors import UserError
from tocsin.periods import PeriodKind, last_day

#: The longest lag a due rule may have (a year and a day).
MAX_DUE_DAYS = 366
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class DueRule:
    """When a period's data are due (see the module)."""

    days: int
    time: dt.time
    timezone: str

    def deadline(self, kind: PeriodKind, ordinal: int) -> dt.datetime:
        """The moment (UTC) the data of period ``ordinal`` are due."""
        day = last_day(kind, ordinal) + dt.timedelta(days=self.days)
        local = dt.datetime.combine(day, self.time, tzinfo=ZoneInfo(self.timezone))
        return local.astimezone(dt.UTC)

    def describe(self) -> str:
        """``2 days after the period, 12:00 Europe/Berlin``."""
        days = "1 day" if self.days == 1 else f"{self.days} days"
        return f"{days} after the period, {self.time:%H:%M} {self.timezone}"

    def columns(self) -> dict[str, int | str | None]:
        """The indicator's columns that store the rule."""
        return {
            "due_days": self.days,
            "due_time": f"{self.time:%H:%M}",
            "due_timezone": self.timezone,
        }


#: The columns of an indicator without a rule.
NO_RULE: dict[str, int | str | None] = {"due_days": None, "due_time": None, "due_timezone": None}


def due_rule(
    days: int | None, time: str | None = None, timezone: str | None = None
) -> DueRule | None:
    """A checked due rule (None when ``days`` is None: not tracked); :class:`UserError`
    naming the field and what is expected."""
    if days is None:
        if time or timezone:
            raise UserError("a due time or time zone needs the number of due days (due_days)")
        return None
    if not 0 <= days <= MAX_DUE_DAYS:
        raise UserError(f"due days {days} is not between 0 and {MAX_DUE_DAYS}")
    return DueRule(days, time_of_day(time or "00:00"), time_zone(timezone or "UTC"))


def time_of_day(text: str) -> dt.time:
    """``HH:MM`` (24 hours) read; :class:`UserError` otherwise."""
    match = _TIME.match(text.strip())
    if match is None:
        raise UserError(f"due time {text!r} is not a time of day like 12:00 (HH:MM, 24 hours)")
    return dt.time(int(match[1]), int(match[2]))


def time_zone(name: str) -> str:
    """An IANA time zone name checked against the zone database; :class:`UserError`
    otherwise."""
    zone = name.strip()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(
            f"due time zone {zone!r} is not an IANA time zone like Europe/Berlin or Asia/Shanghai"
        ) from None
    return zone
