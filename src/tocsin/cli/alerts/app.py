"""The ``tocsin alerts`` group of commands and what its modules share: the console,
the ``--by``, ``--comment`` and ``--json`` options."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.console import Console

alerts_app = typer.Typer(no_args_is_help=True, help="Alerts: list, act on them, set up duty.")
console = Console()

By = Annotated[str, typer.Option("--by", help="Who acts (recorded with the change).")]
CommentOpt = Annotated[str, typer.Option("--comment", help="Why (recorded with the change).")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
