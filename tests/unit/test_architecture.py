"""The layering of DESIGN.md, checked on the source: imports point one way.

``tocsin.detect`` is the pure numeric core: it imports nothing from the rest of tocsin
and no I/O, database or web library.
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "tocsin"
# threadpoolctl only caps BLAS threads around batched solves; it does no I/O.
DETECT_ALLOWED_THIRD_PARTY = {"numpy", "scipy", "threadpoolctl"}
STDLIB_IO = {"sqlite3", "socket", "urllib", "http", "subprocess", "shutil"}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


DETECT_FILES = sorted((SRC / "detect").rglob("*.py"))


@pytest.mark.parametrize("path", DETECT_FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_detect_imports_only_numeric_libraries_and_itself(path):
    import sys

    bad = []
    for line, name in _imports(path):
        top = name.split(".")[0]
        if top == "tocsin":
            if not name.startswith("tocsin.detect"):
                bad.append((line, name))
        elif top in STDLIB_IO or (
            top not in sys.stdlib_module_names and top not in DETECT_ALLOWED_THIRD_PARTY
        ):
            bad.append((line, name))
    assert not bad, f"{path.name} imports outside the pure core: {bad}"


def test_the_method_listing_survives_loading_the_method_modules():
    import tocsin.detect
    import tocsin.detect.methods

    assert callable(tocsin.detect.available_methods)
    assert "ears_c1" in tocsin.detect.available_methods()
