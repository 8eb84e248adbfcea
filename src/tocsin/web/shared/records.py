"""Who reads the records (the JSON API and the pages ``/notifications``, ``/runs`` and
``/audit`` apply the same rules): the notification outbox to administrators of the
jurisdictions it reaches, the detection runs to those who configure detection, the audit
log to administrators of the whole territory."""

from __future__ import annotations

from typing import Any

from tocsin.accounts.access import Capability, ForbiddenError, Scope
from tocsin.monitoring.queries import root_ids


def administered(scope: Scope) -> frozenset[int]:
    """The jurisdictions whose notifications the caller reads (403 if none)."""
    ids = scope.ids(Capability.ADMINISTER)
    if not ids:
        raise ForbiddenError("the notifications are open to administrators")
    return ids


def require_configurer(scope: Scope) -> bool:
    """403 unless the caller configures detection somewhere; whether they configure the
    whole territory (and so may read the texts of failures)."""
    configured = scope.ids(Capability.CONFIGURE)
    if not configured:
        raise ForbiddenError("the detection runs are open to analysts and administrators")
    return configured >= scope.tree.all_ids()


def require_auditor(scope: Scope, db: Any) -> None:
    """403 unless the caller administers every top-level jurisdiction (the log spans
    every jurisdiction)."""
    roots = root_ids(db)
    if not roots or not roots <= scope.ids(Capability.ADMINISTER):
        raise ForbiddenError("the audit log is open to administrators of the whole territory")
