"""The bad-input corpus (``tests/data/bad-input``): every failing ingest, load and
``tocsin detect`` names the file and the line, column or field where one exists, exits
2, prints no traceback and changes nothing in the database (issue 10)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.monitoring.monitoring_helpers import snapshot
from tests.monitoring.test_monitoring_cli import tocsin

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad-input"

#: file -> what the message must say: its place (``FILE:LINE:FIELD``, ``FILE:LINE:COLUMN``
#: or the field named) and a word of what is wrong.
EXPECTED: dict[str, tuple[str, ...]] = {
    "ingest-missing-column.csv": ("missing column indicator",),
    "ingest-unknown-column.csv": ("unknown column colour",),
    "ingest-bad-number.csv": (":4:value", "not a number"),
    "ingest-negative-count.csv": (":4:value", "negative"),
    "ingest-fraction-count.csv": (":4:value", "not an integer"),
    "ingest-bad-period.csv": (":4:period", "no ISO week 54"),
    "ingest-month-for-weekly.csv": (":4:period", "month label"),
    "ingest-ancient-period.csv": (":4:period", "TOCSIN_EARLIEST_PERIOD_YEAR"),
    "ingest-far-future-period.csv": (":4:period", "TOCSIN_PERIODS_YEARS_AHEAD"),
    "ingest-empty-period.csv": (":4:period", "missing period"),
    "ingest-unknown-jurisdiction.csv": (":4:jurisdiction", "not a stored jurisdiction"),
    "ingest-unknown-indicator.csv": (":4:indicator", "not a stored indicator"),
    "ingest-duplicate-key.csv": (":4:period", "line 2"),
    "ingest-ragged-row.csv": (":4:", "5 fields"),
    "ingest-control-character.csv": (":2:stratum", "U+0001"),
    "ingest-empty.csv": ("the file is empty",),
    "ingest-header-only.csv": ("no rows",),
    "ingest-latin1.csv": (":5:22:", "not UTF-8"),
    "ingest-truncated.csv.gz": ("truncated",),
    "ingest-not-gzip.csv.gz": ("not a valid gzip file",),
    "ingest-bad-json.jsonl": (":2:", "not valid JSON"),
    "ingest-json-not-object.jsonl": (":2:", "JSON object"),
    "ingest-json-bad-number.jsonl": (":2:value", "not a number"),
    "ingest-not-parquet.parquet": ("cannot read the PARQUET file",),
    "ingest-parquet-bad-number.parquet": (":row 2:value", "not a number"),
    "jurisdictions-bad-code.geojson": (":feature 2:code", "pattern"),
    "jurisdictions-control-name.geojson": (":feature 1:name", "U+0007"),
    "jurisdictions-malformed.geojson": (":3:", "not valid JSON"),
    "jurisdictions-control-name.csv": (":3:name", "U+000B"),
    "jurisdictions-unknown-parent.csv": (":2:parent", "NOWHERE"),
    "indicators-bad-domain.yaml": (":2:domain", "weather"),
    "indicators-malformed.yaml": (":4:1:", "not valid YAML"),
    "indicators-control-name.yaml": (":2:name", "U+0001"),
    "detect-missing-column.csv": ("missing column series",),
    "detect-bad-number.csv": (":31:value", "not a number"),
    "detect-negative-count.csv": (":31:value", "negative"),
    "detect-bad-period.csv": (":31:period", "no ISO week 99"),
    "detect-mixed-periods.csv": (":31:period", "month label"),
    "detect-duplicate.csv": (":31:period", ":6:period"),
    "detect-ragged-row.csv": (":31:", "4 fields"),
    "detect-bad-population.csv": (":2:population", "not positive"),
    "detect-empty-series.csv": (":31:series", "missing series"),
    "detect-span.csv": (":21:period", "20040105"),
    "detect-latin1.csv": (":31:11:", "not UTF-8"),
    "detect-truncated.csv.gz": ("truncated",),
    "detect-bad-json.jsonl": (":2:12:", "not valid JSON"),
    "detect-not-parquet.parquet": ("cannot read the PARQUET file",),
}


def _command(name: str, path: Path) -> list[str]:
    kind = name.split("-", 1)[0]
    if kind == "ingest":
        return ["ingest", str(path)]
    if kind in ("jurisdictions", "indicators"):
        return [kind, "load", str(path)]
    method = "farrington" if "count" in name else "ears_c1"
    freq = ["--freq", "52"] if name == "detect-span.csv" else []
    return ["detect", str(path), "--method", method, *freq]


def test_the_corpus_is_complete() -> None:
    on_disk = {p.name for p in CORPUS.iterdir() if p.suffix != ".py" and p.name != "README.md"}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_bad_file_is_refused_with_its_place(
    name: str, engine, store_url: str, monkeypatch, capsys
) -> None:
    before = snapshot(engine)
    path = CORPUS / name
    code, out, err = tocsin(monkeypatch, capsys, *_command(name, path))
    assert code == 2, (out, err)
    assert "Traceback" not in err and "internal error" not in err
    message = " ".join(err.split())  # Rich may wrap long lines
    assert str(path) in message or name in message
    for expected in EXPECTED[name]:
        assert expected in message, (expected, err)
    assert snapshot(engine) == before
