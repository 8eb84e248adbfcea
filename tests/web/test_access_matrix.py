"""Access control as a matrix: every role x every jurisdiction x every endpoint.

The expected answer is derived from the grants alone (a grant covers its jurisdiction's
subtree; each role's capabilities are listed in :mod:`tocsin.accounts.access`):
outside the read scope 404 (existence is not revealed), readable but not allowed 403,
otherwise success. Each endpoint is checked for each of the six users on each of the
seven jurisdictions (country, two states, four districts) it applies to.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from tests.web.conftest import DISTRICTS, USERS, World, bearer, browser_login

from tocsin.accounts.access import ROLE_CAPABILITIES, Capability

TREE = {"DE": ["DE-BY", "DE-BW"], **{s: list(d) for s, d in DISTRICTS.items()}}
ALL_DISTRICTS = [d for ds in DISTRICTS.values() for d in ds]
ALL_PLACES = ["DE", *DISTRICTS, *ALL_DISTRICTS]


def subtree(code: str) -> set[str]:
    found = {code}
    for child in TREE.get(code, []):
        found |= subtree(child)
    return found


def expected(username: str, place: str, capability: Capability) -> int:
    """200-ish, 403 or 404 for ``username`` doing ``capability`` on ``place``."""
    role, where = USERS[username]
    if place not in subtree(where):
        return 404
    return 200 if capability in ROLE_CAPABILITIES[role] else 403


def run_matrix(
    places: list[str],
    capability: Capability,
    call: Callable[[str, str], int],
    success: tuple[int, ...] = (200, 201),
) -> None:
    failures = []
    for username, place in itertools.product(USERS, places):
        want = expected(username, place, capability)
        got = call(username, place)
        ok = got in success if want == 200 else got == want
        if not ok:
            failures.append(f"{username} on {place}: expected {want}, got {got}")
    assert not failures, "\n".join(failures)


READS = {
    "jurisdiction": lambda w, p: f"/api/v1/jurisdictions/{p}",
    "alerts of a subtree": lambda w, p: f"/api/v1/alerts?jurisdiction={p}",
    "alerts of a stratum in a subtree": lambda w, p: f"/api/v1/alerts?jurisdiction={p}&stratum=65",
    "signals of a subtree": lambda w, p: f"/api/v1/signals?jurisdiction={p}",
    "alarms of a stratum in a subtree": lambda w, p: (
        f"/api/v1/signals?jurisdiction={p}&stratum=&alarm=true"
    ),
    "jurisdiction children": lambda w, p: f"/api/v1/jurisdictions?parent={p}",
    "completeness of a subtree": lambda w, p: f"/api/v1/completeness?jurisdiction={p}",
    "series-periods due in a subtree": lambda w, p: f"/api/v1/completeness/series?jurisdiction={p}",
}
DISTRICT_READS = {
    "series": lambda w, p: f"/api/v1/series/{w.series[p]}",
    "series with population": lambda w, p: f"/api/v1/series/{w.series[p]}?population=true",
    "alert": lambda w, p: f"/api/v1/alerts/{w.alerts[p]}",
    "alert CAP": lambda w, p: f"/api/v1/alerts/{w.alerts[p]}/cap",
}


@pytest.mark.parametrize("endpoint", sorted(READS))
def test_read_matrix(client: TestClient, world: World, endpoint: str) -> None:
    def call(username: str, place: str) -> int:
        return client.get(
            READS[endpoint](world, place), headers=bearer(world, username)
        ).status_code

    run_matrix(ALL_PLACES, Capability.READ, call)


@pytest.mark.parametrize("endpoint", sorted(DISTRICT_READS))
def test_district_read_matrix(client: TestClient, world: World, endpoint: str) -> None:
    def call(username: str, place: str) -> int:
        url = DISTRICT_READS[endpoint](world, place)
        status = client.get(url, headers=bearer(world, username)).status_code
        # An alert without a CAP message yet is a 404 of its own: only count it as such
        # when the caller may read the alert.
        if (
            endpoint == "alert CAP"
            and status == 404
            and expected(username, place, Capability.READ) == 200
        ):
            return 200
        return status

    run_matrix(ALL_DISTRICTS, Capability.READ, call)


def test_lists_hold_exactly_the_readable_objects(client: TestClient, world: World) -> None:
    for username, (_, where) in USERS.items():
        readable = subtree(where)
        headers = bearer(world, username)
        alerts = client.get("/api/v1/alerts?limit=1000", headers=headers).json()["items"]
        assert {a["jurisdiction"] for a in alerts} == readable & set(ALL_DISTRICTS), username
        series = client.get("/api/v1/series?limit=1000", headers=headers).json()["items"]
        assert {s["jurisdiction"] for s in series} == readable & set(ALL_DISTRICTS), username
        alarms = client.get("/api/v1/signals?alarm=true&limit=1000", headers=headers).json()
        assert {s["jurisdiction"] for s in alarms["items"]} == readable & set(ALL_DISTRICTS)
        places = client.get("/api/v1/jurisdictions?limit=1000", headers=headers).json()["items"]
        assert {j["code"] for j in places} == readable, username


@pytest.mark.parametrize("action", ["acknowledge", "resolve", "cancel"])
def test_alert_transition_matrix(client: TestClient, world: World, action: str) -> None:
    def call(username: str, place: str) -> int:
        alert = world.alerts[place]
        status = client.post(
            f"/api/v1/alerts/{alert}/{action}",
            json={"comment": "matrix"},
            headers=bearer(world, username),
        ).status_code
        with world.engine.begin() as conn:  # back to open for the next caller
            conn.execute(text("UPDATE alert SET status = 'open' WHERE id = :id"), {"id": alert})
        return status

    run_matrix(ALL_DISTRICTS, Capability.RESPOND, call)


def test_raise_alert_matrix(client: TestClient, world: World) -> None:
    def call(username: str, place: str) -> int:
        body = {"jurisdiction": place, "level": "III", "headline": "matrix"}
        return client.post("/api/v1/alerts", json=body, headers=bearer(world, username)).status_code

    run_matrix(ALL_PLACES, Capability.RESPOND, call)


def test_detector_matrix(client: TestClient, world: World) -> None:
    def call(username: str, place: str) -> int:
        body = {"indicator": "flu", "method": "ears_c3", "series": place}
        return client.post(
            "/api/v1/detectors", json=body, headers=bearer(world, username)
        ).status_code

    run_matrix(ALL_DISTRICTS, Capability.CONFIGURE, call)


def test_ingest_matrix(client: TestClient, world: World) -> None:
    def call(username: str, place: str) -> int:
        csv = f"period,jurisdiction,indicator,value\n2008-W20,{place},flu,4\n"
        response = client.post(
            "/api/v1/ingest",
            files={"file": ("rows.csv", csv.encode(), "text/csv")},
            headers=bearer(world, username),
        )
        role, where = USERS[username]
        if response.status_code == 422 and Capability.INGEST in ROLE_CAPABILITIES[role]:
            # Rows outside the caller's jurisdictions are reported like bad rows.
            reasons = [p["reason"] for p in response.json()["report"]["problems"]]
            assert reasons == ["is outside the jurisdictions you may ingest data for"]
            return 404 if place not in subtree(where) else 422
        if response.status_code == 403 and Capability.INGEST not in ROLE_CAPABILITIES[role]:
            # A role that may ingest nowhere is refused before the file is read.
            return expected(username, place, Capability.INGEST)
        return response.status_code

    run_matrix(ALL_DISTRICTS, Capability.INGEST, call)


def test_due_rule_needs_configure_on_every_series_of_the_indicator(
    client: TestClient, world: World
) -> None:
    """An indicator's due rule applies to all its series (every district here): only
    who may configure all of them may set it; every other role is refused (403, the
    indicator being readable by all)."""
    body = {"due_days": 2, "due_time": "12:00", "due_timezone": "Europe/Berlin"}
    got = {
        username: client.put(
            "/api/v1/indicators/flu/due", json=body, headers=bearer(world, username)
        ).status_code
        for username in USERS
    }
    want = {
        username: 200 if where == "DE" and Capability.CONFIGURE in ROLE_CAPABILITIES[role] else 403
        for username, (role, where) in USERS.items()
    }
    assert got == want


@pytest.mark.parametrize("endpoint", ["contacts", "silences", "policy"])
def test_administration_matrix(client: TestClient, world: World, endpoint: str) -> None:
    def call(username: str, place: str) -> int:
        headers = bearer(world, username)
        if endpoint == "contacts":
            body = {"jurisdiction": place, "name": "desk", "email": "desk@example.org"}
            return client.post("/api/v1/contacts", json=body, headers=headers).status_code
        if endpoint == "silences":
            body = {
                "jurisdiction": place,
                "starts_at": "2030-01-01T00:00:00Z",
                "ends_at": "2030-01-02T00:00:00Z",
            }
            return client.post("/api/v1/silences", json=body, headers=headers).status_code
        body = {"steps": [{"wait_minutes": 30, "levels_up": 1}]}
        return client.put(
            f"/api/v1/escalation-policies/{place}", json=body, headers=headers
        ).status_code

    run_matrix(ALL_PLACES, Capability.ADMINISTER, call)


LOADS = {
    "plans": lambda place: (
        "application/yaml",
        f"jurisdiction: '{place}'\nhazard: flu\ntitle: Matrix plan\nowner_body: health\n"
        "review_date: 2030-01-01\nlevels:\n"
        + "".join(f"  {r}:\n    lead_body: health\n" for r in ("I", "II", "III", "IV")),
    ),
    "bodies": lambda place: ("text/csv", f"code,jurisdiction,name\nhealth,{place},Health\n"),
}


@pytest.mark.parametrize("endpoint", sorted(LOADS))
def test_plan_and_body_load_matrix(
    client: TestClient, world: World, endpoint: str, tmp_path: Path
) -> None:
    """A file loads where its user administers; elsewhere its lines are refused (422,
    located) like the rows of an ingest; a user who administers nothing is refused (403)
    before the file is read."""
    from tocsin.response import bodies
    from tocsin.store import write_session

    path = tmp_path / "bodies.csv"  # the body every plan names, everywhere
    path.write_text("code,jurisdiction,name\n" + "".join(f"health,{p},H\n" for p in ALL_PLACES))
    with write_session(world.engine) as db:
        bodies.load(db, path, by="test")

    def call(username: str, place: str) -> int:
        kind, content = LOADS[endpoint](place)
        response = client.post(
            f"/api/v1/{endpoint}",
            content=content.encode(),
            headers={**bearer(world, username), "Content-Type": kind},
        )
        role, where = USERS[username]
        administers = Capability.ADMINISTER in ROLE_CAPABILITIES[role]
        if response.status_code == 422 and administers:
            [error] = response.json()["errors"]
            assert "is not a jurisdiction you administer" in error["message"], error
            return 404 if place not in subtree(where) else 403
        if response.status_code == 403 and not administers:
            return expected(username, place, Capability.ADMINISTER)
        return response.status_code

    run_matrix(ALL_PLACES, Capability.ADMINISTER, call)


def test_notifications_matrix(client: TestClient, world: World) -> None:
    """The outbox of a subtree: its administrators only."""

    def call(username: str, place: str) -> int:
        return client.get(
            f"/api/v1/notifications?jurisdiction={place}", headers=bearer(world, username)
        ).status_code

    run_matrix(ALL_PLACES, Capability.ADMINISTER, call)


def test_detection_runs_by_role(client: TestClient, world: World) -> None:
    """The runs span every series: those who configure detection somewhere."""
    for username, (role, _) in USERS.items():
        status = client.get("/api/v1/detection-runs", headers=bearer(world, username)).status_code
        want = 200 if Capability.CONFIGURE in ROLE_CAPABILITIES[role] else 403
        assert status == want, username


def test_role_grants_cannot_exceed_the_granter(client: TestClient, world: World) -> None:
    def call(username: str, place: str) -> int:
        body = {"role": "viewer", "jurisdiction": place}
        status = client.post(
            "/api/v1/users/officer_9162/roles", json=body, headers=bearer(world, username)
        ).status_code
        with world.engine.begin() as conn:  # back to the one grant, for the next caller
            conn.execute(
                text(
                    "DELETE FROM role_grant WHERE role = 'viewer' AND user_id = "
                    "(SELECT id FROM app_user WHERE username = 'officer_9162')"
                )
            )
        role, where = USERS[username]
        if status == 404 and ("9162" not in subtree(where) or role != "administrator"):
            # Users are invisible to whoever does not administer them: also a refusal.
            return expected(username, place, Capability.ADMINISTER)
        return status

    run_matrix(ALL_PLACES, Capability.ADMINISTER, call, success=(200, 201))


PAGES = {
    "situation": lambda w, p: f"/?j={p}",
    "situation's live part": lambda w, p: f"/situation/live?j={p}",
    "alert page": lambda w, p: f"/alerts/{w.alerts[p]}",
    "series page": lambda w, p: f"/series/{w.series[p]}",
    "reserves page": lambda w, p: f"/reserves?j={p}",
    "completeness page": lambda w, p: f"/completeness?j={p}",
    "plan in force": lambda w, p: f"/plans/in-force?jurisdiction={p}&hazard=flu",
}


def test_page_matrix(client: TestClient, world: World) -> None:
    failures = []
    for username in USERS:
        client.cookies.clear()
        browser_login(client, username)
        for name, url in PAGES.items():
            for place in ALL_DISTRICTS:
                want = expected(username, place, Capability.READ)
                got = client.get(url(world, place)).status_code
                if got != want:
                    failures.append(f"{username} {name} {place}: expected {want}, got {got}")
    assert not failures, "\n".join(failures)


# -- reserves (issue 15) ------------------------------------------------------------


@pytest.fixture
def reserve_world(world: World) -> World:
    """An item and a depot with 1000 units in every place (depot code ``R-<place>``)."""
    import datetime as dt

    from tocsin.reserves import ledger
    from tocsin.reserves.models import Depot, Item
    from tocsin.store import write_session

    now = dt.datetime.now(dt.UTC)
    with write_session(world.engine) as db:
        item = Item(code="rice", name="Rice", category="grain", unit="t")
        db.add(item)
        for place in ALL_PLACES:
            depot = Depot(code=f"R-{place}", name=place, jurisdiction_id=world.jurisdictions[place])
            db.add(depot)
            db.flush()
            ledger.receive(db, depot, item, 1000, actor="test", now=now)
    return world


RESERVE_READS = {
    "lots of a depot": lambda p: f"/api/v1/reserves/depots/R-{p}/lots",
    "coverage of a subtree": lambda p: f"/api/v1/reserves/coverage/{p}",
    "stock of a subtree": lambda p: f"/api/v1/reserves/stock?jurisdiction={p}",
}


@pytest.mark.parametrize("endpoint", sorted(RESERVE_READS))
def test_reserve_read_matrix(client: TestClient, reserve_world: World, endpoint: str) -> None:
    def call(username: str, place: str) -> int:
        url = RESERVE_READS[endpoint](place)
        return client.get(url, headers=bearer(reserve_world, username)).status_code

    run_matrix(ALL_PLACES, Capability.READ, call)


def test_reserve_lists_hold_exactly_the_readable_depots(
    client: TestClient, reserve_world: World
) -> None:
    for username, (_, where) in USERS.items():
        headers = bearer(reserve_world, username)
        found = client.get("/api/v1/reserves/depots", headers=headers).json()
        assert {d["jurisdiction"] for d in found} == subtree(where), username
        stock = client.get("/api/v1/reserves/stock", headers=headers).json()
        assert {s["depot"] for s in stock} == {f"R-{p}" for p in subtree(where)}, username


@pytest.mark.parametrize("movement", ["receipts", "dispatches", "write-offs"])
def test_reserve_movement_matrix(client: TestClient, reserve_world: World, movement: str) -> None:
    def call(username: str, place: str) -> int:
        return client.post(
            f"/api/v1/reserves/depots/R-{place}/{movement}",
            json={"item": "rice", "quantity": 1},
            headers=bearer(reserve_world, username),
        ).status_code

    run_matrix(ALL_PLACES, Capability.RESPOND, call)


def test_reserve_transfer_matrix(client: TestClient, reserve_world: World) -> None:
    """A transfer needs ``respond`` on both depots: here from each place to itself's
    sibling-free twin is impossible, so each goes to the country's depot and back."""

    def call(username: str, place: str) -> int:
        headers = bearer(reserve_world, username)
        body = {"source": f"R-{place}", "destination": f"R-{place}", "item": "rice", "quantity": 1}
        # Same depot twice: refused as a mistake (400) once the caller may act there.
        status = client.post("/api/v1/reserves/transfers", json=body, headers=headers).status_code
        return 200 if status == 400 else status

    run_matrix(ALL_PLACES, Capability.RESPOND, call)


