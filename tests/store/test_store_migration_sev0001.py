"""Migration sev0001: infinite upper bounds stored before become "no bound" (NULL); alert
rules trade their exceedance-ratio thresholds for tail-probability cut-offs and minimum
counts (the defaults: a ratio has no tail probability to convert to); the downgrade
gives the old columns back."""

from __future__ import annotations

import math

from sqlalchemy import text

from tocsin.store import upgrade
from tocsin.store.migrate import current_revision, downgrade

_ROWS = (
    "INSERT INTO jurisdiction (id, code, level, name, created_at, updated_at) "
    "VALUES (1, 'A1', 'county', 'A1', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    "INSERT INTO indicator (id, code, name, domain, unit, value_kind, frequency, created_at, "
    "updated_at) VALUES (1, 'cases', 'Cases', 'health', 'cases', 'count', 'week', "
    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    "INSERT INTO series (id, indicator_id, jurisdiction_id, stratum, version, created_at) "
    "VALUES (1, 1, 1, '', 1, CURRENT_TIMESTAMP)",
    "INSERT INTO detector (id, indicator_id, method, parameters, enabled, created_at, "
    "updated_at) VALUES (1, 1, 'ears_c3', '{}', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
)


def test_infinite_bounds_become_no_bound_and_rules_get_the_new_columns(fresh_engine):
    upgrade(fresh_engine, "cap0001")
    with fresh_engine.begin() as conn:
        for statement in _ROWS:
            conn.execute(text(statement))
        conn.execute(
            text(
                "INSERT INTO signal (series_id, detector_id, period, observed, upperbound, "
                "alarm, score, computed_at) VALUES (1, 1, :p, 0, :u, true, :s, "
                "CURRENT_TIMESTAMP)"
            ),
            [
                {"p": 1, "u": -math.inf, "s": math.inf},
                {"p": 2, "u": math.inf, "s": 1.0},
                {"p": 3, "u": 4.5, "s": 2.0},
            ],
        )
        conn.execute(
            text(
                "INSERT INTO alert_rule (id, indicator_id, enabled, min_level, group_by, "
                "resolve_after_periods, level_iii, level_ii, level_i, public, created_at) "
                "VALUES (1, 1, true, 3, 'series', 2, 1.2, 1.5, 2.5, true, CURRENT_TIMESTAMP)"
            )
        )
    upgrade(fresh_engine)
    with fresh_engine.connect() as conn:
        bounds = conn.execute(text("SELECT upperbound FROM signal ORDER BY period")).scalars()
        assert list(bounds) == [None, None, 4.5]
        rule = conn.execute(text("SELECT * FROM alert_rule")).mappings().one()
    assert (rule["min_level"], rule["group_by"]) == (3, "series")
    assert (rule["cutoff_iii"], rule["cutoff_ii"], rule["cutoff_i"]) == (1e-3, 1e-4, 1e-5)
    counts = (
        rule["min_count_iv"],
        rule["min_count_iii"],
        rule["min_count_ii"],
        rule["min_count_i"],
    )
    assert counts == (1, 5, 10, 20)
    assert "level_iii" not in rule
    downgrade(fresh_engine, "cap0001")
    assert current_revision(fresh_engine) == "cap0001"
    with fresh_engine.connect() as conn:
        rule = conn.execute(text("SELECT * FROM alert_rule")).mappings().one()
        alert_columns = conn.execute(text("SELECT * FROM alert")).keys()
    assert (rule["level_iii"], rule["level_ii"], rule["level_i"]) == (1.5, 2.0, 3.0)
    assert "exceedance" in alert_columns and "tail_probability" not in alert_columns
    upgrade(fresh_engine)
