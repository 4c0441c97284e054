"""The architecture of DESIGN.md §2 stays visible: catalog ← rewrite ← engine ← front ends.
A module may import only its own layer and the layers to its left; errors, suggest and
version are leaves everyone may use."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LEAVES = {"dsgrid_sql.errors", "dsgrid_sql.suggest", "dsgrid_sql.version", "dsgrid_sql"}
# Layer of each package, by import name; front ends are everything else in dsgrid_sql.
LAYERS = {
    "dsgrid_sql.catalog": 0,
    "dsgrid_sql.storage": 0,
    "dsgrid_sql.rewrite": 1,
    "dsgrid_sql.engine": 2,
}
FRONT = 3


def _layer(module: str) -> int | None:
    if module in LEAVES:
        return None
    for prefix, layer in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return FRONT if module.startswith("dsgrid_sql") else None


def _modules() -> list[tuple[str, Path]]:
    roots = {
        "dsgrid_sql": REPO / "dsgrid_sql",
        "dsgrid_sql.catalog": REPO / "catalog",
        "dsgrid_sql.flight_server": REPO / "flight_server",
    }
    found = []
    for package, root in roots.items():
        for path in root.rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join((package, *parts)).removesuffix(".__init__")
            found.append((name, path))
    return found


def _imports(name: str, path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    result = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            result += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                result.append(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                result.append(node.module)
    return result


def test_layers_import_only_to_their_left() -> None:
    violations = []
    for name, path in _modules():
        own = _layer(name)
        if own is None:
            continue
        for imported in _imports(name, path):
            layer = _layer(imported)
            if layer is not None and layer > own:
                violations.append(f"{name} imports {imported}")
    assert violations == []


def test_only_the_engine_layer_imports_engines() -> None:
    for name, path in _modules():
        if name.startswith("dsgrid_sql.engine"):
            continue
        for imported in _imports(name, path):
            assert not imported.startswith(("duckdb", "pyspark")), f"{name} imports {imported}"


# Front ends are siblings (DESIGN.md §6): none imports another; what they share (auth, the
# current catalog, admission, jobs, metrics, completion) lives one layer down, in service/,
# jobs/ and completion/.
SIBLINGS = ("dsgrid_sql.flight_server", "dsgrid_sql.http", "dsgrid_sql.repl", "dsgrid_sql.web")
SHARED = ("dsgrid_sql.service", "dsgrid_sql.jobs", "dsgrid_sql.completion")


def _within(module: str, packages: tuple[str, ...]) -> str | None:
    for package in packages:
        if module == package or module.startswith(package + "."):
            return package
    return None


def test_front_ends_do_not_import_one_another() -> None:
    violations = []
    for name, path in _modules():
        own = _within(name, SIBLINGS)
        shared = _within(name, SHARED)
        for imported in _imports(name, path):
            other = _within(imported, SIBLINGS)
            if other is not None and (shared is not None or (own is not None and other != own)):
                violations.append(f"{name} imports {imported}")
    assert violations == []


def test_shared_completion_needs_no_terminal() -> None:
    """The REPL and the web console share dsgrid_sql/completion: plain Python, no
    prompt-toolkit (and no web framework)."""
    for name, path in _modules():
        if _within(name, ("dsgrid_sql.completion",)) is None:
            continue
        for imported in _imports(name, path):
            assert not imported.startswith(("prompt_toolkit", "fastapi", "starlette")), (
                f"{name} imports {imported}"
            )
