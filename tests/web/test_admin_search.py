"""The administration page (issue 11): users searched by user name or name and paged,
within the users the administrator manages; the silence form takes Alertmanager
matchers as the API does, shows a refusal on the form with everything typed kept, and
each silence shows who made it and when."""

from __future__ import annotations

import re

from tests.web.conftest import browser_login

from tocsin.accounts import service
from tocsin.accounts.queries import USERS_PER_PAGE, search_users
from tocsin.store import write_session


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _users(world, count: int) -> None:
    with write_session(world.engine) as db:
        for i in range(count):
            user = service.create_user(
                db, username=f"nurse{i:03d}", display_name=f"Night Nurse {i:03d}",
                password="correct horse battery", actor="test",
            )  # fmt: skip
            service.grant_role(db, user, "viewer", world.jurisdictions["9162"], actor="test")


def test_search_users_by_name_and_page(world, client) -> None:
    _users(world, USERS_PER_PAGE + 5)
    browser_login(client, "by_admin")
    first = client.get("/admin", params={"q": "NURSE"}).text
    assert first.count('data-user="nurse') == USERS_PER_PAGE
    assert f"{USERS_PER_PAGE + 5} users match" in first
    second = client.get("/admin", params={"q": "nurse", "page": 2}).text
    assert second.count('data-user="nurse') == 5 and 'data-user="nurse054"' in second
    by_name = client.get("/admin", params={"q": "night nurse 007"}).text
    assert re.findall(r'data-user="([^"]+)"', by_name) == ["nurse007"]
    # by_admin manages DE-BY only: the root administrator and BW's analyst never match.
    assert 'data-user="analyst_bw"' not in client.get("/admin", params={"q": "a"}).text
    assert client.get("/admin", params={"q": "%"}).text.count('data-user="') == 0
    assert client.get("/admin", params={"page": 0}).status_code == 422


def test_search_users_query_takes_the_administered_ids(any_world) -> None:
    """On SQLite and PostgreSQL: case-insensitive, ``%`` and ``_`` match themselves."""
    world = any_world
    _users(world, 3)
    with world.engine.connect() as conn:
        from sqlalchemy.orm import Session

        db = Session(bind=conn)
        bavaria = frozenset({world.jurisdictions[c] for c in ("DE-BY", "9162", "9184")})
        users, total = search_users(db, bavaria, everything=False, text="nurse00")
        assert total == 3 and [u.username for u in users] == ["nurse000", "nurse001", "nurse002"]
        none, zero = search_users(db, frozenset(), everything=False)
        assert (none, zero) == ([], 0)
        assert search_users(db, bavaria, everything=False, text="NIGHT nurse 002")[1] == 1
        assert search_users(db, bavaria, everything=False, text="nurse_00")[1] == 0
        assert search_users(db, bavaria, everything=False, text="%")[1] == 0
        second = search_users(db, bavaria, everything=False, text="nurse", offset=1, limit=1)
        assert [u.username for u in second[0]] == ["nurse001"] and second[1] == 3


def test_the_silence_form_keeps_input_and_shows_the_refusal(world, client) -> None:
    browser_login(client, "by_admin")
    page = client.get("/admin").text
    refused = client.post(
        "/admin/silences",
        data={"csrf_token": _csrf(page), "jurisdiction": "9162", "hours": "6",
              "matchers": 'level=~"I|II"\ncolour="red"', "comment": "storm night"},
        headers={"Accept": "text/html", "Accept-Language": "en"},
    )  # fmt: skip
    assert refused.status_code == 400
    assert "unknown label" in refused.text and "colour" in refused.text
    assert 'value="9162"' in refused.text and 'value="6"' in refused.text
    assert "colour=&#34;red&#34;" in refused.text or 'colour="red"' in refused.text
    assert 'value="storm night"' in refused.text
    added = client.post(
        "/admin/silences",
        data={"csrf_token": _csrf(page), "jurisdiction": "9162", "hours": "6",
              "matchers": 'level=~"I|II"\nindicator!="flu"', "comment": "storm night"},
        follow_redirects=True,
    )  # fmt: skip
    assert added.status_code == 200
    row = re.search(r'<tr data-silence="\d+">.*?</tr>', added.text, re.S).group(0)
    assert "level=~&#34;I|II&#34;" in row and "indicator!=&#34;flu&#34;" in row
    assert "By_Admin" in row and "UTC" in row  # the creator's name and when
