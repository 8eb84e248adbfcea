"""Every text of an alert that people read: headlines, descriptions, notification
subjects, bodies and webhook payloads, in English and Chinese.

CAP messages (:mod:`tocsin.alerting.cap.render`), e-mails and webhooks take their words
from here, so an alert says the same thing everywhere.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np

from tocsin.alerting import severity
from tocsin.alerting.directory import IndicatorInfo, Place
from tocsin.alerting.settings import AlertingSettings
from tocsin.catalogs import gettext_in
from tocsin.periods import PeriodKind, format_periods, period_dates


def period_label(indicator: IndicatorInfo | None, ordinal: int | None) -> str:
    if ordinal is None:
        return ""
    return _period_label(indicator.frequency if indicator else "", int(ordinal))


@lru_cache(maxsize=65536)
def _period_label(frequency: str, ordinal: int) -> str:
    """The label of a period (asked for every alert of a batch, mostly the same few)."""
    try:
        kind = PeriodKind(frequency) if frequency else PeriodKind.INDEX
    except ValueError:
        kind = PeriodKind.INDEX
    return format_periods(kind, [ordinal])[0]


@lru_cache(maxsize=256)
def _text(locale: str, message: str) -> str:
    """``message`` from the catalog of ``locale`` (asked for every alert of a batch)."""
    return gettext_in(locale, message)


def is_below(observed: float | None, expected: float | None, bound: float | None) -> bool:
    """Whether an alarm is for a value *below* what was expected (a detector watching a
    fall, such as ``seasonal_z`` with ``direction=down`` or ``threshold`` below a
    level): the observation under the expected value, or under the bound when the
    method has no expected value."""
    if observed is None or not math.isfinite(observed):
        return False
    for reference in (expected, bound):
        if reference is not None and math.isfinite(reference):
            return observed < reference
    return False


def headlines(
    level: int,
    indicator: IndicatorInfo | None,
    place: Place | None,
    stratum: str | None = None,
    *,
    below: bool = False,
) -> tuple[str, str]:
    """Headlines in English and Chinese of a detection alert; the stratum of its series
    (e.g. an age group, as the data name it) follows the indicator (``below``: of a value
    under the expected level, :func:`is_below`)."""
    lv = severity.Level(level)
    what = indicator.name if indicator else "Hazard"
    what_zh = indicator.name_zh if indicator else "风险"
    if stratum:
        what, what_zh = f"{what} ({stratum})", f"{what_zh}（{stratum}）"
    where = place.name if place else "unknown area"
    where_zh = place.name_zh if place else "未知地区"
    side, side_zh = ("below", "低于") if below else ("above", "超出")
    return (
        f"{severity.LEVEL_NAMES['en-US'][lv]}: {what} {side} the expected level in {where}",
        f"{severity.LEVEL_NAMES['zh-CN'][lv]}：{where_zh}{what_zh}{side_zh}预期水平",
    )


def _number(value: float | None, locale: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        _ = functools.partial(_text, locale)
        return _("n/a")
    if float(value).is_integer():
        return f"{value:.6g}"
    # two decimals; three significant digits below 1 (a price index of 0.109, a rate)
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3g}"


def small_count(
    observed: float | None, indicator: IndicatorInfo | None, small_count_max: int
) -> bool:
    """Whether a public output must not show ``observed``: a count from 1 to
    ``small_count_max`` (public-health practice suppresses small cells in releases)."""
    if observed is None or not math.isfinite(observed) or small_count_max < 1:
        return False
    if indicator is not None and indicator.value_kind != "count":
        return False
    return 1 <= observed <= small_count_max


def probability(value: float | None) -> str:
    """A tail probability in two significant digits (``0.00012``, ``3.4e-09``)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.2g}"


def _description(
    locale: str, values: Mapping[str, Any], indicator: IndicatorInfo | None, hide_below: int
) -> str:
    _ = functools.partial(_text, locale)
    bound = values.get("upperbound")
    fields = {
        "period": period_label(indicator, values.get("last_alarm_period")),
        "unit": f" {indicator.unit}" if indicator and indicator.unit else "",
        "expected": _number(values.get("expected"), locale),
        "bound": (
            (
                _("lower bound %(value)s")
                if is_below(values.get("observed"), values.get("expected"), bound)
                else _("upper bound %(value)s")
            )
            % {"value": _number(bound, locale)}
            if bound is not None and math.isfinite(bound)
            else _("no bound")
        ),
    }
    if hide_below:
        fields["observed"] = _("fewer than %(limit)s") % {"limit": hide_below}
        # Without the tail probability, which with the expected value gives the count back.
        return (
            _("Observed %(observed)s%(unit)s in %(period)s; expected %(expected)s, %(bound)s.")
            % fields
        )
    fields["observed"] = _number(values.get("observed"), locale)
    fields["tail"] = probability(values.get("tail_probability"))
    return (
        _(
            "Observed %(observed)s%(unit)s in %(period)s; expected %(expected)s, %(bound)s "
            "(tail probability %(tail)s)."
        )
        % fields
    )


