"""The package declares what it imports, and the pins cover everything it declares.

A fresh ``pip install .`` gets only what pyproject.toml names (and what those
packages name in turn, as the installing pip reads them); ``scripts/check-install``
proves such an install narrates, these tests find a missing declaration sooner.
"""

from __future__ import annotations

import ast
import importlib.metadata
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _declared() -> dict[str, Requirement]:
    project = PYPROJECT["project"]
    lines = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        lines += extra
    requirements = [Requirement(line) for line in lines]
    return {canonicalize_name(requirement.name): requirement for requirement in requirements}


def _imported_at_run_time(path: Path) -> set[str]:
    """Return the top-level modules a file imports, leaving out ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(node)
        for guard in ast.walk(tree)
        if isinstance(guard, ast.If) and "TYPE_CHECKING" in ast.unparse(guard.test)
        for statement in guard.body
        for node in ast.walk(statement)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.slow
def test_packaging_declares_every_package_the_code_imports() -> None:
    providers = importlib.metadata.packages_distributions()
    declared = _declared()
    undeclared: dict[str, list[str]] = {}
    for path in sorted((ROOT / "service").rglob("*.py")):
        for module in _imported_at_run_time(path):
            if module in sys.stdlib_module_names or module == "service":
                continue
            names = {canonicalize_name(name) for name in providers.get(module, [module])}
            if not names & declared.keys():
                undeclared.setdefault(module, []).append(str(path.relative_to(ROOT)))
    assert undeclared == {}


def test_packaging_declares_the_html_cleaner_trafilatura_needs() -> None:
    # jusText asks for lxml[html_clean]; lxml 6 names that extra html-clean, and pip
    # before 24 (Python 3.11's own) then installs nothing and HTML cannot be read.
    assert "lxml-html-clean" in _declared()


def test_packaging_pins_every_declared_package() -> None:
    pinned = {
        canonicalize_name(line.split("==", 1)[0])
        for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith("#")
    }
    unpinned = sorted(set(_declared()) - pinned)
    assert unpinned == [], "run `make lock` after changing pyproject.toml"
