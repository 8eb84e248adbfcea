"""Tables of the monitoring domain.

Periods are stored as integer ordinals (:mod:`tocsin.periods`) whose kind is the
frequency of the series' indicator. An observation's source and time of ingestion are
those of the :class:`Ingest` that wrote it; a corrected value moves to
:class:`ObservationRevision`, so the value as of any past moment can be read back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tocsin.store.base import Base, BigIntKey, JSONType, UTCDateTime, utcnow

#: Allowed values of the enumerated text columns (checked by the database too).
DOMAINS = (
    "health",
    "food",
    "energy",
    "water",
    "environment",
    "finance",
    "supply",
    "infrastructure",
    "natural-hazard",
    "production-safety",
)
VALUE_KINDS = ("count", "rate", "level", "price", "index")
FREQUENCIES = ("day", "week", "month", "quarter")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Timestamps:
    """``created_at`` and ``updated_at`` columns."""

    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Jurisdiction(Timestamps, Base):
    """An administrative area; jurisdictions form a tree through ``parent_id``."""

    __tablename__ = "jurisdiction"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    level: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(300))
    name_zh: Mapped[str | None] = mapped_column(String(300))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("jurisdiction.id"), index=True)
    #: A GeoJSON geometry object (WGS84 longitude/latitude), or None.
    geometry: Mapped[Any | None] = mapped_column(JSONType, deferred=True)

    parent: Mapped[Jurisdiction | None] = relationship(remote_side=[id], lazy="raise")


class JurisdictionPopulation(Base):
    """The population of a jurisdiction in a year."""

    __tablename__ = "jurisdiction_population"
    __table_args__ = (CheckConstraint("population >= 0", name="population_not_negative"),)

    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdiction.id", ondelete="CASCADE"), primary_key=True
    )
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    population: Mapped[int] = mapped_column(BigInteger)


class StratumPopulation(Base):
    """The population of one stratum (e.g. an age group, named as the series name it) of
    a jurisdiction in a year: the offset of that stratum's series
    (:mod:`tocsin.monitoring.population`)."""

    __tablename__ = "stratum_population"
    __table_args__ = (CheckConstraint("population >= 0", name="population_not_negative"),)

    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdiction.id", ondelete="CASCADE"), primary_key=True
    )
    stratum: Mapped[str] = mapped_column(String(100), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    population: Mapped[int] = mapped_column(BigInteger)


class Indicator(Timestamps, Base):
    """A quantity that is watched, e.g. weekly influenza notifications."""

    __tablename__ = "indicator"
    __table_args__ = (
        CheckConstraint(_one_of("domain", DOMAINS), name="domain"),
        CheckConstraint(_one_of("value_kind", VALUE_KINDS), name="value_kind"),
        CheckConstraint(_one_of("frequency", FREQUENCIES), name="frequency"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    name_zh: Mapped[str | None] = mapped_column(String(300))
    domain: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(64))
    value_kind: Mapped[str] = mapped_column(String(16))
    frequency: Mapped[str] = mapped_column(String(8))
    description: Mapped[str | None] = mapped_column(Text)
    #: The due rule (:mod:`tocsin.monitoring.completeness`): a period's data are due
    #: ``due_days`` after its last day at ``due_time`` (HH:MM) in ``due_timezone``; None:
    #: reporting not tracked.
    due_days: Mapped[int | None] = mapped_column(Integer)
    due_time: Mapped[str | None] = mapped_column(String(5))
    due_timezone: Mapped[str | None] = mapped_column(String(64))


class Series(Base):
    """The values of one indicator in one jurisdiction (and optional stratum).

    ``version`` grows by one with every ingest that changes the series; each such ingest
    also writes a :class:`SeriesChange` naming the earliest period it changed, which is
    how detection runs find exactly what to re-evaluate.
    """

    __tablename__ = "series"
    __table_args__ = (UniqueConstraint("indicator_id", "jurisdiction_id", "stratum"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicator.id"))
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdiction.id"), index=True)
    #: A subgroup such as an age group ("" when the series is not stratified).
    stratum: Mapped[str] = mapped_column(String(100), default="", server_default="")
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SeriesChange(Base):
    """Ingest ``ingest_id`` changed ``series_id`` from period ``from_period`` on.

    ``ingest_id`` is None when the population of the series' jurisdiction changed
    (``jurisdictions load-population``): detection methods with a population offset see
    a changed input from the first period of the changed year.
    """

    __tablename__ = "series_change"

    series_id: Mapped[int] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_period: Mapped[int] = mapped_column(Integer)
    ingest_id: Mapped[int | None] = mapped_column(ForeignKey("ingest.id"))


class Ingest(Base):
    """One ingested file (or batch): its source, time and outcome."""

    __tablename__ = "ingest"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(300))
    file_name: Mapped[str | None] = mapped_column(String(1000))
    rows_inserted: Mapped[int] = mapped_column(Integer, default=0)
    rows_revised: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)


class Observation(Base):
    """The current value of a series in a period.

    No foreign keys (on purpose): PostgreSQL checks them row by row, which makes bulk
    loads ten times slower. Only ingest writes observations, in the transaction that
    creates their series and ingest; series and ingests are never deleted.
    """

    __tablename__ = "observation"
    __table_args__ = ({"sqlite_with_rowid": False},)

    series_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[float] = mapped_column(Double)
    ingest_id: Mapped[int] = mapped_column(Integer)


class ObservationRevision(Base):
    """A value that was current from ingest ``ingest_id`` until ``superseded_by``
    (no foreign keys, as :class:`Observation`)."""

    __tablename__ = "observation_revision"
    __table_args__ = (Index(None, "series_id", "period"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    series_id: Mapped[int] = mapped_column(Integer)
    period: Mapped[int] = mapped_column(Integer)
    value: Mapped[float] = mapped_column(Double)
    ingest_id: Mapped[int] = mapped_column(Integer)
    superseded_by: Mapped[int] = mapped_column(Integer)


class Detector(Timestamps, Base):
    """A detection configuration: a method and its parameters, for an indicator's series.

    With ``series_id`` None it applies to every series of the indicator, except those
    that have their own configuration of the same method.
    """

    __tablename__ = "detector"
    __table_args__ = (
        Index(
            "uq_detector_target_method",
            "indicator_id",
            text("coalesce(series_id, 0)"),
            "method",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicator.id"))
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id"))
    method: Mapped[str] = mapped_column(String(64))
    #: The validated parameters (``Parameters.as_dict()``).
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONType)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class DetectionState(Base):
    """The series version that a detector's signals for a series are up to date with."""

    __tablename__ = "detection_state"

    detector_id: Mapped[int] = mapped_column(
        ForeignKey("detector.id", ondelete="CASCADE"), primary_key=True
    )
    series_id: Mapped[int] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), primary_key=True
    )
    seen_version: Mapped[int] = mapped_column(Integer)


