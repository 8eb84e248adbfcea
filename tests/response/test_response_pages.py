"""Incident pages: open an incident from an alert's page, run it through its tasks,
levels, stand-down and review, in English and in Chinese."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from tests.response.conftest import DATA
from tests.web.conftest import World, browser_login

from tocsin.response import bodies, plans, tasks
from tocsin.store import write_session


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _open(client: TestClient, token: str, **fields: object) -> str:
    """Open an incident with the page's form; its address."""
    opened = client.post("/incidents", data={"csrf_token": token, **fields}, follow_redirects=False)
    assert opened.status_code == 303, opened.text
    return opened.headers["location"]


def test_from_the_alert_page_to_a_closed_incident(client: TestClient, world: World) -> None:
    with write_session(world.engine) as db:
        bodies.load(db, DATA / "bodies.yaml", by="test")
        plans.load(db, DATA / "plan-flu.yaml", by="test")
    _, token = browser_login(client, "officer_9162")
    alert = world.alerts["9162"]
    page = client.get(f"/alerts/{alert}").text
    assert 'id="open-incident"' in page
    url = _open(client, token, alert=alert, level="III")
    page = client.get(url).text
    assert 'data-status="response_active"' in page
    assert "Confirm the cases in the laboratory" in page and "inherited from DE-BY" in page
    task = re.search(r'data-task-id="(\d+)"', page).group(1)
    client.post(f"{url}/tasks/{task}", data={"csrf_token": token, "status": "done"})
    client.post(f"{url}/level", data={"csrf_token": token, "level": "II", "reason": "spreading"})
    page = client.get(url).text
    assert 'class="task task-done"' in page and "Activate the surge plan of hospitals" in page
    assert client.post(f"{url}/move/stood_down", data={"csrf_token": token}).status_code == 200
    refused = client.post(
        f"{url}/close",
        data={
            "csrf_token": token,
            "worked": "lab",
            "did_not_work": "phones",
            "actions": "no owner here",
        },
    )
    assert refused.status_code == 400 and "write 'action; owner'" in refused.text
    client.post(
        f"{url}/close",
        data={
            "csrf_token": token,
            "worked": "lab",
            "did_not_work": "phones",
            "actions": "new phones; health",
        },
    )
    page = client.get(url).text
    assert 'data-status="closed"' in page and "new phones — health" in page
    listed = client.get("/incidents?status=closed").text
    assert f'href="{url}"' in listed
    # Without the CSRF token a change is refused.
    assert client.post(f"{url}/comment", data={"text": "x"}).status_code == 403


def test_incident_pages_in_chinese_and_out_of_scope(client: TestClient, world: World) -> None:
    _, token = browser_login(client, "officer_9162")
    url = _open(client, token, jurisdiction="9162", hazard="accident", title="Bridge collapse")
    client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/"})
    page = client.get(url).text
    assert "响应级别" in page and "已报告" in page
    assert "事件" in client.get("/incidents").text
    client.cookies.clear()
    browser_login(client, "viewer_8111")
    assert client.get(url).status_code == 404


def test_a_situation_report_from_the_incident_page(client: TestClient, world: World) -> None:
    _, token = browser_login(client, "officer_9162")
    url = _open(
        client, token, jurisdiction="9162", hazard="accident", title="Chemical spill", level="II"
    )
    page = client.get(url).text
    assert 'id="report-form"' in page and 'data-overdue="no"' in page
    assert 'href="/static/css/print.css" media="print"' in page
    assert '<h2 class="no-print">' in page  # the forms' heading is not printed without them
    client.post(
        f"{url}/reports", data={"csrf_token": token, "situation": "River closed", "needs": "booms"}
    )
    page = client.get(url).text
    assert 'data-number="1"' in page and "River closed" in page and "booms" in page
    assert client.get("/static/css/print.css").status_code == 200


def test_incidents_name_their_hazard_and_place_in_the_readers_language(
    client: TestClient, world: World
) -> None:
    """The list and the page said ``accident`` and ``9162``: codes a duty officer must
    decode. They name the kind of event (or the indicator) and the district, in the
    reader's language."""
    _, token = browser_login(client, "officer_9162")
    for hazard, title in (("accident", "Bridge collapse"), ("flu", "Influenza wave")):
        url = _open(client, token, jurisdiction="9162", hazard=hazard, title=title)
    rows = re.findall(r'<tr class="incident-row".*?</tr>', client.get("/incidents").text, re.S)
    cells = " ".join(rows)
    assert "Accident" in cells and "Influenza" in cells and "District 9162" in cells
    assert ">accident<" not in cells and ">flu<" not in cells
    page = client.get(url).text
    assert "District 9162" in page and "Influenza" in page
    client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/"})
    listed = client.get("/incidents").text
    assert "事故" in listed


