"""The series chart in the browser with two detectors on one series (issue 11, defect 2):
one expected / upper-bound pair per detector, named in the legend, and each alarm drawn
with the method that raised it, on or above that method's own bound."""

from __future__ import annotations

from sqlalchemy import text
from tests.web.browsing import login, requires_chromium, shot

pytestmark = requires_chromium

#: The fixture's detector (expected 2, bound 5, alarm in the last week) becomes
#: Farrington; EARS C3 is added with expected 1 and bound 3 (alarms from the 5th week).
EARS_EXPECTED, EARS_BOUND = 1.0, 3.0


def _second_detector(world) -> None:
    from tocsin.monitoring.models import Detector, Signal
    from tocsin.store import write_session

    series = world.series["9162"]
    with write_session(world.engine) as db:
        first = db.get(Detector, 1)
        first.method = "farrington_flexible"
        ears = Detector(indicator_id=first.indicator_id, method="ears_c3", parameters={})
        db.add(ears)
        db.flush()
        weeks = db.execute(
            text("SELECT period, value FROM observation WHERE series_id = :s ORDER BY period"),
            {"s": series},
        ).all()
        for period, value in weeks:
            db.add(
                Signal(
                    series_id=series,
                    detector_id=ears.id,
                    period=period,
                    observed=value,
                    expected=EARS_EXPECTED,
                    upperbound=EARS_BOUND,
                    alarm=value > EARS_BOUND,
                )
            )


def test_one_line_pair_per_detector_named_in_the_legend(page, live) -> None:
    base, world = live
    _second_detector(world)
    login(page, base, "admin")
    page.goto(f"{base}/series/{world.series['9162']}")
    page.wait_for_selector("#chart[data-ready='1']")
    shot(page, "series-two-detectors")
    legend = [t.strip() for t in page.locator(".u-legend th").all_inner_texts()]
    for label in (
        "Expected · Farrington (flexible)",
        "Upper bound · Farrington (flexible)",
        "Alarm · Farrington (flexible)",
        "Expected · EARS C3",
        "Upper bound · EARS C3",
        "Alarm · EARS C3",
    ):
        assert label in legend, legend
    drawn = page.evaluate(
        """() => { const u = document.getElementById('chart').uplot;
                   return u.series.map((s, i) => [s.label, u.data[i]]); }"""
    )
    lines = dict(drawn)
    assert set(lines["Upper bound · EARS C3"]) == {EARS_BOUND}
    assert set(lines["Upper bound · Farrington (flexible)"]) == {5.0}
    assert set(lines["Expected · EARS C3"]) == {EARS_EXPECTED}
    for method, bound in (("EARS C3", EARS_BOUND), ("Farrington (flexible)", 5.0)):
        alarms = [v for v in lines[f"Alarm · {method}"] if v is not None]
        assert alarms and all(v > bound for v in alarms), (method, alarms)
    assert len([v for v in lines["Alarm · EARS C3"] if v is not None]) == 6  # weeks 5-10
    assert len([v for v in lines["Alarm · Farrington (flexible)"] if v is not None]) == 1
    assert page.get_attribute("#chart", "data-alarms") == "7"
