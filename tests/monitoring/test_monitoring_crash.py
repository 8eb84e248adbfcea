"""A real ``tocsin ingest`` killed with SIGKILL leaves the whole file or none of it; two
ingests at once both succeed (or one fails cleanly) and leave no lock behind.

The kills are deterministic: the ingest is started with ``TOCSIN_PAUSE_AT`` (see
:mod:`tocsin.store.pause`), stops at a named step of its transaction and is killed there,
whatever the speed of the machine."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from monitoring_helpers import TOCSIN, cli_env, weekly_counts
from sqlalchemy import text

STRATA = 24
N_ROWS = 500 * 3 * STRATA

#: (pause point, what a kill -9 there must leave: the file before or the file after).
KILL_POINTS = (
    ("ingest.before-write", "before"),
    ("ingest.mid-write", "before"),
    ("ingest.before-commit", "before"),
    ("ingest.after-commit", "after"),
)


def _big_file(tmp_path, name: str, shift: int) -> tuple[str, float]:
    """36,000 rows (3 areas x 24 strata x 500 weeks); every value differs by file."""
    base = weekly_counts(500, indicator=None)
    frames = [base.assign(stratum=f"s{k:02d}") for k in range(STRATA)]
    frame = pd.concat(frames, ignore_index=True)
    frame["value"] = frame["value"] + shift
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path), float(frame["value"].sum())


def _state(engine) -> tuple[int, float]:
    with engine.connect() as conn:
        n, total = conn.execute(text("SELECT count(*), sum(value) FROM observation")).one()
    return int(n), float(total or 0.0)


def _ingest(url: str, path: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [*TOCSIN, "ingest", path, "--indicator", "cases"],
        env={**cli_env(url), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _kill_at(url: str, path: str, point: str, marker: Path) -> None:
    """Run an ingest of ``path`` until it stops at ``point``, then kill -9 it there."""
    marker.unlink(missing_ok=True)
    process = _ingest(url, path, {"TOCSIN_PAUSE_AT": point, "TOCSIN_PAUSE_FILE": str(marker)})
    deadline = time.monotonic() + 120
    while not marker.exists():
        if process.poll() is not None:
            raise AssertionError(
                f"the ingest ended (exit {process.returncode}) before {point}: "
                + process.stderr.read().decode()
            )
        assert time.monotonic() < deadline, f"the ingest never reached {point}"
        time.sleep(0.02)
    assert marker.read_text().split()[0] == point
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL


def _check_integrity(engine) -> None:
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


@pytest.mark.slow
def test_kill_9_at_random_moments_leaves_all_or_nothing(engine, store, tmp_path):
    """Kill -9 before, in the middle of and after the write of a first file (inserts)
    and of a second one (revisions of every value): all or nothing each time."""
    url = store[0]
    marker = tmp_path / "paused"
    (a, sum_a), (b, sum_b) = _big_file(tmp_path, "a.csv", 0), _big_file(tmp_path, "b.csv", 1)
    # Inserts into an empty store, killed in the middle of the write.
    _kill_at(url, a, "ingest.mid-write", marker)
    assert _state(engine) == (0, 0.0)
    _check_integrity(engine)
    process = _ingest(url, a)
    assert process.wait(timeout=120) == 0, process.stderr.read().decode()
    assert _state(engine) == (N_ROWS, sum_a)
    # Revisions of every stored value, killed at each step of the transaction.
    current, files = sum_a, {sum_a: (b, sum_b), sum_b: (a, sum_a)}
    for point, outcome in KILL_POINTS:
        path, target = files[current]
        _kill_at(url, path, point, marker)
        expected = target if outcome == "after" else current
        assert _state(engine) == (N_ROWS, expected), f"kill -9 at {point}"
        _check_integrity(engine)
        current = expected
    # No lock was left behind: a last ingest completes, and the file is whole.
    path, target = files[current]
    process = _ingest(url, path)
    assert process.wait(timeout=120) == 0, process.stderr.read().decode()
    assert _state(engine) == (N_ROWS, target)
    with engine.connect() as conn:
        ingests = conn.execute(text("SELECT count(*) FROM ingest")).scalar()
        revisions = conn.execute(text("SELECT count(*) FROM observation_revision")).scalar()
    assert ingests == 3  # the first file, the one committed before the kill, the last one
    assert revisions == 2 * N_ROWS


@pytest.mark.slow
def test_two_ingests_at_once_both_succeed_or_one_fails_cleanly(engine, store, tmp_path):
    url = store[0]
    (a, sum_a), (b, sum_b) = _big_file(tmp_path, "a.csv", 0), _big_file(tmp_path, "b.csv", 1)
    first, second = _ingest(url, a), _ingest(url, b)
    codes = [first.wait(timeout=120), second.wait(timeout=120)]
    errors = [p.stderr.read().decode() for p in (first, second)]
    for code, err in zip(codes, errors, strict=True):
        assert code in (0, 2), err
        assert "Traceback" not in err
        if code == 2:
            assert "busy" in err
    assert 0 in codes
    n, total = _state(engine)
    assert n == N_ROWS and total in (sum_a, sum_b)
    with engine.connect() as conn:
        revisions = conn.execute(text("SELECT count(*) FROM observation_revision")).scalar()
        ingests = conn.execute(text("SELECT count(*) FROM ingest")).scalar()
    assert ingests == codes.count(0)
    assert revisions == (n if codes == [0, 0] else 0)
    # Nothing is left locked: a third write goes through at once.
    third = _ingest(url, a if total == sum_b else b)
    assert third.wait(timeout=60) == 0, third.stderr.read().decode()
    assert np.isclose(_state(engine)[1], sum_a if total == sum_b else sum_b)
