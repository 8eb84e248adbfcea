"""The demo's drill: an influenza exercise of LK Loerrach held three days ago and
completed -- scheduled, injected as an exercise alert, acknowledged by the district's
duty officer, an incident opened from it at response level III, its tasks done (one
late), its first situation report on time, the response stood down and reviewed, the
drill completed with its lessons (docs/risk.md, Drills).

Everything goes through the services the worker, the pages and the CLI use, each step at
its own time, so that the drill's report measures each step against the plan.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

#: The district exercised (its duty officer is the demo's ``officer``).
PLACE = "8336"
OFFICER = "user:officer"


def build(engine: Engine, *, actor: str, now: dt.datetime) -> int:
    """Hold the demo's drill in the past; its id."""
    from tocsin.alerting import lifecycle
    from tocsin.response import incidents, reports, tasks
    from tocsin.risk import drills
    from tocsin.store import write_session

    start = now - dt.timedelta(days=3)

    def at(minutes: float) -> dt.datetime:
        return start + dt.timedelta(minutes=minutes)

    with write_session(engine) as db:
        drill = drills.schedule(
            db,
            jurisdiction=PLACE,
            hazard="influenza",
            title="Influenza surge in the district hospital",
            at=start,
            level="II",
            ack_minutes=30,
            declare_minutes=60,
            by=actor,
            now=start - dt.timedelta(days=7),
        )
        drill_id = drill.id
    with write_session(engine) as db:
        drills.inject_due(db, now=start)
        alert_id = drills.get(db, drill_id).alert_id
        assert alert_id is not None
    with write_session(engine) as db:
        lifecycle.acknowledge(db, alert_id, by=OFFICER, now=at(12), comment="drill received")
    with write_session(engine) as db:
        incident = incidents.open_incident(
            db,
            title="Exercise: influenza surge in LK Loerrach",
            alerts=[alert_id],
            level="III",
            by=OFFICER,
            now=at(45),
        )
        incident_id = incident.id
        first, second = tasks.for_incident(db, incident_id)
    with write_session(engine) as db:
        reports.submit(
            db,
            incident_id,
            situation="Exercise: 40 simulated cases, wards at 80 %.",
            actions="Laboratory alerted.",
            by=OFFICER,
            now=at(150),
        )
    with write_session(engine) as db:
        tasks.update(db, first.id, status="done", by=OFFICER, now=at(20 * 60))
    with write_session(engine) as db:
        tasks.update(db, second.id, status="done", by=OFFICER, now=at(55 * 60))
    with write_session(engine) as db:
        lifecycle.resolve(db, alert_id, by=OFFICER, now=at(56 * 60), comment="drill over")
    with write_session(engine) as db:
        incidents.move(
            db, incident_id, "stood_down", comment="drill over", by=OFFICER, now=at(57 * 60)
        )
    with write_session(engine) as db:
        incidents.close(
            db,
            incident_id,
            {
                "worked": "The alert reached the duty officer within minutes.",
                "did_not_work": "The antiviral stock count took a day too long.",
                "actions": [{"action": "Keep a live antiviral count", "owner": "health"}],
            },
            by=OFFICER,
            now=at(58 * 60),
        )
    with write_session(engine) as db:
        drills.complete(
            db,
            drill_id,
            lessons="Declare the level sooner; keep a live count of antivirals.",
            by=OFFICER,
            now=at(60 * 60),
        )
    return drill_id
