"""The layering of docs/architecture.md, checked on the source: imports point one way.

``tocsin.detect`` is the pure numeric core: it imports nothing from the rest of tocsin
and no I/O, database or web library. Every import counts, also one inside a function:
a lazy import that breaks a cycle at run time still ties the two modules together.
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


# -- the import graph of the whole package ------------------------------------------

MODULES = {
    ".".join(("tocsin", *p.relative_to(SRC).with_suffix("").parts)).removesuffix(".__init__"): p
    for p in sorted(SRC.rglob("*.py"))
    if "migrations" not in p.parts
}


def _targets(name: str) -> set[str]:
    """The tocsin modules an imported name stands for (``tocsin.a.b`` may be a module,
    or a name defined in ``tocsin.a``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return {name} if name else set()


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        edges: set[str] = set()
        tree = ast.parse(path.read_text(), filename=str(path))
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    edges |= _targets(alias.name)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                if not base.startswith("tocsin"):
                    continue
                for alias in node.names:
                    found = _targets(f"{base}.{alias.name}")
                    edges |= found if found != {base} else _targets(base)
        edges.discard(module)
        graph[module] = edges
    return graph


GRAPH = _graph()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _package_imports(packages: tuple[str, ...]) -> dict[str, set[str]]:
    return {module: edges for module, edges in GRAPH.items() if _within(module, packages)}


def _offending(importers: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{module} -> {target}"
        for module, edges in _package_imports(importers).items()
        for target in edges
        if _within(target, forbidden)
    )


def test_there_are_no_import_cycles():
    assert _cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


GROUND_FLOOR = ("tocsin.errors", "tocsin.periods", "tocsin.settings", "tocsin.catalogs")


def test_the_ground_floor_imports_nothing_of_tocsin_above_it():
    assert _offending(GROUND_FLOOR, tuple(m for m in MODULES if m not in GROUND_FLOOR)) == []


DOMAINS = (
    "tocsin.audit",
    "tocsin.monitoring",
    "tocsin.alerting",
    "tocsin.accounts",
    "tocsin.response",
    "tocsin.reserves",
    "tocsin.risk",
)
SHELLS = ("tocsin.web", "tocsin.cli", "tocsin.demo")


@pytest.mark.parametrize(
    ("importers", "forbidden"),
    [
        (("tocsin.store",), (*DOMAINS, *SHELLS, "tocsin.worker")),
        (
            ("tocsin.monitoring",),
            (
                "tocsin.alerting",
                "tocsin.accounts",
                "tocsin.response",
                "tocsin.reserves",
                "tocsin.risk",
                *SHELLS,
            ),
        ),
        (
            ("tocsin.alerting",),
            ("tocsin.accounts", "tocsin.response", "tocsin.reserves", "tocsin.risk", *SHELLS),
        ),
        (
            ("tocsin.accounts",),
            ("tocsin.alerting", "tocsin.response", "tocsin.reserves", "tocsin.risk", *SHELLS),
        ),
        (("tocsin.audit",), tuple(d for d in DOMAINS if d != "tocsin.audit") + SHELLS),
        # Response builds on the domains below it (it opens incidents from alerts, names
        # users as commanders); none of them knows it.
        (("tocsin.response",), ("tocsin.risk", "tocsin.reserves", *SHELLS, "tocsin.worker")),
        # Reserves build on monitoring, accounts, audit, alerting and the response (supply
        # requests of incidents), never on a shell or the worker.
        (("tocsin.reserves",), ("tocsin.risk", *SHELLS, "tocsin.worker")),
        # Risks build on the response (bodies, plans, incidents), reserves (coverage),
        # monitoring (indicator values), accounts, audit and alerting; no domain imports
        # them, and they import no shell and not the worker.
        (("tocsin.risk",), (*SHELLS, "tocsin.worker")),
        # Nothing below the shells imports them; the shells do not import each other
        # except that the command line may start the web server and build the demo.
        (("tocsin.web",), ("tocsin.cli",)),
    ],
    ids=lambda value: ",".join(value),
)
def test_imports_point_down_the_layers(importers, forbidden):
    assert _offending(importers, forbidden) == []


def test_nothing_below_the_shells_imports_them():
    offending = sorted(
        f"{module} -> {target}"
        for module, edges in GRAPH.items()
        if not _within(module, SHELLS)
        for target in edges
        if _within(target, ("tocsin.web", "tocsin.cli"))
    )
    assert offending == []


# -- routes and pages read through queries -------------------------------------------

#: Every module of the routes, the pages (their subpackages too) and what they share.
WEB_VIEWS = [
    path
    for folder in ("api", "pages", "shared")
    for path in sorted((SRC / "web" / folder).rglob("*.py"))
]

#: Functions of SQLAlchemy that build SQL, and the session's methods that run it.
SQL_BUILDERS = {"select", "text", "insert", "update", "delete", "union", "exists"}
SQL_RUNNERS = {"execute", "scalar", "scalars"}


def _ad_hoc_sql(source: str) -> list[str]:
    """Where ``source`` builds SQL with SQLAlchemy or runs a statement on a session."""
    tree = ast.parse(source)
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy")
        for alias in node.names
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in SQL_BUILDERS & imported:
            found.append(f"line {node.lineno}: {func.id}(")
        elif isinstance(func, ast.Attribute) and func.attr in SQL_RUNNERS:
            found.append(f"line {node.lineno}: .{func.attr}(")
    return found


@pytest.mark.parametrize("path", WEB_VIEWS, ids=lambda p: str(p.relative_to(SRC)))
def test_routes_and_pages_call_services_and_queries_only(path):
    """No ``select(`` and no statement run on a session in a route or page: reads are
    functions of ``<domain>/queries.py`` that take the caller's jurisdiction ids."""
    found = _ad_hoc_sql(path.read_text())
    assert not found, (
        f"{path.relative_to(SRC)} builds or runs SQL itself: {found}; "
        "move the read into a function of tocsin/<domain>/queries.py"
    )


def test_the_sql_finder_finds_sql():
    source = (
        "from sqlalchemy import select\n"
        "def f(db):\n"
        "    db.execute(select(A).where(A.id == 1))\n"
        "    return db.scalar(q)\n"
    )
    assert sorted(_ad_hoc_sql(source)) == [
        "line 3: .execute(",
        "line 3: select(",
        "line 4: .scalar(",
    ]
    assert _ad_hoc_sql("def f(text):\n    return text('x')\n") == []


def test_pages_do_not_import_the_json_api():
    """What pages share with the JSON API is in ``web/shared``, not in ``web/api``."""
    assert _offending(("tocsin.web.pages",), ("tocsin.web.api",)) == []