def test_reserve_count_matrix(client: TestClient, reserve_world: World) -> None:
    def call(username: str, place: str) -> int:
        csv = f"depot,item,counted\nR-{place},rice,999\n"
        response = client.post(
            "/api/v1/reserves/counts",
            files={"file": ("count.csv", csv.encode(), "text/csv")},
            headers=bearer(reserve_world, username),
        )
        role, _ = USERS[username]
        if response.status_code == 422 and Capability.INGEST in ROLE_CAPABILITIES[role]:
            reasons = [p["reason"] for p in response.json()["report"]["problems"]]
            assert reasons == ["is outside the jurisdictions you may count stock for"]
            return expected(username, place, Capability.INGEST)
        if response.status_code == 403 and Capability.INGEST not in ROLE_CAPABILITIES[role]:
            return expected(username, place, Capability.INGEST)
        return response.status_code

    run_matrix(ALL_PLACES, Capability.INGEST, call)


def test_reserve_minimum_matrix(client: TestClient, reserve_world: World) -> None:
    def call(username: str, place: str) -> int:
        return client.put(
            f"/api/v1/reserves/minimums/{place}/rice",
            json={"quantity": 2000},
            headers=bearer(reserve_world, username),
        ).status_code

    run_matrix(ALL_PLACES, Capability.CONFIGURE, call)


