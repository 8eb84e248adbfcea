"""Alerts of stratified series (e.g. age groups) name their stratum (issue 16, "periods
and strata"): in the headline (English, Chinese), the CAP message's ``tocsin:stratum``
parameter and the alert list's filter. Grouping by series keeps strata apart; grouping
by indicator and jurisdiction merges them on purpose, and the alert then names none.

Runs on SQLite and PostgreSQL (the ``store_engine`` fixture of tests/conftest.py).
"""

from __future__ import annotations

from sqlalchemy import select

from tocsin.alerting import queries, rules
from tocsin.alerting.grouping import SignalIn
from tocsin.alerting.models import Alert
from tocsin.monitoring.models import Series
from tocsin.store import write_session

from .test_alerting_service import TAIL, WEEK, check_cap, process


def _strata(world, *strata: str) -> dict[str, int]:
    """Series of the world's indicator in C1 for each stratum."""
    with write_session(world.engine) as session:
        rows = {
            s: Series(indicator_id=world.indicator, jurisdiction_id=world.jurisdictions["C1"],
                      stratum=s)
            for s in strata
        }  # fmt: skip
        session.add_all(rows.values())
        session.flush()
        return {s: row.id for s, row in rows.items()}


def _alarm(series_id: int, period: int = WEEK) -> SignalIn:
    return SignalIn(series_id, period, True, 30.0, 5.0, 10.0, TAIL[2], "farrington_flexible")


def _alerts(world) -> list[Alert]:
    with write_session(world.engine) as session:
        found = session.scalars(select(Alert).order_by(Alert.id)).all()
        session.expunge_all()
        return found


def test_each_stratum_has_its_own_alert_that_names_it(world, settings) -> None:
    series = _strata(world, "0-14", "65+")
    result = process(world, [_alarm(series["0-14"]), _alarm(series["65+"])], settings)
    assert len(result.opened) == 2
    alerts = _alerts(world)
    assert [a.stratum for a in alerts] == ["0-14", "65+"]
    assert alerts[0].headline.endswith("Measles (0-14) above the expected level in County One")
    assert "麻疹（0-14）" in alerts[0].headline_zh
    for alert in alerts:
        en, zh = check_cap(world, settings, alert.id)[0].infos
        assert ("tocsin:stratum", alert.stratum) in en.parameters
        assert ("tocsin:stratum", alert.stratum) in zh.parameters
    with write_session(world.engine) as session:
        ids = [world.jurisdictions["C1"]]
        listed = session.execute(queries.alerts(ids, stratum="65+")).all()
        assert [row[0].id for row in listed] == [alerts[1].id]


def test_an_unstratified_series_names_no_stratum(world, settings) -> None:
    process(world, [_alarm(world.series["C1"])], settings)
    (alert,) = _alerts(world)
    assert alert.stratum is None
    assert alert.headline.endswith("Measles above the expected level in County One")
    en, _ = check_cap(world, settings, alert.id)[0].infos
    assert not [p for p in en.parameters if p[0] == "tocsin:stratum"]


def test_grouping_by_indicator_and_jurisdiction_merges_strata(world, settings) -> None:
    series = _strata(world, "0-14", "65+")
    with write_session(world.engine) as session:
        rules.set_rule(
            session, indicator="measles", group_by="indicator,jurisdiction", by="analyst"
        )
    process(world, [_alarm(series["0-14"]), _alarm(series["65+"])], settings)
    (alert,) = _alerts(world)
    assert alert.stratum is None
    assert alert.headline.endswith("Measles above the expected level in County One")


def test_a_raised_level_keeps_the_stratum_in_the_headline(world, settings) -> None:
    """The headline is rewritten when the level rises: it lost the age group."""
    series = _strata(world, "65+")
    quiet = SignalIn(series["65+"], WEEK, True, 12.0, 5.0, 10.0, TAIL[4], "farrington_flexible")
    loud = SignalIn(series["65+"], WEEK + 1, True, 60.0, 5.0, 10.0, TAIL[1], "farrington_flexible")
    process(world, [quiet], settings)
    process(world, [loud], settings)
    (alert,) = _alerts(world)
    assert alert.level == 1
    assert "Measles (65+)" in alert.headline and "麻疹（65+）" in alert.headline_zh
