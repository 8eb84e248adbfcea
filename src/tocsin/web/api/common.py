"""What the API routes share: pagination and the scope filter helpers."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from tocsin.errors import NotFoundError
from tocsin.monitoring.models import Jurisdiction

T = TypeVar("T")

MAX_LIMIT = 1000


class PageParams(BaseModel):
    """``limit`` and ``offset`` of a list (RFC-free, but the usual pair)."""

    limit: int = 50
    offset: int = 0


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = 50,
    offset: Annotated[int, Query(ge=0, description="items to skip")] = 0,
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
