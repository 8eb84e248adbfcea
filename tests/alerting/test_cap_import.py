"""Import of other agencies' CAP messages (issue 9): a corpus of real messages, what each
kind of message does, geocode schemes, CAP 1.1 and EDXL-DE, circles, signatures,
encodings, long identifiers, and no entity expansion or network access.

Runs on SQLite and PostgreSQL (the ``store_engine`` fixture of tests/conftest.py).
"""

from __future__ import annotations

import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import delete, select

from tocsin.alerting import lifecycle
from tocsin.alerting.cap import message as cap
from tocsin.alerting.cap.feed import public_feed
from tocsin.alerting.cap.importer import import_cap, import_messages
from tocsin.alerting.cap.render import cap_xml
from tocsin.alerting.models import Alert, AlertTransition, CapMessageRow, Notification
from tocsin.errors import UserError
from tocsin.monitoring.models import Jurisdiction
from tocsin.store import write_session

CORPUS = Path(__file__).parent.parent / "data" / "cap"
T0 = dt.datetime(2024, 3, 4, 8, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)

#: file -> (CAP version, messages in it, what the first one does, signature report)
EXPECTED = {
    "eccc-naad-2019-alert.xml": ("1.2", 1, "opened alert", "signed; not verified"),
    "ec-2012-allclear.xml": ("1.2", 1, "recorded: an all-clear of a message", "unsigned"),
    "ec-2013-update-signed.xml": ("1.2", 1, "opened alert", "signed; not verified"),
    "nws-ipaws-2020-update.xml": ("1.2", 1, "opened alert", "unsigned"),
    "nws-2010-flood-watch-cap11.xml": ("1.1", 1, "opened alert", "unsigned"),
    "wcatwc-2011-tsunami-update.xml": ("1.2", 1, "opened alert", "unsigned"),
    "usgs-2012-alert-iso8859-1.xml": ("1.2", 1, "opened alert", "signed; not verified"),
    "usgs-2010-alert-cap11.xml": ("1.1", 1, "opened alert", "unsigned"),
    "usgs-cisn-2011-alert-cap11-signed.xml": ("1.1", 1, "opened alert", "signed; not verified"),
    "bom-2019-alert.xml": ("1.2", 1, "opened alert", "unsigned"),
    "rfs-nsw-2011-alert.xml": ("1.2", 1, "opened alert", "unsigned"),
    "rfs-nsw-2011-edxlde.xml": ("1.2", 7, "opened alert", "unsigned"),
    "rfs-nsw-2014-edxlde.xml": ("1.2", 1, "opened alert", "unsigned"),
    "pagasa-2014-test-signed.xml": ("1.2", 1, "recorded: status Test", "signed; not verified"),
    "smn-mexico-2018-update.xml": ("1.2", 1, "opened alert", "unsigned"),
    "wra-taiwan-2014-alert.xml": ("1.2", 1, "opened alert", "unsigned"),
    "imo-iceland-2021-alert.xml": ("1.2", 1, "opened alert", "unsigned"),
    "smhi-2019-alert-1.xml": ("1.2", 1, "opened alert", "unsigned"),
    "smhi-2019-alert-2.xml": ("1.2", 1, "opened alert", "unsigned"),
    "oasis-example-dhs-2003.xml": ("1.2", 1, "opened alert", "unsigned"),
    "oasis-example-nws-thunderstorm-2003.xml": ("1.2", 1, "opened alert", "unsigned"),
    "oasis-example-amber-2003-cap11.xml": ("1.1", 1, "opened alert", "unsigned"),
}


