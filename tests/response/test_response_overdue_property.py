"""A property of the escalation timers of overdue work (issue 14), on SQLite and
PostgreSQL: for any sequence of clock advances, worker restarts, situation reports,
task status changes and a stand-down, each escalation step of an overdue report or task
is notified exactly once, at the first worker round at or after its due time, never
before it, never after the report was submitted or the task done (or not applicable),
never after the incident stood down.

The oracle is written from the rules, not from the code: reports are due 2 h after
opening, then every 12 h (level II of tests/data/response/plan-flu.yaml), whatever the
time they are submitted; a report escalates from the parent of the incident's
jurisdiction, a task from its body's jurisdiction, one step per jurisdiction up to the
root, the first at the deadline, each next one 30 minutes later (the default policy;
every jurisdiction on the way has someone on duty). A task "in progress" is still
overdue: it escalates on until it is done. Time moves only by a manual clock."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from tests.response.test_response_notices import _settings, _territory

from tocsin.alerting.clock import ManualClock
from tocsin.alerting.models import Notification
from tocsin.monitoring.models import Jurisdiction
from tocsin.response import incidents, reports, tasks
from tocsin.response.models import IncidentEvent, ResponseBody
from tocsin.store import write_session
from tocsin.worker import Worker

T0 = dt.datetime(2027, 1, 4, 8, 0, tzinfo=dt.UTC)
BY = "user:by_coordinator"
WAIT = dt.timedelta(minutes=30)
FIRST_REPORT = dt.timedelta(hours=2)
REPORT_INTERVAL = dt.timedelta(hours=12)  # level II
#: Minutes the clock moves by: the boundaries of the steps, and anything.
MINUTES = st.one_of(
    st.sampled_from([1, 29, 30, 31, 59, 60, 90, 120, 150, 360, 390, 720, 750]),
    st.integers(1, 36 * 60),
)
ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), MINUTES),
        st.tuples(st.just("restart"), st.none()),
        st.tuples(st.just("report"), st.none()),
        st.tuples(st.sampled_from(["done", "in_progress", "not_applicable"]), st.integers(0, 1)),
        st.tuples(st.just("stand_down"), st.none()),
    ),
    min_size=1,
    max_size=14,
)


@dataclass
class Run:
    """What happened, in order: ``seq`` numbers every tick and every change."""

    ticks: list[tuple[int, dt.datetime]] = field(default_factory=list)
    reports: list[int] = field(default_factory=list)
    closed: dict[int, int] = field(default_factory=dict)
    stood_down: int | None = None


def _first_tick(run: Run, due: dt.datetime, after: int, before: int | None) -> dt.datetime | None:
    """The time of the first round at or after ``due`` that came after change ``after``
    and before change ``before`` (None: no such round)."""
    for seq, moment in run.ticks:
        if seq > after and moment >= due and (before is None or seq < before):
            return moment
    return None


def _depth(parents: dict[int, int | None], place: int) -> int:
    depth = 1
    while parents[place] is not None:
        place, depth = parents[place], depth + 1  # type: ignore[assignment]
    return depth


def _expected(run, opened, opened_seq, task_rows, parents, place) -> dict[tuple, dt.datetime]:
    stop = run.stood_down
    found: dict[tuple, dt.datetime] = {}
    # Reports: deadline n is the one escalated between report n-1 and report n.
    report_steps = _depth(parents, parents[place] or place)
    for n in itertools.count():
        deadline = opened + FIRST_REPORT + n * REPORT_INTERVAL
        after = run.reports[n - 1] if n else opened_seq
        until = run.reports[n] if n < len(run.reports) else None
        if until is None or (stop is not None and stop < until):
            until = stop
        if not run.ticks or deadline > run.ticks[-1][1]:
            break
        for step in range(report_steps):
            moment = _first_tick(run, deadline + step * WAIT, after, until)
            if moment is not None:
                found[("report_overdue", None, deadline, step)] = moment
        if n >= len(run.reports):
            break
    for task_id, due, origin in task_rows:
        until = run.closed.get(task_id)
        if stop is not None and (until is None or stop < until):
            until = stop
        for step in range(_depth(parents, origin)):
            moment = _first_tick(run, due + step * WAIT, opened_seq, until)
            if moment is not None:
                found[("task_overdue", task_id, due, step)] = moment
    return found


def _happened(engine, incident_id: int) -> list[tuple[tuple, dt.datetime]]:
    with write_session(engine) as db:
        events = db.scalars(
            select(IncidentEvent)
            .where(
                IncidentEvent.incident_id == incident_id,
                IncidentEvent.kind.in_(("report_overdue", "task_overdue")),
            )
            .order_by(IncidentEvent.id)
        ).all()
        found = []
        for e in events:
            data = e.data or {}
            due = dt.datetime.fromisoformat(data["due"])
            assert f"overdue since {due:%Y-%m-%d %H:%M} UTC: step {data['step']}," in e.text
            found.append(((e.kind, data.get("task_id"), due, int(data["step"])), e.at))
        return found


def _told(engine, incident_id: int) -> list[str]:
    with write_session(engine) as db:
        return list(
            db.scalars(
                select(Notification.idempotency_key).where(
                    Notification.incident_id == incident_id,
                    Notification.reason.in_(("report-overdue", "task-overdue")),
                )
            )
        )


def test_each_escalation_step_of_overdue_work_notifies_exactly_once(any_world) -> None:
    alerting = _settings(port=1)  # nothing listens: deliveries fail and retry, as they may
    _territory(any_world)
    engine = any_world.engine
    with write_session(engine) as db:
        parents = dict(db.execute(select(Jurisdiction.id, Jurisdiction.parent_id)).all())
    place = any_world.jurisdictions["9162"]
    examples = itertools.count()

    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(actions=ACTIONS)
    # Shapes worth checking every run: a task done before it is due; a report late
    # across a restart between its steps; everything overdue at once, then stood down.
    @example([("done", 0), ("advance", 420), ("advance", 60), ("restart", None)])
    @example([("advance", 121), ("restart", None), ("advance", 30), ("report", None),
              ("advance", 720), ("in_progress", 1), ("advance", 31)])  # fmt: skip
    @example([("advance", 2000), ("not_applicable", 1), ("stand_down", None), ("advance", 60)])
    def check(actions) -> None:
        opened = T0 + next(examples) * dt.timedelta(days=60)  # a fresh incident each time
        clock = ManualClock(opened)
        with write_session(engine) as db:
            incident = incidents.open_incident(
                db, title="Influenza wave", jurisdiction="9162", hazard="flu", level="II",
                by=BY, now=opened, settings=alerting,
            )  # fmt: skip
            incident_id = incident.id
            rows = tasks.for_incident(db, incident_id)
            bodies = dict(db.execute(select(ResponseBody.id, ResponseBody.jurisdiction_id)).all())
            task_rows = [(t.id, t.due_at, bodies.get(t.assignee_body_id or 0, place)) for t in rows]
        assert len(task_rows) == 2
        run, seq = Run(), itertools.count(1)
        worker = Worker(engine, clock=clock, settings=alerting, name="first")
        try:
            for action, value in actions:
                now = clock.now()
                if action == "advance":
                    clock.advance(dt.timedelta(minutes=value))
                    worker.tick()
                    run.ticks.append((next(seq), clock.now()))
                elif action == "restart":
                    worker.close()
                    worker = Worker(engine, clock=clock, settings=alerting, name=f"w{next(seq)}")
                    worker.tick()
                    run.ticks.append((next(seq), clock.now()))
                elif run.stood_down is not None:
                    continue  # the incident waits for its review: nothing more is due
                elif action == "report":
                    with write_session(engine) as db:
                        reports.submit(db, incident_id, situation="wards full", by=BY, now=now)
                    run.reports.append(next(seq))
                elif action == "stand_down":
                    with write_session(engine) as db:
                        incidents.move(db, incident_id, "stood_down", by=BY, now=now,
                                       settings=alerting)  # fmt: skip
                    run.stood_down = next(seq)
                else:
                    task_id = task_rows[value][0]
                    if task_id in run.closed:
                        continue  # a task reopened would escalate again: not this property
                    reason = "not needed" if action == "not_applicable" else ""
                    with write_session(engine) as db:
                        tasks.update(db, task_id, status=action, reason=reason, by=BY, now=now)
                    if action != "in_progress":
                        run.closed[task_id] = next(seq)
        finally:
            worker.close()
            if run.stood_down is None:  # stop this incident's timers for the next example
                with write_session(engine) as db:
                    incidents.move(db, incident_id, "stood_down", by=BY, now=clock.now(),
                                   settings=alerting)  # fmt: skip
        happened = _happened(engine, incident_id)
        keys = [key for key, _ in happened]
        assert len(keys) == len(set(keys)), f"a step notified twice: {keys}"
        expected = _expected(run, opened, 0, task_rows, parents, place)
        assert dict(happened) == expected
        # One desk on duty at every step: one notification each, none repeated.
        told = _told(engine, incident_id)
        assert len(told) == len(set(told)) == len(expected)

    check()
