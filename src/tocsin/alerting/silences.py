"""Silences (Alertmanager's term): mute the notifications of matching alerts for a time.

A silence matches alerts by indicator, jurisdiction (and everything below it) and level;
a matcher left out matches everything. A muted notification is still written, with
status ``suppressed`` and the reason, so that nothing is lost without a trace. Every
change of a silence is audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin import audit
from tocsin.alerting import severity
from tocsin.alerting.directory import Directory, indicator_id_of, jurisdiction_id_of
from tocsin.alerting.models import Silence
from tocsin.errors import NotFoundError, UserError
from tocsin.text import check_texts


@dataclass(frozen=True)
class SilenceRule:
    id: int
    indicator_id: int | None
    jurisdiction_id: int | None
    levels: frozenset[int] | None
    ends_at: dt.datetime


class Silences:
    """The silences in force at one time: a :class:`~tocsin.alerting.muting.Muter`."""

    def __init__(self, session: Session, directory: Directory, now: dt.datetime) -> None:
        self.directory = directory
        self.silences = [
            SilenceRule(
                s.id,
                s.indicator_id,
                s.jurisdiction_id,
                frozenset(s.levels) if s.levels else None,
                s.ends_at,
            )
            for s in session.scalars(
                select(Silence).where(Silence.starts_at <= now, Silence.ends_at > now)
            )
        ]

    def reason(
        self, indicator_id: int | None, jurisdiction_id: int | None, level: int
    ) -> str | None:
        """The first silence that matches, as a reason, or None."""
        for s in self.silences:
            if s.indicator_id is not None and s.indicator_id != indicator_id:
                continue
            if s.jurisdiction_id is not None and not self.directory.within(
                jurisdiction_id, s.jurisdiction_id
            ):
                continue
            if s.levels is not None and level not in s.levels:
                continue
            return f"silenced by silence {s.id} until {s.ends_at.isoformat()}"
        return None


def add_silence(
    session: Session,
    *,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    by: str,
    indicator: str | None = None,
    jurisdiction: str | None = None,
    levels: Sequence[str | int] | None = None,
    comment: str = "",
) -> Silence:
    """Mute notifications of matching alerts between ``starts_at`` and ``ends_at``."""
    check_texts({"comment": comment, "by": by})
    if ends_at <= starts_at:
        raise UserError("a silence must end after it starts")
    try:
        parsed = sorted({int(severity.parse_level(v)) for v in levels}) if levels else None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    silence = Silence(
        indicator_id=indicator_id_of(session, indicator) if indicator else None,
        jurisdiction_id=jurisdiction_id_of(session, jurisdiction) if jurisdiction else None,
        levels=parsed,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=by,
        comment=comment,
    )
    session.add(silence)
    session.flush()
    audit.record(
        session,
        action="silence.add",
        object_type="silence",
        object_id=str(silence.id),
        after={
            "indicator": indicator,
            "jurisdiction": jurisdiction,
            "levels": parsed,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "comment": comment,
        },
        actor=by,
    )
    return silence


def expire_silence(session: Session, silence_id: int, *, by: str, now: dt.datetime) -> Silence:
    """End a silence now (it stays listed as history)."""
    silence = session.get(Silence, silence_id)
    if silence is None:
        raise NotFoundError(f"no silence with id {silence_id}")
    before = silence.ends_at.isoformat()
    silence.ends_at = max(min(silence.ends_at, now), silence.starts_at)
    session.flush()
    audit.record(
        session,
        action="silence.expire",
        object_type="silence",
        object_id=str(silence.id),
        before={"ends_at": before},
        after={"ends_at": silence.ends_at.isoformat()},
        actor=by,
        at=now,
    )
    return silence


def list_silences(session: Session, *, now: dt.datetime, active_only: bool = True) -> list[Silence]:
    """Silences, newest first; by default only those in force or still to come."""
    query = select(Silence).order_by(Silence.id.desc())
    if active_only:
        query = query.where(Silence.ends_at > now)
    return list(session.scalars(query))