def descriptions(
    values: Mapping[str, Any],
    indicator: IndicatorInfo | None,
    *,
    public: bool = False,
    small_count_max: int = 0,
) -> tuple[str, str]:
    """What was observed, in English and Chinese (from the catalogs); an alert without a
    finite upper bound says "no bound" (never ``-inf``). In a ``public`` output a count
    from 1 to ``small_count_max`` reads "fewer than N+1" (issue 10)."""
    if values.get("source") != "detection":
        text = values.get("description") or ""
        return text, text
    hide = public and small_count(values.get("observed"), indicator, small_count_max)
    hide_below = small_count_max + 1 if hide else 0
    return (
        _description("en", values, indicator, hide_below),
        _description("zh_CN", values, indicator, hide_below),
    )


def period_start(indicator: IndicatorInfo | None, ordinal: int | None) -> dt.datetime | None:
    """The first moment (UTC) of a period of the indicator, None for integer indices."""
    if ordinal is None or indicator is None:
        return None
    return _period_start(indicator.frequency, int(ordinal))


@lru_cache(maxsize=65536)
def _period_start(frequency: str, ordinal: int) -> dt.datetime | None:
    try:
        kind = PeriodKind(frequency)
    except ValueError:
        return None
    dates = period_dates(kind, np.asarray([ordinal]))
    if dates is None:
        return None
    day = dates[0].astype(dt.date)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


REASON_TEXT = {
    "opened": ("New alert", "新预警"),
    "escalated": ("Escalated: still not acknowledged", "升级：仍未确认"),
    "reopened": (
        "Re-opened: acknowledged, but neither resolved nor updated in time",
        "重新开启：已确认，但未在时限内解除或更新",
    ),
    "updated": ("Alert raised to a higher level", "预警级别提高"),
    "resolved": ("Resolved", "已解除"),
    "cancelled": ("Cancelled (raised in error)", "已撤销（误报）"),
}


@lru_cache(maxsize=8)
def _level_fields(level: int) -> tuple[str, str, str]:
    """Roman numeral, colour and CAP severity of a level (asked for every notification)."""
    lv = severity.Level(level)
    return lv.roman, lv.colour.value, lv.cap_severity.value


def content(
    *,
    alert_id: int,
    values: Mapping[str, Any],
    reason: str,
    indicator: IndicatorInfo | None,
    place: Place | None,
    cap_identifier: str,
    settings: AlertingSettings,
    cap_sender: str | None = None,
    step: int | None = None,
) -> tuple[str, str, dict[str, Any]]:
    """Subject, plain-text body and webhook payload of a notification."""
    roman, colour, cap_severity = _level_fields(values["level"])
    reason_en, reason_zh = REASON_TEXT[reason]
    alert_url = settings.alert_url(alert_id)
    cap_sender = cap_sender or settings.cap_sender
    cap_url = settings.cap_url(cap_sender, cap_identifier)
    headline = values.get("headline") or f"Alert {alert_id}"
    headline_zh = values.get("headline_zh") or headline
    subject = f"[tocsin] {reason_en}: {headline}"
    body = (
        f"{reason_en}\n{headline}\n\n{reason_zh}\n{headline_zh}\n\n"
        f"Alert / 预警: {alert_url}\nCAP 1.2: {cap_url}\n"
    )
    payload = {
        "alert_id": alert_id,
        "reason": reason,
        "status": values.get("status"),
        "level": roman,
        "colour": colour,
        "severity": cap_severity,
        "indicator": indicator.code if indicator else None,
        "jurisdiction": place.code if place else None,
        "headline": headline,
        "headline_zh": headline_zh,
        "escalation_step": step,
        "alert_url": alert_url,
        "cap_url": cap_url,
        "cap_identifier": cap_identifier,
        "cap_sender": cap_sender,
    }
    return subject, body, payload
