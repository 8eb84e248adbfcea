"""Muting: whether a notification is suppressed, and why (Alertmanager's ``Muter``).

Silences (:mod:`tocsin.alerting.silences`) and inhibition
(:mod:`tocsin.alerting.inhibition`) answer the same question behind one interface; a
batch asks :class:`Mutes`, which asks each in turn, silences first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.orm import Session

from tocsin.alerting.directory import Directory
from tocsin.alerting.inhibit_rules import DEFAULT_RULES, InhibitRule
from tocsin.alerting.inhibition import Inhibition
from tocsin.alerting.silences import Silences


class Muter(Protocol):
    """Says why an alert's notifications are muted now, or None."""

    def reason(
        self, indicator_id: int | None, jurisdiction_id: int | None, level: int
    ) -> str | None: ...


class Mutes:
    """Silences in force and inhibiting alerts, asked in that order."""

    def __init__(
        self,
        session: Session,
        directory: Directory,
        now: dt.datetime,
        inhibit_rules: Sequence[InhibitRule] = DEFAULT_RULES,
    ) -> None:
        self.silences = Silences(session, directory, now)
        self.inhibition = Inhibition(session, directory, now, inhibit_rules)
        self.muters: tuple[Muter, ...] = (self.silences,)

    def reason(
        self,
        indicator_id: int | None,
        jurisdiction_id: int | None,
        level: int,
        *,
        alert_id: int | None = None,
    ) -> str | None:
        """Why an alert's notifications are muted now, or None (silences first, then
        inhibition, which needs the alert's id: an alert never inhibits itself)."""
        for muter in self.muters:
            found = muter.reason(indicator_id, jurisdiction_id, level)
            if found is not None:
                return found
        return self.inhibition.reason(indicator_id, jurisdiction_id, level, alert_id=alert_id)