def test_a_dispatch_beyond_the_stock_answers_409_with_what_is_available(
    client: TestClient, reserve_world: World
) -> None:
    response = client.post(
        "/api/v1/reserves/depots/R-9162/dispatches",
        json={"item": "rice", "quantity": 1001, "reference": "incident 1"},
        headers=bearer(reserve_world, "officer_9162"),
    )
    assert response.status_code == 409
    body = response.json()
    assert body["available"] == 1000 and body["lots"][0]["quantity"] == 1000
    assert "only 1000 t available" in body["detail"]
    ok = client.post(
        "/api/v1/reserves/depots/R-9162/dispatches",
        json={"item": "rice", "quantity": 1000},
        headers=bearer(reserve_world, "officer_9162"),
    )
    assert ok.status_code == 201 and ok.json()["remaining"] == 0
    misspelt = client.get(
        "/api/v1/reserves/stock?jurisdicton=DE-BY", headers=bearer(reserve_world, "admin")
    )
    assert misspelt.status_code == 422 and "jurisdicton" in misspelt.text


# -- supply requests of incidents (issue 15) -----------------------------------------


def _supply_request(world: World, incident_place: str, depot_place: str, upto: str) -> int:
    """A request of 1 t of rice from ``R-<depot_place>`` for a new incident in
    ``incident_place``, taken as far as ``upto`` (requested, approved, dispatched)."""
    import datetime as dt

    from tocsin.reserves import requests
    from tocsin.response import incidents
    from tocsin.store import write_session

    now = dt.datetime.now(dt.UTC)
    with write_session(world.engine) as db:
        incident = incidents.open_incident(
            db, title="Matrix", jurisdiction=incident_place, hazard="health", by="t", now=now
        )
        row = requests.create(
            db, incident.id, item="rice", quantity=1, depot=f"R-{depot_place}", by="t", now=now
        )
        if upto in ("approved", "dispatched"):
            requests.decide(db, row.id, approve=True, by="t", now=now)
        if upto == "dispatched":
            requests.send(db, row.id, by="t", now=now)
        return row.id


