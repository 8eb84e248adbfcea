"""Severity, urgency, certainty and category of an alert (OASIS CAP 1.2, section 3.2.2).

**Level.** A detector's alarm says that an observation is unusual; how unusual is its
*tail probability*: the probability of a value at least as extreme under the detector's
own in-control model (:mod:`tocsin.detect.tails`; the p-value of the observation), a
quantity with the same meaning for every method, unlike scores and bounds (EARS C3's
statistic is infinite off a constant baseline). The level is the most serious one whose
cut-off the tail probability passes *and* whose minimum count the observation reaches
(for indicators that are counts):

=======  ==========  ========  =======================  ============
level    colour      CAP       tail probability below   at least
=======  ==========  ========  =======================  ============
IV       blue        Minor     (the detector's alarm)   1 case
III      yellow      Moderate  0.001                    5 cases
II       orange      Severe    0.0001                   10 cases
I        red         Extreme   0.00001                  20 cases
=======  ==========  ========  =======================  ============

The cut-offs and minimum counts are a :class:`SeverityRule` per alert rule (the table
shows the defaults). A count below the minimum of level IV -- a zero count always --
raises no alert at all. Why these defaults (docs/alerting.md, *Severity*):

- grading by the p-value of the observation is what CDC's ESSENCE does (its detectors
  report p-values, Burkom 2003, Johns Hopkins APL Technical Digest 24(4):335-342; CDC's
  Rnssp ``alert_ewma`` and ``alert_regression`` colour them red below 0.01, yellow
  below 0.05). tocsin's levels start
  where the detector alarms and each level is ten times less likely by chance: in a
  territory of 140 districts watched weekly (7,300 tests a year), a calibrated model
  passes 0.0001 by chance less than once a year and 0.00001 about once in 14 years;
- statistical surprise is not size: a handful of cases where none are expected is very
  improbable, yet no reason for the highest level. Farrington et al. (1996, JRSS A
  159:547-563) raise no alarm with fewer than 5 cases in 4 weeks; China's
  National Emergency Plan for Public Health Emergencies (2006) and the ECDC's rapid
  risk assessment methodology (2019) grade events by size and impact as well as by
  likelihood. The minimum counts say which size each level needs, per indicator.

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
class SeverityRule:
    """Tail-probability cut-offs of levels III, II, I (decreasing) and minimum counts of
    levels IV, III, II, I (increasing, at least 1): see the module docstring."""

    cutoffs: tuple[float, float, float] = (1e-3, 1e-4, 1e-5)
    min_counts: tuple[int, int, int, int] = (1, 5, 10, 20)

    def __post_init__(self) -> None:
        tails = tuple(self.cutoffs)
        counts = tuple(self.min_counts)
        if len(tails) != 3 or not all(isinstance(t, int | float) for t in tails):
            raise ValueError(
                "tail-probability cut-offs: expected three numbers, for levels III, II and "
                f"I; got {self.cutoffs!r}"
            )
        if not 1 > tails[0] >= tails[1] >= tails[2] > 0:
            raise ValueError(
                "tail-probability cut-offs must lie between 0 and 1 and decrease from level "
                f"III to level I (e.g. 0.001, 0.0001, 0.00001); got {', '.join(map(str, tails))}"
            )
        if len(counts) != 4 or not all(
            isinstance(c, int) and not isinstance(c, bool) for c in counts
        ):
            raise ValueError(
                "minimum counts: expected four whole numbers, for levels IV, III, II and I; "
                f"got {self.min_counts!r}"
            )
        if not 1 <= counts[0] <= counts[1] <= counts[2] <= counts[3]:
            raise ValueError(
                "minimum counts must be at least 1 at level IV (a zero count never raises "
                "an alert) and grow from level IV to level I (e.g. 1, 5, 10, 20); got "
                f"{', '.join(map(str, counts))}"
            )
        object.__setattr__(self, "cutoffs", tuple(float(t) for t in tails))
        object.__setattr__(self, "min_counts", counts)

    def cutoff(self, level: Level) -> float | None:
        """The tail probability a signal must be below for ``level`` (None at IV: the
        detector's alarm is the cut-off)."""
        return None if level is Level.IV else self.cutoffs[3 - int(level)]

    def min_count(self, level: Level) -> int:
        """The smallest count ``level`` accepts."""
        return self.min_counts[4 - int(level)]


DEFAULT_RULE = SeverityRule()


@dataclass(frozen=True)
class Grade:
    """The level a rule gives a signal, and why.

    ``level`` is None when the signal raises no alert (a count below the minimum of
    level IV); ``by_probability`` is the level of the tail probability alone;
    ``cutoff`` and ``min_count`` are those of ``level`` (``min_count`` None when the
    values are not counts); ``capped`` says that the count held the level below
    ``by_probability``.
    """

    level: Level | None
    by_probability: Level
    cutoff: float | None
    min_count: int | None
    capped: bool


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def level_of_tail(tail_probability: float | None, rule: SeverityRule = DEFAULT_RULE) -> Level:
    """The level a tail probability alone gives (IV when it is unknown)."""
    tail = _finite(tail_probability)
    if tail is None:
        return Level.IV
    for level in (Level.I, Level.II, Level.III):
        if tail < rule.cutoff(level):
            return level
    return Level.IV


def grade(
    observed: float | None,
    tail_probability: float | None,
    rule: SeverityRule = DEFAULT_RULE,
    *,
    counts: bool = True,
) -> Grade:
    """The level of a detector's alarm on ``observed`` (see the module docstring);
    ``counts`` False for indicators that are not counts (no minimum counts)."""
    by_probability = level_of_tail(tail_probability, rule)
    if not counts:
        return Grade(by_probability, by_probability, rule.cutoff(by_probability), None, False)
    count = _finite(observed)
    if count is None or count < rule.min_count(Level.IV):
        return Grade(None, by_probability, None, rule.min_count(Level.IV), False)
    level = by_probability
    while level is not Level.IV and count < rule.min_count(level):
        level = Level(int(level) + 1)
    return Grade(
        level,
        by_probability,
        rule.cutoff(level),
        rule.min_count(level),
        level is not by_probability,
    )


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
