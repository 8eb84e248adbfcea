"""Query parameters of the pages' GET forms.

A browser submits every field of a GET form, the empty ones too (HTML Living Standard,
"constructing the entry list"): ``?status=resolved&level=&j=``. On a page an empty field
means "any" (the field's default), never a 422; the JSON API keeps its strict types.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from pydantic import BeforeValidator, Field

from tocsin.web.shared.common import MAX_ID


def _empty_is_absent(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


#: An alert level I-IV (1-4) chosen in a form, or any.
FormLevel = Annotated[Annotated[int, Field(ge=1, le=4)] | None, BeforeValidator(_empty_is_absent)]
#: A page number of a list (0: the first), empty meaning the first.
FormPage = Annotated[
    Annotated[int, Field(ge=0, le=MAX_ID)] | None, BeforeValidator(_empty_is_absent)
]


def query_string(**fields: object) -> str:
    """``?a=1&b=x`` of the fields that have a value (the pager's links carry no empty
    field), or "" when none has."""
    kept = {k: v for k, v in fields.items() if v not in (None, "")}
    return f"?{urlencode(kept)}" if kept else ""
