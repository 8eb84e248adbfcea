"""What alerting needs to know about jurisdictions, indicators, contacts and policies.

Loaded once per batch (a few queries, no per-alert round trips): the jurisdiction tree
without geometries, the indicators concerned, the active duty contacts and the
escalation policies. (Silences and inhibiting alerts: :mod:`tocsin.alerting.muting`.)
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.alerting.escalation import (
    EscalationPolicy,
    EscalationStep,
    default_policy,
)
from tocsin.alerting.models import (
    DutyContact,
    EscalationPolicyRow,
    EscalationStepRow,
)
from tocsin.errors import NotFoundError
from tocsin.monitoring.models import Indicator, Jurisdiction
from tocsin.store.sql import chunked, member_of

T = TypeVar("T")


@dataclass(frozen=True)
class Place:
    """A jurisdiction as alerting sees it."""

    id: int
    code: str
    name: str
    name_zh: str
    parent_id: int | None


@dataclass(frozen=True)
class IndicatorInfo:
    id: int
    code: str
    name: str
    name_zh: str
    domain: str
    unit: str
    frequency: str
    value_kind: str = "count"


@dataclass(frozen=True)
class Contact:
    id: int
    jurisdiction_id: int
    name: str
    email: str | None
    webhook_url: str | None
    webhook_secret: str | None = field(repr=False, default=None)


class Directory:
    """Jurisdictions, indicators, contacts, policies and silences for one batch."""

    def __init__(self, session: Session, *, default_wait: dt.timedelta) -> None:
        self.session = session
        self.default_wait = default_wait
        self.places: dict[int, Place] = {
            row.id: Place(row.id, row.code, row.name, row.name_zh or row.name, row.parent_id)
            for row in session.execute(
                select(
                    Jurisdiction.id,
                    Jurisdiction.code,
                    Jurisdiction.name,
                    Jurisdiction.name_zh,
                    Jurisdiction.parent_id,
                )
            )
        }
        self.by_code = {p.code: p for p in self.places.values()}
        self._indicators: dict[int, IndicatorInfo] = {}
        self._contacts: dict[int, list[Contact]] | None = None
        self._policies: dict[int, EscalationPolicy] | None = None
        self._chains: dict[int, list[int]] = {}
        self._effective: dict[int, EscalationPolicy] = {}
        #: Values derived once per batch or request (e.g. CAP polygons per jurisdiction).
        self.cache: dict[str, dict[Any, Any]] = {}

    # -- jurisdictions
    def place(self, jurisdiction_id: int | None) -> Place | None:
        return None if jurisdiction_id is None else self.places.get(jurisdiction_id)

    def place_by_code(self, code: str) -> Place:
        try:
            return self.by_code[code]
        except KeyError:
            raise NotFoundError(f"no jurisdiction with code {code!r}") from None

    def chain(self, jurisdiction_id: int) -> list[int]:
        """``[own, parent, ..., root]`` ids."""
        if jurisdiction_id not in self._chains:
            chain, seen = [], set()
            current: int | None = jurisdiction_id
            while current is not None and current not in seen and current in self.places:
                seen.add(current)
                chain.append(current)
                current = self.places[current].parent_id
            self._chains[jurisdiction_id] = chain
        return self._chains[jurisdiction_id]

    def inherited(self, jurisdiction_id: int, own: Mapping[int, T]) -> tuple[int, T] | None:
        """What a jurisdiction inherits from ``own`` (values set on some jurisdictions):
        its own value, else the nearest ancestor's, with the id of the jurisdiction it
        comes from; None when no jurisdiction of the chain has one. Escalation policies
        and contingency plans are inherited this way."""
        for place in self.chain(jurisdiction_id):
            if place in own:
                return place, own[place]
        return None

    def within(self, jurisdiction_id: int | None, ancestor_id: int) -> bool:
        """Whether a jurisdiction is ``ancestor_id`` or lies below it."""
        return jurisdiction_id is not None and ancestor_id in self.chain(jurisdiction_id)

    def subtree(self, jurisdiction_id: int) -> set[int]:
        """``jurisdiction_id`` and every jurisdiction below it."""
        return {j for j in self.places if jurisdiction_id in self.chain(j)}

    # -- indicators
    def indicators(self, ids: Iterable[int | None]) -> dict[int, IndicatorInfo]:
        missing = sorted({i for i in ids if i is not None} - set(self._indicators))
        for part in chunked(missing):
            for row in self.session.execute(
                select(
                    Indicator.id,
                    Indicator.code,
                    Indicator.name,
                    Indicator.name_zh,
                    Indicator.domain,
                    Indicator.unit,
                    Indicator.frequency,
                    Indicator.value_kind,
                ).where(member_of(Indicator.id, part))
            ):
                self._indicators[row.id] = IndicatorInfo(
                    row.id,
                    row.code,
                    row.name,
                    row.name_zh or row.name,
                    row.domain,
                    row.unit,
                    row.frequency,
                    row.value_kind,
                )
        return self._indicators

    def indicator(self, indicator_id: int | None) -> IndicatorInfo | None:
        if indicator_id is None:
            return None
        found = self._indicators.get(indicator_id)
        if found is None:
            found = self.indicators([indicator_id]).get(indicator_id)
        return found

    # -- contacts and policies
    def contacts(self, jurisdiction_id: int) -> list[Contact]:
        if self._contacts is None:
            self._contacts = defaultdict(list)
            for row in self.session.scalars(select(DutyContact).where(DutyContact.active)):
                self._contacts[row.jurisdiction_id].append(
                    Contact(
                        row.id,
                        row.jurisdiction_id,
                        row.name,
                        row.email,
                        row.webhook_url,
                        row.webhook_secret,
                    )
                )
        return self._contacts.get(jurisdiction_id, [])

    def _own_policies(self) -> dict[int, EscalationPolicy]:
        if self._policies is None:
            steps: dict[int, list[EscalationStepRow]] = defaultdict(list)
            for step in self.session.scalars(
                select(EscalationStepRow).order_by(
                    EscalationStepRow.policy_id, EscalationStepRow.position
                )
            ):
                steps[step.policy_id].append(step)
            self._policies = {}
            for row in self.session.scalars(select(EscalationPolicyRow)):
                if not steps[row.id]:
                    continue
                self._policies[row.jurisdiction_id] = EscalationPolicy(
                    tuple(
                        EscalationStep(dt.timedelta(minutes=s.wait_minutes), s.levels_up)
                        for s in steps[row.id]
                    ),
                    repeats=row.repeats,
                    repeat_interval=dt.timedelta(minutes=row.repeat_interval_minutes),
                )
        return self._policies

    def policy(self, jurisdiction_id: int) -> EscalationPolicy:
        """The jurisdiction's policy, inherited from the nearest ancestor that has one."""
        found = self._effective.get(jurisdiction_id)
        if found is None:
            source = self.inherited(jurisdiction_id, self._own_policies())
            chain_length = len(self.chain(jurisdiction_id))
            found = source[1] if source else default_policy(chain_length, self.default_wait)
            self._effective[jurisdiction_id] = found
        return found


def subtree_ids(session: Session, code: str) -> list[int]:
    """The ids of jurisdiction ``code`` and of every jurisdiction below it, for list
    filters (an unknown code raises the directory's clear error)."""
    directory = Directory(session, default_wait=dt.timedelta(minutes=30))
    return sorted(directory.subtree(directory.place_by_code(code).id))


def jurisdiction_id_of(session: Session, code: str) -> int:
    found = session.scalar(select(Jurisdiction.id).where(Jurisdiction.code == code))
    if found is None:
        raise NotFoundError(f"no jurisdiction with code {code!r}")
    return found


def indicator_id_of(session: Session, code: str) -> int:
    found = session.scalar(select(Indicator.id).where(Indicator.code == code))
    if found is None:
        raise NotFoundError(f"no indicator with code {code!r}")
    return found
