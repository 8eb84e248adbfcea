"""Loader of the Rnssp 0.3.1 (CDC ESSENCE) reference outputs for the ESSENCE tests.

The fixtures are in ``tests/data/rnssp-0.3.1/`` (gzip-compressed copies of
``shared/reference/rnssp-0.3.1/``; its README, ``make_reference.R`` and ``versions.csv``
say how they were made). Data files are long (``date,series,count``); an output file
``DATASET__CONFIG.csv.gz`` has one row per series and date with Rnssp's columns. Numbers
come back as arrays (n_dates, n_series) in the order of the data file, ``NA`` as NaN;
text columns (``alert``, ``detector``, ``split``) and logicals as arrays of strings.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from tocsin.detect.base import SeriesBatch

RNSSP_DIR = Path(__file__).resolve().parents[1] / "data" / "rnssp-0.3.1"
TEXT_COLUMNS = ("alert", "detector", "split", "alarm", "time_term", "epidemic_period", "t")


@dataclass(frozen=True)
class RnsspData:
    name: str
    series: tuple[str, ...]
    dates: np.ndarray
    counts: np.ndarray


@dataclass(frozen=True)
class RnsspOutput:
    series: tuple[str, ...]
    columns: dict[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]


def read_table(path: Path) -> list[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as fh:
        return list(csv.DictReader(io.StringIO(fh.read())))


def _float(text: str) -> float:
    return math.nan if text in ("NA", "") else float(text)


@cache
def load_data(dataset: str) -> RnsspData:
    rows = read_table(RNSSP_DIR / f"{dataset}__data.csv.gz")
    series = tuple(dict.fromkeys(r["series"] for r in rows))
    dates = np.array([r["date"] for r in rows if r["series"] == series[0]], dtype="datetime64[D]")
    counts = np.array([_float(r["count"]) for r in rows]).reshape(len(series), -1).T
    counts.setflags(write=False)
    return RnsspData(dataset, series, dates, counts)


@cache
def load_output(dataset: str, config: str) -> RnsspOutput:
    data = load_data(dataset)
    rows = read_table(RNSSP_DIR / f"{dataset}__{config}.csv.gz")
    series = tuple(dict.fromkeys(r["series"] for r in rows))
    n = data.dates.size
    names = [k for k in rows[0] if k not in ("date", "series")]
    columns: dict[str, np.ndarray] = {}
    for k in names:
        if k in TEXT_COLUMNS:
            values = np.array([r[k] for r in rows], dtype=object)
        else:
            values = np.array([_float(r[k]) for r in rows])
        columns[k] = values.reshape(len(series), n).T
    dates = np.array([r["date"] for r in rows[:n]], dtype="datetime64[D]")
    assert (dates == data.dates).all(), "output dates differ from the data file"
    return RnsspOutput(series, columns)


def series_columns(dataset: str, series: tuple[str, ...]) -> list[int]:
    """Positions in the data file of ``series`` (an output may leave some out)."""
    order = load_data(dataset).series
    return [order.index(s) for s in series]


def manifest() -> list[dict[str, str]]:
    return read_table(RNSSP_DIR / "manifest.csv")


COLOUR = {"grey": 0.0, "blue": 1.0, "yellow": 2.0, "red": 3.0}
FREQ = {"imdepi_daily": 365, "synthetic_dow_daily": 365, "fluBYBW_weekly": 52}


def rnssp_arguments(args: str) -> dict[str, float]:
    """``"B=14; g=0; w1=0.3"`` -> ``{"b": 14, "g": 0, "w1": 0.3}`` (tocsin's names)."""
    out: dict[str, float] = {}
    for part in filter(None, (a.strip() for a in args.split(";"))):
        key, value = part.split("=")
        out[key.lower()] = int(value) if key in ("B", "g") else float(value)
    return out


def full_batch(dataset: str, first: int = 0) -> SeriesBatch:
    """Every series of ``dataset``, evaluated from period ``first`` on."""
    data = load_data(dataset)
    return SeriesBatch(
        counts=np.array(data.counts),
        freq=FREQ[dataset],
        range=np.arange(first, data.dates.size),
        dates=data.dates,
    )


def colour_codes(text: np.ndarray) -> np.ndarray:
    return np.vectorize(COLOUR.__getitem__, otypes=[float])(text)