def test_supply_request_matrix(client: TestClient, reserve_world: World) -> None:
    """Requesting needs ``respond`` on the incident's jurisdiction."""
    import datetime as dt

    from tocsin.response import incidents
    from tocsin.store import write_session

    with write_session(reserve_world.engine) as db:
        made = {
            p: incidents.open_incident(
                db, title="Matrix", jurisdiction=p, hazard="health", by="t",
                now=dt.datetime.now(dt.UTC),
            ).id
            for p in ALL_PLACES
        }  # fmt: skip

    def call(username: str, place: str) -> int:
        body = {"incident": made[place], "item": "rice", "quantity": 1, "depot": "R-DE"}
        return client.post(
            "/api/v1/reserves/requests", json=body, headers=bearer(reserve_world, username)
        ).status_code

    run_matrix(ALL_PLACES, Capability.RESPOND, call)


def test_supply_request_read_matrix(client: TestClient, reserve_world: World) -> None:
    """The requests of an incident are read with ``read`` on its jurisdiction."""
    made = {p: _supply_request(reserve_world, p, "DE", "requested") for p in ALL_PLACES}

    def call(username: str, place: str) -> int:
        from tocsin.reserves.requests import get
        from tocsin.store import write_session

        with write_session(reserve_world.engine) as db:
            incident = get(db, made[place]).incident_id
        return client.get(
            f"/api/v1/reserves/requests?incident={incident}",
            headers=bearer(reserve_world, username),
        ).status_code

    run_matrix(ALL_PLACES, Capability.READ, call)


