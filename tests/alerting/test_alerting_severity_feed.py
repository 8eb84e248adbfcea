"""Severity levels, CAP category by domain, and the Atom feed."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from capparselib.parsers import CAPParser
from lxml import etree

from tocsin.alerting import severity
from tocsin.alerting.cap import atom
from tocsin.alerting.cap import message as cap
from tocsin.alerting.severity import Level

T0 = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("observed", "upper", "score", "level", "colour", "cap_severity"),
    [
        (11, 10, None, Level.IV, "blue", "Minor"),
        (15, 10, None, Level.III, "yellow", "Moderate"),
        (25, 10, None, Level.II, "orange", "Severe"),
        (30, 10, None, Level.I, "red", "Extreme"),
        (11, 10, 3.5, Level.I, "red", "Extreme"),
        (None, None, None, Level.IV, "blue", "Minor"),
        (5, 0, None, Level.IV, "blue", "Minor"),
    ],
)
def test_levels(observed, upper, score, level, colour, cap_severity) -> None:
    ratio = severity.exceedance(observed, upper, score)
    assert severity.level_for(ratio) is level
    assert level.colour == colour and level.cap_severity == cap_severity


def test_custom_thresholds_and_parsing() -> None:
    strict = severity.SeverityThresholds(1.2, 1.4, 1.6)
    assert severity.level_for(1.5, strict) is Level.II
    assert math.isnan(severity.exceedance(None, 3))
    assert severity.parse_level("orange") is Level.II
    assert severity.parse_level("extreme") is Level.I
    assert severity.parse_level("iii") is Level.III
    assert severity.parse_level("4") is Level.IV
    with pytest.raises(ValueError):
        severity.parse_level("purple")
    with pytest.raises(ValueError):
        severity.SeverityThresholds(2, 1, 3)


def test_urgency_certainty_category() -> None:
    assert severity.urgency_for(Level.I) == "Immediate"
    assert severity.urgency_for(Level.IV) == "Expected"
    assert severity.urgency_for(Level.I, active=False) == "Past"
    assert severity.certainty_for(Level.II) == "Likely"
    assert severity.certainty_for(Level.III) == "Possible"
    assert severity.certainty_for(Level.IV, manual=True) == "Observed"
    assert severity.category_for("health") == "Health"
    assert severity.category_for("natural-hazard") == "Geo"
    assert severity.category_for("Production_Safety") == "Safety"
    assert severity.category_for("energy") == "Infra"
    assert severity.category_for("finance") == "Other"
    assert severity.category_for("CBRNE") == "CBRNE"
    assert severity.category_for(None) == "Other"
    for category in severity.CATEGORY_BY_DOMAIN.values():
        assert category in severity.CAP_CATEGORIES


def test_atom_feed_embeds_cap_that_capparselib_reads() -> None:
    message = cap.CapMessage(
        identifier="tocsin.alert.7.1",
        sender="tocsin@example.org",
        sent=T0,
        infos=(cap.Info("en-US", ("Health",), "Measles", "Immediate", "Severe", "Likely"),),
    )
    entry = atom.FeedEntry(
        identifier=message.identifier,
        title="Measles, Level II (orange)",
        updated=T0,
        summary="Measles above threshold",
        cap_url="http://x/cap/tocsin.alert.7.1.xml",
        category="Health",
        cap_xml=cap.to_xml(message),
    )
    xml = atom.build_feed(
        [entry],
        feed_id="urn:tocsin:feed",
        title="tocsin",
        self_url="http://x/cap/atom.atom",
        updated=T0,
    )
    root = etree.fromstring(xml)
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    (alert,) = CAPParser(xml.decode()).as_dict()
    assert str(alert["cap_id"]) == "tocsin.alert.7.1"
    link = root.find("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}link")
    assert link.get("type") == "application/cap+xml"
