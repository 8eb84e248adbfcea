"""The unit of work of alerting: one batch of alert changes, written at once.

A :class:`Batch` holds what every change in it shares (the directory of jurisdictions,
indicators, contacts and policies; the muters; the CAP history of the alerts it touches)
and collects the rows the changes cause -- transitions, CAP messages, outbox rows -- to
insert them in bulk at the end, in the caller's transaction. Functions that change
alerts (:mod:`tocsin.alerting.grouping`, :mod:`tocsin.alerting.lifecycle`, the CAP
import) take a batch and never commit: the caller's transaction (usually
:func:`tocsin.store.write_session`) makes the alert change, its transition, its CAP
message and its outbox rows one atomic write.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.alerting.cap.frozen import area_ids, context_ids
from tocsin.alerting.cap.render import context_of, expires_at, freeze, identifier
from tocsin.alerting.directory import Contact, Directory
from tocsin.alerting.escalation import exhausted_at, plan_steps
from tocsin.alerting.models import AlertTransition, CapMessageRow, Notification
from tocsin.alerting.muting import Mutes
from tocsin.alerting.notify.digest import Schedule
from tocsin.alerting.notify.outbox import rows_for_contacts
from tocsin.alerting.notify.texts import content
from tocsin.alerting.settings import AlertingSettings, get_alerting_settings
from tocsin.store.bulk import insert_rows
from tocsin.store.sql import advisory_xact_lock, chunked, member_of

#: Actor of changes tocsin makes by itself (auto-resolution, escalation).
SYSTEM_ACTOR = "tocsin"


#: Key of the PostgreSQL advisory lock that serialises signal processing.
_SIGNAL_LOCK = 7_265_354


@dataclass
class BatchResult:
    """What a batch did."""

    opened: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    notifications: int = 0


class Plan(NamedTuple):
    """An alert's escalation now: the due steps as (index, target jurisdiction), the
    next step's index and deadline, and when the round started."""

    steps: list[tuple[int, int]]
    following: int
    deadline: dt.datetime | None
    started_at: dt.datetime


@dataclass
class Writes:
    """Rows to insert in bulk at the end of a batch."""

    transitions: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    #: Context of the new messages, per indicator (see ``render.context_of``); kept for
    #: the batch, since most messages of the next flush share them.
    contexts: dict[int | None, dict[str, Any]] = field(default_factory=dict)

    def flush(self, session: Session) -> None:
        self._freeze_areas(session)
        self._freeze_contexts(session)
        # Core inserts (executemany): no ORM bookkeeping for rows nobody reads back here.
        for model, rows in (
            (AlertTransition, self.transitions),
            (CapMessageRow, self.messages),
            (Notification, self.notifications),
        ):
            insert_rows(session, model.__table__, rows)
        self.transitions, self.messages, self.notifications = [], [], []

    def _mine(self) -> list[dict[str, Any]]:
        """The snapshots of the new messages of tocsin (imported ones have none)."""
        return [m["snapshot"] for m in self.messages if m.get("snapshot")]

    def _freeze_areas(self, session: Session) -> None:
        """Name in each new message of tocsin's the area of its jurisdiction as it is now."""
        pending = [s for s in self._mine() if s.get("jurisdiction_id") is not None]
        if not pending:
            return
        found = area_ids(session, (s["jurisdiction_id"] for s in pending))
        for snapshot in pending:
            snapshot["area"] = found.get(snapshot.pop("jurisdiction_id"))

    def _freeze_contexts(self, session: Session) -> None:
        """Name in each new message the context (indicator, settings) it was issued in."""
        pending = self._mine()
        if not pending:
            return
        keys = sorted({s["context"] for s in pending}, key=lambda k: (k is None, k or 0))
        ids = dict(zip(keys, context_ids(session, [self.contexts[k] for k in keys]), strict=True))
        for snapshot in pending:
            snapshot["context"] = ids[snapshot["context"]]


