"""Real ``tocsin worker`` processes for the alerting tests: start one, wait for a state."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping


def start_worker(
    store_url: str,
    env: Mapping[str, str] | None = None,
    *,
    wait: bool = True,
    options: tuple[str, ...] = (),
) -> subprocess.Popen:
    """Start ``tocsin worker [options]``; with ``wait``, return once it is running (its
    start-up line)."""
    full_env = {
        **os.environ,
        "TOCSIN_DATABASE_URL": store_url,
        "TOCSIN_PUBLIC_URL": "http://tocsin.test",
        "TOCSIN_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "TOCSIN_NOTIFY_GROUP_WAIT_SECONDS": "0",  # each message at once, unless a test
        "TOCSIN_NOTIFY_GROUP_INTERVAL_SECONDS": "0",  # sets the grouping itself
        "COLUMNS": "200",
        **(env or {}),
    }
    command = [sys.executable, "-c", "from tocsin.cli import main; main()", "worker"]
    process = subprocess.Popen(
        [*command, "--poll", "0.1", *options],
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    running = threading.Event()

    def drain() -> None:  # read stderr to the end, so that the pipe never fills
        for line in process.stderr:
            if "running" in line:
                running.set()

    threading.Thread(target=drain, daemon=True).start()
    if wait and not running.wait(120):
        process.kill()
        raise AssertionError("tocsin worker did not start")
    return process


def wait_for(predicate: Callable[[], bool], timeout: float = 180.0, what: str = "") -> None:
    """Poll ``predicate`` until it holds; fail after ``timeout`` seconds (generous: these
    wait for other processes, which CI's load can slow tenfold; a predicate that never
    holds still fails)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.05)
