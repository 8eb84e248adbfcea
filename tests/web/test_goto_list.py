"""The "Go to" list of the reserves and risks pages: short lists are links in a line, a
long one (a state's districts) is closed so that the page's content comes first."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from tocsin.web import i18n
from tocsin.web.templating import templates


def _render(count: int, locale: str = "en") -> str:
    i18n.set_locale(locale)
    places = [
        SimpleNamespace(code=f"{i:04d}", name=f"District {i}", name_zh=f"区{i}")
        for i in range(count)
    ]
    template = templates.env.get_template("_goto.html")
    return template.render(places=places, goto_path="/reserves", locale=locale)


def test_a_short_list_is_a_line_of_links() -> None:
    html = _render(3)
    assert "<details" not in html
    assert html.count('href="/reserves?j=') == 3 and "Go to:" in html


@pytest.mark.parametrize("locale, name", [("en", "District 95"), ("zh_CN", "区95")])
def test_a_long_list_is_closed_and_says_how_many(locale: str, name: str) -> None:
    html = _render(96, locale)
    assert re.search(r"<details class=\"goto\"><summary>[^<]+ \(96\)</summary>", html)
    assert " open" not in html and name in html
    i18n.set_locale("en")


def test_no_places_no_list() -> None:
    assert _render(0).strip() == ""
