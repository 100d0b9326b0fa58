"""Imports run one way: every module imports only floors below its own (or its own package).

Read from the source (an AST scan of every import, at the top, inside functions
and under ``TYPE_CHECKING`` alike), so a function-level import cannot hide a
circle, and the web app and the CLI reach the stages only through the front
door, ``service.library``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

SERVICE = ROOT / "service"

FLOORS: tuple[frozenset[str], ...] = (
    # the ground floors: shared by everyone, importing no stage
    frozenset({"service", "service.errors"}),
    frozenset({"service.config", "service.media", "service.malloc", "service.threads"}),
    frozenset({"service.text", "service.publish"}),  # publish: a collection's rules, its feed
    frozenset({"service.engines"}),
    frozenset({"service.audio"}),
    frozenset({"service.store", "service.db"}),
    frozenset({"service.pipeline"}),
    frozenset({"service.jobs"}),
    frozenset({"service.listening"}),  # counts events into the database, Redis when shared
    frozenset({"service.library"}),
    frozenset({"service.web"}),
    frozenset({"service.cli"}),  # `listen serve` starts the web server
    frozenset({"service.__main__"}),
)
"""The floors, from the ground up; a package on a floor imports only floors below, or itself."""

FRONT_DOOR = frozenset(
    {"service", "service.errors", "service.config", "service.media", "service.malloc",
     "service.threads", "service.library"}
)  # fmt: skip
"""What the web app and the CLI import besides their own modules (the CLI: the web server too)."""


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(SERVICE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(path: Path) -> set[str]:
    """Return every ``service`` module ``path`` imports, wherever the import stands."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "service" or name.startswith("service.")}


def _package(module: str, known: dict[str, Path]) -> str:
    """Return the floor package a module belongs to (``service.text.lexicon.model`` -> text)."""
    for floor in FLOORS:
        for package in sorted(floor, key=len, reverse=True):
            if module == package or (package != "service" and module.startswith(package + ".")):
                return package
    raise AssertionError(f"{module} is on no floor: add it to FLOORS")


def _floor(package: str) -> int:
    return next(index for index, floor in enumerate(FLOORS) if package in floor)


MODULES = _modules()


def _real(name: str) -> str | None:
    """Return the module an imported name lives in (``from x import y``: y, else x)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_architecture_imports_run_downhill(module: str) -> None:
    package = _package(module, MODULES)
    uphill = sorted(
        target
        for imported in _imports(MODULES[module])
        if (target := _real(imported)) is not None
        for target_package in [_package(target, MODULES)]
        if target_package != package and _floor(target_package) >= _floor(package)
    )
    assert uphill == [], f"{module} ({package}) imports from its own floor or above"


@pytest.mark.parametrize(
    "module", sorted(m for m in MODULES if m.startswith(("service.web", "service.cli")))
)
def test_architecture_web_and_cli_use_only_the_front_door(module: str) -> None:
    own = "service.web" if module.startswith("service.web") else "service.cli"
    allowed = FRONT_DOOR | {"service.web"} if own == "service.cli" else FRONT_DOOR
    stages = sorted(
        target
        for imported in _imports(MODULES[module])
        if (target := _real(imported)) is not None
        and not target.startswith(own)
        and _package(target, MODULES) not in allowed
    )
    assert stages == [], f"{module} reaches past service.library"


@pytest.mark.slow
def test_architecture_has_no_circles_inside_a_package() -> None:
    graph = {
        module: {t for name in _imports(path) if (t := _real(name)) and t != module}
        for module, path in MODULES.items()
    }
    circles = []
    for start in graph:
        stack, seen = [(start, (start,))], set()
        while stack:
            node, trail = stack.pop()
            for target in graph.get(node, ()):
                # a package's face importing its own modules is how a package speaks
                if target == start and not start.startswith(node):
                    circles.append(trail)
                elif target not in seen and not target.startswith(node + "."):
                    seen.add(target)
                    stack.append((target, (*trail, target)))
    assert circles == []


def test_architecture_front_door_names_resolve() -> None:
    import service.library as library

    assert sorted(library.__all__) == sorted(library._HOMES)
    for name in library.__all__:
        assert getattr(library, name) is not None
