"""The public feed: the Atom feed (RFC 4287) of current public alerts, each entry with its
latest CAP message (built by :mod:`tocsin.alerting.cap.atom`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.alerting import severity
from tocsin.alerting.cap import atom
from tocsin.alerting.cap.render import cap_xml, latest_message
from tocsin.alerting.directory import Directory, IndicatorInfo
from tocsin.alerting.models import ACTIVE_STATUSES, Alert
from tocsin.alerting.settings import AlertingSettings


def public_feed(
    session: Session, settings: AlertingSettings, now: dt.datetime, *, embed: bool = True
) -> bytes:
    """The Atom feed (RFC 4287) of active public alerts, newest first."""
    directory = Directory(session, default_wait=dt.timedelta(minutes=30))
    alerts = session.scalars(
        select(Alert)
        .where(Alert.status.in_(ACTIVE_STATUSES), Alert.public)
        .order_by(Alert.updated_at.desc(), Alert.id.desc())
        .limit(1000)
    ).all()
    entries = []
    for alert in alerts:
        row = latest_message(session, alert.id)
        if row is None or row.scope != "Public":
            continue
        xml = cap_xml(session, row.identifier, settings, directory=directory) if embed else None
        level = severity.Level(alert.level)
        entries.append(
            atom.FeedEntry(
                identifier=row.identifier,
                title=alert.headline or f"Alert {alert.id}",
                updated=row.sent,
                summary=f"{level.cap_severity.value} ({level.colour.value}), {alert.status}",
                cap_url=settings.cap_url(row.identifier),
                alert_url=settings.alert_url(alert.id),
                category=severity.category_for(
                    (directory.indicator(alert.indicator_id) or _NO_INDICATOR).domain
                ),
                cap_xml=xml,
            )
        )
    base = settings.public_url.rstrip("/")
    return atom.build_feed(
        entries,
        feed_id=f"{base}/cap/feed.atom",
        title="tocsin: current public alerts",
        self_url=f"{base}/cap/feed.atom",
        updated=now,
        author=settings.cap_sender_name,
    )


_NO_INDICATOR = IndicatorInfo(0, "", "", "", "", "", "")