class Batch:
    """Everything one batch of changes shares: the session, the time, the directory, the
    muters, and the rows to write in bulk at its end (:meth:`finish`)."""

    def __init__(self, session: Session, now: dt.datetime, settings: AlertingSettings) -> None:
        self.session = session
        self.now = now
        self.settings = settings
        self.directory = Directory(
            session, default_wait=dt.timedelta(minutes=settings.escalation_wait_minutes)
        )
        self._mutes: Mutes | None = None
        self._schedule: Schedule | None = None
        self.writes = Writes()
        #: Earlier CAP messages per alert as [sender, identifier, sent] (for references).
        self.published: dict[int, list[list[str]]] = {}
        self._plans: dict[tuple[int, dt.datetime, int], Any] = {}
        self._now_iso = now.isoformat()

    @property
    def schedule(self) -> Schedule:
        if self._schedule is None:
            self._schedule = Schedule(self.session, self.now, self.settings)
        return self._schedule

    @property
    def mutes(self) -> Mutes:
        if self._mutes is None:
            self._mutes = Mutes(self.session, self.directory, self.now, self.settings.inhibit_rules)
        return self._mutes

    def history(self, alert_ids: Sequence[int]) -> None:
        """Load the earlier CAP messages of ``alert_ids`` (for ``references``)."""
        missing = [a for a in alert_ids if a not in self.published]
        for a in missing:
            self.published[a] = []
        for part in chunked(missing):
            for row in self.session.execute(
                select(
                    CapMessageRow.alert_id,
                    CapMessageRow.sender,
                    CapMessageRow.identifier,
                    CapMessageRow.sent,
                )
                .where(member_of(CapMessageRow.alert_id, part))
                .order_by(CapMessageRow.id)
            ):
                self.published[row.alert_id].append(
                    [row.sender, row.identifier, row.sent.isoformat()]
                )

    def message(
        self, alert_id: int, values: Mapping[str, Any], msg_type: str, note: str = ""
    ) -> str:
        """Queue the CAP message of a transition, frozen now; returns its identifier."""
        if alert_id not in self.published:
            self.history([alert_id])
        earlier = self.published[alert_id]
        ident = identifier(
            self.settings.cap_identifier_prefix, alert_id, len(earlier) + 1, self.now
        )
        snapshot = freeze(values, references=earlier, note=note)
        indicator_id = values.get("indicator_id")
        if indicator_id not in self.writes.contexts:
            indicator = self.directory.indicator(indicator_id)
            self.writes.contexts[indicator_id] = context_of(indicator, self.settings)
        # Replaced by the ids of the frozen context and area when the rows are written.
        snapshot["context"] = indicator_id
        snapshot["jurisdiction_id"] = values.get("jurisdiction_id")
        self.writes.messages.append(
            {
                "alert_id": alert_id,
                "identifier": ident,
                "sender": self.settings.cap_sender,
                "sent": self.now,
                "msg_type": msg_type,
                "scope": "Public" if snapshot["public"] else "Restricted",
                "status": "Exercise" if values.get("exercise") else "Actual",
                "expires": expires_at(values, self.now, self.settings),
                "snapshot": snapshot,
            }
        )
        earlier.append([self.settings.cap_sender, ident, self._now_iso])
        return ident

    def transition(
        self,
        alert_id: int,
        *,
        action: str,
        from_status: str | None,
        to_status: str,
        level: int,
        actor: str,
        comment: str = "",
    ) -> None:
        self.writes.transitions.append(
            {
                "alert_id": alert_id,
                "at": self.now,
                "actor": actor,
                "action": action,
                "from_status": from_status,
                "to_status": to_status,
                "level": level,
                "comment": comment,
            }
        )

    def remark(self, alert: Any, *, action: str, actor: str, comment: str) -> None:
        """Record a transition that keeps the alert's status (an update, an escalation
        step, a renewal)."""
        self.transition(
            alert.id,
            action=action,
            from_status=alert.status,
            to_status=alert.status,
            level=alert.level,
            actor=actor,
            comment=comment,
        )

    def notify(
        self,
        alert_id: int,
        values: Mapping[str, Any],
        *,
        indicator_id: int | None,
        jurisdiction_id: int | None,
        contacts: list[Contact],
        reason: str,
        key: str,
        cap_identifier: str,
        step: int | None = None,
        mutable: bool = True,
    ) -> int:
        """Queue notifications to ``contacts``; muted ones are stored as suppressed."""
        if not contacts:
            return 0
        muted = (
            self.mutes.reason(indicator_id, jurisdiction_id, values["level"], alert_id=alert_id)
            if mutable
            else None
        )
        # The message linked may be another agency's (an imported alert): its sender.
        cap_sender = next(
            (s for s, i, _ in reversed(self.published.get(alert_id, ())) if i == cap_identifier),
            self.settings.cap_sender,
        )
        subject, body, payload = content(
            alert_id=alert_id,
            values=values,
            reason=reason,
            indicator=self.directory.indicator(indicator_id),
            place=self.directory.place(jurisdiction_id),
            cap_identifier=cap_identifier,
            cap_sender=cap_sender,
            settings=self.settings,
            step=step,
        )
        rows = rows_for_contacts(
            contacts,
            alert_id=alert_id,
            key=key,
            reason=reason,
            subject=subject,
            body=body,
            payload=payload,
            now=self.now,
            muted=muted,
        )
        self.schedule.place(rows)  # grouping per recipient (group_wait, group_interval)
        self.writes.notifications.extend(rows)
        return len(rows)

    def escalation_plan(
        self, jurisdiction_id: int | None, started_at: dt.datetime, next_index: int
    ) -> Plan:
        """Steps due now as (index, target jurisdiction), the next index and deadline, and
        the round's start (earlier when a step had nobody on duty to notify)."""
        if jurisdiction_id is None or jurisdiction_id not in self.directory.places:
            return Plan([], next_index, None, started_at)
        key = (jurisdiction_id, started_at, next_index)
        if key not in self._plans:
            self._plans[key] = self._plan(jurisdiction_id, started_at, next_index)
        return self._plans[key]

    def _plan(self, jurisdiction_id: int, started_at: dt.datetime, next_index: int) -> Plan:
        chain = self.directory.chain(jurisdiction_id)
        policy = self.directory.policy(jurisdiction_id)
        due, started_at = plan_steps(
            policy,
            started_at,
            next_index,
            self.now,
            len(chain),
            reachable=lambda position: bool(self.directory.contacts(chain[position])),
        )
        following = next_index + len(due)
        return Plan(
            [(d.index, chain[d.target]) for d in due],
            following,
            policy.due_at(started_at, following) or exhausted_at(policy, started_at),
            started_at,
        )

    def run_steps(
        self,
        alert_id: int,
        values: Mapping[str, Any],
        steps: list[tuple[int, int]],
        *,
        indicator_id: int | None,
        jurisdiction_id: int | None,
        cap_identifier: str,
        round_: int = 0,
    ) -> int:
        """Notify the targets of due steps; ``round_`` counts the rounds started again
        after an acknowledgement timed out (their notifications have keys of their own)."""
        count = 0
        first = "reopened" if round_ else "opened"
        for index, target in steps:
            contacts = self.directory.contacts(target)
            if not contacts:
                place = self.directory.places[target]
                self.transition(
                    alert_id,
                    action="escalation-skip",
                    from_status=values.get("status", "open"),
                    to_status=values.get("status", "open"),
                    level=values["level"],
                    actor=SYSTEM_ACTOR,
                    comment=f"step {index}: nobody on duty in {place.code} (no active duty "
                    "contact); the next step at once",
                )
                continue
            count += self.notify(
                alert_id,
                values,
                indicator_id=indicator_id,
                jurisdiction_id=jurisdiction_id,
                contacts=contacts,
                reason=first if index == 0 else "escalated",
                key=f"reopen-{round_}/step-{index}" if round_ else f"step-{index}",
                cap_identifier=cap_identifier,
                step=index,
            )
        return count

    def finish(self) -> None:
        """Flush the ORM changes, then insert the batch's rows in bulk."""
        self.session.flush()
        self.writes.flush(self.session)


def settings_or_default(settings: AlertingSettings | None) -> AlertingSettings:
    return settings or get_alerting_settings()


def lock_signals(session: Session) -> None:
    """Serialise signal processing across processes (PostgreSQL advisory lock held until
    the transaction ends; SQLite's single writer already serialises it)."""
    advisory_xact_lock(session, _SIGNAL_LOCK)
