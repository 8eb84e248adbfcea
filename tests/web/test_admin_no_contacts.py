"""The administration page warns of jurisdictions without an active duty contact, whose
escalation steps are skipped at once (issue 9)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.web.conftest import World, browser_login

from tocsin.alerting import duty
from tocsin.store import write_session


def _warning(client: TestClient) -> str:
    page = client.get("/admin").text
    if 'id="no-contacts"' not in page:
        return ""
    return page.split('id="no-contacts"')[1].split("</p>")[0]


def test_the_admin_page_lists_jurisdictions_without_contacts(client: TestClient, world: World):
    code = next(iter(world.alerts))
    _, token = browser_login(client, "admin")
    warning = _warning(client)
    assert "escalation skips them" in warning and code in warning
    with write_session(world.engine) as db:
        duty.add_contact(db, jurisdiction=code, name="desk", email="desk@example.org", by="t")
    assert code not in _warning(client).split(":", 1)[1]
    client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/"})
    assert "没有有效值班联系人的辖区" in _warning(client)
