"""Muting: whether a notification is suppressed, and why (Alertmanager's ``Muter``).

Silences (:mod:`tocsin.alerting.silences`) and inhibition
(:mod:`tocsin.alerting.inhibition`) answer the same question behind one interface; a
batch asks :class:`Mutes`, which asks each in turn, silences first.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from sqlalchemy.orm import Session

from tocsin.alerting.directory import Directory
from tocsin.alerting.inhibition import Inhibition
from tocsin.alerting.silences import Silences


class Muter(Protocol):
    """Says why an alert's notifications are muted now, or None."""

    def reason(
        self, indicator_id: int | None, jurisdiction_id: int | None, level: int
    ) -> str | None: ...


class Mutes:
    """Silences in force and inhibiting alerts, asked in that order."""

    def __init__(self, session: Session, directory: Directory, now: dt.datetime) -> None:
        self.silences = Silences(session, directory, now)
        self.inhibition = Inhibition(session, directory, now)
        self.muters: tuple[Muter, ...] = (self.silences, self.inhibition)

    def add_active(self, alert_id: int, indicator_id: int | None, jurisdiction_id: int | None):
        """An alert opened in this batch inhibits from now on."""
        self.inhibition.add_active(alert_id, indicator_id, jurisdiction_id)

    def reason(
        self, indicator_id: int | None, jurisdiction_id: int | None, level: int
    ) -> str | None:
        """Why an alert's notifications are muted now, or None."""
        for muter in self.muters:
            found = muter.reason(indicator_id, jurisdiction_id, level)
            if found is not None:
                return found
        return None
