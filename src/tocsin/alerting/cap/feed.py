"""The public feed: the Atom feed (RFC 4287) of public alerts, each entry with its latest
CAP message (built by :mod:`tocsin.alerting.cap.atom`).

Listed: every active public alert, and every public alert closed less than
``TOCSIN_CAP_FEED_CLOSED_HOURS`` ago (default 48), so that aggregators polling the feed
learn of its Cancel or all-clear Update. A message is listed while it is valid: an
expired one (tocsin renews the messages of alerts still in force before they expire,
:func:`tocsin.alerting.lifecycle.renew_expiring`), or an imported one of status Test,
Exercise, System or Draft, is never republished. Each entry's ``id`` is the URL of its
CAP message, as CAP aggregators (e.g. the IFRC Alert Hub) read it.

After the alerts come the public notices of incidents (``tocsin.response.notice``): the
newest of each incident while it is valid, never one of an exercise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tocsin.alerting import severity
from tocsin.alerting.cap import atom
from tocsin.alerting.cap.render import latest_message, xml_of
from tocsin.alerting.directory import Directory, IndicatorInfo
from tocsin.alerting.models import ACTIVE_STATUSES, Alert, CapMessageRow
from tocsin.alerting.settings import AlertingSettings

#: Most entries in the feed.
MAX_ENTRIES = 1000


@dataclass(frozen=True)
class PublicFeed:
    """The feed document and the moment it last changed (HTTP ``Last-Modified``)."""

    xml: bytes
    updated: dt.datetime


def _listed(row: CapMessageRow | None, settings: AlertingSettings, now: dt.datetime) -> bool:
    if row is None or row.scope != "Public" or row.status != "Actual":
        return False
    return row.expires is None or row.expires > now


def listed_alerts(
    session: Session,
    settings: AlertingSettings,
    now: dt.datetime,
    *,
    closed_within: dt.timedelta | None = None,
) -> list[tuple[Alert, CapMessageRow]]:
    """The public alerts the feed lists, each with its latest CAP message, most recently
    changed first: active ones, and with ``closed_within`` those closed since then; only
    where that message is public, ``Actual`` (never an exercise, test or draft) and
    unexpired. The public page of current alerts shows the same (without closed ones)."""
    in_force = Alert.status.in_(ACTIVE_STATUSES)
    alerts = session.scalars(
        select(Alert)
        .where(
            Alert.public,
            in_force
            if closed_within is None
            else or_(in_force, Alert.closed_at > now - closed_within),
        )
        .order_by(Alert.updated_at.desc(), Alert.id.desc())
        .limit(MAX_ENTRIES)
    ).all()
    listed = []
    for alert in alerts:
        row = latest_message(session, alert.id)
        if row is not None and _listed(row, settings, now):
            listed.append((alert, row))
    return listed


def _last_departure(
    session: Session, settings: AlertingSettings, now: dt.datetime, window: dt.timedelta
) -> dt.datetime | None:
    """When an entry last left the feed (a closed alert's time ran out, or an imported
    message expired): the feed changed then, though no message was issued."""
    closed = session.scalar(
        select(func.max(Alert.closed_at)).where(Alert.public, Alert.closed_at <= now - window)
    )
    expired = session.scalar(
        select(func.max(CapMessageRow.expires)).where(
            or_(CapMessageRow.alert_id.is_not(None), CapMessageRow.incident_id.is_not(None)),
            CapMessageRow.expires <= now,
        )
    )
    moments = [m for m in (closed + window if closed else None, expired) if m is not None]
    return max(moments, default=None)


def build_public_feed(
    session: Session, settings: AlertingSettings, now: dt.datetime, *, embed: bool = True
) -> PublicFeed:
    """The Atom feed (RFC 4287) of public alerts, most recently changed first."""
    directory = Directory(session, default_wait=dt.timedelta(minutes=30))
    window = dt.timedelta(hours=settings.cap_feed_closed_hours)
    entries = []
    for alert, row in listed_alerts(session, settings, now, closed_within=window):
        level = severity.Level(alert.level)
        url = settings.cap_url(row.sender, row.identifier)
        entries.append(
            atom.FeedEntry(
                identifier=url,
                title=alert.headline or f"Alert {alert.id}",
                updated=row.sent,
                summary=f"{level.cap_severity.value} ({level.colour.value}), {alert.status}",
                cap_url=url,
                alert_url=settings.alert_url(alert.id),
                category=alert.external_category
                or severity.category_for(
                    (directory.indicator(alert.indicator_id) or _NO_INDICATOR).domain
                ),
                cap_xml=xml_of(session, row, settings) if embed else None,
            )
        )
    entries += _incident_entries(session, settings, now, embed=embed)
    base = settings.public_url.rstrip("/")
    newest = max((e.updated for e in entries), default=None)
    departed = _last_departure(session, settings, now, window)
    updated = max((m for m in (newest, departed) if m is not None), default=now)
    xml = atom.build_feed(
        entries,
        feed_id=f"{base}/cap/feed.atom",
        title="tocsin: current public alerts",
        self_url=f"{base}/cap/feed.atom",
        updated=updated,
        author=settings.cap_sender_name,
    )
    return PublicFeed(xml, updated)


def _incident_entries(
    session: Session, settings: AlertingSettings, now: dt.datetime, *, embed: bool
) -> list[atom.FeedEntry]:
    """The newest notice of each incident (``tocsin.response.notice``) while it is valid:
    an active response's, or its all-clear or Cancel for ``TOCSIN_CAP_FEED_CLOSED_HOURS``;
    never an exercise's (status ``Exercise``)."""
    newest = (
        select(func.max(CapMessageRow.id))
        .where(CapMessageRow.incident_id.is_not(None))
        .group_by(CapMessageRow.incident_id)
    )
    rows = session.scalars(
        select(CapMessageRow)
        .where(CapMessageRow.id.in_(newest))
        .order_by(CapMessageRow.sent.desc(), CapMessageRow.id.desc())
        .limit(MAX_ENTRIES)
    ).all()
    entries = []
    for row in rows:
        if not _listed(row, settings, now):
            continue
        data = row.snapshot or {}
        level = severity.Level(data.get("level") or 4)
        url = settings.cap_url(row.sender, row.identifier)
        entries.append(
            atom.FeedEntry(
                identifier=url,
                title=data.get("headline") or row.identifier,
                updated=row.sent,
                summary=f"{level.cap_severity.value} ({level.colour.value}), {row.msg_type}",
                cap_url=url,
                alert_url=(data.get("words") or {}).get("web", ""),
                category=data.get("external_category") or "Other",
                cap_xml=xml_of(session, row, settings) if embed else None,
            )
        )
    return entries


def public_feed(
    session: Session, settings: AlertingSettings, now: dt.datetime, *, embed: bool = True
) -> bytes:
    """The feed document of :func:`build_public_feed`."""
    return build_public_feed(session, settings, now, embed=embed).xml


_NO_INDICATOR = IndicatorInfo(0, "", "", "", "", "", "")
