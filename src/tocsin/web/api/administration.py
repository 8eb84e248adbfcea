"""JSON API: detection configurations (write), due rules of indicators, duty contacts,
escalation policies, silences.

Detection configurations and due rules need ``configure`` on every jurisdiction they act
on (all the indicator's series for an indicator-wide one); contacts, policies and silences need
``administer`` on their jurisdiction. Webhook secrets are write-only.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from tocsin.accounts.access import Capability, ForbiddenError
from tocsin.alerting import duty, queries, silences
from tocsin.alerting.escalation import EscalationStep
from tocsin.alerting.models import DutyContact, Silence
from tocsin.errors import NotFoundError, UserError
from tocsin.monitoring import completeness
from tocsin.monitoring import detectors as detector_service
from tocsin.monitoring.detectors import find_series
from tocsin.monitoring.due import MAX_DUE_DAYS, due_rule
from tocsin.monitoring.indicators import get as get_indicator
from tocsin.monitoring.models import Indicator
from tocsin.monitoring.queries import indicator_codes, jurisdiction_codes, series_jurisdictions
from tocsin.web.api.common import (
    ApiInput,
    ItemId,
    Moment,
    Page,
    PageParams,
    jurisdiction_by_code,
    page_params,
    paginate,
)
from tocsin.web.api.monitoring import DetectorOut, IndicatorOut, detector_out
from tocsin.web.deps import ApiScope, Db, writer
from tocsin.web.shared.administration import administered_place, require_silence
from tocsin.web.shared.monitoring import require_due_rule_rights

router = APIRouter(tags=["administration"])


class DetectorIn(ApiInput):
    indicator: str
    method: str
    series: str | None = Field(default=None, description="JURISDICTION[/STRATUM]; none: all")
    settings: dict[str, str] = Field(default_factory=dict, description="NAME -> VALUE")
    enabled: bool | None = None


class ContactIn(ApiInput):
    jurisdiction: str
    name: str = Field(min_length=1, max_length=200)
    email: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = Field(default=None, description="write-only")


class ContactChange(ApiInput):
    """The fields to change; absent ones are kept, ``null`` or ``""`` clears an e-mail
    address, webhook URL or secret."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = Field(default=None, description="write-only")
    keep_previous_secret: bool | None = Field(
        default=None, description="rotation: sign with the new and the previous secret"
    )
    active: bool | None = Field(default=None, description="false: escalation skips it")


class ContactOut(BaseModel):
    id: int
    jurisdiction: str
    name: str
    email: str | None
    webhook_url: str | None
    active: bool


class StepIn(ApiInput):
    wait_minutes: int = Field(ge=0, le=duty.MAX_MINUTES, description="whole minutes")
    levels_up: int = Field(default=0, ge=0, le=duty.MAX_LEVELS_UP)


class PolicyIn(ApiInput):
    steps: list[StepIn] = Field(min_length=1)
    repeats: int = Field(default=0, ge=0, le=duty.MAX_REPEATS)
    repeat_interval_minutes: int = Field(default=60, ge=1, le=duty.MAX_MINUTES)


class PolicyOut(PolicyIn):
    jurisdiction: str


class SilenceIn(ApiInput):
    starts_at: Moment
    ends_at: Moment
    jurisdiction: str | None = Field(
        default=None,
        description="this jurisdiction and below; none: the whole territory (root "
        "administrators only)",
    )
    indicator: str | None = None
    levels: list[int] | None = None
    matchers: list[str] = Field(
        default_factory=list,
        description="Alertmanager matchers on indicator, jurisdiction, level: =, !=, =~, !~ "
        '(e.g. level=~"I|II"); a silence needs at least one matcher or a jurisdiction',
    )
    comment: str = ""


class SilenceOut(BaseModel):
    id: int
    jurisdiction: str | None
    indicator: str | None
    levels: list[int] | None
    matchers: list[str]
    starts_at: dt.datetime
    ends_at: dt.datetime
    created_by: str
    comment: str


def _detector_places(db: Any, indicator: Indicator, series: str | None) -> set[int]:
    if series:
        return {find_series(db, indicator, series).jurisdiction_id}
    return series_jurisdictions(db, indicator.id)


