"""The interim demonstration: outbreak detection on real influenza notifications.

Runs ``farrington_flexible`` with the settings of Noufaily et al. (2013, "An improved
algorithm for outbreak detection in multiple surveillance systems", Stat Med 32:1206-22)
on the weekly influenza counts of the 140 districts of Bavaria and Baden-Wuerttemberg
bundled with tocsin (``tocsin/data/fluBYBW_observed.csv``; provenance in the README of
that folder), and summarises the alarms per district. A later version adds the store and
the web application.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from tocsin.detect import DetectionResult, registry
from tocsin.errors import UserError
from tocsin.files.detection import (
    LongSeries,
    ProgressCallback,
    detect_table,
    evaluation_range,
    read_long_series,
)

METHOD = "farrington_flexible"

#: R ``farringtonFlexible`` with the improved method of Noufaily et al. (2013).
NOUFAILY = {
    "b": 5,
    "w": 3,
    "no_periods": 10,
    "weights_threshold": 2.58,
    "past_weeks_not_included": 26,
    "p_threshold_trend": 1.0,
    "threshold_method": "nb_plugin",
    "alpha": 0.01,
}

#: The last two years of the eight are evaluated (b = 5 years of history are needed).
EVALUATED_WEEKS = 104


def data_file(name: str) -> Path:
    """A file of the package's data folder."""
    return Path(str(resources.files("tocsin") / "data" / name))


def district_names() -> dict[str, str]:
    """District code -> name, from the population table."""
    with data_file("fluBYBW_population.csv").open(encoding="utf-8", newline="") as fh:
        return {row["code"]: row["name"] for row in csv.DictReader(fh)}


@dataclass(frozen=True)
class DistrictAlarms:
    """Alarms of one district over the evaluated weeks."""

    code: str
    name: str
    alarms: int
    evaluated: int
    cases: int
    first_alarm: str | None
    last_alarm: str | None


@dataclass(frozen=True)
class DemoRun:
    """The outcome of :func:`run_demo`."""

    data: LongSeries
    result: DetectionResult
    districts: list[DistrictAlarms]
    seconds: float

    @property
    def total_alarms(self) -> int:
        return sum(d.alarms for d in self.districts)

    @property
    def first_label(self) -> str:
        return self.data.labels[int(self.result.range[0])]

    @property
    def last_label(self) -> str:
        return self.data.labels[int(self.result.range[-1])]


def run_demo(*, chunks: int = 1, on_progress: ProgressCallback | None = None) -> DemoRun:
    """Detect outbreaks in the last :data:`EVALUATED_WEEKS` weeks of the demo data.

    The file's weeks are numbered consecutively: the data come from R's ``fluBYBW``,
    which counts every year as 52 weeks, so ISO week 2004-W53 is absent by construction
    and R's time index (which tocsin must reproduce) has no gap there.
    """
    available = registry.available_methods()
    if METHOD not in available:
        raise UserError(
            f"the demo needs the method {METHOD!r}, which this installation does not have "
            f"yet; available methods: {', '.join(available)}. Try `tocsin detect "
            "--list` and `tocsin detect` on your own data meanwhile"
        )
    started = time.perf_counter()
    data = read_long_series(
        data_file("fluBYBW_observed.csv"),
        counts=True,
        series_column="jurisdiction",
        consecutive=True,
    )
    method = registry.get(METHOD)
    params = registry.make_parameters(METHOD, NOUFAILY)
    rows = evaluation_range(data, method, params, last=EVALUATED_WEEKS)
    result = detect_table(data, METHOD, params, rows, chunks=chunks, on_progress=on_progress)
    seconds = time.perf_counter() - started
    return DemoRun(data, result, summarise(data, result), seconds)


def summarise(data: LongSeries, result: DetectionResult) -> list[DistrictAlarms]:
    """Alarms per district, most alarms first (then by code)."""
    names = district_names()
    labels = np.asarray(data.labels, dtype=object)[result.range]
    alarm = result.alarm == 1
    out = []
    for j, code in enumerate(data.series):
        weeks = np.flatnonzero(alarm[:, j])
        out.append(
            DistrictAlarms(
                code=code,
                name=names.get(code, code),
                alarms=int(weeks.size),
                evaluated=int(np.isfinite(result.alarm[:, j]).sum()),
                cases=int(np.nansum(result.observed[:, j])),
                first_alarm=str(labels[weeks[0]]) if weeks.size else None,
                last_alarm=str(labels[weeks[-1]]) if weeks.size else None,
            )
        )
    out.sort(key=lambda d: (-d.alarms, d.code))
    return out
