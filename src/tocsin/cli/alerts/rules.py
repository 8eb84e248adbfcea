"""``tocsin alerts rule``: alert rules (the severity of a detector's alarms)."""

from __future__ import annotations

from typing import Annotated

import typer

from tocsin.alerting import rules
from tocsin.alerting.severity import DEFAULT_RULE, SeverityRule
from tocsin.cli.alerts.app import alerts_app, console
from tocsin.errors import UserError
from tocsin.store import write_session


def _numbers(option: str, text: str, kind: type) -> tuple:
    try:
        return tuple(kind(part) for part in text.split(","))
    except ValueError:
        example = "0.001,0.0001,0.00001" if kind is float else "1,5,10,20"
        raise UserError(
            f"{option} {text!r}: expected numbers separated by commas, e.g. {example}"
        ) from None


def _severity_rule(cutoffs: str, min_counts: str) -> SeverityRule:
    try:
        return SeverityRule(
            _numbers("--cutoffs", cutoffs, float), _numbers("--min-counts", min_counts, int)
        )
    except ValueError as exc:
        raise UserError(f"--cutoffs {cutoffs} --min-counts {min_counts}: {exc}") from None


@alerts_app.command("rule")
def rule_command(
    indicator: Annotated[str, typer.Option(help="Indicator code.")],
    series: Annotated[int | None, typer.Option(help="Only this series of the indicator.")] = None,
    group_by: Annotated[
        str, typer.Option(help="series | indicator,jurisdiction | indicator")
    ] = "series",
    min_level: Annotated[str, typer.Option(help="Least serious level that opens an alert.")] = "IV",
    resolve_after: Annotated[
        int, typer.Option(min=1, help="Periods without alarm before an alert resolves.")
    ] = 2,
    cutoffs: Annotated[
        str,
        typer.Option(help="Tail probabilities that levels III, II, I must be below."),
    ] = ",".join(f"{c:g}" for c in DEFAULT_RULE.cutoffs),
    min_counts: Annotated[
        str, typer.Option(help="Smallest counts of levels IV, III, II, I (at least 1).")
    ] = ",".join(str(c) for c in DEFAULT_RULE.min_counts),
    disabled: Annotated[bool, typer.Option("--disabled", help="Open no alerts.")] = False,
    private: Annotated[bool, typer.Option("--private", help="Alerts not public.")] = False,
    by: Annotated[str | None, typer.Option("--by", help="Who sets it.")] = None,
) -> None:
    """Set the alert rule of an indicator (or one of its series)."""
    severity_rule = _severity_rule(cutoffs, min_counts)
    with write_session() as session:
        rule = rules.set_rule(
            session,
            indicator=indicator,
            series_id=series,
            enabled=not disabled,
            min_level=min_level,
            group_by=group_by,
            resolve_after_periods=resolve_after,
            severity_rule=severity_rule,
            public=not private,
            by=by,
        )
        ident = rule.id
    console.print(f"alert rule {ident} for {indicator}", highlight=False)
