"""The demonstration site: a fresh SQLite store with real data, detections, alerts and
accounts, ready for ``tocsin serve``.

:func:`build` does what an agency would do by hand, through the same services:

1. a fresh database (the file is replaced, so a second run starts cleanly);
2. the hierarchy WORLD > DE (country) > DE-BY, DE-BW, DE-NI-WE > 157 districts with
   outlines, and beside Germany DK, GB, US > US-NY (:mod:`tocsin.demo.world`);
3. indicators ``influenza`` and ``measles`` (weekly counts) and the bundled counts
   (influenza in Bavaria and Baden-Wuerttemberg 2001-2008, measles in Weser-Ems
   2001-2002; provenance in ``tocsin/data/README``), district population;
4. the other hazards of :mod:`tocsin.demo.world`: Danish deaths by age group, New York
   ozone, British road casualties and petrol prices, UK gas, each with its detector;
   and for Germany, detectors whose false-alarm rate is known (:data:`DETECTORS`):
   ``recommended`` for influenza (Noufaily et al. 2013's ``farringtonFlexible`` on the
   week and the two-week sum, measured at most 0.005 false alarms a week:
   docs/detection-quality.md), and
   for measles, whose two years of data are too few for Farrington's five years of
   history, the Bayes system (Höhle 2007; its bound is a quantile of a predictive
   negative binomial fitted to the six weeks before, so it needs no past years). Not
   EARS: on weekly counts it raises many times the false alarms of its nominal level;
5. a detection run, alerts raised from its signals, duty contacts and an escalation
   policy per state;
6. demo accounts of every role, on the country, a state and a district;
7. the response (:mod:`tocsin.demo.response`): bodies, a plan for influenza and one for
   measles, and an incident from the most serious influenza alert;
8. risks (:mod:`tocsin.demo.risks`): a few entries of the register and one joint
   assessment of two bodies.
9. reporting completeness: both indicators are due on the Tuesday after their week at
   12:00 Berlin time (:data:`DUE`). The last :data:`REPLAYED` weeks of each file are
   loaded week by week as they would have arrived, on the Monday after the week
   (:func:`_replay`; the ingests carry those times); SK Coburg stopped reporting after
   2008-W05 and SK Nuernberg sent 2008-W07 on the Thursday, 46 hours late
   (:data:`SILENT`, :data:`LATE`), so the missing-data check raises one alert for SK
   Coburg. By the clock, no series of either indicator has reported for years (the
   files end in 2008 and 2002): each indicator is in total outage, and its alert (at DE
   for influenza, DE-NI-WE for measles) is acknowledged with :data:`REPLAY_NOTE`.

The accounts' passwords are printed for the demo; the site listens on loopback only.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, func, select

from tocsin.alerting import duty
from tocsin.demo.summary import data_file

DEMO_ACTOR = "demo"

#: The demo's "present": influenza counts are loaded up to this week (the peak of the
#: 2007/08 season), so that the situation shows the alerts open at that moment. The
#: later weeks can be loaded afterwards as new data (``tocsin ingest`` or the ingest page).
PRESENT = "2008-W08"

#: (indicator, method, settings) of the demo's detectors.
DETECTORS: tuple[tuple[str, str, dict[str, object]], ...] = (
    ("influenza", "recommended", {}),
    ("measles", "bayes", {"alpha": 0.01}),
)

#: (username, display name, role, jurisdiction, password)
DEMO_ACCOUNTS: tuple[tuple[str, str, str, str, str], ...] = (
    ("admin", "Administrator (world)", "administrator", "WORLD", "tocsin-demo-admin"),
    ("analyst", "Analyst (Germany)", "analyst", "DE", "tocsin-demo-analyst"),
    ("coordinator", "Coordinator (Bavaria)", "duty_officer", "DE-BY", "tocsin-demo-coordinator"),
    ("officer", "Duty officer (LK Loerrach)", "duty_officer", "8336", "tocsin-demo-officer"),
    ("viewer", "Viewer (Baden-Wuerttemberg)", "viewer", "DE-BW", "tocsin-demo-viewer"),
)

#: When the demo's weekly data are due: (days after the week's Sunday, local time, zone).
DUE = (2, "12:00", "Europe/Berlin")
#: How many of the last weeks of each file are loaded week by week, as they arrived.
REPLAYED = 8
#: Why the demo acknowledges its indicators' total-outage alerts.
REPLAY_NOTE = "The demo replays past seasons: its data end in 2008 (influenza) and 2002 (measles)"
#: A district that stopped reporting: none of its weeks after this one were sent.
SILENT = ("9463", "2008-W05")
#: A district that sent one week late: (district, week, days after the Monday).
LATE = ("9564", "2008-W07", 3)

_TOP = """code,name,name_zh,level,parent
WORLD,World,世界,world,
DE,Germany,德国,country,WORLD
DE-BY,Bavaria,巴伐利亚州,state,DE
DE-BW,Baden-Wuerttemberg,巴登-符腾堡州,state,DE
DE-NI-WE,Weser-Ems,威悉-埃姆斯,region,DE
"""

_INDICATORS = """code,name,name_zh,domain,unit,value_kind,frequency,description
influenza,Influenza notifications,流感报告病例,health,cases,count,week,weekly notifications (RKI)
measles,Measles notifications,麻疹报告病例,health,cases,count,week,weekly notifications (RKI)
"""


@dataclass
class DemoSite:
    """What :func:`build` made."""

    url: str
    jurisdictions: int = 0
    observations: int = 0
    signals: int = 0
    alarms: int = 0
    alerts: int = 0
    #: The incident opened from the most serious influenza alert (None: no alert).
    incident: int | None = None
    reserve_alerts: int = 0
    #: The joint assessment of the Bavarian influenza risk.
    assessment: int | None = None
    missing_alerts: int = 0
    #: The completed influenza drill of LK Loerrach.
    drill: int | None = None
    accounts: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    seconds: float = 0.0


def fresh_sqlite(path: Path) -> str:
    """Remove the database ``path`` (and its WAL files); its SQLAlchemy URL."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path.resolve()}"


