"""Texts tocsin accepts: only characters that XML 1.0 allows.

Every text a person or a partner system gives tocsin may end up in a CAP 1.2 message,
the Atom feed (RFC 4287) or an HTML page, all of which are XML or close to it. XML 1.0
(fifth edition), section 2.2, production [2], allows only::

    Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]

so the C0 control characters other than TAB, LF and CR, the surrogates U+D800-U+DFFF
(never valid alone in Unicode text either) and the non-characters U+FFFE and U+FFFF are
refused at every input, with :func:`check_text`, the one validator that the API models,
the page forms, the command line, CAP import and the loaders of names all use.

Rendering must never fail on a text stored before this rule existed:
:func:`xml_safe` replaces each forbidden character by U+FFFD REPLACEMENT CHARACTER.

    >>> check_text("Flood warning", "headline")
    'Flood warning'
    >>> xml_safe("Flood\\x01")
    'Flood\\ufffd'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tocsin.errors import UserError

#: One character that XML 1.0 does not allow.
FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

#: The same rule as a JSON Schema ``pattern``, for the OpenAPI document. Surrogates are
#: left out: JSON text carries them only as escapes, the JSON reader refuses a lone one
#: itself, and ECMA-262 readers without the ``u`` flag would refuse characters above
#: U+FFFF (written as surrogate pairs) too.
JSON_SCHEMA_PATTERN = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\uFFFE\\uFFFF]*$"

#: What replaces a forbidden character when a stored text is rendered.
REPLACEMENT = "\ufffd"


class TextError(UserError):
    """A text holds a character XML 1.0 forbids; ``field`` names the input."""

    def __init__(self, field: str, position: int, char: str) -> None:
        self.field = field
        self.position = position
        self.char = char
        self.reason = (
            f"character U+{ord(char):04X} at position {position + 1} is not allowed "
            "(control characters other than tab and line breaks, lone surrogates and "
            "U+FFFE/U+FFFF cannot appear in CAP or XML); remove it"
        )
        super().__init__(f"{field}: {self.reason}")


def first_forbidden(text: str) -> tuple[int, str] | None:
    """The position and character of the first forbidden character, if any."""
    match = FORBIDDEN.search(text)
    return (match.start(), match.group()) if match else None


def check_text(value: str, field: str) -> str:
    """``value`` unchanged, or :class:`TextError` naming ``field`` and the character."""
    found = first_forbidden(value)
    if found is not None:
        raise TextError(field, *found)
    return value


def check_texts(values: Mapping[str, Any]) -> None:
    """:func:`check_text` on every text of ``values`` (name -> value; others ignored)."""
    for field, value in values.items():
        if isinstance(value, str):
            check_text(value, field)


def xml_safe(text: str) -> str:
    """``text`` with every character XML 1.0 forbids replaced by U+FFFD."""
    return FORBIDDEN.sub(REPLACEMENT, text)
