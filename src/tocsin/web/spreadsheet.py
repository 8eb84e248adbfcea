"""CSV files made for spreadsheet software: downloads of lists and chart data.

- Encoding: UTF-8 with a byte order mark. Excel opens a CSV file without one in the
  system's legacy code page and garbles Chinese names; with the mark it reads UTF-8
  (LibreOffice and pandas accept it too). Lines end with CRLF (RFC 4180).
- CSV injection (OWASP, "CSV Injection"): a text cell that starts with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return would be run as a formula by a spreadsheet;
  such a cell is prefixed with a single quote, which spreadsheets show as text. Only
  texts are touched: numbers (negative ones included) are written as numbers.
- ``Content-Disposition: attachment`` with an ASCII ``filename`` and the exact name in
  ``filename*`` (RFC 6266, RFC 8187), so that a name with any character is safe.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from fastapi.responses import Response

#: The first characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def cell(value: Any) -> str | int | float:
    """``value`` as a CSV cell: numbers as numbers (empty when missing or not finite),
    times in ISO 8601, texts neutralised when a spreadsheet would run them."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value if math.isfinite(value) else ""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The CSV document (with its byte order mark) of ``header`` and ``rows``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([cell(h) for h in header])
    writer.writerows([cell(v) for v in row] for row in rows)
    return BOM + out.getvalue()


def attachment(filename: str) -> str:
    """The ``Content-Disposition`` value of a download named ``filename``."""
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "_", filename).strip("_") or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """A download of the CSV file ``filename``."""
    return Response(
        csv_text(header, rows).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": attachment(filename), "Cache-Control": "no-store"},
    )
