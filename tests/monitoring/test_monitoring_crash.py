"""A real ``tocsin ingest`` killed with SIGKILL leaves the whole file or none of it; two
ingests at once both succeed (or one fails cleanly) and leave no lock behind."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time

import numpy as np
import pandas as pd
import pytest
from monitoring_helpers import TOCSIN, cli_env, weekly_counts
from sqlalchemy import text

#: Kill rounds per backend: at least MIN_ROUNDS, then more while the time budget lasts
#: (so the test stays bounded on a busy machine and kills more often on a fast one).
MIN_ROUNDS = 3
MAX_ROUNDS = int(os.environ.get("TOCSIN_KILL_ROUNDS", "12"))
BUDGET_SECONDS = 20.0
STRATA = 24
N_ROWS = 500 * 3 * STRATA


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


def _ingest(url: str, path: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*TOCSIN, "ingest", path, "--indicator", "cases"],
        env=cli_env(url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for_write(process: subprocess.Popen) -> None:
    """Block until the process says it starts its write transaction."""
    for line in process.stderr:
        if b"writing" in line:
            return
    raise AssertionError(f"the ingest ended before writing (exit {process.wait()})")


@pytest.mark.slow
def test_kill_9_at_random_moments_leaves_all_or_nothing(engine, store, tmp_path):
    url = store[0]
    files = [_big_file(tmp_path, "a.csv", 0), _big_file(tmp_path, "b.csv", 1)]
    n_rows = N_ROWS
    rng = random.Random(20241128)
    process = _ingest(url, files[0][0])
    _wait_for_write(process)
    started = time.monotonic()
    assert process.wait(timeout=120) == 0, process.stderr.read().decode()
    duration = time.monotonic() - started  # of the write transaction
    assert _state(engine) == (n_rows, files[0][1])
    current = files[0][1]
    outcomes = {"none": 0, "whole": 0}
    deadline = time.monotonic() + BUDGET_SECONDS
    attempt = 0
    while attempt < MIN_ROUNDS or (attempt < MAX_ROUNDS and time.monotonic() < deadline):
        attempt += 1
        # Always the file whose values differ from what is stored, so that it writes.
        path, target = files[1] if current == files[0][1] else files[0]
        process = _ingest(url, path)
        # Kill at a random moment of the write transaction (or just after it).
        _wait_for_write(process)
        time.sleep(rng.uniform(0.0, 1.2) * duration)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        n, total = _state(engine)
        assert n == n_rows, f"attempt {attempt}: {n} rows after kill -9"
        assert total in (current, target), f"attempt {attempt}: a partial file ({total})"
        outcomes["whole" if total == target else "none"] += 1
        current = total
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    # No lock was left behind: a last ingest completes, and the file is whole.
    path, target = files[0] if current != files[0][1] else files[1]
    process = _ingest(url, path)
    assert process.wait(timeout=120) == 0, process.stderr.read().decode()
    assert _state(engine) == (n_rows, target)
    assert sum(outcomes.values()) == attempt
    print(f"kill -9 outcomes: {outcomes}")


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
