"""The composite risk index of INFORM, computed from indicator values (pure).

INFORM (Index for Risk Management) is the European Commission Joint Research Centre's
open composite indicator of the risk of humanitarian crises and disasters: T. De Groeve,
K. Poljanšek, L. Vernaccini, *Index for Risk Management - INFORM: Concept and
Methodology, Version 2014*, EUR 26528 EN, Publications Office of the European Union,
2014; and the INFORM Risk methodology pages,
https://drmkc.jrc.ec.europa.eu/inform-index/INFORM-Risk/Methodology. It has three
dimensions -- hazard & exposure, vulnerability, lack of coping capacity -- and writes

    Risk = (Hazard & Exposure)^(1/3) x Vulnerability^(1/3) x (Lack of Coping Capacity)^(1/3),

the geometric mean of the three dimensions, each on a scale of 0 (best) to 10 (worst).
Each indicator is brought onto that scale by min-max normalisation between fixed
goalposts, after a logarithm for skewed indicators (absolute numbers of people
exposed), and inverted (10 - score) when more of it means less risk (hospital beds,
physicians); inside a dimension the scores are averaged arithmetically, with the
indicators that have a value (docs/risk.md). The full INFORM model has categories and
components between the indicators and the dimensions; a tocsin model maps indicators
straight to the dimensions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: The dimensions, in INFORM's order.
DIMENSIONS = ("hazard_exposure", "vulnerability", "lack_of_coping_capacity")
TOP = 10.0


@dataclass(frozen=True)
class Scaling:
    """How one indicator becomes a score of 0..10: goalposts in the indicator's own
    unit, a logarithm first or not, inverted or not."""

    minimum: float
    maximum: float
    log: bool = False
    invert: bool = False

    def __post_init__(self) -> None:
        if not self.maximum > self.minimum:
            raise ValueError(f"max ({self.maximum}) must be above min ({self.minimum})")
        if self.log and self.minimum < 0:
            raise ValueError("a logarithmic indicator needs min >= 0 (ln(1 + x) is used)")

    def _f(self, x: float) -> float:
        return math.log1p(x) if self.log else x

    def score(self, value: float) -> float:
        """``value`` on the 0..10 scale; values beyond the goalposts count as the goalpost."""
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value}")
        clipped = min(max(value, self.minimum), self.maximum)
        low, high = self._f(self.minimum), self._f(self.maximum)
        # Rounding may put the goalpost itself a hair beyond the scale: keep 0..10.
        scaled = min(max(TOP * (self._f(clipped) - low) / (high - low), 0.0), TOP)
        return TOP - scaled if self.invert else scaled


def dimension(scores: Sequence[float]) -> float | None:
    """The arithmetic mean of the scores that exist (None: no score at all)."""
    return sum(scores) / len(scores) if scores else None


def risk(dimensions: Mapping[str, float | None]) -> float | None:
    """The geometric mean of the three dimensions (None if one of them is missing)."""
    values = [dimensions.get(name) for name in DIMENSIONS]
    if any(v is None for v in values):
        return None
    product = math.prod(v for v in values if v is not None)
    return product ** (1 / len(DIMENSIONS))
