"""The row reasons of an ingest report (written in English by :mod:`tocsin.monitoring.
ingest` for the CLI, the API and the rejects file) in the reader's language, for the
ingest page.

Each known reason is matched by a pattern whose named groups fill a catalog message; a
reason no pattern knows is shown as written. The page's texts also replace the CLI's
advice (``load it with `tocsin jurisdictions load```) by what a browser user can do.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tocsin.catalogs import N_
from tocsin.web.i18n import gettext

#: (pattern of the English reason, catalog message with the pattern's groups).
REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), message)
    for pattern, message in (
        (r"is not a number; expected a number$", N_("is not a number; expected a number")),
        (
            r"is negative; expected a non-negative integer \(indicator (?P<code>\S+) is a count\)$",
            N_(
                "is negative; indicator %(code)s counts, so a whole number of 0 or more is expected"
            ),
        ),
        (
            r"is not an integer; expected a non-negative integer \(indicator (?P<code>\S+) is a "
            r"count\)$",
            N_(
                "is not a whole number; indicator %(code)s counts, so a whole number of 0 "
                "or more is expected"
            ),
        ),
        (
            r"is not a valid period of indicator (?P<code>\S+) \((?P<kind>\w+?)ly\): (?P<year>\d+) "
            r"has no ISO week (?P<week>\d+); .*$",
            N_(
                "is not a period of indicator %(code)s: %(year)s has no ISO week %(week)s; write "
                "weeks like 2024-W07"
            ),
        ),
        (
            r"is not a valid period of indicator (?P<code>\S+) \((?P<kind>\w+?)ly\): .*$",
            N_(
                "is not a period of indicator %(code)s; write periods like 2024-W07 (weeks), "
                "2024-02 (months), 2024-Q1 (quarters) or 2024-02-12 (days), as the indicator "
                "is kept"
            ),
        ),
        (
            r"is not a stored jurisdiction; .*$",
            N_(
                "is not a known jurisdiction code; use one of the codes of the situation page, or "
                "ask an administrator to load the jurisdiction"
            ),
        ),
        (
            r"is not a stored indicator; .*$",
            N_(
                "is not a known indicator code; ask an analyst or administrator to load the "
                "indicator first"
            ),
        ),
        (
            r"is outside the periods ingest accepts, (?P<first>\S+) to (?P<last>\S+) .*$",
            N_("is outside the periods accepted, %(first)s to %(last)s"),
        ),
        (r"is longer than 100 characters$", N_("is longer than 100 characters")),
        # The comment of the automatic resolution (alerting.lifecycle.auto_resolve).
        (r"no alarm for (?P<n>\d+) periods$", N_("no alarm for %(n)s periods")),
    )
)


def translate_with(
    table: tuple[tuple[re.Pattern[str], str], ...],
    text: str,
    fill: Callable[[dict[str, str]], dict[str, str]] | None = None,
) -> str | None:
    """``text`` in the current locale by the first pattern of ``table`` that matches it
    (None when none does); ``fill`` turns the pattern's groups into the message's
    parameters (translating the words among them)."""
    for pattern, message in table:
        match = pattern.match(text)
        if match:
            values = match.groupdict()
            return gettext(message) % (fill(values) if fill else values)
    return None


def row_reason(reason: str) -> str:
    """``reason`` in the current locale (unchanged when no pattern knows it)."""
    return translate_with(REASONS, reason) or reason