def _copy_until(source: Path, target: Path, last: str) -> None:
    """Copy the rows of a ``period,...`` CSV whose ISO week label is at most ``last``."""
    with source.open(encoding="utf-8") as src, target.open("w", encoding="utf-8") as out:
        out.write(src.readline())
        for line in src:
            if line.lstrip('"')[: len(last)] <= last:
                out.write(line)


def _replay(engine: Engine, source: Path, indicator: str, folder: Path) -> None:
    """Ingest a ``period,jurisdiction,value`` CSV as it would have arrived: everything
    but the last :data:`REPLAYED` weeks at once, on the Monday after the week before
    them, then each of those weeks on the Monday after it (09:00 UTC), less the weeks
    :data:`SILENT` never sent and with the week of :data:`LATE` days later."""
    from tocsin.monitoring import ingest
    from tocsin.periods import PeriodKind, last_day, parse_periods

    with source.open(encoding="utf-8") as src:
        header, *lines = src.read().splitlines()
    week_of = [line.split(",", 1)[0].strip('"') for line in lines]
    weeks = sorted(set(week_of))
    history, replayed = weeks[:-REPLAYED], weeks[-REPLAYED:]

    def arrival(week: str, days: int = 0) -> dt.datetime:
        sunday = last_day(PeriodKind.WEEK, int(parse_periods([week]).ordinals[0]))
        monday = dt.datetime.combine(sunday, dt.time(9), tzinfo=dt.UTC) + dt.timedelta(days=1)
        return monday + dt.timedelta(days=days)

    def send(name: str, rows: list[str], at: dt.datetime) -> None:
        if rows:
            part = folder / f"{indicator}-{name}.csv"
            part.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
            ingest.ingest_file(engine, part, indicator=indicator, actor=DEMO_ACTOR, now=at)

    def sent(line: str, week: str) -> bool:
        district = line.split(",")[1].strip('"')
        return not (district == SILENT[0] and week > SILENT[1])

    old = set(history)
    send(
        "history",
        [ln for ln, w in zip(lines, week_of, strict=True) if w in old],
        arrival(history[-1]),
    )
    for week in replayed:
        rows = [ln for ln, w in zip(lines, week_of, strict=True) if w == week and sent(ln, week)]
        late = [ln for ln in rows if (ln.split(",")[1].strip('"'), week) == LATE[:2]]
        send(week, [ln for ln in rows if ln not in late], arrival(week))
        send(f"{week}-late", late, arrival(week, LATE[2]))


