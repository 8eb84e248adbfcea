"""Input shapes of the response domain (Pydantic): bodies and contingency plans as
loaded from files (docs/response.md shows a commented plan).

Durations are written ``30m``, ``2h``, ``1d``, ``1d12h`` (or a whole number of minutes).
Response levels are I (most serious, red) to IV (blue), like alert levels
(:class:`tocsin.alerting.severity.Level`), and written the same ways.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from tocsin.alerting.severity import Level, parse_level
from tocsin.text import TextError, check_text

#: Kinds of event a plan may cover besides an indicator or an indicator domain.
EVENT_KINDS = (
    "natural_disaster",
    "accident",
    "environmental_emergency",
    "public_health_emergency",
    "supply_disruption",
)

CODE = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
#: Longest due offset or report interval: a year.
MAX_MINUTES = 366 * 24 * 60


def parse_minutes(value: Any) -> int:
    """Minutes of a duration: ``90``, ``"90m"``, ``"2h"``, ``"1d12h"``."""
    if isinstance(value, bool):
        raise PydanticCustomError("duration", "expected a duration such as 30m, 2h or 1d")
    if isinstance(value, int):
        minutes = value
    else:
        found = _DURATION.match(str(value).strip().lower().replace(" ", ""))
        if not found or not any(found.groups()):
            raise PydanticCustomError(
                "duration", "expected a duration such as 30m, 2h, 1d or 1d12h"
            )
        days, hours, mins = (int(g or 0) for g in found.groups())
        minutes = (days * 24 + hours) * 60 + mins
    if not 0 <= minutes <= MAX_MINUTES:
        raise PydanticCustomError("duration", "expected a duration from 0 minutes to 366 days")
    return minutes


def format_minutes(minutes: int) -> str:
    """The inverse of :func:`parse_minutes`: ``1d12h``, ``2h``, ``45m``, ``0m``."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    text = (
        (f"{days}d" if days else "") + (f"{hours}h" if hours else "") + (f"{mins}m" if mins else "")
    )
    return text or "0m"


def _level(value: Any) -> int:
    try:
        return int(parse_level(value if isinstance(value, int) else str(value)))
    except ValueError as exc:
        raise PydanticCustomError("level", str(exc)) from None


Minutes = Annotated[int, BeforeValidator(parse_minutes)]
LevelNumber = Annotated[int, BeforeValidator(_level)]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=CODE)]


class _Input(BaseModel):
    """Unknown fields are errors; every text holds only characters XML 1.0 allows."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _xml_text(cls, value: Any, info: Any) -> Any:
        if isinstance(value, str):
            try:
                check_text(value, info.field_name or "value")
            except TextError as exc:
                raise PydanticCustomError("xml_character", exc.reason) from None
        return value


class BodyIn(_Input):
    """A body (department) of a jurisdiction, with the user names of its members."""

    code: Code
    jurisdiction: Code
    name: str = Field(min_length=1, max_length=300)
    name_zh: str = Field(default="", max_length=300)
    members: list[str] = Field(default_factory=list)

    @field_validator("members", mode="before")
    @classmethod
    def _members(cls, value: Any) -> Any:
        """A table cell lists user names separated by ``;`` or spaces."""
        if value is None:
            return []
        if isinstance(value, str):
            return [m for m in re.split(r"[;\s]+", value) if m]
        return value


class Activation(_Input):
    """When a response level applies: an alert of ``alert_level`` or worse for the
    plan's hazard (omitted: declared by hand only), and the criteria officers judge by."""

    alert_level: LevelNumber | None = None
    criteria: str = Field(default="", max_length=4000)
    criteria_zh: str = Field(default="", max_length=4000)


class ChecklistItem(_Input):
    """A task the level's activation creates, due ``due`` after the activation."""

    title: str = Field(min_length=1, max_length=500)
    title_zh: str = Field(default="", max_length=500)
    body: str = Field(default="", max_length=8000)
    body_zh: str = Field(default="", max_length=8000)
    due: Minutes = 0
    #: Code of the body that does it (default: the level's lead body).
    assignee: Code | None = None


class PlanLevel(_Input):
    """What the plan says for one response level."""

    activation: Activation = Field(default_factory=Activation)
    lead_body: Code
    participating_bodies: list[Code] = Field(default_factory=list)
    notify: list[Code] = Field(default_factory=list, description="bodies told at activation")
    report_interval: Minutes = 24 * 60
    tasks: list[ChecklistItem] = Field(default_factory=list)

    @field_validator("report_interval")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise PydanticCustomError("duration", "a report interval must be longer than 0m")
        return value


class Levels(_Input):
    """The four response levels, I the most serious (keys may also be 1-4 or colours)."""

    I: PlanLevel  # noqa: E741 - the level's official name
    II: PlanLevel
    III: PlanLevel
    IV: PlanLevel

    @model_validator(mode="before")
    @classmethod
    def _roman_keys(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out: dict[str, Any] = {}
        for key, level in value.items():
            try:
                out[Level(_level(key)).roman] = level
            except PydanticCustomError:
                out[str(key)] = level  # refused as an unknown level
        return out


class PlanIn(_Input):
    """A contingency plan as written in YAML (docs/response.md)."""

    jurisdiction: Code
    hazard: Code
    title: str = Field(min_length=1, max_length=300)
    title_zh: str = Field(default="", max_length=300)
    version: int | None = Field(default=None, ge=1, le=1_000_000)
    owner_body: Code
    review_date: dt.date
    first_report_after: Minutes = 120
    levels: Levels

    @property
    def by_roman(self) -> dict[str, PlanLevel]:
        return {lvl.roman: getattr(self.levels, lvl.roman) for lvl in Level}

    def level(self, number: int) -> PlanLevel:
        return self.by_roman[Level(number).roman]

    def body_codes(self) -> set[str]:
        """Every body the plan names."""
        codes = {self.owner_body}
        for level in self.by_roman.values():
            codes |= {level.lead_body, *level.participating_bodies, *level.notify}
            codes |= {t.assignee for t in level.tasks if t.assignee}
        return codes


class _Text(_Input):
    """Texts kept as typed (the API's schema says what is accepted, exactly)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class ReviewAction(_Text):
    action: str = Field(min_length=1, max_length=2000)
    owner: str = Field(min_length=1, max_length=300)


class ReviewIn(_Text):
    """The after-action review that closing an incident needs."""

    worked: str = Field(min_length=1, max_length=8000)
    did_not_work: str = Field(min_length=1, max_length=8000)
    actions: list[ReviewAction] = Field(default_factory=list)
