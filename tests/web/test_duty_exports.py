"""CSV downloads (issue 11, views a duty room expects): the alert list with its filters,
the numbers of a series chart, a series' detections. Each is safe to open in a
spreadsheet (OWASP CSV injection: a text that a spreadsheet would run as a formula is
prefixed with a quote), UTF-8 with a byte order mark (Chinese names open correctly in
Excel), and named by ``Content-Disposition`` (RFC 6266)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from tests.web.conftest import World, browser_login

from tocsin.web.spreadsheet import FORMULA_STARTS, attachment, cell, csv_text


def _get(client: TestClient, user: str, url: str):
    """``url`` as ``user`` signed in with a browser (the downloads are pages)."""
    if getattr(client, "signed_in", None) != user:
        browser_login(client, user)
        client.signed_in = user
    return client.get(url)


def _population(world: World, code: str, year: int, people: int) -> None:
    with world.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO jurisdiction_population (jurisdiction_id, year, population) "
                "VALUES (:j, :y, :p)"
            ),
            {"j": world.jurisdictions[code], "y": year, "p": people},
        )


def _rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf"), "no byte order mark"
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


@given(st.text())
def test_no_text_cell_starts_a_formula_and_none_is_lost(value: str) -> None:
    written = cell(value)
    assert not str(written).startswith(FORMULA_STARTS)
    assert written == value or written == "'" + value


@given(st.one_of(st.integers(-(10**12), 10**12), st.floats(allow_nan=False, allow_infinity=False)))
def test_numbers_stay_numbers(value: float) -> None:
    assert cell(value) == value  # a negative number is a number, not a formula


def test_a_csv_document_reads_back_with_its_quotes() -> None:
    document = csv_text(["a", "b"], [["=1+1", '北京, "市"'], [-3.5, None]])
    rows = list(csv.reader(io.StringIO(document.removeprefix("\ufeff"))))
    assert rows == [["a", "b"], ["'=1+1", '北京, "市"'], ["-3.5", ""]]


def test_a_file_name_with_any_character_is_safe() -> None:
    value = attachment('警报 "x"\r\n.csv')
    assert "\r" not in value and "\n" not in value
    assert value.startswith('attachment; filename="x_.csv"; ')
    assert value.endswith("filename*=UTF-8''%E8%AD%A6%E6%8A%A5%20%22x%22%0D%0A.csv")


def test_alert_list_neutralises_formulas_and_keeps_chinese(
    client: TestClient, world: World
) -> None:
    with world.engine.begin() as conn:
        conn.execute(
            text("UPDATE jurisdiction SET name = :n, name_zh = :z WHERE code = '9162'"),
            {"n": '=HYPERLINK("http://evil.example","x")', "z": "慕尼黑市"},
        )
        conn.execute(
            text("UPDATE alert SET headline = '@SUM(A1)', headline_zh = '-2+3' WHERE id = :id"),
            {"id": world.alerts["9162"]},
        )
    response = _get(client, "admin", "/alerts.csv?j=9162")
    disposition = response.headers["content-disposition"]
    assert re.fullmatch(
        r"attachment; filename=\"tocsin-alerts-active-9162-\d{4}-\d\d-\d\d\.csv\"; "
        r"filename\*=UTF-8''tocsin-alerts-active-9162-\d{4}-\d\d-\d\d\.csv",
        disposition,
    ), disposition
    (row,) = _rows(response)
    assert row["jurisdiction_name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["jurisdiction_name_zh"] == "慕尼黑市"
    assert row["headline"] == "'@SUM(A1)"
    assert row["headline_zh"] == "'-2+3"
    assert row["level"] == "II" and row["period"] == "2008-W10"


def test_alert_list_keeps_the_filters_and_the_scope(client: TestClient, world: World) -> None:
    def ids(user: str, query: str) -> list[str]:
        return [r["id"] for r in _rows(_get(client, user, f"/alerts.csv{query}"))]

    assert ids("viewer_8111", "") == [str(world.alerts["8111"])]
    assert ids("by_coordinator", "?j=9184&level=2") == [str(world.alerts["9184"])]
    assert ids("admin", "?level=1") == []
    assert ids("admin", "?status=resolved") == []
    assert sorted(ids("admin", "?status=&level=&j=")) == sorted(
        str(a) for a in world.alerts.values()
    )
    # The list page with the same filters shows the same alerts.
    page = _get(client, "by_coordinator", "/alerts?j=DE-BY&level=2")
    shown = re.findall(r'data-alert-id="(\d+)"', page.text)
    assert sorted(shown) == sorted(ids("by_coordinator", "?j=DE-BY&level=2"))
    assert 'href="/alerts.csv?level=2&amp;j=DE-BY"' in page.text
    # Outside the caller's subtree: 404, as the list.
    assert client.get("/alerts.csv?j=8111").status_code == 404


def test_detections_of_one_detector(client: TestClient, world: World) -> None:
    from tocsin.monitoring.models import Detector, Signal
    from tocsin.store import write_session

    series = world.series["9162"]
    with write_session(world.engine) as db:
        other = Detector(indicator_id=1, method="ears_c3", parameters={})
        db.add(other)
        db.flush()
        first = db.execute(text("SELECT min(period) FROM observation")).scalar()
        db.add(Signal(series_id=series, detector_id=other.id, period=first, observed=0.0,
                      expected=1.0, upperbound=None, alarm=False))  # fmt: skip
        other_id = other.id
    user = "by_admin"
    everything = _rows(_get(client, user, f"/series/{series}/signals.csv"))
    assert len(everything) == 11
    response = _get(client, user, f"/series/{series}/signals.csv?detector={other_id}")
    assert "tocsin-signals-flu-9162-detector" in response.headers["content-disposition"]
    (row,) = _rows(response)
    assert row["method"] == "ears_c3" and row["upper_bound"] == "" and row["alarm"] == "false"
    window = _rows(_get(client, user, f"/series/{series}/signals.csv?from=2008-W09&detector=1"))
    assert [(r["period"], r["alarm"]) for r in window] == [
        ("2008-W09", "false"),
        ("2008-W10", "true"),
    ]


def test_chart_numbers_with_rates_and_related_series(client: TestClient, world: World) -> None:
    _population(world, "9162", 2007, 200_000)
    s, neighbour = world.series["9162"], world.series["9184"]
    user = "by_admin"
    response = _get(client, user, f"/series/{s}/data.csv?from=2008-W09&with={neighbour}")
    assert "tocsin-flu-9162-2008-W09_end.csv" in response.headers["content-disposition"]
    rows = _rows(response)
    assert [(r["period"], r["jurisdiction"]) for r in rows] == [
        ("2008-W09", "9162"), ("2008-W10", "9162"), ("2008-W09", "9184"), ("2008-W10", "9184")
    ]  # fmt: skip
    # 2008 has no figure: the latest earlier year's (2007) is used, as detection does.
    assert rows[1]["population"] == "200000.0"
    assert float(rows[1]["rate_per_100000"]) == 9 / 200_000 * 100_000
    assert rows[3]["population"] == rows[3]["rate_per_100000"] == ""
    # A series the caller cannot read is not there: 404, whatever else is asked.
    outside = _get(client, user, f"/series/{s}/data.csv?with={world.series['8111']}")
    assert outside.status_code == 404
    bad = _get(client, user, f"/series/{s}/data.csv?from=2008-W99")
    assert bad.status_code == 400 and "from" in bad.text


def test_series_json_gives_the_population_when_asked(client: TestClient, world: World) -> None:
    _population(world, "8111", 2008, 123_456)
    url = f"/api/v1/series/{world.series['8111']}"
    plain = _get(client, "viewer_8111", url).json()
    assert {p["population"] for p in plain["observations"]} == {None}
    asked = _get(client, "viewer_8111", f"{url}?population=true").json()
    assert {p["population"] for p in asked["observations"]} == {123456.0}


@pytest.mark.parametrize("download", ["data.csv", "signals.csv"])
def test_download_matrix(client: TestClient, world: World, download: str) -> None:
    """Every user on every district's series: readable 200, else 404, as the series page
    (a series outside the caller's subtree is not revealed)."""
    from tests.web.test_access_matrix import ALL_DISTRICTS, run_matrix

    from tocsin.accounts.access import Capability

    def call(user: str, place: str) -> int:
        return _get(client, user, f"/series/{world.series[place]}/{download}").status_code

    run_matrix(ALL_DISTRICTS, Capability.READ, call)


def test_rates_on_both_stores(any_client: TestClient, any_world: World) -> None:
    """The population of each period as detection reads it, on SQLite and PostgreSQL."""
    _population(any_world, "9184", 2008, 300_000)
    rows = _rows(_get(any_client, "by_coordinator", f"/series/{any_world.series['9184']}/data.csv"))
    assert [float(r["rate_per_100000"]) for r in rows] == pytest.approx([v / 3 for v in range(10)])


def test_bad_identifiers_are_refused_not_crashed(any_client: TestClient, any_world: World) -> None:
    """Numbers beyond the stores' integers answer 422, on PostgreSQL too (no overflow)."""
    s = any_world.series["9162"]
    for url in (
        f"/series/{s}/data.csv?with=99999999999",
        f"/series/{s}/signals.csv?detector=99999999999",
        f"/series/{s}?with=99999999999",
        f"/series/{s}/data.csv?with=x",
    ):
        assert _get(any_client, "admin", url).status_code == 422, url
    assert _get(any_client, "admin", f"/series/{s}/data.csv?with=2147483647").status_code == 404
    for url in (
        "/audit?page=2147483647",
        "/notifications?page=2147483647",
        "/runs?page=2147483647",
    ):
        assert _get(any_client, "admin", url).status_code == 200, url
