"""Ingest an uploaded file as the caller, with the same checks, rule and report as
``tocsin ingest``: the JSON API's ``POST /api/v1/ingest`` and the ingest page.

The upload is checked by :func:`tocsin.monitoring.ingest.prepare` with the caller's
``ingest`` scope (rows of other jurisdictions are reported like any other bad row) and
stored or refused by :func:`tocsin.monitoring.ingest.accept` (all or nothing, unless
``skip_invalid``), the functions the command line uses.
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePath

from fastapi import Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, Scope
from tocsin.errors import NotFoundError, UserError
from tocsin.files.tables import TableError, table_format
from tocsin.monitoring import indicators
from tocsin.monitoring import ingest as ingest_service
from tocsin.text import check_text
from tocsin.web.deps import writer


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


def row_problems(error: TableError, folder: str) -> list[RowProblem]:
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


def _reject(
    report: IngestReport, prepared: ingest_service.PreparedIngest, error: TableError, folder: str
) -> None:
    """Put the problems of the rejected rows into ``report``."""
    report.problems, report.problems_total = row_problems(error, folder), error.total
    report.rejected = int(prepared.rejected_rows.size)


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
            prepared = ingest_service.prepare(
                session, path, indicator=indicator, allowed_jurisdictions=allowed
            )
        except NotFoundError as exc:
            # The only unknown name prepare raises for: the indicator given for every row.
            report = IngestReport(file=name, stored=False, rows=0, message=str(exc))
            report.unknown_indicator = indicator
            report.known_indicators = [i.code for i in indicators.get_all(session)]
            raise IngestProblemsError(report, report.message) from exc
        except TableError as exc:
            report = IngestReport(file=name, stored=False, rows=0)
            report.problems, report.problems_total = row_problems(exc, folder), exc.total
            if not exc.problems:
                report.message = str(exc).replace(folder.rstrip("/") + "/", "")
                report.missing_columns = exc.missing_columns
            raise IngestProblemsError(report, report.message) from exc
        finally:
            session.close()
        report = IngestReport(file=name, stored=False, rows=len(prepared.table))
        try:
            rejected = ingest_service.accept(prepared, skip_invalid=skip_invalid)
        except TableError as error:
            _reject(report, prepared, error, folder)
            raise IngestProblemsError(report) from None
        if rejected is not None:
            _reject(report, prepared, rejected, folder)
        if prepared.value.size == 0:
            return report
        with writer(request) as db:
            summary = ingest_service.write(db, prepared, source=name, actor=scope.principal.actor)
        report.stored = True
        for key in ("inserted", "revised", "unchanged", "series_created"):
            setattr(report, key, getattr(summary, key))
        return report
