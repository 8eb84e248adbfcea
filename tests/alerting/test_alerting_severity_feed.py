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


#: The default rule: tail probability below 1e-3, 1e-4, 1e-5 for levels III, II, I;
#: at least 1, 5, 10, 20 cases for levels IV, III, II, I.
RULE = severity.SeverityRule()


@pytest.mark.parametrize(
    ("observed", "tail", "level", "by_probability"),
    [
        (12, 0.004, Level.IV, Level.IV),
        (12, 5e-4, Level.III, Level.III),
        (12, 5e-5, Level.II, Level.II),
        (25, 5e-6, Level.I, Level.I),
        (25, None, Level.IV, Level.IV),  # a method without a model: the lowest level
        (25, math.nan, Level.IV, Level.IV),
        # Never a high level from a small count, however improbable it is:
        (12, 1e-30, Level.II, Level.I),
        (7, 0.0, Level.III, Level.I),
        (3, 0.0, Level.IV, Level.I),
        (1, 0.0, Level.IV, Level.I),
    ],
)
def test_level_from_tail_probability_capped_by_minimum_counts(
    observed, tail, level, by_probability
) -> None:
    grade = severity.grade(observed, tail, RULE)
    assert grade.level is level and grade.by_probability is by_probability
    assert grade.capped == (level is not by_probability)
    assert grade.cutoff == RULE.cutoff(level) and grade.min_count == RULE.min_count(level)


@pytest.mark.parametrize("observed", [0, 0.0, -1, None, math.nan])
def test_a_zero_or_missing_count_raises_no_alert(observed) -> None:
    grade = severity.grade(observed, 0.0, RULE)
    assert grade.level is None


def test_values_that_are_not_counts_have_no_minimum() -> None:
    assert severity.grade(0.4, 1e-9, RULE, counts=False).level is Level.I
    assert severity.grade(-3.0, 0.5, RULE, counts=False).level is Level.IV
    assert severity.grade(-3.0, 0.5, RULE, counts=False).min_count is None


def test_rules_are_checked_and_levels_parsed() -> None:
    strict = severity.SeverityRule(cutoffs=(0.01, 0.001, 1e-4), min_counts=(2, 3, 4, 5))
    assert severity.grade(4, 0.0005, strict).level is Level.II
    assert strict.cutoff(Level.IV) is None and strict.min_count(Level.IV) == 2
    for bad in (
        {"cutoffs": (1e-4, 1e-3, 1e-5)},  # not decreasing
        {"cutoffs": (1.5, 0.1, 0.01)},
        {"cutoffs": (0.1, 0.01, 0.0)},
        {"min_counts": (0, 5, 10, 20)},  # a zero count would raise an alert
        {"min_counts": (1, 10, 5, 20)},
        {"min_counts": (1, 2.5, 5, 20)},
        {"cutoffs": (0.1, 0.01)},
    ):
        with pytest.raises(ValueError, match=r"level"):
            severity.SeverityRule(**bad)
    assert severity.parse_level("orange") is Level.II
    assert severity.parse_level("extreme") is Level.I
    assert severity.parse_level("iii") is Level.III
    assert severity.parse_level("4") is Level.IV
    with pytest.raises(ValueError):
        severity.parse_level("purple")


def test_urgency_certainty_category() -> None:
    assert [(lv.colour, lv.cap_severity) for lv in Level] == [
        ("red", "Extreme"),
        ("orange", "Severe"),
        ("yellow", "Moderate"),
        ("blue", "Minor"),
    ]
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
