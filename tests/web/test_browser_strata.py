"""The series chart with strata (issue 16, periods and strata): a series of one stratum
(an age group) shows one line of observations, and *All strata* draws every stratum of
the jurisdiction and indicator as its own line, named by its stratum, with the numbers
of each. English and Chinese, on a wide screen and on a 390 px phone (nothing wider
than the viewport), every view checked by axe-core (``shot``)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete
from tests.web.browsing import browsing, chart_lines, requires_chromium, shot, sign_in
from tests.web.test_strata_web import STRATA, WEEKS, add_strata

pytestmark = requires_chromium

TOTAL = {"en": "Total", "zh_CN": "合计"}
ALL_STRATA = {"en": "All strata", "zh_CN": "全部分层"}


@pytest.fixture(scope="module")
def strata(live):
    """The strata series in district 9162 of the live world (removed at the end, for the
    other browser tests of the module's world)."""
    from tocsin.alerting.models import Alert
    from tocsin.monitoring.models import Observation, Series, Signal
    from tocsin.store import write_session

    _, world = live
    found = add_strata(world)
    yield found
    ids = [found[s] for s in STRATA]
    with write_session(world.engine) as db:
        db.execute(delete(Alert).where(Alert.id == found["alert"]))
        db.execute(delete(Signal).where(Signal.series_id.in_(ids)))
        db.execute(delete(Observation).where(Observation.series_id.in_(ids)))
        db.execute(delete(Series).where(Series.id.in_(ids)))


def _observed(page) -> dict[str, list[float | None]]:
    """The observation lines the chart draws, by the name after "Observed · " (the
    series' own name when it is the only one)."""
    observed = page.get_attribute("#chart", "data-observed-label")
    found = {}
    for label, values in chart_lines(page).items():
        if label == observed:
            found[""] = values
        elif label.startswith(f"{observed} · "):
            found[label.removeprefix(f"{observed} · ")] = values
    return found


@pytest.mark.parametrize("width", ["wide", "phone"])
@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_one_stratum_or_all_strata_as_lines(browser, live, strata, locale, width) -> None:
    base, _ = live
    with browsing(browser, width, locale) as page:
        sign_in(page, base, "admin", locale)
        try:
            page.goto(f"{base}/series/{strata['65+']}")
            page.wait_for_selector("#chart[data-ready='1']")
            assert "(65+)" in page.inner_text("#chart-title")
            one = _observed(page)
            assert list(one) == [""], one  # one line: the stratum's own observations
            assert [v for v in one[""] if v is not None] == [float(i * 3) for i in range(10)]
            shot(page, f"series-one-stratum-{locale}-{width}")
            page.click("#strata summary")
            page.click("#all-strata")
            page.wait_for_selector("#chart[data-ready='1']")
            lines = _observed(page)
            place = _place(page)
            expected = {f"{place} · 65+", f"{place} · 0-14", f"{place} · {TOTAL[locale]}"}
            assert set(lines) == expected, lines
            assert [v for v in lines[f"{place} · 0-14"] if v is not None] == [
                float(i * 2) for i in range(len(WEEKS))
            ]
            assert [v for v in lines[f"{place} · 65+"] if v is not None] == [
                float(i * 3) for i in range(len(WEEKS))
            ]
            boxes = page.locator("#strata input[name=with]")
            assert boxes.count() == 2 and all(
                boxes.nth(i).is_checked() for i in range(boxes.count())
            )
            assert page.inner_text("#all-strata").strip() == ALL_STRATA[locale]
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= page.viewport_size["width"], wide
            shot(page, f"series-all-strata-{locale}-{width}")
        finally:
            if locale == "zh_CN":
                page.click("button[data-locale='en']")


def _place(page) -> str:
    """The jurisdiction's name as the chart title shows it (before the stratum)."""
    title = page.inner_text("#chart-title")
    return title.split("·", 1)[1].split("(")[0].strip()
