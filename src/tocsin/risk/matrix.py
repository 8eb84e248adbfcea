"""The risk matrix: likelihood 1-5 and impact 1-5 give one of four levels of risk.

The scales and the matrix are those of the World Health Organization's *Rapid Risk
Assessment of Acute Public Health Events* (WHO/HSE/GAR/ARO/2012.1, Geneva 2012, section
"Risk characterization", the risk matrix): likelihood from *very unlikely* to *almost
certain*, consequences from *minimal* to *severe*, and the levels *low*, *moderate*,
*high* and *very high*, each with the response the manual expects (docs/risk.md).
This module is the only place that writes the matrix down.
"""

from __future__ import annotations

from typing import Final

#: Likelihood 1..5, as the WHO manual names it.
LIKELIHOOD: Final = ("very unlikely", "unlikely", "likely", "highly likely", "almost certain")
#: Impact (consequences) 1..5, as the WHO manual names it.
IMPACT: Final = ("minimal", "minor", "moderate", "major", "severe")
#: The levels, from the least to the most serious.
LEVELS: Final = ("low", "moderate", "high", "very_high")

_L, _M, _H, _V = LEVELS
#: ``_MATRIX[likelihood - 1][impact - 1]``: the level of each cell.
_MATRIX: Final = (
    (_L, _L, _L, _M, _H),  # very unlikely
    (_L, _L, _M, _H, _H),  # unlikely
    (_L, _M, _M, _H, _V),  # likely
    (_L, _M, _H, _V, _V),  # highly likely
    (_M, _H, _H, _V, _V),  # almost certain
)
#: What each level asks for (WHO 2012, the levels of risk and the actions they need).
ACTIONS: Final = {
    "low": "managed by standard response protocols, routine control programmes and regulation",
    "moderate": "roles and responsibilities for the response specified; specific monitoring "
    "or control measures",
    "high": "senior management attention; command and control structures may be needed; "
    "additional control measures",
    "very_high": "immediate response, also out of working hours; immediate senior "
    "management attention; control measures with serious consequences highly likely",
}
SCALE: Final = range(1, 6)


def level(likelihood: int, impact: int) -> str:
    """The level of risk of a likelihood and an impact, each 1..5."""
    if likelihood not in SCALE or impact not in SCALE:
        raise ValueError(f"likelihood and impact are 1 to 5; got {likelihood} and {impact}")
    return _MATRIX[likelihood - 1][impact - 1]


def cells(level_name: str) -> list[tuple[int, int]]:
    """The (likelihood, impact) cells of one level."""
    if level_name not in LEVELS:
        raise ValueError(f"levels are {', '.join(LEVELS)}; got {level_name!r}")
    return [(lk, im) for lk in SCALE for im in SCALE if _MATRIX[lk - 1][im - 1] == level_name]


def rank(level_name: str) -> int:
    """0 (low) .. 3 (very high), to sort by seriousness."""
    return LEVELS.index(level_name)
