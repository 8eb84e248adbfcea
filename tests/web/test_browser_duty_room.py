"""The views a duty room expects (issue 11), in Chromium, in English and Chinese, at
1280 and 390 px: my queue with a bulk acknowledgement (one confirmation; an alert
acknowledged meanwhile elsewhere reported), raising an alert by hand, the alarm
explanation with its chart, and the situation refreshing itself without a reload."""

from __future__ import annotations

import datetime as dt

from tests.web.browsing import login, requires_chromium, shot

pytestmark = requires_chromium

PHONE = 390
#: The elements that reach beyond the screen (outside the map's own panes).
WIDER = """(limit) => [...document.querySelectorAll('main *')]
  .filter((e) => !e.closest('#map') && e.getBoundingClientRect().right > limit + 1)
  .map((e) => `${e.tagName}#${e.id} ${Math.round(e.getBoundingClientRect().right)}`)"""


def both_widths(page, name: str, ready: str | None = None) -> None:
    """Screenshots at 1280 px and on a 390 px phone (the same address opened by the same
    user on a phone; ``ready``: what to wait for there), where nothing is wider than the
    screen."""
    shot(page, f"{name}-1280")
    context = page.context.browser.new_context(
        viewport={"width": PHONE, "height": 844}, storage_state=page.context.storage_state()
    )
    try:
        phone = context.new_page()
        phone.goto(page.url)
        if ready:
            phone.wait_for_selector(ready)
        width = phone.evaluate("document.documentElement.scrollWidth")
        wide = phone.evaluate(WIDER, PHONE) if width > PHONE else []
        shot(phone, f"{name}-390")
    finally:
        context.close()
    assert width <= PHONE, f"{name}: {width} px wide on a {PHONE} px screen: {wide}"


def language(page, locale: str) -> None:
    page.click(f"button[data-locale='{locale}']")
    page.wait_for_selector(f"html[lang='{'zh-CN' if locale == 'zh_CN' else 'en'}']")


def escalate_to_bavaria(world) -> None:
    """A desk on duty in Bavaria only: the districts' alerts escalate to it at once."""
    from sqlalchemy import text

    from tocsin.alerting import duty, lifecycle
    from tocsin.alerting.settings import AlertingSettings
    from tocsin.store import write_session

    with write_session(world.engine) as db:
        duty.add_contact(db, jurisdiction="DE-BY", name="Bavaria desk", email="by@example.org")
        db.execute(text("UPDATE alert SET next_escalation_at = opened_at"))
    with write_session(world.engine) as db:
        lifecycle.escalate_due(
            db, now=dt.datetime.now(dt.UTC), settings=AlertingSettings(public_url="http://t")
        )


def test_my_queue_acknowledges_several_alerts_at_once(page, live) -> None:
    from tocsin.alerting import lifecycle
    from tocsin.store import write_session

    base, world = live
    escalate_to_bavaria(world)
    login(page, base, "by_coordinator")
    page.click("nav[aria-label] a[href='/queue']")
    page.wait_for_selector("#queue-form")
    rows = page.locator("tr.queue-row")
    assert rows.count() == 2
    assert "Bavaria desk" in page.inner_text("#queue-form")
    assert "next:" in page.inner_text("#queue-form")
    both_widths(page, "queue")

    page.fill("input[name=q]", "9184")
    page.click("#queue-filters button[type=submit]")
    page.wait_for_url(f"{base}/queue?q=9184&order=level")
    assert page.locator("tr.queue-row").count() == 1
    page.goto(f"{base}/queue?order=escalation")

    first, second = world.alerts["9162"], world.alerts["9184"]
    page.check(f"#select-{first}")
    page.check(f"#select-{second}")
    page.click("#acknowledge-selected")
    page.wait_for_selector("#confirm-form")
    assert page.locator("#confirm-list li").count() == 2
    shot(page, "queue-confirm")
    with write_session(world.engine) as db:  # someone else, meanwhile
        lifecycle.acknowledge(db, second, by="user:officer_9162", now=dt.datetime.now(dt.UTC))
    page.fill("#confirm-form textarea[name=comment]", "Both seen in the duty room")
    page.click("#confirm-acknowledge")
    page.wait_for_selector("#queue-done")
    assert "1 alert acknowledged." in page.inner_text("#queue-done")
    changed = page.inner_text("#queue-changed")
    assert f"Alert {second}" in changed and "acknowledged" in changed
    assert "Officer_9162" in changed  # who acknowledged it, by name
    assert page.get_attribute(f"tr[data-alert-id='{first}']", "data-status") == "acknowledged"
    shot(page, "queue-acknowledged")

    language(page, "zh_CN")
    assert "我的待办" in page.inner_text("h1")
    assert "已确认 1 条预警" in page.inner_text("#queue-done")
    both_widths(page, "zh-queue")
    language(page, "en")


