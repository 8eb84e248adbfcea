"""What the administration routes and pages share: a jurisdiction the caller
administers, named by its code, and a silence the caller administers."""

from __future__ import annotations

from typing import Any

from tocsin.accounts.access import Capability, ForbiddenError, Scope
from tocsin.alerting import silences
from tocsin.alerting.models import Silence
from tocsin.errors import NotFoundError
from tocsin.monitoring.models import Jurisdiction
from tocsin.web.shared.common import jurisdiction_by_code


def administered_place(db: Any, scope: Scope, code: str) -> Jurisdiction:
    """The jurisdiction ``code`` if the caller administers it (404 if it cannot be
    seen, 403 if it can be seen but not administered)."""
    where = jurisdiction_by_code(db, code, scope.ids(Capability.READ))
    scope.require(Capability.ADMINISTER, where.id, f"jurisdiction {where.code}")
    return where


def require_silence(db: Any, scope: Scope, silence_id: int) -> Silence:
    """The silence, if the caller administers it (404 if it cannot be seen, 403 if it can
    be seen but not administered)."""
    silence = silences.get_silence(db, silence_id)
    what = f"silence {silence_id}"
    if silence.jurisdiction_id is not None:
        scope.require(Capability.ADMINISTER, silence.jurisdiction_id, what)
    elif not scope.administers_everything():
        if not scope.ids(Capability.READ) >= scope.tree.all_ids():
            raise NotFoundError(f"{what} does not exist")
        raise ForbiddenError(
            f"{what} covers the whole territory: only an administrator of every "
            "jurisdiction may change it"
        )
    return silence
