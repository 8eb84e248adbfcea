"""Tables of the alerting domain.

``alert``
    one row per alert; at most one *active* (open or acknowledged) alert per group key
    (``fingerprint``), enforced by a partial unique index -- Alertmanager's grouping.
``alert_transition``
    every lifecycle change with actor, time and comment.
``alert_rule``
    which signals open alerts for an indicator (or one series), how they are grouped,
    after how many quiet periods they resolve, and the severity rule (tail-probability
    cut-offs and minimum counts of the levels).
``silence``
    matchers (indicator, jurisdiction subtree, levels) and a time window.
``duty_contact``, ``escalation_policy``, ``escalation_step``
    who is on duty for a jurisdiction and how alerts climb the hierarchy.
``notification``
    the transactional outbox: written in the same transaction as the alert change,
    delivered by ``tocsin worker`` with retries; ``idempotency_key`` is unique.
``cap_message``, ``cap_area``
    every CAP message an alert produced (or that was imported); areas as issued.
``alerting_cursor``
    the last detection run whose signals became alerts.
``worker_heartbeat``
    when each ``tocsin worker`` last began a tick (read by ``/readyz`` and ``/metrics``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.store.base import Base, BigIntKey, JSONType, UTCDateTime, utcnow

ALERT_STATUSES = ("open", "acknowledged", "resolved", "cancelled")
ACTIVE_STATUSES = ("open", "acknowledged")
ALERT_SOURCES = ("detection", "manual", "external", "reserve", "missing")
NOTIFICATION_STATUSES = ("pending", "sent", "failed", "suppressed")
CHANNELS = ("email", "webhook")
GROUPINGS = ("series", "indicator,jurisdiction", "indicator")
#: Longest CAP identifier or sender tocsin stores.
IDENTIFIER_MAX = 300


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


_ACTIVE = text("status IN ('open', 'acknowledged')")


class AlertRule(Base):
    """Which signals open alerts for an indicator (or one of its series), and how.

    Without any rule, every alarm opens or updates an alert grouped by series (the
    defaults of the columns below).
    """

    __tablename__ = "alert_rule"
    __table_args__ = (
        CheckConstraint(_one_of("group_by", GROUPINGS), name="group_by"),
        CheckConstraint("min_level BETWEEN 1 AND 4", name="min_level"),
        CheckConstraint("resolve_after_periods >= 1", name="resolve_after"),
        Index("uq_alert_rule_target", "indicator_id", text("coalesce(series_id, 0)"), unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicator.id", ondelete="CASCADE"))
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Least serious level that opens an alert (4 = every alarm, 1 = only red).
    min_level: Mapped[int] = mapped_column(Integer, default=4)
    group_by: Mapped[str] = mapped_column(String(32), default="series")
    resolve_after_periods: Mapped[int] = mapped_column(Integer, default=2)
    #: Severity (:class:`tocsin.alerting.severity.SeverityRule`): the tail probability a
    #: signal must be below for levels III, II, I ...
    cutoff_iii: Mapped[float] = mapped_column(Double, default=1e-3)
    cutoff_ii: Mapped[float] = mapped_column(Double, default=1e-4)
    cutoff_i: Mapped[float] = mapped_column(Double, default=1e-5)
    #: ... and the smallest count each level accepts (below level IV's: no alert).
    min_count_iv: Mapped[int] = mapped_column(Integer, default=1)
    min_count_iii: Mapped[int] = mapped_column(Integer, default=5)
    min_count_ii: Mapped[int] = mapped_column(Integer, default=10)
    min_count_i: Mapped[int] = mapped_column(Integer, default=20)
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Alert(Base):
    """A hazard that needs attention in a jurisdiction."""

    __tablename__ = "alert"
    __table_args__ = (
        CheckConstraint(_one_of("status", ALERT_STATUSES), name="status"),
        CheckConstraint(_one_of("source", ALERT_SOURCES), name="source"),
        CheckConstraint("level BETWEEN 1 AND 4", name="level"),
        Index(
            "uq_alert_active_fingerprint",
            "fingerprint",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
        Index("ix_alert_status_jurisdiction", "status", "jurisdiction_id"),
        Index(
            "ix_alert_next_escalation_at",
            "next_escalation_at",
            sqlite_where=text("next_escalation_at IS NOT NULL"),
            postgresql_where=text("next_escalation_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The group key, e.g. ``series:17`` or ``indicator:3/jurisdiction:12``.
    fingerprint: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="open")
    source: Mapped[str] = mapped_column(String(16), default="detection")
    indicator_id: Mapped[int | None] = mapped_column(ForeignKey("indicator.id"))
    jurisdiction_id: Mapped[int | None] = mapped_column(ForeignKey("jurisdiction.id"))
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id"))
    #: The stratum of the alert's series (e.g. an age group); None when the series has
    #: none or the alert groups several series (rule ``group_by`` other than series).
    stratum: Mapped[str | None] = mapped_column(String(100))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("alert_rule.id", ondelete="SET NULL"))
    #: 1 (I, red) .. 4 (IV, blue); see :mod:`tocsin.alerting.severity`.
    level: Mapped[int] = mapped_column(Integer, default=4)
    #: The latest alarm: its tail probability, observed and expected values, upper bound.
    tail_probability: Mapped[float | None] = mapped_column(Double)
    observed: Mapped[float | None] = mapped_column(Double)
    expected: Mapped[float | None] = mapped_column(Double)
    upperbound: Mapped[float | None] = mapped_column(Double)
    #: Why the alert has its level: the signal that set it and the rule applied
    #: (:func:`tocsin.alerting.grouping.severity_basis`); None for alerts not detected.
    severity_basis: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    first_period: Mapped[int | None] = mapped_column(Integer)
    last_alarm_period: Mapped[int | None] = mapped_column(Integer)
    resolve_after_periods: Mapped[int] = mapped_column(Integer, default=2)
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    headline: Mapped[str] = mapped_column(String(500), default="")
    headline_zh: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Escalation: index of the next step and when it falls due (None: stopped).
    escalation_step: Mapped[int] = mapped_column(Integer, default=0)
    next_escalation_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: When the current round of escalation started (None: when the alert opened); set
    #: anew when an acknowledgement times out (:mod:`tocsin.alerting.acknowledgement`).
    escalation_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: How many times an acknowledgement timed out and escalation started again.
    ack_timeouts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    #: When every step of the policy had run and nobody had acknowledged the alert.
    escalation_exhausted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: A drill's alert (:mod:`tocsin.risk.drills`): its CAP messages have status
    #: ``Exercise`` (never in the public feed) and it counts in no real figure.
    exercise: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: For alerts imported from another agency's CAP: category and area as published.
    external_category: Mapped[str | None] = mapped_column(String(32))
    external_area: Mapped[Any | None] = mapped_column(JSONType)


class AlertTransition(Base):
    """One lifecycle change of an alert: who, when, from what to what, and why."""

    __tablename__ = "alert_transition"
    __table_args__ = (Index(None, "alert_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    level: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")


class Silence(Base):
    """Mutes notifications of matching alerts between ``starts_at`` and ``ends_at``.

    ``jurisdiction_id``: that jurisdiction and every one below it (none: the whole
    territory, administered by root administrators only); ``matchers``: Alertmanager
    matchers on the labels of an alert (:mod:`tocsin.alerting.matchers`), all of which
    must match. ``indicator_id`` and ``levels`` record the indicator and levels given
    when the silence was made (they are also among its matchers).
    """

    __tablename__ = "silence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_id: Mapped[int | None] = mapped_column(ForeignKey("indicator.id", ondelete="CASCADE"))
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdiction.id", ondelete="CASCADE")
    )
    levels: Mapped[list[int] | None] = mapped_column(JSONType)
    matchers: Mapped[list[str] | None] = mapped_column(JSONType)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class DutyContact(Base):
    """A person or desk on duty for a jurisdiction, reached by e-mail and/or webhook."""

    __tablename__ = "duty_contact"
    __table_args__ = (
        CheckConstraint("email IS NOT NULL OR webhook_url IS NOT NULL", name="reachable"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdiction.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    #: HMAC key of the webhook signature; never logged or shown.
    webhook_secret: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class EscalationPolicyRow(Base):
    """A jurisdiction's own escalation policy (absent: inherited from the parent)."""

    __tablename__ = "escalation_policy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdiction.id", ondelete="CASCADE"), unique=True
    )
    repeats: Mapped[int] = mapped_column(Integer, default=0)
    repeat_interval_minutes: Mapped[int] = mapped_column(Integer, default=60)


