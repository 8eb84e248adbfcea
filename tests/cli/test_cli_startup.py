"""The command line loads only what a command needs (issue 16, "a fast command line").

The speed itself is measured by benchmarks/bench_cli_startup.py and recorded in
docs/performance.md; these tests hold the structure that makes it possible: the table of
commands in :mod:`tocsin.cli` agrees with the modules that define them, and the root help
imports no database layer and no numerical library.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import subprocess
import sys

import pytest
import typer

import tocsin.cli
from tocsin.cli import COMMANDS, load_command

HEAVY = ("sqlalchemy", "numpy", "pandas", "scipy", "pydantic", "tocsin.store", "tocsin.detect")


def _first_paragraph(text: str) -> str:
    return " ".join(text.split("\n\n")[0].split())


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_listed_command_loads_with_the_listed_help(name: str) -> None:
    command = load_command(name)
    assert command.name == name
    assert _first_paragraph(command.help or "") == _first_paragraph(COMMANDS[name][2])


def test_every_command_group_of_the_package_is_listed() -> None:
    """A group of commands added to a module of tocsin.cli but not to the table would be
    unreachable: this test names it."""
    listed = {(module, attribute) for module, attribute, _ in COMMANDS.values()}
    for info in pkgutil.iter_modules(tocsin.cli.__path__):
        module = importlib.import_module(f"tocsin.cli.{info.name}")
        # A group added to a listed group (``tocsin reserves items``) is reachable too.
        nested = {
            id(group.typer_instance)
            for attribute, value in vars(module).items()
            if (info.name, attribute) in listed and isinstance(value, typer.Typer)
            for group in value.registered_groups
        }
        for attribute, value in vars(module).items():
            if isinstance(value, typer.Typer) and id(value) not in nested:
                assert (info.name, attribute) in listed, f"tocsin.cli.{info.name}.{attribute}"


@pytest.fixture(scope="module")
def loaded_by() -> dict[str, list[str]]:
    """The modules loaded by ``tocsin --help``, then by ``tocsin db --help``, in one new
    interpreter (each run adds to what the one before loaded)."""
    code = (
        "import json, sys\n"
        "from tocsin.cli import main\n"
        "loaded = {}\n"
        "for arguments in (['--help'], ['db', '--help']):\n"
        "    sys.argv = ['tocsin', *arguments]\n"
        "    try:\n        main()\n    except SystemExit:\n        pass\n"
        "    loaded[' '.join(arguments)] = sorted(sys.modules)\n"
        "print(json.dumps(loaded))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _heavy(loaded: list[str], heavy: tuple[str, ...]) -> list[str]:
    return [m for m in loaded if any(re.match(rf"{re.escape(h)}(\.|$)", m) for h in heavy)]


def test_root_help_loads_no_service_and_no_numerical_library(loaded_by) -> None:
    assert _heavy(loaded_by["--help"], HEAVY) == []


def _modules_loaded_by(*arguments: str) -> list[str]:
    """The modules loaded by one ``tocsin`` command in a new interpreter."""
    code = (
        "import json, sys\n"
        f"sys.argv = ['tocsin', *{list(arguments)!r}]\n"
        "from tocsin.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_detect_on_a_short_series_loads_no_scipy_and_no_database(tmp_path) -> None:
    """``tocsin detect`` with EARS on one short series (the benchmark's case): scipy
    (its array-API layer loads numpy's f2py and testing modules), the database layer and
    pandas are left out. (Typer itself needs pydantic to read any command's options.)"""
    data = tmp_path / "short.csv"
    weeks = "".join(f"2024-W{w:02d},A,{w % 5}\n" for w in range(1, 53))
    data.write_text("period,series,value\n" + weeks)
    out = tmp_path / "out.csv"
    loaded = _modules_loaded_by("detect", str(data), "-m", "ears_c1", "--last", "1", "-o", str(out))
    assert out.read_text().count("\n") == 2  # the header and the one period evaluated
    assert "tocsin.detect.methods.ears" in loaded
    assert _heavy(loaded, ("scipy", "sqlalchemy", "pandas", "tocsin.store")) == []


def test_a_command_loads_only_its_own_module(loaded_by) -> None:
    loaded = loaded_by["db --help"]
    assert "tocsin.cli.db" in loaded
    others = {f"tocsin.cli.{m}" for m, _, _ in COMMANDS.values()} - {"tocsin.cli.db"}
    assert sorted(others & set(loaded)) == []


def test_a_mistyped_command_suggests_the_right_one(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "argv", ["tocsin", "detec"])
    with pytest.raises(SystemExit) as info:
        tocsin.cli.main()
    assert info.value.code == 2
    assert "Did you mean 'detect'?" in capsys.readouterr().err


def _helps(command):
    yield command.name, command.help or ""
    for sub in getattr(command, "commands", {}).values():
        yield from _helps(sub)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_paragraphs_are_not_broken_at_the_docstring_width(name: str) -> None:
    """A docstring wrapped at 88 columns printed as is broke lines mid-sentence in an
    80-column terminal ("observed,\\n expected"): paragraphs are joined, lists kept."""
    for command, text in _helps(load_command(name)):
        for paragraph in text.split("\n\n"):
            broken = re.findall(r"[^\n]*\n(?![-*] )", paragraph)
            assert not broken, f"{name} {command}: {paragraph!r}"
