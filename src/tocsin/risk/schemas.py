"""Input shapes of the risk domain (Pydantic): risks as loaded from YAML or a table,
contributions and agreements of joint assessments, and composite index models.

In a table, the list fields are written in one cell: ``indicators`` and ``plans`` as
codes separated by ``;``, ``actions`` as ``action | owner | due [| status]`` entries
separated by ``;`` (docs/risk.md).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from tocsin.monitoring.schemas import CODE_PATTERN, RecordInput
from tocsin.risk.composite import DIMENSIONS, Scaling
from tocsin.risk.models import CONFIDENCES, RISK_DOMAINS

RiskDomain = Literal[RISK_DOMAINS]  # type: ignore[valid-type]
Confidence = Literal[CONFIDENCES]  # type: ignore[valid-type]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=CODE_PATTERN)]
Scale = Annotated[int, Field(ge=1, le=5, description="1 (lowest) .. 5 (highest)")]


def _none_is_empty(value: Any) -> Any:
    """An empty text (which the record inputs read as None) stays an empty text."""
    return "" if value is None else value


#: A text that may be left empty.
OptionalText = Annotated[str, BeforeValidator(_none_is_empty)]


def _codes(value: Any) -> Any:
    """``"a; b"`` (a table's cell) as ``["a", "b"]``; lists as they are."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(";") if part.strip()]
    return value


def _actions(value: Any) -> Any:
    """``"action | owner | due [| status]; ..."`` (a table's cell) as mappings."""
    if value is None:
        return []
    if not isinstance(value, str):
        return value
    found = []
    for entry in (e.strip() for e in value.split(";")):
        if not entry:
            continue
        parts = [p.strip() for p in entry.split("|")]
        found.append(dict(zip(("action", "owner", "due", "status"), parts, strict=False)))
    return found


class ActionIn(RecordInput):
    """A mitigation action: what, which body does it, by when, and whether it is done."""

    action: str = Field(min_length=1, max_length=2000)
    owner: Code = Field(description="code of a body of the risk's jurisdiction or above")
    due: dt.date
    status: Literal["open", "done"] = "open"


class RiskFields(RecordInput):
    """Everything of a risk but its code (the body of ``PUT /api/v1/risks/{code}``)."""

    jurisdiction: Code
    domain: RiskDomain
    hazard: Code = Field(description="indicator, indicator domain or kind of event")
    title: str = Field(min_length=1, max_length=300)
    title_zh: OptionalText = Field(default="", max_length=300)
    description: OptionalText = Field(default="", max_length=8000)
    location: OptionalText = Field(
        default="", max_length=300, description="where, for risks abroad"
    )
    owner_body: Code = Field(description="code of a body of the jurisdiction or above")
    likelihood: Scale
    impact: Scale
    review_date: dt.date
    indicators: Annotated[list[Code], BeforeValidator(_codes)] = Field(
        default_factory=list, max_length=100
    )
    plans: Annotated[list[Code], BeforeValidator(_codes)] = Field(
        default_factory=list, max_length=100, description="hazards of plans in force"
    )
    actions: Annotated[list[ActionIn], BeforeValidator(_actions)] = Field(
        default_factory=list, max_length=200
    )

    @model_validator(mode="before")
    @classmethod
    def _empty_cells(cls, data: Any) -> Any:
        """An empty cell of a table is a field left out."""
        if isinstance(data, dict):
            return {
                k: v
                for k, v in data.items()
                if not (v is None or (isinstance(v, float) and math.isnan(v)))
            }
        return data


class RiskIn(RiskFields):
    """One risk as loaded from YAML or a table."""

    code: Code


class ContributionIn(RecordInput):
    """What one body says in a joint assessment."""

    body: Code = Field(description="code of a body of the subject's jurisdiction or above")
    likelihood: Scale
    impact: Scale
    confidence: Confidence
    reasoning: str = Field(min_length=1, max_length=8000)


class AgreementIn(RecordInput):
    """The result the bodies agreed on."""

    likelihood: Scale
    impact: Scale
    confidence: Confidence
    rationale: str = Field(min_length=1, max_length=8000)


class IndexIndicatorIn(RecordInput):
    """One indicator of a composite index and how it is scaled to 0..10
    (:class:`tocsin.risk.composite.Scaling`)."""

    indicator: Code
    min: float = Field(description="the goalpost that scores 0, in the indicator's unit")
    max: float = Field(description="the goalpost that scores 10, in the indicator's unit")
    log: bool = Field(default=False, description="ln(1 + x) before min-max")
    invert: bool = Field(default=False, description="10 - score: more of it, less risk")

    @model_validator(mode="after")
    def _goalposts(self) -> IndexIndicatorIn:
        self.scaling()
        return self

    def scaling(self) -> Scaling:
        if not (math.isfinite(self.min) and math.isfinite(self.max)):
            raise ValueError("min and max must be finite numbers")
        return Scaling(self.min, self.max, log=self.log, invert=self.invert)


Dimension = Annotated[list[IndexIndicatorIn], Field(min_length=1, max_length=100)]


class IndexModelIn(RecordInput):
    """A composite risk index as loaded from YAML: the indicators of each dimension."""

    code: Code
    title: str = Field(min_length=1, max_length=300)
    title_zh: OptionalText = Field(default="", max_length=300)
    hazard_exposure: Dimension
    vulnerability: Dimension
    lack_of_coping_capacity: Dimension

    def dimensions(self) -> dict[str, list[IndexIndicatorIn]]:
        return {name: getattr(self, name) for name in DIMENSIONS}
