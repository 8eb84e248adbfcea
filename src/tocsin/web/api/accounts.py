"""JSON API: the caller, users and role grants, API tokens.

Administrators manage only users whose every grant lies in the subtrees they
administer (:mod:`tocsin.accounts.authority`), and grant roles only on jurisdictions of
those subtrees (no one can grant more than they hold).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from tocsin.accounts import login as sign_in
from tocsin.accounts import passwords, service
from tocsin.accounts.access import Capability, ForbiddenError, Principal, Scope
from tocsin.accounts.authority import manageable_users, managed_user
from tocsin.accounts.models import ROLES, ApiToken, User
from tocsin.accounts.queries import tokens_of
from tocsin.errors import NotFoundError
from tocsin.monitoring.queries import jurisdiction_codes
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
from tocsin.web.deps import (
    SESSION_COOKIE,
    ApiScope,
    Db,
    api_principal,
    client_address,
    principal_cache,
    settings_of,
    writer,
)
from tocsin.web.i18n import LOCALES

router = APIRouter(tags=["accounts"])


class GrantOut(BaseModel):
    id: int
    role: str
    jurisdiction: str


class UserOut(BaseModel):
    username: str
    display_name: str
    email: str | None
    locale: str
    active: bool
    roles: list[GrantOut]


class GrantIn(ApiInput):
    role: str = Field(description=f"one of {', '.join(ROLES)}")
    jurisdiction: str = Field(description="jurisdiction code; the grant covers its subtree")


class UserIn(ApiInput):
    username: str = Field(min_length=1, max_length=100)
    display_name: str = ""
    email: str | None = None
    password: str | None = Field(
        default=None,
        min_length=passwords.MIN_LENGTH,
        description=f"at least {passwords.MIN_LENGTH} characters",
    )
    locale: str = "en"
    roles: list[GrantIn] = Field(
        default_factory=list,
        description="roles granted with the new user; at least one on a jurisdiction the "
        "caller administers, unless the caller administers every jurisdiction",
    )


class UserPatch(ApiInput):
    display_name: str | None = None
    email: str | None = Field(default=None, description='"" removes the address')
    locale: str | None = None
    active: bool | None = None
    password: str | None = Field(default=None, min_length=passwords.MIN_LENGTH)


class TokenIn(ApiInput):
    name: str = Field(min_length=1, max_length=200)
    expires_at: Moment | None = None


class TokenOut(BaseModel):
    id: int
    name: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class NewToken(TokenOut):
    token: str = Field(description="the token itself: shown this once, stored only hashed")


def _user_out(db, user: User) -> UserOut:
    codes = jurisdiction_codes(db, {g.jurisdiction_id for g in user.grants})
    return UserOut(
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        locale=user.locale,
        active=user.active,
        roles=[
            GrantOut(id=g.id, role=g.role, jurisdiction=codes[g.jurisdiction_id])
            for g in user.grants
        ],
    )


@router.get("/me", response_model=UserOut, summary="The caller")
def me(scope: ApiScope, db: Db) -> UserOut:
    return _user_out(db, service.get_user(db, scope.principal.username))


class PasswordChange(ApiInput):
    current_password: str
    new_password: str = Field(description="at least 10 characters, not easy to guess")


@router.put(
    "/me/password",
    status_code=204,
    summary="Change the caller's own password",
    responses={
        422: {"description": "current password wrong, or new password refused"},
        429: {"description": "too many wrong passwords in a row: wait (Retry-After)"},
    },
)
def change_own_password(body: PasswordChange, request: Request, scope: ApiScope) -> Response:
    """The caller changes their password, proving the current one (wrong passwords are
    throttled like sign-ins). The caller's other browser sessions end; API tokens stay
    valid."""
    principal = scope.principal
    keep = request.cookies.get(SESSION_COOKIE) if principal.via == "session" else None
    sign_in.change_own_password(
        request.app.state.engine,
        principal.username,
        body.current_password,
        body.new_password,
        client=client_address(request),
        policy=settings_of(request).throttle_policy(),
        keep_session=keep,
    )
    principal_cache(request).clear()
    return Response(status_code=204)


@router.get("/users", response_model=Page[UserOut], summary="Users the caller administers")
def list_users(
    scope: ApiScope, db: Db, params: Annotated[PageParams, Depends(page_params)]
) -> Page[UserOut]:
    rows, total = paginate(db, manageable_users(scope), params)
    return Page(items=[_user_out(db, r[0]) for r in rows], total=total, **params.model_dump())


def _administered_place(db, scope: Scope, code: str) -> int:
    """The id of jurisdiction ``code`` if the caller administers it (404 / 403 otherwise)."""
    where = jurisdiction_by_code(db, code, scope.ids(Capability.READ))
    scope.require(Capability.ADMINISTER, where.id, f"jurisdiction {where.code}")
    return where.id


@router.post("/users", response_model=UserOut, status_code=201, summary="Add a user")
def create_user(body: UserIn, request: Request, scope: ApiScope) -> UserOut:
    if not scope.any(Capability.ADMINISTER):
        raise ForbiddenError("adding users needs the administrator role on a jurisdiction")
    if not body.roles and not scope.administers_everything():
        raise ForbiddenError(
            "roles: give the new user at least one role on a jurisdiction you administer "
            "(only an administrator of every jurisdiction may add a user without roles)"
        )
    with writer(request) as db:
        places = [_administered_place(db, scope, g.jurisdiction) for g in body.roles]
        user = service.create_user(
            db,
            username=body.username,
            display_name=body.display_name,
            password=body.password,
            email=body.email,
            locale=body.locale if body.locale in LOCALES else "en",
            actor=scope.principal.actor,
        )
        for grant_in, place in zip(body.roles, places, strict=True):
            service.grant_role(db, user, grant_in.role, place, actor=scope.principal.actor)
        return _user_out(db, user)


@router.get("/users/{username}", response_model=UserOut, summary="One user")
def get_user(username: str, scope: ApiScope, db: Db) -> UserOut:
    return _user_out(db, managed_user(db, scope, username))


@router.patch("/users/{username}", response_model=UserOut, summary="Change a user")
def patch_user(username: str, body: UserPatch, request: Request, scope: ApiScope) -> UserOut:
    with writer(request) as db:
        user = managed_user(db, scope, username)
        service.update_user(
            db,
            user,
            actor=scope.principal.actor,
            display_name=body.display_name,
            email=body.email,
            locale=body.locale if body.locale in LOCALES else None,
            active=body.active,
        )
        if body.password:
            service.reset_password(db, user, body.password, actor=scope.principal.actor)
        return _user_out(db, user)


@router.post(
    "/users/{username}/roles", response_model=UserOut, status_code=201, summary="Grant a role"
)
def grant(username: str, body: GrantIn, request: Request, scope: ApiScope) -> UserOut:
    with writer(request) as db:
        user = managed_user(db, scope, username)
        place = _administered_place(db, scope, body.jurisdiction)
        service.grant_role(db, user, body.role, place, actor=scope.principal.actor)
        return _user_out(db, user)


@router.delete(
    "/users/{username}/roles/{grant_id}", response_model=UserOut, summary="Revoke a role"
)
def revoke(username: str, grant_id: ItemId, request: Request, scope: ApiScope) -> UserOut:
    with writer(request) as db:
        user = managed_user(db, scope, username)
        found = next((g for g in user.grants if g.id == grant_id), None)
        if found is None:
            raise NotFoundError(f"user {username!r} has no role grant {grant_id}")
        scope.require(Capability.ADMINISTER, found.jurisdiction_id, "that grant's jurisdiction")
        service.revoke_role(db, user, found, actor=scope.principal.actor)
        return _user_out(db, user)


@router.get("/tokens", response_model=list[TokenOut], summary="The caller's API tokens")
def list_tokens(principal: Annotated[Principal, Depends(api_principal)], db: Db) -> list[TokenOut]:
    rows = tokens_of(db, principal.user_id)
    return [TokenOut.model_validate(t, from_attributes=True) for t in rows]


@router.post("/tokens", response_model=NewToken, status_code=201, summary="Create an API token")
def create_token(
    body: TokenIn, request: Request, principal: Annotated[Principal, Depends(api_principal)]
) -> NewToken:
    with writer(request) as db:
        user = service.get_user(db, principal.username)
        token, raw = service.create_api_token(
            db, user, body.name, actor=principal.actor, expires_at=body.expires_at
        )
        return NewToken(
            **TokenOut.model_validate(token, from_attributes=True).model_dump(), token=raw
        )


@router.delete("/tokens/{token_id}", response_model=TokenOut, summary="Revoke an API token")
def revoke_token(
    token_id: ItemId, request: Request, principal: Annotated[Principal, Depends(api_principal)]
) -> TokenOut:
    with writer(request) as db:
        token = db.get(ApiToken, token_id)
        if token is None or token.user_id != principal.user_id:
            raise NotFoundError(f"API token {token_id} does not exist")
        service.revoke_api_token(db, token, actor=principal.actor)
        return TokenOut.model_validate(token, from_attributes=True)
