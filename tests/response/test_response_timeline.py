"""The timeline's messages (issue 14): every one in both catalogs, rendered with its
parameters in the reader's language, and entries without a known message shown as
they were stored."""

from __future__ import annotations

import re

from tocsin.catalogs import gettext_in
from tocsin.response import timeline


def test_every_timeline_message_is_translated_with_the_same_parameters() -> None:
    for key, message in timeline.MESSAGES.items():
        chinese = gettext_in("zh_CN", message)
        words = re.sub(r"%\(\w+\)s|[\s→]", "", message)
        assert chinese != message or not words, f"{key}: no Chinese in the catalog"
        names = set(re.findall(r"%\((\w+)\)s", message))
        assert set(re.findall(r"%\((\w+)\)s", chinese)) == names, key


def test_parameters_render_in_the_readers_language() -> None:
    said = timeline.said(
        "level.lowered",
        from_level="II",
        to_level="III",
        reason=timeline.said("reason.incident_closed"),
    )
    assert timeline.english(said) == "Response level lowered from II to III: incident closed"
    stored = said.stored()
    assert (
        timeline.render("level.lowered", stored, "zh_CN") == "响应级别由II级降至III级：事件已关闭"
    )
    place = {"hazard": "flu", "place": "Munich", "place_zh": "慕尼黑"}
    shown = timeline.render("plan.none", place, "zh_CN", hazard=lambda c: "流感")
    assert shown == "慕尼黑及其上级均无适用的流感预案"
    statuses = {"from_status": "reported", "to_status": "response_active"}
    assert timeline.render("status.changed", statuses, "zh_CN") == "已报告 → 响应中"
    listed = {"contacts": ["desk A", "desk B"], "bodies": ["health"], "unreachable": []}
    assert timeline.render("notified.all", listed, "zh_CN") == "已通知desk A、desk B（health）"


def test_an_unknown_message_or_none_shows_the_stored_text() -> None:
    assert timeline.shown_text(None, None, "level raised", "zh_CN") == "level raised"
    assert timeline.shown_text("gone.message", {}, "as stored", "zh_CN") == "as stored"
    # Parameters that do not fit the message (a damaged row) fall back too.
    assert timeline.shown_text("level.declared", {}, "as stored", "zh_CN") == "as stored"
