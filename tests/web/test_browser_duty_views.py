"""Views a duty room expects (issue 11), in Chromium, English and Chinese, 1280 and
390 px wide: the series chart's quick windows, rate per 100,000, related jurisdictions
on one chart, the table of its numbers, its CSV and PNG downloads; the alert list's CSV
download; the records pages (detection runs, notifications, audit log with its check).
"""

from __future__ import annotations

import csv
import io
import struct

import pytest
from sqlalchemy import text
from tests.web.browsing import ARTIFACTS, chart_lines, login, requires_chromium, shot

pytestmark = requires_chromium

PHONE = 390
#: Population of the two Bavarian districts in 2008 (the fixture's weeks are 2008's).
PEOPLE = {"9162": 1_500_000, "9184": 350_000}


def _population(world) -> None:
    with world.engine.begin() as conn:
        for code, people in PEOPLE.items():
            conn.execute(
                text(
                    "INSERT INTO jurisdiction_population (jurisdiction_id, year, population) "
                    "VALUES (:j, 2008, :p) ON CONFLICT DO NOTHING"
                ),
                {"j": world.jurisdictions[code], "p": people},
            )
        conn.execute(
            text("UPDATE jurisdiction SET name_zh = :n WHERE code = '9162'"), {"n": "慕尼黑市"}
        )


def _records(world) -> None:
    """A detection run with a failure and two notifications, once, for the pages."""
    from tests.web.test_records_pages import _notifications, _run

    with world.engine.connect() as conn:
        if conn.execute(text("SELECT count(*) FROM notification")).scalar():
            return
    _notifications(world)
    _run(world, ["flu glm_nb (configuration 2): the population of 9162 is missing"])


def _language(page, locale: str) -> None:
    """Switch the signed-in user's language (kept with the user, for later tests too)."""
    page.click(f"button[data-locale='{locale}']")
    page.wait_for_selector(f"html[lang='{'zh-CN' if locale == 'zh_CN' else 'en'}']")


def _read(download) -> bytes:
    with open(download.path(), "rb") as f:
        return f.read()


def _fits(page, name: str) -> None:
    shot(page, name)
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]
    assert width <= viewport, f"{name}: {width} px wide on a {viewport} px screen"


def test_presets_choose_the_window(page, live) -> None:
    base, world = live
    login(page, base, "admin")
    page.goto(f"{base}/series/{world.series['9162']}")
    page.wait_for_selector("#chart[data-ready='1']")
    presets = page.locator("nav.presets a.preset")
    assert presets.all_inner_texts() == [
        "Last 8 weeks",
        "Last 26 weeks",
        "Last 52 weeks",
        "This season",
        "All",
    ]
    presets.first.click()
    page.wait_for_selector("#chart[data-ready='1']")
    assert page.input_value("input[name=from]") == "2008-W03"
    assert page.input_value("input[name=to]") == "2008-W10"
    assert page.get_attribute("nav.presets a.preset >> nth=0", "aria-current") == "true"
    labels = page.evaluate("() => document.getElementById('chart').uplot.data[0].length")
    assert labels == 8
    shot(page, "series-last-8-weeks")
    # The season began in week 40 of 2007: before the fixture's first week, so all ten.
    page.click("text=This season")
    page.wait_for_selector("#chart[data-ready='1']")
    assert page.input_value("input[name=from]") == "2007-W40"
    assert page.evaluate("() => document.getElementById('chart').uplot.data[0].length") == 10


def _chart(page, live, user: str, query: str = "") -> tuple[str, object]:
    """The chart of 9162 (with the districts' population) as ``user``, drawn."""
    base, world = live
    _population(world)
    login(page, base, user)
    page.goto(f"{base}/series/{world.series['9162']}{query}")
    page.wait_for_selector("#chart[data-ready='1']")
    return base, world


def test_rate_view_related_jurisdictions_and_table(page, live) -> None:
    _base, world = _chart(page, live, "by_admin")
    # The neighbour 9184 is offered (the states have no series of their own).
    page.click("details.compare summary")  # closed until something is compared
    page.check(f"input[name=with][value='{world.series['9184']}']")
    page.check("input[name=view][value=rate]")
    page.click("form.window button[type=submit]")
    page.wait_for_selector("#chart[data-ready='1'][data-view='rate']")
    lines = chart_lines(page)
    own, other = "Per 100,000 · 慕尼黑市", "Per 100,000 · District 9184"
    own = own if own in lines else "Per 100,000 · District 9162"
    assert own in lines and other in lines, list(lines)
    assert lines[own][9] == pytest.approx(9 / PEOPLE["9162"] * 100_000)
    assert lines[other][9] == pytest.approx(9 / PEOPLE["9184"] * 100_000)
    # The detector's bound is drawn as a rate too (5 cases per 1.5 million people).
    bound = next(v for k, v in lines.items() if k.startswith("Upper bound · "))
    assert bound == [pytest.approx(5 / PEOPLE["9162"] * 100_000)] * 10
    page.click("#chart-table summary")
    table = page.locator("#chart-table table")
    headers = table.locator("thead th").all_inner_texts()
    assert headers[0] == "Period" and other in headers
    last = table.locator("tbody tr").nth(9)
    assert last.locator("th").inner_text() == "2008-W10"
    cells = last.locator("td").all_inner_texts()
    assert f"{9 / PEOPLE['9184'] * 100_000:.2f}" in cells
    assert "Alarm" in cells  # the alarm of the last week, said in words
    assert table.locator("caption").inner_text() == "The numbers of the chart"
    shot(page, "series-rate-compared-table")
    # A jurisdiction outside the user's subtree is never offered.
    offered = page.locator("input[name=with]").evaluate_all("els => els.map(e => e.value)")
    assert str(world.series["8111"]) not in offered


