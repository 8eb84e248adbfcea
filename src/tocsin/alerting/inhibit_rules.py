"""Inhibition rules: which active alerts mute which others, as Alertmanager's
``inhibit_rules`` (https://prometheus.io/docs/alerting/latest/configuration/#inhibit_rule).

A rule has *source matchers* (the alert that inhibits), *target matchers* (the alert
that is muted) and ``equal`` labels (which must have the same value in both). tocsin adds
a ``scope`` for its hierarchy of jurisdictions: ``above`` (the default) asks the source's
jurisdiction to lie above the target's, ``anywhere`` is Alertmanager's plain rule.

Over every rule stands one guard that no configuration lifts: a source inhibits only a
target that is **at most as serious** (source level <= target level, I the most
serious). A blue regional alert must never silence a red county alert and its
escalation (issue 9).

The labels of an alert and the matchers on them are Alertmanager's, shared with
silences: :mod:`tocsin.alerting.matchers`.

This module is pure: it parses and checks the rules (for
:mod:`tocsin.alerting.settings`) and matches label sets; the active alerts are read by
:mod:`tocsin.alerting.inhibition`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from tocsin.alerting.matchers import LABELS, Matcher, unknown_label


def _matchers(value: Any) -> Any:
    if isinstance(value, str | Matcher):
        value = [value]
    return [Matcher.parse(v) if isinstance(v, str) else v for v in value or []]


class InhibitRule(BaseModel):
    """One inhibition rule (JSON in ``TOCSIN_INHIBIT_RULES``)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True, extra="forbid")

    source_matchers: list[Matcher] = []
    target_matchers: list[Matcher] = []
    #: Labels whose values must be present and the same in source and target.
    equal: list[str] = []
    #: ``above``: the source's jurisdiction lies above the target's; ``anywhere``: any.
    scope: Literal["above", "anywhere"] = "above"

    @field_validator("source_matchers", "target_matchers", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        return _matchers(value)

    @field_validator("equal")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        for label in value:
            if label not in LABELS:
                raise unknown_label(label, "equal")
        return value

    def applies(self, source: Mapping[str, str], target: Mapping[str, str]) -> bool:
        """Whether this rule lets ``source`` inhibit ``target`` (labels only: the scope
        and the seriousness guard are checked by :mod:`tocsin.alerting.inhibition`)."""
        return (
            all(m.matches(source[m.label]) for m in self.source_matchers)
            and all(m.matches(target[m.label]) for m in self.target_matchers)
            and all(source[k] and source[k] == target[k] for k in self.equal)
        )


#: Today's rule: an active alert inhibits the same indicator's alerts in every
#: jurisdiction below it (under the seriousness guard).
DEFAULT_RULES = (InhibitRule(equal=["indicator"], scope="above"),)
