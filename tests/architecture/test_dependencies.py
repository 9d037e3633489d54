"""Every third-party package the code imports is declared in pyproject.toml (the runtime code in the
project's dependencies, the tests' in those or the dev extra), so a fresh install has all of it."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OWN = {"shared", "services", "workers", "terrafake", "bench", "tests", "scripts"}


# Imported, and rightly not declared:
OPTIONAL = {
    "triton_python_backend_utils",  # exists only inside Triton's python backend, which runs our model code
    "diffusers",  # bench.generation's optional reference, with an install hint when missing
}


def _norm(name: str) -> str:
    return name.lower().replace("_", "-")


def _declared(specs: list[str]) -> set[str]:
    """The declared distributions, and what their requested extras bring (psycopg[pool] -> psycopg-pool)."""
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.requirements import Requirement

    out = set()
    for spec in specs:
        req = Requirement(spec)
        out.add(_norm(req.name))
        try:
            needs = requires(req.name) or []
        except PackageNotFoundError:
            continue
        for extra in req.extras:
            for need in map(Requirement, needs):
                if need.marker is not None and need.marker.evaluate({"extra": extra}):
                    out.add(_norm(need.name))
    return out


def _top_level_imports(folders: list[str]) -> dict[str, set[str]]:
    """top-level module name -> files importing it (absolute imports only)."""
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            if "shared/api" in path.as_posix():
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                for name in names:
                    found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def _undeclared(folders: list[str], declared: set[str]) -> dict[str, set[str]]:
    owners = packages_distributions()
    missing = {}
    for module, files in _top_level_imports(folders).items():
        if module in OWN or module in OPTIONAL or module in sys.stdlib_module_names or module == "__future__":
            continue
        distributions = {_norm(d) for d in owners.get(module, [])}
        if not distributions:
            missing[f"{module} (no installed distribution provides it)"] = files
        elif not distributions & declared:
            missing[f"{module} (from {', '.join(sorted(distributions))})"] = files
    return missing


def test_runtime_code_imports_only_declared_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = _declared(project["dependencies"])
    assert _undeclared(["shared", "services", "workers"], declared) == {}


def test_tests_and_benchmarks_import_only_declared_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = _declared(project["dependencies"] + project["optional-dependencies"]["dev"])
    assert _undeclared(["tests", "bench"], declared) == {}
