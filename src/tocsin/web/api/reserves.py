"""JSON API: reserves under ``/api/v1/reserves`` -- items, depots, stock, lots, receipts,
dispatches, transfers, write-offs, stock counts, minimums and coverage.

Roles on subtrees as everywhere (:mod:`tocsin.accounts.access`): reading needs ``read``
on the depot's (or the subtree's) jurisdiction; moving stock (receive, dispatch,
transfer, write off) needs ``respond`` there -- on both depots for a transfer; a stock
count needs ``ingest`` on every depot it counts; a minimum needs ``configure``. Items
and depots are reference data loaded with ``tocsin reserves items|depots load``.
A dispatch beyond the stock answers 409 with what is available (``available``,
``lots``) and moves nothing.

Supply requests of incidents (``/reserves/requests``): ``respond`` on the incident's
jurisdiction requests, cancels and receives; ``respond`` on the depot's jurisdiction
approves, refuses and dispatches (:mod:`tocsin.web.shared.reserves`).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Path, Query, Request, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, ForbiddenError, Scope
from tocsin.errors import UserError
from tocsin.files.tables import TableError
from tocsin.reserves import catalogue, counts, depots, dispatch, ledger, minimums
from tocsin.reserves.models import CATEGORIES, Depot
from tocsin.reserves.schemas import LotBalance, OutflowResult, StockLine
from tocsin.web.api.common import MAX_ID, ApiInput, jurisdiction_by_code
from tocsin.web.deps import ApiScope, Db, writer
from tocsin.web.problems import problem
from tocsin.web.shared.ingest import RowProblem, row_problems, upload_name
from tocsin.web.shared.reserves import (
    RequestOut,
    create_request,
    depot_requests,
    incident_requests,
    request_in_scope,
    request_out,
    take_step,
)

router = APIRouter(prefix="/reserves", tags=["reserves"])

Quantity = Annotated[float, Field(gt=0, lt=1e15, description="in the item's unit")]
Code = Annotated[str, Field(min_length=1, max_length=64)]


class ItemOut(BaseModel):
    code: str
    name: str
    name_zh: str | None
    category: str = Field(description=" | ".join(CATEGORIES))
    unit: str
    shelf_life_days: int | None


class DepotOut(BaseModel):
    code: str
    name: str
    name_zh: str | None
    jurisdiction: str
    location: str
    latitude: float | None
    longitude: float | None
    owner_body: str | None = Field(description="free text until bodies exist (docs/reserves.md)")


class ReceiptIn(ApiInput):
    item: Code
    quantity: Quantity
    expires_on: dt.date | None = Field(default=None, description="default: received + shelf life")
    received_on: dt.date | None = Field(default=None, description="default: today")
    lot: str | None = Field(default=None, max_length=64)
    reference: str = Field(default="", max_length=300)
    comment: str = Field(default="", max_length=4000)


class LotOut(BaseModel):
    depot: str
    lot: str
    item: str
    expires_on: dt.date | None


class OutflowIn(ApiInput):
    item: Code
    quantity: Quantity
    lot: str | None = Field(default=None, max_length=64, description="default: FEFO")
    reference: str = Field(default="", max_length=300, description="where it goes")
    comment: str = Field(default="", max_length=4000)


class WriteOffIn(OutflowIn):
    rotation: bool = Field(default=False, description="rotated out for use, not lost")


class TransferIn(ApiInput):
    source: Code
    destination: Code
    item: Code
    quantity: Quantity
    lot: str | None = Field(default=None, max_length=64)
    comment: str = Field(default="", max_length=4000)


class MinimumIn(ApiInput):
    quantity: float | None = Field(default=None, ge=0, lt=1e15)
    per_head: float | None = Field(default=None, ge=0, lt=1e9)
    daily_consumption: float | None = Field(default=None, ge=0, lt=1e15)
    expiry_warning_days: int = Field(default=minimums.EXPIRY_WARNING_DAYS, ge=0, le=3650)


class CoverageOut(BaseModel):
    item: str
    name: str
    name_zh: str | None
    unit: str
    stock: float
    minimum: float | None
    basis: str
    share: float | None = Field(description="stock / minimum")
    days: float | None = Field(description="stock / daily consumption")
    next_expiry: dt.date | None


class CountReport(BaseModel):
    file: str
    stored: bool
    rows: int = 0
    adjusted: int = 0
    unchanged: int = 0
    change: dict[str, float] = {}
    problems: list[RowProblem] = []
    problems_total: int = 0
    message: str | None = None


class CountProblemsError(UserError):
    """A count file with bad rows: nothing was stored (HTTP 422 with the report)."""

    def __init__(self, report: CountReport) -> None:
        super().__init__(report.message or f"{report.file}: {report.problems_total} problems")
        self.report = report


def _depot(db: Session, scope: Scope, code: str, capability: Capability) -> Depot:
    depot = depots.get(db, code)
    scope.require(capability, depot.jurisdiction_id, f"depot {code}")
    return depot


def _depot_out(depot: Depot, places: dict[int, str]) -> DepotOut:
    return DepotOut(
        code=depot.code,
        name=depot.name,
        name_zh=depot.name_zh,
        jurisdiction=places.get(depot.jurisdiction_id, ""),
        location=depot.location,
        latitude=depot.latitude,
        longitude=depot.longitude,
        owner_body=depot.owner_body,
    )


def _subtree(db: Session, scope: Scope, jurisdiction: str | None) -> frozenset[int]:
    readable = scope.ids(Capability.READ)
    if jurisdiction is None:
        return readable
    root = jurisdiction_by_code(db, jurisdiction, readable)
    return frozenset(scope.tree.subtree(root.id)) & readable


@router.get("/items", response_model=list[ItemOut], summary="The item catalogue")
def list_items(scope: ApiScope, db: Db) -> list[ItemOut]:
    return [ItemOut.model_validate(i, from_attributes=True) for i in catalogue.get_all(db)]


@router.get("/depots", response_model=list[DepotOut], summary="Depots of a subtree")
def list_depots(scope: ApiScope, db: Db, jurisdiction: str | None = None) -> list[DepotOut]:
    from tocsin.monitoring import jurisdictions

    places = {j.id: j.code for j in jurisdictions.get_all(db)}
    return [_depot_out(d, places) for d in depots.get_all(db, _subtree(db, scope, jurisdiction))]


@router.get("/stock", response_model=list[StockLine], summary="Stock per depot and item")
def stock(
    scope: ApiScope, db: Db, jurisdiction: str | None = None, item: str | None = None
) -> list[StockLine]:
    item_id = catalogue.get(db, item).id if item else None
    return ledger.stock(db, jurisdiction_ids=_subtree(db, scope, jurisdiction), item_id=item_id)


@router.get("/depots/{code}/lots", response_model=list[LotBalance], summary="Lots of a depot")
def depot_lots(code: str, scope: ApiScope, db: Db, item: str | None = None) -> list[LotBalance]:
    depot = _depot(db, scope, code, Capability.READ)
    item_id = catalogue.get(db, item).id if item else None
    return ledger.lots(db, depot_id=depot.id, item_id=item_id)


@router.post(
    "/depots/{code}/receipts",
    response_model=LotOut,
    status_code=201,
    summary="Receive stock as a new lot",
)
def receive(code: str, body: ReceiptIn, request: Request, scope: ApiScope) -> LotOut:
    with writer(request) as db:
        depot = _depot(db, scope, code, Capability.RESPOND)
        lot = ledger.receive(
            db,
            depot,
            catalogue.get(db, body.item),
            body.quantity,
            actor=scope.principal.actor,
            now=dt.datetime.now(dt.UTC),
            received_on=body.received_on,
            expires_on=body.expires_on,
            lot=body.lot,
            reference=body.reference,
            comment=body.comment,
        )
        return LotOut(depot=depot.code, lot=lot.code, item=body.item, expires_on=lot.expires_on)


SHORT = {409: {"description": "not enough stock: problem+json with `available` and `lots`"}}


def _outflow(request: Request, scope: ApiScope, code: str, body: OutflowIn, kind: str) -> Any:
    try:
        with writer(request) as db:
            depot = _depot(db, scope, code, Capability.RESPOND)
            result, _ = dispatch.take(
                db,
                depot,
                catalogue.get(db, body.item),
                body.quantity,
                kind=kind,
                actor=scope.principal.actor,
                now=dt.datetime.now(dt.UTC),
                lot=body.lot,
                reference=body.reference,
                comment=body.comment,
            )
            return result
    except dispatch.InsufficientStockError as exc:
        return _short(request, exc)


def _short(request: Request, exc: dispatch.InsufficientStockError) -> Any:
    return problem(
        409,
        str(exc),
        instance=request.url.path,
        available=exc.available,
        lots=[t.model_dump(mode="json") for t in exc.lots],
    )


@router.post(
    "/depots/{code}/dispatches",
    response_model=OutflowResult,
    status_code=201,
    summary="Dispatch stock (first expiry first out)",
    responses=SHORT,
)
def dispatch_stock(code: str, body: OutflowIn, request: Request, scope: ApiScope) -> Any:
    return _outflow(request, scope, code, body, "dispatch")


@router.post(
    "/depots/{code}/write-offs",
    response_model=OutflowResult,
    status_code=201,
    summary="Write off or rotate out stock",
    responses=SHORT,
)
def write_off(code: str, body: WriteOffIn, request: Request, scope: ApiScope) -> Any:
    return _outflow(request, scope, code, body, "rotation" if body.rotation else "write-off")


@router.post(
    "/transfers",
    response_model=OutflowResult,
    status_code=201,
    summary="Move stock between depots",
    responses=SHORT,
)
def transfer(body: TransferIn, request: Request, scope: ApiScope) -> Any:
    try:
        with writer(request) as db:
            source = _depot(db, scope, body.source, Capability.RESPOND)
            destination = _depot(db, scope, body.destination, Capability.RESPOND)
            return dispatch.transfer(
                db,
                source,
                destination,
                catalogue.get(db, body.item),
                body.quantity,
                actor=scope.principal.actor,
                now=dt.datetime.now(dt.UTC),
                lot=body.lot,
                comment=body.comment,
            )
    except dispatch.InsufficientStockError as exc:
        return _short(request, exc)


@router.post(
    "/counts",
    response_model=CountReport,
    summary="Upload a stock count",
    responses={422: {"description": "bad rows: problem+json with `report`"}},
)
async def upload_count(
    request: Request,
    scope: ApiScope,
    file: Annotated[UploadFile, File(description="depot, item, counted [, lot]")],
) -> Any:
    from starlette.concurrency import run_in_threadpool

    if not scope.any(Capability.INGEST):
        raise ForbiddenError("a stock count needs the analyst or administrator role")
    content = await file.read()
    return await run_in_threadpool(_count, request, scope, file.filename or "count.csv", content)


def _count(request: Request, scope: Scope, file_name: str, content: bytes) -> CountReport:
    name = upload_name(file_name)
    with tempfile.TemporaryDirectory(prefix="tocsin-count-") as folder:
        path = FilePath(folder) / name
        path.write_bytes(content)
        try:
            with writer(request) as db:
                summary = counts.import_counts(
                    db,
                    path,
                    actor=scope.principal.actor,
                    now=dt.datetime.now(dt.UTC),
                    allowed=scope.ids(Capability.INGEST),
                )
        except TableError as exc:
            report = CountReport(file=name, stored=False)
            report.problems, report.problems_total = row_problems(exc, folder), exc.total
            if not exc.problems:
                report.message = str(exc).replace(folder.rstrip("/") + "/", "")
            raise CountProblemsError(report) from exc
    return CountReport(
        file=name,
        stored=True,
        rows=summary.rows,
        adjusted=summary.adjusted,
        unchanged=summary.unchanged,
        change=summary.change,
    )


@router.put(
    "/minimums/{jurisdiction}/{item}",
    response_model=CoverageOut,
    summary="Set the minimum reserve of an item for a subtree",
)
def set_minimum(
    jurisdiction: str, item: str, body: MinimumIn, request: Request, scope: ApiScope
) -> CoverageOut:
    with writer(request) as db:
        where = jurisdiction_by_code(db, jurisdiction, scope.ids(Capability.READ))
        scope.require(Capability.CONFIGURE, where.id, f"jurisdiction {where.code}")
        now = dt.datetime.now(dt.UTC)
        minimums.set_minimum(
            db,
            where.code,
            item,
            quantity=body.quantity,
            per_head=body.per_head,
            daily_consumption=body.daily_consumption,
            expiry_warning_days=body.expiry_warning_days,
            actor=scope.principal.actor,
            now=now,
        )
        line = next(c for c in minimums.coverage(db, where.id, now=now) if c.item == item)
        return CoverageOut.model_validate(line, from_attributes=True)


@router.get(
    "/coverage/{jurisdiction}",
    response_model=list[CoverageOut],
    summary="Stock and coverage per item in a subtree",
)
def coverage(jurisdiction: str, scope: ApiScope, db: Db) -> list[CoverageOut]:
    where = jurisdiction_by_code(db, jurisdiction, scope.ids(Capability.READ))
    lines = minimums.coverage(db, where.id, now=dt.datetime.now(dt.UTC))
    return [CoverageOut.model_validate(c, from_attributes=True) for c in lines]


# -- supply requests from incidents (docs/reserves.md) --------------------------------


class SupplyRequestIn(ApiInput):
    incident: int = Field(ge=1, le=MAX_ID)
    item: Code
    quantity: Quantity
    depot: Code = Field(description="the depot asked to supply it")
    purpose: str = Field(default="", max_length=4000)


class StepIn(ApiInput):
    reason: str = Field(
        default="", max_length=4000, description="why (a refusal needs it); a receipt's comment"
    )
    lot: str | None = Field(default=None, max_length=64, description="dispatch: default FEFO")
    into: str | None = Field(
        default=None,
        max_length=64,
        description="receive: the depot it enters; null: used on site",
    )


@router.get(
    "/requests",
    response_model=list[RequestOut],
    summary="The supply requests of an incident, or to the depots of a subtree",
)
def list_requests(
    scope: ApiScope,
    db: Db,
    incident: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    jurisdiction: str | None = None,
) -> list[RequestOut]:
    if incident is not None:
        return [request_out(v) for v in incident_requests(db, scope, incident)]
    area = _subtree(db, scope, jurisdiction)
    return [request_out(v) for v in depot_requests(db, scope, area)]


@router.post(
    "/requests",
    response_model=RequestOut,
    status_code=201,
    summary="Ask a depot for supplies for an incident",
)
def create_supply_request(body: SupplyRequestIn, request: Request, scope: ApiScope) -> RequestOut:
    new_id = create_request(
        request,
        scope,
        body.incident,
        item=body.item,
        quantity=body.quantity,
        depot=body.depot,
        purpose=body.purpose,
    )
    return _request_by_id(request, scope, new_id)


def _request_by_id(request: Request, scope: Scope, request_id: int) -> RequestOut:
    with writer(request) as db:
        return request_out(request_in_scope(db, scope, request_id))


@router.post(
    "/requests/{request_id}/{step}",
    response_model=RequestOut,
    summary="Approve, refuse, dispatch, cancel or receive a supply request",
    responses=SHORT,
)
def request_step(
    request_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    step: Literal["approve", "refuse", "dispatch", "cancel", "receive"],
    body: StepIn,
    request: Request,
    scope: ApiScope,
) -> Any:
    try:
        take_step(
            request, scope, request_id, step, reason=body.reason, lot=body.lot, into=body.into
        )
    except dispatch.InsufficientStockError as exc:
        return _short(request, exc)
    return _request_by_id(request, scope, request_id)
