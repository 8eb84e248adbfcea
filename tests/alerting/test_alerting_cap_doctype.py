"""A CAP message with a DOCTYPE (entities) is refused with a clear message, and nothing in
it is expanded or fetched (issue 18)."""

from __future__ import annotations

import sys

import pytest

from tocsin.alerting.cap import message as cap
from tocsin.cli import main

VALID = cap.to_xml(
    cap.CapMessage(
        identifier="other-1",
        sender="other@agency.test",
        sent=cap.parse_datetime("2024-05-01T06:00:00+08:00"),
        infos=(
            cap.Info(
                language="en-US",
                categories=("Health",),
                event="Flood",
                urgency="Expected",
                severity="Severe",
                certainty="Likely",
                headline="Flood",
                areas=(cap.Area("River valley"),),
            ),
        ),
    )
).decode()


def _with_doctype(entities: str) -> bytes:
    body = VALID.split("?>", 1)[1].replace("<headline>Flood", "<headline>&boom;Flood")
    return f'<?xml version="1.0"?>\n<!DOCTYPE alert [{entities}]>{body}'.encode()


@pytest.mark.parametrize(
    "entities",
    [
        '<!ENTITY boom "expanded">',
        '<!ENTITY boom SYSTEM "file:///etc/passwd">',
        '<!ENTITY boom SYSTEM "http://127.0.0.1:9/never-fetched">',
        '<!ENTITY a "aaaaaaaaaa"><!ENTITY boom "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">',
    ],
)
def test_a_message_with_a_doctype_is_refused(entities: str) -> None:
    xml = _with_doctype(entities)
    with pytest.raises(cap.CapSchemaError) as info:
        cap.parse(xml, "agency.xml")
    message = str(info.value)
    assert "DOCTYPE" in message and "agency.xml" in message
    assert "root:" not in message and "expanded" not in message


def test_the_command_line_refuses_it_with_exit_2(store_url, tmp_path, monkeypatch, capsys) -> None:
    path = tmp_path / "agency.xml"
    path.write_bytes(_with_doctype('<!ENTITY boom SYSTEM "file:///etc/passwd">'))
    monkeypatch.setattr(sys, "argv", ["tocsin", "cap", "import", str(path), "--by", "test"])
    with pytest.raises(SystemExit) as info:
        main()
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert "DOCTYPE" in err and "internal error" not in err and "Traceback" not in err
