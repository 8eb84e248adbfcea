"""Every registered detection method has a name people read, in every catalog."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

from tocsin.detect import registry
from tocsin.web.i18n.names import METHOD_NAMES

CHINESE = Path(__file__).parents[2] / "src/tocsin/web/i18n/zh_CN/LC_MESSAGES/messages.po"


def test_every_registered_method_has_a_display_name_translated_into_chinese():
    assert set(METHOD_NAMES) == set(registry.available_methods())
    with CHINESE.open("rb") as f:
        catalog = read_po(f)
    untranslated = [n for n in METHOD_NAMES.values() if not (catalog.get(n) and catalog[n].string)]
    assert not untranslated