def _timeline(page: str) -> list[str]:
    found = re.search(r'<ol class="timeline" id="incident-timeline">(.*?)</ol>', page, re.S)
    return [re.sub(r"<[^>]+>", "", li).strip() for li in re.findall(r"<li.*?</li>", found[1], re.S)]


def test_the_timeline_reads_in_the_readers_language(client: TestClient, world: World) -> None:
    """The timeline was stored as English text, so a Chinese page said "- → II: declared
    on opening" and "no plan for accident is in force in 9162 or above it". tocsin's own
    entries are a message and its parameters, shown in the reader's language; what people
    type stays as they typed it; the API keeps the kind and the English text."""
    _, token = browser_login(client, "officer_9162")
    url = _open(
        client, token, jurisdiction="9162", hazard="accident", title="Bridge collapse", level="II"
    )
    client.post(f"{url}/comment", data={"csrf_token": token, "text": "Bridge shut, no entry"})
    english = " | ".join(_timeline(client.get(url).text))
    assert "Response level II declared: declared on opening" in english
    assert "No plan for Accident is in force in District 9162 or above it" in english
    client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/"})
    chinese = " | ".join(_timeline(client.get(url).text))
    assert "宣布II级响应：开设事件时宣布" in chinese
    assert "District 9162及其上级均无适用的事故灾难预案" in chinese
    assert "已报告 → 响应中：开设事件时宣布" in chinese
    assert "Bridge shut, no entry" in chinese  # a person's words, as typed
    assert "declared on opening" not in chinese and "no plan for" not in chinese.lower()
    incident_id = url.rsplit("/", 1)[-1]
    shown = client.get(f"/api/v1/incidents/{incident_id}").json()["timeline"]
    level = next(e for e in shown if e["kind"] == "level")
    assert level["text"] == "Response level II declared: declared on opening"
    assert level["message"] == "level.declared"


def test_the_incident_page_names_bodies_plans_and_people(client: TestClient, world: World) -> None:
    """The page said ``health``, ``Influenza contingency plan of Bavaria`` (in Chinese too),
    ``inherited from DE-BY`` and ``user:officer_9162``: codes and English a duty officer
    must decode. Bodies, the plan and the place it comes from are named in the reader's
    language, people by their name."""
    with write_session(world.engine) as db:
        bodies.load(db, DATA / "bodies.yaml", by="test")
        plans.load(db, DATA / "plan-flu.yaml", by="test")
    _, token = browser_login(client, "officer_9162")
    url = _open(client, token, alert=world.alerts["9162"], level="III")
    client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/"})
    page = client.get(url).text
    assert "巴伐利亚州流感应急预案" in page and "慕尼黑卫生局" in page
    assert "<td>health</td>" not in page
    assert "user:officer_9162" not in page


def test_the_list_of_incidents_is_the_roll_up(client: TestClient, world: World) -> None:
    """The roll-up of a subtree (what is open, what is overdue, what was asked for) was
    only in the API: a coordinator's list of incidents now shows it."""
    import datetime as dt

    from tocsin.response.models import Incident, IncidentTask

    with write_session(world.engine) as db:
        bodies.load(db, DATA / "bodies.yaml", by="test")
        plans.load(db, DATA / "plan-flu.yaml", by="test")
    _, token = browser_login(client, "officer_9162")
    url = _open(client, token, alert=world.alerts["9162"], level="III")
    client.post(f"{url}/reports", data={"csrf_token": token, "situation": "x", "needs": "beds"})
    incident_id = int(url.rsplit("/", 1)[-1])
    # Three hours on: one task is past its due time and the next report is late.
    with write_session(world.engine) as db:
        earlier = dt.timedelta(hours=30)
        incident = db.get(Incident, incident_id)
        incident.opened_at -= earlier
        task = db.query(IncidentTask).filter_by(incident_id=incident_id).first()
        task.due_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        for report in incident_reports(db, incident_id):
            report.submitted_at -= earlier
            report.due_at -= earlier
    client.cookies.clear()
    browser_login(client, "by_coordinator")
    listed = client.get("/incidents").text
    row = re.search(
        rf'<tr class="incident-row" data-incident-id="{incident_id}".*?</tr>', listed, re.S
    )[0]
    assert 'data-overdue="1"' in row and "1 overdue" in row
    assert '<td class="next-report" data-overdue="yes">' in row
    assert "beds" in row


def incident_reports(db, incident_id: int):
    from tocsin.response.models import SituationReport

    return db.query(SituationReport).filter_by(incident_id=incident_id).all()