def test_the_corpus_is_complete() -> None:
    documents = sorted(p.name for p in CORPUS.glob("*.xml"))
    assert sorted([*EXPECTED, "krisinformation-2018-invalid.xml"]) == documents
    assert len(documents) >= 20


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_import_of_each_real_message(store_engine, settings, name) -> None:
    version, count, outcome, signature = EXPECTED[name]
    xml = (CORPUS / name).read_bytes()
    received = cap.read(xml, name)
    assert [r.version for r in received] == [version] * count
    now = received[0].message.sent + MINUTE  # imported while it is valid
    with write_session(store_engine) as session:
        results = import_messages(
            session, xml, source=name, by="import", now=now, settings=settings
        )
    assert len(results) == count
    for result, one in zip(results, received, strict=True):
        assert result.outcome.startswith(outcome), result.outcome
        assert result.signature.startswith(signature)
        with write_session(store_engine) as session:
            stored = cap_xml(session, one.message.sender, one.message.identifier, settings)
            row = session.scalar(
                select(CapMessageRow).where(CapMessageRow.identifier == one.message.identifier)
            )
            assert (row.outcome, row.signature, row.status) == (
                result.outcome, result.signature, one.message.status,
            )  # fmt: skip
            if result.alert_id is not None:
                alert = session.get(Alert, result.alert_id)
                assert alert.source == "external" and alert.status == "open"
        assert stored == (xml if count == 1 and not one.envelope else one.xml)
        assert cap.read(stored, name)[0].message == one.message
    # Importing it again changes nothing.
    with write_session(store_engine) as session:
        again = import_messages(session, xml, source=name, by="import", now=now, settings=settings)
    assert all(r.duplicate for r in again)


def test_an_invalid_real_message_is_refused_with_its_place(store_engine, settings) -> None:
    xml = (CORPUS / "krisinformation-2018-invalid.xml").read_bytes()
    with write_session(store_engine) as session, pytest.raises(cap.CapSchemaError) as caught:
        import_messages(session, xml, source="sweden.xml", by="import", now=T0, settings=settings)
    assert "line 17, element <senderName>" in str(caught.value)
    old = (CORPUS / "usgs-2010-alert-cap11.xml").read_bytes().replace(b">Past<", b">Soon<")
    with pytest.raises(cap.CapSchemaError) as caught:
        cap.read(old, "old.xml")
    assert "old.xml is not a valid CAP 1.1 message" in str(caught.value)
    assert "element <urgency>" in str(caught.value)


def _message(identifier: str, **changes) -> bytes:
    info = {
        "language": "en-US",
        "categories": ("Met",),
        "event": "Flood",
        "urgency": "Immediate",
        "severity": "Severe",
        "certainty": "Observed",
        "headline": "River flood",
        "expires": T0 + dt.timedelta(days=1),
        "areas": (cap.Area("Lower valley", geocodes=(("tocsin:jurisdiction", "C2"),)),),
    }
    info.update(changes.pop("info", {}))
    fields = {"sender": "hydro@agency.example", "sent": T0, **changes}
    return cap.to_xml(cap.CapMessage(identifier, infos=(cap.Info(**info),), **fields))


def _import(world, settings, xml, now=T0):
    with write_session(world.engine) as session:
        return import_cap(session, xml, source="t.xml", by="import", now=now, settings=settings)


def _forget(world) -> None:
    """Remove every alert and message (to import the same messages again)."""
    with write_session(world.engine) as session:
        for model in (Notification, AlertTransition, CapMessageRow, Alert):
            session.execute(delete(model))


def _alert(world, alert_id) -> Alert:
    with write_session(world.engine) as session:
        alert = session.get(Alert, alert_id)
        session.expunge(alert)
    return alert


