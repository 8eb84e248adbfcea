"""The demo's risks: a few entries of the register -- influenza in Bavaria, grain
supply in Baden-Wuerttemberg, measles in Weser-Ems, heat in LK Loerrach (its review
overdue), staff abroad -- and one joint assessment of the Bavarian influenza risk in
which the state's health ministry and its emergency management give their views and
agree the result (docs/risk.md).

The risks are loaded through the same service as ``tocsin risks load``; the assessment
is run through the assessment services, as the coordinator and the administrator would
through the pages.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from sqlalchemy import Engine, select

_RISKS = """risks:
  - code: by-influenza-wave
    jurisdiction: DE-BY
    domain: health
    hazard: influenza
    title: A severe influenza season overwhelms Bavarian hospitals
    title_zh: 严重流感季超出巴伐利亚州医院承受能力
    owner_body: health
    likelihood: 4
    impact: 4
    review_date: {in_half_a_year}
    indicators: [influenza]
    plans: [influenza]
    actions:
      - {{action: Stockpile antivirals for two weeks, owner: health, due: {in_a_month}}}
      - {{action: Exercise the surge ward plan, owner: emergency, due: {a_week_ago}}}
  - code: bw-grain-supply
    jurisdiction: DE-BW
    domain: food
    hazard: supply_disruption
    title: Grain imports interrupted for three months
    title_zh: 粮食进口中断三个月
    owner_body: emergency
    likelihood: 2
    impact: 5
    review_date: {in_a_year}
    actions:
      - {{action: Contract a second supplier, owner: emergency, due: {in_a_month}}}
  - code: we-measles
    jurisdiction: DE-NI-WE
    domain: health
    hazard: measles
    title: Measles outbreak in schools of Weser-Ems
    title_zh: 威悉-埃姆斯学校麻疹暴发
    owner_body: health
    likelihood: 3
    impact: 3
    review_date: {in_half_a_year}
    indicators: [measles]
    plans: [measles]
  - code: loerrach-heat
    jurisdiction: "8336"
    domain: natural-hazard
    hazard: natural_disaster
    title: Heat wave in LK Loerrach
    title_zh: 勒拉赫县热浪
    owner_body: health
    likelihood: 3
    impact: 2
    review_date: {a_month_ago}
  - code: de-staff-abroad
    jurisdiction: DE
    domain: operations-abroad
    hazard: public_health_emergency
    title: Staff of a liaison office abroad caught in an epidemic
    title_zh: 驻外联络处人员遭遇疫情
    location: liaison office, Nairobi
    owner_body: emergency
    likelihood: 2
    impact: 4
    review_date: {in_a_year}
"""

#: (username, body, likelihood, impact, confidence, reasoning) of the joint assessment.
_VIEWS = (
    (
        "admin",
        "health",
        5,
        4,
        "high",
        "Notifications doubled in two weeks; intensive care beds are 85 % occupied.",
    ),
    (
        "coordinator",
        "emergency",
        4,
        4,
        "moderate",
        "Surge wards can open within 12 hours; staff absences are the weak point.",
    ),
)


def build(engine: Engine, *, actor: str, now: dt.datetime) -> int:
    """Load the demo's risks and run one joint assessment; the assessment's id."""
    from tocsin.accounts.models import User
    from tocsin.risk import assessments, register
    from tocsin.risk.schemas import AgreementIn, ContributionIn
    from tocsin.store import write_session

    today = now.date()
    dates = {
        "in_half_a_year": today + dt.timedelta(days=182),
        "in_a_year": today + dt.timedelta(days=365),
        "in_a_month": today + dt.timedelta(days=30),
        "a_week_ago": today - dt.timedelta(days=7),
        "a_month_ago": today - dt.timedelta(days=30),
    }
    with tempfile.TemporaryDirectory(prefix="tocsin-demo-risks-") as folder:
        path = Path(folder) / "risks.yaml"
        path.write_text(_RISKS.format(**{k: v.isoformat() for k, v in dates.items()}))
        with write_session(engine) as db:
            register.load(db, path, actor=actor, now=now)
    with write_session(engine) as db:
        risk = register.get(db, "by-influenza-wave")
        found = assessments.open_for_risk(
            db,
            risk,
            "Influenza in the coming four weeks: how likely is an overload, how bad?",
            actor="user:coordinator",
            now=now,
        )
        for username, body, likelihood, impact, confidence, reasoning in _VIEWS:
            user_id = db.scalar(select(User.id).where(User.username == username))
            assessments.contribute(
                db,
                found.id,
                ContributionIn(
                    body=body,
                    likelihood=likelihood,
                    impact=impact,
                    confidence=confidence,
                    reasoning=reasoning,
                ),
                user_id=user_id,
                speaks_for_any=username == "admin",  # the administrator of the country
                actor=f"user:{username}",
                now=now,
            )
        assessments.agree(
            db,
            found.id,
            AgreementIn(
                likelihood=5,
                impact=4,
                confidence="moderate",
                rationale="The notifications decide the likelihood; the surge plan holds "
                "the impact at major.",
            ),
            actor="user:coordinator",
            now=now,
        )
        return found.id
