"""Input and output shapes of the reserves domain (Pydantic)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from tocsin.monitoring.schemas import CODE_PATTERN, RecordInput
from tocsin.reserves.models import CATEGORIES

#: The categories of items (:data:`tocsin.reserves.models.CATEGORIES`).
Category = Literal[CATEGORIES]  # type: ignore[valid-type]


class ItemIn(RecordInput):
    """One item of the catalogue as loaded from YAML or a table."""

    code: str = Field(max_length=64, pattern=CODE_PATTERN)
    name: str = Field(max_length=300)
    name_zh: str | None = Field(default=None, max_length=300)
    category: Category
    unit: str = Field(max_length=32)
    shelf_life_days: int | None = Field(default=None, gt=0)


class DepotIn(RecordInput):
    """One depot as loaded from YAML or a table."""

    code: str = Field(max_length=64, pattern=CODE_PATTERN)
    name: str = Field(max_length=300)
    name_zh: str | None = Field(default=None, max_length=300)
    jurisdiction: str = Field(max_length=64)
    location: str | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    owner_body: str | None = Field(default=None, max_length=300)


class LotBalance(BaseModel):
    """A lot and what it holds now."""

    lot: str
    depot: str
    item: str
    quantity: float
    received_on: dt.date
    expires_on: dt.date | None


class Taken(BaseModel):
    """How much of which lot one outflow (dispatch, transfer, write-off) took."""

    lot: str
    quantity: float
    expires_on: dt.date | None


class OutflowResult(BaseModel):
    """What a dispatch, transfer, rotation or write-off did."""

    operation: str
    kind: str
    depot: str
    item: str
    quantity: float
    taken: list[Taken]
    remaining: float


class StockLine(BaseModel):
    """Stock of one item in one depot."""

    depot: str
    jurisdiction: str
    item: str
    unit: str
    quantity: float
    lots: int
    next_expiry: dt.date | None
