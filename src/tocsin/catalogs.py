"""The gettext catalogs of tocsin (``en``, ``zh_CN``), read with Babel.

One set of catalogs serves every text people read: the web pages translate into the
request's language (:mod:`tocsin.web.i18n`), and alerting writes the English and the
Chinese ``info`` blocks of a CAP message (:mod:`tocsin.alerting.notify.texts`) from the
same catalogs. The ``.po`` files live in ``src/tocsin/web/i18n/<locale>/LC_MESSAGES/``
(extract command in ``babel.cfg``) and are compiled in memory when first used, so a fresh
``pip install -e .`` needs no build step.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Babel is loaded with the first catalog, not by modules marking texts
    from babel.support import NullTranslations

#: Locales with a catalog, and the name each is offered under in the language switch.
LOCALES: dict[str, str] = {"en": "English", "zh_CN": "中文（简体）"}
DEFAULT_LOCALE = "en"

_DIR = Path(__file__).parent / "web" / "i18n"


def N_(message: str) -> str:  # noqa: N802 - the gettext convention Babel extracts
    """Mark ``message`` for the catalogs (``pybabel extract`` finds it) without
    translating it here: it is translated where it is shown, in the reader's language."""
    return message


@cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalog of ``locale`` (identity for a locale without one)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import NullTranslations, Translations

    po = _DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def gettext_in(locale: str, message: str) -> str:
    """``message`` translated into ``locale``."""
    return translations(locale).ugettext(message)