@pytest.mark.parametrize(("step", "upto"), [("approve", "requested"), ("dispatch", "approved")])
def test_supply_depot_side_matrix(
    client: TestClient, reserve_world: World, step: str, upto: str
) -> None:
    """Approving and dispatching need ``respond`` on the depot's jurisdiction (here the
    incident is in the country, which only country-wide users read)."""

    def call(username: str, place: str) -> int:
        number = _supply_request(reserve_world, "DE", place, upto)
        return client.post(
            f"/api/v1/reserves/requests/{number}/{step}",
            json={},
            headers=bearer(reserve_world, username),
        ).status_code

    run_matrix(ALL_PLACES, Capability.RESPOND, call)


def test_supply_receipt_matrix(client: TestClient, reserve_world: World) -> None:
    """Receiving needs ``respond`` on the incident's jurisdiction."""

    def call(username: str, place: str) -> int:
        number = _supply_request(reserve_world, place, "DE", "dispatched")
        return client.post(
            f"/api/v1/reserves/requests/{number}/receive",
            json={},
            headers=bearer(reserve_world, username),
        ).status_code

    run_matrix(ALL_PLACES, Capability.RESPOND, call)


# -- my queue (issue 11) ------------------------------------------------------------


def test_bulk_acknowledge_matrix(client: TestClient, world: World) -> None:
    def call(username: str, place: str) -> int:
        alert = world.alerts[place]
        status = client.post(
            "/api/v1/queue/acknowledge",
            json={"alerts": [alert], "comment": "matrix"},
            headers=bearer(world, username),
        ).status_code
        with world.engine.begin() as conn:  # back to open for the next caller
            conn.execute(text("UPDATE alert SET status = 'open' WHERE id = :id"), {"id": alert})
        return status

    run_matrix(ALL_DISTRICTS, Capability.RESPOND, call)


