"""The alert list in the browser: its filter form and its Older / Newer pager (issue 11,
defect 1: an empty field such as ``level=`` means "any", never 422)."""

from __future__ import annotations

import datetime as dt

from tests.web.browsing import login, requires_chromium, shot

pytestmark = requires_chromium

RESOLVED = 60  # more than one page of 50


def _resolved_alerts(world) -> None:
    from tocsin.alerting.models import Alert
    from tocsin.store import write_session

    now = dt.datetime.now(dt.UTC)
    with write_session(world.engine) as db:
        model = db.get(Alert, world.alerts["9162"])
        for i in range(RESOLVED):
            db.add(
                Alert(
                    fingerprint=f"old:{i}",
                    status="resolved",
                    source="manual",
                    indicator_id=model.indicator_id,
                    jurisdiction_id=model.jurisdiction_id,
                    level=1 + i % 4,
                    headline=f"Past episode {i:02d}",
                    opened_at=now - dt.timedelta(days=i + 1),
                    updated_at=now - dt.timedelta(days=i + 1),
                )
            )


def test_filter_with_all_levels_and_page_through(page, live) -> None:
    base, world = live
    _resolved_alerts(world)
    login(page, base, "admin")
    page.goto(f"{base}/alerts")
    page.select_option("select[name=status]", "resolved")  # level stays "all" (level=)
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    assert "level=" in page.url
    assert page.locator("tr.alert-row").count() == 50, page.inner_text("main")[:300]
    assert page.locator("select[name=status]").input_value() == "resolved"
    shot(page, "alerts-resolved")
    with page.expect_navigation() as older:
        page.click("a.older")
    assert older.value is not None and older.value.status == 200
    assert page.locator("tr.alert-row").count() == RESOLVED - 50
    assert "Past episode 59" in page.inner_text("table.alerts")
    shot(page, "alerts-older")
    with page.expect_navigation() as newer:
        page.click("a.newer")
    assert newer.value is not None and newer.value.status == 200
    assert page.locator("tr.alert-row").count() == 50
    assert "Past episode 00" in page.inner_text("table.alerts")
