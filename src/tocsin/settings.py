"""Settings from the environment (``TOCSIN_*`` variables), through pydantic-settings.

>>> from tocsin.settings import get_settings
>>> get_settings().database_url
'sqlite:///./tocsin.db'
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
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
    #: Largest size a gzip file (``.csv.gz``, ``.jsonl.gz``) may decompress to, in bytes;
    #: checked while streaming, before the file is read, on the command line and in the API.
    max_decompressed_bytes: int = 1024**3
    #: Largest ratio of decompressed to compressed size of a gzip file (checked once more
    #: than 16 MiB have come out): ordinary tables compress 3 to 30 times, a "gzip bomb"
    #: a thousand times.
    max_compression_ratio: float = 200.0
    #: Periods an ingest accepts: from January of ``earliest_period_year`` to December of
    #: the current year plus ``periods_years_ahead``. A row dated 1900 or 0001 would make
    #: every detection run of its series span centuries.
    earliest_period_year: int = 1950
    periods_years_ahead: int = 1
    #: Secret key (at least 32 characters) that signs audit checkpoint files
    #: (``tocsin audit checkpoint``, HMAC-SHA256). Keep it off the database server: whoever
    #: holds it can forge a checkpoint.
    audit_key: SecretStr | None = None
    #: Address of a Dask scheduler (``tcp://HOST:8786``) on whose workers detection runs
    #: evaluate their series (``tocsin run-detection``, ``tocsin worker``); unset: in the
    #: process itself. Every Dask worker needs the same ``TOCSIN_DATABASE_URL``.
    dask_scheduler: str | None = None
    #: Series per Dask task of a detection run.
    dask_series_per_task: int = Field(default=2000, ge=1)
    #: Days of observations and signals that ``tocsin db prune`` keeps when given no
    #: ``--older-than``/``--before`` (unset: prune only when told how much to keep).
    retention_days: int | None = Field(default=None, ge=1)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, read once from the environment (``get_settings.cache_clear()`` rereads)."""
    return Settings()