def test_queues_hold_only_readable_alerts(client: TestClient, world: World) -> None:
    """Every user's queue, even with every alert escalated to every jurisdiction (a
    notification row to each), holds only alerts the user may read; acknowledging is
    offered only where the user may respond."""
    from tocsin.alerting.models import Notification

    with world.engine.begin() as conn:
        for (place, alert), (target, jid) in itertools.product(
            world.alerts.items(), world.jurisdictions.items()
        ):
            conn.execute(
                Notification.__table__.insert().values(
                    alert_id=alert, jurisdiction_id=jid, channel="email",
                    target=f"{target}@example.org", idempotency_key=f"{place}/{target}",
                    reason="escalated", subject="s", body="b", payload={},
                    next_attempt_at=text("CURRENT_TIMESTAMP"),
                )
            )  # fmt: skip
    for username, (role, where) in USERS.items():
        items = client.get("/api/v1/queue", headers=bearer(world, username)).json()
        places = {i["jurisdiction"] for i in items}
        assert places == subtree(where) & set(ALL_DISTRICTS), username
        respond = Capability.RESPOND in ROLE_CAPABILITIES[role]
        assert {i["may_acknowledge"] for i in items} == {respond}, username


def test_queue_page_matrix(client: TestClient, world: World) -> None:
    for username, (_, where) in USERS.items():
        client.cookies.clear()
        browser_login(client, username)
        page = client.get("/queue").text
        shown = {p for p in ALL_DISTRICTS if f"District {p}" in page}
        assert shown <= subtree(where), username


def test_raise_page_matrix(client: TestClient, world: World) -> None:
    """The page raises an alert exactly where the API would (``respond`` on the place);
    elsewhere the form refuses (422, the place not among its choices: an existing place
    outside the user's scope is not revealed), or the page is refused (403) to a user who
    may respond nowhere."""
    import re

    failures = []
    for username, (role, _) in USERS.items():
        client.cookies.clear()
        browser_login(client, username)
        form = client.get("/alerts/new")
        may_respond = Capability.RESPOND in ROLE_CAPABILITIES[role]
        if not may_respond:
            if form.status_code != 403:
                failures.append(f"{username}: the form answered {form.status_code}, not 403")
            continue
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        for place in ALL_PLACES:
            got = client.post(
                "/alerts/new",
                data={"csrf_token": token, "jurisdiction": place, "level": "IV",
                      "headline": "matrix"},
                follow_redirects=False,
            ).status_code  # fmt: skip
            want = 303 if expected(username, place, Capability.RESPOND) == 200 else 422
            if got != want:
                failures.append(f"{username} on {place}: expected {want}, got {got}")


# -- risks (issue 15) ---------------------------------------------------------------


@pytest.fixture
def risk_world(world: World) -> World:
    """A body ``civil`` of DE whose members are every user, a risk ``K-<place>`` in every
    place, and a composite index model on the flu indicator."""
    import datetime as dt

    from tocsin.accounts.models import User
    from tocsin.response.models import ResponseBody, ResponseBodyMember
    from tocsin.risk.models import IndexModel, Risk
    from tocsin.store import write_session

    flu = [{"indicator": "flu", "min": 0, "max": 10, "log": False, "invert": False}]
    with write_session(world.engine) as db:
        body = ResponseBody(jurisdiction_id=world.jurisdictions["DE"], code="civil", name="Civil")
        db.add(body)
        db.flush()
        for user in db.query(User).all():
            db.add(ResponseBodyMember(body_id=body.id, user_id=user.id))
        for place in ALL_PLACES:
            db.add(
                Risk(
                    code=f"K-{place}",
                    jurisdiction_id=world.jurisdictions[place],
                    domain="health",
                    hazard="flu",
                    title=f"Risk of {place}",
                    owner_body_id=body.id,
                    likelihood=3,
                    impact=3,
                    review_date=dt.date(2030, 1, 1),
                    updated_by="test",
                )
            )
        db.add(
            IndexModel(
                code="m",
                title="M",
                loaded_by="test",
                document={
                    d: flu for d in ("hazard_exposure", "vulnerability", "lack_of_coping_capacity")
                },
            )
        )
    return world


