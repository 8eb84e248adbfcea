"""Label matchers, as Alertmanager's
(https://prometheus.io/docs/alerting/latest/configuration/#matcher): ``label=value``,
``label!=value``, ``label=~regex``, ``label!~regex``, the value optionally in double
quotes; a regular expression must match the whole value (anchored, as Alertmanager's).

The labels of an alert that silences match are ``indicator`` (code), ``jurisdiction``
(code) and ``level`` (``I`` .. ``IV``; ``level="2"`` or ``level="orange"`` are read as
``II``). This module is pure: it parses, checks and matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from tocsin.alerting.severity import parse_level

#: The labels of an alert a silence can match.
LABELS = ("indicator", "jurisdiction", "level")
OPERATORS = ("=", "!=", "=~", "!~")
_SYNTAX = re.compile(r'\s*([a-z_]+)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^"=~!]*?))\s*')


class MatcherError(ValueError):
    """A matcher that cannot be read; the message names it and says what is expected."""


@dataclass(frozen=True)
class Matcher:
    """``label op value``: ``=`` equal, ``!=`` not equal, ``=~`` / ``!~`` the whole value
    matches / does not match a regular expression."""

    label: str
    op: str
    value: str

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.label}{self.op}"{escaped}"'

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this matcher (a missing label reads as "")."""
        value = labels.get(self.label, "")
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        hit = re.fullmatch(self.value, value) is not None
        return hit if self.op == "=~" else not hit


def parse(text: str, labels: Sequence[str] = LABELS) -> Matcher:
    """A matcher from its text, e.g. ``level=~"I|II"``, on one of ``labels`` (inhibition
    rules add ``source``); :class:`MatcherError` names what is wrong."""
    found = _SYNTAX.fullmatch(text)
    if found is None:
        raise MatcherError(
            f'matcher {text!r}: write label="value" (or !=, =~, !~), e.g. level=~"I|II" '
            f'or jurisdiction!="DE-BY"; labels: {", ".join(labels)}'
        )
    label, op, quoted, plain = found.groups()
    value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else plain
    if label not in labels:
        raise MatcherError(
            f"matcher {text!r}: unknown label {label!r}; labels: {', '.join(labels)}"
        )
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as exc:
            raise MatcherError(
                f"matcher {text!r}: {value!r} is not a regular expression ({exc})"
            ) from None
    elif label == "level":
        try:
            value = parse_level(value).roman
        except ValueError as exc:
            raise MatcherError(f"matcher {text!r}: {exc}") from None
    return Matcher(label, op, value)


def parse_all(texts: Iterable[str]) -> list[Matcher]:
    """Every matcher of ``texts`` (blank ones skipped)."""
    return [parse(t) for t in texts if t.strip()]


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` satisfy every matcher (Alertmanager: matchers are ANDed)."""
    return all(m.matches(labels) for m in matchers)
