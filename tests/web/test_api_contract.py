"""The JSON API keeps the contract of its OpenAPI document, checked by schemathesis.

schemathesis reads ``/openapi.json`` and sends requests it generates from it, valid and
invalid, to every operation, as the root administrator and without credentials. Its
checks fail a test on a server error, a status or content type the document does not
list, a response that breaks its schema, a schema-valid request refused with 400 or
422, an invalid one accepted, or an ``Allow`` header that does not match (issue 10).

The examples are derandomized, so a run is the same on every machine, and bounded so
that the whole module takes a couple of minutes on two cores.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
from tests.web.conftest import World, bearer

from tocsin.web.app import create_app
from tocsin.web.settings import WebSettings

#: Examples per operation and caller: about 40 operations x 2 callers.
EXAMPLES = 15

#: Operations whose refusals of schema-valid requests no schema can express: the content of an
#: uploaded file (its columns, periods and values; a stock count's depots, items and counts; a plan
#: or bodies file sent as the body) is checked row by row and a file with bad rows answers 422 with
#: every problem located; a password is refused when it is easy to guess (zxcvbn) or the same as the
#: current one, and a user name when it looks like another (docs/accounts.md); a silence must end
#: after it starts and have a matcher or a jurisdiction, and its matchers must parse (regular
#: expressions included; docs/alerting.md); a due rule's time zone must be one of the IANA database
#: and a due time or zone needs due days (docs/monitoring.md). ``/readyz`` answers its documented
#: 503 while no worker has written a heartbeat (no worker runs in this test): that 5xx is the
#: readiness probe's answer, not a server error (its other checks still apply).
CONTENT_RULES = {
    ("GET", "/readyz"): [not_a_server_error],
    ("POST", "/api/v1/silences"): [positive_data_acceptance],
    ("POST", "/api/v1/ingest"): [positive_data_acceptance],
    ("POST", "/api/v1/plans"): [positive_data_acceptance],
    ("POST", "/api/v1/bodies"): [positive_data_acceptance],
    ("POST", "/api/v1/reserves/counts"): [positive_data_acceptance],
    ("PUT", "/api/v1/me/password"): [positive_data_acceptance],
    ("POST", "/api/v1/users"): [positive_data_acceptance],
    ("PATCH", "/api/v1/users/{username}"): [positive_data_acceptance],
    ("PUT", "/api/v1/indicators/{code}/due"): [positive_data_acceptance],
}

#: One application, its schema read once; each test binds it to a fresh world.
APP = create_app(
    create_engine("sqlite://"), WebSettings(secret_key="contract", max_body_bytes=200_000)
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(params=["admin", "anonymous"])
def caller(request: pytest.FixtureRequest, world: World) -> dict[str, str]:
    """The headers of the caller, with the application bound to the world's store."""
    APP.state.engine = world.engine
    APP.state.sessions = sessionmaker(bind=world.engine, expire_on_commit=False)
    APP.state.principal_cache = None
    return bearer(world, request.param) if request.param != "anonymous" else {}


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_its_openapi_contract(case, caller: dict[str, str]) -> None:
    excluded = CONTENT_RULES.get((case.method, case.path), [])
    case.call_and_validate(headers=caller, excluded_checks=excluded)