class EscalationStepRow(Base):
    """Step ``position`` of a policy: wait, then notify ``levels_up`` levels above."""

    __tablename__ = "escalation_step"

    policy_id: Mapped[int] = mapped_column(
        ForeignKey("escalation_policy.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    wait_minutes: Mapped[int] = mapped_column(Integer)
    levels_up: Mapped[int] = mapped_column(Integer, default=0)


class Notification(Base):
    """The outbox: one message to one contact over one channel.

    A worker claims due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has one
    writer) by setting a lease (``claimed_until``) and a new ``claim_token``; it renews
    the lease just before each send and records the outcome only while the row still
    carries its token. A worker that dies leaves the lease to expire, so another delivers
    the row again: at least once, same idempotency key (see ``notify/outbox.py``).
    """

    __tablename__ = "notification"
    __table_args__ = (
        CheckConstraint(_one_of("status", NOTIFICATION_STATUSES), name="status"),
        CheckConstraint(_one_of("channel", CHANNELS), name="channel"),
        # About an alert or an incident (tocsin.response.notices), never both or neither.
        CheckConstraint("(alert_id IS NULL) <> (incident_id IS NULL)", name="one_subject"),
        Index(
            "ix_notification_due",
            "next_attempt_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        # Recipients' latest messages, for the group interval (alerting/notify/digest.py).
        Index(
            "ix_notification_sent_at",
            "sent_at",
            sqlite_where=text("sent_at IS NOT NULL"),
            postgresql_where=text("sent_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert.id", ondelete="CASCADE"), index=True
    )
    #: An incident's notification (a response level declared, overdue work; written by
    #: ``tocsin.response.notices``). The table is the response domain's, which alerting
    #: never imports: the key names it, and ``tocsin.store.load_models`` loads it.
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("duty_contact.id", ondelete="SET NULL")
    )
    jurisdiction_id: Mapped[int | None] = mapped_column(ForeignKey("jurisdiction.id"))
    channel: Mapped[str] = mapped_column(String(16))
    #: E-mail address or webhook URL.
    target: Mapped[str] = mapped_column(String(2000))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    #: What happened: opened, escalated, updated, resolved, cancelled; for incidents
    #: activated, task-overdue, report-overdue.
    reason: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    #: Random token of the current claim: only its holder may renew or settle the row.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CapMessageRow(Base):
    """A CAP message: issued by tocsin for an alert transition, or imported.

    A message never changes once issued. tocsin's own messages keep in ``snapshot`` the
    alert's state when it was issued, with the :class:`CapContext` and :class:`CapArea`
    frozen with it, and are written from those alone when read
    (:func:`tocsin.alerting.cap.render.cap_xml`), which keeps text and XML work off the
    hot path of alert creation. Imported messages keep the agency's XML
    verbatim in ``xml``; those that open or change no alert (a test, an Ack, an expired
    message, a Cancel of an unknown message) have no ``alert_id`` and say why in
    ``outcome``. A message is found by sender and identifier (CAP 1.2, 3.2.1).
    """

    __tablename__ = "cap_message"
    # (identifier, sender): identifier first, the more selective of the two.
    __table_args__ = (
        UniqueConstraint("identifier", "sender"),
        Index(None, "alert_id", "id"),
        Index(None, "expires"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"))
    #: An incident's public notice (``tocsin.response.notice``); the table is the
    #: response domain's, loaded by ``tocsin.store.load_models``.
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    identifier: Mapped[str] = mapped_column(String(IDENTIFIER_MAX))
    sender: Mapped[str] = mapped_column(String(IDENTIFIER_MAX))
    sent: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    msg_type: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(16), default="Public")
    #: CAP ``status`` (Actual, Exercise, System, Test, Draft).
    status: Mapped[str] = mapped_column(String(16), default="Actual")
    #: The latest ``expires`` of the message's ``info`` blocks (None: never).
    expires: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    xml: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: Imported messages: what tocsin did with it, and what its XML signature said.
    outcome: Mapped[str | None] = mapped_column(Text)
    signature: Mapped[str | None] = mapped_column(Text)


class CapArea(Base):
    """A jurisdiction's CAP ``area`` (names, code, polygons) as it was at a moment.

    Messages refer to it instead of the jurisdiction, so renaming or redrawing a
    jurisdiction leaves messages already issued unchanged. One row per jurisdiction and
    ``jurisdiction_updated_at``: a change of the jurisdiction makes a new row.
    """

    __tablename__ = "cap_area"
    __table_args__ = (UniqueConstraint("jurisdiction_id", "jurisdiction_updated_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdiction.id", ondelete="SET NULL")
    )
    jurisdiction_updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    name_zh: Mapped[str] = mapped_column(String(300))
    polygons: Mapped[list[str]] = mapped_column(JSONType)


class CapContext(Base):
    """What messages take from outside their alert -- the indicator's names, code, unit,
    frequency and domain, the sender name, the base of links, contact, instruction, the
    small-count rule -- frozen once for every message issued with the same (``digest``:
    SHA-256 of the canonical JSON of ``data``)."""

    __tablename__ = "cap_context"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)


class AlertingCursor(Base):
    """Progress markers of the worker, e.g. the last detection run turned into alerts."""

    __tablename__ = "alerting_cursor"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigIntKey)


class WorkerHeartbeat(Base):
    """The last sign of life of one worker process: written at every tick."""

    __tablename__ = "worker_heartbeat"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
