"""User names: one canonical form, and no name that looks like another.

- The canonical form is the PRECIS ``UsernameCaseMapped`` profile of RFC 8265 (section
  3.3, through ``precis-i18n``): full-width characters to their normal width, case
  folded, Unicode NFC; spaces, control characters, symbols and compatibility characters
  are refused, and so is any punctuation but ``. _ - @``. ``Alice``, ``ALICE`` and
  ``ＡＬＩＣＥ`` are one user, ``alice``.
- Names are restricted as UTS #39 section 5.2 "Highly Restrictive" asks: the letters of
  one script, or Latin with Han and Japanese kana, with Han and Bopomofo, or with Han
  and Hangul. ``раypal`` (Cyrillic р and а among Latin letters) is refused.
- No two users may share a *look-alike key*: the name NFKC-normalised and case-folded,
  then each character replaced by the prototype of its class in Unicode's confusables
  data (UTS #39 section 4 "skeleton", with the data of ``confusable-homoglyphs`` and
  single-character prototypes). ``admin1`` and ``adminl``, or Latin ``ace`` and
  Cyrillic ``асе``, share a key: the second is refused.
"""

from __future__ import annotations

import unicodedata
from functools import cache

import precis_i18n
from confusable_homoglyphs import categories
from confusable_homoglyphs.confusables import confusables_data

from tocsin.accounts.errors import FieldError
from tocsin.catalogs import N_

MAX_LENGTH = 100

#: Scripts that may share a name (UTS #39 5.2, Highly Restrictive); any one script alone
#: is allowed too. Common (digits, punctuation) and Inherited (combining marks) go with
#: any script.
SCRIPT_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
_NEUTRAL = frozenset({"COMMON", "INHERITED"})
NOT_ALLOWED = N_(
    "the character %(char)r at position %(position)d is not allowed; use letters, digits "
    "and the punctuation . _ - @ without spaces"
)
_PROFILE = precis_i18n.get_profile("UsernameCaseMapped")


def canonical_username(text: str) -> str:
    """The canonical form of a user name, or :class:`FieldError` saying what is wrong."""
    text = text.strip()
    if not text or len(text) > MAX_LENGTH:
        raise FieldError("username", N_("expected 1 to %(max)d characters"), max=MAX_LENGTH)
    try:
        name = _PROFILE.enforce(text)
    except UnicodeEncodeError as exc:
        raise FieldError(
            "username",
            NOT_ALLOWED,
            char=text[exc.start] if exc.start < len(text) else "",
            position=exc.start + 1,
        ) from None
    odd = next((c for c in name if not _allowed(c)), None)
    if odd is not None:
        raise FieldError(
            "username",
            NOT_ALLOWED,
            char=odd,
            position=name.index(odd) + 1,
        )
    scripts = categories.unique_aliases(name) - _NEUTRAL
    if len(scripts) > 1 and not any(scripts <= mix for mix in SCRIPT_MIXES):
        raise FieldError(
            "username",
            N_(
                "mixes the scripts %(scripts)s, which makes look-alike names possible; "
                "write it in one script"
            ),
            scripts=", ".join(sorted(s.title() for s in scripts)),
        )
    return name


def _allowed(char: str) -> bool:
    """Letters and digits of any script, their combining marks, and ``. _ - @`` (no
    character that means something in a URL path or a shell)."""
    return char.isalnum() or char in "._-@" or unicodedata.category(char) in ("Mn", "Mc")


def lookalike_key(username: str) -> str:
    """The key two user names share when people could take one for the other."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())
    return "".join(_prototype(char) for char in folded)


@cache
def _prototype(char: str) -> str:
    """One representative of the characters confusable with ``char`` (ASCII first)."""
    glyphs = [char, *(h["c"] for h in confusables_data.get(char, ()) if len(h["c"]) == 1)]
    return min(glyphs, key=lambda glyph: (not glyph.isascii(), ord(glyph)))
