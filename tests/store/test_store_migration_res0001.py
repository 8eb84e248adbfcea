"""Migration res0001: alerts may have the source ``reserve``; on SQLite the check is
widened in place, so existing alerts keep their transitions and the partial unique index
of active fingerprints still holds; the downgrade turns reserve alerts into manual ones."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tocsin.store import upgrade
from tocsin.store.migrate import downgrade

_ALERT = (
    "INSERT INTO alert (id, fingerprint, status, source, level, resolve_after_periods, public, "
    "headline, headline_zh, description, opened_at, updated_at, escalation_step) VALUES "
    "(:id, :f, 'open', :s, 3, 1, false, 'h', 'h', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 0)"
)


def test_reserve_alerts_are_allowed_and_nothing_else_changes(fresh_engine):
    upgrade(fresh_engine, "rel0001")
    with fresh_engine.begin() as conn:
        conn.execute(text(_ALERT), {"id": 1, "f": "manual:1", "s": "manual"})
        conn.execute(
            text(
                "INSERT INTO alert_transition (alert_id, at, actor, action, to_status, comment) "
                "VALUES (1, CURRENT_TIMESTAMP, 'x', 'open', 'open', '')"
            )
        )
    with pytest.raises(IntegrityError), fresh_engine.begin() as conn:
        conn.execute(text(_ALERT), {"id": 2, "f": "reserve:1", "s": "reserve"})
    upgrade(fresh_engine, "res0001")
    with fresh_engine.begin() as conn:
        conn.execute(text(_ALERT), {"id": 2, "f": "reserve:1", "s": "reserve"})
        assert conn.execute(text("SELECT count(*) FROM alert_transition")).scalar() == 1
    with pytest.raises(IntegrityError), fresh_engine.begin() as conn:  # still one active
        conn.execute(text(_ALERT), {"id": 3, "f": "reserve:1", "s": "reserve"})
    with pytest.raises(IntegrityError), fresh_engine.begin() as conn:  # still checked
        conn.execute(text(_ALERT), {"id": 3, "f": "other:1", "s": "rumour"})
    downgrade(fresh_engine, "rel0001")
    with fresh_engine.begin() as conn:
        sources = conn.execute(text("SELECT source FROM alert ORDER BY id")).scalars().all()
        assert sources == ["manual", "manual"]
    with pytest.raises(IntegrityError), fresh_engine.begin() as conn:
        conn.execute(text(_ALERT), {"id": 4, "f": "reserve:2", "s": "reserve"})
