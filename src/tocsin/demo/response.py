"""The demo's response: bodies of the states and of one district, a contingency plan for
influenza (the country's, inherited by every state and district) and one for measles
(Weser-Ems's own), and an incident opened from the most serious influenza alert of the
2007/08 wave, run for a while (docs/response.md).

The plans are written as an agency would write them and loaded through the same service
as ``tocsin plans load``; the incident is opened and run through the incident services.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from sqlalchemy import Engine, select

_BODIES = """code,jurisdiction,name,name_zh,members
emergency,DE,Federal Office of Civil Protection,联邦民防局,
health,DE,Federal Ministry of Health,联邦卫生部,
health,DE-BY,Bavarian State Ministry of Health,巴伐利亚州卫生部,
emergency,DE-BY,Bavarian Emergency Management,巴伐利亚州应急管理厅,coordinator
health,DE-BW,Health Ministry of Baden-Wuerttemberg,巴登-符腾堡州卫生部,
emergency,DE-BW,Emergency Management of Baden-Wuerttemberg,巴登-符腾堡州应急管理厅,
health,DE-NI-WE,Public Health Office Weser-Ems,威悉-埃姆斯公共卫生局,
emergency,DE-NI-WE,Emergency Management Weser-Ems,威悉-埃姆斯应急管理局,
health,8336,Health Office LK Loerrach,勒拉赫县卫生局,officer
"""


def _levels(disease: str, disease_zh: str, tasks: dict[str, list[tuple[str, str, str]]]) -> str:
    """The ``levels:`` part of a plan: activation by alert level, checklist per level
    (title, Chinese title, due)."""
    intervals = {"I": "6h", "II": "12h", "III": "1d", "IV": "1d"}
    leads = {"I": "emergency", "II": "health", "III": "health", "IV": "health"}
    text = "levels:\n"
    for roman in ("I", "II", "III", "IV"):
        other = "health" if leads[roman] == "emergency" else "emergency"
        text += (
            f"  {roman}:\n    activation: {{alert_level: {roman}, criteria: "
            f"'{disease} alert of level {roman} or worse', "
            f"criteria_zh: '{disease_zh}{roman}级或更严重的警报'}}\n"
            f"    lead_body: {leads[roman]}\n"
            f"    participating_bodies: [{other}]\n"
            f"    report_interval: {intervals[roman]}\n    tasks:\n"
        )
        for title, title_zh, due in tasks[roman]:
            text += f"      - {{title: '{title}', title_zh: '{title_zh}', due: {due}}}\n"
    return text


_FLU_PLAN = """jurisdiction: DE
hazard: influenza
title: Influenza contingency plan
title_zh: 流感应急预案
owner_body: health
review_date: 2027-09-30
first_report_after: 2h
""" + _levels(
    "Influenza",
    "流感",
    {
        "I": [
            ("Convene the crisis staff", "召集应急指挥部", "1h"),
            ("Open emergency wards", "开设应急病区", "12h"),
            ("Restrict mass gatherings", "限制大型聚集活动", "1d"),
        ],
        "II": [
            ("Activate the surge plans of hospitals", "启动医院扩容预案", "6h"),
            ("Brief the public", "向公众通报情况", "12h"),
        ],
        "III": [
            ("Confirm cases in the laboratory", "实验室确诊病例", "1d"),
            ("Check stocks of antivirals", "核查抗病毒药物储备", "2d"),
        ],
        "IV": [("Watch the weekly figures", "关注每周数据", "7d")],
    },
)

_MEASLES_PLAN = """jurisdiction: DE-NI-WE
hazard: measles
title: Measles contingency plan of Weser-Ems
title_zh: 威悉-埃姆斯麻疹应急预案
owner_body: health
review_date: 2027-03-31
""" + _levels(
    "Measles",
    "麻疹",
    {
        "I": [
            ("Convene the crisis staff", "召集应急指挥部", "1h"),
            ("Vaccinate in every school of the district", "在本区每所学校开展疫苗接种", "3d"),
        ],
        "II": [
            ("Trace the contacts of every case", "追踪每个病例的密切接触者", "1d"),
            ("Offer vaccination to contacts", "为密切接触者提供疫苗接种", "2d"),
        ],
        "III": [
            ("Confirm cases in the laboratory", "实验室确诊病例", "1d"),
            ("Inform schools and day care", "通知学校和托育机构", "2d"),
        ],
        "IV": [("Check vaccination records of new cases", "核查新病例的疫苗接种记录", "7d")],
    },
)


def build(engine: Engine, *, actor: str, now: dt.datetime) -> int | None:
    """Load the bodies and plans and open the demo incident; its id (None: no
    influenza alert to open it from)."""
    from tocsin.alerting.models import Alert
    from tocsin.monitoring.models import Indicator
    from tocsin.response import bodies, incidents, plans, reports, tasks
    from tocsin.store import write_session

    with tempfile.TemporaryDirectory(prefix="tocsin-demo-") as folder:
        files = {
            "bodies.csv": _BODIES,
            "influenza.yaml": _FLU_PLAN,
            "measles.yaml": _MEASLES_PLAN,
        }
        for name, text in files.items():
            (Path(folder) / name).write_text(text, encoding="utf-8")
        with write_session(engine) as db:
            bodies.load(db, Path(folder) / "bodies.csv", by=actor)
            for name in ("influenza.yaml", "measles.yaml"):
                plans.load(db, Path(folder) / name, by=actor)
    with write_session(engine) as db:
        alert = db.scalar(
            select(Alert)
            .join(Indicator, Indicator.id == Alert.indicator_id)
            .where(Indicator.code == "influenza", Alert.status == "open")
            .order_by(Alert.level, Alert.observed.desc(), Alert.id)
            .limit(1)
        )
        if alert is None:
            return None
        incident = incidents.open_incident(
            db,
            title=f"Influenza wave 2008: {alert.headline}",
            title_zh=f"2008年流感疫情：{alert.headline_zh}" if alert.headline_zh else "",
            alerts=[alert.id],
            first_figures=f"{alert.observed:g} cases notified in the week",
            commander="coordinator",
            by="user:coordinator",
            now=now,
        )
        first = next(iter(tasks.for_incident(db, incident.id)), None)
        if first is not None:
            tasks.update(db, first.id, status="in_progress", by="user:coordinator", now=now)
        incidents.comment(
            db,
            incident.id,
            "Hospitals of the district report full paediatric wards.",
            by="user:coordinator",
            now=now,
        )
        reports.submit(
            db,
            incident.id,
            situation=(
                "Influenza notifications rose for the third week running; schools report "
                "absences of up to a fifth of pupils."
            ),
            actions="Laboratory confirmation under way; hospitals asked for free beds daily.",
            needs="Antiviral stock for the district's hospitals for two weeks.",
            by="user:coordinator",
            now=now,
        )
        return incident.id
