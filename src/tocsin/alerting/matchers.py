"""Label matchers, as Alertmanager's
(https://prometheus.io/docs/alerting/latest/configuration/#matcher), shared by silences
(:mod:`tocsin.alerting.silences`) and inhibition rules
(:mod:`tocsin.alerting.inhibit_rules`): ``label=value``, ``label!=value``,
``label=~regex``, ``label!~regex``, the value optionally in double quotes; a regular
expression must match the whole value (anchored, as Alertmanager's).

The labels of an alert are ``indicator`` (code), ``jurisdiction`` (code), ``level``
(``I`` .. ``IV``) and ``source`` (``detection``, ``manual``, ``external``,
``reserve``, ``missing``). This module is
pure: it parses, checks and matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: The labels an alert has.
LABELS = ("indicator", "jurisdiction", "level", "source")
OPERATORS = ("=", "!=", "=~", "!~")
_SYNTAX = re.compile(r'\s*([a-z_]+)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^"=~!]*?))\s*')


class MatcherError(ValueError):
    """A matcher that cannot be read; the message names it and says what is expected."""


def unknown_label(label: str, where: str) -> MatcherError:
    """The error for a label an alert does not have, found in ``where``."""
    return MatcherError(
        f"{where}: unknown label {label!r}; the labels of an alert are {', '.join(LABELS)}"
    )


def _check(label: str, op: str, value: str, where: str) -> None:
    if label not in LABELS:
        raise unknown_label(label, where)
    if op not in OPERATORS:
        raise MatcherError(f"{where}: the operator must be one of {OPERATORS}")
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as exc:
            raise MatcherError(f"{where}: {value!r} is not a regular expression ({exc})") from None


@dataclass(frozen=True)
class Matcher:
    """``label op value``: ``=`` equal, ``!=`` not equal, ``=~`` / ``!~`` the whole value
    matches / does not match a regular expression."""

    label: str
    op: str
    value: str

    def __post_init__(self) -> None:
        _check(self.label, self.op, self.value, f"matcher {self}")

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.label}{self.op}"{escaped}"'

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """A matcher from its text, e.g. ``level=~"I|II"``; :class:`MatcherError` names
        what is wrong."""
        found = _SYNTAX.fullmatch(text)
        if found is None:
            raise MatcherError(
                f'matcher {text!r} must read label="value" (or !=, =~, !~), e.g. '
                f'level=~"I|II" or jurisdiction!="DE-BY"; labels: {", ".join(LABELS)}'
            )
        label, op, quoted, plain = found.groups()
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else plain
        _check(label, op, value, f"matcher {text!r}")  # errors name the text as written
        return cls(label, op, value)

    def matches(self, value: str) -> bool:
        """Whether a label's ``value`` satisfies this matcher."""
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        hit = re.fullmatch(self.value, value) is not None
        return hit if self.op == "=~" else not hit


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` satisfy every matcher (Alertmanager ANDs them); a label that is
    missing reads as ``""``."""
    return all(m.matches(labels.get(m.label, "")) for m in matchers)
