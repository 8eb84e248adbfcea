"""Pages: the users part of the administration (add users, grant roles, one user's page
to edit, reset the password, deactivate and revoke roles) and each user's own account
page (change one's password).

Who may manage whom is :mod:`tocsin.accounts.authority`: a user some of whose grants lie
outside the administrator's subtrees answers 404 on every route here, as in the API.
Forms call the same services as the JSON API, which audit every change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tocsin.accounts import login as sign_in
from tocsin.accounts import service
from tocsin.accounts.access import Capability, Scope
from tocsin.accounts.authority import managed_user, may_manage
from tocsin.accounts.errors import FieldError
from tocsin.accounts.models import ROLES, User
from tocsin.accounts.throttle import LoginThrottledError
from tocsin.catalogs import N_
from tocsin.errors import NotFoundError, UserError
from tocsin.monitoring.models import Jurisdiction
from tocsin.monitoring.queries import (
    jurisdiction_by_code,
    jurisdiction_code_names,
    jurisdiction_codes,
)
from tocsin.web import i18n
from tocsin.web.deps import (
    SESSION_COOKIE,
    Db,
    PageScope,
    check_csrf,
    client_address,
    principal_cache,
    settings_of,
    writer,
)
from tocsin.web.i18n.service_errors import service_message
from tocsin.web.pages.auth import login_refusal
from tocsin.web.templating import render, request_locale

router = APIRouter(include_in_schema=False)


def refusal(exc: UserError) -> str:
    """What is wrong, in the reader's language (field errors name the field)."""
    _ = i18n.gettext
    if isinstance(exc, FieldError):
        labels = {
            "username": _("User name"),
            "password": _("Password"),
            "new_password": _("New password"),
            "current_password": _("Current password"),
            "email": _("E-mail"),
        }
        return f"{labels.get(exc.field, exc.field)}: {exc.translated(_)}"
    return service_message(str(exc)) or ""


def _administered(db: Session, scope: Scope, code: str) -> Jurisdiction:
    where = jurisdiction_by_code(db, code, scope.ids(Capability.READ))
    scope.require(Capability.ADMINISTER, where.id, f"jurisdiction {where.code}")
    return where


def _user_page(
    request: Request, db: Session, scope: Scope, user: User, error: str | None = None
) -> Response:
    codes = jurisdiction_codes(db)
    places = jurisdiction_code_names(db, scope.ids(Capability.ADMINISTER))
    return render(
        request,
        "admin_user.html",
        {
            "user": user,
            "codes": codes,
            "places": places,
            "roles": ROLES,
            "error": error,
            "message": request.query_params.get("message"),
        },
        status=422 if error else 200,
    )


def _done(scope: Scope, db: Session, user: User, message: str) -> Response:
    """Back to the user's page with ``message`` (to the administration page when the
    change took the user out of the caller's reach, e.g. their last role revoked)."""
    if may_manage(scope, (g.jurisdiction_id for g in user.grants)):
        target = f"/admin/users/{quote(user.username, safe='')}"
    else:
        target = "/admin"
    return RedirectResponse(f"{target}?message={quote(message)}", status_code=303)


def _change(
    request: Request,
    scope: Scope,
    username: str,
    change: Callable[[Session, User], None],
    message: str,
    **params: str,
) -> Response:
    """Apply ``change(db, user)`` to a user the caller manages, then redirect with
    ``message`` (a message id, with ``name`` and ``params``) translated; a refused value
    shows the user's page again with the reason."""
    try:
        with writer(request) as db:
            user = managed_user(db, scope, username)
            change(db, user)
            db.flush()
            db.refresh(user)
    except FieldError as exc:
        i18n.set_locale(request_locale(request))
        with request.app.state.sessions() as db:
            user = managed_user(db, scope, username)
            return _user_page(request, db, scope, user, refusal(exc))
    i18n.set_locale(request_locale(request))
    return _done(scope, db, user, _message(message, name=user.username, **params))


def _message(message: str, **params: str) -> str:
    """``message`` in the current language; a ``role`` is a message id itself."""
    if "role" in params:
        params["role"] = i18n.gettext(params["role"])
    return i18n.gettext(message) % params


@router.get("/admin/users/{username}")
def user_page(request: Request, scope: PageScope, db: Db, username: str) -> Response:
    return _user_page(request, db, scope, managed_user(db, scope, username))