class Signal(Base):
    """What a detector found for one series in one period.

    ``upperbound`` is NULL where the method has no finite bound (EARS C3 gives ``-inf``
    when every value alarms): "no bound", never an infinite number shown to people.
    """

    __tablename__ = "signal"
    __table_args__ = ({"sqlite_with_rowid": False},)

    series_id: Mapped[int] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), primary_key=True
    )
    detector_id: Mapped[int] = mapped_column(
        ForeignKey("detector.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[int] = mapped_column(Integer, primary_key=True)
    observed: Mapped[float | None] = mapped_column(Double)
    expected: Mapped[float | None] = mapped_column(Double)
    upperbound: Mapped[float | None] = mapped_column(Double)
    alarm: Mapped[bool | None] = mapped_column(Boolean)
    score: Mapped[float | None] = mapped_column(Double)
    #: ``tocsin.detect``'s tail probability: one meaning for every method.
    tail_probability: Mapped[float | None] = mapped_column(Double)
    diagnostics: Mapped[dict[str, float | None] | None] = mapped_column(JSONType)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("detection_run.id"), index=True)


class DetectionRun(Base):
    """One ``run-detection``: when, by whom, and what it wrote."""

    __tablename__ = "detection_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    detectors: Mapped[int] = mapped_column(Integer, default=0)
    series: Mapped[int] = mapped_column(Integer, default=0)
    signals: Mapped[int] = mapped_column(Integer, default=0)
    alarms: Mapped[int] = mapped_column(Integer, default=0)
    #: Wall-clock time of the run (seconds); NULL for runs older than revision ops0001.
    duration_seconds: Mapped[float | None] = mapped_column(Double)
