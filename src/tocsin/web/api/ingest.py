"""JSON API: ingest a file (upload), with the same checks and report as ``tocsin ingest``.

The upload is checked by :func:`tocsin.monitoring.ingest.prepare`; rows for
jurisdictions outside the caller's ``ingest`` scope are reported like any other bad row.
A file with any bad row writes nothing and answers 422 with one entry per problem
(``errors``: location ``FILE:LINE:COLUMN``, column, value, reason), unless
``skip_invalid`` is set, in which case the valid rows are stored and the report lists
the rejected ones.
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePath
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, File, Form, Request, UploadFile
from pydantic import BaseModel
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, Scope
from tocsin.errors import NotFoundError, UserError
from tocsin.files.tables import TableError, table_format
from tocsin.monitoring import indicators
from tocsin.monitoring import ingest as ingest_service
from tocsin.text import check_text
from tocsin.web.deps import ApiScope, writer

router = APIRouter(tags=["ingest"])


class RowProblem(BaseModel):
    location: str
    column: str
    value: str | None
    reason: str


class IngestReport(BaseModel):
    """The outcome of an upload: the summary, and the problems of rejected rows."""

    file: str
    stored: bool
    rows: int
    inserted: int = 0
    revised: int = 0
    unchanged: int = 0
    rejected: int = 0
    series_created: int = 0
    problems: list[RowProblem] = []
    problems_total: int = 0
    #: What is wrong with the file as a whole (a missing column, an unknown format),
    #: when nothing row by row is: the same message as the CLI's.
    message: str | None = None
    missing_columns: list[str] = []
    #: The indicator given for every row when no indicator has that code, and the codes
    #: of the stored indicators.
    unknown_indicator: str | None = None
    known_indicators: list[str] = []
    #: After storing: how many series of the caller's area wait for detection (the
    #: worker's next run takes them up).
    pending: int | None = None


class IngestProblemsError(UserError):
    """The upload has bad rows and nothing was stored (HTTP 422 with the report)."""

    def __init__(self, report: IngestReport, message: str | None = None) -> None:
        super().__init__(
            message
            or f"{report.file}: {report.problems_total} problems in the data; nothing was stored"
        )
        self.report = report


def _problems(error: TableError, folder: str) -> list[RowProblem]:
    """The problems of ``error``, located in the uploaded file's name (not the temp path)."""
    return [
        RowProblem(
            location=p.location.replace(folder.rstrip("/") + "/", ""),
            column=p.column,
            value=p.value,
            reason=p.reason,
        )
        for p in error.problems
    ]


def _exclude_outside(prepared: ingest_service.PreparedIngest, allowed: frozenset[int]) -> None:
    """Turn the valid rows of jurisdictions outside ``allowed`` into findings."""
    jurisdiction = prepared.series_keys["j"].to_numpy()[prepared.series_code]
    outside = ~np.isin(jurisdiction, np.fromiter(allowed, dtype=np.int64))
    if not outside.any():
        return
    prepared.findings.append(
        ingest_service.Finding(
            rows=prepared.rows[outside],
            column="jurisdiction",
            reason="is outside the jurisdictions you may ingest data for",
        )
    )
    keep = ~outside
    used = np.unique(prepared.series_code[keep])
    prepared.series_keys = prepared.series_keys.iloc[used].reset_index(drop=True)
    prepared.series_code = np.searchsorted(used, prepared.series_code[keep])
    prepared.period = prepared.period[keep]
    prepared.value = prepared.value[keep]
    prepared.rows = prepared.rows[keep]


def upload_name(file_name: str | None) -> str:
    """The base name of an uploaded file, checked: its text (:mod:`tocsin.text`) and that it
    names a file (not ``..``), whose extension says the format."""
    name = PurePath((file_name or "upload.csv").replace("\\", "/")).name
    check_text(name, "file")
    if name in ("", ".", ".."):
        raise TableError(
            f"file name {file_name!r} names no file; expected a name ending in "
            ".csv, .csv.gz, .jsonl, .jsonl.gz or .parquet"
        )
    table_format(name)  # the format error before anything is written
    return name


def ingest_upload(
    request: Request,
    scope: Scope,
    file_name: str,
    content: bytes,
    *,
    indicator: str | None = None,
    skip_invalid: bool = False,
) -> IngestReport:
    """Check and store an uploaded file as the caller; see the module docstring."""
    name = upload_name(file_name)
    allowed = scope.ids(Capability.INGEST)
    with tempfile.TemporaryDirectory(prefix="tocsin-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        session: Session = request.app.state.sessions()
        try:
            prepared = ingest_service.prepare(session, path, indicator=indicator)
        except NotFoundError as exc:
            # The only unknown name prepare raises for: the indicator given for every row.
            report = IngestReport(file=name, stored=False, rows=0, message=str(exc))
            report.unknown_indicator = indicator
            report.known_indicators = [i.code for i in indicators.get_all(session)]
            raise IngestProblemsError(report, report.message) from exc
        except TableError as exc:
            report = IngestReport(file=name, stored=False, rows=0)
            report.problems, report.problems_total = _problems(exc, folder), exc.total
            if not exc.problems:
                report.message = str(exc).replace(folder.rstrip("/") + "/", "")
                report.missing_columns = exc.missing_columns
            raise IngestProblemsError(report, report.message) from exc
        finally:
            session.close()
        _exclude_outside(prepared, allowed)
        report = IngestReport(file=name, stored=False, rows=len(prepared.table))
        if prepared.findings:
            error = prepared.error()
            report.problems, report.problems_total = _problems(error, folder), error.total
            report.rejected = int(prepared.rejected_rows.size)
            if not skip_invalid:
                raise IngestProblemsError(report)
        if prepared.value.size == 0:
            return report
        with writer(request) as db:
            summary = ingest_service.write(db, prepared, source=name, actor=scope.principal.actor)
        report.stored = True
        for key in ("inserted", "revised", "unchanged", "series_created"):
            setattr(report, key, getattr(summary, key))
        return report


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
