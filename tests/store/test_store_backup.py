"""``tocsin db backup`` / ``tocsin db restore``: a round trip keeps the data and a
verifiable audit chain (issue 10, "Kill and restart"), on SQLite (online backup API) and
PostgreSQL (pg_dump / pg_restore, custom format)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tocsin.audit import record, verify
from tocsin.store import write_session


def _write(engine, tag: str, n: int = 4) -> None:
    for i in range(n):
        with write_session(engine) as session:
            record(session, action="test.change", object_type="thing", object_id=f"{tag}{i}")


def _objects(engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT object_id FROM audit_log WHERE action = 'test.change' ORDER BY id")
            ).scalars()
        )


def test_a_backup_restored_brings_back_the_data_and_a_verifiable_chain(
    cli, store_engine, tmp_path, monkeypatch
):
    from tocsin.settings import get_settings

    monkeypatch.setenv("TOCSIN_AUDIT_KEY", "k" * 40)
    get_settings.cache_clear()
    _write(store_engine, "before")
    checkpoint = tmp_path / "at-backup.checkpoint"
    assert cli("audit", "checkpoint", checkpoint)[0] == 0
    backup = tmp_path / "tocsin.backup"
    code, out, err = cli("db", "backup", backup)
    assert code == 0, err
    assert backup.stat().st_size > 0 and str(backup) in out
    _write(store_engine, "after")  # changes after the backup, lost by the restore
    with store_engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE object_id = 'before0'"))
    code, out, err = cli("db", "restore", backup)
    assert code == 0, err
    assert _objects(store_engine) == [f"before{i}" for i in range(4)]
    with Session(store_engine) as session:
        report = verify(session)
        assert report.intact, report.problems
        actions = session.execute(text("SELECT action FROM audit_log ORDER BY id")).scalars()
        assert list(actions)[-1] == "db.restore"  # the restore itself is audited, chained
    _write(store_engine, "later")  # the chain goes on after a restore
    code, out, err = cli("audit", "verify", "--checkpoint", checkpoint)
    assert code == 0 and "intact" in out, err


def test_a_backup_never_overwrites_a_file(cli, store_engine, tmp_path):
    existing = tmp_path / "kept.backup"
    existing.write_text("keep me")
    code, _, err = cli("db", "backup", existing)
    assert code == 2 and "exists" in err and "Traceback" not in err
    assert existing.read_text() == "keep me"


def test_a_file_that_is_not_a_backup_is_refused_and_nothing_changes(cli, store_engine, tmp_path):
    _write(store_engine, "kept")
    bogus = tmp_path / "not-a.backup"
    bogus.write_text("this is not a backup\n" * 100)
    code, _, err = cli("db", "restore", bogus)
    assert code == 2 and "not-a.backup" in err and "Traceback" not in err
    code, _, err = cli("db", "restore", tmp_path / "missing.backup")
    assert code == 2 and "missing.backup" in err
    assert _objects(store_engine) == [f"kept{i}" for i in range(4)]


@pytest.mark.postgres
def test_without_pg_dump_on_the_path_the_error_says_so(cli, store_engine, tmp_path, monkeypatch):
    if store_engine.dialect.name != "postgresql":
        pytest.skip("pg_dump is for PostgreSQL only")
    monkeypatch.setenv("PATH", str(tmp_path))
    code, _, err = cli("db", "backup", tmp_path / "x.backup")
    assert code == 2 and "pg_dump" in err and "PATH" in err
    (tmp_path / "y.backup").write_bytes(b"PGDMP")
    code, _, err = cli("db", "restore", tmp_path / "y.backup")
    assert code == 2 and "pg_restore" in err
