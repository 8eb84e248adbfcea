"""The risk pages: heat map and list of a subtree (each cell links to its risks, overdue
reviews flagged), a risk, a joint assessment through its forms, the composite index; in
English and Chinese, and only inside the reader's scope."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from tests.risk.conftest import DATA, respond
from tests.risk.index_data import store_values
from tests.web.conftest import World, browser_login

from tocsin.risk import indexes, register
from tocsin.store import write_session

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def _load(world: World) -> None:
    respond(world)
    store_values(world.engine)
    with write_session(world.engine) as db:
        register.load(db, DATA / "risks.yaml", actor="test", now=NOW)
        register.load(db, DATA / "risks.csv", actor="test", now=NOW)
        indexes.load(db, DATA / "index-model.yaml", actor="test", now=NOW)


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_the_heat_map_counts_a_subtree_and_each_cell_lists_its_risks(
    client: TestClient, world: World
) -> None:
    _load(world)
    _, token = browser_login(client, "by_coordinator")
    page = client.get("/risks?j=DE-BY")
    assert page.status_code == 200
    text = _flat(page.text)
    cells = dict(
        ((int(lk), int(im)), int(n))
        for lk, im, n in re.findall(
            r'data-likelihood="(\d)" data-impact="(\d)" data-count="(\d+)"', text
        )
    )
    assert len(cells) == 25 and sum(cells.values()) == 4
    assert cells[(4, 4)] == 1 and cells[(3, 2)] == 1 and cells[(5, 5)] == 0
    assert "j=DE-BY&amp;likelihood=4&amp;impact=4#risk-list" in text
    assert 'class="cell risk-very_high' in text
    assert "review overdue" in text and "actions overdue: 1" in text
    assert "bw-grain" not in text  # another state's risk
    cell = _flat(client.get("/risks?j=DE-BY&likelihood=4&impact=4").text)
    assert 'data-code="by-flu-wave"' in cell and 'data-code="munich-heat"' not in cell
    assert client.get("/risks?j=DE-BW").status_code == 404
    assert client.get("/risks/bw-grain").status_code == 404
    client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/"})
    zh = _flat(client.get("/risks?j=DE-BY").text)
    assert "风险热力图" in zh and "严重流感季超出医院承受能力" in zh and "极高" in zh


def test_a_joint_assessment_through_the_pages(client: TestClient, world: World) -> None:
    _load(world)
    _, token = browser_login(client, "by_coordinator")
    risk = _flat(client.get("/risks/munich-heat").text)
    assert "Heat wave in Munich" in risk and 'id="open-assessment"' in risk
    opened = client.post(
        "/risks/munich-heat/assessments",
        data={"csrf_token": token, "question": "Summer 2027"},
        follow_redirects=False,
    )
    assert opened.status_code == 303
    url = opened.headers["location"]
    page = _flat(client.get(url).text)
    # The coordinator speaks for DE-BY's emergency body only (its member).
    assert '<option value="emergency">' in page and '<option value="health">' not in page
    given = {
        "csrf_token": token,
        "body": "emergency",
        "likelihood": "4",
        "impact": "3",
        "confidence": "moderate",
        "reasoning": "Ten hot days forecast.",
    }
    assert client.post(f"{url}/contributions", data=given).status_code == 200
    refused = client.post(f"{url}/contributions", data={**given, "body": "health"})
    assert refused.status_code == 400 and "not a member of health" in refused.text
    vague = client.post(f"{url}/contributions", data={**given, "confidence": "sure"})
    assert vague.status_code == 400 and "confidence: Input should be" in vague.text
    silent = client.post(f"{url}/contributions", data={**given, "reasoning": ""})
    assert silent.status_code == 400 and "reasoning" in silent.text
    agreed = client.post(
        f"{url}/agree",
        data={
            "csrf_token": token,
            "likelihood": "4",
            "impact": "3",
            "confidence": "moderate",
            "rationale": "As emergency said.",
        },
    )
    assert agreed.status_code == 200
    text = _flat(agreed.text)
    assert 'data-status="agreed"' in text and "Ten hot days forecast." in text
    assert 'id="contribute"' not in text
    after = _flat(client.get("/risks/munich-heat").text)
    assert 'data-level="high"' in after and "Summer 2027" in after


def test_the_composite_index_page(client: TestClient, world: World) -> None:
    _load(world)
    browser_login(client, "by_coordinator")
    text = _flat(client.get("/risk-index?j=DE-BY").text)
    assert 'data-jurisdiction="9162" data-risk="6.23' in text
    assert "poverty_rate 20 (2026-11) → 5.0" in text
    assert 'href="/series/' in text
    assert "8111" not in text


def test_an_incident_is_assessed_jointly_from_its_page(client: TestClient, world: World) -> None:
    respond(world)
    _, token = browser_login(client, "by_coordinator")
    opened = client.post(
        "/incidents",
        data={"csrf_token": token, "alert": str(world.alerts["9162"])},
        follow_redirects=False,
    )
    incident = opened.headers["location"]
    page = _flat(client.get(incident).text)
    assert 'id="open-assessment"' in page and "No joint assessment yet." in page
    started = client.post(
        f"{incident}/assessments",
        data={"csrf_token": token, "question": "Spread to the state?"},
        follow_redirects=False,
    )
    assert started.status_code == 303
    session = _flat(client.get(started.headers["location"]).text)
    assert "Spread to the state?" in session and 'data-status="open"' in session
    assert "Spread to the state?" in _flat(client.get(incident).text)
    assert (
        client.post(
            f"{incident}/assessments", data={"csrf_token": token, "question": "  "}
        ).status_code
        == 400
    )


def test_the_composite_index_is_a_layer_of_the_situation_map(
    client: TestClient, world: World
) -> None:
    _load(world)
    browser_login(client, "by_coordinator")
    found = client.get("/risk-index/map.json?j=DE-BY").json()
    bands = {f["properties"]["code"]: f["properties"]["band"] for f in found["features"]}
    risks = {f["properties"]["code"]: f["properties"]["risk"] for f in found["features"]}
    # 9162: 6.233 (the hand-computed index of test_risk_index) -> band 4 (6 to 8).
    assert bands["9162"] == 4 and abs(risks["9162"] - 6.233) < 1e-3
    assert "8111" not in bands  # outside the coordinator's scope
    assert all(f["geometry"] for f in found["features"])
    text = _flat(client.get("/?j=DE-BY").text)
    assert 'data-index-url="/risk-index/map.json?model=' in text
    assert 'id="legend-index" hidden' in text and "6 to 8" in text