def test_tasks_closed_by_tocsin_say_why_in_the_readers_language(
    client: TestClient, world: World
) -> None:
    """Lowering the level closes the more serious level's open tasks with a reason tocsin
    writes; the task list showed it in English on a Chinese page."""
    with write_session(world.engine) as db:
        bodies.load(db, DATA / "bodies.yaml", by="test")
        plans.load(db, DATA / "plan-flu.yaml", by="test")
    _, token = browser_login(client, "officer_9162")
    url = _open(client, token, alert=world.alerts["9162"], level="II")
    client.post(f"{url}/level", data={"csrf_token": token, "level": "III", "reason": "fewer"})
    english = client.get(url).text
    assert "response lowered from II to III: fewer" in english
    client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/"})
    chinese = client.get(url).text
    tasks = re.search(r'<table class="tasks">.*?</table>', chinese, re.S)[0]
    assert "响应由II级降至III级：fewer" in tasks and "response lowered" not in tasks
    assert 'id="incident-tasks-due"' in chinese  # open tasks at the top of the page


def test_a_plans_task_reads_in_chinese_when_the_plan_says_it(
    client: TestClient, world: World
) -> None:
    """A checklist item with ``title_zh`` makes a task a Chinese reader reads in Chinese,
    in the task list and on the timeline; the others keep the plan's words."""
    with write_session(world.engine) as db:
        bodies.load(db, DATA / "bodies.yaml", by="test")
        plans.load(db, DATA / "plan-flu.yaml", by="test")
    _, token = browser_login(client, "officer_9162")
    url = _open(client, token, alert=world.alerts["9162"], level="I")
    page = client.get(url).text
    first = re.search(
        r'data-task-id="(\d+)"><td class="wide">I</td><td>Convene the command staff', page
    )
    client.post(f"{url}/tasks/{first[1]}", data={"csrf_token": token, "status": "done"})
    client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/"})
    chinese = client.get(url).text
    tasks = re.search(r'<table class="tasks">.*?</table>', chinese, re.S)[0]
    assert "召集应急指挥部" in tasks and "Convene the command staff" not in tasks
    assert "Restrict mass gatherings" in tasks  # no Chinese title in the plan
    assert "召集应急指挥部：已完成" in " | ".join(_timeline(chinese))


def test_a_duty_officer_reads_the_plan_in_force_from_the_incident(
    client: TestClient, world: World
) -> None:
    """Only administrators could read a plan's levels (``/admin/plans``): a duty officer
    deciding at night whether to raise the level could not see what level II asks. The
    incident links the plan in force, readable by whoever reads the jurisdiction."""
    with write_session(world.engine) as db:
        bodies.load(db, DATA / "bodies.yaml", by="test")
        plans.load(db, DATA / "plan-flu.yaml", by="test")
    _, token = browser_login(client, "officer_9162")
    url = _open(client, token, alert=world.alerts["9162"], level="III")
    page = client.get(url).text
    link = re.search(r'<a href="([^"]+)" id="plan-in-force">', page)[1].replace("&amp;", "&")
    assert link == "/plans/in-force?jurisdiction=9162&hazard=flu"
    client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/"})
    plan = client.get(link)
    assert plan.status_code == 200
    assert "巴伐利亚州流感应急预案" in plan.text and "沿用" in plan.text  # inherited from DE-BY
    assert plan.text.count('class="card plan-level"') == 4 and "召集应急指挥部" in plan.text
    assert "慕尼黑卫生局" in plan.text  # the district's own health body acts for it
    none = client.get("/plans/in-force?jurisdiction=9162&hazard=accident")
    assert none.status_code == 200 and 'id="plan-summary"' in none.text


#: What a browser sends: errors come back as a page.
HTML = {"Accept": "text/html"}


def _task_row(page: str, task: str) -> str:
    return re.search(rf'<tr class="task[^"]*" data-task-id="{task}">(.*?)</tr>', page, re.S)[1]


