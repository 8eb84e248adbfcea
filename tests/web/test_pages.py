"""Server-rendered pages through the test client (the browser tests drive Chromium)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import World, browser_login


def test_pages_need_a_signed_in_user(client: TestClient) -> None:
    for path in ("/", "/alerts", "/alerts/1", "/series/1", "/ingest", "/admin"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")


def test_situation_map_alerts_and_detections(client: TestClient, world: World) -> None:
    _, _ = browser_login(client, "admin")
    page = client.get("/")
    assert page.status_code == 200
    assert 'id="map"' in page.text and "DE-BY" in page.text
    assert page.text.count('class="alert-row"') == 4
    assert "2008-W10" in page.text  # newest detection
    geo = client.get("/situation/map.json").json()
    assert len(geo["features"]) == 4
    assert {f["properties"]["level"] for f in geo["features"]} == {2}
    drill = client.get("/?j=DE-BY")
    assert drill.text.count('class="alert-row"') == 2
    district = client.get("/?j=9162")
    assert f"/series/{world.series['9162']}" in district.text


def test_district_officer_sees_only_the_district(client: TestClient, world: World) -> None:
    browser_login(client, "officer_9162")
    page = client.get("/")
    assert page.text.count('class="alert-row"') == 1
    assert len(client.get("/situation/map.json").json()["features"]) == 1
    assert client.get("/?j=9184").status_code == 404
    assert client.get(f"/alerts/{world.alerts['9184']}").status_code == 404
    assert client.get(f"/series/{world.series['8111']}").status_code == 404


def test_acknowledge_from_the_alert_page(client: TestClient, world: World) -> None:
    _, token = browser_login(client, "officer_9162")
    alert = world.alerts["9162"]
    page = client.get(f"/alerts/{alert}")
    assert 'id="acknowledge"' in page.text
    # The evidence: the signals from shortly before the alarm to the alarm, flagged.
    assert page.text.count('<tr class="alarm"><td>2008-W10<span class="narrow-only">') == 1
    assert "<td>2008-W06</td>" in page.text and "<td>2008-W05</td>" not in page.text
    done = client.post(
        f"/alerts/{alert}/acknowledge",
        data={"csrf_token": token, "comment": "looking into it"},
        follow_redirects=True,
    )
    assert 'data-status="acknowledged"' in done.text and "looking into it" in done.text
    assert "&lt;alert" not in done.text  # acknowledging publishes no CAP message
    without_csrf = client.post(f"/alerts/{alert}/resolve", data={"comment": "x"})
    assert without_csrf.status_code == 403


def test_viewer_cannot_act(client: TestClient, world: World) -> None:
    _, token = browser_login(client, "viewer_8111")
    alert = world.alerts["8111"]
    assert 'id="acknowledge"' not in client.get(f"/alerts/{alert}").text
    refused = client.post(f"/alerts/{alert}/acknowledge", data={"csrf_token": token})
    assert refused.status_code == 403


def test_ingest_page_reports_bad_rows(client: TestClient, world: World) -> None:
    _, token = browser_login(client, "analyst_bw")
    csv = "period,jurisdiction,indicator,value\n2008-W11,8111,flu,3\n2008-W11,8212,flu,-1\n"
    response = client.post(
        "/ingest",
        data={"csrf_token": token},
        files={"file": ("counts.csv", csv.encode(), "text/csv")},
    )
    assert response.status_code == 422
    rows = re.findall(r'<tr class="problem-row"><td>([^<]+)</td>', response.text)
    assert rows == ["counts.csv:3:value"]
    good = client.post(
        "/ingest",
        data={"csrf_token": token},
        files={"file": ("ok.csv", b"period,jurisdiction,indicator,value\n2008-W11,8111,flu,3\n")},
    )
    assert good.status_code == 200 and "1 new" in good.text.replace("</span>", "")


def test_language_switch(client: TestClient) -> None:
    _, token = browser_login(client, "admin")
    assert "Open alerts" in client.get("/").text
    client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/"})
    page = client.get("/")
    assert "未处理的警报" in page.text and 'lang="zh-CN"' in page.text
    assert client.get("/api/v1/me").json()["locale"] == "zh_CN"


def test_admin_page_lists_only_administered_users(client: TestClient) -> None:
    browser_login(client, "by_admin")
    page = client.get("/admin")
    assert "officer_9162" in page.text and "by_coordinator" in page.text
    assert "analyst_bw" not in page.text and "viewer_8111" not in page.text


def test_ingest_skip_invalid_stores_only_rows_in_scope(client: TestClient, world: World) -> None:
    from sqlalchemy import text
    from tests.web.conftest import bearer

    csv = (
        "period,jurisdiction,indicator,value\n"
        "2008-W30,8111,flu,3\n2008-W30,9162,flu,4\n2008-W30,8212,flu,x\n"
    )
    response = client.post(
        "/api/v1/ingest",
        data={"skip_invalid": "true"},
        files={"file": ("mixed.csv", csv.encode(), "text/csv")},
        headers=bearer(world, "analyst_bw"),
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["stored"] and report["inserted"] == 1 and report["rejected"] == 2
    assert [p["location"] for p in report["problems"]] == [
        "mixed.csv:3:jurisdiction",
        "mixed.csv:4:value",
    ]
    with world.engine.connect() as conn:
        periods = conn.execute(
            text(
                "SELECT count(*) FROM observation o JOIN series s ON s.id = o.series_id "
                "WHERE s.jurisdiction_id = :j"
            ),
            {"j": world.jurisdictions["9162"]},
        ).scalar()
    assert periods == 10  # the fixture's ten weeks: nothing added outside the scope


def test_empty_fields_of_the_alert_list_mean_any(client: TestClient, world: World) -> None:
    """A GET form sends its empty fields (``level=``): the list answers, never 422."""
    browser_login(client, "admin")
    response = client.get("/alerts?status=&level=&j=&page=")
    assert response.status_code == 200
    assert response.text.count('class="alert-row"') == 4
    assert client.get("/alerts?level=9").status_code == 422  # a wrong value still is one


def test_an_alert_without_indicator_says_what_it_is_about(client: TestClient, world: World) -> None:
    """A missing-data or reserve alert has no indicator: the situation's indicator column
    names its kind instead of staying blank (a duty officer read an empty cell)."""
    import datetime as dt

    from tocsin.alerting.models import Alert
    from tocsin.store import write_session

    now = dt.datetime.now(dt.UTC)
    with write_session(world.engine) as db:
        for source in ("missing", "reserve"):
            db.add(
                Alert(
                    fingerprint=f"{source}:9162",
                    status="open",
                    source=source,
                    jurisdiction_id=world.jurisdictions["9162"],
                    level=1,
                    headline=f"{source} in 9162",
                    opened_at=now,
                    updated_at=now,
                )
            )
    _, token = browser_login(client, "admin")
    cells = re.findall(r'class="alert-row".*?</tr>', client.get("/?j=9162").text, re.S)
    assert any("missing data" in c for c in cells) and any("Reserves" in c for c in cells)
    # A feed that stopped altogether names its indicator after "missing data": read as
    # "Influenza" alone, it was taken for an influenza alarm.
    with write_session(world.engine) as db:
        flu = db.get(Alert, world.alerts["9162"]).indicator_id
        db.add(
            Alert(
                fingerprint="missing:outage:flu",
                status="open",
                source="missing",
                indicator_id=flu,
                jurisdiction_id=world.jurisdictions["9162"],
                level=2,
                headline="no data",
                opened_at=now,
                updated_at=now,
            )
        )
    page = client.get("/?j=9162").text
    assert "missing data: Influenza" in page
    client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/"})
    assert "数据缺报" in client.get("/?j=9162").text


@pytest.mark.parametrize(
    "path",
    ["/", "/alerts", "/queue", "/incidents", "/reserves", "/risks", "/scorecards", "/drills",
     "/completeness", "/audit", "/notifications", "/runs", "/admin", "/account", "/public"],
)  # fmt: skip
def test_every_page_title_is_plain_text(client: TestClient, path: str) -> None:
    """A merge once left a whole section of the reserves page inside its <title>."""
    browser_login(client, "admin")
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    title = re.search(r"<title>(.*?)</title>", page.text, re.S).group(1)
    assert "<" not in title and len(title) < 200, title
