"""The pages in Chinese (issue 11, defect 7): no message of the catalogs shows in
English on a Chinese page, including the texts services produce (ingest row reasons,
login failure, error pages, the automatic resolution, role names in confirmations, the
refusals of services on error pages and forms: issue 11),
and names that have a Chinese form (indicators) show it."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po
from tests.web.browsing import requires_chromium, settled, shot
from tests.web.conftest import PASSWORD

pytestmark = requires_chromium

CATALOG = Path(__file__).parents[2] / "src/tocsin/web/i18n/zh_CN/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdf]|\{\w*\}")


def _english_fragments() -> list[str]:
    """The English texts of the catalog whose Chinese differs: each message, or for one
    with placeholders its longest fixed fragment (at least three words)."""
    with CATALOG.open("rb") as f:
        catalog = read_po(f)
    fragments = set()
    for message in catalog:
        if not message.id or not message.string or isinstance(message.id, tuple):
            continue
        english, chinese = message.id, message.string
        if english in chinese:  # a name kept as is (EARS C3, CUSUM, Webhook)
            continue
        parts = [p.strip(" .,:;()“”'") for p in PLACEHOLDER.split(english)]
        longest = max(parts, key=len)
        if PLACEHOLDER.search(english) and len(longest.split()) < 3:
            continue
        if len(longest) >= 4 and re.search("[a-z]", longest):
            fragments.add(longest)
    return sorted(fragments, key=len, reverse=True)


def _leaks(text: str, fragments: list[str]) -> list[str]:
    """The fragments found in ``text`` as whole words (a plain substring test first: the
    whole-word pattern of each of the catalog's hundreds of fragments on every page took
    seconds)."""
    return [
        f for f in fragments if f in text and re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", text)
    ]


def _prose(page) -> str:
    """The text of the page less its literal syntax (``<code>``: matchers, identifiers
    and labels a user types as they are, such as ``level=~"I|II"``)."""
    return page.evaluate(
        """() => {
          const codes = [...document.querySelectorAll("code")];
          codes.forEach((c) => { c.hidden = true; });
          const text = document.body.innerText;
          codes.forEach((c) => { c.hidden = false; });
          return text;
        }"""
    )


def test_no_english_catalog_message_on_a_chinese_page(page, live, tmp_path) -> None:
    base, world = live
    from sqlalchemy import text

    with world.engine.begin() as conn:
        conn.execute(text("UPDATE indicator SET name_zh = '流感' WHERE code = 'flu'"))
    fragments = _english_fragments()
    assert "acknowledged" in fragments and "Sign out" in fragments

    page.goto(f"{base}/login")
    page.click("button[data-locale='zh_CN']")
    page.wait_for_selector("html[lang='zh-CN']")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "not the password")
    page.click("main button[type=submit]")
    page.wait_for_selector("main p.error[role=alert]")
    seen = {"login-refused": _prose(page)}
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.click("button[data-locale='zh_CN']")  # the user's own choice, stored on the user
    page.wait_for_selector("html[lang='zh-CN']")

    alert = world.alerts["9162"]
    page.goto(f"{base}/alerts/{alert}")
    page.fill("textarea[name=comment]", "已电话确认")
    page.click("#acknowledge")
    page.wait_for_selector("#alert-status[data-status='acknowledged']")
    seen["alert"] = _prose(page)
    shot(page, "zh-alert")

    page.goto(f"{base}/ingest")
    upload = tmp_path / "counts.csv"
    upload.write_text(
        "period,jurisdiction,indicator,value\n2008-W11,8111,flu,many\n2008-W99,8111,flu,3\n"
        "2008-W12,nowhere,flu,3\n"
    )
    page.set_input_files("input[name=file]", str(upload))
    page.click("#ingest-form button[type=submit]")
    page.wait_for_selector("#ingest-report")
    seen["ingest-report"] = _prose(page)
    shot(page, "zh-ingest-report")

    for name, path in {
        "situation": "/",
        "district": "/?j=9162",
        "alerts": "/alerts",
        "alerts-acknowledged": "/alerts?status=acknowledged",
        "series": f"/series/{world.series['9162']}",
        "admin": "/admin",
        "user": "/admin/users/officer_9162",
        "policy": "/admin/policies/DE-BY",
        "account": "/account",
        "queue": "/queue",
        "raise": "/alerts/new",
        "not-found": "/alerts/999999",
        "no-jurisdiction": "/?j=XX-NOWHERE",
        "no-incident": "/incidents/999999",
        "no-user": "/admin/users/nobody_at_all",
    }.items():
        page.goto(base + path)
        settled(page)
        seen[name] = _prose(page)
        shot(page, f"zh-{name}")

    page.goto(f"{base}/admin/users/officer_9162")
    page.select_option("#grant-form select[name=role]", "analyst")
    page.fill("#grant-form input[name=jurisdiction]", "9162")
    page.click("#grant-form button[type=submit]")
    page.wait_for_url(re.compile(r".*message=.*"))
    seen["role-granted"] = _prose(page)
    shot(page, "zh-role-granted")

    # Refusals of services on forms (issue 11): shown in Chinese too.
    page.goto(f"{base}/admin")
    contact = "form[action='/admin/contacts']"
    page.fill(f"{contact} input[name=jurisdiction]", "XX-NOWHERE")
    page.fill(f"{contact} input[name=name]", "夜班")
    page.fill(f"{contact} input[name=email]", "night@example.org")
    page.click(f"{contact} button[type=submit]")
    page.wait_for_selector(f"{contact} [data-form-error]")
    seen["contact-refused"] = _prose(page)
    silence = "#silence-form"
    page.fill(f"{silence} input[name=jurisdiction]", "9162")
    page.fill(f"{silence} textarea[name=matchers]", "colour~~red")
    page.click(f"{silence} button[type=submit]")
    page.wait_for_selector(f"{silence} [data-form-error]")
    seen["silence-refused"] = _prose(page)
    shot(page, "zh-silence-refused")

    leaks = {name: _leaks(body, fragments) for name, body in seen.items()}
    leaks = {name: found for name, found in leaks.items() if found}
    assert not leaks, f"English catalog messages on Chinese pages: {leaks}"
    assert "流感" in seen["situation"] and "流感" in seen["alert"]
    for reason in ("不是数字", "2008 年没有 ISO 第 99 周", "不是已知的辖区代码"):
        assert reason in seen["ingest-report"], reason
    assert "tocsin jurisdictions load" not in seen["ingest-report"]
    for name in ("no-jurisdiction", "no-incident", "no-user", "contact-refused"):
        assert "不存在" in seen[name], name
    assert "匹配条件 'colour~~red' 应由标签、运算符和值组成" in seen["silence-refused"]
    page.click("button[data-locale='en']")  # the other tests expect English
    page.wait_for_selector("html[lang='en']")
