"""Inhibition (Alertmanager's term): an active alert mutes the notifications of others.

An active alert for an indicator in a jurisdiction *inhibits* the same indicator's
alerts in every jurisdiction below it: they stay visible, but their notifications are
suppressed, because the desk above already knows.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.alerting.directory import Directory
from tocsin.alerting.models import Alert


class Inhibition:
    """The active alerts that can inhibit others: a :class:`~tocsin.alerting.muting.Muter`."""

    def __init__(self, session: Session, directory: Directory, now: dt.datetime) -> None:
        self.directory = directory
        self.active: dict[tuple[int, int], int] = {}
        for alert_id, indicator_id, jurisdiction_id in session.execute(
            select(Alert.id, Alert.indicator_id, Alert.jurisdiction_id).where(
                Alert.status.in_(("open", "acknowledged")),
                Alert.indicator_id.is_not(None),
                Alert.jurisdiction_id.is_not(None),
            )
        ):
            self.active.setdefault((indicator_id, jurisdiction_id), alert_id)

    def add_active(self, alert_id: int, indicator_id: int | None, jurisdiction_id: int | None):
        """An alert opened in this batch inhibits from now on."""
        if indicator_id is not None and jurisdiction_id is not None:
            self.active.setdefault((indicator_id, jurisdiction_id), alert_id)

    def reason(
        self, indicator_id: int | None, jurisdiction_id: int | None, level: int
    ) -> str | None:
        """The active alert of an ancestor that inhibits this one, as a reason, or None."""
        if indicator_id is not None and jurisdiction_id is not None:
            for ancestor in self.directory.chain(jurisdiction_id)[1:]:
                inhibitor = self.active.get((indicator_id, ancestor))
                if inhibitor is not None:
                    code = self.directory.places[ancestor].code
                    return f"inhibited by alert {inhibitor} in {code}"
        return None
