"""What the API routes share: the base of request bodies, identifiers and pagination
with their ranges, and the scope filter helpers."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path, Query
from pydantic import BaseModel, BeforeValidator, Strict, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, Scope
from tocsin.errors import NotFoundError
from tocsin.monitoring.models import Jurisdiction
from tocsin.text import TextError, check_text

T = TypeVar("T")

MAX_LIMIT = 1000
#: Largest identifier (and offset) the stores hold: PostgreSQL ``integer`` (2**31 - 1).
#: Larger numbers answer 422 instead of overflowing the database driver.
MAX_ID = 2**31 - 1

#: A numeric identifier in a path (``/alerts/{alert_id}``).
ItemId = Annotated[int, Path(ge=1, le=MAX_ID, description="numeric identifier")]


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
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = session.execute(query.limit(params.limit).offset(params.offset)).all()
    return rows, total


def jurisdiction_by_code(session: Session, code: str, readable: frozenset[int]) -> Jurisdiction:
    """The jurisdiction ``code`` if the caller may read it, else :class:`NotFoundError`."""
    jurisdiction = session.scalar(select(Jurisdiction).where(Jurisdiction.code == code))
    if jurisdiction is None or jurisdiction.id not in readable:
        raise NotFoundError(f"jurisdiction {code!r} does not exist")
    return jurisdiction


def readable_subtree(session: Session, scope: Scope, jurisdiction: str | None) -> frozenset[int]:
    """The jurisdictions a list shows: those the caller reads, within the subtree of
    ``jurisdiction`` when one is given (404 when the caller cannot read it)."""
    ids = scope.ids(Capability.READ)
    if jurisdiction:
        ids = frozenset(
            scope.tree.subtree(jurisdiction_by_code(session, jurisdiction, ids).id) & ids
        )
    return ids


def in_scope(
    session: Session, scope: Scope, model: Any, object_id: int, capability: Capability, what: str
) -> Any:
    """The object ``object_id`` of ``model`` (anything with a ``jurisdiction_id``) if the
    caller holds ``capability`` on its jurisdiction: 404 outside the read scope (its
    existence is not revealed), 403 when readable but not allowed."""
    found = session.get(model, object_id)
    if found is None or found.jurisdiction_id is None:
        raise NotFoundError(f"{what} does not exist")
    scope.require(capability, found.jurisdiction_id, what)
    return found
