"""Widening or narrowing a CHECK constraint in a migration, on both databases.

PostgreSQL replaces the constraint (its name looked up, since it depends on the naming
convention the table was created under). SQLite cannot alter a constraint: the table's
stored SQL is rewritten in place (``PRAGMA writable_schema``), which keeps the rows, their
indexes (the partial unique index of active alert fingerprints) and their foreign keys.
The SQLite route is the one the SQLite documentation describes for changes that do not
affect the stored data (https://www.sqlite.org/lang_altertable.html, "making other kinds
of table schema changes"): the new check must accept every stored row.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection


def replace_check(bind: Connection, table: str, column: str, old: str, new: str) -> None:
    """Replace the check ``old`` of ``table`` (the one on ``column``) by ``new``."""
    if bind.dialect.name == "postgresql":
        name = bind.exec_driver_sql(
            "SELECT conname FROM pg_constraint WHERE conrelid = %(table)s::regclass "
            "AND contype = 'c' AND pg_get_constraintdef(oid) LIKE %(column)s",
            {"table": table, "column": f"%{column}%"},
        ).scalar()
        if name is None:
            raise RuntimeError(f"{table} has no check of its {column}; cannot change it")
        bind.exec_driver_sql(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        bind.exec_driver_sql(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" CHECK ({new})')
        return
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).scalar()
    if sql is None or old not in sql:
        raise RuntimeError(f"{table}'s check of its {column} is not {old!r}; cannot change it")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
        (sql.replace(old, new), table),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
