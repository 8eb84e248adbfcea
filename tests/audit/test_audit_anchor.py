"""The audit chain is anchored: a wipe or a truncation to an earlier point is detected
(issue 18, "Audit and accounts"), by the checkpoint table the writer only appends to and
by a signed checkpoint file exported off the database."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tocsin.audit import AuditEntry, record, verify
from tocsin.settings import get_settings
from tocsin.store import write_session

KEY = "a-test-key-of-at-least-32-characters-long"


def _write(engine, transactions: int = 5, per_transaction: int = 3) -> None:
    for t in range(transactions):
        with write_session(engine) as session:
            for i in range(per_transaction):
                record(
                    session,
                    action="test.change",
                    object_type="thing",
                    object_id=f"{t}-{i}",
                    after={"n": i},
                    actor="test",
                )


def _verify(engine, **options):
    with Session(engine) as session:
        return verify(session, **options)


def test_a_fresh_database_verifies(store_engine):
    report = _verify(store_engine)
    assert report.intact and report.checked == 0


def test_a_wipe_of_the_log_and_its_head_is_detected(store_engine):
    _write(store_engine)
    assert _verify(store_engine).intact
    with store_engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))
        conn.execute(text("DELETE FROM audit_chain_head"))
    report = _verify(store_engine)
    assert not report.intact
    assert any("truncated or wiped" in p for p in report.problems), report.problems


@pytest.mark.parametrize("keep", [0, 1, 6, 14])
def test_a_truncation_to_an_earlier_point_with_a_rewritten_head_is_detected(store_engine, keep):
    _write(store_engine)
    with store_engine.begin() as conn:
        ids = conn.execute(text("SELECT id FROM audit_log ORDER BY id")).scalars().all()
        assert len(ids) == 15
        if keep:
            cut = ids[keep - 1]
            last_hash = conn.execute(
                text("SELECT entry_hash FROM audit_log WHERE id = :id"), {"id": cut}
            ).scalar()
            conn.execute(text("DELETE FROM audit_log WHERE id > :id"), {"id": cut})
            conn.execute(
                text("UPDATE audit_chain_head SET last_id = :id, last_hash = :h, count = :n"),
                {"id": cut, "h": last_hash, "n": keep},
            )
        else:
            conn.execute(text("DELETE FROM audit_log"))
            conn.execute(text("DELETE FROM audit_chain_head"))
    report = _verify(store_engine)
    assert not report.intact
    assert any("truncated or wiped" in p for p in report.problems), report.problems


def test_checkpoints_of_every_transaction_are_appended(store_engine):
    _write(store_engine, transactions=4)
    with store_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT entry_count, last_id FROM audit_checkpoint ORDER BY id")
        ).all()
    assert [r.entry_count for r in rows] == [3, 6, 9, 12]


def test_a_wipe_of_everything_is_caught_by_a_signed_checkpoint_file(store_engine, tmp_path):
    from tocsin.audit.checkpoint import read_checkpoint, take_checkpoint, write_checkpoint

    _write(store_engine)
    path = tmp_path / "audit.checkpoint"
    with Session(store_engine) as session:
        write_checkpoint(path, take_checkpoint(session), KEY)
    checkpoint = read_checkpoint(path, KEY)
    assert checkpoint.entry_count == 15
    assert _verify(store_engine, checkpoints=[checkpoint]).intact
    _write(store_engine, transactions=1)  # the log grows after the checkpoint: still fine
    assert _verify(store_engine, checkpoints=[checkpoint]).intact
    with store_engine.begin() as conn:
        for table in ("audit_log", "audit_chain_head", "audit_checkpoint"):
            conn.execute(text(f"DELETE FROM {table}"))
    assert _verify(store_engine).intact  # nothing left in the database to compare with
    report = _verify(store_engine, checkpoints=[checkpoint])
    assert not report.intact
    assert any("checkpoint file" in p and "15" in p for p in report.problems), report.problems


def test_a_rewritten_log_does_not_match_the_checkpoint_file(store_engine, tmp_path):
    """Someone rewrites entry 2 and recomputes every hash, head and checkpoint row."""
    from tocsin.audit.chain import entry_hash
    from tocsin.audit.checkpoint import read_checkpoint, take_checkpoint, write_checkpoint

    _write(store_engine, transactions=2)
    path = tmp_path / "audit.checkpoint"
    with Session(store_engine) as session:
        write_checkpoint(path, take_checkpoint(session), KEY)
    with store_engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'nobody' WHERE id = 2"))
        rows = Session(bind=conn).scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        prev = "0" * 64
        for row in rows:
            digest = entry_hash(prev, row)
            conn.execute(
                text("UPDATE audit_log SET prev_hash = :p, entry_hash = :h WHERE id = :id"),
                {"p": prev, "h": digest, "id": row.id},
            )
            conn.execute(
                text("UPDATE audit_checkpoint SET last_hash = :h WHERE last_id = :id"),
                {"h": digest, "id": row.id},
            )
            prev = digest
        conn.execute(text("UPDATE audit_chain_head SET last_hash = :h"), {"h": prev})
    assert _verify(store_engine).intact  # a full rewrite defeats what is in the database
    report = _verify(store_engine, checkpoints=[read_checkpoint(path, KEY)])
    assert any("checkpoint file" in p and "does not match" in p for p in report.problems)


def test_a_forged_checkpoint_file_is_refused(store_engine, tmp_path):
    from tocsin.audit.checkpoint import read_checkpoint, take_checkpoint, write_checkpoint
    from tocsin.errors import UserError

    _write(store_engine, transactions=1)
    path = tmp_path / "audit.checkpoint"
    with Session(store_engine) as session:
        write_checkpoint(path, take_checkpoint(session), KEY)
    document = json.loads(path.read_text())
    document["entry_count"] = 1
    path.write_text(json.dumps(document))
    with pytest.raises(UserError, match="signature"):
        read_checkpoint(path, KEY)
    with pytest.raises(UserError, match="signature"):
        read_checkpoint(tmp_path / "audit.checkpoint", "another-key-of-at-least-32-characters")


def test_the_command_line_writes_and_checks_a_checkpoint(cli, store_engine, tmp_path, monkeypatch):
    _write(store_engine)
    path = tmp_path / "audit.checkpoint"
    code, _, err = cli("audit", "checkpoint", path)
    assert code == 2 and "TOCSIN_AUDIT_KEY" in err and "Traceback" not in err
    monkeypatch.setenv("TOCSIN_AUDIT_KEY", KEY)
    get_settings.cache_clear()
    code, out, _ = cli("audit", "checkpoint", path)
    assert code == 0 and "15 entries" in out
    code, out, _ = cli("audit", "verify", "--checkpoint", path)
    assert code == 0 and "intact" in out
    with store_engine.begin() as conn:
        for table in ("audit_log", "audit_chain_head", "audit_checkpoint"):
            conn.execute(text(f"DELETE FROM {table}"))
    code, _, err = cli("audit", "verify", "--checkpoint", path)
    assert code == 1 and "NOT intact" in err
    code, _, err = cli("audit", "verify", "--checkpoint", tmp_path / "missing")
    assert code == 2 and "missing" in err and "Traceback" not in err


def test_a_log_that_is_not_intact_is_never_signed(cli, store_engine, tmp_path, monkeypatch):
    _write(store_engine)
    monkeypatch.setenv("TOCSIN_AUDIT_KEY", KEY)
    get_settings.cache_clear()
    with store_engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'nobody' WHERE id = 2"))
    path = tmp_path / "audit.checkpoint"
    code, _, err = cli("audit", "checkpoint", path)
    assert code == 1 and "entry 2 was edited" in err and not path.exists()
