"""How long work reports its progress: one callback type for every service.

A service that works through many units (series of a detection, chunks of an ingest)
takes an optional ``progress`` callback and calls it with what is done and the total, so
that a shell can draw a progress bar (Rich on the command line) without the service
knowing about terminals.
"""

from __future__ import annotations

from collections.abc import Callable

#: ``progress(done, total)``: ``done`` of ``total`` units are finished.
ProgressCallback = Callable[[int, int], None]

#: ``progress(stage, done, total)``: within the named ``stage`` of a longer job
#: (reading, checking, writing), ``done`` of ``total`` units are finished.
StageProgressCallback = Callable[[str, int, int], None]
