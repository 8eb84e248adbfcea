"""What the API routes share: the base of request bodies and pagination with its ranges;
identifiers and the scope helpers pages share too are in :mod:`tocsin.web.shared.common`
(imported here for the routes)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, BeforeValidator, Strict, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import Select
from sqlalchemy.orm import Session

from tocsin.store.sql import count_rows, page_rows
from tocsin.text import TextError, check_text
from tocsin.web.shared.common import MAX_ID as MAX_ID
from tocsin.web.shared.common import ItemId as ItemId
from tocsin.web.shared.common import in_scope as in_scope
from tocsin.web.shared.common import jurisdiction_by_code as jurisdiction_by_code
from tocsin.web.shared.common import readable_subtree as readable_subtree

T = TypeVar("T")

MAX_LIMIT = 1000


def _check_strings(value: Any, field: str) -> None:
    if isinstance(value, str):
        check_text(value, field)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, field)
            _check_strings(item, f"{field}.{key}")
    elif isinstance(value, list | tuple):
        for item in value:
            _check_strings(item, field)


def _text_only(value: Any) -> Any:
    if not isinstance(value, str | dt.datetime):
        raise PydanticCustomError("datetime_type", "expected an RFC 3339 date-time string")
    return value


#: A moment in a request body: an RFC 3339 string, as the OpenAPI document says (not
#: also a number of seconds, as pydantic would otherwise accept).
Moment = Annotated[dt.datetime, Strict(False), BeforeValidator(_text_only)]


class ApiInput(BaseModel):
    """Base of every request body: each text, also in lists and mappings, holds only
    characters XML 1.0 allows (:mod:`tocsin.text`); a violation answers 422 naming the
    field."""

    @field_validator("*", mode="after")
    @classmethod
    def _xml_characters(cls, value: Any, info: Any) -> Any:
        try:
            _check_strings(value, info.field_name)
        except TextError as exc:
            raise PydanticCustomError("xml_character", exc.reason) from None
        return value


class PageParams(BaseModel):
    """``limit`` and ``offset`` of a list (RFC-free, but the usual pair)."""

    limit: int = 50
    offset: int = 0


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID, description="items to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


class Page(BaseModel, Generic[T]):
    """One page of a list: the items, the total count and where the page starts."""

    items: list[T]
    total: int
    limit: int
    offset: int


def paginate(session: Session, query: Select[Any], params: PageParams) -> tuple[list[Any], int]:
    """The rows of ``query`` on the page ``params`` and the total number of rows."""
    rows = page_rows(session, query, limit=params.limit, offset=params.offset)
    return rows, count_rows(session, query)
