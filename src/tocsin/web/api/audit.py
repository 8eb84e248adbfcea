"""JSON API: the audit log and its hash chain.

The log spans every jurisdiction, so only administrators of a top-level jurisdiction
(one without a parent) may read it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from tocsin.audit import verify
from tocsin.audit.queries import entries_query
from tocsin.web.api.common import Page, PageParams, page_params, paginate
from tocsin.web.deps import ApiScope, Db
from tocsin.web.shared.records import require_auditor

router = APIRouter(tags=["audit"])


class AuditOut(BaseModel):
    id: int
    at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    before: Any
    after: Any


class ChainOut(BaseModel):
    intact: bool
    checked: int
    problems: list[str]


@router.get("/audit", response_model=Page[AuditOut], summary="The audit log, newest first")
def list_audit(
    scope: ApiScope,
    db: Db,
    params: Annotated[PageParams, Depends(page_params)],
    object_type: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
) -> Page[AuditOut]:
    require_auditor(scope, db)
    query = entries_query(object_type=object_type, object_id=object_id, actor=actor)
    rows, total = paginate(db, query, params)
    return Page(
        items=[AuditOut.model_validate(r[0], from_attributes=True) for r in rows],
        total=total,
        **params.model_dump(),
    )


@router.get("/audit/verify", response_model=ChainOut, summary="Check the audit log's hash chain")
def verify_chain(scope: ApiScope, db: Db) -> ChainOut:
    require_auditor(scope, db)
    report = verify(db)
    return ChainOut(intact=report.intact, checked=report.checked, problems=report.problems)
