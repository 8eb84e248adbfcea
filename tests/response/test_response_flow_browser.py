"""Issue 14's whole flow as ONE flow in a real browser (Playwright, Debian's Chromium), in
English and in Chinese, with a screenshot (and the axe-core check) at every stage, kept in
``artifacts/browser/flow-<width>-<locale>-<stage>.png``. The flow has two people, the
district's duty officer and the state's coordinator, and each run gives them different
widths, so that the two runs cover the four combinations of 1280 px and 390 px (a phone)
with English and Chinese on one server and one browser (module fixtures) at the cost of
two runs: in English the officer works at 1280 px and the coordinator on a phone, in
Chinese the officer on a phone and the coordinator at 1280 px. Every combination sees
the incident page and acts on it:

alert -> incident at level III (the district's duty officer) -> the plan's tasks appear
-> a task done -> the first situation report overdue escalates to the state (the worker,
its clock two hours on) -> the state's coordinator sees it and raises the level to II
(new tasks) -> the CAP notice issued (its public page) -> stood down -> after-action
review -> closed.

The pages run on the real clock; the worker that escalates runs on a manual clock set
past the first report's deadline, as a worker would be two hours later."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from tests.response.conftest import DATA
from tests.web.browsing import browsing, requires_chromium, shot, sign_in

from tocsin.alerting.clock import ManualClock
from tocsin.alerting.models import DutyContact, Notification
from tocsin.alerting.settings import AlertingSettings
from tocsin.response import bodies, plans
from tocsin.response.models import Incident, IncidentEvent
from tocsin.store import write_session
from tocsin.worker import Worker

pytestmark = requires_chromium

STATE_DESK = "desk-by@example.org"


def _territory(world) -> None:
    with write_session(world.engine) as db:
        bodies.load(db, DATA / "bodies.yaml", by="test")
        plans.load(db, DATA / "plan-flu.yaml", by="test")
        if db.scalar(select(DutyContact.id).where(DutyContact.email == STATE_DESK)) is None:
            db.add(
                DutyContact(
                    jurisdiction_id=world.jurisdictions["DE-BY"],
                    name="State duty desk",
                    email=STATE_DESK,
                    active=True,
                )
            )


def _incident_id(page) -> int:
    return int(page.url.rstrip("/").rsplit("/", 1)[-1].split("?")[0])


#: What the state's raise to level II reads like on the timeline, in each language.
RAISED = {
    "en": "Response level raised from III to II: cases double within a week",
    "zh_CN": "响应级别由III级提升至II级：cases double within a week",
}


@pytest.mark.parametrize(
    ("locale", "officer_width", "state_width"),
    [("en", "wide", "phone"), ("zh_CN", "phone", "wide")],
)
def test_the_whole_response_in_one_flow(
    browser, live, locale: str, officer_width: str, state_width: str
) -> None:
    base, world = live
    _territory(world)
    lang = locale.split("_")[0]
    name = f"flow-{officer_width}-{lang}"
    # -- the district's duty officer: alert -> incident at level III -> tasks -> one done
    with browsing(browser, officer_width, locale) as page:
        sign_in(page, base, "officer_9162", locale)
        page.goto(f"{base}/alerts/{world.alerts['9162']}")
        shot(page, f"{name}-1-alert")
        page.select_option("#open-incident select[name=level]", "III")
        page.click("#open-incident button[type=submit]")
        page.wait_for_selector("#incident-status[data-status='response_active']")
        incident_id = _incident_id(page)
        assert page.get_attribute("#incident-level", "data-level") == "III"
        assert page.locator("tr.task").count() == 2  # level III's checklist
        assert page.locator("#incident-timeline li[data-kind='cap_notice']").count() == 1
        shot(page, f"{name}-2-level-iii")
        first = page.locator("tr.task").first
        first.locator("select[name=status]").select_option("done")
        first.locator("form.task-form button[type=submit]").click()
        page.wait_for_selector("tr.task-done")
        shot(page, f"{name}-3-task-done")
        if locale != "en":
            page.click("button[data-locale='en']")  # the choice is the user's: back
            page.wait_for_selector("html[lang='en']")
    # -- two hours on, nobody has reported: the worker escalates to the state (DE-BY)
    with write_session(world.engine) as db:
        opened = db.get(Incident, incident_id).opened_at
    settings = AlertingSettings(public_url=base, notify_group_wait_seconds=0)
    worker = Worker(
        world.engine, clock=ManualClock(opened + dt.timedelta(hours=2, minutes=1)),
        settings=settings, name=f"flow-{lang}",
    )  # fmt: skip
    try:
        worker.tick()
    finally:
        worker.close()
    with write_session(world.engine) as db:
        told = db.scalars(
            select(Notification.target).where(
                Notification.incident_id == incident_id, Notification.reason == "report-overdue"
            )
        ).all()
        [event] = db.scalars(
            select(IncidentEvent).where(
                IncidentEvent.incident_id == incident_id, IncidentEvent.kind == "report_overdue"
            )
        ).all()
    assert told == [STATE_DESK] and event.data["jurisdiction"] == "DE-BY"
    # -- the state's coordinator: sees the escalation, raises to II, the CAP notice, ...
    name = f"flow-{state_width}-{lang}"
    with browsing(browser, state_width, locale) as page:
        sign_in(page, base, "by_coordinator", locale)
        page.goto(f"{base}/incidents")
        page.wait_for_selector(f"a[href='/incidents/{incident_id}']")
        shot(page, f"{name}-4-state-incidents")
        page.goto(f"{base}/incidents/{incident_id}")
        overdue = page.locator("#incident-timeline li[data-kind='report_overdue']")
        assert overdue.count() == 1 and "DE-BY" in overdue.inner_text()
        shot(page, f"{name}-5-report-escalated")
        page.select_option("#incident-level-form select[name=level]", "II")
        page.fill("#incident-level-form input[name=reason]", "cases double within a week")
        page.click("#set-level")
        page.wait_for_selector("#incident-level[data-level='II']")
        assert page.locator("tr.task").count() == 4  # II's checklist joins III's
        assert page.locator("tr.task-done").count() == 1  # done work is kept
        raised = page.locator("#incident-timeline li[data-kind='level']").last
        assert RAISED[locale] in raised.inner_text()  # in the reader's language
        notices = page.locator("#incident-timeline li[data-kind='cap_notice']")
        assert notices.count() == 2  # the Alert at III, the Update at II
        shot(page, f"{name}-6-level-ii")
        with write_session(world.engine) as db:
            [latest] = db.scalars(
                select(IncidentEvent.data)
                .where(IncidentEvent.incident_id == incident_id, IncidentEvent.kind == "cap_notice")
                .order_by(IncidentEvent.id.desc())
                .limit(1)
            ).all()
        page.goto(f"{base}/cap/{latest['identifier']}.html")
        assert latest["identifier"] in page.inner_text("main")  # the Update, public
        shot(page, f"{name}-7-cap-notice")
        page.goto(f"{base}/incidents/{incident_id}")
        page.click("#move-stood_down")
        page.wait_for_selector("#incident-status[data-status='stood_down']")
        assert notices.count() == 3  # the all-clear
        shot(page, f"{name}-8-stood-down")
        page.fill("#review-form textarea[name=worked]", "Laboratory confirmation within a day")
        page.fill("#review-form textarea[name=did_not_work]", "The first report came late")
        page.fill("#review-form textarea[name=actions]", "A reporting rota; health")
        page.click("#close")
        page.wait_for_selector("#incident-status[data-status='closed']")
        assert "A reporting rota — health" in page.inner_text("#review")
        shot(page, f"{name}-9-closed")
        if locale != "en":
            page.click("button[data-locale='en']")
            page.wait_for_selector("html[lang='en']")
