"""Why an alarm was raised: the detectors that alarmed in an alert's latest alarm period,
with their parameters and what the ``signal`` table stored for that period.

Nothing is recomputed: the expected value, the upper bound, the method's score and
tail probability and its diagnostics (Farrington's p-value, dispersion ``phi`` ...) are
read as the detection run stored them. Which periods formed the baseline is not stored;
for the methods whose baseline is a fixed run of periods before the one tested (EARS
C1-C3, Hutwagner et al. 2003; the ESSENCE regression and EWMA detectors, Rnssp) the
window follows from the parameters alone and is given as periods; for the
historical-limits methods (Farrington 1996, Noufaily 2013, Stroup 1989's CDC limits,
Bayes, RKI, the seasonal z-score) it is described by the parameters (``b`` years back,
``w`` periods either side), because the periods "one year back" are found by calendar
date (``reference_periods``) and gaps in the data move them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.alerting.models import Alert
from tocsin.detect.methods.ears import _GUARD as EARS_GUARD
from tocsin.monitoring.models import Detector, Signal

#: Methods whose baseline is the same time of year in past years (``b`` years back,
#: ``w`` periods either side).
HISTORICAL = frozenset(
    {"farrington", "farrington_flexible", "noufaily_two_week", "recommended", "bayes",
     "rki", "seasonal_z", "cdc"}
)  # fmt: skip
#: Methods with a running statistic over the whole series instead of a baseline.
RUNNING = frozenset({"cusum", "glr_negbin", "glr_poisson", "outbreak_p"})
#: ESSENCE detectors with a sliding baseline of ``b`` periods ending ``g`` before.
ESSENCE_WINDOW = frozenset({"essence_ewma", "essence_regression", "essence_switch"})


@dataclass(frozen=True)
class Baseline:
    """The baseline of one alarm.

    ``kind``: ``window`` (periods ``first`` .. ``last``, from the parameters), ``years``
    (``years`` years back, ``either_side`` periods either side; ``blocks`` seasonal
    blocks and ``excluded`` latest periods left out where the method has them),
    ``running`` (a statistic accumulated over the series) or ``unknown``.
    """

    kind: str
    first: int | None = None
    last: int | None = None
    years: int | None = None
    either_side: int | None = None
    blocks: int | None = None
    excluded: int | None = None


@dataclass(frozen=True)
class AlarmSignal:
    """One detector's alarm as the signal table holds it."""

    detector_id: int
    method: str
    parameters: dict[str, Any]
    period: int
    observed: float | None
    expected: float | None
    upperbound: float | None
    score: float | None
    tail_probability: float | None
    diagnostics: dict[str, float | None] = field(default_factory=dict)
    baseline: Baseline = Baseline("unknown")


def baseline_of(method: str, parameters: dict[str, Any], period: int) -> Baseline:
    """The baseline of ``method`` with ``parameters`` for the alarm in ``period``."""
    p = parameters
    if method in ("ears_c1", "ears_c2", "ears_c3"):
        # C3 adds the C2 statistics of the two periods before, each on its own baseline.
        guard = EARS_GUARD["C1" if method == "ears_c1" else "C2"]
        length = int(p.get("baseline", 7))
        return Baseline("window", first=period - guard - length + 1, last=period - guard)
    if method in ESSENCE_WINDOW and isinstance(p.get("b"), int) and isinstance(p.get("g"), int):
        return Baseline("window", first=period - p["g"] - p["b"], last=period - p["g"] - 1)
    if method in HISTORICAL and isinstance(p.get("b"), int):
        either_side = p.get("w", p.get("m"))
        blocks = p.get("no_periods")
        return Baseline(
            "years",
            years=p["b"],
            either_side=either_side if isinstance(either_side, int) else None,
            blocks=blocks if isinstance(blocks, int) and blocks > 1 else None,
            excluded=p.get("past_weeks_not_included") or None,
        )
    if method in RUNNING:
        return Baseline("running")
    return Baseline("unknown")


def alarm_signals(session: Session, alert: Alert) -> list[AlarmSignal] | None:
    """The alarms of the alert's latest alarm period, one per detector that alarmed,
    as stored; ``[]`` when the signal table no longer holds them (recomputed or removed
    since), None for an alert without a series (raised by hand, imported)."""
    period = alert.last_alarm_period if alert.last_alarm_period is not None else alert.first_period
    if alert.series_id is None or period is None:
        return None
    rows = session.execute(
        select(Signal, Detector.method, Detector.parameters)
        .join(Detector, Detector.id == Signal.detector_id)
        .where(
            Signal.series_id == alert.series_id,
            Signal.period == period,
            Signal.alarm.is_(True),
        )
        .order_by(Detector.method, Detector.id)
    ).all()
    return [
        AlarmSignal(
            detector_id=signal.detector_id,
            method=method,
            parameters=dict(parameters or {}),
            period=signal.period,
            observed=signal.observed,
            expected=signal.expected,
            upperbound=signal.upperbound,
            score=signal.score,
            tail_probability=signal.tail_probability,
            diagnostics=dict(signal.diagnostics or {}),
            baseline=baseline_of(method, parameters or {}, signal.period),
        )
        for signal, method, parameters in rows
    ]
