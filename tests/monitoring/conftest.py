"""Fixtures of the monitoring tests: a store with jurisdictions and indicators, and a
writer of small ingest files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine
from tests.monitoring.monitoring_helpers import DATA, DISTRICTS_CSV, INDICATORS_CSV

from tocsin.monitoring import indicators, jurisdictions
from tocsin.store import write_session


@pytest.fixture
def engine(store_engine: Engine, tmp_path: Path) -> Engine:
    """A store holding DE > DE-BY, DE-BW, DE-NI-WE > A1, A2, B1 and three indicators
    (``cases`` weekly counts, ``price`` monthly, ``river`` daily levels)."""
    (tmp_path / "districts.csv").write_text(DISTRICTS_CSV)
    (tmp_path / "indicators.csv").write_text(INDICATORS_CSV)
    with write_session(store_engine) as session:
        jurisdictions.load(session, DATA / "regions.csv", actor="test")
        jurisdictions.load(session, tmp_path / "districts.csv", actor="test")
        indicators.load(session, DATA / "indicators.yaml", actor="test")
        indicators.load(session, tmp_path / "indicators.csv", actor="test")
    return store_engine


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[..., Path]:
    """``write_file(frame_or_text, name)``: write a CSV (or .jsonl/.parquet) into tmp_path."""

    def write(content: pd.DataFrame | str, name: str = "data.csv") -> Path:
        path = tmp_path / name
        if isinstance(content, str):
            path.write_text(content)
        elif name.endswith(".parquet"):
            content.astype(str).to_parquet(path, index=False)
        elif name.endswith(".jsonl"):
            content.to_json(path, orient="records", lines=True)
        else:
            content.to_csv(path, index=False)
        return path

    return write
