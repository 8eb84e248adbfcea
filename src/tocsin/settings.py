"""Settings from the environment (``TOCSIN_*`` variables), through pydantic-settings.

>>> from tocsin.settings import get_settings
>>> get_settings().database_url
'sqlite:///./tocsin.db'
"""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """tocsin's settings; each field ``x`` is read from the variable ``TOCSIN_X``."""

    model_config = SettingsConfigDict(env_prefix="TOCSIN_", extra="ignore")

    #: SQLAlchemy URL of the store: a SQLite file (embedded default) or PostgreSQL
    #: (``postgresql+psycopg://user@host:5432/db``; ``postgresql://`` means the same).
    database_url: str = "sqlite:///./tocsin.db"
    #: How long a writer waits for another writer's lock before giving up (seconds).
    lock_timeout: float = 60.0
    #: Who is named as the actor in the audit log for command-line changes
    #: (default: ``cli:<login name>``).
    actor: str | None = None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, read once from the environment (``get_settings.cache_clear()`` rereads)."""
    return Settings()
