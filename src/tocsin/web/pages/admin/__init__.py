"""Pages: administration, one module per concept (as ``cli/alerts/``):

- :mod:`.overview`: the page ``/admin`` (users and roles, duty contacts, escalation
  policies, silences of the jurisdictions the user administers);
- :mod:`.contacts`: the forms of duty contacts;
- :mod:`.silences`: the forms of silences;
- :mod:`.policies`: an escalation policy on a page of its own, ``/admin/policies/{code}``.

The forms of users and roles are in :mod:`tocsin.web.pages.users`. Everything shown and
changed is limited to the jurisdictions the user administers; the forms call the same
services as the JSON API (and are audited by them).
"""

from __future__ import annotations

from fastapi import APIRouter

from tocsin.web.pages.admin import contacts, overview, policies, silences

router = APIRouter(include_in_schema=False)
for _module in (overview, contacts, silences, policies):
    router.include_router(_module.router)
