"""Indicator values of the composite index tests: five indicators (monthly) with a few
observations in the districts of the web tests' territory."""

from __future__ import annotations

from tocsin.periods import parse_periods

INDICATORS = ("people_exposed", "quake_intensity", "poverty_rate", "hospital_beds", "physicians")
#: district -> indicator -> (older value, newest value); the newest counts.
VALUES = {
    "9162": {
        "people_exposed": (5, 99),
        "quake_intensity": (3, 8),
        "poverty_rate": (10, 20),
        "hospital_beds": (4, 2),
        "physicians": (2, 1),
    },
    # Beyond the goalposts and without physicians: scores clip, the mean takes beds only.
    "9184": {
        "people_exposed": (0, 20000),
        "quake_intensity": (1, 1),
        "poverty_rate": (50, 50),
        "hospital_beds": (9, 9),
    },
    # No vulnerability figure: no index.
    "8111": {"people_exposed": (1, 1), "quake_intensity": (5, 5), "hospital_beds": (1, 1)},
}
MONTHS = ("2026-10", "2026-11")


def store_values(engine) -> None:
    from tocsin.monitoring.models import Indicator, Ingest, Jurisdiction, Observation, Series
    from tocsin.store import write_session

    ordinals = [int(o) for o in parse_periods(list(MONTHS)).ordinals]
    with write_session(engine) as db:
        ingest = Ingest(actor="test", source="fixture")
        db.add(ingest)
        ids = {}
        for code in INDICATORS:
            indicator = Indicator(
                code=code,
                name=code.replace("_", " "),
                domain="natural-hazard",
                unit="1",
                value_kind="level",
                frequency="month",
            )
            db.add(indicator)
            db.flush()
            ids[code] = indicator.id
        for place, values in VALUES.items():
            jid = db.query(Jurisdiction.id).filter(Jurisdiction.code == place).scalar()
            for code, pair in values.items():
                series = Series(indicator_id=ids[code], jurisdiction_id=jid, stratum="", version=1)
                db.add(series)
                db.flush()
                for ordinal, value in zip(ordinals, pair, strict=True):
                    db.add(
                        Observation(
                            series_id=series.id, period=ordinal, value=value, ingest_id=ingest.id
                        )
                    )
