"""Schema changes that Alembic's operations cannot make on both databases alike.

:func:`replace_check` widens (or otherwise rewrites) a CHECK constraint in place.
PostgreSQL drops and re-adds it under its own name. SQLite cannot alter a constraint, and
copying a table (Alembic's batch mode) would cascade-delete the rows of the tables that
reference it and drop its partial indexes, so its stored definition is rewritten in
place, as SQLite's documentation allows for changes that leave every stored row valid
("Making Other Kinds Of Table Schema Changes",
https://sqlite.org/lang_altertable.html#otheralter). SQLite does not re-check stored rows
against the new text: before narrowing a check (a downgrade), delete the rows it refuses.
"""

from __future__ import annotations

from alembic import op


def replace_check(table: str, column: str, old: str, new: str) -> None:
    """Replace the CHECK constraint of ``table`` on ``column`` whose text is ``old`` by
    ``new``; raises RuntimeError, changing nothing, when the stored check is not ``old``.

    ``table`` and ``column`` are names written in the migration, never user input."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # The name depends on the naming convention the creating migration ran under.
        name = bind.exec_driver_sql(
            f"SELECT conname FROM pg_constraint WHERE conrelid = '{table}'::regclass "
            f"AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%%{column}%%'"
        ).scalar()
        if name is None:
            raise RuntimeError(f"{table} has no check of its {column}; cannot change it")
        op.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        op.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" CHECK ({new})')
        return
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).scalar()
    if old not in sql:
        raise RuntimeError(f"{table}'s check of its {column} is not {old!r}; cannot change it")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
        (sql.replace(old, new), table),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
