"""The jurisdiction tree as the response sees it: alerting's :class:`Directory`, whose
``chain`` and ``inherited`` give plans and bodies the same inheritance down the hierarchy
as escalation policies (a jurisdiction's own, else the nearest ancestor's)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from tocsin.alerting.directory import Directory

#: The directory's escalation default, unused by the response.
_UNUSED_WAIT = dt.timedelta(minutes=30)


def tree(session: Session) -> Directory:
    """Every jurisdiction (no geometries), loaded once."""
    return Directory(session, default_wait=_UNUSED_WAIT)