RISK_READS = {
    "risk": lambda p: f"/api/v1/risks/K-{p}",
    "risks of a subtree": lambda p: f"/api/v1/risks?jurisdiction={p}",
    "heat map of a subtree": lambda p: f"/api/v1/risk-heat-map?jurisdiction={p}",
    "index of a subtree": lambda p: f"/api/v1/risk-index/m?jurisdiction={p}",
    "scorecard": lambda p: f"/api/v1/scorecards/{p}",
}


@pytest.mark.parametrize("endpoint", sorted(RISK_READS))
def test_risk_read_matrix(client: TestClient, risk_world: World, endpoint: str) -> None:
    def call(username: str, place: str) -> int:
        url = RISK_READS[endpoint](place)
        return client.get(url, headers=bearer(risk_world, username)).status_code

    run_matrix(ALL_PLACES, Capability.READ, call)


def test_risk_lists_hold_exactly_the_readable_risks(client: TestClient, risk_world: World) -> None:
    for username, (_, where) in USERS.items():
        headers = bearer(risk_world, username)
        found = client.get("/api/v1/risks", headers=headers).json()
        assert {r["code"] for r in found} == {f"K-{p}" for p in subtree(where)}, username
        grid = client.get("/api/v1/risk-heat-map", headers=headers).json()
        assert grid["total"] == len(subtree(where)), username


def test_risk_change_matrix(client: TestClient, risk_world: World) -> None:
    def call(username: str, place: str) -> int:
        body = {
            "jurisdiction": place,
            "domain": "water",
            "hazard": "flu",
            "title": "Changed",
            "owner_body": "civil",
            "likelihood": 2,
            "impact": 2,
            "review_date": "2031-01-01",
        }
        return client.put(
            f"/api/v1/risks/K-{place}", json=body, headers=bearer(risk_world, username)
        ).status_code

    run_matrix(ALL_PLACES, Capability.CONFIGURE, call)


def test_joint_assessment_matrix(client: TestClient, risk_world: World) -> None:
    """Opening a session, giving a body's view and agreeing the result each need
    ``respond`` on the risk's jurisdiction."""
    admin = bearer(risk_world, "admin")
    view = {"body": "civil", "likelihood": 4, "impact": 4, "confidence": "low", "reasoning": "r"}
    agreement = {"likelihood": 4, "impact": 4, "confidence": "low", "rationale": "r"}

    def opened(place: str) -> int:
        url = f"/api/v1/risks/K-{place}/assessments"
        return client.post(url, json={"question": "q"}, headers=admin).json()["id"]

    def open_call(username: str, place: str) -> int:
        return client.post(
            f"/api/v1/risks/K-{place}/assessments",
            json={"question": "matrix"},
            headers=bearer(risk_world, username),
        ).status_code

    def contribute_call(username: str, place: str) -> int:
        return client.post(
            f"/api/v1/assessments/{opened(place)}/contributions",
            json=view,
            headers=bearer(risk_world, username),
        ).status_code

    def agree_call(username: str, place: str) -> int:
        number = opened(place)
        client.post(f"/api/v1/assessments/{number}/contributions", json=view, headers=admin)
        return client.post(
            f"/api/v1/assessments/{number}/agree",
            json=agreement,
            headers=bearer(risk_world, username),
        ).status_code

    for call in (open_call, contribute_call, agree_call):
        run_matrix(ALL_PLACES, Capability.RESPOND, call)

    def read_call(username: str, place: str) -> int:
        return client.get(
            f"/api/v1/assessments/{opened(place)}", headers=bearer(risk_world, username)
        ).status_code

    run_matrix(ALL_PLACES, Capability.READ, read_call)


RISK_PAGES = {
    "risks page": lambda p: f"/risks?j={p}",
    "risk page": lambda p: f"/risks/K-{p}",
    "index page": lambda p: f"/risk-index?j={p}",
    "scorecard page": lambda p: f"/scorecards?j={p}",
}


