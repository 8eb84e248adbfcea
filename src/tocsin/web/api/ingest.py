"""JSON API: ingest a file (upload), with the same checks and report as ``tocsin ingest``.

The upload is checked by :func:`tocsin.monitoring.ingest.prepare`; rows for
jurisdictions outside the caller's ``ingest`` scope are reported like any other bad row.
A file with any bad row writes nothing and answers 422 with one entry per problem
(``errors``: location ``FILE:LINE:COLUMN``, column, value, reason), unless
``skip_invalid`` is set, in which case the valid rows are stored and the report lists
the rejected ones.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile

from tocsin.accounts.access import Capability
from tocsin.web.deps import ApiScope
from tocsin.web.shared.ingest import IngestProblemsError as IngestProblemsError
from tocsin.web.shared.ingest import IngestReport, ingest_upload

router = APIRouter(tags=["ingest"])


@router.post(
    "/ingest",
    response_model=IngestReport,
    summary="Upload observations (CSV, JSON lines, Parquet)",
    responses={422: {"description": "bad rows: problem+json with `report`"}},
)
async def upload(
    request: Request,
    scope: ApiScope,
    file: Annotated[UploadFile, File(description="period, jurisdiction, indicator, value")],
    indicator: Annotated[str | None, Form(description="indicator of every row")] = None,
    skip_invalid: Annotated[bool, Form(description="store the valid rows anyway")] = False,
) -> Any:
    from starlette.concurrency import run_in_threadpool

    if not scope.any(Capability.INGEST):
        from tocsin.accounts.access import ForbiddenError

        raise ForbiddenError("ingesting data needs the analyst or administrator role")
    content = await file.read()
    return await run_in_threadpool(
        ingest_upload, request, scope, file.filename or "upload.csv", content,
        indicator=indicator or None, skip_invalid=skip_invalid,
    )  # fmt: skip