def test_a_duty_officer_adds_and_reassigns_tasks_on_the_incident_page(
    any_client: TestClient, any_world: World
) -> None:
    """The page showed only a task's body, never the user it is assigned to, and had no
    form to add a task or give it to another body or person: only the API did. Both are
    forms of the page now, on the timeline in the reader's language; an unknown body or
    user is refused by name, with what to do."""
    with write_session(any_world.engine) as db:
        bodies.load(db, DATA / "bodies.yaml", by="test")
    _, token = browser_login(any_client, "officer_9162")
    url = _open(any_client, token, jurisdiction="9162", hazard="accident", title="Spill")
    page = any_client.get(url).text
    assert 'id="add-task"' in page
    added = any_client.post(
        f"{url}/tasks",
        data={"csrf_token": token, "title": "Close the bridge", "assignee_body": "emergency"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    page = any_client.get(url).text
    task = re.search(r'data-task-id="(\d+)"', page)[1]
    assert "State Emergency Management" in _task_row(page, task)
    # To a person: named by their display name, on the timeline.
    moved = any_client.post(
        f"{url}/tasks/{task}/assign",
        data={"csrf_token": token, "assignee_body": "", "assignee_user": "by_coordinator"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    page = any_client.get(url).text
    row = _task_row(page, task)
    assert "By_Coordinator" in row and "State Emergency Management" not in row
    assert "Close the bridge: assigned to By_Coordinator" in " | ".join(_timeline(page))
    # Unknown body, unknown user: refused by name, with what to do; nothing changed.
    refused = any_client.post(
        f"{url}/tasks/{task}/assign",
        data={"csrf_token": token, "assignee_body": "police", "assignee_user": ""},
        headers=HTML,
    )
    assert refused.status_code == 404
    assert "no body &#39;police&#39; in 9162 or above it" in refused.text
    assert "tocsin bodies load" in refused.text
    refused = any_client.post(
        f"{url}/tasks",
        data={"csrf_token": token, "title": "Divert traffic", "assignee_user": "nobody"},
        headers=HTML,
    )
    assert refused.status_code == 404
    assert "no active user &#39;nobody&#39;" in refused.text and "user name" in refused.text
    assert "Divert traffic" not in any_client.get(url).text
    # Back to a body, read in Chinese.
    any_client.post(
        f"{url}/tasks/{task}/assign",
        data={"csrf_token": token, "assignee_body": "health", "assignee_user": ""},
    )
    any_client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/"})
    page = any_client.get(url).text
    assert "慕尼黑卫生局" in _task_row(page, task)
    assert "Close the bridge：指派给慕尼黑卫生局" in " | ".join(_timeline(page))
    # Without the token, or without the right to run the incident: refused.
    assert any_client.post(f"{url}/tasks", data={"title": "x"}).status_code == 403
    any_client.cookies.clear()
    _, token = browser_login(any_client, "viewer_8111")
    refused = any_client.post(f"{url}/tasks", data={"csrf_token": token, "title": "x"})
    assert refused.status_code == 404
    with write_session(any_world.engine) as db:
        made = tasks.for_incident(db, int(url.rsplit("/", 1)[-1]))
        assert [t.title for t in made] == ["Close the bridge"]


def test_a_task_added_by_hand_is_due_at_the_time_typed_in_utc(
    client: TestClient, world: World
) -> None:
    _, token = browser_login(client, "officer_9162")
    url = _open(client, token, jurisdiction="9162", hazard="accident", title="Spill")
    refused = client.post(
        f"{url}/tasks",
        data={"csrf_token": token, "title": "Call the mayor", "due_at": "tomorrow"},
        headers=HTML,
    )
    assert refused.status_code == 400 and "write it as 2026-12-07T18:00 (UTC)" in refused.text
    client.post(
        f"{url}/tasks",
        data={"csrf_token": token, "title": "Call the mayor", "due_at": "2026-12-08T18:00"},
    )
    page = client.get(url).text
    task = re.search(r'data-task-id="(\d+)"', page)[1]
    row = _task_row(page, task)
    assert "Call the mayor" in row and "2026-12-08 18:00" in row


def test_an_incident_opened_from_an_alert_reads_its_headline_in_chinese(
    client: TestClient, world: World
) -> None:
    """Opened from an alert without a typed title, the incident took the alert's English
    headline, so the Chinese list, page and timeline showed English. Its title is the
    alert's headline in the reader's language; a typed title stays as typed."""
    from tocsin.alerting.models import Alert

    with write_session(world.engine) as db:
        db.get(
            Alert, world.alerts["9162"]
        ).headline_zh = "III级（黄色）：9162流感报告病例超出预期水平"
    _, token = browser_login(client, "officer_9162")
    url = _open(client, token, alert=world.alerts["9162"], level="III")
    typed = _open(client, token, jurisdiction="9162", hazard="accident", title="Bridge shut")
    english = client.get(url).text
    client.post("/language", data={"locale": "zh_CN", "csrf_token": token, "next": "/"})
    chinese = client.get(url).text
    heading = re.search(r"<h1>(.*?)</h1>", chinese, re.S)[1]
    assert re.search(r"[\u4e00-\u9fff]", heading), heading
    assert heading not in english
    assert re.search(r"[\u4e00-\u9fff]", _timeline(chinese)[0].split(":", 1)[-1])
    linked = re.search(r'<a href="/alerts/\d+">(.*?)</a>', chinese)[1]
    assert "9162流感报告病例" in linked  # the linked alert too
    listed = client.get("/incidents").text
    assert "Bridge shut" in listed and heading.split("</span>")[-1].strip()[:12] in listed
    assert "Bridge shut" in client.get(typed).text