def test_what_each_kind_of_message_does(world, settings) -> None:
    for status in ("Test", "Exercise", "System", "Draft"):
        result = _import(world, settings, _message(f"S-{status}", status=status))
        assert result.alert_id is None and f"status {status}" in result.outcome
    for kind in ("Ack", "Error"):
        result = _import(world, settings, _message(f"K-{kind}", msg_type=kind))
        assert result.alert_id is None and kind in result.outcome
    orphan = _import(world, settings, _message("C-0", msg_type="Cancel"))
    assert orphan.alert_id is None and "never received" in orphan.outcome
    expired = _import(world, settings, _message("E-1"), now=T0 + dt.timedelta(days=2))
    assert expired.alert_id is None and expired.outcome.startswith("recorded as expired")
    with write_session(world.engine) as session:
        assert session.scalar(select(Alert.id)) is None  # none of them opened an alert

    opened = _import(world, settings, _message("A-1"))
    assert _alert(world, opened.alert_id).jurisdiction_id == world.jurisdictions["C2"]
    with write_session(world.engine) as session:  # the link of the notification opens it
        (told,) = session.scalars(select(Notification.payload)).all()
    assert told["cap_url"] == (
        "http://tocsin.test/cap/message.xml?sender=hydro%40agency.example&identifier=A-1"
    )
    reference = cap.Reference("hydro@agency.example", "A-1", T0)
    update = _import(
        world, settings,
        _message("A-2", msg_type="Update", references=(reference,),
                 info={"severity": "Extreme", "headline": "Major flood"}),
        now=T0 + MINUTE,
    )  # fmt: skip
    assert update.outcome == f"updated alert {opened.alert_id}"
    assert _alert(world, opened.alert_id).level == 1
    clear = _import(
        world, settings,
        _message("A-3", msg_type="Update", references=(reference,),
                 info={"urgency": "Past", "response_types": ("AllClear",)}),
        now=T0 + 2 * MINUTE,
    )  # fmt: skip
    assert clear.outcome == f"resolved alert {opened.alert_id}"
    assert _alert(world, opened.alert_id).status == "resolved"

    second = _import(world, settings, _message("B-1"))
    first = cap.Reference("hydro@agency.example", "B-1", T0)
    cancel = _import(world, settings, _message("B-2", msg_type="Cancel", references=(first,)))
    assert cancel.outcome == f"cancelled alert {second.alert_id}"
    assert _alert(world, second.alert_id).status == "cancelled"


def test_expired_and_test_messages_are_never_republished(world, settings) -> None:
    valid = _import(world, settings, _message("F-1"))
    _import(world, settings, _message("F-2", status="Test"))
    _import(world, settings, _message("F-3"), now=T0 + dt.timedelta(days=3))
    with write_session(world.engine) as session:
        now_feed = public_feed(session, settings, T0 + MINUTE)
        later_feed = public_feed(session, settings, T0 + dt.timedelta(days=2))
    assert b"F-1" in now_feed and b"F-2" not in now_feed and b"F-3" not in now_feed
    assert b"F-1" not in later_feed  # it expired since: no longer republished
    assert valid.alert_id is not None


def test_geocodes_are_mapped_by_their_scheme(world, settings) -> None:
    xml = (CORPUS / "nws-2010-flood-watch-cap11.xml").read_bytes()
    sent = cap.parse(xml).sent
    with write_session(world.engine) as session:
        # A district whose code happens to be the US county's FIPS6 code.
        session.add(
            Jurisdiction(
                code="030049",
                level="county",
                name="Not Montana",
                parent_id=world.jurisdictions["P"],
            )
        )
        session.add(
            Jurisdiction(
                code="US-MT-030049",
                level="county",
                name="Lewis and Clark",
                parent_id=world.jurisdictions["R"],
            )
        )
    result = _import(world, settings, xml, now=sent + MINUTE)
    assert _alert(world, result.alert_id).jurisdiction_id is None  # FIPS6 is not mapped
    mapped = settings.model_copy(update={"cap_geocode_schemes": {"FIPS6": "US-MT-{value}"}})
    _forget(world)
    result = _import(world, mapped, xml, now=sent + MINUTE)
    with write_session(world.engine) as session:
        code = session.scalar(
            select(Jurisdiction.code)
            .join(Alert, Alert.jurisdiction_id == Jurisdiction.id)
            .where(Alert.id == result.alert_id)
        )
    assert code == "US-MT-030049"