def test_raise_an_alert_by_hand(page, live) -> None:
    base, _ = live
    login(page, base, "officer_9162")
    page.goto(f"{base}/alerts")
    page.click("#raise-link")
    page.wait_for_selector("#raise-form")
    both_widths(page, "raise-form")
    page.select_option("#raise-form select[name=jurisdiction]", "9162")
    page.select_option("#raise-form select[name=level]", "II")
    page.fill("#raise-form input[name=headline]", "   ")  # passes `required`, not the server
    page.fill("#raise-form textarea[name=description]", "Levee breach reported at 05:40.")
    page.click("#raise-submit")
    page.wait_for_selector("#raise-error")
    assert "Write a headline" in page.inner_text("#raise-error")
    assert page.input_value("#raise-form textarea[name=description]") == (
        "Levee breach reported at 05:40."
    )
    assert page.input_value("#raise-form select[name=level]") == "II"
    shot(page, "raise-form-error")
    page.fill("#raise-form input[name=headline]", "Levee breach on the Isar")
    page.click("#raise-submit")
    page.wait_for_selector("#alert-description")
    assert "Levee breach on the Isar" in page.inner_text("h1")
    assert page.inner_text("#alert-status") == "open"
    shot(page, "raised-by-hand")
    language(page, "zh_CN")
    page.goto(f"{base}/alerts/new")
    assert "发布预警" in page.inner_text("h1")
    both_widths(page, "zh-raise-form")
    language(page, "en")


def test_the_alarm_explained_with_its_chart(page, live) -> None:
    from tests.web.test_alarm_explanation_page import farrington_alarm

    base, world = live
    farrington_alarm(world, "8111")
    login(page, base, "admin")
    page.goto(f"{base}/alerts/{world.alerts['8111']}")
    page.wait_for_selector("#alarm-explanation #chart[data-ready='1']")
    shown = page.inner_text("#alarm-explanation")
    assert "Farrington" in shown and "4 previous years, 2 periods either side" in shown
    assert "0.00042" in shown and "phi = 1.7" in shown
    assert int(page.get_attribute("#chart", "data-alarms")) >= 1
    page.locator("#alarm-explanation").scroll_into_view_if_needed()
    both_widths(page, "alarm-explanation", "#chart[data-ready='1']")
    language(page, "zh_CN")
    page.wait_for_selector("#alarm-explanation #chart[data-ready='1']")
    assert "报警依据" in page.inner_text("#alarm-explanation")
    both_widths(page, "zh-alarm-explanation", "#chart[data-ready='1']")
    language(page, "en")


POLLS = """() => {
  window.polls = {asked: 0, sent: 0};
  const live = (e) => e.detail && e.detail.elt && e.detail.elt.id === 'situation-live';
  document.addEventListener('htmx:beforeRequest', (e) => { if (live(e)) window.polls.asked++; });
  document.addEventListener('htmx:beforeSend', (e) => { if (live(e)) window.polls.sent++; });
  document.getElementById('map').kept = true;
  document.getElementById('situation-updated-at').old = true;
}"""

VISIBILITY = """(hidden) => {
  Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});
  Object.defineProperty(document, 'visibilityState', {configurable: true,
    get: () => hidden ? 'hidden' : 'visible'});
  document.dispatchEvent(new Event('visibilitychange'));
}"""


def test_the_situation_refreshes_itself(page, live) -> None:
    from tocsin.alerting import lifecycle
    from tocsin.store import write_session

    base, world = live
    page.clock.install()
    login(page, base, "by_admin")
    page.wait_for_selector("#map[data-ready='1']")
    page.wait_for_function("() => window.htmx !== undefined")
    page.evaluate(POLLS)
    count = int(page.inner_text("#open-count"))
    assert "Updated at" in page.inner_text("#situation-updated")

    page.focus("#open-alerts a")  # someone reading the list: left alone
    page.clock.fast_forward("01:01")
    assert page.evaluate("window.polls") == {"asked": 1, "sent": 0}
    page.evaluate("document.activeElement.blur()")
    page.evaluate(VISIBILITY, True)  # the tab hidden: no request either
    page.clock.fast_forward("01:01")
    polls = page.evaluate("window.polls")
    assert polls["asked"] >= 2 and polls["sent"] == 0

    with write_session(world.engine) as db:  # the data change meanwhile
        lifecycle.resolve(db, world.alerts["9184"], by="user:admin", now=dt.datetime.now(dt.UTC))
    page.evaluate(VISIBILITY, False)  # shown again: refreshed at once
    page.wait_for_selector("#situation-live[data-refreshed='1']")
    assert page.evaluate("window.polls.sent") == 1
    assert int(page.inner_text("#open-count")) == count - 1
    assert page.locator(f"tr.alert-row[data-alert-id='{world.alerts['9184']}']").count() == 0
    assert page.evaluate("document.getElementById('map').kept === true")  # not redrawn
    assert page.evaluate("document.getElementById('situation-updated-at').old") is None
    page.wait_for_selector("#map path.code-9184.level-none")
    page.clock.fast_forward("01:01")  # and every minute after
    page.wait_for_selector("#situation-live[data-refreshed='2']")
    both_widths(page, "situation-refreshed", "#map[data-ready='1']")
    language(page, "zh_CN")
    assert "更新于" in page.inner_text("#situation-updated")
    both_widths(page, "zh-situation-live", "#map[data-ready='1']")
    language(page, "en")


def test_a_session_ended_meanwhile_leads_to_the_sign_in_form(page, live) -> None:
    base, _ = live
    login(page, base, "viewer_8111")
    page.wait_for_selector("#map[data-ready='1']")
    page.wait_for_function("() => window.htmx !== undefined")
    page.context.clear_cookies()  # signed out elsewhere, or the session expired
    page.evaluate(VISIBILITY, False)  # the next refresh
    page.wait_for_url(f"{base}/login?next=/")
    assert page.locator("#situation-live").count() == 0  # no page nested in the page
    shot(page, "situation-signed-out")
