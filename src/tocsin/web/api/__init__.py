"""The JSON API under ``/api/v1``: one router per domain.

Every route but the public CAP feed needs credentials (see :mod:`tocsin.web.deps`).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

PREFIX = "/api/v1"


def router() -> APIRouter:
    """All API routes, under :data:`PREFIX`."""
    from tocsin.web.api import (
        accounts,
        administration,
        alerts,
        audit,
        completeness,
        drills,
        ingest,
        monitoring,
        queue,
        records,
        reserves,
        response,
        risk,
    )
    from tocsin.web.openapi import refuse_forbidden_parameters, refuse_unknown_parameters

    api = APIRouter(
        prefix=PREFIX,
        dependencies=[Depends(refuse_forbidden_parameters), Depends(refuse_unknown_parameters)],
    )
    for module in (
        accounts,
        monitoring,
        ingest,
        alerts,
        queue,
        completeness,
        administration,
        audit,
        response,
        reserves,
        records,
        risk,
        drills,
    ):
        api.include_router(module.router)
    return api


def public_router() -> APIRouter:
    """The routes open without credentials: the CAP feed and public CAP messages."""
    from tocsin.web.api import alerts
    from tocsin.web.openapi import refuse_forbidden_parameters

    public = APIRouter(dependencies=[Depends(refuse_forbidden_parameters)])
    public.include_router(alerts.public_router)
    return public
