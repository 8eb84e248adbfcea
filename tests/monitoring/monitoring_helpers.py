"""Helpers of the monitoring tests: demo files, synthetic series, table snapshots."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, text

from tocsin.files import detection as detection_file
from tocsin.monitoring import series
from tocsin.periods import PeriodKind, format_periods, parse_periods
from tocsin.store import write_session

DATA = Path(__file__).resolve().parents[1] / "data" / "monitoring"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
PACKAGED = Path(__file__).resolve().parents[2] / "src" / "tocsin" / "data"

INDICATORS_CSV = """code,name,domain,unit,value_kind,frequency
cases,Cases,health,cases,count,week
price,Rice price,food,CNY/kg,price,month
river,River level,water,m,level,day
"""

DISTRICTS_CSV = """code,name,parent
A1,District A1,DE-BY
A2,District A2,DE-BY
B1,District B1,DE-BW
"""


def demo_data(name: str) -> Path:
    """A demonstration file of shared/data (or its copy inside the package)."""
    for folder in (SHARED, PACKAGED):
        if (folder / name).is_file():
            return folder / name
    pytest.skip(f"demo data {name} not found")


def weekly_counts(
    n_weeks: int,
    jurisdictions_: tuple[str, ...] = ("A1", "A2", "B1"),
    *,
    start: str = "2015-W01",
    seed: int = 1,
    indicator: str | None = "cases",
) -> pd.DataFrame:
    """Poisson counts with a yearly season, as a long frame (one row per week and area)."""
    rng = np.random.default_rng(seed)
    first = int(parse_periods([start]).ordinals[0])
    ordinals = first + np.arange(n_weeks)
    labels = format_periods(PeriodKind.WEEK, ordinals)
    frames = []
    for k, code in enumerate(jurisdictions_):
        mean = 5 + 3 * k + 4 * np.sin(2 * np.pi * ordinals / 52.18)
        frame = pd.DataFrame(
            {"period": labels, "jurisdiction": code, "value": rng.poisson(np.maximum(mean, 0.5))}
        )
        if indicator:
            frame.insert(2, "indicator", indicator)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar())


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of the monitoring tables (for "nothing changed" checks)."""
    out = {}
    with engine.connect() as conn:
        for table in (
            "observation", "observation_revision", "series", "series_change", "ingest",
            "audit_log", "signal", "detection_state", "detection_run",
        ):  # fmt: skip
            rows = conn.execute(text(f"SELECT * FROM {table}")).all()
            out[table] = sorted(tuple(str(v) for v in r) for r in rows)
    return out


def cli_env(url: str) -> dict[str, str]:
    """Environment for a ``tocsin`` subprocess on the store ``url``."""
    env = dict(os.environ)
    env["TOCSIN_DATABASE_URL"] = url
    env.pop("TOCSIN_DEBUG", None)
    return env


TOCSIN = [sys.executable, "-c", "from tocsin.cli import main; main()"]


def read_signals(engine, detector_id, kind: PeriodKind = PeriodKind.WEEK) -> pd.DataFrame:
    """The stored signals of a detector, by series (jurisdiction) and period label."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT j.code, s.stratum, g.period, g.observed, g.expected, g.upperbound, "
                "g.alarm, g.score, g.tail_probability, g.run_id FROM signal g "
                "JOIN series s ON s.id = g.series_id "
                "JOIN jurisdiction j ON j.id = s.jurisdiction_id WHERE g.detector_id = :d "
                "ORDER BY j.code, g.period"
            ),
            {"d": detector_id},
        ).all()
    frame = pd.DataFrame(
        rows,
        columns=["series", "stratum", "period", "observed", "expected", "upperbound", "alarm",
                 "score", "tail_probability", "run_id"],
    )  # fmt: skip
    frame["period"] = format_periods(kind, frame["period"].to_numpy())
    frame["alarm"] = frame["alarm"].astype(float)
    return frame


def detect_file(engine, tmp_path, method, settings, indicator="cases") -> pd.DataFrame:
    """What ``tocsin detect`` gives on the indicator exported to a file."""
    path = tmp_path / "export.csv"
    with write_session(engine) as session:
        series.export(session, indicator, path)
    loaded, found, params, rows = detection_file.prepare(
        path, method, [f"{k}={v}" for k, v in settings.items()]
    )
    result = detection_file.detect_table(loaded, found.name, params, rows)
    out = detection_file.result_frame(loaded, result)
    return out[out["observed"].notna()].reset_index(drop=True)


def assert_same_signals(db: pd.DataFrame, reference: pd.DataFrame) -> None:
    """The same cells, with values equal to 1e-12; where the file has an infinite upper
    bound (EARS C3's ``-inf``) the store has none."""
    merged = reference.merge(db, on=["series", "period"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"].head()
    bound = merged["upperbound_x"].astype(float)
    merged["upperbound_x"] = bound.where(np.isfinite(bound))
    for column in ("observed", "expected", "upperbound", "alarm", "score", "tail_probability"):
        a = merged[f"{column}_x"].astype(float).to_numpy()
        b = merged[f"{column}_y"].astype(float).to_numpy()
        bad = ~np.isclose(a, b, rtol=1e-12, atol=0, equal_nan=True)
        assert not bad.any(), (column, merged.loc[bad, ["series", "period"]].values.tolist())
