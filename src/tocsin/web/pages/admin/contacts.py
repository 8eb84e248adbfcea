"""Duty contacts on the administration page: add one, change its name, e-mail address
and webhook URL, deactivate or reactivate it (the services of :mod:`tocsin.alerting.duty`,
audited there)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from tocsin.accounts.access import Scope
from tocsin.alerting import duty
from tocsin.alerting.models import DutyContact
from tocsin.monitoring.queries import jurisdiction_codes
from tocsin.web.deps import PageScope, check_csrf, writer
from tocsin.web.pages.admin.common import done, translator
from tocsin.web.shared.administration import administered_place
from tocsin.web.shared.common import ItemId

router = APIRouter(include_in_schema=False)


class ContactForm(BaseModel):
    """The fields of a contact form (blank e-mail address or webhook URL: none)."""

    name: str
    email: str = ""
    webhook_url: str = ""
    csrf_token: str = ""


class NewContactForm(ContactForm):
    jurisdiction: str


@router.post("/admin/contacts")
def add_contact(
    request: Request, scope: PageScope, form: Annotated[NewContactForm, Form()]
) -> Response:
    check_csrf(request, form.csrf_token)
    with writer(request) as db:
        where = administered_place(db, scope, form.jurisdiction)
        duty.add_contact(
            db,
            jurisdiction=where.code,
            name=form.name,
            email=form.email.strip() or None,
            webhook_url=form.webhook_url.strip() or None,
            by=scope.principal.actor,
        )
    _ = translator(request)
    return done(_("Contact “%(name)s” added.") % {"name": form.name})


def _administered_contact(scope: Scope, db: Session, contact_id: int) -> DutyContact:
    """The contact, if the user administers its jurisdiction (404 if it cannot be seen)."""
    contact = duty.get_contact(db, contact_id)
    code = jurisdiction_codes(db, [contact.jurisdiction_id]).get(contact.jurisdiction_id)
    administered_place(db, scope, code or "")
    return contact


@router.post("/admin/contacts/{contact_id}")
def edit_contact(
    request: Request, scope: PageScope, contact_id: ItemId, form: Annotated[ContactForm, Form()]
) -> Response:
    """Change a contact's name, e-mail address and webhook URL (blank removes them)."""
    check_csrf(request, form.csrf_token)
    with writer(request) as db:
        _administered_contact(scope, db, contact_id)
        duty.update_contact(
            db,
            contact_id,
            name=form.name,
            email=form.email.strip(),
            webhook_url=form.webhook_url.strip(),
            by=scope.principal.actor,
        )
    _ = translator(request)
    return done(_("Contact “%(name)s” saved.") % {"name": form.name})


@router.post("/admin/contacts/{contact_id}/active")
def activate_contact(
    request: Request,
    scope: PageScope,
    contact_id: ItemId,
    active: Annotated[bool, Form()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Deactivate (``active=false``) or reactivate a contact."""
    check_csrf(request, csrf_token)
    with writer(request) as db:
        _administered_contact(scope, db, contact_id)
        contact = duty.update_contact(db, contact_id, active=active, by=scope.principal.actor)
        name = contact.name
    _ = translator(request)
    if active:
        return done(_("Contact “%(name)s” reactivated.") % {"name": name})
    return done(_("Contact “%(name)s” deactivated: it is no longer notified.") % {"name": name})
