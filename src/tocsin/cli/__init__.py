"""The ``tocsin`` command line: parse arguments, call services, print with Rich.

Each group of commands lives in its own module of this package and registers itself on
:data:`app`. :func:`main` turns every error meant for people into a message and exit
code 2, so that no traceback reaches a user.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
from typing import Any

import click
import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup

from tocsin.text import check_text

#: Every command of tocsin, in the order ``tocsin --help`` lists them: its name, the
#: module of this package that defines it, the attribute there (a ``typer.Typer`` for a
#: group of commands, a function for a single command) and its one-line help. A module is
#: imported only when its command runs, so ``tocsin --help`` loads no service, no
#: database layer and no numerical library (issue 16: a fast command line).
#: tests/cli/test_cli_startup.py checks this table against the modules.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": (
        "demo",
        "demo",
        "Build the demonstration site (real influenza and measles data, detections, alerts, "
        "accounts of every role) in a fresh SQLite file and serve it on http://127.0.0.1:8000.",
    ),
    "detect": (
        "detect",
        "detect",
        "Detect aberrations in the series of DATA with a method of the registry.",
    ),
    "ingest": (
        "monitoring",
        "ingest",
        "Load observations: columns period, jurisdiction, indicator, value [, stratum].",
    ),
    "run-detection": (
        "monitoring",
        "run_detection_command",
        "Evaluate the periods that are new or whose history changed, and store the signals.",
    ),
    "serve": (
        "web",
        "serve_command",
        "Serve the web application and the JSON API on an existing database.",
    ),
    "worker": (
        "worker",
        "worker",
        "Turn detection runs into alerts, escalate unacknowledged alerts, deliver notifications.",
    ),
    "alerts": ("alerts", "alerts_app", "Alerts: list, act on them, set up duty."),
    "cap": ("cap", "cap_app", "CAP 1.2 messages (OASIS Common Alerting Protocol)."),
    "db": (
        "db",
        "db_app",
        "The database: create and upgrade its schema, back it up and restore it.",
    ),
    "jurisdictions": ("monitoring", "jurisdictions_app", "Jurisdictions: the tree of areas."),
    "indicators": ("monitoring", "indicators_app", "Indicators: what is watched."),
    "detectors": ("monitoring", "detectors_app", "Detection configurations."),
    "series": ("monitoring", "series_app", "Read series and their signals."),
    "users": ("users", "users_app", "Users: create them, set passwords, list."),
    "reserves": (
        "reserves",
        "reserves_app",
        "Reserves: items, depots, stock movements, counts and minimum levels.",
    ),
    "risks": (
        "risks",
        "risks_app",
        "Risks: the risk register, its heat map and composite risk indexes.",
    ),
    "drills": (
        "drills",
        "drills_app",
        "Drills: exercises injected at their time and measured against the plan.",
    ),
    "audit": ("web", "audit_app", "The audit log: check its hash chain, write signed checkpoints."),
    "bodies": ("response", "bodies_app", "Bodies: the departments that respond."),
    "plans": ("response", "plans_app", "Contingency plans with response levels I-IV."),
    "incidents": ("response", "incidents_app", "Incidents: open, run and close a response."),
    "tasks": ("response", "tasks_app", "Tasks of incidents: add, update, list."),
}


def load_command(name: str) -> TyperCommand | TyperGroup:
    """Import the module of command ``name`` and build its Click command."""
    module_name, attribute, _ = COMMANDS[name]
    target = getattr(importlib.import_module(f"{__name__}.{module_name}"), attribute)
    holder = typer.Typer(add_completion=False)  # as if added to the root, no completion options
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
    else:
        holder.command(name)(target)
    built = typer.main.get_command(holder)
    command = built.commands[name] if isinstance(built, TyperGroup) else built
    _unwrap_help(command)
    return command


def _unwrap_help(command: click.Command) -> None:
    """Join the lines of each paragraph of a command's help (a docstring wrapped at 88
    columns), so that the terminal wraps it at its own width instead of breaking lines
    mid-sentence; paragraphs and lines starting with ``-`` (lists) keep their breaks."""
    if command.help:
        command.help = "\n\n".join(
            re.sub(r"\n(?![-*] )", " ", paragraph)
            for paragraph in inspect.cleandoc(command.help).split("\n\n")
        )
    for sub in getattr(command, "commands", {}).values():
        _unwrap_help(sub)


class LazyCommands(TyperGroup):
    """The root group: lists every command of :data:`COMMANDS` from the table and loads
    one only when it is resolved to run (Click's "lazily loading subcommands" pattern)."""

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in COMMANDS if n not in self.commands)]

    def get_command(self, ctx: typer.Context, cmd_name: str) -> TyperCommand | TyperGroup | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in COMMANDS:
            # A summary for the help listing; resolve_command loads the real one.
            return TyperCommand(cmd_name, help=COMMANDS[cmd_name][2])
        return command

    def resolve_command(self, ctx: typer.Context, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name in COMMANDS and name not in self.commands:
            self.add_command(load_command(name), name)
        elif name and not name.startswith("-") and name not in self.commands:
            import difflib

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
            if close:
                ctx.fail(f"No such command {name!r}. Did you mean {close[0]!r}?")
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=LazyCommands,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="tocsin: early warning and crisis management for public hazards.",
)
err_console = Console(stderr=True)

