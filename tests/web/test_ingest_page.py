"""The ingest page and API when the file itself is wrong (issue 11, defect 5): the
file-level message that the CLI prints (a missing column) reaches the page and the API's
report, never "0 problems in the data"."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.web.conftest import World, bearer, browser_login

NO_INDICATOR = b"period,jurisdiction,value\n2008-W11,8111,3\n"


def test_the_page_names_the_missing_column(client: TestClient, world: World) -> None:
    _, token = browser_login(client, "admin")
    response = client.post(
        "/ingest",
        data={"csrf_token": token},
        files={"file": ("counts.csv", NO_INDICATOR, "text/csv")},
    )
    assert response.status_code == 422
    report = response.text[response.text.index('id="ingest-report"') :]
    assert "missing column indicator" in report
    assert "0 problems" not in report
    # What to do, in the page's terms: the form's field for the indicator of every row.
    assert "Indicator of every row" in report
    assert 'name="indicator"' in response.text


def test_the_api_report_carries_the_message(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/ingest",
        headers=bearer(world, "admin"),
        files={"file": ("counts.csv", NO_INDICATOR, "text/csv")},
    )
    assert response.status_code == 422
    body = response.json()
    assert "missing column indicator" in body["detail"]
    assert body["report"]["message"] == body["detail"]
    assert body["report"]["problems_total"] == 0


def test_the_form_keeps_what_was_typed(client: TestClient, world: World) -> None:
    _, token = browser_login(client, "admin")
    response = client.post(
        "/ingest",
        data={"csrf_token": token, "indicator": "nosuch", "skip_invalid": "true"},
        files={"file": ("counts.csv", NO_INDICATOR, "text/csv")},
    )
    assert response.status_code == 422
    assert "No indicator has the code “nosuch”" in response.text
    assert "one of: flu" in response.text and "tocsin indicators load" not in response.text
    assert 'name="indicator" value="nosuch"' in response.text
    assert 'name="skip_invalid" value="true" style="width:auto" checked' in response.text
