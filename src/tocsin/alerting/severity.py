"""Severity, urgency, certainty and category of an alert (OASIS CAP 1.2, section 3.2.2).

A detector's signal carries the observed count, the expected count, the upper bound of
the detection interval and, for some methods, a score. tocsin measures how far the
observation lies beyond the bound as an *exceedance ratio*::

    exceedance = max(score, observed / upper_bound)

(either term is skipped when it is unknown; a score is read on the same scale, 1 at the
threshold, as R ``surveillance`` reports for its methods). The ratio maps to one of
four levels, shown both as a CAP ``severity`` and as the colour scale that Chinese
emergency plans use (level IV blue is the lowest, level I red the highest):

=============  =======  ==========  ==========
exceedance     level    colour      CAP
=============  =======  ==========  ==========
< 1.5          IV       blue        Minor
1.5 .. < 2     III      yellow      Moderate
2 .. < 3       II       orange      Severe
>= 3           I        red         Extreme
=============  =======  ==========  ==========

The cut-offs are a :class:`SeverityThresholds` per alert rule.

Urgency (CAP ``urgency``): an alarm describes a period already observed, so the hazard is
present: ``Immediate`` at levels I and II, ``Expected`` at levels III and IV; ``Past``
once the alert is resolved or cancelled.

Certainty (CAP ``certainty``): a statistical alarm is evidence, not confirmation:
``Likely`` (probability above 50 %) at levels I and II, ``Possible`` below; an alert
raised by hand by a person is ``Observed``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum, StrEnum


class Level(IntEnum):
    """Warning level; a lower number is more serious (I red ... IV blue)."""

    I = 1  # noqa: E741 - the level's official name
    II = 2
    III = 3
    IV = 4

    @property
    def roman(self) -> str:
        return self.name

    @property
    def colour(self) -> Colour:
        return _COLOUR[self]

    @property
    def cap_severity(self) -> CapSeverity:
        return _CAP_SEVERITY[self]


class Colour(StrEnum):
    BLUE = "blue"
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"


class CapSeverity(StrEnum):
    """CAP 1.2 ``severity`` values (``Unknown`` is never produced by tocsin)."""

    MINOR = "Minor"
    MODERATE = "Moderate"
    SEVERE = "Severe"
    EXTREME = "Extreme"


class CapUrgency(StrEnum):
    IMMEDIATE = "Immediate"
    EXPECTED = "Expected"
    FUTURE = "Future"
    PAST = "Past"
    UNKNOWN = "Unknown"


class CapCertainty(StrEnum):
    OBSERVED = "Observed"
    LIKELY = "Likely"
    POSSIBLE = "Possible"
    UNLIKELY = "Unlikely"
    UNKNOWN = "Unknown"


_COLOUR = {
    Level.IV: Colour.BLUE,
    Level.III: Colour.YELLOW,
    Level.II: Colour.ORANGE,
    Level.I: Colour.RED,
}
_CAP_SEVERITY = {
    Level.IV: CapSeverity.MINOR,
    Level.III: CapSeverity.MODERATE,
    Level.II: CapSeverity.SEVERE,
    Level.I: CapSeverity.EXTREME,
}
_LEVEL_OF_SEVERITY = {v: k for k, v in _CAP_SEVERITY.items()}
_LEVEL_OF_COLOUR = {v: k for k, v in _COLOUR.items()}

#: Names a person reads, in English and Chinese (used in CAP ``info`` and messages).
LEVEL_NAMES: dict[str, dict[Level, str]] = {
    "en-US": {
        Level.IV: "Level IV (blue)",
        Level.III: "Level III (yellow)",
        Level.II: "Level II (orange)",
        Level.I: "Level I (red)",
    },
    "zh-CN": {
        Level.IV: "IV级（蓝色）",
        Level.III: "III级（黄色）",
        Level.II: "II级（橙色）",
        Level.I: "I级（红色）",
    },
}


def parse_level(value: str | int | Level) -> Level:
    """A level from its roman numeral, number, colour or CAP severity (any case)."""
    if isinstance(value, Level):
        return value
    if isinstance(value, int):
        return Level(value)
    text = value.strip()
    for lookup in (
        lambda t: Level[t.upper()],
        lambda t: Level(int(t)),
        lambda t: _LEVEL_OF_COLOUR[Colour(t.lower())],
        lambda t: _LEVEL_OF_SEVERITY[CapSeverity(t.capitalize())],
    ):
        try:
            return lookup(text)
        except (KeyError, ValueError):
            continue
    raise ValueError(
        f"unknown severity {value!r}; expected I-IV, 1-4, blue/yellow/orange/red "
        "or Minor/Moderate/Severe/Extreme"
    )


@dataclass(frozen=True)
class SeverityThresholds:
    """Exceedance ratios at which levels III, II and I begin (increasing)."""

    level_iii: float = 1.5
    level_ii: float = 2.0
    level_i: float = 3.0

    def __post_init__(self) -> None:
        if not 0 < self.level_iii <= self.level_ii <= self.level_i:
            raise ValueError(
                "severity thresholds must be positive and increasing "
                f"(level III <= II <= I); got {self.level_iii}, {self.level_ii}, {self.level_i}"
            )


DEFAULT_THRESHOLDS = SeverityThresholds()


def exceedance(
    observed: float | None, upper_bound: float | None, score: float | None = None
) -> float:
    """How far beyond the threshold a signal lies (1 at the threshold); NaN if unknown."""
    candidates: list[float] = []
    if score is not None and math.isfinite(score):
        candidates.append(float(score))
    if (
        observed is not None
        and upper_bound is not None
        and math.isfinite(observed)
        and math.isfinite(upper_bound)
        and upper_bound > 0
    ):
        candidates.append(float(observed) / float(upper_bound))
    return max(candidates) if candidates else math.nan


def level_for(ratio: float, thresholds: SeverityThresholds = DEFAULT_THRESHOLDS) -> Level:
    """The level of an exceedance ratio; an unknown ratio (NaN) is the lowest level."""
    if math.isnan(ratio):
        return Level.IV
    if ratio >= thresholds.level_i:
        return Level.I
    if ratio >= thresholds.level_ii:
        return Level.II
    if ratio >= thresholds.level_iii:
        return Level.III
    return Level.IV


def urgency_for(level: Level, *, active: bool = True) -> CapUrgency:
    """CAP urgency: Immediate at levels I-II, Expected at III-IV, Past once over."""
    if not active:
        return CapUrgency.PAST
    return CapUrgency.IMMEDIATE if level <= Level.II else CapUrgency.EXPECTED


def certainty_for(level: Level, *, manual: bool = False) -> CapCertainty:
    """CAP certainty: Observed when a person raised it; Likely at I-II; else Possible."""
    if manual:
        return CapCertainty.OBSERVED
    return CapCertainty.LIKELY if level <= Level.II else CapCertainty.POSSIBLE


#: CAP 1.2 ``category`` by indicator domain. Hydrological hazards (floods, reservoir and
#: river levels) are ``Met`` in CAP ("Meteorological (inc. flood)"); CAP has no category
#: for food supply or finance, so those are ``Other``.
CATEGORY_BY_DOMAIN: dict[str, str] = {
    "health": "Health",
    "public-health": "Health",
    "food": "Other",
    "supply": "Other",
    "food-supply": "Other",
    "environment": "Env",
    "air": "Env",
    "air-quality": "Env",
    "water-quality": "Env",
    "water": "Met",
    "hydrology": "Met",
    "flood": "Met",
    "weather": "Met",
    "meteorology": "Met",
    "natural-hazard": "Geo",
    "geology": "Geo",
    "earthquake": "Geo",
    "finance": "Other",
    "energy": "Infra",
    "infrastructure": "Infra",
    "production-safety": "Safety",
    "safety": "Safety",
    "transport": "Transport",
    "fire": "Fire",
}

CAP_CATEGORIES = frozenset(
    {
        "Geo",
        "Met",
        "Safety",
        "Security",
        "Rescue",
        "Fire",
        "Health",
        "Env",
        "Transport",
        "Infra",
        "CBRNE",
        "Other",
    }
)


def category_for(domain: str | None) -> str:
    """CAP category of an indicator domain (case and ``_``/space insensitive); else Other."""
    if not domain:
        return "Other"
    key = domain.strip().lower().replace("_", "-").replace(" ", "-")
    if key in CATEGORY_BY_DOMAIN:
        return CATEGORY_BY_DOMAIN[key]
    for cap in CAP_CATEGORIES:  # a domain already named after a CAP category
        if cap.lower() == key:
            return cap
    return "Other"
