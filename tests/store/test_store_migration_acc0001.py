"""Migration acc0001: older user names get their canonical form and a look-alike key
(the later of an older look-alike pair none); ``login_throttle`` replaces
``login_attempt``; the downgrade reverses it."""

from __future__ import annotations

from sqlalchemy import inspect, text

from tocsin.store import upgrade
from tocsin.store.migrate import current_revision, downgrade


def test_older_user_names_are_made_canonical_and_keyed(fresh_engine) -> None:
    engine = fresh_engine
    upgrade(engine, revision="0002")
    with engine.begin() as conn:
        for name in ("Alice", "adminl", "admin1", "bob", "Bob", "two words"):
            conn.execute(
                text(
                    "INSERT INTO app_user (username, display_name, locale, active, "
                    "created_at, updated_at) VALUES (:n, :n, 'en', true, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"n": name},
            )
    upgrade(engine)
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT username, username_key FROM app_user")).all())
    assert set(rows) == {"alice", "adminl", "admin1", "bob", "Bob", "two words"}
    assert rows["alice"] == "a1ice" and rows["adminl"] == "admin1"
    assert rows["admin1"] is None  # looks like adminl, which came first
    assert rows["bob"] == "bob" and rows["Bob"] is None  # "bob" was taken
    assert "login_throttle" in inspect(engine).get_table_names()
    assert "login_attempt" not in inspect(engine).get_table_names()
    downgrade(engine, revision="0002")
    assert current_revision(engine) == "0002"
    assert "login_attempt" in inspect(engine).get_table_names()
