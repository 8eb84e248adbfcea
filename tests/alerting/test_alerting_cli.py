"""``tocsin alerts``, ``tocsin cap`` and ``tocsin worker`` against a real store."""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from capparselib.parsers import CAPParser
from sqlalchemy import select

from tocsin.alerting.cap import message as cap
from tocsin.alerting.settings import get_alerting_settings

SENT = dt.datetime(2024, 5, 1, 6, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture
def cli(world, cli, monkeypatch):
    """``tocsin ARGS`` in this process (tests/conftest.py) on the alerting world, with
    notifications delivered at once."""
    monkeypatch.setenv("TOCSIN_PUBLIC_URL", "http://tocsin.test")
    monkeypatch.setenv("TOCSIN_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("TOCSIN_NOTIFY_GROUP_WAIT_SECONDS", "0")  # deliver at once
    get_alerting_settings.cache_clear()
    yield cli
    get_alerting_settings.cache_clear()


def test_raise_list_show_ack_cap_resolve(cli) -> None:
    code, out, _ = cli(
        "alerts", "raise", "--jurisdiction", "C1", "--level", "orange",
        "--headline", "Water level rising", "--headline-zh", "水位上涨", "--by", "duty-C1",
    )  # fmt: skip
    assert code == 0 and "open" in out
    code, out, _ = cli("alerts", "list", "--open", "--jurisdiction", "P", "--json")
    (alert,) = json.loads(out)
    assert (alert["level"], alert["colour"], alert["jurisdiction"]) == ("II", "orange", "C1")
    alert_id = str(alert["id"])
    assert json.loads(cli("alerts", "list", "--jurisdiction", "C2", "--json")[1]) == []
    code, out, _ = cli("alerts", "ack", alert_id, "--by", "duty-C1", "--comment", "seen")
    assert code == 0 and "acknowledged" in out
    code, out, _ = cli("alerts", "cap", alert_id)
    cap.validate(out.encode())
    (parsed,) = CAPParser(out).as_dict()
    assert str(parsed["cap_message_type"]) == "Alert"  # acknowledging publishes nothing
    code, out, _ = cli("alerts", "resolve", alert_id, "--by", "duty-C1")
    assert code == 0
    code, _, err = cli("alerts", "cancel", alert_id, "--by", "duty-C1")
    assert code == 2 and "resolved" in err and "Traceback" not in err
    code, out, _ = cli("alerts", "show", alert_id, "--json")
    shown = json.loads(out)
    assert [t["action"] for t in shown["transitions"]] == ["open", "acknowledge", "resolve"]
    assert shown["transitions"][1]["comment"] == "seen"
    assert [m["msg_type"] for m in shown["cap_messages"]] == ["Alert", "Update"]
    code, out, _ = cli("alerts", "show", alert_id)
    assert code == 0 and "Transitions" in out
    code, _, err = cli("alerts", "ack", "999", "--by", "x")
    assert code == 2 and "no alert with id 999" in err


def _external(identifier: str, msg_type: str = "Alert", refs=(), severity="Severe") -> bytes:
    info = cap.Info(
        language="en-US",
        categories=("Met",),
        event="Flood",
        urgency="Expected",
        severity=severity,
        certainty="Likely",
        headline="River flood warning",
        areas=(
            cap.Area(
                "Lower valley",
                ("39.0,116.0 39.0,116.5 39.5,116.5 39.0,116.0",),
                (("tocsin:jurisdiction", "C2"),),
            ),
        ),
    )
    message = cap.CapMessage(
        identifier=identifier,
        sender="hydro@agency.example",
        sent=SENT,
        msg_type=msg_type,
        references=tuple(refs),
        infos=(info,),
    )
    return cap.to_xml(message)


def test_cap_import_alert_update_cancel_and_errors(cli, tmp_path) -> None:
    first = tmp_path / "flood-1.xml"
    first.write_bytes(_external("FLOOD-1"))
    code, out, _ = cli("cap", "import", str(first), "--by", "analyst")
    assert code == 0 and "opened alert" in out and "unsigned" in out
    (alert,) = json.loads(cli("alerts", "list", "--json")[1])
    assert (alert["source"], alert["jurisdiction"], alert["level"]) == ("external", "C2", "II")
    assert cli("cap", "import", str(first))[0] == 0  # the same message again: no change
    assert len(json.loads(cli("alerts", "list", "--json")[1])) == 1
    ref = cap.Reference("hydro@agency.example", "FLOOD-1", SENT)
    update = tmp_path / "flood-2.xml"
    update.write_bytes(_external("FLOOD-2", "Update", [ref], severity="Extreme"))
    cancel = tmp_path / "flood-3.xml"
    cancel.write_bytes(_external("FLOOD-3", "Cancel", [ref]))
    assert cli("cap", "import", str(update), str(cancel))[0] == 0
    shown = json.loads(cli("alerts", "show", str(alert["id"]), "--json")[1])
    assert shown["status"] == "cancelled" and shown["level"] == "I"
    kinds = [m["msg_type"] for m in shown["cap_messages"]]
    assert kinds == ["Alert", "Update", "Cancel"]  # the agency's; tocsin adds none
    code, out, _ = cli(
        "alerts", "cap", str(alert["id"]), "--identifier", "FLOOD-1",
        "--sender", "hydro@agency.example",
    )  # fmt: skip
    assert "hydro@agency.example" in out  # the agency's message, verbatim

    broken = tmp_path / "broken.xml"
    broken.write_bytes(_external("BAD-1").replace(b"<urgency>Expected<", b"<urgency>Soon<"))
    code, _, err = cli("cap", "import", str(broken))
    assert code == 2
    assert "broken.xml is not a valid CAP 1.2 message" in err
    line = broken.read_bytes().split(b"\n").index(b"    <urgency>Soon</urgency>") + 1
    assert f"line {line}, element <urgency>" in err
    code, _, err = cli("cap", "import", str(tmp_path / "missing.xml"))
    assert code == 2 and "cannot read" in err


def test_cap_import_from_url_and_validate(cli, tmp_path) -> None:
    (tmp_path / "warn.xml").write_bytes(_external("URL-1"))
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/warn.xml"
        assert cli("cap", "validate", url)[0] == 0
        code, out, _ = cli("cap", "import", url)
        assert code == 0 and "alert" in out
    finally:
        server.shutdown()
        server.server_close()
    code, out, _ = cli("cap", "feed")
    assert code == 0 and "<feed" in out and "URL-1" in out


def test_worker_once_delivers(cli, webhook) -> None:
    inbox, _ = webhook
    cli(
        "alerts", "raise", "--jurisdiction", "R", "--level", "I",
        "--headline", "Grid failure", "--by", "duty-R",
    )  # fmt: skip
    code, _, err = cli("worker", "--once")
    assert code == 0 and "1 delivered" in err
    assert [r["path"] for r in inbox.requests] == ["/hook/R"]


def test_duty_setup_commands(cli, monkeypatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0")
    code, out, _ = cli(
        "alerts", "contact", "--jurisdiction", "C1", "--name", "night desk",
        "--webhook", "http://127.0.0.1:9/x", "--secret-env", "HOOK_SECRET",
    )  # fmt: skip
    assert code == 0
    assert cli("alerts", "policy", "--jurisdiction", "P", "--step", "0:0", "--step", "10:1")[0] == 0
    code, _, err = cli("alerts", "policy", "--jurisdiction", "P", "--step", "ten")
    assert code == 2 and "WAIT_MINUTES:LEVELS_UP" in err
    assert cli("alerts", "policy", "--jurisdiction", "P", "--inherit")[0] == 0
    assert cli("alerts", "rule", "--indicator", "measles", "--group-by", "indicator")[0] == 0
    code, _, err = cli("alerts", "rule", "--indicator", "measles", "--group-by", "nation")
    assert code == 2 and "group_by" in err
    severity = ("--cutoffs", "0.01,0.001,0.0001", "--min-counts", "2,4,8,16")
    assert cli("alerts", "rule", "--indicator", "measles", *severity)[0] == 0
    code, _, err = cli("alerts", "rule", "--indicator", "measles", "--min-counts", "0,5,10,20")
    assert code == 2 and "a zero count never raises an alert" in err
    code, _, err = cli("alerts", "rule", "--indicator", "measles", "--cutoffs", "0.1,0.5,0.01")
    assert code == 2 and "decrease from level III to level I" in err
    code, _, err = cli("alerts", "rule", "--indicator", "measles", "--min-counts", "1,five")
    assert code == 2 and "--min-counts '1,five': expected numbers" in err
    code, out, _ = cli("alerts", "silence", "--by", "duty", "--hours", "2", "--level", "blue")
    assert code == 0 and "silence" in out
    (silence,) = json.loads(cli("alerts", "silences", "--json")[1])
    assert (silence["levels"], silence["jurisdiction"]) == (["IV"], None)
    assert cli("alerts", "unsilence", str(silence["id"]), "--by", "duty")[0] == 0
    assert json.loads(cli("alerts", "silences", "--json")[1]) == []
    assert len(json.loads(cli("alerts", "silences", "--all", "--json")[1])) == 1
    code, _, err = cli("alerts", "unsilence", "999", "--by", "duty")
    assert code == 2 and "no silence with id 999" in err
    code, _, err = cli("alerts", "silence", "--by", "duty", "--hours", "2")
    assert code == 2 and "matcher" in err  # it would mute every notification
    code, _, err = cli("alerts", "silence", "--by", "duty", "--hours", "1", "--matcher", "level=~(")
    assert code == 2 and "level=~(" in err
    code, _, _ = cli(
        "alerts", "silence", "--by", "duty", "--hours", "1", "--matcher", 'jurisdiction!~"DE-.*"'
    )
    (silence,) = json.loads(cli("alerts", "silences", "--json")[1])
    assert silence["matchers"] == ['jurisdiction!~"DE-.*"'] and silence["created_by"] == "duty"


def test_contact_update_deactivate_reactivate(cli, world, monkeypatch) -> None:
    from sqlalchemy.orm import Session

    from tocsin.alerting.models import DutyContact
    from tocsin.audit.models import AuditEntry

    ident = str(world.contacts["C2"])
    new_secret = "whsec_bjN3LW4zdy1uM3ctbjN3LW4zdy1uM3ctbjN3"  # 27 bytes
    monkeypatch.setenv("NEW_SECRET", new_secret)
    code, out, _ = cli(
        "alerts", "contact-update", ident, "--name", "day desk", "--email", "day@c2.example",
        "--webhook", "", "--secret-env", "NEW_SECRET", "--by", "admin",
    )  # fmt: skip
    assert code == 0 and "day desk (day@c2.example): active" in out
    code, out, _ = cli("alerts", "contact-update", ident, "--inactive", "--by", "admin")
    assert code == 0 and "inactive" in out
    with Session(world.engine) as db:
        contact = db.get(DutyContact, int(ident))
        assert (contact.name, contact.email, contact.webhook_url) == (
            "day desk",
            "day@c2.example",
            None,
        )
        assert contact.webhook_secret == new_secret and not contact.active
        actions = db.scalars(
            select(AuditEntry.action).where(AuditEntry.object_type == "duty_contact")
        ).all()
    assert actions == ["duty_contact.update", "duty_contact.deactivate"]
    assert cli("alerts", "contact-update", ident, "--active")[0] == 0
    code, _, err = cli("alerts", "contact-update", ident, "--email", "")
    assert code == 2 and "needs an e-mail address or a webhook URL" in err
    assert "Traceback" not in err
    code, _, err = cli("alerts", "contact-update", "999999", "--name", "x")
    assert code == 2 and "no duty contact with id 999999" in err
    code, out, _ = cli("alerts", "contacts", "--json")
    listed = {row["id"]: row for row in json.loads(out)}
    assert code == 0 and listed[int(ident)]["name"] == "day desk"
    assert listed[int(ident)]["active"] and listed[int(ident)]["signed"]
    assert new_secret not in out and new_secret[6:] not in out  # secrets are never printed
    code, out, _ = cli("alerts", "contacts", "--jurisdiction", "NOWHERE")
    assert code == 2 and "NOWHERE" in out + _


def test_show_says_why_a_detected_alert_has_its_level(cli, world) -> None:
    from tocsin.alerting import grouping
    from tocsin.alerting.grouping import SignalIn
    from tocsin.store import write_session

    signal = SignalIn(
        world.series["C1"], 2830, True, 12.0, 2.0, 6.0, tail_probability=5e-9, method="bayes"
    )
    with write_session(world.engine) as session:
        (alert_id,) = grouping.process_signals(
            session, [signal], now=dt.datetime.now(dt.UTC), settings=get_alerting_settings()
        ).opened
    code, out, _ = cli("alerts", "show", str(alert_id))
    assert code == 0
    assert (
        "Why: level II from bayes, observed 12, tail probability 5e-09, below 0.0001, count "
        "at least 10, held below level I by the count" in " ".join(out.split())
    )
    shown = json.loads(cli("alerts", "show", str(alert_id), "--json")[1])
    assert shown["severity_basis"]["level_by_probability"] == 1
