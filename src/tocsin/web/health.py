"""Liveness and readiness: ``/healthz`` and ``/readyz``.

The two probes of Kubernetes (and of any load balancer that checks a path):

- ``/healthz`` (liveness): the process answers HTTP. It reads nothing, so a slow or
  unreachable database never makes an orchestrator restart healthy servers.
- ``/readyz`` (readiness): this server can do its work: the database answers, its
  schema is at the revision this tocsin needs (``tocsin db upgrade``) or a newer one, and a worker
  wrote its heartbeat within ``TOCSIN_READY_HEARTBEAT_SECONDS``
  (:mod:`tocsin.alerting.heartbeat`). Otherwise 503 as an RFC 9457 problem whose
  ``checks`` member names each check and what is wrong with it.

Both are open without credentials and say nothing about users or data.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from tocsin.alerting import heartbeat
from tocsin.alerting.clock import SystemClock
from tocsin.store.migrate import current_revision, head_revision, known_revision
from tocsin.web.openapi import PROBLEM_JSON
from tocsin.web.problems import ProblemResponse, problem

log = logging.getLogger(__name__)

router = APIRouter(tags=["Health (public)"])

OK = "ok"


class Health(BaseModel):
    """The process answers."""

    status: str


class Readiness(BaseModel):
    """Every check passed: ``checks`` maps each (database, schema, worker) to ``ok``."""

    status: str
    checks: dict[str, str]


def _database(engine: Engine) -> str:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # whatever the driver raises: the database does not answer
        log.warning("readiness: the database does not answer: %s", exc)
        return f"the database does not answer ({type(exc).__name__}; see the server's log)"
    return OK


def _schema(engine: Engine) -> str:
    """``ok`` at this tocsin's head, and also at a revision this tocsin does not know: a
    newer version ran ``tocsin db upgrade`` during a rolling upgrade, and migrations are
    additive, so this server still works (docs/deployment.md, upgrades)."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return OK
    if current is None:
        return f"the database has no schema; run `tocsin db upgrade` (to revision {head})"
    if not known_revision(current):
        return OK
    return (
        f"the database schema is at revision {current}, this tocsin needs {head}; "
        "run `tocsin db upgrade`"
    )


def _worker(engine: Engine, max_age: float) -> str:
    if max_age <= 0:
        return OK
    with Session(engine) as session:
        newest = heartbeat.newest(session)
    if newest is None:
        return "no worker has ever written a heartbeat; start `tocsin worker`"
    age = (SystemClock().now() - newest).total_seconds()
    if age > max_age:
        return (
            f"the newest worker heartbeat is {age:.0f} s old (at most {max_age:g} s "
            "expected, TOCSIN_READY_HEARTBEAT_SECONDS); check that `tocsin worker` runs"
        )
    return OK


def readiness(engine: Engine, max_age: float) -> dict[str, str]:
    """Each check's verdict: ``ok`` or what is wrong. Checks after a failed database
    check are not tried (they would only repeat it)."""
    checks = {"database": _database(engine)}
    if checks["database"] != OK:
        return checks
    checks["schema"] = _schema(engine)
    if checks["schema"] != OK:  # the heartbeat table may not exist yet
        return checks
    checks["worker"] = _worker(engine, max_age)
    return checks


_NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "not ready: `detail` says what is wrong, `checks` maps each check "
        "(database, schema, worker) to `ok` or its problem",
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
}


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
def healthz() -> Health:
    return Health(status=OK)


@router.get(
    "/readyz",
    response_model=Readiness,
    responses=_NOT_READY,
    summary="Readiness: database, schema and worker heartbeat",
)
def readyz(request: Request) -> Readiness | ProblemResponse:
    checks = readiness(request.app.state.engine, request.app.state.settings.ready_heartbeat_seconds)
    failed = {name: verdict for name, verdict in checks.items() if verdict != OK}
    if failed:
        detail = "; ".join(f"{name}: {verdict}" for name, verdict in failed.items())
        return problem(503, f"not ready: {detail}", instance=request.url.path, checks=checks)
    return Readiness(status="ready", checks=checks)
