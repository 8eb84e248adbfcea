"""Migration compl0001: indicators gain an (empty) due rule and alerts may have the
source ``missing``; existing indicators stay untracked; the downgrade turns missing-data
alerts into manual ones."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tocsin.store import upgrade
from tocsin.store.migrate import downgrade

_ALERT = (
    "INSERT INTO alert (id, fingerprint, status, source, level, resolve_after_periods, public, "
    "headline, headline_zh, description, opened_at, updated_at, escalation_step) VALUES "
    "(:id, :f, 'open', :s, 4, 1, false, 'h', 'h', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 0)"
)
_INDICATOR = (
    "INSERT INTO indicator (id, code, name, domain, unit, value_kind, frequency, created_at, "
    "updated_at) VALUES (1, 'flu', 'Flu', 'health', 'cases', 'count', 'week', "
    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
)


def test_missing_alerts_are_allowed_and_indicators_stay_untracked(fresh_engine):
    upgrade(fresh_engine, "qtr0001")
    with fresh_engine.begin() as conn:
        conn.execute(text(_INDICATOR))
        conn.execute(text(_ALERT), {"id": 1, "f": "reserve:1", "s": "reserve"})
    with pytest.raises(IntegrityError), fresh_engine.begin() as conn:
        conn.execute(text(_ALERT), {"id": 2, "f": "missing:1", "s": "missing"})
    upgrade(fresh_engine, "compl0001")
    with fresh_engine.begin() as conn:
        due = conn.execute(text("SELECT due_days, due_time, due_timezone FROM indicator")).one()
        assert tuple(due) == (None, None, None)
        conn.execute(text(_ALERT), {"id": 2, "f": "missing:1", "s": "missing"})
    with pytest.raises(IntegrityError), fresh_engine.begin() as conn:  # still one active
        conn.execute(text(_ALERT), {"id": 3, "f": "missing:1", "s": "missing"})
    with pytest.raises(IntegrityError), fresh_engine.begin() as conn:  # still checked
        conn.execute(text(_ALERT), {"id": 3, "f": "other:1", "s": "rumour"})
    downgrade(fresh_engine, "qtr0001")
    with fresh_engine.begin() as conn:
        sources = conn.execute(text("SELECT source FROM alert ORDER BY id")).scalars().all()
        assert sources == ["reserve", "manual"]
    with pytest.raises(IntegrityError), fresh_engine.begin() as conn:
        conn.execute(text(_ALERT), {"id": 4, "f": "missing:2", "s": "missing"})
