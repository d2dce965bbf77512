"""Everything the package imports at run time is a pinned runtime dependency.

The test suite installs the dev extras too, so a runtime import of a dev-only package
would pass every other test and still break `./scripts/demo` on a fresh machine.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _runtime_requirements() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = {}
    for requirement in project["dependencies"]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([0-9][^;\s]*)", requirement)
        assert match, f"dependency {requirement!r} is not pinned with =="
        pins[match.group(1).lower().replace("_", "-")] = match.group(3)
    return pins


def _imported_top_level_modules() -> set[str]:
    modules: set[str] = set()
    for path in (REPO / "src" / "saksi").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"saksi"}


def test_every_runtime_import_is_a_pinned_runtime_dependency() -> None:
    pins = _runtime_requirements()
    owners = packages_distributions()
    for module in sorted(_imported_top_level_modules()):
        distributions = {d.lower().replace("_", "-") for d in owners.get(module, [])}
        assert distributions, f"{module} is imported but no installed distribution provides it"
        assert distributions & pins.keys(), (
            f"src/saksi imports {module} ({', '.join(sorted(distributions))}), which is not "
            "in [project] dependencies"
        )
