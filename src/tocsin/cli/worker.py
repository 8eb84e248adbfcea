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

    Run several at once for throughput; healthy workers never send a notification twice
    (a worker killed between a send and its record makes that one message go out again).
    """
    from tocsin.store import get_engine
    from tocsin.worker import Worker, detection_of_new_data

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    engine = get_engine()
    every = dt.timedelta(minutes=detect_every) if detect_every else None
    detect = detection_of_new_data(engine) if every else None
    runner = Worker(engine, name=name, detect=detect, detect_every=every)
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