def build(path: Path, *, log=print) -> DemoSite:
    """Build the demo database at ``path`` (replacing any file there)."""
    from tocsin.accounts import service as accounts
    from tocsin.alerting import lifecycle, missing
    from tocsin.alerting.escalation import EscalationStep
    from tocsin.alerting.models import Alert
    from tocsin.alerting.settings import get_alerting_settings
    from tocsin.monitoring import completeness, indicators, jurisdictions, runs
    from tocsin.monitoring.due import due_rule
    from tocsin.monitoring.models import Jurisdiction, Observation, Signal
    from tocsin.store import make_engine, upgrade, write_session
    from tocsin.worker import alerts_from_new_runs

    started = time.perf_counter()
    site = DemoSite(url=fresh_sqlite(path))
    engine: Engine = make_engine(site.url)
    upgrade(engine)
    log("schema created")
    with tempfile.TemporaryDirectory(prefix="tocsin-demo-") as folder:
        top = Path(folder) / "jurisdictions.csv"
        top.write_text(_TOP, encoding="utf-8")
        kinds = Path(folder) / "indicators.csv"
        kinds.write_text(_INDICATORS, encoding="utf-8")
        with write_session(engine) as db:
            jurisdictions.load(db, top, actor=DEMO_ACTOR)
            for name in ("fluBYBW_districts.geojson", "measlesWeserEms_districts.geojson"):
                jurisdictions.load(db, data_file(name), actor=DEMO_ACTOR)
            jurisdictions.load_population(db, data_file("fluBYBW_population.csv"), actor=DEMO_ACTOR)
            indicators.load(db, kinds, actor=DEMO_ACTOR)
        log("jurisdictions and indicators loaded")
        flu = Path(folder) / "influenza.csv"
        _copy_until(data_file("fluBYBW_observed.csv"), flu, PRESENT)
        for indicator, source in (
            ("influenza", flu),
            ("measles", data_file("measlesWeserEms_observed.csv")),
        ):
            _replay(engine, source, indicator, Path(folder))
        with write_session(engine) as db:
            for indicator in ("influenza", "measles"):
                completeness.set_due(
                    db, indicator, due_rule(*DUE), actor=DEMO_ACTOR, now=dt.datetime.now(dt.UTC)
                )
    log(f"observations ingested (influenza up to {PRESENT}), due rules set")
    from tocsin.demo import world

    with tempfile.TemporaryDirectory(prefix="tocsin-world-") as folder:
        world.load(engine, Path(folder), actor=DEMO_ACTOR)
    log("other hazards loaded (deaths, ozone, road casualties, petrol price, gas)")
    world.set_detectors(engine, DETECTORS, actor=DEMO_ACTOR)
    with write_session(engine) as db:
        runs.run_detection(db, actor=DEMO_ACTOR)
    log("detection run")
    settings = get_alerting_settings()
    now = dt.datetime.now(dt.UTC)
    with write_session(engine) as db:
        for state in ("DE-BY", "DE-BW", "DE-NI-WE"):
            duty.add_contact(
                db,
                jurisdiction=state,
                name=f"{state} duty desk",
                email=f"duty-{state.lower()}@example.org",
                by=DEMO_ACTOR,
            )
            duty.set_policy(
                db,
                jurisdiction=state,
                steps=[
                    EscalationStep(dt.timedelta(minutes=30), 0),
                    EscalationStep(dt.timedelta(hours=2), 1),
                ],
                by=DEMO_ACTOR,
            )
    while True:
        with write_session(engine) as db:
            processed, _ = alerts_from_new_runs(db, now=now, settings=settings)
        if not processed:
            break
    log("alerts raised")
    from tocsin.demo import reserves

    site.reserve_alerts = reserves.stock(engine, actor=DEMO_ACTOR, now=now)
    log(f"reserves stocked ({site.reserve_alerts} reserve alerts)")
    with write_session(engine) as db:
        opened = missing.check(db, now=now, settings=settings).opened
        site.missing_alerts = len(opened)
        for alert_id in opened:
            if db.get(Alert, alert_id).fingerprint.startswith("missing:outage:"):
                lifecycle.acknowledge(
                    db, alert_id, by=DEMO_ACTOR, comment=REPLAY_NOTE, now=now, settings=settings
                )
    log(f"reporting checked ({site.missing_alerts} missing-data alerts)")
    with write_session(engine) as db:
        ids = dict(db.execute(select(Jurisdiction.code, Jurisdiction.id)).all())
        for username, display, role, where, password in DEMO_ACCOUNTS:
            user = accounts.create_user(
                db, username=username, display_name=display, password=password, actor=DEMO_ACTOR
            )
            accounts.grant_role(db, user, role, ids[where], actor=DEMO_ACTOR)
    from tocsin.demo import response

    site.incident = response.build(engine, actor=DEMO_ACTOR, now=now)
    log("bodies, plans and an incident loaded")
    from tocsin.demo import risks

    site.assessment = risks.build(engine, actor=DEMO_ACTOR, now=now)
    log("risks and a joint assessment loaded")
    from tocsin.demo import drills

    site.drill = drills.build(engine, actor=DEMO_ACTOR, now=now)
    log("a completed drill held")
    with write_session(engine) as db:
        site.jurisdictions = db.scalar(select(func.count()).select_from(Jurisdiction)) or 0
        site.observations = db.scalar(select(func.count()).select_from(Observation)) or 0
        site.signals = db.scalar(select(func.count()).select_from(Signal)) or 0
        site.alarms = db.scalar(select(func.count()).where(Signal.alarm.is_(True))) or 0
        site.alerts = db.scalar(select(func.count()).select_from(Alert)) or 0
    engine.dispose()
    site.accounts = list(DEMO_ACCOUNTS)
    site.seconds = time.perf_counter() - started
    return site
