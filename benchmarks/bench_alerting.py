"""Alerting throughput: signals to alerts to queued notifications; webhook delivery.

    .venv/bin/python benchmarks/bench_alerting.py [--signals 10000] [--postgres URL]
        [--areas-frozen]

1. ``process_signals``: N signals on N distinct series (10 indicators x N/10 counties
   under 10 prefectures under one region, one webhook contact per county), in one
   transaction timed including the commit; worst case every signal an alarm (N alerts,
   their transitions, CAP messages and N queued notifications), and 1 in 10 an alarm.
   Each figure is the best (and median) of ``--repeats`` runs on fresh stores.
   Target: under 2 s on SQLite and on PostgreSQL.
2. Delivery: one ``Worker`` delivers the queued notifications to a local HTTP/1.1
   receiver (keep-alive, a thread per connection). Target: at least 500 per second.

Prints each figure next to its target and the ratio (target / measured time, or
measured rate / target), so that > 1 means the target is met.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import insert, select

from tocsin.alerting.clock import ManualClock
from tocsin.alerting.grouping import SignalIn, process_signals
from tocsin.alerting.models import DutyContact
from tocsin.alerting.settings import AlertingSettings
from tocsin.monitoring.models import Indicator, Jurisdiction, Series
from tocsin.store import make_engine, upgrade, write_session
from tocsin.store.scratch import scratch_schema
from tocsin.worker import Worker

T0 = dt.datetime(2024, 3, 4, 8, 0, tzinfo=dt.UTC)
#: ``--areas-frozen``: the CAP areas of the jurisdictions are frozen before the timing.
FREEZE_AREAS_FIRST = False
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[116.0, 39.0], [116.5, 39.0], [116.5, 39.5], [116.0, 39.5], [116.0, 39.0]]],
}


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    count = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with Receiver.lock:
            Receiver.count += 1
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def populate(engine, n_series: int, hook_url: str) -> list[int]:
    """Jurisdictions, indicators, series and contacts; returns the series ids."""
    n_indicators = 10
    n_counties = max(1, n_series // n_indicators)
    with write_session(engine) as session:
        session.execute(
            insert(Jurisdiction),
            [{"id": 1, "code": "R", "level": "region", "name": "Region", "name_zh": "大区",
              "parent_id": None, "geometry": SQUARE}],
        )  # fmt: skip
        session.execute(
            insert(Jurisdiction),
            [{"id": 2 + p, "code": f"P{p}", "level": "prefecture", "name": f"Prefecture {p}",
              "name_zh": f"地区{p}", "parent_id": 1, "geometry": SQUARE} for p in range(10)],
        )  # fmt: skip
        session.execute(
            insert(Jurisdiction),
            [{"id": 100 + c, "code": f"C{c}", "level": "county", "name": f"County {c}",
              "name_zh": f"县{c}", "parent_id": 2 + c % 10, "geometry": SQUARE}
             for c in range(n_counties)],
        )  # fmt: skip
        session.execute(
            insert(Indicator),
            [{"id": 1 + i, "code": f"ind{i}", "name": f"Indicator {i}", "name_zh": f"指标{i}",
              "domain": "health", "unit": "cases", "value_kind": "count", "frequency": "week"}
             for i in range(n_indicators)],
        )  # fmt: skip
        rows = [
            {"id": 1 + k, "indicator_id": 1 + k % n_indicators,
             "jurisdiction_id": 100 + k // n_indicators, "stratum": "", "version": 0}
            for k in range(n_counties * n_indicators)
        ]  # fmt: skip
        session.execute(insert(Series), rows)
        session.execute(
            insert(DutyContact),
            [{"jurisdiction_id": 100 + c, "name": f"duty {c}", "webhook_url": hook_url,
              "webhook_secret": "bench-secret", "active": True} for c in range(n_counties)],
        )  # fmt: skip
    return [r["id"] for r in rows]


def freeze_areas(engine) -> None:
    """Freeze every jurisdiction's CAP area in a transaction of its own, as a running
    system has done for the jurisdictions it alerted before (versions without frozen
    areas have nothing to do)."""
    try:
        from tocsin.alerting.cap.frozen import area_ids
    except ImportError:
        return
    with write_session(engine) as session:
        area_ids(session, session.scalars(select(Jurisdiction.id)).all())


def process_once(url: str, n_signals: int, alarm_every: int, hook_url: str, settings):
    """A fresh store, N signals of which every ``alarm_every``-th alarms; timed processing."""
    engine = make_engine(url, lock_timeout=60)
    upgrade(engine)
    series = populate(engine, n_signals, hook_url)
    if FREEZE_AREAS_FIRST:
        freeze_areas(engine)
    # Counts 15..44 with tail probabilities from 1e-3 to 1e-6: every level occurs.
    signals = [
        SignalIn(s, 2830, s % alarm_every == 0, 15.0 + s % 30, 5.0, 10.0, 10.0 ** -(3 + s % 4))
        for s in series
    ]
    start, cpu = time.perf_counter(), time.process_time()
    with write_session(engine) as session:
        result = process_signals(session, signals, now=T0, settings=settings)
    return engine, (time.perf_counter() - start, time.process_time() - cpu), result


def run(label: str, make_url_for_run, n_signals: int, hook_url: str, repeats: int) -> None:
    settings = AlertingSettings(
        public_url="http://bench.test",
        notify_concurrency=8,
        webhook_allowed_hosts="127.0.0.1",  # the receiver runs on loopback
    )
    for name, alarm_every in (("every signal an alarm", 1), ("1 in 10 an alarm", 10)):
        times, cpus = [], []
        load = os.getloadavg()[0]
        for _ in range(repeats):
            with make_url_for_run() as url:
                engine, (elapsed, cpu), result = process_once(
                    url, n_signals, alarm_every, hook_url, settings
                )
                engine.dispose()
            times.append(elapsed)
            cpus.append(cpu)
        best, median = min(times), statistics.median(times)
        print(
            f"{label}, {name}: {n_signals} signals -> {len(result.opened)} alerts, "
            f"{result.notifications} queued notifications: best {best:.2f} s, median "
            f"{median:.2f} s of {repeats} (target < 2 s; ratio {2 / best:.2f}); "
            f"client CPU best {min(cpus):.2f} s; load average {load:.2f} -> "
            f"{os.getloadavg()[0]:.2f}"
        )
    with make_url_for_run() as url:
        engine, _, _ = process_once(url, n_signals, 1, hook_url, settings)
        Receiver.count = 0
        # After the group wait (TOCSIN_NOTIFY_GROUP_WAIT_SECONDS): every row is due.
        later = ManualClock(T0 + dt.timedelta(hours=1))
        worker = Worker(engine, clock=later, settings=settings, batch=500)
        start = time.perf_counter()
        delivered, failed = worker.deliver()
        elapsed = time.perf_counter() - start
        worker.close()
        engine.dispose()
    rate = delivered / elapsed
    print(
        f"{label}: one worker delivered {delivered} webhooks ({failed} failed, receiver got "
        f"{Receiver.count}) in {elapsed:.2f} s = {rate:.0f}/s (target >= 500/s; "
        f"ratio {rate / 500:.2f})"
    )


@contextlib.contextmanager
def sqlite_url():
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


def postgres_url(base: str):
    def fresh_schema():
        return scratch_schema(base, prefix="tocsin_bench")

    return fresh_schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--signals", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3, help="fresh stores per figure")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("TOCSIN_TEST_POSTGRES_URL"),
        help="PostgreSQL URL (default: TOCSIN_TEST_POSTGRES_URL; none: SQLite only)",
    )
    parser.add_argument(
        "--areas-frozen",
        action="store_true",
        help="freeze the jurisdictions' CAP areas before timing (a system's steady state)",
    )
    args = parser.parse_args()
    global FREEZE_AREAS_FIRST
    FREEZE_AREAS_FIRST = args.areas_frozen
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores)")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook_url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    run("SQLite", sqlite_url, args.signals, hook_url, args.repeats)
    if args.postgres:
        run("PostgreSQL", postgres_url(args.postgres), args.signals, hook_url, args.repeats)
    server.shutdown()
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
