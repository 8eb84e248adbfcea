"""Migration 0002: ``series_change.ingest_id`` may be NULL (a population change); the
downgrade keeps the rows, naming the series' last ingest."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tocsin.store import upgrade
from tocsin.store.migrate import current_revision, downgrade


def test_population_changes_survive_a_downgrade_and_upgrade(fresh_engine):
    upgrade(fresh_engine)
    with fresh_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO jurisdiction (id, code, level, name, created_at, updated_at) "
                "VALUES (1, 'A1', 'county', 'A1', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO indicator (id, code, name, domain, unit, value_kind, frequency, "
                "created_at, updated_at) VALUES (1, 'cases', 'Cases', 'health', 'cases', "
                "'count', 'week', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO series (id, indicator_id, jurisdiction_id, stratum, version, "
                "created_at) VALUES (1, 1, 1, '', 3, CURRENT_TIMESTAMP)"
            )
        )
        for ingest_id in (7, 8):
            conn.execute(
                text(
                    "INSERT INTO ingest (id, at, actor, source, rows_inserted, rows_revised, "
                    "rows_unchanged, rows_rejected) "
                    "VALUES (:i, CURRENT_TIMESTAMP, 't', 'test', 0, 0, 0, 0)"
                ),
                {"i": ingest_id},
            )
        conn.execute(
            text(
                "INSERT INTO series_change (series_id, version, from_period, ingest_id) "
                "VALUES (1, 1, 100, 7), (1, 2, 120, 8), (1, 3, 110, NULL)"
            )
        )
    downgrade(fresh_engine, "alert0001")
    assert current_revision(fresh_engine) == "alert0001"
    with fresh_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT version, from_period, ingest_id FROM series_change ORDER BY version")
        ).all()
    assert [tuple(r) for r in rows] == [(1, 100, 7), (2, 120, 8), (3, 110, 8)]
    with pytest.raises(IntegrityError, match=r"(?i)null"), fresh_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO series_change (series_id, version, from_period, ingest_id) "
                "VALUES (1, 4, 1, NULL)"
            )
        )
    upgrade(fresh_engine)
    with fresh_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO series_change (series_id, version, from_period, ingest_id) "
                "VALUES (1, 4, 1, NULL)"
            )
        )
