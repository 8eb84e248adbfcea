"""Detection runs on a Dask cluster (``dask.distributed``): the chunks of a run are
evaluated on the cluster's workers, the run writes their signals.

``tocsin run-detection --scheduler tcp://HOST:8786`` (or ``TOCSIN_DASK_SCHEDULER`` for
``tocsin run-detection`` and ``tocsin worker``) opens a :class:`DetectionCluster`;
:func:`tocsin.monitoring.runs.run_detection` then cuts each configuration's series into
tasks of ``TOCSIN_DASK_SERIES_PER_TASK`` series (:class:`tocsin.monitoring.chunks.
ChunkTask`), submits them, and writes each chunk's signals as it comes back, in its one
transaction. Each task reads its series' history straight from the store with the
*worker's* own ``TOCSIN_DATABASE_URL`` (the password never travels with a task, so Dask
never logs it) and returns signals; it writes nothing. So:

- a worker that dies mid-task loses nothing: the scheduler runs the task again on
  another worker (Dask's ``allowed-failures``), and the run writes the chunk once;
- the run is recorded once, all or nothing: if a chunk cannot be computed at all, the
  run's transaction is rolled back and the error names the cause;
- the signals equal those of a run in one process, since a chunk's result does not
  depend on the other series (see :mod:`tocsin.monitoring.chunks`).

Reference: Dask's distributed scheduler, https://distributed.dask.org/ (Rocklin 2015,
"Dask: parallel computation with blocked algorithms and task scheduling", SciPy).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from tocsin.detect import DetectError
from tocsin.errors import UserError
from tocsin.monitoring.chunks import ChunkSignals, ChunkTask, evaluate_chunk
from tocsin.settings import get_settings

if TYPE_CHECKING:
    from distributed import Client

#: How long to wait for the scheduler to answer when connecting.
CONNECT_TIMEOUT = "15s"


def masked(url: str | URL) -> str:
    """A database URL without its password, to compare and to print."""
    return make_url(url).render_as_string(hide_password=True)


@dataclass(frozen=True)
class ChunkFailure:
    """A chunk the method or the data refused (returned, not raised, so that the
    error's own class need not survive pickling and Dask does not retry it)."""

    message: str
    detect_error: bool

    def raise_it(self) -> None:
        if self.detect_error:
            raise DetectError(self.message)
        raise UserError(self.message)


@cache
def _engine(url: str) -> Engine:
    """One engine per worker process and database."""
    from tocsin.store import make_engine

    return make_engine(url)


def evaluate_on_worker(database: str, task: ChunkTask) -> ChunkSignals | ChunkFailure:
    """The Dask task: evaluate ``task`` on the store this worker is configured for, which
    must be the run's ``database`` (compared without passwords)."""
    engine = _engine(get_settings().database_url)
    own = masked(engine.url)
    if own != database:
        return ChunkFailure(
            f"a Dask worker reads the database {own}, but this run's database is "
            f"{database}; start the Dask workers with the same TOCSIN_DATABASE_URL",
            detect_error=False,
        )
    try:
        with Session(engine) as session:
            return evaluate_chunk(session, task)
    except DetectError as exc:
        return ChunkFailure(str(exc), detect_error=True)
    except UserError as exc:
        return ChunkFailure(str(exc), detect_error=False)


@dataclass
class DetectionCluster:
    """A connection to a Dask scheduler that evaluates the chunks of detection runs."""

    client: Client
    address: str
    database: str
    series_per_task: int

    def evaluate(self, tasks: Iterable[ChunkTask]) -> Iterator[tuple[ChunkTask, ChunkSignals]]:
        """Submit ``tasks`` and yield each with its signals as they finish."""
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        futures = {
            self.client.submit(evaluate_on_worker, self.database, task, pure=False): task
            for task in tasks
        }
        try:
            for future in as_completed(futures, loop=self.client.loop):
                try:
                    outcome = future.result()
                except KilledWorker as exc:
                    raise UserError(
                        f"the Dask cluster at {self.address} lost a chunk of the run: every "
                        f"worker that took it died ({exc}); nothing was written. Check the "
                        "workers' memory and logs, then run again"
                    ) from None
                if isinstance(outcome, ChunkFailure):
                    outcome.raise_it()
                yield futures.pop(future), outcome
        finally:
            for future in futures:
                future.cancel()


@contextmanager
def open_cluster(
    address: str | None,
    engine: Engine,
    *,
    series_per_task: int | None = None,
    connect_timeout: str = CONNECT_TIMEOUT,
) -> Iterator[DetectionCluster | None]:
    """Connect to the Dask scheduler at ``address`` for the runs on ``engine``'s
    database; None without an address (runs stay in this process). A clear error when
    Dask is not installed or the scheduler does not answer."""
    if not address:
        yield None
        return
    try:
        from distributed import Client
    except ImportError:
        raise UserError(
            "detection on a Dask cluster needs Dask: pip install 'tocsin[dask]'"
        ) from None
    try:
        client = Client(address, timeout=connect_timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise UserError(
            f"cannot reach the Dask scheduler at {address} ({exc}); check the address "
            "(tcp://HOST:8786) and that `dask scheduler` runs there, or leave out "
            "--scheduler / TOCSIN_DASK_SCHEDULER to run in this process"
        ) from None
    try:
        yield DetectionCluster(
            client,
            address,
            masked(engine.url),
            series_per_task or get_settings().dask_series_per_task,
        )
    finally:
        client.close()
