"""The ``tocsin`` command line: parse arguments, call services, print with Rich.

Each group of commands lives in its own module of this package and registers itself on
:data:`app`. :func:`main` turns every error meant for people into a message and exit
code 2, so that no traceback reaches a user.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

import typer
from rich.console import Console
from sqlalchemy.exc import DBAPIError

from tocsin.detect.errors import DetectError
from tocsin.errors import UserError
from tocsin.periods import PeriodError
from tocsin.text import check_text

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="tocsin: early warning and crisis management for public hazards.",
)
err_console = Console(stderr=True)

USER_ERRORS = (UserError, DetectError, PeriodError)


def _load_commands() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


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
    _load_commands()
    try:
        check_arguments(sys.argv[1:])
        # Typer's standalone mode reports usage errors itself (exit 2).
        app()
    except USER_ERRORS as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except DBAPIError as exc:
        from tocsin.store.migrate import schema_problem

        problem = schema_problem()
        if problem is None:
            _internal_error(exc)
        err_console.print(f"[bold red]error:[/] {problem}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug: say so plainly, traceback only on request
        _internal_error(exc)


def _internal_error(exc: Exception) -> None:
    if os.environ.get("TOCSIN_DEBUG"):
        raise exc
    err_console.print(
        f"[bold red]internal error:[/] {type(exc).__name__}: {exc}. "
        "This is a bug in tocsin; run again with TOCSIN_DEBUG=1 for the details.",
        highlight=False,
    )
    sys.exit(1)
