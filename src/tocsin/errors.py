"""Errors meant for people: what is wrong, where, and what is expected.

Services raise :class:`UserError` (or a subclass) for bad input or a request that cannot
be met; the command line prints the message and exits 2 with no traceback, and the API
answers RFC 9457 problem+json. Any other exception is a bug.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix; the message says what, where and what is expected."""

    exit_code = 2


class NotFoundError(UserError):
    """A named object (jurisdiction, indicator, alert, ...) does not exist."""


class ConflictError(UserError):
    """The request conflicts with the current state (e.g. a concurrent change)."""