#: Errors meant for people, as (module, class): checked only once their module is loaded.
USER_ERRORS = (
    ("tocsin.errors", "UserError"),
    ("tocsin.detect.errors", "DetectError"),
    ("tocsin.periods", "PeriodError"),
)


def _is_loaded_instance(exc: BaseException, names: tuple[tuple[str, str], ...]) -> bool:
    """Whether ``exc`` is an instance of one of the classes ``names`` whose module is
    already imported (an exception of a module never imported cannot have been raised)."""
    return any(
        module in sys.modules and isinstance(exc, getattr(sys.modules[module], cls))
        for module, cls in names
    )


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``message`` as an error and return the exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@app.callback()
def _root() -> None:
    """tocsin: early warning and crisis management for public hazards."""


@app.command()
def version() -> None:
    """Print tocsin's version."""
    from tocsin import __version__

    typer.echo(__version__)


def check_arguments(arguments: list[str]) -> None:
    """Refuse an argument holding a character XML 1.0 forbids (:mod:`tocsin.text`),
    naming its option (``--headline``) or its position, before any command runs."""
    for number, argument in enumerate(arguments):
        name, sep, value = argument.partition("=")
        if argument.startswith("--") and sep:
            check_text(value, name)
            continue
        previous = arguments[number - 1] if number else ""
        option = previous.startswith("-") and "=" not in previous and not argument.startswith("-")
        check_text(argument, previous if option else f"argument {number + 1}")


def main() -> None:
    """Entry point of the ``tocsin`` console script."""
    try:
        check_arguments(sys.argv[1:])
        # Typer's standalone mode reports usage errors itself (exit 2).
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        _report(exc)


def _report(exc: Exception) -> None:
    """Print an error meant for people as a message (exit 2); a database that is empty
    or older than the code as the command that fixes it; anything else as a bug."""
    if _is_loaded_instance(exc, USER_ERRORS):
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    if _is_loaded_instance(exc, (("sqlalchemy.exc", "DBAPIError"),)):
        from tocsin.store.migrate import schema_problem

        problem = schema_problem()
        if problem is None:
            _internal_error(exc)
        err_console.print(f"[bold red]error:[/] {problem}", highlight=False, soft_wrap=True)
        sys.exit(2)
    _internal_error(exc)  # a bug: say so plainly, traceback only on request


def _internal_error(exc: Exception) -> None:
    if os.environ.get("TOCSIN_DEBUG"):
        raise exc
    err_console.print(
        f"[bold red]internal error:[/] {type(exc).__name__}: {exc}. "
        "This is a bug in tocsin; run again with TOCSIN_DEBUG=1 for the details.",
        highlight=False,
    )
    sys.exit(1)
