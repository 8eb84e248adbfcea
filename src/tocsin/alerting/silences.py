"""Silences (Alertmanager's term): mute the notifications of matching alerts for a time.

A silence matches alerts by Alertmanager matchers on the labels of an alert
(:mod:`tocsin.alerting.matchers`: ``indicator``, ``jurisdiction``, ``level`` with ``=``,
``!=``, ``=~``, ``!~``), all of which must match, and optionally within one jurisdiction
and everything below it. A silence with neither is refused: it would mute every
notification (Alertmanager refuses a silence without matchers too). A muted
notification is still written, with status ``suppressed`` and the reason, so that
nothing is lost without a trace. Every change of a silence is audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin import audit
from tocsin.alerting import matchers as matching
from tocsin.alerting import severity
from tocsin.alerting.directory import Directory, indicator_id_of, jurisdiction_id_of
from tocsin.alerting.models import Alert, Silence
from tocsin.errors import NotFoundError, UserError
from tocsin.text import check_texts


@dataclass(frozen=True)
class SilenceRule:
    id: int
    jurisdiction_id: int | None
    matchers: tuple[matching.Matcher, ...]
    ends_at: dt.datetime
    created_by: str
    comment: str


class Silences:
    """The silences in force at one time: a :class:`~tocsin.alerting.muting.Muter`."""

    def __init__(self, session: Session, directory: Directory, now: dt.datetime) -> None:
        self.directory = directory
        self.silences = [
            SilenceRule(
                s.id,
                s.jurisdiction_id,
                tuple(matching.Matcher.parse(text) for text in s.matchers or ()),
                s.ends_at,
                s.created_by,
                s.comment,
            )
            for s in session.scalars(
                select(Silence)
                .where(Silence.starts_at <= now, Silence.ends_at > now)
                .order_by(Silence.id)
            )
        ]

    def labels(
        self, indicator_id: int | None, jurisdiction_id: int | None, level: int
    ) -> dict[str, str]:
        """The labels of an alert, as matchers read them."""
        indicator = self.directory.indicators([indicator_id]).get(indicator_id or -1)
        place = self.directory.place(jurisdiction_id)
        return {
            "indicator": indicator.code if indicator else "",
            "jurisdiction": place.code if place else "",
            "level": severity.Level(level).roman,
        }

    def matching(
        self, indicator_id: int | None, jurisdiction_id: int | None, level: int
    ) -> list[SilenceRule]:
        """Every silence in force that matches the alert, oldest first."""
        if not self.silences:
            return []
        labels = self.labels(indicator_id, jurisdiction_id, level)
        return [
            s
            for s in self.silences
            if (
                s.jurisdiction_id is None
                or self.directory.within(jurisdiction_id, s.jurisdiction_id)
            )
            and matching.matches_all(s.matchers, labels)
        ]

    def reason(
        self, indicator_id: int | None, jurisdiction_id: int | None, level: int
    ) -> str | None:
        """The first silence that matches, as a reason, or None."""
        for s in self.matching(indicator_id, jurisdiction_id, level):
            return f"silenced by silence {s.id} until {s.ends_at.isoformat()}"
        return None


def silences_of_alert(session: Session, alert: Alert, now: dt.datetime) -> list[SilenceRule]:
    """The silences in force at ``now`` that mute ``alert``'s notifications."""
    directory = Directory(session, default_wait=dt.timedelta(0))  # no escalation asked
    return Silences(session, directory, now).matching(
        alert.indicator_id, alert.jurisdiction_id, alert.level
    )


#: The labels silences match (an alert's ``source`` is not known where silences are
#: asked).
SILENCE_LABELS = ("indicator", "jurisdiction", "level")


def parse_matcher(text: str) -> matching.Matcher:
    """A silence's matcher from its text; a level is read as its roman numeral
    (``level="2"`` and ``level="orange"`` mean ``level="II"``)."""
    try:
        matcher = matching.Matcher.parse(text)
    except matching.MatcherError as exc:
        raise UserError(str(exc)) from None
    if matcher.label not in SILENCE_LABELS:
        raise UserError(
            f"matcher {text!r}: silences match the labels {', '.join(SILENCE_LABELS)}, "
            f"not {matcher.label!r}"
        )
    if matcher.label == "level" and matcher.op in ("=", "!="):
        try:
            roman = severity.parse_level(matcher.value).roman
        except ValueError as exc:
            raise UserError(f"matcher {text!r}: {exc}") from None
        matcher = matching.Matcher("level", matcher.op, roman)
    return matcher


def _matchers_of(
    indicator: str | None, levels: list[int] | None, texts: Sequence[str]
) -> list[str]:
    """The matchers of a new silence, as text: its indicator and levels first."""
    found = [f'indicator="{indicator}"'] if indicator else []
    if levels:
        found.append('level=~"' + "|".join(severity.Level(v).roman for v in levels) + '"')
    return found + [str(parse_matcher(t)) for t in texts if t.strip()]


def add_silence(
    session: Session,
    *,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    by: str,
    indicator: str | None = None,
    jurisdiction: str | None = None,
    levels: Sequence[str | int] | None = None,
    matchers: Sequence[str] = (),
    comment: str = "",
) -> Silence:
    """Mute notifications of matching alerts between ``starts_at`` and ``ends_at``.

    ``indicator`` and ``levels`` become matchers (``indicator="flu"``,
    ``level=~"I|II"``) beside ``matchers``; ``jurisdiction`` limits the silence to that
    jurisdiction and below.
    """
    check_texts({"comment": comment, "by": by, "matchers": "\n".join(matchers)})
    if ends_at <= starts_at:
        raise UserError("a silence must end after it starts")
    try:
        parsed = sorted({int(severity.parse_level(v)) for v in levels}) if levels else None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    texts = _matchers_of(indicator, parsed, matchers)
    if not texts and not jurisdiction:
        raise UserError(
            "a silence needs at least one matcher (an indicator, a jurisdiction, levels, or "
            'a matcher such as level=~"I|II"): without any it would mute every notification'
        )
    silence = Silence(
        indicator_id=indicator_id_of(session, indicator) if indicator else None,
        jurisdiction_id=jurisdiction_id_of(session, jurisdiction) if jurisdiction else None,
        levels=parsed,
        matchers=texts,
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
            "matchers": texts,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "comment": comment,
        },
        actor=by,
    )
    return silence


def get_silence(session: Session, silence_id: int) -> Silence:
    """The silence ``silence_id``, or :class:`NotFoundError`."""
    silence = session.get(Silence, silence_id)
    if silence is None:
        raise NotFoundError(f"no silence with id {silence_id}")
    return silence


def expire_silence(session: Session, silence_id: int, *, by: str, now: dt.datetime) -> Silence:
    """End a silence now (it stays listed as history)."""
    silence = get_silence(session, silence_id)
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
