"""Every text of an alert that people read: headlines, descriptions, notification
subjects, bodies and webhook payloads, in English and Chinese.

CAP messages (:mod:`tocsin.alerting.cap.render`), e-mails and webhooks take their words
from here, so an alert says the same thing everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from tocsin.alerting import severity
from tocsin.alerting.directory import IndicatorInfo, Place
from tocsin.alerting.settings import AlertingSettings
from tocsin.periods import PeriodKind, format_periods


def period_label(indicator: IndicatorInfo | None, ordinal: int | None) -> str:
    if ordinal is None:
        return ""
    try:
        kind = PeriodKind(indicator.frequency) if indicator else PeriodKind.INDEX
    except ValueError:
        kind = PeriodKind.INDEX
    return format_periods(kind, [ordinal])[0]


def headlines(level: int, indicator: IndicatorInfo | None, place: Place | None) -> tuple[str, str]:
    """Headlines in English and Chinese of a detection alert."""
    lv = severity.Level(level)
    what = indicator.name if indicator else "Hazard"
    what_zh = indicator.name_zh if indicator else "风险"
    where = place.name if place else "unknown area"
    where_zh = place.name_zh if place else "未知地区"
    return (
        f"{severity.LEVEL_NAMES['en-US'][lv]}: {what} above the expected level in {where}",
        f"{severity.LEVEL_NAMES['zh-CN'][lv]}：{where_zh}{what_zh}超出预期水平",
    )


def _number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.6g}" if float(value).is_integer() else f"{value:.2f}"


def probability(value: float | None) -> str:
    """A tail probability in two significant digits (``0.00012``, ``3.4e-09``)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.2g}"


def descriptions(values: Mapping[str, Any], indicator: IndicatorInfo | None) -> tuple[str, str]:
    """What was observed, in English and Chinese; an alert without a finite upper bound
    says "no bound" (never ``-inf``)."""
    if values.get("source") != "detection":
        text = values.get("description") or ""
        return text, text
    period = period_label(indicator, values.get("last_alarm_period"))
    unit = f" {indicator.unit}" if indicator and indicator.unit else ""
    observed, expected = (_number(values.get(k)) for k in ("observed", "expected"))
    bound = values.get("upperbound")
    finite = bound is not None and math.isfinite(bound)
    upper_en = f"upper bound {_number(bound)}" if finite else "no bound"
    upper_zh = f"上限 {_number(bound)}" if finite else "无上限"
    tail = probability(values.get("tail_probability"))
    return (
        f"Observed {observed}{unit} in {period}; expected {expected}, {upper_en} "
        f"(tail probability {tail}).",
        f"{period}观测值 {observed}{unit}，期望值 {expected}，{upper_zh}（尾部概率 {tail}）。",
    )


REASON_TEXT = {
    "opened": ("New alert", "新预警"),
    "escalated": ("Escalated: still not acknowledged", "升级：仍未确认"),
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
    step: int | None = None,
) -> tuple[str, str, dict[str, Any]]:
    """Subject, plain-text body and webhook payload of a notification."""
    roman, colour, cap_severity = _level_fields(values["level"])
    reason_en, reason_zh = REASON_TEXT[reason]
    alert_url = settings.alert_url(alert_id)
    cap_url = settings.cap_url(cap_identifier)
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
    }
    return subject, body, payload