@router.post("/detectors", response_model=DetectorOut, summary="Create or change a detector")
def set_detector(body: DetectorIn, request: Request, scope: ApiScope) -> DetectorOut:
    with writer(request) as db:
        indicator = get_indicator(db, body.indicator)
        places = _detector_places(db, indicator, body.series)
        if not places:
            places = set(scope.tree.children.get(None, ()))  # no series yet: the whole territory
        scope.require(Capability.CONFIGURE, places, f"the series of {indicator.code}")
        detector, _ = detector_service.set_detector(
            db,
            indicator=body.indicator,
            method=body.method,
            series=body.series,
            settings=body.settings,
            enabled=body.enabled,
            actor=scope.principal.actor,
        )
        return detector_out(detector, indicator.code)


class DueRuleIn(ApiInput):
    """When a period's data are due; ``due_days`` null: reporting not tracked."""

    due_days: int | None = Field(ge=0, le=MAX_DUE_DAYS, description="null: not tracked")
    due_time: str | None = Field(
        default=None,
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="HH:MM local time; default 00:00",
    )
    due_timezone: str | None = Field(
        default=None, max_length=64, description="IANA name, e.g. Europe/Berlin; default UTC"
    )


@router.put(
    "/indicators/{code}/due", response_model=IndicatorOut, summary="Set an indicator's due rule"
)
def set_due_rule(code: str, body: DueRuleIn, request: Request, scope: ApiScope) -> IndicatorOut:
    rule = due_rule(body.due_days, body.due_time, body.due_timezone)
    with writer(request) as db:
        require_due_rule_rights(db, scope, get_indicator(db, code))
        changed = completeness.set_due(
            db, code, rule, actor=scope.principal.actor, now=dt.datetime.now(dt.UTC)
        )
        return IndicatorOut.model_validate(changed, from_attributes=True)


def _codes(db: Any) -> dict[int, str]:
    return jurisdiction_codes(db)


@router.get("/contacts", response_model=Page[ContactOut], summary="Duty contacts")
def list_contacts(
    scope: ApiScope, db: Db, params: Annotated[PageParams, Depends(page_params)]
) -> Page[ContactOut]:
    rows, total = paginate(db, queries.contacts(scope.ids(Capability.READ)), params)
    codes = _codes(db)
    return Page(items=[contact_out(r[0], codes) for r in rows], total=total, **params.model_dump())


def contact_out(c: DutyContact, codes: dict[int, str]) -> ContactOut:
    return ContactOut(
        id=c.id,
        jurisdiction=codes[c.jurisdiction_id],
        name=c.name,
        email=c.email,
        webhook_url=c.webhook_url,
        active=c.active,
    )


@router.post("/contacts", response_model=ContactOut, status_code=201, summary="Add a contact")
def add_contact(body: ContactIn, request: Request, scope: ApiScope) -> ContactOut:
    with writer(request) as db:
        where = administered_place(db, scope, body.jurisdiction)
        contact = duty.add_contact(
            db,
            jurisdiction=where.code,
            name=body.name,
            email=body.email,
            webhook_url=body.webhook_url,
            webhook_secret=body.webhook_secret,
            by=scope.principal.actor,
        )
        return contact_out(contact, {where.id: where.code})


@router.patch("/contacts/{contact_id}", response_model=ContactOut, summary="Change a contact")
def change_contact(
    contact_id: ItemId, body: ContactChange, request: Request, scope: ApiScope
) -> ContactOut:
    """Edit, deactivate (``"active": false``) or reactivate a duty contact."""
    with writer(request) as db:
        contact = duty.get_contact(db, contact_id)
        codes = _codes(db)
        where = administered_place(db, scope, codes[contact.jurisdiction_id])
        given = body.model_dump(exclude_unset=True)
        cleared = {k: "" for k in ("email", "webhook_url", "webhook_secret") if k in given}
        changes = {**cleared, **{k: v for k, v in given.items() if v is not None}}
        contact = duty.update_contact(db, contact_id, **changes, by=scope.principal.actor)
        return contact_out(contact, {where.id: where.code})


