"""Shared loader of R ``surveillance`` reference outputs for the detection tests.

The fixtures live in ``tests/data/surveillance-1.20.3/`` (see its README and
``make_reference.R``) and in ``tests/data/surveillance-1.20.3-extra/`` (references made
for tocsin with the R scripts kept there; provenance in ``tests/data/README.md``).

Files per data set ``D``: ``D__meta.csv``, ``D__data.csv`` (long format) and
``D__CONFIG.csv`` (per series and 1-based time point ``t``: ``observed``, ``upperbound``,
``alarm`` and, for some configs, more columns). Everything is returned as numpy arrays with
one row per period and one column per series, in the order the series appear in the data
file. Positions are 0-based (``t - 1``).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
REFERENCE_DIR = DATA_DIR / "surveillance-1.20.3"
EXTRA_DIR = DATA_DIR / "surveillance-1.20.3-extra"
DATASETS = ("salmNewport", "ha.sts", "measlesDE", "rotaBB")


@dataclass(frozen=True)
class Dataset:
    """One reference data set: counts (n_periods, n_series) with its metadata."""

    name: str
    freq: int
    epoch_as_date: bool
    series: tuple[str, ...]
    counts: np.ndarray
    dates: np.ndarray | None

    @property
    def n_periods(self) -> int:
        return int(self.counts.shape[0])

    @property
    def reference_b(self) -> int:
        """``b`` (years back) used by ``make_reference.R``: 5, or less for short series."""
        return min(5, (self.n_periods - 27 - 4) // self.freq)

    @property
    def farrington_range(self) -> np.ndarray:
        """0-based range of the Farrington, bayes, rki and glrnb configs."""
        start = max(self.freq * self.reference_b + 3 + 1 + 1, self.n_periods - 103)
        return np.arange(start, self.n_periods + 1) - 1

    @property
    def ears_range(self) -> np.ndarray:
        """0-based range of the EARS, CUSUM and outbreakP configs."""
        return np.arange(max(8, self.n_periods - 103), self.n_periods + 1) - 1


@dataclass(frozen=True)
class Reference:
    """R's output for one data set and config: arrays (len(range), n_series)."""

    dataset: str
    config: str
    range: np.ndarray
    series: tuple[str, ...]
    columns: dict[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]


def _float(text: str) -> float:
    return math.nan if text in ("NA", "NaN", "") else float(text)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _directory_of(dataset: str, config: str | None = None) -> Path:
    if config is not None and not (REFERENCE_DIR / f"{dataset}__{config}.csv").exists():
        return EXTRA_DIR
    return REFERENCE_DIR


@cache
def load_dataset(name: str) -> Dataset:
    """The counts and metadata of reference data set ``name``."""
    meta = _read_csv(REFERENCE_DIR / f"{name}__meta.csv")[0]
    rows = _read_csv(REFERENCE_DIR / f"{name}__data.csv")
    series = tuple(dict.fromkeys(r["series"] for r in rows))
    n = int(meta["n_time"])
    counts = np.full((n, len(series)), np.nan)
    col = {s: j for j, s in enumerate(series)}
    for r in rows:
        counts[int(r["t"]) - 1, col[r["series"]]] = _float(r["observed"])
    epoch_as_date = meta.get("epoch_as_date", "FALSE").upper() == "TRUE"
    dates = None
    if epoch_as_date:
        first = [r["date"] for r in rows if r["series"] == series[0]]
        dates = np.array(first, dtype="datetime64[D]")
    counts.setflags(write=False)
    return Dataset(name, int(meta["freq"]), epoch_as_date, series, counts, dates)


def has_reference(dataset: str, config: str) -> bool:
    return (_directory_of(dataset, config) / f"{dataset}__{config}.csv").exists()


@cache
def load_reference(dataset: str, config: str) -> Reference:
    """R's output ``D__CONFIG.csv`` as arrays; ``NA`` becomes ``NaN``."""
    rows = _read_csv(_directory_of(dataset, config) / f"{dataset}__{config}.csv")
    series = tuple(dict.fromkeys(r["series"] for r in rows))
    times = sorted({int(r["t"]) for r in rows})
    row_of = {t: i for i, t in enumerate(times)}
    col = {s: j for j, s in enumerate(series)}
    names = [k for k in rows[0] if k not in ("t", "series")]
    columns = {k: np.full((len(times), len(series)), np.nan) for k in names}
    for r in rows:
        i, j = row_of[int(r["t"])], col[r["series"]]
        for k in names:
            columns[k][i, j] = _float(r[k])
    return Reference(dataset, config, np.array(times) - 1, series, columns)


def assert_matches_reference(
    actual: np.ndarray,
    expected: np.ndarray,
    *,
    what: str,
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> None:
    """Equal to R's values: NaN exactly where R has NA, else within ``rtol`` (``atol``
    near zero). Alarms are compared with ``rtol=0, atol=0``."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    nan_a, nan_e = np.isnan(actual), np.isnan(expected)
    bad = np.argwhere(nan_a != nan_e)
    assert bad.size == 0, (
        f"{what}: NaN pattern differs from R at {len(bad)} cells, first (row, series) "
        f"{tuple(bad[0])}: tocsin {actual[tuple(bad[0])]}, R {expected[tuple(bad[0])]}"
    )
    both = ~nan_a
    a, e = actual[both], expected[both]
    same_inf = np.isinf(e) & (a == e)
    close = same_inf | (np.abs(a - e) <= np.maximum(atol, rtol * np.abs(e)))
    if not close.all():
        idx = np.argwhere(both)[~close]
        i, j = idx[0]
        raise AssertionError(
            f"{what}: {len(idx)} cells differ from R, first (row {i}, series {j}): "
            f"tocsin {actual[i, j]!r}, R {expected[i, j]!r}"
        )


def load_config_table(filename: str) -> list[dict[str, str]]:
    """Rows of a table of configurations kept next to extra references (e.g.
    ``cdc_configs.csv``: dataset, config, control values, range)."""
    return _read_csv(EXTRA_DIR / filename)
