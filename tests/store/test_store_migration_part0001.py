"""Migration part0001 (PostgreSQL): observation and signal become partitioned by period
with every row, key and foreign key kept, and back; SQLite is left alone. Pruning
(``tocsin db prune``) removes exactly the periods before the cutoff, each in its
indicator's kind, drops the partitions that held only those, and is audited."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from tocsin.monitoring.retention import cutoffs, prune
from tocsin.periods import PeriodKind, period_of
from tocsin.store import upgrade, write_session
from tocsin.store.migrate import downgrade
from tocsin.store.partitions import PARTITION_SETTING, is_partitioned, partitions

NOW = "CURRENT_TIMESTAMP"
WEEKS = range(period_of(PeriodKind.WEEK, dt.date(2019, 1, 1)), period_of(PeriodKind.WEEK,
              dt.date(2024, 6, 1)))  # fmt: skip
DAYS = range(period_of(PeriodKind.DAY, dt.date(2020, 6, 1)), period_of(PeriodKind.DAY,
             dt.date(2024, 6, 1)), 3)  # fmt: skip


def _fill(engine: Engine) -> None:
    """Two series (weekly 2019-2024, daily 2020-2024), their observations, a revision
    of each, a detector, a run and a signal for every observation."""
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO jurisdiction (id, code, level, name, created_at, "
                          f"updated_at) VALUES (1, 'X', 'region', 'X', {NOW}, {NOW})"))  # fmt: skip
        for id_, freq in ((1, "week"), (2, "day")):
            conn.execute(text(
                "INSERT INTO indicator (id, code, name, domain, unit, value_kind, frequency, "
                f"created_at, updated_at) VALUES ({id_}, 'i{id_}', 'I', 'health', 'cases', "
                f"'count', '{freq}', {NOW}, {NOW})"
            ))  # fmt: skip
            conn.execute(text(
                "INSERT INTO series (id, indicator_id, jurisdiction_id, stratum, version, "
                f"created_at) VALUES ({id_}, {id_}, 1, '', 1, {NOW})"
            ))  # fmt: skip
            conn.execute(text(
                "INSERT INTO detector (id, indicator_id, method, parameters, enabled, created_at, "
                f"updated_at) VALUES ({id_}, {id_}, 'ears_c1', '{{}}', true, {NOW}, {NOW})"
            ))  # fmt: skip
        conn.execute(text("INSERT INTO ingest (id, at, actor, source, rows_inserted, "
                          "rows_revised, rows_unchanged, rows_rejected) "
                          f"VALUES (1, {NOW}, 't', 'test', 0, 0, 0, 0)"))  # fmt: skip
        conn.execute(text("INSERT INTO detection_run (id, at, actor, detectors, series, "
                          f"signals, alarms) VALUES (1, {NOW}, 't', 2, 2, 0, 0)"))  # fmt: skip
        rows = [(1, p) for p in WEEKS] + [(2, p) for p in DAYS]
        conn.execute(
            text("INSERT INTO observation (series_id, period, value, ingest_id) "
                 "VALUES (:s, :p, :v, 1)"),
            [{"s": s, "p": p, "v": p % 17} for s, p in rows],
        )  # fmt: skip
        conn.execute(
            text("INSERT INTO observation_revision (series_id, period, value, ingest_id, "
                 "superseded_by) VALUES (:s, :p, 0, 1, 1)"),
            [{"s": s, "p": p} for s, p in rows[::50]],
        )  # fmt: skip
        conn.execute(
            text("INSERT INTO signal (series_id, detector_id, period, observed, expected, "
                 "upperbound, alarm, score, diagnostics, computed_at, run_id) VALUES "
                 f"(:s, :s, :p, :v, 1.5, 3.25, :a, 0.5, '{{\"n\": 1}}', {NOW}, 1)"),
            [{"s": s, "p": p, "v": p % 17, "a": p % 17 > 12} for s, p in rows],
        )  # fmt: skip


def _everything(engine: Engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {
            "observation": conn.execute(text(
                "SELECT series_id, period, value, ingest_id FROM observation "
                "ORDER BY series_id, period")).all(),
            "observation_revision": conn.execute(text(
                "SELECT series_id, period FROM observation_revision ORDER BY id")).all(),
            "signal": [(*r[:-1], json.loads(r[-1]) if isinstance(r[-1], str) else r[-1])
                       for r in conn.execute(text(
                "SELECT series_id, detector_id, period, observed, expected, upperbound, alarm, "
                "score, run_id, diagnostics FROM signal ORDER BY series_id, detector_id, "
                "period")).all()],
        }  # fmt: skip


@pytest.fixture
def partitioning(monkeypatch) -> None:
    """The operator asks for partitioned tables."""
    monkeypatch.setenv(PARTITION_SETTING, "1")


def test_without_the_setting_the_tables_stay_plain(fresh_engine, monkeypatch) -> None:
    monkeypatch.delenv(PARTITION_SETTING, raising=False)
    upgrade(fresh_engine)
    with fresh_engine.connect() as conn:
        assert not is_partitioned(conn, "observation") and not is_partitioned(conn, "signal")
    downgrade(fresh_engine, "compl0001")  # and back, with nothing to undo


def test_upgrade_partitions_with_every_row_and_constraint_and_downgrade_undoes_it(
    fresh_engine, partitioning
):
    upgrade(fresh_engine, "compl0001")
    _fill(fresh_engine)
    before = _everything(fresh_engine)
    upgrade(fresh_engine, "part0001")
    postgres = fresh_engine.dialect.name == "postgresql"
    with fresh_engine.connect() as conn:
        for table in ("observation", "signal"):
            assert is_partitioned(conn, table) is postgres
        if postgres:
            found = partitions(conn, "signal")
            assert len(found) == 81 and found[-1].low is None  # 80 ranges and the default
            counts = {
                p.name: conn.execute(text(f"SELECT count(*) FROM {p.name}")).scalar()
                for p in partitions(conn, "observation")
            }
            assert sum(counts.values()) == len(before["observation"])
            assert sum(1 for n in counts.values() if n) == 4  # weeks in one, days in three
            plan = conn.execute(text(
                "EXPLAIN SELECT * FROM observation WHERE series_id = 2 AND period >= :p"),
                {"p": period_of(PeriodKind.DAY, dt.date(2023, 1, 1))}).scalars().all()  # fmt: skip
            scanned = "\n".join(plan)
            assert "observation_p026" in scanned and "observation_p025" not in scanned
    assert _everything(fresh_engine) == before
    with fresh_engine.begin() as conn:  # the writers' conflict targets still hold
        conn.execute(text(
            "INSERT INTO observation (series_id, period, value, ingest_id) VALUES (1, :p, 99, 1) "
            "ON CONFLICT (series_id, period) DO UPDATE SET value = excluded.value"),
            {"p": WEEKS[0]})  # fmt: skip
    with pytest.raises(IntegrityError), fresh_engine.begin() as conn:  # foreign keys kept
        conn.execute(text(
            "INSERT INTO signal (series_id, detector_id, period, computed_at) "
            f"VALUES (77, 1, 5, {NOW})"))  # fmt: skip
    with pytest.raises(IntegrityError), fresh_engine.begin() as conn:  # primary key kept
        conn.execute(text(
            "INSERT INTO signal (series_id, detector_id, period, computed_at) "
            f"VALUES (1, 1, {WEEKS[3]}, {NOW})"))  # fmt: skip
    downgrade(fresh_engine, "compl0001")
    with fresh_engine.connect() as conn:
        assert not is_partitioned(conn, "observation") and not is_partitioned(conn, "signal")
    after = _everything(fresh_engine)
    assert after["signal"] == before["signal"]
    assert after["observation"][0] == (1, WEEKS[0], 99.0, 1)
    assert after["observation"][1:] == before["observation"][1:]


@pytest.mark.parametrize("partitioned", [True, False], ids=["partitioned", "plain"])
def test_prune_removes_exactly_the_old_periods_and_is_audited(
    fresh_engine, monkeypatch, partitioned
):
    if partitioned:
        monkeypatch.setenv(PARTITION_SETTING, "1")
    else:
        monkeypatch.delenv(PARTITION_SETTING, raising=False)
    upgrade(fresh_engine, "compl0001")
    _fill(fresh_engine)
    upgrade(fresh_engine)
    before = _everything(fresh_engine)
    cutoff = dt.date(2022, 3, 9)  # a Wednesday: its ISO week is kept whole
    first_kept = {1: cutoffs(cutoff)["week"], 2: cutoffs(cutoff)["day"]}
    assert first_kept[1] == period_of(PeriodKind.WEEK, dt.date(2022, 3, 7))
    with write_session(fresh_engine) as session:
        summary = prune(session, cutoff, actor="admin")
    after = _everything(fresh_engine)
    for table, rows in before.items():
        kept = [r for r in rows if r[1 if table != "signal" else 2] >= first_kept[r[0]]]
        assert after[table] == kept, table
        assert summary.rows[table] == len(rows) - len(kept) > 0
    with fresh_engine.connect() as conn:
        entry = conn.execute(
            text("SELECT actor, object_id, after FROM audit_log WHERE action = 'store.prune'")
        ).one()
        if fresh_engine.dialect.name == "postgresql" and partitioned:
            # Days 2019-12-20 .. 2021-12-19 were one partition, all old: dropped, not deleted.
            assert summary.dropped_partitions == ["observation_p025", "signal_p025"]
            names = {p.name for p in partitions(conn, "observation")}
            assert "observation_p025" not in names and "observation_p026" in names
        else:
            assert summary.dropped_partitions == []
    recorded = entry[2] if isinstance(entry[2], dict) else json.loads(entry[2])
    assert entry[0] == "admin" and entry[1] == "2022-03-09"
    assert recorded == summary.as_dict()
    with write_session(fresh_engine) as session:  # nothing left to remove
        again = prune(session, cutoff)
    assert set(again.rows.values()) == {0} and _everything(fresh_engine) == after


def test_db_prune_on_the_command_line(store_url, store_engine, monkeypatch, capsys):
    import sys

    from tocsin.cli import main

    def run(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["tocsin", "db", "prune", *args])
        with pytest.raises(SystemExit) as info:
            main()
        out = capsys.readouterr()
        return int(info.value.code or 0), out.out + out.err

    code, said = run()
    assert code == 2 and "TOCSIN_RETENTION_DAYS" in said
    code, said = run("--before", "2022-13-01")
    assert code == 2 and "--before '2022-13-01'" in said
    code, said = run("--older-than", "3650")
    assert code == 0 and "0 observation, 0 observation_revision, 0 signal rows" in said
    with store_engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM audit_log WHERE action = 'store.prune'")
            ).scalar()
            == 1
        )


def _catalog(engine: Engine) -> dict[str, list[tuple]]:
    """The keys, foreign keys, indexes, columns and defaults of the large tables and
    every sequence's position (but the audit log's, which the command writes to), as
    PostgreSQL describes them."""
    with engine.connect() as conn:
        return {
            "constraints": conn.execute(text(
                "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE conrelid IN (to_regclass('observation'), "
                "to_regclass('signal')) ORDER BY 1, 2")).all(),
            "indexes": conn.execute(text(  # ON ONLY: a partitioned table's own index
                "SELECT tablename, indexname, replace(indexdef, ' ON ONLY ', ' ON ') FROM "
                "pg_indexes WHERE schemaname = current_schema() AND tablename IN "
                "('observation', 'signal') ORDER BY 1, 2"
            )).all(),
            "columns": conn.execute(text(
                "SELECT table_name, column_name, data_type, is_nullable, column_default FROM "
                "information_schema.columns WHERE table_schema = current_schema() AND "
                "table_name IN ('observation', 'signal') ORDER BY 1, ordinal_position")).all(),
            "sequences": conn.execute(text(
                "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = "
                "current_schema() AND sequencename NOT LIKE 'audit%' ORDER BY 1")).all(),
        }  # fmt: skip


def _partition_command(engine: Engine, monkeypatch, capsys) -> tuple[int, str]:
    import sys

    from tocsin.cli import main
    from tocsin.settings import get_settings
    from tocsin.store.engine import get_engine

    url = engine.url
    if engine.dialect.name == "postgresql":  # the engine keeps its schema out of its URL
        with engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar()
        url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    monkeypatch.setenv("TOCSIN_DATABASE_URL", url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    get_engine.cache_clear()
    monkeypatch.setattr(sys, "argv", ["tocsin", "db", "partition"])
    try:
        with pytest.raises(SystemExit) as info:
            main()
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        get_engine.cache_clear()
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out + out.err


def test_db_partition_converts_a_plain_store_in_place(fresh_engine, monkeypatch, capsys):
    monkeypatch.delenv(PARTITION_SETTING, raising=False)
    upgrade(fresh_engine)
    _fill(fresh_engine)
    before = _everything(fresh_engine)
    if fresh_engine.dialect.name != "postgresql":
        code, said = _partition_command(fresh_engine, monkeypatch, capsys)
        assert code == 2 and "sqlite has no table partitions" in said, said
        assert "Traceback" not in said and _everything(fresh_engine) == before
        return
    with fresh_engine.begin() as conn:  # a sequence that has moved on (run 1 was given its id)
        conn.execute(text("SELECT setval('detection_run_id_seq', 1)"))
    catalog = _catalog(fresh_engine)
    # A page per statement: the copy in many TID ranges (and progress steps), none lost.
    monkeypatch.setattr("tocsin.store.partitions.COPY_BATCH_PAGES", 1)
    code, said = _partition_command(fresh_engine, monkeypatch, capsys)
    assert code == 0, said
    assert f"{len(before['observation']):,} observation, {len(before['signal']):,} signal" in said
    with fresh_engine.connect() as conn:
        assert is_partitioned(conn, "observation") and is_partitioned(conn, "signal")
        assert len(partitions(conn, "observation")) == 81
        entry = conn.execute(
            text("SELECT object_id, after FROM audit_log WHERE action = 'store.partition'")
        ).one()
    recorded = entry[1] if isinstance(entry[1], dict) else json.loads(entry[1])
    assert recorded["rows"] == {t: len(before[t]) for t in ("observation", "signal")}
    assert _everything(fresh_engine) == before
    assert _catalog(fresh_engine) == catalog
    with fresh_engine.begin() as conn:  # writers' conflict targets, sequences carry on
        conn.execute(text(
            "INSERT INTO observation (series_id, period, value, ingest_id) VALUES (1, :p, 99, 1) "
            "ON CONFLICT (series_id, period) DO UPDATE SET value = excluded.value"),
            {"p": WEEKS[0]})  # fmt: skip
        run = conn.execute(text(
            "INSERT INTO detection_run (at, actor, detectors, series, signals, alarms) "
            f"VALUES ({NOW}, 't', 0, 0, 0, 0) RETURNING id")).scalar()  # fmt: skip
        assert run == 2
    with pytest.raises(IntegrityError), fresh_engine.begin() as conn:  # foreign keys kept
        conn.execute(text(
            "INSERT INTO signal (series_id, detector_id, period, computed_at) "
            f"VALUES (77, 1, 5, {NOW})"))  # fmt: skip
    with pytest.raises(IntegrityError), fresh_engine.begin() as conn:  # primary key kept
        conn.execute(text(
            "INSERT INTO signal (series_id, detector_id, period, computed_at) "
            f"VALUES (1, 1, {WEEKS[3]}, {NOW})"))  # fmt: skip
    # Again: already partitioned, nothing changes and nothing more is audited.
    code, said = _partition_command(fresh_engine, monkeypatch, capsys)
    assert code == 0 and "already partitioned; nothing changed" in said, said
    with fresh_engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM audit_log WHERE action = 'store.partition'")
            ).scalar()
            == 1
        )
