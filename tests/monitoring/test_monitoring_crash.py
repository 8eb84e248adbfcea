"""A real ``tocsin ingest`` killed with SIGKILL leaves the whole file or none of it; two
ingests at once both succeed (or one fails cleanly) and leave no lock behind; a detection
run (``tocsin run-detection`` or the worker's) killed with SIGKILL leaves all or nothing.

The kills are deterministic: the process is started with ``TOCSIN_PAUSE_AT`` (see
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
from sqlalchemy import text
from tests.monitoring.monitoring_helpers import (
    TOCSIN,
    assert_same_signals,
    cli_env,
    count,
    detect_file,
    read_signals,
    snapshot,
    weekly_counts,
)

from tocsin.monitoring import detectors
from tocsin.monitoring.ingest import ingest_file
from tocsin.monitoring.runs import run_detection
from tocsin.store import write_session

#: Two quick configurations, so that a run can be killed between them.
CONFIGURATIONS = (
    ("farrington_flexible", {"b": "1", "w": "2", "no_periods": "10",
                             "past_weeks_not_included": "4"}),
    ("ears_c1", {}),
)  # fmt: skip

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


def _tocsin(url: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [*TOCSIN, *args],
        env={**cli_env(url), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _ingest(url: str, path: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return _tocsin(url, ["ingest", path, "--indicator", "cases"], env)


def _kill_at(url: str, path: str | list[str], point: str, marker: Path) -> None:
    """Run an ingest of ``path`` (or the command ``path``) until it stops at ``point``,
    then kill -9 it there."""
    marker.unlink(missing_ok=True)
    args = path if isinstance(path, list) else ["ingest", path, "--indicator", "cases"]
    process = _tocsin(url, args, {"TOCSIN_PAUSE_AT": point, "TOCSIN_PAUSE_FILE": str(marker)})
    deadline = time.monotonic() + 120
    while not marker.exists():
        if process.poll() is not None:
            raise AssertionError(
                f"{args[0]} ended (exit {process.returncode}) before {point}: "
                + process.stderr.read().decode()
            )
        assert time.monotonic() < deadline, f"{args[0]} never reached {point}"
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


@pytest.mark.slow
def test_kill_9_during_a_detection_run_leaves_all_or_nothing(engine, store, write_file, tmp_path):
    """``tocsin run-detection`` and the worker's detection, killed -9 between two
    configurations and before commit, store nothing; the next run stores the whole run,
    equal to ``tocsin detect`` on the same data."""
    url, marker = store[0], tmp_path / "paused"
    data = weekly_counts(120)
    ingest_file(engine, write_file(data[data["period"] < "2016-W20"], "a.csv"))
    ids = []
    with write_session(engine) as session:
        for method, settings in CONFIGURATIONS:
            detector, _ = detectors.set_detector(
                session, indicator="cases", method=method, settings=settings, actor="t"
            )
            ids.append(detector.id)
    with write_session(engine) as session:
        run_detection(session, indicators=["cases"], actor="t")
    ingest_file(engine, write_file(data, "b.csv"))  # new weeks: the next run has work
    before = snapshot(engine)
    worker = ["worker", "--poll", "0.1", "--detect-every", "0.01"]
    for args, point in (
        (["run-detection", "--all"], "detect.mid-write"),
        (["run-detection", "--all"], "detect.before-commit"),
        (worker, "detect.mid-write"),
        (worker, "detect.before-commit"),
    ):
        _kill_at(url, args, point, marker)
        assert snapshot(engine) == before, f"{args[0]} killed at {point} left a partial run"
        _check_integrity(engine)
    # A restarted worker runs detection in full, and turns the run into alerts.
    process = _tocsin(url, worker)
    try:
        deadline = time.monotonic() + 120
        while count(engine, "detection_run") < 2 or count(engine, "alerting_cursor") < 1:
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "the restarted worker did not run detection"
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert count(engine, "detection_run") == 2
    for detector_id, (method, settings) in zip(ids, CONFIGURATIONS, strict=True):
        assert_same_signals(
            read_signals(engine, detector_id), detect_file(engine, tmp_path, method, settings)
        )