def test_circles_and_empty_references_are_kept(world, settings) -> None:
    xml = (CORPUS / "usgs-2012-alert-iso8859-1.xml").read_bytes()
    result = _import(world, settings, xml, now=cap.parse(xml).sent + MINUTE)
    area = _alert(world, result.alert_id).external_area
    assert area["circles"] and len(area["circles"][0].split()) == 2
    with_empty = _message("R-1").replace(
        b"<scope>Public</scope>", b"<scope>Public</scope><references/>"
    )
    assert _import(world, settings, with_empty).alert_id is not None
    # A later transition published by tocsin keeps the circle.
    with write_session(world.engine) as session:
        lifecycle.resolve(session, result.alert_id, by="duty", now=T0, settings=settings)
    with write_session(world.engine) as session:
        rows = session.scalars(
            select(CapMessageRow)
            .where(CapMessageRow.alert_id == result.alert_id)
            .order_by(CapMessageRow.id)
        ).all()
        ours = cap.parse(cap_xml(session, rows[-1].sender, rows[-1].identifier, settings))
    assert ours.infos[0].areas[0].circles == tuple(area["circles"])


def test_declared_encodings_are_honoured(world, settings) -> None:
    text = _message("L-1", info={"headline": "Crue de la Sèvre à Niort"}).decode("utf-8")
    latin = text.replace("encoding='UTF-8'", "encoding='ISO-8859-1'").encode("iso-8859-1")
    assert b"S\xe8vre" in latin
    result = _import(world, settings, latin)
    assert _alert(world, result.alert_id).headline == "Crue de la Sèvre à Niort"


def test_long_identifiers_are_refused_with_a_clear_message(store_engine, settings) -> None:
    xml = _message("X" * 301)
    with write_session(store_engine) as session, pytest.raises(UserError) as caught:
        import_cap(session, xml, source="long.xml", by="import", now=T0, settings=settings)
    assert "identifier is 301 characters long" in str(caught.value)
    assert "at most 300" in str(caught.value)


def _self_signed():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hydro agency")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256())
    )  # fmt: skip
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem_key, certificate.public_bytes(serialization.Encoding.PEM)


def test_signatures_are_reported(world, settings, tmp_path) -> None:
    from signxml import XMLSigner

    key, certificate = _self_signed()
    trusted = tmp_path / "trusted.pem"
    trusted.write_bytes(certificate)
    signed = etree.tostring(
        XMLSigner().sign(etree.fromstring(_message("G-1")), key=key, cert=certificate)
    )
    cap.validate(signed)
    unchecked = _import(world, settings, signed)
    assert unchecked.signature.startswith("signed; not verified: no trusted certificates")
    _forget(world)
    checking = settings.model_copy(update={"cap_trusted_certificates": str(trusted)})
    verified = _import(world, checking, signed)
    assert verified.signature == "signed; verified with the trusted certificate CN=hydro agency"
    tampered = signed.replace(b"G-1", b"G-2").replace(b"River flood", b"No flood")
    refused = _import(world, checking, tampered)
    assert refused.signature.startswith("signed; NOT verified")
    assert _import(world, checking, _message("G-3")).signature == "unsigned"


def test_no_entity_expansion_and_no_network_access(world, settings) -> None:
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<!ENTITY leak 'fetched'>")

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    body = _message("Z-1").decode().split("?>", 1)[1]
    payloads = {
        "external file": f'<!DOCTYPE alert [<!ENTITY x SYSTEM "file:///etc/passwd">]>{body}'.replace(
            "River flood", "&x;"
        ),
        "network entity": f'<!DOCTYPE alert [<!ENTITY x SYSTEM "{url}/entity">]>{body}'.replace(
            "River flood", "&x;"
        ),
        "external DTD": f'<!DOCTYPE alert SYSTEM "{url}/dtd">{body}',
        "parameter entity": f'<!DOCTYPE alert [<!ENTITY % p SYSTEM "{url}/param"> %p;]>{body}',
        "billion laughs": (
            '<!DOCTYPE alert [<!ENTITY a "aaaaaaaaaa">'
            + "".join(
                f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)
            )
            + f"]>{body}"
        ).replace("River flood", "&i;"),
    }
    try:
        for what, payload in payloads.items():
            with pytest.raises(cap.CapSchemaError, match=r"DOCTYPE|entity") as caught:
                _import(world, settings, payload.encode())
            assert "root:" not in str(caught.value), what
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []
    with write_session(world.engine) as session:
        assert session.scalar(select(CapMessageRow.id)) is None
