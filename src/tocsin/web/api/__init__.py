"""The JSON API under ``/api/v1``: one router per domain.

Every route but the public CAP feed needs credentials (see :mod:`tocsin.web.deps`).
"""

from __future__ import annotations

from fastapi import APIRouter

PREFIX = "/api/v1"


def router() -> APIRouter:
    """All API routes, under :data:`PREFIX`."""
    from tocsin.web.api import accounts, audit, monitoring

    api = APIRouter(prefix=PREFIX)
    for module in (accounts, monitoring, audit):
        api.include_router(module.router)
    return api