@router.get(
    "/escalation-policies/{jurisdiction}",
    response_model=PolicyOut,
    summary="A jurisdiction's own escalation policy",
)
def get_policy(jurisdiction: str, scope: ApiScope, db: Db) -> PolicyOut:
    where = jurisdiction_by_code(db, jurisdiction, scope.ids(Capability.READ))
    found = queries.own_policy(db, where.id)
    if found is None:
        raise NotFoundError(f"{where.code} has no policy of its own (it inherits its parent's)")
    policy, steps = found
    return PolicyOut(
        jurisdiction=where.code,
        steps=[StepIn(wait_minutes=s.wait_minutes, levels_up=s.levels_up) for s in steps],
        repeats=policy.repeats,
        repeat_interval_minutes=policy.repeat_interval_minutes,
    )


@router.put(
    "/escalation-policies/{jurisdiction}",
    response_model=PolicyOut,
    summary="Set a jurisdiction's escalation policy",
)
def put_policy(jurisdiction: str, body: PolicyIn, request: Request, scope: ApiScope) -> PolicyOut:
    with writer(request) as db:
        where = administered_place(db, scope, jurisdiction)
        try:
            steps = [
                EscalationStep(dt.timedelta(minutes=s.wait_minutes), s.levels_up)
                for s in body.steps
            ]
        except ValueError as exc:
            raise UserError(str(exc)) from None
        duty.set_policy(
            db,
            jurisdiction=where.code,
            steps=steps,
            repeats=body.repeats,
            repeat_interval_minutes=body.repeat_interval_minutes,
            by=scope.principal.actor,
        )
    return PolicyOut(jurisdiction=where.code, **body.model_dump())


@router.get("/silences", response_model=Page[SilenceOut], summary="Silences")
def list_silences(
    scope: ApiScope, db: Db, params: Annotated[PageParams, Depends(page_params)]
) -> Page[SilenceOut]:
    query = queries.silences(scope.ids(Capability.READ), scope.tree.all_ids())
    rows, total = paginate(db, query, params)
    codes, indicators = _codes(db), _indicator_codes(db)
    return Page(
        items=[silence_out(r[0], codes, indicators) for r in rows],
        total=total,
        **params.model_dump(),
    )


def _indicator_codes(db: Any) -> dict[int, str]:
    return indicator_codes(db)


def silence_out(s: Silence, codes: dict[int, str], indicators: dict[int, str]) -> SilenceOut:
    return SilenceOut(
        id=s.id,
        jurisdiction=codes.get(s.jurisdiction_id or -1),
        indicator=indicators.get(s.indicator_id or -1),
        levels=s.levels,
        matchers=s.matchers or [],
        starts_at=s.starts_at,
        ends_at=s.ends_at,
        created_by=s.created_by,
        comment=s.comment,
    )


@router.post("/silences", response_model=SilenceOut, status_code=201, summary="Add a silence")
def add_silence(body: SilenceIn, request: Request, scope: ApiScope) -> SilenceOut:
    with writer(request) as db:
        if body.jurisdiction is not None:
            where = administered_place(db, scope, body.jurisdiction).code
        elif scope.administers_everything():
            where = None
        else:
            raise ForbiddenError(
                "a silence without a jurisdiction covers the whole territory: only an "
                "administrator of every jurisdiction may add one; name a jurisdiction"
            )
        silence = silences.add_silence(
            db,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            by=scope.principal.actor,
            indicator=body.indicator,
            jurisdiction=where,
            levels=body.levels,
            matchers=body.matchers,
            comment=body.comment,
        )
        return silence_out(silence, _codes(db), _indicator_codes(db))


@router.delete("/silences/{silence_id}", response_model=SilenceOut, summary="End a silence now")
def expire_silence(silence_id: ItemId, request: Request, scope: ApiScope) -> SilenceOut:
    """End the silence now (as Alertmanager's ``DELETE /silence/{id}``); it stays listed
    as history."""
    with writer(request) as db:
        require_silence(db, scope, silence_id)
        silence = silences.expire_silence(
            db, silence_id, by=scope.principal.actor, now=dt.datetime.now(dt.UTC)
        )
        return silence_out(silence, _codes(db), _indicator_codes(db))
