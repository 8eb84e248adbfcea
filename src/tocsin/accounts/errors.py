"""Errors of the accounts domain that people read, in their language.

A :class:`FieldError` keeps its message as a gettext message id with ``%(name)s``
parameters, so that the web pages show it in the reader's language while the command
line and the JSON API show the English text.
"""

from __future__ import annotations

from typing import Any

from tocsin.errors import ConflictError, UserError


class FieldError(UserError):
    """A value of a field is refused: the field, what is wrong and what is expected."""

    #: HTTP status of the JSON API (RFC 9110 15.5.21: the content is understood but
    #: cannot be processed).
    http_status = 422

    def __init__(self, field: str, message: str, **params: Any) -> None:
        self.field = field
        self.message = message
        self.params = params
        super().__init__(f"{field}: {message % params}")

    def translated(self, gettext: Any) -> str:
        """The message in the language of ``gettext``."""
        return gettext(self.message) % self.params


class FieldConflictError(FieldError, ConflictError):
    """The value of a field clashes with an existing object (HTTP 409)."""

    http_status = 409
