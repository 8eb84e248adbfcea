"""The shapes every detection method shares: a batch of series in, a result out.

Like R's ``surveillance`` package, where every algorithm returns the same ``sts`` object
(upper bound and alarm per time point), every tocsin method takes a :class:`SeriesBatch`
and returns a :class:`DetectionResult` whose arrays have one row per evaluated period and
one column per series. Missing values are ``NaN`` throughout; ``alarm`` is ``1.0``,
``0.0`` or ``NaN`` (no decision, e.g. too little history). ``tail_probability`` is the
one quantity with the same meaning for every method (:mod:`tocsin.detect.tails`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tocsin.detect.errors import InputDataError

SUPPORTED_FREQUENCIES = (4, 7, 12, 52, 365)


@dataclass(frozen=True)
class SeriesBatch:
    """Several aligned series observed over the same periods.

    Attributes:
        counts: float array (n_periods, n_series); ``NaN`` marks a missing value.
        freq: periods per year: 52 (weekly), 12 (monthly), 365 (daily) or 7.
        range: 0-based positions of the periods to evaluate, strictly increasing.
        dates: optional ``datetime64[D]`` array (n_periods,) of each period's date;
            when given, Farrington-type methods choose reference periods by calendar
            date as R does for ``sts`` objects with ``epochAsDate=TRUE``.
        population: optional float array (n_periods, n_series) of population at risk.
    """

    counts: np.ndarray
    freq: int
    range: np.ndarray
    dates: np.ndarray | None = None
    population: np.ndarray | None = None

    def __post_init__(self) -> None:
        counts = np.asarray(self.counts, dtype=np.float64)
        if counts.ndim == 1:
            counts = counts[:, None]
        if counts.ndim != 2:
            raise InputDataError(
                f"counts must be a matrix (periods x series); got {counts.ndim} dims"
            )
        object.__setattr__(self, "counts", counts)
        if self.freq not in SUPPORTED_FREQUENCIES:
            raise InputDataError(
                f"frequency {self.freq} is not supported; expected one of {SUPPORTED_FREQUENCIES}"
            )
        rng = np.asarray(self.range, dtype=np.int64).ravel()
        n = counts.shape[0]
        if rng.size == 0:
            raise InputDataError("the range of periods to evaluate is empty")
        if rng.min() < 0 or rng.max() >= n:
            raise InputDataError(
                f"the range of periods to evaluate must lie within 0..{n - 1}; "
                f"got {rng.min()}..{rng.max()}"
            )
        if np.any(np.diff(rng) <= 0):
            raise InputDataError("the range of periods to evaluate must be strictly increasing")
        object.__setattr__(self, "range", rng)
        if self.dates is not None:
            dates = np.asarray(self.dates, dtype="datetime64[D]")
            if dates.shape != (n,):
                raise InputDataError(
                    f"dates must have one entry per period ({n}); got {dates.shape}"
                )
            if np.any(np.diff(dates).astype(np.int64) <= 0):
                raise InputDataError("dates must be strictly increasing")
            object.__setattr__(self, "dates", dates)
        if self.population is not None:
            pop = np.asarray(self.population, dtype=np.float64)
            if pop.ndim == 1:
                pop = pop[:, None]
            if pop.shape[0] != n or pop.shape[1] not in (1, counts.shape[1]):
                raise InputDataError(
                    f"population must have shape {counts.shape} (or one column); got {pop.shape}"
                )
            pop = np.broadcast_to(pop, counts.shape).copy()
            if np.any(pop[np.isfinite(pop)] <= 0):
                raise InputDataError("population must be positive")
            object.__setattr__(self, "population", pop)

    @property
    def n_periods(self) -> int:
        return int(self.counts.shape[0])

    @property
    def n_series(self) -> int:
        return int(self.counts.shape[1])

    def select_series(self, columns: np.ndarray | list[int]) -> SeriesBatch:
        """The same batch restricted to some series (columns)."""
        cols = np.asarray(columns, dtype=np.int64)
        return SeriesBatch(
            counts=self.counts[:, cols],
            freq=self.freq,
            range=self.range,
            dates=self.dates,
            population=None if self.population is None else self.population[:, cols],
        )


@dataclass
class DetectionResult:
    """Output of a method: arrays of shape (len(range), n_series).

    ``score`` is the method's own measure of how far an observation lies beyond what is
    expected (R's ``score`` for Farrington; the statistic for CUSUM and GLR; a z-score
    for EARS): its scale differs from method to method. ``tail_probability`` is the
    probability of a value at least as extreme as the observed one under the method's
    in-control model for that period (:mod:`tocsin.detect.tails`; NaN where the method
    has no such model or no decision): the same meaning for every method.
    ``diagnostics`` holds further per-cell arrays named as the method documents (for
    Farrington: ``mu0``, ``phi``, ``trend_coef``, ``pvalue``).
    """

    range: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    upperbound: np.ndarray
    alarm: np.ndarray
    score: np.ndarray
    diagnostics: dict[str, np.ndarray] = field(default_factory=dict)
    tail_probability: np.ndarray | None = None

    def __post_init__(self) -> None:
        shape = self.observed.shape
        if self.tail_probability is None:
            self.tail_probability = np.full(shape, np.nan)
        for name in ("expected", "upperbound", "alarm", "score", "tail_probability"):
            arr = np.asarray(getattr(self, name), dtype=np.float64)
            if arr.shape != shape:
                raise ValueError(f"{name} has shape {arr.shape}; expected {shape}")
            setattr(self, name, arr)
        for name, arr in self.diagnostics.items():
            arr = np.asarray(arr, dtype=np.float64)
            if arr.shape != shape:
                raise ValueError(f"diagnostic {name} has shape {arr.shape}; expected {shape}")
            self.diagnostics[name] = arr

    @classmethod
    def empty(cls, batch: SeriesBatch, diagnostics: tuple[str, ...] = ()) -> DetectionResult:
        """A result filled with NaN, to be completed by a method."""
        shape = (batch.range.size, batch.n_series)

        def nan() -> np.ndarray:
            return np.full(shape, np.nan)

        return cls(
            range=batch.range,
            observed=batch.counts[batch.range],
            expected=nan(),
            upperbound=nan(),
            alarm=nan(),
            score=nan(),
            diagnostics={d: nan() for d in diagnostics},
        )

    @classmethod
    def concatenate(cls, parts: list[DetectionResult], axis: int = 0) -> DetectionResult:
        """Results joined in order: of consecutive pieces of a range (same series;
        ``axis=0``) or of consecutive groups of series (same range; ``axis=1``)."""

        def join(arrays: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(arrays, axis=axis)

        def field(name: str) -> np.ndarray:
            return join([getattr(r, name) for r in parts])

        return cls(
            range=field("range") if axis == 0 else parts[0].range,
            observed=field("observed"),
            expected=field("expected"),
            upperbound=field("upperbound"),
            alarm=field("alarm"),
            score=field("score"),
            diagnostics={k: join([r.diagnostics[k] for r in parts]) for k in parts[0].diagnostics},
            tail_probability=field("tail_probability"),
        )

    def select_series(self, columns: np.ndarray | list[int]) -> DetectionResult:
        cols = np.asarray(columns, dtype=np.int64)
        return DetectionResult(
            range=self.range,
            observed=self.observed[:, cols],
            expected=self.expected[:, cols],
            upperbound=self.upperbound[:, cols],
            alarm=self.alarm[:, cols],
            score=self.score[:, cols],
            diagnostics={k: v[:, cols] for k, v in self.diagnostics.items()},
            tail_probability=self.tail_probability[:, cols],
        )
