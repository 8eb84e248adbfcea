"""Inhibition (Alertmanager's term): an active alert mutes the notifications of others.

Which alert inhibits which is said by rules (:mod:`tocsin.alerting.inhibit_rules`,
``TOCSIN_INHIBIT_RULES``), Alertmanager's ``inhibit_rules`` with a scope for the
hierarchy. The default: an active alert for an indicator in a jurisdiction inhibits the
same indicator's alerts in every jurisdiction below it -- they stay visible, but their
notifications are suppressed, because the desk above already knows.

Whatever the rules, an alert inhibits only alerts that are at most as serious as itself:
a level IV alert above never mutes a level I alert below, nor its escalation (issue 9).
An alert never inhibits itself, and a drill's exercise alert inhibits nothing: an
exercise must never silence a real alert.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.alerting import severity
from tocsin.alerting.directory import Directory
from tocsin.alerting.inhibit_rules import DEFAULT_RULES, InhibitRule
from tocsin.alerting.models import ACTIVE_STATUSES, Alert


@dataclass(frozen=True)
class _Active:
    id: int
    indicator_id: int | None
    jurisdiction_id: int | None
    level: int
    source: str


class Inhibition:
    """The active alerts that can inhibit others: a :class:`~tocsin.alerting.muting.Muter`."""

    def __init__(
        self,
        session: Session,
        directory: Directory,
        now: dt.datetime,
        rules: Sequence[InhibitRule] = DEFAULT_RULES,
    ) -> None:
        self.directory = directory
        self.rules = tuple(rules)
        self.by_id: dict[int, _Active] = {}
        self.by_place: dict[int | None, dict[int, _Active]] = defaultdict(dict)
        self._label_cache: dict[_Active, dict[str, str]] = {}
        if not self.rules:
            return
        for row in session.execute(
            select(
                Alert.id, Alert.indicator_id, Alert.jurisdiction_id, Alert.level, Alert.source
            ).where(Alert.status.in_(ACTIVE_STATUSES), Alert.exercise.is_(False))
        ):
            self._put(_Active(*row))

    def _put(self, alert: _Active) -> None:
        old = self.by_id.get(alert.id)
        if old is not None:
            self.by_place[old.jurisdiction_id].pop(old.id, None)
        self.by_id[alert.id] = alert
        self.by_place[alert.jurisdiction_id][alert.id] = alert

    def add_active(
        self,
        alert_id: int,
        indicator_id: int | None,
        jurisdiction_id: int | None,
        level: int = 4,
        source: str = "detection",
    ) -> None:
        """An alert opened (or whose level rose) in this batch inhibits from now on."""
        self._put(_Active(alert_id, indicator_id, jurisdiction_id, int(level), source))

    def _labels(self, alert: _Active) -> dict[str, str]:
        found = self._label_cache.get(alert)
        if found is None:
            found = self._label_cache[alert] = self._make_labels(alert)
        return found

    def _make_labels(self, alert: _Active) -> dict[str, str]:
        indicator = self.directory.indicator(alert.indicator_id)
        place = self.directory.place(alert.jurisdiction_id)
        return {
            "indicator": indicator.code if indicator else "",
            "jurisdiction": place.code if place else "",
            "level": severity.Level(alert.level).roman,
            "source": alert.source,
        }

    def _candidates(self, rule: InhibitRule, target: _Active) -> list[_Active]:
        if rule.scope == "above":
            if target.jurisdiction_id is None:
                return []
            chain = self.directory.chain(target.jurisdiction_id)[1:]
            return [a for place in chain for a in self.by_place.get(place, {}).values()]
        if "jurisdiction" in rule.equal:
            return list(self.by_place.get(target.jurisdiction_id, {}).values())
        return list(self.by_id.values())

    def reason(
        self,
        indicator_id: int | None,
        jurisdiction_id: int | None,
        level: int,
        *,
        alert_id: int | None = None,
    ) -> str | None:
        """The active alert that inhibits this one, as a reason, or None."""
        if not self.rules:
            return None
        known = self.by_id.get(alert_id) if alert_id is not None else None
        source = known.source if known else ""
        target = _Active(alert_id or 0, indicator_id, jurisdiction_id, int(level), source)
        target_labels: dict[str, str] | None = None
        for rule in self.rules:
            for candidate in self._candidates(rule, target):
                if candidate.id == alert_id or candidate.level > target.level:
                    continue  # never itself, never a less serious alert
                target_labels = target_labels or self._labels(target)
                if rule.applies(self._labels(candidate), target_labels):
                    place = self.directory.place(candidate.jurisdiction_id)
                    return (
                        f"inhibited by alert {candidate.id} in {place.code if place else '?'} "
                        f"(level {severity.Level(candidate.level).roman})"
                    )
        return None
