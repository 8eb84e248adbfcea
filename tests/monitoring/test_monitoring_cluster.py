"""Detection runs on a Dask cluster: a LocalCluster of two worker processes gives the
same signals as a run in this process, records the run once, and still does when a
worker is killed with SIGKILL while it holds a chunk."""

from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from tests.monitoring.monitoring_helpers import weekly_counts

from tocsin.errors import UserError
from tocsin.monitoring import detectors
from tocsin.monitoring.cluster import open_cluster
from tocsin.monitoring.ingest import ingest_file
from tocsin.monitoring.runs import run_detection
from tocsin.store import write_session

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")
from distributed.utils import get_mp_context  # noqa: E402

FARRINGTON = {"b": "1", "w": "2", "no_periods": "10", "past_weeks_not_included": "4"}
AREAS = ("A1", "A2", "B1")


def _signals(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT series_id, detector_id, period, observed, expected, upperbound, alarm, "
                "score, tail_probability, diagnostics FROM signal "
                "ORDER BY series_id, detector_id, period"
            )
        ).all()


def _close(x, y) -> bool:
    if x is None or y is None:
        return x is None and y is None
    return math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-9)


def _assert_same(a: list[tuple], b: list[tuple]) -> None:
    """The same cells and alarms, values equal to 1e-12 relative: the GLMs of a chunk of
    one series and of a chunk of three differ in the last bits (stacked linear algebra).
    A value that is a difference of such figures (a score of an observation at its
    expected value: -9.3e-16 in one run, 4e-16 in the other) has no relative precision
    left, so values within 1e-9 of each other (figures of counts of order 1 and more)
    are equal too."""
    assert [(*row[:3], row[6]) for row in a] == [(*row[:3], row[6]) for row in b]
    for x, y in zip(a, b, strict=True):
        assert all(_close(u, v) for u, v in zip(x[3:9], y[3:9], strict=True)), (x, y)
        dx, dy = (d if isinstance(d, dict) else json.loads(d or "{}") for d in (x[9], y[9]))
        assert dx.keys() == dy.keys() and all(_close(dx[k], dy[k]) for k in dx), (x, y)


def _runs(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM detection_run")).scalar()


def _prepare(engine, write_file) -> None:
    ingest_file(engine, write_file(weekly_counts(90, AREAS)))
    with write_session(engine) as session:
        for method, settings in (("farrington_flexible", FARRINGTON), ("cusum", {})):
            detectors.set_detector(
                session, indicator="cases", method=method, settings=settings, actor="t"
            )


def _in_process_rebuild(engine) -> list[tuple]:
    with write_session(engine) as session:
        run_detection(session, actor="t", rebuild=True)
    return _signals(engine)


#: Modules the worker processes' forkserver imports once for the whole session, so that a
#: LocalCluster's workers (and a killed worker's replacement) start as forks that have
#: them already (Dask's own test suite uses the forkserver for the same reason).
FORKSERVER_PRELOAD = ["distributed", "numpy", "pandas", "sqlalchemy", "tocsin.monitoring.cluster"]


@pytest.fixture
def cluster_for(store_url, tmp_path):
    """``cluster_for(pause=False, database=store_url)``: a LocalCluster of two worker
    processes whose TOCSIN_DATABASE_URL is ``database`` (and, with ``pause``, stopping
    at the first chunk each worker process takes, see tocsin.store.pause). The variables
    go to the worker processes only (the nannies' ``env``, kept across restarts): the
    pause variables in this process would stop the in-process run the test compares
    with, and a forked worker does not see this process's environment anyway."""
    clusters = []

    def start(pause: bool = False, database: str = store_url):
        env = {"TOCSIN_DATABASE_URL": database}
        if pause:
            env["TOCSIN_PAUSE_AT"] = "detect.chunk"
            env["TOCSIN_PAUSE_FILE"] = str(tmp_path / "paused")
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, env=env
        )
        clusters.append(cluster)
        return cluster

    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        get_mp_context().set_forkserver_preload(FORKSERVER_PRELOAD)  # before its first start
        yield start
        for cluster in clusters:
            cluster.close()


def test_a_run_on_the_cluster_equals_a_run_in_this_process(
    engine, write_file, cluster_for, store_url
):
    _prepare(engine, write_file)
    cluster = cluster_for()
    with (
        open_cluster(cluster.scheduler_address, engine, series_per_task=1) as on_dask,
        write_session(engine) as session,
    ):
        summary = run_detection(session, actor="t", cluster=on_dask)
    assert summary.detectors == 2 and summary.series == 6 and summary.signals > 0
    on_cluster = _signals(engine)
    assert _runs(engine) == 1
    _assert_same(_in_process_rebuild(engine), on_cluster)


def test_a_worker_killed_mid_chunk_loses_nothing_and_doubles_nothing(
    engine, write_file, cluster_for, store_url, tmp_path
):
    if engine.dialect.name != "postgresql":
        pytest.skip("the kill test runs on PostgreSQL, the store of a cluster")
    _prepare(engine, write_file)
    cluster = cluster_for(pause=True)
    marker = tmp_path / "paused"
    killed: list[int] = []
    done = threading.Event()

    def kill_first_then_release() -> None:
        while not done.is_set():
            if marker.exists():
                text_ = marker.read_text().split()
                if len(text_) == 2 and not killed:
                    killed.append(int(text_[1]))
                    os.kill(killed[0], signal.SIGKILL)
                    time.sleep(0.2)
                marker.unlink(missing_ok=True)  # later pauses (other processes) go on
            time.sleep(0.05)

    watcher = threading.Thread(target=kill_first_then_release, daemon=True)
    watcher.start()
    try:
        with (
            open_cluster(cluster.scheduler_address, engine, series_per_task=1) as on_dask,
            write_session(engine) as session,
        ):
            summary = run_detection(session, actor="t", cluster=on_dask)
    finally:
        done.set()
        watcher.join(5)
    assert killed, "no worker reached the pause point"
    assert summary.series == 6
    on_cluster = _signals(engine)
    assert _runs(engine) == 1
    assert len(on_cluster) == len({row[:3] for row in on_cluster})
    _assert_same(_in_process_rebuild(engine), on_cluster)


def test_an_unreachable_scheduler_is_a_clear_error():
    engine = create_engine("sqlite://")
    unreachable = r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"
    with (
        pytest.raises(UserError, match=unreachable),
        open_cluster("tcp://127.0.0.1:9", engine, connect_timeout="1s"),
    ):
        pass


def test_a_worker_on_another_database_refuses_the_chunk(
    engine, write_file, cluster_for, store_url, tmp_path
):
    if engine.dialect.name != "sqlite":
        pytest.skip("one backend is enough to check the workers' database")
    _prepare(engine, write_file)
    cluster = cluster_for(database=f"sqlite:///{Path(tmp_path) / 'other.db'}")
    with (
        open_cluster(cluster.scheduler_address, engine) as on_dask,
        pytest.raises(UserError, match="start the Dask workers with the same"),
        write_session(engine) as session,
    ):
        run_detection(session, actor="t", cluster=on_dask)
    assert _runs(engine) == 0
