"""CAP 1.2 messages: built with lxml, validated with the OASIS XSD, read by capparselib."""

from __future__ import annotations

import datetime as dt
import json
from importlib.resources import files

import numpy as np
import pytest
from capparselib.parsers import CAPParser

from tocsin.alerting.cap import message as cap

SENT = dt.datetime(2024, 2, 12, 8, 30, 15, 123456, tzinfo=dt.UTC)
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[8.0, 53.0], [8.5, 53.0], [8.5, 53.5], [8.0, 53.5], [8.0, 53.0]]],
}


def _message(msg_type: str = "Alert", references: tuple[cap.Reference, ...] = ()) -> cap.CapMessage:
    area = cap.Area(
        description="SK Delmenhorst",
        polygons=cap.polygons_from_geojson(SQUARE),
        geocodes=(("tocsin:jurisdiction", "03401"),),
    )
    infos = tuple(
        cap.Info(
            language=language,
            categories=("Health",),
            event=event,
            urgency="Immediate",
            severity="Severe",
            certainty="Likely",
            headline=headline,
            parameters=(("tocsin:level", "II"), ("tocsin:colour", "orange")),
            web="http://localhost:8000/alerts/1",
            areas=(area,),
        )
        for language, event, headline in (
            ("en-US", "Measles", "Measles above threshold in SK Delmenhorst"),
            ("zh-CN", "麻疹", "SK Delmenhorst 麻疹超过阈值"),
        )
    )
    return cap.CapMessage(
        identifier="tocsin.alert.1.2",
        sender="tocsin@example.org",
        sent=SENT,
        msg_type=msg_type,
        references=references,
        infos=infos,
    )


def test_alert_is_valid_and_read_back_by_capparselib() -> None:
    xml = cap.to_xml(_message())
    cap.validate(xml)
    (alert,) = CAPParser(xml.decode()).as_dict()
    assert str(alert["cap_id"]) == "tocsin.alert.1.2"
    assert str(alert["cap_sent"]) == "2024-02-12T08:30:15-00:00"
    assert str(alert["cap_message_type"]) == "Alert"
    languages = [str(info["cap_language"]) for info in alert["cap_info"]]
    assert languages == ["en-US", "zh-CN"]
    assert str(alert["cap_info"][1]["cap_headline"]) == "SK Delmenhorst 麻疹超过阈值"
    polygon = str(alert["cap_info"][0]["cap_area"][0]["polygon"])
    points = polygon.split()
    assert points[0] == points[-1] == "53.0000,8.0000"  # latitude first
    assert len(points) == 5


def test_update_references_earlier_messages_and_round_trips() -> None:
    first = _message()
    update = _message("Update", references=(first.reference(),))
    xml = cap.to_xml(update)
    cap.validate(xml)
    assert b"<references>tocsin@example.org,tocsin.alert.1.2,2024-02-12T08:30:15-00:00<" in xml
    parsed = cap.parse(xml)
    assert parsed.references == (
        cap.Reference("tocsin@example.org", "tocsin.alert.1.2", SENT.replace(microsecond=0)),
    )
    assert parsed.msg_type == "Update"
    assert parsed.infos[1].language == "zh-CN"
    assert parsed.infos[0].areas[0].polygons == first.infos[0].areas[0].polygons
    assert parsed.infos[0].areas[0].geocodes == (("tocsin:jurisdiction", "03401"),)
    assert parsed.infos[0].parameters[0] == ("tocsin:level", "II")


def test_sent_uses_numeric_offset() -> None:
    other_zone = SENT.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert cap.format_datetime(other_zone) == "2024-02-12T16:30:15+08:00"
    assert cap.format_datetime(SENT) == "2024-02-12T08:30:15-00:00"
    with pytest.raises(ValueError):
        cap.format_datetime(SENT.replace(tzinfo=None))


def test_schema_errors_name_line_and_element() -> None:
    xml = cap.to_xml(_message()).replace(b"<severity>Severe<", b"<severity>Terrible<")
    xml = xml.replace(b"-00:00</sent>", b"Z</sent>")
    with pytest.raises(cap.CapSchemaError) as caught:
        cap.parse(xml, source="other.xml")
    found = {p.element for p in caught.value.problems}
    assert {"sent", "severity"} <= found
    assert all(p.line > 1 for p in caught.value.problems)
    assert "other.xml" in str(caught.value) and "line" in str(caught.value)


def test_not_well_formed_and_wrong_root() -> None:
    assert cap.problems(b"<alert>")[0].message.startswith("not well-formed")
    assert "expected <alert>" in cap.problems(b"<feed/>")[0].message


def test_large_multipolygon_is_simplified_to_valid_rings() -> None:
    angles = np.linspace(0, 2 * np.pi, 5000, endpoint=False)
    ring = np.c_[116 + np.cos(angles) * (1 + 0.05 * np.sin(40 * angles)), 39 + np.sin(angles)]
    ring = np.vstack([ring, ring[:1]]).tolist()
    islands = [
        [[[120 + i, 20], [120.01 + i, 20], [120.01 + i, 20.01], [120 + i, 20]]] for i in range(30)
    ]
    geometry = {"type": "MultiPolygon", "coordinates": [[ring], *islands]}
    polygons = cap.polygons_from_geojson(geometry)
    assert len(polygons) == cap.MAX_POLYGONS
    first = polygons[0].split()
    assert 4 <= len(first) <= cap.MAX_POLYGON_POINTS and first[0] == first[-1]
    lats = [float(p.split(",")[0]) for p in first]
    assert min(lats) == pytest.approx(38, abs=0.01) and max(lats) == pytest.approx(40, abs=0.01)
    message = _message()
    area = cap.Area("big", polygons)
    info = message.infos[0].__class__(**{**message.infos[0].__dict__, "areas": (area,)})
    cap.validate(cap.to_xml(cap.CapMessage("x.1", "s@x", SENT, infos=(info,))))


def test_real_district_geometry() -> None:
    data = files("tocsin.data").joinpath("fluBYBW_districts.geojson").read_text()
    feature = json.loads(data)["features"][0]
    (polygon,) = cap.polygons_from_geojson(feature["geometry"])
    assert polygon.split()[0] == polygon.split()[-1]


def test_identifier_rules() -> None:
    with pytest.raises(ValueError):
        cap.check_identifier("has space")
    with pytest.raises(ValueError):
        cap.to_xml(cap.CapMessage("a,b", "s", SENT))
