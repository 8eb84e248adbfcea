"""A throw-away PostgreSQL schema: for tests, benchmarks and trial runs that must not touch
the real tables.

``scratch_schema(url)`` creates a schema with a random name on the server at ``url``,
yields the same URL with ``search_path`` set to it (every table tocsin creates goes
there), and drops the schema with everything in it on exit. The name is generated here
from ``[a-z0-9_]`` only, so it is safe to put in the DDL (identifiers cannot be bound
parameters).
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from tocsin.store.engine import make_engine


@contextlib.contextmanager
def scratch_schema(url: str, prefix: str = "tocsin_scratch") -> Iterator[str]:
    """Yield ``url`` pointed at a new, empty schema (``prefix`` + random suffix); drop the
    schema on exit. Raises what the server raises when it cannot create it."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", prefix):
        raise ValueError(f"schema prefix {prefix!r}: use lower-case letters, digits and _")
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        try:
            yield scoped.render_as_string(hide_password=False)
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@contextlib.contextmanager
def scratch_engine(url: str, prefix: str = "tocsin_scratch", **engine_options) -> Iterator[Engine]:
    """An engine on a :func:`scratch_schema` (disposed of, and the schema dropped, on
    exit); ``engine_options`` go to :func:`tocsin.store.engine.make_engine`."""
    with scratch_schema(url, prefix) as scoped:
        engine = make_engine(scoped, **engine_options)
        try:
            yield engine
        finally:
            engine.dispose()
