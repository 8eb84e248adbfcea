"""``tocsin worker``: detection schedule, escalation and notification delivery."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from typing import Annotated

import typer
from rich.console import Console

console = Console(stderr=True)


def worker(
    once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
    poll: Annotated[float, typer.Option(min=0.05, help="Seconds between idle rounds.")] = 1.0,
    detect_every: Annotated[
        float | None,
        typer.Option(help="Run detection on new data every N minutes (default: never)."),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Worker name (default: host:pid).")] = None,
) -> None:
    """Turn detection runs into alerts, escalate unacknowledged alerts, deliver notifications.

    Run several at once for throughput; they never send the same notification twice.
    """
    from tocsin.store import get_engine, write_session
    from tocsin.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    engine = get_engine()

    def detect() -> None:
        from tocsin.monitoring.runs import run_detection

        with write_session(engine) as session:
            run_detection(session, indicators=None)

    every = dt.timedelta(minutes=detect_every) if detect_every else None
    runner = Worker(engine, name=name, detect=detect if every else None, detect_every=every)
    try:
        if once:
            result = runner.tick()
            console.print(
                f"{result.runs} detection runs, {result.opened} alerts opened, "
                f"{result.escalated} escalation notifications, {result.delivered} delivered, "
                f"{result.failed} failed",
                highlight=False,
            )
            return
        stop = threading.Event()
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, lambda *_: stop.set())
        console.print(f"worker {runner.name} running; Ctrl-C to stop", highlight=False)
        runner.run(stop, poll_seconds=poll)
    finally:
        runner.close()
