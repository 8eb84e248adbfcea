"""Jurisdictions: the tree of administrative areas, and their population by year.

``load`` reads GeoJSON (feature properties ``code``, ``name``, ``parent`` and optionally
``level``, ``name_zh``; the feature's geometry is kept) or a table with the same
columns. Rows may come in any order; a parent must be in the same file or already
stored. Every problem is reported before anything is written; then the load is a fixed
number of statements (a bulk insert, a bulk update) and one audit entry with its counts,
the codes created and each change's before and after (issue 17).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, undefer
from sqlalchemy.orm.attributes import set_committed_value

from tocsin.audit import record
from tocsin.errors import NotFoundError
from tocsin.files.records import Record, read_records, validate
from tocsin.files.tables import (
    Problem,
    Problems,
    TableError,
    numeric_column,
    read_table,
    text_column,
)
from tocsin.monitoring.models import Jurisdiction, JurisdictionPopulation, StratumPopulation
from tocsin.monitoring.population import mark_population_changes
from tocsin.monitoring.schemas import LEVELS, JurisdictionIn, LoadSummary
from tocsin.text import first_forbidden

_FIELDS = ("code", "name", "parent", "level", "name_zh")


def get(session: Session, code: str) -> Jurisdiction:
    """The jurisdiction with ``code``; :class:`NotFoundError` if there is none."""
    found = session.scalar(select(Jurisdiction).where(Jurisdiction.code == code))
    if found is None:
        raise NotFoundError(
            f"no jurisdiction with code {code!r}; load it with `tocsin jurisdictions load`"
        )
    return found


def get_all(session: Session) -> list[Jurisdiction]:
    """Every jurisdiction, ordered by code."""
    return list(session.scalars(select(Jurisdiction).order_by(Jurisdiction.code)))


def _geometry_digest(geometry: Any) -> str | None:
    if geometry is None:
        return None
    canonical = json.dumps(geometry, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _state(j: Jurisdiction, parent_code: str | None) -> dict[str, Any]:
    """What the audit log records of a jurisdiction (the geometry as a digest)."""
    return {
        "code": j.code,
        "name": j.name,
        "name_zh": j.name_zh,
        "level": j.level,
        "parent": parent_code,
        "geometry": _geometry_digest(j.geometry),
    }


def _order_parents_first(
    rows: dict[str, tuple[Record, JurisdictionIn]],
    stored: dict[str, Jurisdiction],
    problems: Problems,
) -> list[str]:
    """Codes of the file with every parent before its children; problems for bad parents."""
    ordered: list[str] = []
    state: dict[str, str] = {}  # "visiting" / "done"

    def visit(code: str, chain: list[str]) -> None:
        if state.get(code) == "done":
            return
        rec, item = rows[code]
        if state.get(code) == "visiting":
            cycle = " > ".join([*chain[chain.index(code) :], code])
            problems.add(
                Problem(rec.location("parent"), "parent", item.parent, f"makes a cycle: {cycle}")
            )
            state[code] = "done"
            return
        state[code] = "visiting"
        parent = item.parent
        if parent is not None:
            if parent == code:
                problems.add(Problem(rec.location("parent"), "parent", parent, "is the row itself"))
            elif parent in rows:
                visit(parent, [*chain, code])
            elif parent not in stored:
                problems.add(
                    Problem(
                        rec.location("parent"),
                        "parent",
                        parent,
                        "is not in this file nor stored; expected the code of a jurisdiction",
                    )
                )
        state[code] = "done"
        ordered.append(code)

    for code in rows:
        visit(code, [])
    return ordered


def _creates_stored_cycle(code: str, parent: str | None, parents: dict[str, str | None]) -> bool:
    """Whether making ``parent`` the parent of ``code`` closes a loop through stored rows."""
    seen = {code}
    while parent is not None:
        if parent in seen:
            return True
        seen.add(parent)
        parent = parents.get(parent)
    return False


def load(session: Session, path: str | Path, *, actor: str | None = None) -> LoadSummary:
    """Create or update the jurisdictions of a GeoJSON or table file (all or nothing)."""
    records = read_records(path, key="jurisdictions", required=("code", "name"), optional=_FIELDS)
    problems = Problems()
    items = validate(records, JurisdictionIn, problems)
    rows: dict[str, tuple[Record, JurisdictionIn]] = {}
    for rec, item in zip(records, items, strict=True):
        if item is None:
            continue
        if item.code in rows:
            first = rows[item.code][0].where
            problems.add(
                Problem(
                    rec.location("code"), "code", item.code, f"appears twice (first at {first})"
                )
            )
            continue
        rows[item.code] = (rec, item)
    # Geometries too, to compare and audit changed rows without a query per row.
    stored = {
        j.code: j
        for j in session.scalars(select(Jurisdiction).options(undefer(Jurisdiction.geometry)))
    }
    by_id = {j.id: j.code for j in stored.values()}
    parents: dict[str, str | None] = {
        code: by_id.get(j.parent_id) if j.parent_id else None for code, j in stored.items()
    }
    order = _order_parents_first(rows, stored, problems)
    for code in order:
        parents[code] = rows[code][1].parent
    for code in order:
        rec, item = rows[code]
        if code in stored and _creates_stored_cycle(code, item.parent, parents):
            problems.add(
                Problem(rec.location("parent"), "parent", item.parent, "would make a cycle")
            )
    problems.raise_if_any(Path(path))

    summary = LoadSummary()
    depth: dict[str, int] = {}

    def depth_of(code: str | None) -> int:
        chain: list[str] = []
        while code is not None and code not in depth:
            chain.append(code)
            code = parents.get(code)
        known = depth[code] if code is not None else -1
        for step in reversed(chain):
            known += 1
            depth[step] = known
        return known

    # One pass in memory, then a fixed number of statements whatever the number of rows:
    # the new rows in one bulk INSERT (their parents linked after, as a parent may be new
    # too), the changed rows and the new rows' parents in one bulk UPDATE by key.
    new_rows: list[dict[str, Any]] = []
    for code in order:
        if code not in stored:
            rec, item = rows[code]
            level = item.level or LEVELS[min(depth_of(code), len(LEVELS) - 1)]
            new_rows.append(
                {"code": code, "name": item.name, "name_zh": item.name_zh, "level": level,
                 **({"geometry": geometry} if (geometry := rec.extra.get("geometry")) else {})}
            )  # fmt: skip
    ids = {code: j.id for code, j in stored.items()}
    if new_rows:
        inserted = session.execute(
            insert(Jurisdiction).returning(Jurisdiction.code, Jurisdiction.id), new_rows
        )
        ids.update({code: jid for code, jid in inserted})
    updates: list[dict[str, Any]] = []
    changes: dict[str, dict[str, Any]] = {}
    for code in order:
        rec, item = rows[code]
        parent_id = ids[item.parent] if item.parent else None
        existing = stored.get(code)
        if existing is None:
            summary.created += 1
            if parent_id is not None:
                updates.append({"id": ids[code], "parent_id": parent_id})
            continue
        values = {
            "name": item.name,
            "name_zh": item.name_zh,
            "level": item.level or existing.level,  # keep a stored level unless given
            "parent_id": parent_id,
        }
        if "name_zh" not in item.model_fields_set:
            del values["name_zh"]  # not in the file: keep the stored name
        if "geometry" in rec.extra:
            values["geometry"] = rec.extra["geometry"]
        changed = {k: v for k, v in values.items() if getattr(existing, k) != v}
        if not changed:
            summary.unchanged += 1
            continue
        old_parent = by_id.get(existing.parent_id) if existing.parent_id else None
        before = _state(existing, old_parent)
        for key, value in changed.items():
            set_committed_value(existing, key, value)
        changes[code] = {"before": before, "after": _state(existing, item.parent)}
        updates.append({"id": existing.id, **values})
        summary.updated += 1
    if updates:
        session.execute(update(Jurisdiction), updates)
    if summary.created or summary.updated:
        record(
            session,
            action="jurisdiction.load",
            object_type="jurisdiction",
            object_id=Path(path).name,
            after={
                "created": summary.created,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "created_codes": [row["code"] for row in new_rows],
                "changes": changes,
            },
            actor=actor,
        )
    return summary


_POPULATION_COLUMN = re.compile(r"^pop(?:ulation)?_(\d{4})$")


def load_population(session: Session, path: str | Path, *, actor: str | None = None) -> LoadSummary:
    """Population by year from a table: long (``code, year, population``) or wide
    (``code`` and one ``pop_YYYY`` column per year; other columns such as ``name`` are
    ignored). Counts rows (jurisdiction x year, or x stratum) created, updated and
    unchanged.

    An optional ``stratum`` column gives the population of a stratum of the jurisdiction
    (an age group, named as its series name it), the offset of that stratum's series; a
    row with an empty stratum is the jurisdiction's total (:mod:`tocsin.monitoring.
    population`). A created or changed year marks the series of its jurisdiction as
    changed from that year on, so the next detection run re-evaluates them.
    """
    table = read_table(path, required=("code",), allow_extra=True)
    columns = list(table.frame.columns)
    problems = Problems()
    codes = table.frame["code"].astype(object).where(table.frame["code"].notna(), "")
    codes = codes.str.strip().to_numpy(dtype=object)
    strata = _strata(table, problems)
    if "year" in columns and "population" in columns:
        years, _ = numeric_column(table, "year", integer=True, positive=True, allow_missing=False,
                                  problems=problems)  # fmt: skip
        pops, _ = numeric_column(table, "population", integer=True, non_negative=True,
                                 allow_missing=False, problems=problems)  # fmt: skip
        cells = [(codes[r], strata[r], years[r], pops[r]) for r in range(len(table))]
    else:
        wide = [(c, int(m.group(1))) for c in columns if (m := _POPULATION_COLUMN.match(c))]
        if not wide:
            raise TableError(
                f"{table.path}: expected columns code, year, population (long form) or code "
                f"and pop_YYYY columns such as pop_2021 (wide form), each optionally with "
                f"stratum; found {', '.join(columns)}"
            )
        cells = []
        for column, year in wide:
            pops, _ = numeric_column(table, column, integer=True, non_negative=True,
                                     problems=problems)  # fmt: skip
            cells += [(codes[r], strata[r], year, pops[r]) for r in range(len(table))]
    stored = {j.code: j.id for j in get_all(session)}
    unknown = np.array([r for r in range(len(table)) if codes[r] not in stored], dtype=np.int64)
    problems.add_rows(table, "code", unknown, "is not a stored jurisdiction; load it first")
    problems.raise_if_any(table)

    new: dict[tuple[int, str, int], int] = {}
    for code, stratum, year, pop in cells:
        if np.isfinite(year) and np.isfinite(pop):
            new[(stored[code], stratum, int(year))] = int(pop)
    old = _stored_population(session, sorted({k[0] for k in new}))
    summary = LoadSummary()
    code_of = {v: k for k, v in stored.items()}
    changes: dict[int, tuple[dict[str, int], dict[str, int]]] = {}
    for (jid, stratum, year), pop in sorted(new.items()):
        before, after = changes.setdefault(jid, ({}, {}))
        key = f"{stratum}:{year}" if stratum else str(year)  # the audit's names
        row = old.get((jid, stratum, year))
        if row is None:
            session.add(
                StratumPopulation(jurisdiction_id=jid, stratum=stratum, year=year, population=pop)
                if stratum
                else JurisdictionPopulation(jurisdiction_id=jid, year=year, population=pop)
            )
            summary.created += 1
        elif row.population != pop:
            before[key] = row.population
            row.population = pop
            summary.updated += 1
        else:
            summary.unchanged += 1
            continue
        after[key] = pop
    session.flush()
    # Detection runs re-evaluate the series of these jurisdictions from the first
    # changed year on (the population enters methods such as Farrington's offset).
    changed_from = {
        jid: min(int(key.rpartition(":")[2]) for key in after)
        for jid, (_before, after) in changes.items()
        if after
    }
    mark_population_changes(session, changed_from)
    for jid, (before, after) in changes.items():
        if after:
            record(
                session,
                action="jurisdiction.population",
                object_type="jurisdiction",
                object_id=code_of[jid],
                before=before or None,
                after=after,
                actor=actor,
            )
    return summary


def _strata(table, problems: Problems) -> list[str]:
    """The ``stratum`` of each row (empty: the jurisdiction's total), checked as ingest
    checks the strata of observations (at most 100 characters, XML 1.0 characters)."""
    if "stratum" not in table.frame.columns:
        return [""] * len(table)
    values, _ = text_column(table, "stratum", allow_missing=True)
    strata = ["" if v is None else str(v) for v in values]
    long = np.array([r for r, s in enumerate(strata) if len(s) > 100], dtype=np.int64)
    problems.add_rows(table, "stratum", long, "is longer than 100 characters")
    bad = np.array([r for r, s in enumerate(strata) if first_forbidden(s)], dtype=np.int64)
    problems.add_rows(
        table, "stratum", bad, "holds a character XML 1.0 forbids (a control character)"
    )
    return strata


def _stored_population(
    session: Session, ids: list[int]
) -> dict[tuple[int, str, int], JurisdictionPopulation | StratumPopulation]:
    """The stored rows of the jurisdictions ``ids``: totals (stratum ``""``) and strata."""
    found: dict[tuple[int, str, int], JurisdictionPopulation | StratumPopulation] = {
        (r.jurisdiction_id, "", r.year): r
        for r in session.scalars(
            select(JurisdictionPopulation).where(JurisdictionPopulation.jurisdiction_id.in_(ids))
        )
    }
    for r in session.scalars(
        select(StratumPopulation).where(StratumPopulation.jurisdiction_id.in_(ids))
    ):
        found[(r.jurisdiction_id, r.stratum, r.year)] = r
    return found


def population(session: Session, code: str, *, stratum: str = "") -> dict[int, int]:
    """The population of jurisdiction ``code`` by year (of its ``stratum``, if given)."""
    j = get(session, code)
    if stratum:
        query = select(StratumPopulation.year, StratumPopulation.population).where(
            StratumPopulation.jurisdiction_id == j.id, StratumPopulation.stratum == stratum
        )
    else:
        query = select(JurisdictionPopulation.year, JurisdictionPopulation.population).where(
            JurisdictionPopulation.jurisdiction_id == j.id
        )
    return {int(y): int(p) for y, p in session.execute(query.order_by(query.selected_columns[0]))}
