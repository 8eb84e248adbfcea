"""What the browser tests share: Playwright for Python driving Debian's Chromium.

A uvicorn server runs the application on a free loopback port over a store built like
the other web tests' (``tests/web/conftest.py``). Screenshots of every page visited are
kept in ``artifacts/browser/`` (or ``$TOCSIN_TEST_ARTIFACTS``) as test artefacts.
The fixtures ``live`` and ``page`` are in ``conftest.py``, ``browser`` (one Chromium per
test process) in ``tests/conftest.py``; a browser test module sets
``pytestmark = requires_chromium``.

Every page a test takes a screenshot of is also checked with axe-core (Deque's
accessibility engine, vendored in ``tests/web/vendor/axe-core``): a serious or critical
violation of WCAG 2.x A/AA or of axe's best practices fails the test.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.web.conftest import PASSWORD, SLOW

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
#: The widths pages are tried at (CSS pixels): a desktop and a phone.
WIDTHS = {"wide": 1280, "phone": 390}
#: The impacts of axe-core that fail a test (the others are reported by axe only).
FAILING_IMPACTS = ("serious", "critical")
ARTIFACTS = (
    Path(os.environ.get("TOCSIN_TEST_ARTIFACTS", Path(__file__).parents[2] / "artifacts"))
    / "browser"
)

#: Mark of every browser test module: ``pytestmark = requires_chromium``.
requires_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
)


def shot(page, name: str, *, accessible: bool = True) -> None:
    """A full-page screenshot ``name``.png, then the axe-core check of the page
    (``accessible=False`` only for pages tocsin does not write, such as Swagger UI, and
    for pages another test checks at the same width and in the same language: say which
    where it is passed)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True, timeout=SLOW * 1000)
    if accessible:
        check_accessibility(page, name)


#: What axe-core found on a page, by the page's signature (:func:`page_signature`):
#: axe's result depends only on the document, the style sheets and the viewport, so a
#: page already checked in this test process is not checked again (the login page, for
#: one, is passed through by every browser test).
_CHECKED: dict[str, list[dict]] = {}

#: The document as axe sees it, without what differs between two servings of the same
#: page: the anti-forgery token of each form and of the page, and the scripts' nonces.
_SIGNATURE_SOURCE = """() => {
  const copy = document.documentElement.cloneNode(true);
  copy.querySelectorAll("input[type=hidden]").forEach((e) => e.removeAttribute("value"));
  copy.querySelectorAll("meta[name=csrf-token]").forEach((e) => e.removeAttribute("content"));
  copy.querySelectorAll("[nonce]").forEach((e) => e.removeAttribute("nonce"));
  return [window.innerWidth, window.innerHeight, copy.outerHTML].join("\\n");
}"""


def page_signature(page) -> str:
    """A digest of the page as axe-core would check it: viewport and document."""
    return hashlib.sha256(page.evaluate(_SIGNATURE_SOURCE).encode()).hexdigest()


def accessibility_violations(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now: each with
    its rule id, help text and the CSS selectors of the offending elements."""
    signature = page_signature(page)
    if signature not in _CHECKED:
        _CHECKED[signature] = _run_axe(page)
    return _CHECKED[signature]


def _run_axe(page) -> list[dict]:
    """axe-core's run over the page (injected once per document)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        # Evaluated over the DevTools protocol: the page's CSP (script-src 'self') does
        # not apply, and the page is left as it was served.
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    found = page.evaluate(
        """async () => {
          // Chromium's own banner announcing the end of XSLT is not the page's.
          const result = await axe.run({exclude: [["xslt-warning-banner"]]}, {
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                            "wcag22aa", "best-practice"]},
            resultTypes: ["violations"],
          });
          return result.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.map((n) => n.target.join(" ")),
          }));
        }"""
    )
    return [v for v in found if v["impact"] in FAILING_IMPACTS]


def check_accessibility(page, name: str) -> None:
    """Fail when axe-core finds a serious or critical violation on the page."""
    violations = accessibility_violations(page)
    assert not violations, f"{name} ({page.url}): accessibility violations: " + "; ".join(
        f"{v['id']} ({v['impact']}: {v['help']}) at {', '.join(v['targets'][:5])}"
        for v in violations
    )


#: A page is settled once it has loaded (``load``: its style sheets, scripts and images)
#: and its widgets have drawn what they fetch after that: the situation map, its risk
#: index layer and the series chart each set ``data-ready`` / ``data-index-ready`` when
#: their data arrived (``src/tocsin/web/static/js/tocsin.js``).
_SETTLED = """() => document.readyState === "complete"
  && [...document.querySelectorAll("#map, #chart")].every((e) => e.dataset.ready === "1")
  && [...document.querySelectorAll("#map[data-index-url]")]
       .every((e) => e.dataset.indexReady === "1")"""


def settled(page) -> None:
    """Wait until the page is settled (:data:`_SETTLED`). Playwright's ``networkidle``
    waited for the same fetches plus half a second of quiet on every page; this waits
    for the page's own signals, however slow the machine (up to ``SLOW`` seconds)."""
    page.wait_for_function(_SETTLED, timeout=SLOW * 1000)


def login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    shot(page, "login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/")


def chart_lines(page) -> dict[str, list[float | None]]:
    """The lines the series chart draws: each legend label with its values."""
    return dict(
        page.evaluate(
            """() => { const u = document.getElementById('chart').uplot;
                       return u.series.map((s, i) => [s.label, u.data[i]]); }"""
        )
    )


@contextlib.contextmanager
def browsing(browser, width: str = "wide", locale: str = "en") -> Iterator[object]:
    """A page in a browser context of its own, ``width`` (:data:`WIDTHS`; a phone's is
    mobile) wide, asking for ``locale``'s language; the block fails on a JavaScript
    error of the page."""
    context = browser.new_context(
        viewport={"width": WIDTHS[width], "height": 860},
        is_mobile=width == "phone",
        locale="zh-CN" if locale == "zh_CN" else "en-US",
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"


def sign_in(page, base: str, username: str, locale: str = "en") -> None:
    """Sign in as ``username`` (who then chooses ``locale``: it is stored on the user,
    so a test that chooses Chinese switches back to English at its end)."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/")
    if locale == "zh_CN":
        page.click("button[data-locale='zh_CN']")
        page.wait_for_selector("html[lang='zh-CN']")


def signed_in_pages(world) -> dict[str, str]:
    """The pages of a signed-in user, by name: their paths in the test world."""
    return {
        "situation": "/",
        "district": "/?j=9162",
        "alerts": "/alerts",
        "alert": f"/alerts/{world.alerts['9162']}",
        "series": f"/series/{world.series['9162']}",
        "ingest": "/ingest",
        "admin": "/admin",
        "policy": "/admin/policies/DE-BY",
        "user": "/admin/users/officer_9162",
        "account": "/account",
    }