@router.post("/admin/users/{username}")
def edit_user(
    request: Request,
    scope: PageScope,
    username: str,
    display_name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Change a user's display name and e-mail address (blank removes the address)."""
    check_csrf(request, csrf_token)

    def change(db: Session, user: User) -> None:
        service.update_user(
            db, user, actor=scope.principal.actor, display_name=display_name, email=email
        )

    return _change(request, scope, username, change, N_("User “%(name)s” saved."))


@router.post("/admin/users/{username}/password")
def reset_password(
    request: Request,
    scope: PageScope,
    username: str,
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Set a new password; the user's sessions end and API tokens are revoked."""
    check_csrf(request, csrf_token)

    def change(db: Session, user: User) -> None:
        service.reset_password(db, user, password, actor=scope.principal.actor)

    done = N_(
        "New password set for “%(name)s”: their sessions ended and their API tokens were revoked."
    )
    return _change(request, scope, username, change, done)


@router.post("/admin/users/{username}/active")
def activate_user(
    request: Request,
    scope: PageScope,
    username: str,
    active: Annotated[bool, Form()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Deactivate (``active=false``: sessions end, tokens are revoked) or reactivate."""
    check_csrf(request, csrf_token)

    def change(db: Session, user: User) -> None:
        service.update_user(db, user, actor=scope.principal.actor, active=active)

    done = N_("User “%(name)s” reactivated.") if active else N_("User “%(name)s” deactivated.")
    return _change(request, scope, username, change, done)


@router.post("/admin/users/{username}/roles")
def grant_role(
    request: Request,
    scope: PageScope,
    username: str,
    role: Annotated[str, Form()],
    jurisdiction: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)

    def change(db: Session, user: User) -> None:
        where = _administered(db, scope, jurisdiction)
        service.grant_role(db, user, role, where.id, actor=scope.principal.actor)

    return _change(request, scope, username, change, GRANTED, role=role, jurisdiction=jurisdiction)


GRANTED = N_("Role %(role)s granted to “%(name)s” on %(jurisdiction)s.")


@router.post("/admin/users/{username}/roles/{grant_id}/revoke")
def revoke_role(
    request: Request,
    scope: PageScope,
    username: str,
    grant_id: int,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)

    def change(db: Session, user: User) -> None:
        grant = next((g for g in user.grants if g.id == grant_id), None)
        if grant is None:
            raise NotFoundError(f"user {username!r} has no role grant {grant_id}")
        service.revoke_role(db, user, grant, actor=scope.principal.actor)

    return _change(request, scope, username, change, N_("Role revoked from “%(name)s”."))


@router.post("/admin/users")
def add_user(
    request: Request,
    scope: PageScope,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[str, Form()],
    jurisdiction: Annotated[str, Form()],
    display_name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Add a user with a first role on a jurisdiction the caller administers."""
    check_csrf(request, csrf_token)
    try:
        with writer(request) as db:
            where = _administered(db, scope, jurisdiction)
            user = service.create_user(
                db,
                username=username,
                display_name=display_name,
                password=password,
                email=email,
                actor=scope.principal.actor,
            )
            service.grant_role(db, user, role, where.id, actor=scope.principal.actor)
    except FieldError as exc:
        i18n.set_locale(request_locale(request))
        return _admin_message(refusal(exc), error=True)
    i18n.set_locale(request_locale(request))
    added = N_("User “%(name)s” added with the role %(role)s on %(jurisdiction)s.")
    return _admin_message(_message(added, name=user.username, role=role, jurisdiction=jurisdiction))


def _admin_message(message: str, error: bool = False) -> Response:
    kind = "error" if error else "message"
    return RedirectResponse(f"/admin?{kind}={quote(message)}", status_code=303)


@router.post("/admin/roles")
def add_role(
    request: Request,
    scope: PageScope,
    username: Annotated[str, Form()],
    role: Annotated[str, Form()],
    jurisdiction: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Grant a role to a user named in the form (one the caller manages)."""
    check_csrf(request, csrf_token)
    with writer(request) as db:
        where = _administered(db, scope, jurisdiction)
        user = managed_user(db, scope, username)
        service.grant_role(db, user, role, where.id, actor=scope.principal.actor)
        name = user.username
    i18n.set_locale(request_locale(request))
    return _admin_message(_message(GRANTED, name=name, role=role, jurisdiction=jurisdiction))


# -- the user's own account


@router.get("/account")
def account_page(request: Request, scope: PageScope, db: Db) -> Response:
    user = service.get_user(db, scope.principal.username)
    return render(
        request,
        "account.html",
        {"user": user, "error": None, "saved": request.query_params.get("saved")},
    )


@router.post("/account/password")
def change_password(
    request: Request,
    scope: PageScope,
    db: Db,
    current_password: Annotated[str, Form()],
    new_password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Change one's own password (the current one is checked, throttled like a
    sign-in); the other sessions end, this one stays signed in."""
    check_csrf(request, csrf_token)
    i18n.set_locale(request_locale(request))
    try:
        sign_in.change_own_password(
            request.app.state.engine,
            scope.principal.username,
            current_password,
            new_password,
            client=client_address(request),
            policy=settings_of(request).throttle_policy(),
            keep_session=request.cookies.get(SESSION_COOKIE),
        )
    except (FieldError, LoginThrottledError) as exc:
        i18n.set_locale(request_locale(request))
        throttled = isinstance(exc, LoginThrottledError)
        error = login_refusal(exc) if throttled else refusal(exc)
        status = 429 if throttled else 422
        user = service.get_user(db, scope.principal.username)
        return render(request, "account.html", {"user": user, "error": error}, status=status)
    principal_cache(request).clear()  # the other sessions ended
    return RedirectResponse("/account?saved=password", status_code=303)