def test_csv_and_png_downloads_of_the_chart(page, live) -> None:
    _base, world = live
    _chart(page, live, "admin", f"?with={world.series['9184']}&view=rate")
    with page.expect_download() as info:
        page.click("#chart-csv")
    download = info.value
    assert download.suggested_filename == "tocsin-flu-9162-all.csv"
    raw = _read(download)
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert {r["jurisdiction"] for r in rows} == {"9162", "9184"}
    last = next(r for r in rows if r["period"] == "2008-W10" and r["jurisdiction"] == "9162")
    assert last["jurisdiction_name_zh"] == "慕尼黑市"
    assert float(last["rate_per_100000"]) == pytest.approx(9 / PEOPLE["9162"] * 100_000)

    assert page.is_visible("#chart-png")
    with page.expect_download() as info:
        page.click("#chart-png")
    png = info.value
    assert png.suggested_filename == "tocsin-flu-9162.png"
    data = _read(png)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "series-chart-download.png").write_bytes(data)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    chart = page.evaluate("() => document.getElementById('chart').uplot.ctx.canvas.height")
    assert width >= 600 and height > chart  # the chart, its title and its legend
    # Not blank: the picture holds the lines' colours, read back by the browser itself.
    inked = page.evaluate(
        """async (bytes) => {
            const blob = new Blob([new Uint8Array(bytes)], {type: 'image/png'});
            const img = await createImageBitmap(blob);
            const c = new OffscreenCanvas(img.width, img.height), ctx = c.getContext('2d');
            ctx.drawImage(img, 0, 0);
            const d = ctx.getImageData(0, 0, img.width, img.height).data;
            let coloured = 0;
            for (let i = 0; i < d.length; i += 4) {
              if (Math.max(d[i], d[i+1], d[i+2]) - Math.min(d[i], d[i+1], d[i+2]) > 60) coloured++;
            }
            return coloured;
        }""",
        list(data),
    )
    assert inked > 500


def test_alert_list_csv_keeps_the_filters(page, live) -> None:
    base, _world = live
    login(page, base, "by_coordinator")
    page.goto(f"{base}/alerts?level=2&j=9184")
    with page.expect_download() as info:
        page.click("#alerts-csv")
    download = info.value
    assert download.suggested_filename.startswith("tocsin-alerts-active-II-9184-")
    rows = list(csv.DictReader(io.StringIO(_read(download).decode("utf-8-sig"))))
    assert [r["jurisdiction"] for r in rows] == ["9184"]
    shot(page, "alerts-with-csv")


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
@pytest.mark.parametrize("width", [1280, PHONE])
def test_views_in_both_languages_and_widths(browser, live, locale, width) -> None:
    base, world = live
    _population(world)
    _records(world)
    context = browser.new_context(viewport={"width": width, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, base, "admin")
    _language(page, locale)
    tag = f"{locale}-{width}"
    page.goto(f"{base}/series/{world.series['9162']}?with={world.series['9184']}&view=rate")
    page.wait_for_selector("#chart[data-ready='1']")
    page.click("#chart-table summary")
    _fits(page, f"series-rate-{tag}")
    if locale == "zh_CN":
        assert "近8周" in page.inner_text("nav.presets")
        assert page.locator("#chart-table caption").inner_text() == "图表数据"
    for path, name, marker in (
        ("/runs", "runs", "h1"),
        ("/notifications", "notifications", "h1"),
        ("/audit?check=1", "audit", "#chain-result"),
    ):
        page.goto(base + path)
        page.wait_for_selector(marker)
        _fits(page, f"{name}-{tag}")
        if name == "runs":
            assert "the population of 9162 is missing" in page.inner_text("tr.run-row.failed")
        if name == "notifications":
            failed = page.inner_text("tr.status-failed")
            assert ("发送失败" if locale == "zh_CN" else "failed") in failed
            assert "SMTP 550" in failed
    result = page.inner_text("#chain-result")
    assert ("审计日志完好" if locale == "zh_CN" else "The audit log is intact.") in result
    context.close()
    assert not errors, errors
