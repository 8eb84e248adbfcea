# ruff: noqa: E501 - one file per line, as it is written
"""Write the bad-input corpus: small files, each wrong in one way (run from this folder).

    python make_corpus.py

Every file is made here, by hand, for tocsin's tests; none comes from elsewhere. The
expected message of each (what is wrong and where) is listed in
``tests/monitoring/test_bad_input_corpus.py``.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).parent
OK = "2015-W01,A1,cases,3\n2015-W02,A1,cases,4\n"
HEAD = "period,jurisdiction,indicator,value\n"
SERIES = "period,series,value\n" + "".join(f"2015-W{w:02d},s1,{w % 5}\n" for w in range(1, 30))


def text(name: str, content: str) -> None:
    (HERE / name).write_text(content, encoding="utf-8", newline="")


def binary(name: str, content: bytes) -> None:
    (HERE / name).write_bytes(content)


def main() -> None:
    # ---- ingest (tocsin ingest): one row per period, jurisdiction, indicator
    text("ingest-missing-column.csv", "period,jurisdiction,value\n2015-W01,A1,3\n")
    text(
        "ingest-unknown-column.csv",
        "period,jurisdiction,indicator,value,colour\n2015-W01,A1,cases,3,red\n",
    )
    text("ingest-bad-number.csv", HEAD + OK + "2015-W03,A1,cases,three\n")
    text("ingest-negative-count.csv", HEAD + OK + "2015-W03,A1,cases,-2\n")
    text("ingest-fraction-count.csv", HEAD + OK + "2015-W03,A1,cases,2.5\n")
    text("ingest-bad-period.csv", HEAD + OK + "2015-W54,A1,cases,1\n")
    text("ingest-month-for-weekly.csv", HEAD + OK + "2015-03,A1,cases,1\n")
    text("ingest-ancient-period.csv", HEAD + OK + "1900-W01,A1,cases,1\n")
    text("ingest-far-future-period.csv", HEAD + OK + "2999-W01,A1,cases,1\n")
    text("ingest-empty-period.csv", HEAD + OK + ",A1,cases,1\n")
    text("ingest-unknown-jurisdiction.csv", HEAD + OK + "2015-W03,ZZ9,cases,1\n")
    text("ingest-unknown-indicator.csv", HEAD + OK + "2015-W03,A1,nosuch,1\n")
    text("ingest-duplicate-key.csv", HEAD + OK + "2015-W01,A1,cases,9\n")
    text("ingest-ragged-row.csv", HEAD + OK + "2015-W03,A1,cases,1,extra\n")
    text(
        "ingest-control-character.csv",
        "period,jurisdiction,indicator,value,stratum\n2015-W01,A1,cases,3,age\x010-4\n",
    )
    text("ingest-empty.csv", "")
    text("ingest-header-only.csv", HEAD)
    binary(
        "ingest-latin1.csv",
        (HEAD + OK + "2015-W03,A1,cases,1\n").encode()
        + "2015-W04,A1,cases,1,Zürich\n".encode("latin-1"),
    )
    binary("ingest-truncated.csv.gz", gzip.compress((HEAD + OK * 50).encode())[:60])
    binary("ingest-not-gzip.csv.gz", b"period,jurisdiction,indicator,value\n")
    text(
        "ingest-bad-json.jsonl",
        '{"period": "2015-W01", "jurisdiction": "A1", "indicator": "cases", "value": 3}\n{"period": "2015-W02",\n',
    )
    text(
        "ingest-json-not-object.jsonl",
        '{"period": "2015-W01", "jurisdiction": "A1", "indicator": "cases", "value": 3}\n[1, 2]\n',
    )
    text(
        "ingest-json-bad-number.jsonl",
        '{"period": "2015-W01", "jurisdiction": "A1", "indicator": "cases", "value": 3}\n{"period": "2015-W02", "jurisdiction": "A1", "indicator": "cases", "value": "many"}\n',
    )
    binary("ingest-not-parquet.parquet", b"PAR1 this is not parquet")
    pq.write_table(
        pa.table({"period": ["2015-W01", "2015-W02"], "jurisdiction": ["A1", "A1"],
                  "indicator": ["cases", "cases"], "value": ["3", "lots"]}),
        HERE / "ingest-parquet-bad-number.parquet",
    )  # fmt: skip

    # ---- reference data (tocsin jurisdictions load / indicators load)
    feature = {"type": "Feature", "geometry": None}
    features = [
        {**feature, "properties": {"code": "X1", "name": "Ok", "parent": "DE"}},
        {**feature, "properties": {"code": "X 2", "name": "Bad code", "parent": "DE"}},
    ]
    text(
        "jurisdictions-bad-code.geojson",
        json.dumps({"type": "FeatureCollection", "features": features}, indent=1),
    )
    features = [{**feature, "properties": {"code": "X3", "name": "Bell\x07", "parent": "DE"}}]
    text(
        "jurisdictions-control-name.geojson",
        json.dumps({"type": "FeatureCollection", "features": features}, indent=1),
    )
    text(
        "jurisdictions-malformed.geojson",
        '{"type": "FeatureCollection",\n "features": [\n  {"type": "Feature",, }\n ]}\n',
    )
    text("jurisdictions-control-name.csv", "code,name,parent\nX4,Fine,DE\nX5,Tab\x0bbed,DE\n")
    text("jurisdictions-unknown-parent.csv", "code,name,parent\nX6,Orphan,NOWHERE\n")
    text(
        "indicators-bad-domain.yaml",
        "indicators:\n  - code: a\n    name: A\n    domain: weather\n    unit: mm\n    value_kind: level\n    frequency: day\n",
    )
    text("indicators-malformed.yaml", "indicators:\n  - code: a\n    name: [unclosed\n")
    text(
        "indicators-control-name.yaml",
        'indicators:\n  - code: b\n    name: "B\\x01"\n    domain: water\n    unit: m\n    value_kind: level\n    frequency: day\n',
    )

    # ---- tocsin detect: period, series, value
    text("detect-missing-column.csv", "period,value\n2015-W01,3\n")
    text("detect-bad-number.csv", SERIES + "2015-W30,s1,x\n")
    text("detect-negative-count.csv", SERIES + "2015-W30,s1,-1\n")
    text("detect-bad-period.csv", SERIES + "2015-W99,s1,1\n")
    text("detect-mixed-periods.csv", SERIES + "2015-07,s1,1\n")
    text("detect-duplicate.csv", SERIES + "2015-W05,s1,1\n")
    text("detect-ragged-row.csv", SERIES + "2015-W30,s1,1,2\n")
    text("detect-bad-population.csv", "period,series,value,population\n2015-W01,s1,1,-5\n")
    text("detect-empty-series.csv", SERIES + "2015-W30,,1\n")
    text(
        "detect-span.csv",
        "period,series,value\n" + "".join(f"{i},s1,1\n" for i in range(1, 20)) + "20040105,s1,1\n",
    )
    binary("detect-latin1.csv", SERIES.encode() + "2015-W30,Zürich,1\n".encode("latin-1"))
    binary("detect-truncated.csv.gz", gzip.compress(SERIES.encode() * 20)[:80])
    text(
        "detect-bad-json.jsonl", '{"period": "2015-W01", "series": "s1", "value": 1}\n{"period": \n'
    )
    binary("detect-not-parquet.parquet", b"not parquet at all")


if __name__ == "__main__":
    main()
