"""The demo's other hazards: real public data of other domains and frequencies under a
world root beside Germany (issue 16, *A multi-hazard demo*).

=========================  =============  ========  ================================
indicator                  where          period    detector
=========================  =============  ========  ================================
``deaths`` (all causes,    DK, 8 age      ISO week  ``farrington_flexible``, Noufaily
by age group)              groups                   et al.'s settings, each age
                           (strata)                 group's population as offset
``ozone`` (ppb)            US-NY          day       ``threshold``: 80 ppb alert, 120
                                                    crisis, clears below 70
``road_casualties``        GB             month     ``farrington_flexible`` (Noufaily)
``petrol_price``           GB             month     ``ifpa`` (FAO, SDG 2.c.1)
``gas_consumption``        GB             quarter   ``seasonal_z`` watching a fall
=========================  =============  ========  ================================

Each data set stops at its own "present" (:data:`PRESENTS`), a moment of its history
worth a duty officer's look, as figures arrive with their own delays: Denmark in the
second week of 2008 (deaths among the 75-84-year-olds and infants above their bounds),
New York on 1 September 1973 after a week of smog, Britain in June 1979 as the second oil
shock lifts the price of petrol (IFPA 3.5) and in March 1979 for road casualties, and
the spring of 1971 for gas, when consumption fell below its seasonal level.
Provenance of the files: ``tocsin/data/README.md``.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine

from tocsin.demo.summary import NOUFAILY as _NOUFAILY
from tocsin.demo.summary import data_file
from tocsin.periods import PeriodKind, parse_periods

#: The jurisdictions beside Germany, under the root ``WORLD`` (``tocsin.demo.site``).
TOP = """code,name,name_zh,level,parent
DK,Denmark,丹麦,country,WORLD
GB,United Kingdom,英国,country,WORLD
US,United States,美国,country,WORLD
US-NY,New York,纽约州,state,US
"""

_INDICATOR_ROWS = (
    "code,name,name_zh,domain,unit,value_kind,frequency,description",
    "deaths,All-cause deaths,全因死亡,health,deaths,count,week,"
    "weekly deaths by age group (Statens Serum Institut)",
    "ozone,Ozone (13:00-15:00 mean),臭氧（13:00-15:00均值）,environment,ppb,level,day,"
    "Roosevelt Island (NYS Department of Conservation)",
    "road_casualties,Drivers killed or seriously injured,驾驶员死亡或重伤,production-safety,"
    "drivers,count,month,road casualties in Great Britain (Department of Transport)",
    "petrol_price,Petrol price (real index),汽油价格（实际指数）,energy,index,price,month,"
    "real price of petrol in Great Britain",
    "gas_consumption,Gas consumption,燃气消费量,energy,million therms,level,quarter,"
    "UK gas consumption",
)
INDICATORS = "\n".join(_INDICATOR_ROWS) + "\n"

#: (indicator, file, the file's indicator column value or None, first and last period
#: loaded). Denmark from 2001: Farrington's 5 years of history and two seasons to watch,
#: so that the demo's first detection run fits a few hundred models, not thousands.
PRESENTS: tuple[tuple[str, str, str | None, str | None, str], ...] = (
    ("deaths", "momo_deaths_DK.csv", None, "2001-W01", "2008-W02"),
    ("ozone", "airquality_NY_1973.csv", "ozone", None, "1973-09-01"),
    ("road_casualties", "seatbelts_GB.csv", "drivers_killed_or_seriously_injured", None, "1979-03"),
    ("petrol_price", "seatbelts_GB.csv", "petrol_price", None, "1979-06"),
    ("gas_consumption", "ukgas_GB.csv", "gas_consumption", None, "1971-Q2"),
)

#: (indicator, method, settings)
DETECTORS: tuple[tuple[str, str, dict[str, object]], ...] = (
    ("deaths", "farrington_flexible", {**_NOUFAILY, "population_offset": "true"}),
    ("ozone", "threshold", {"alert_level": 80, "crisis_level": 120, "clear_margin": 10}),
    (
        "road_casualties",
        "farrington_flexible",
        {**_NOUFAILY, "w": 1, "past_weeks_not_included": 6},
    ),
    ("petrol_price", "ifpa", {}),
    ("gas_consumption", "seasonal_z", {"b": 3, "w": 0, "direction": "down"}),
)

#: Severity cut-offs (tail probabilities of levels III, II, I) of indicators whose
#: detector does not speak in p-values of counts: the IFPA's classes (docs/methods.md,
#: ``ifpa``: 1, 2 and 3 standard deviations) for the petrol price.
SEVERITY: dict[str, tuple[float, float, float]] = {
    "petrol_price": (0.1587, 0.02275, 0.00135),
}


def _between(
    path: Path, target: Path, indicator: str | None, first: str | None, last: str, kind: PeriodKind
) -> None:
    """Copy the rows of ``path`` of ``indicator`` (all when None) from period ``first``
    (the beginning when None) to period ``last``."""
    start = -(2**62) if first is None else int(parse_periods([first], kind=kind).ordinals[0])
    end = int(parse_periods([last], kind=kind).ordinals[0])
    with path.open(encoding="utf-8", newline="") as src:
        rows = list(csv.DictReader(src))
    if indicator is not None:
        rows = [r for r in rows if r["indicator"] == indicator]
    ordinals = parse_periods([r["period"] for r in rows], kind=kind).ordinals
    kept = [r for r, o in zip(rows, ordinals, strict=True) if start <= o <= end]
    columns = [c for c in rows[0] if c != "indicator"]
    with target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(kept)


def _population(target: Path) -> None:
    """Denmark's population by year, of each age group (the offset of its deaths, as in
    EuroMOMO) and in total (the sum of the age groups): their figures in the first week
    of each ISO year (the store keeps population by year)."""
    strata: dict[tuple[str, str], int] = {}
    with data_file("momo_population_DK.csv").open(encoding="utf-8", newline="") as src:
        for row in csv.DictReader(src):
            if row["period"].endswith("-W01"):
                strata[(row["period"][:4], row["stratum"])] = int(float(row["population"]))
    totals: dict[str, int] = defaultdict(int)
    for (year, _), population in strata.items():
        totals[year] += population
    with target.open("w", encoding="utf-8", newline="") as out:
        out.write("code,stratum,year,population\n")
        for year, total in sorted(totals.items()):
            out.write(f"DK,,{year},{total}\n")
        for (year, stratum), population in sorted(strata.items()):
            out.write(f"DK,{stratum},{year},{population}\n")


def load(engine: Engine, folder: Path, *, actor: str) -> None:
    """The world's jurisdictions, indicators, observations, population, detectors and
    alert rules (the detection run and the alerts follow with Germany's)."""
    from tocsin.alerting import rules
    from tocsin.alerting.severity import SeverityRule
    from tocsin.monitoring import indicators, ingest, jurisdictions
    from tocsin.monitoring.schemas import PERIOD_KIND
    from tocsin.store import write_session

    top = folder / "world.csv"
    top.write_text(TOP, encoding="utf-8")
    kinds = folder / "world-indicators.csv"
    kinds.write_text(INDICATORS, encoding="utf-8")
    population = folder / "population-DK.csv"
    _population(population)
    frequency = {line.split(",")[0]: line.split(",")[6] for line in INDICATORS.splitlines()[1:]}
    with write_session(engine) as db:
        jurisdictions.load(db, top, actor=actor)
        indicators.load(db, kinds, actor=actor)
        jurisdictions.load_population(db, population, actor=actor)
    for indicator, name, column, first, last in PRESENTS:
        part = folder / f"{indicator}.csv"
        _between(data_file(name), part, column, first, last, PERIOD_KIND[frequency[indicator]])
        ingest.ingest_file(engine, part, indicator=indicator, actor=actor)
    set_detectors(engine, DETECTORS, actor=actor)
    with write_session(engine) as db:
        for indicator, cutoffs in SEVERITY.items():
            rules.set_rule(
                db, indicator=indicator, severity_rule=SeverityRule(cutoffs=cutoffs), by=actor
            )


def set_detectors(engine: Engine, chosen: Sequence[tuple[str, str, dict]], *, actor: str) -> None:
    """Each ``(indicator, method, settings)`` of ``chosen`` as its indicator's detector."""
    from tocsin.monitoring import detectors
    from tocsin.store import write_session

    with write_session(engine) as db:
        for indicator, method, settings in chosen:
            detectors.set_detector(
                db,
                indicator=indicator,
                method=method,
                settings={k: str(v) for k, v in settings.items()},
                actor=actor,
            )
