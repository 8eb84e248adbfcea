"""Clocks: the system clock and a controllable one for tests.

Escalation deadlines are hours apart; tests run them in seconds by handing a
:class:`ManualClock` to the services and the worker, which never call
:func:`datetime.datetime.now` themselves.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Something that tells the time (timezone-aware UTC) and can wait."""

    def now(self) -> dt.datetime:
        """The current time, timezone-aware UTC."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a manual clock moves forward instead)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ManualClock:
    """A clock that moves only when told to; ``sleep`` advances it instantly.

    Thread-safe, so a worker thread and a test can share one.
    """

    def __init__(self, start: dt.datetime | None = None) -> None:
        start = start or dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        if start.tzinfo is None:
            raise ValueError("a clock needs a timezone-aware start time")
        self._now = start.astimezone(dt.UTC)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, delta: dt.timedelta | float) -> dt.datetime:
        """Move forward by ``delta`` (a timedelta or seconds); return the new time."""
        if not isinstance(delta, dt.timedelta):
            delta = dt.timedelta(seconds=delta)
        if delta < dt.timedelta(0):
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._now += delta
            return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(max(seconds, 0.0))
