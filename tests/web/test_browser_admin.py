"""Administration in the browser (issue 11), English and Chinese, 1280 and 390 px: find
a user by name, grant and revoke a role, deactivate (the user can no longer sign in) and
reactivate, set a new password (the user signs in with it); the silence form with
Alertmanager matchers, its refusal on the form in the reader's language with what was
typed kept, and each silence's creator and time. Every page passes axe (``shot``)."""

from __future__ import annotations

import pytest
from tests.web.browsing import WIDTHS, browsing, requires_chromium, shot, sign_in
from tests.web.conftest import PASSWORD, SLOW

pytestmark = requires_chromium

NEW_PASSWORD = "a fresh passphrase for the temp user"


def _sign_in(browser, base: str, username: str, password: str) -> bool:
    """Whether ``username`` can sign in with ``password`` (in a browser of their own)."""
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{base}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        # The form's answer is one navigation: to the situation when signed in, back to
        # the form (refused) otherwise.
        with page.expect_navigation(timeout=SLOW * 1000):
            page.click("main button[type=submit]")
        return page.url == f"{base}/"
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_manage_users_and_silences(browser, live, locale, width) -> None:
    base, _ = live
    tag = f"{locale}-{width}"
    username = f"temp_{locale.lower()}_{width}"
    with browsing(browser, width, locale) as page:
        _manage(browser, page, base, locale, tag, username)


def _manage(browser, page, base: str, locale: str, tag: str, username: str) -> None:
    sign_in(page, base, "admin", locale)
    try:
        page.goto(f"{base}/admin")
        add = "form[action='/admin/users']"
        page.fill(f"{add} input[name=username]", username)
        page.fill(f"{add} input[name=display_name]", f"Temporary Tester {tag}")
        page.fill(f"{add} input[name=password]", PASSWORD)
        page.select_option(f"{add} select[name=role]", "viewer")
        page.fill(f"{add} input[name=jurisdiction]", "8111")
        page.click(f"{add} button[type=submit]")
        page.wait_for_url(f"{base}/admin?message=*")

        page.fill("#user-search input[name=q]", f"tester {tag}")
        page.click("#user-search button[type=submit]")
        page.wait_for_url(f"{base}/admin?q=*")
        rows = page.locator("#users tbody tr")
        assert rows.count() == 1 and rows.first.get_attribute("data-user") == username
        assert page.input_value("#user-search input[name=q]") == f"tester {tag}"
        shot(page, f"admin-search-{tag}")

        rows.first.locator("a").click()
        page.wait_for_selector("#user-roles")
        page.select_option("#grant-form select[name=role]", "analyst")
        page.fill("#grant-form input[name=jurisdiction]", "8212")
        page.click("#grant-form button[type=submit]")
        page.wait_for_selector("#user-message")
        assert page.locator("#user-roles tr[data-grant]").count() == 2
        page.locator("#user-roles tr[data-grant]", has_text="8111").locator("button").click()
        page.wait_for_function(
            "() => document.querySelectorAll('#user-roles tr[data-grant]').length == 1"
        )
        assert "8212" in page.inner_text("#user-roles")
        shot(page, f"admin-user-revoked-{tag}")

        page.click("#active-form button")
        page.wait_for_selector("#user-state")
        shot(page, f"admin-user-deactivated-{tag}")
        assert not _sign_in(browser, base, username, PASSWORD)
        with page.expect_navigation():
            page.click("#active-form button")
        assert page.locator("#user-state").count() == 0
        page.fill("#password-form input[name=password]", NEW_PASSWORD)
        with page.expect_navigation():
            page.click("#password-form button")
        assert page.locator("#user-message").count() == 1
        assert _sign_in(browser, base, username, NEW_PASSWORD)
        assert not _sign_in(browser, base, username, PASSWORD)

        page.goto(f"{base}/admin")
        form = "#silence-form"
        page.fill(f"{form} input[name=jurisdiction]", "8111")
        page.fill(f"{form} input[name=hours]", "3")
        page.fill(f"{form} textarea[name=matchers]", 'level=~"I|II"\ncolour="red"')
        page.fill(f"{form} input[name=comment]", f"storm night {tag}")
        page.click(f"{form} button[type=submit]")
        refusal = page.wait_for_selector(f"{form} [data-form-error]").inner_text()
        assert "colour" in refusal
        assert ("未知标签" in refusal) if locale == "zh_CN" else ("unknown label" in refusal)
        assert page.input_value(f"{form} textarea[name=matchers]") == 'level=~"I|II"\ncolour="red"'
        assert page.input_value(f"{form} input[name=jurisdiction]") == "8111"
        assert page.input_value(f"{form} input[name=hours]") == "3"
        assert page.input_value(f"{form} input[name=comment]") == f"storm night {tag}"
        shot(page, f"admin-silence-refused-{tag}")
        page.fill(f"{form} textarea[name=matchers]", 'level=~"I|II"\nindicator!="flu"')
        page.click(f"{form} button[type=submit]")
        page.wait_for_url(f"{base}/admin?message=*")
        row = page.locator("#silences tr", has_text=f"storm night {tag}")
        assert row.count() == 1
        text = row.inner_text()
        assert 'indicator!="flu"' in text and "Admin" in text and "UTC" in text
        shot(page, f"admin-silence-added-{tag}")
        # End it (the other tests expect no silence). The page's URL already matches
        # ``admin?message=*`` (from adding it), so wait for the navigation itself: a wait
        # for the URL returned at once and the language switch below raced the form.
        with page.expect_navigation():
            row.locator("button").click()
        assert page.locator("#silences tr", has_text=f"storm night {tag}").count() == 0
    finally:
        if locale == "zh_CN":
            with page.expect_navigation():
                page.click("button[data-locale='en']")
            page.wait_for_selector("html[lang='en']")