def test_risk_page_matrix(client: TestClient, risk_world: World) -> None:
    failures = []
    for username in USERS:
        client.cookies.clear()
        browser_login(client, username)
        for name, url in RISK_PAGES.items():
            for place in ALL_PLACES:
                want = expected(username, place, Capability.READ)
                got = client.get(url(place)).status_code
                if got != want:
                    failures.append(f"{username} {name} {place}: expected {want}, got {got}")


# -- CAP messages for people (issue 11) ------------------------------------------------


def test_cap_message_page_matrix(client: TestClient, world: World) -> None:
    """A restricted message's page opens for the users who read its jurisdiction (404
    for the others and for anonymous visitors); a public one for everyone; the public
    alerts page and its map for anonymous visitors."""
    import datetime as dt

    from tocsin.alerting import lifecycle
    from tocsin.alerting.models import CapMessageRow
    from tocsin.store import write_session

    identifiers: dict[str, dict[bool, str]] = {}
    with write_session(world.engine) as session:
        for place, public in itertools.product(ALL_DISTRICTS, (False, True)):
            alert = lifecycle.raise_alert(
                session, jurisdiction=place, level="III", headline=f"Heat in {place}",
                public=public, by="test", now=dt.datetime.now(dt.UTC),
            )  # fmt: skip
            row = session.query(CapMessageRow).filter_by(alert_id=alert.id).one()
            identifiers.setdefault(place, {})[public] = row.identifier
    for path in ("/public", "/public/map.json"):
        assert client.get(path).status_code == 200, path
    failures = []
    for username in (None, *USERS):
        client.cookies.clear()
        if username:
            browser_login(client, username)
        for place in ALL_DISTRICTS:
            want = expected(username, place, Capability.READ) if username else 404
            for public, want_here in ((False, want), (True, 200)):
                got = client.get(f"/cap/{identifiers[place][public]}.html").status_code
                if got != want_here:
                    failures.append(f"{username} {place} public={public}: {want_here} != {got}")
    assert not failures, "\n".join(failures)


# -- drills (issue 15) -------------------------------------------------------------------


def _drill(client: TestClient, world: World, place: str, *, at: str = "2030-01-01T09:00:00Z"):
    body = {"jurisdiction": place, "hazard": "flu", "title": f"Drill of {place}", "at": at}
    found = client.post("/api/v1/drills", json=body, headers=bearer(world, "admin"))
    assert found.status_code == 201, found.text
    return found.json()["id"]


def test_drill_matrix(client: TestClient, world: World) -> None:
    """Scheduling, cancelling and completing a drill need ``respond`` on its
    jurisdiction; reading one and the list of a subtree need ``read``; so do its pages."""
    import datetime as dt

    from tocsin.risk import drills
    from tocsin.store import write_session

    def schedule_call(username: str, place: str) -> int:
        body = {"jurisdiction": place, "hazard": "flu", "title": "t", "at": "2030-01-01T09:00Z"}
        return client.post("/api/v1/drills", json=body, headers=bearer(world, username)).status_code

    def cancel_call(username: str, place: str) -> int:
        number = _drill(client, world, place)
        return client.post(
            f"/api/v1/drills/{number}/cancel", headers=bearer(world, username)
        ).status_code

    def complete_call(username: str, place: str) -> int:
        number = _drill(client, world, place, at="2020-01-01T09:00:00Z")
        with write_session(world.engine) as db:
            drills.inject_due(db, now=dt.datetime.now(dt.UTC))
        return client.post(
            f"/api/v1/drills/{number}/complete",
            json={"lessons": "l"},
            headers=bearer(world, username),
        ).status_code

    for call in (schedule_call, cancel_call, complete_call):
        run_matrix(ALL_PLACES, Capability.RESPOND, call)
    numbers = {place: _drill(client, world, place) for place in ALL_PLACES}

    def read_call(username: str, place: str) -> int:
        return client.get(
            f"/api/v1/drills/{numbers[place]}", headers=bearer(world, username)
        ).status_code

    def list_call(username: str, place: str) -> int:
        return client.get(
            f"/api/v1/drills?jurisdiction={place}", headers=bearer(world, username)
        ).status_code

    for call in (read_call, list_call):
        run_matrix(ALL_PLACES, Capability.READ, call)
    failures = []
    for username in USERS:
        client.cookies.clear()
        browser_login(client, username)
        for place in ALL_PLACES:
            want = expected(username, place, Capability.READ)
            for url in (f"/drills?j={place}", f"/drills/{numbers[place]}"):
                got = client.get(url).status_code
                if got != want:
                    failures.append(f"{username} {url}: expected {want}, got {got}")
    assert not failures, "\n".join(failures)
