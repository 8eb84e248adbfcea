"""Test instrumentation: stop a process at a named point so that a test can kill it there.

Crash tests must kill a process *inside* a transaction, at a known step, whatever the
speed of the machine; a kill after a guessed delay lands before or after the
transaction as often as inside it. Code that writes calls :func:`pause_point` at the
steps worth killing, e.g. ``pause_point("ingest.before-commit")``. The call does
nothing unless the process was started with both

- ``TOCSIN_PAUSE_AT``: the point names to stop at, separated by commas, and
- ``TOCSIN_PAUSE_FILE``: a path.

The first time the process reaches one of those points it writes ``<point> <pid>`` to
the file and waits there until the file is removed (then it goes on) or
``TOCSIN_PAUSE_SECONDS`` (default 120) pass. A test waits for the file, then sends
``SIGKILL``. Each point stops the process once, so a loop passes it at most once.

This is for tests only: a production process never has these variables, and then the
call costs one dictionary lookup. The points in use are listed in docs/architecture.md.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

AT_VARIABLE = "TOCSIN_PAUSE_AT"
FILE_VARIABLE = "TOCSIN_PAUSE_FILE"
SECONDS_VARIABLE = "TOCSIN_PAUSE_SECONDS"

_passed: set[str] = set()


def pause_point(name: str) -> None:
    """Stop here when ``TOCSIN_PAUSE_AT`` names ``name`` (test instrumentation, see above)."""
    wanted = os.environ.get(AT_VARIABLE)
    if not wanted or name in _passed or name not in wanted.split(","):
        return
    marker = os.environ.get(FILE_VARIABLE)
    if not marker:
        return
    _passed.add(name)
    path = Path(marker)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(f"{name} {os.getpid()}\n", encoding="utf-8")
    partial.replace(path)  # the file appears whole, never half written
    deadline = time.monotonic() + float(os.environ.get(SECONDS_VARIABLE, "120"))
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
