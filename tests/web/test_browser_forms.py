"""Form errors in the browser (issue 11, defect 6): the message shows on the form, what
was typed stays, the advice is in the browser's terms (no command line), and an alert
acted on meanwhile in another tab shows its current state with the comment kept."""

from __future__ import annotations

from tests.web.browsing import login, requires_chromium, shot

pytestmark = requires_chromium


def _form_error(page, form: str, before: str | None = None) -> str:
    """The message shown on ``form``; with ``before``, wait until it is another one
    (a second refusal replaces the first in the same place)."""
    selector = f"{form} [data-form-error]"
    if before is None:
        return page.wait_for_selector(selector).inner_text()
    page.wait_for_function(
        "([s, b]) => { const e = document.querySelector(s); return e && e.innerText !== b; }",
        arg=[selector, before],
    )
    return page.inner_text(selector)


def test_admin_forms_keep_input_and_show_the_message(page, live) -> None:
    base, _ = live
    login(page, base, "admin")
    page.goto(f"{base}/admin")
    add_user = "form[action='/admin/users']"
    page.fill(f"{add_user} input[name=username]", "officer_9162")  # exists
    page.fill(f"{add_user} input[name=display_name]", "A second officer")
    page.fill(f"{add_user} input[name=password]", "a long enough passphrase")
    page.fill(f"{add_user} input[name=jurisdiction]", "9162")
    page.click(f"{add_user} button[type=submit]")
    message = _form_error(page, add_user)
    assert "officer_9162" in message and "choose another name" in message
    assert page.url == f"{base}/admin"
    assert page.input_value(f"{add_user} input[name=display_name]") == "A second officer"
    shot(page, "form-error-duplicate-user")

    contact = "form[action='/admin/contacts']"
    page.fill(f"{contact} input[name=jurisdiction]", "XX-NOWHERE")
    page.fill(f"{contact} input[name=name]", "Night desk")
    page.fill(f"{contact} input[name=email]", "night@example.org")
    page.click(f"{contact} button[type=submit]")
    message = _form_error(page, contact)
    assert "XX-NOWHERE" in message
    assert "tocsin " not in message  # no command line in a browser
    assert page.input_value(f"{contact} input[name=email]") == "night@example.org"

    page.fill(f"{contact} input[name=jurisdiction]", "9162")
    page.fill(f"{contact} input[name=email]", "")
    page.click(f"{contact} button[type=submit]")
    message = _form_error(page, contact, before=message)
    assert "e-mail" in message.lower() or "webhook" in message.lower()
    assert page.input_value(f"{contact} input[name=name]") == "Night desk"
    assert page.locator(f"{contact} [data-form-error]").count() == 1  # replaced, not stacked
    shot(page, "form-error-contact")


def test_a_bad_chart_window_keeps_the_page(page, live) -> None:
    base, world = live
    login(page, base, "admin")
    page.goto(f"{base}/series/{world.series['9162']}")
    page.fill("input[name=from]", "2008-W99")
    page.fill("input[name=to]", "2008-W10")
    page.click("form.window button[type=submit]")
    page.wait_for_selector("#window-error")
    assert "2008-W99" in page.inner_text("#window-error")
    assert page.input_value("input[name=from]") == "2008-W99"
    assert page.input_value("input[name=to]") == "2008-W10"
    assert page.locator("#chart").count() == 1
    shot(page, "form-error-chart-window")


def test_an_alert_acknowledged_in_another_tab(page, live) -> None:
    base, world = live
    login(page, base, "admin")
    alert = world.alerts["8212"]
    page.goto(f"{base}/alerts/{alert}")
    other = page.context.new_page()
    other.goto(f"{base}/alerts/{alert}")
    other.fill("textarea[name=comment]", "Taken by the night desk")
    other.click("#acknowledge")
    other.wait_for_selector("#alert-status[data-status='acknowledged']")
    other.close()
    page.fill("textarea[name=comment]", "My own careful note")
    page.click("#acknowledge")
    page.wait_for_selector("#action-error")
    assert page.get_attribute("#alert-status", "data-status") == "acknowledged"
    assert "acknowledged" in page.inner_text("#action-error")
    assert page.input_value("textarea[name=comment]") == "My own careful note"
    assert "Taken by the night desk" in page.inner_text(".timeline")
    shot(page, "form-error-stale-alert")
