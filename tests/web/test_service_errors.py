"""Refusals of services in the reader's language (issue 11): the English messages the
services raise, as raised, come out in Chinese on Chinese pages; a message no pattern
knows comes out as written; nothing the services write makes the translation fail."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.alerting import silences
from tocsin.errors import UserError
from tocsin.web import i18n
from tocsin.web.i18n.service_errors import MESSAGES, service_message

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@pytest.fixture
def chinese():
    token = i18n.set_locale("zh_CN")
    yield
    i18n._current.reset(token)


def _refusal(call) -> str:
    with pytest.raises(UserError) as caught:
        call()
    return str(caught.value)


def test_the_catalogs_keep_every_placeholder() -> None:
    for _, message in MESSAGES:
        for locale in ("en", "zh_CN"):
            translated = i18n.translations(locale).ugettext(message)
            assert set(PLACEHOLDER.findall(translated)) == set(PLACEHOLDER.findall(message)), (
                locale,
                message,
            )


def test_refusals_as_services_raise_them(chinese) -> None:
    from tocsin.web.api.common import jurisdiction_by_code

    class Nothing:
        def scalar(self, _query):
            return None

    missing = _refusal(lambda: jurisdiction_by_code(Nothing(), "XX-NOWHERE", frozenset()))
    assert service_message(missing) == "辖区 'XX-NOWHERE' 不存在"
    now = dt.datetime.now(dt.UTC)
    for text, expected in (
        ('colour="red"', "未知标签 'colour'"),
        ("level~~III", "应由标签、运算符和值组成"),
        ('level=~"(I"', "不是有效的正则表达式"),
    ):
        refusal = _refusal(
            lambda t=text: silences.add_silence(
                None, starts_at=now, ends_at=now + dt.timedelta(hours=1), by="t", matchers=[t]
            )
        )
        assert expected in service_message(refusal), refusal
    assert service_message("nothing a pattern knows") == "nothing a pattern knows"


@given(st.text(max_size=200))
def test_any_text_translates_without_failing(text: str) -> None:
    token = i18n.set_locale("zh_CN")
    try:
        assert isinstance(service_message(text), str)
        name = f"'{text}'"
        assert service_message(f"jurisdiction {name} does not exist").endswith(" 不存在")
    finally:
        i18n._current.reset(token)


def test_the_records_refusals_read_in_chinese(chinese) -> None:
    """The audit log, the notifications and the detection runs refuse in the reader's
    language (they answered English on Chinese pages)."""
    from tocsin.web.api import records

    class Nobody:
        def ids(self, _capability):
            return frozenset()

    for call, expected in (
        (lambda: records.administered(Nobody()), "通知记录仅向管理员开放"),
        (lambda: records.require_configurer(Nobody()), "检测运行记录仅向分析员和管理员开放"),
    ):
        assert service_message(_refusal(call)) == expected
    assert (
        service_message("the audit log is open to administrators of the whole territory")
        == "审计日志仅向全辖区的管理员开放"
    )


def test_a_refused_dispatch_in_chinese_keeps_its_figures(chinese) -> None:
    text = (
        "cannot dispatch 150 t of rice from depot R-9162: only 120 t available "
        "(lot A: 120 t, expires 2029-01-01); nothing was moved"
    )
    assert service_message(text) == (
        "无法从仓库 R-9162 调出 150 t rice：仅有 120 t 可用 (lot A: 120 t, expires 2029-01-01)；"
        "未做任何调动"
    )
