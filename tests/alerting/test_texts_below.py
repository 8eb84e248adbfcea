"""An alert of a value below what was expected (a fall in supply, a level under its
floor) says so, in both languages, and names its bound a lower bound (issue 16)."""

from __future__ import annotations

import math

from tocsin.alerting.directory import IndicatorInfo, Place
from tocsin.alerting.notify.texts import descriptions, headlines, is_below

GAS = IndicatorInfo(
    1, "gas_consumption", "Gas consumption", "燃气消费量", "energy", "million therms",
    "quarter", "level",
)  # fmt: skip
PRICE = IndicatorInfo(2, "petrol_price", "Petrol price", "汽油价格", "energy", "index", "month",
                      "price")  # fmt: skip
GB = Place(3, "GB", "United Kingdom", "英国", None)


def test_below_is_read_from_the_expected_value_or_else_the_bound() -> None:
    assert is_below(196.9, 230.0, 209.8)  # seasonal_z watching a fall
    assert not is_below(0.109, 0.088, 0.094)  # ifpa: a price above
    assert is_below(12.0, None, 20.0)  # threshold below a level: no expected value
    assert is_below(12.0, math.nan, 20.0)
    assert not is_below(None, 5.0, 6.0) and not is_below(3.0, None, None)


def test_headlines_and_descriptions_of_a_fall() -> None:
    en, zh = headlines(3, GAS, GB, below=True)
    assert en == "Level III (yellow): Gas consumption below the expected level in United Kingdom"
    assert zh == "III级（黄色）：英国燃气消费量低于预期水平"
    en, zh = headlines(3, GAS, GB)
    assert "above the expected level" in en and "超出预期水平" in zh
    values = {
        "source": "detection",
        "observed": 196.9,
        "expected": 230.0,
        "upperbound": 209.756,
        "last_alarm_period": 7885,
        "tail_probability": 5.9e-14,
    }
    en, zh = descriptions(values, GAS)
    assert en == (
        "Observed 196.90 million therms in 1971-Q2; expected 230, lower bound 209.76 "
        "(tail probability 5.9e-14)."
    )
    assert "下限 209.76" in zh and "1971-Q2" in zh


def test_a_price_index_keeps_three_significant_digits() -> None:
    values = {
        "source": "detection",
        "observed": 0.108743,
        "expected": 0.08814,
        "upperbound": 0.0937,
        "last_alarm_period": 23753,
        "tail_probability": 0.0002,
    }
    en, _ = descriptions(values, PRICE)
    assert en == (
        "Observed 0.109 index in 1979-06; expected 0.0881, upper bound 0.0937 "
        "(tail probability 0.0002)."
    )
