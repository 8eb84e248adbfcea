"""Input and output shapes of the monitoring domain (Pydantic)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from tocsin.errors import UserError
from tocsin.monitoring.due import MAX_DUE_DAYS, due_rule, time_of_day, time_zone
from tocsin.periods import PeriodKind
from tocsin.text import TextError, check_text

Domain = Literal[
    "health",
    "food",
    "energy",
    "water",
    "environment",
    "finance",
    "supply",
    "infrastructure",
    "natural-hazard",
    "production-safety",
]
ValueKind = Literal["count", "rate", "level", "price", "index"]
Frequency = Literal["day", "week", "month", "quarter"]

#: The period labels of each indicator frequency.
PERIOD_KIND: dict[str, PeriodKind] = {
    "day": PeriodKind.DAY,
    "week": PeriodKind.WEEK,
    "month": PeriodKind.MONTH,
    "quarter": PeriodKind.QUARTER,
}

#: How each frequency is said of an indicator ("a weekly indicator").
ADJECTIVES: dict[str, str] = {
    "day": "daily",
    "week": "weekly",
    "month": "monthly",
    "quarter": "quarterly",
}

#: Default names of the levels of the jurisdiction tree, from the root down; a
#: jurisdiction loaded without ``level`` gets the name of its depth.
LEVELS = ("country", "region", "prefecture", "county", "township")

_CODE = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"


def _strip(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            try:
                check_text(value, info.field_name or "value")
            except TextError as exc:
                raise PydanticCustomError("xml_character", exc.reason) from None
        return _strip(value)


class JurisdictionIn(_Input):
    """One jurisdiction as loaded from GeoJSON properties or a CSV row."""

    code: str = Field(max_length=64, pattern=_CODE)
    name: str = Field(max_length=300)
    parent: str | None = Field(default=None, max_length=64)
    level: str | None = Field(default=None, max_length=32)
    name_zh: str | None = Field(default=None, max_length=300)


class IndicatorIn(_Input):
    """One indicator as loaded from YAML or a table."""

    code: str = Field(max_length=64, pattern=_CODE)
    name: str = Field(max_length=300)
    name_zh: str | None = Field(default=None, max_length=300)
    domain: Domain
    unit: str = Field(max_length=64)
    value_kind: ValueKind
    frequency: Frequency
    description: str | None = None
    #: The due rule (:mod:`tocsin.monitoring.due`); no ``due_days``: not tracked.
    due_days: int | None = Field(default=None, ge=0, le=MAX_DUE_DAYS)
    due_time: str | None = Field(default=None, max_length=5)
    due_timezone: str | None = Field(default=None, max_length=64)

    @field_validator("due_time", "due_timezone")
    @classmethod
    def _due_part(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        try:
            if info.field_name == "due_time":
                return f"{time_of_day(value):%H:%M}"
            return time_zone(value)
        except UserError as exc:
            raise PydanticCustomError("due_rule", str(exc)) from None

    @model_validator(mode="after")
    def _due_rule(self) -> IndicatorIn:
        try:
            rule = due_rule(self.due_days, self.due_time, self.due_timezone)
        except UserError as exc:
            raise PydanticCustomError("due_rule", str(exc)) from None
        if rule is not None:  # written out: 00:00 and UTC when not given
            self.due_time, self.due_timezone = f"{rule.time:%H:%M}", rule.timezone
        return self


class LoadSummary(BaseModel):
    """What a load of reference data (jurisdictions, indicators, population) did."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


class IngestSummary(BaseModel):
    """What an ingest did."""

    file: str
    ingest_id: int | None = None
    rows: int = 0
    inserted: int = 0
    revised: int = 0
    unchanged: int = 0
    rejected: int = 0
    series_created: int = 0
    rejects_file: Path | None = None

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.revised)


class DetectorOut(BaseModel):
    """A detection configuration, for listings."""

    id: int
    indicator: str
    series: str | None
    method: str
    parameters: dict[str, Any]
    enabled: bool
    updated_at: dt.datetime


class RunSummary(BaseModel):
    """What a detection run did."""

    run_id: int | None = None
    detectors: int = 0
    series: int = 0
    periods: int = 0
    signals: int = 0
    alarms: int = 0
    skipped: list[str] = Field(default_factory=list)

    @property
    def did_nothing(self) -> bool:
        return self.signals == 0 and self.run_id is None


# -- series keys: how a series is named on the command line and in files


def parse_series_key(key: str) -> tuple[str, str]:
    """``JURISDICTION`` or ``JURISDICTION/STRATUM`` -> (jurisdiction code, stratum)."""
    jurisdiction, _, stratum = key.strip().partition("/")
    if not jurisdiction:
        raise UserError(f"series {key!r}: expected JURISDICTION or JURISDICTION/STRATUM")
    return jurisdiction, stratum.strip()


def series_key(jurisdiction: str, stratum: str) -> str:
    """The inverse of :func:`parse_series_key`."""
    return f"{jurisdiction}/{stratum}" if stratum else jurisdiction


#: The base of models of records loaded from files (other domains' reference data too).
RecordInput = _Input
#: What a code of reference data may look like.
CODE_PATTERN = _CODE
