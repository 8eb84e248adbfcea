"""The situation page's newest detections across frequencies (issue 16): a month's period
ordinal is larger than any week's, so alarms are merged by the last day of their period,
not by ordinal; SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from tocsin.monitoring import detectors, ingest, runs
from tocsin.monitoring.models import Jurisdiction
from tocsin.monitoring.queries import newest_alarms
from tocsin.store import write_session


def test_newest_alarms_of_weeks_and_months_come_in_date_order(engine, write_file) -> None:
    weeks = "period,jurisdiction,value\n" + "".join(
        f"2024-W{w:02d},A1,{10 + w}\n" for w in range(1, 11)
    )  # the last week ends on Sunday 2024-03-10
    months = "period,jurisdiction,value\n" + "".join(
        f"2023-{m:02d},A2,{3.0 + m / 10}\n" for m in range(1, 13)
    )  # the last month ends on 2023-12-31: earlier, with a larger ordinal
    ingest.ingest_file(engine, write_file(weeks, "w.csv"), indicator="cases", actor="test")
    ingest.ingest_file(engine, write_file(months, "m.csv"), indicator="price", actor="test")
    with write_session(engine) as db:
        for indicator in ("cases", "price"):
            detectors.set_detector(
                db, indicator=indicator, method="threshold", settings={"alert_level": "0"},
                actor="test",
            )  # fmt: skip
    with write_session(engine) as db:
        runs.run_detection(db, actor="test")
    with write_session(engine) as db:
        every = frozenset(db.scalars(select(Jurisdiction.id)))
        rows = newest_alarms(db, every, 14)
        first_three = newest_alarms(db, every, 3)
    assert [r[8] for r in rows] == ["week"] * 10 + ["month"] * 4
    assert rows[0][1] == 20.0 and rows[10][1] == 4.2  # 2024-W10, then 2023-12
    assert first_three == rows[:3]
