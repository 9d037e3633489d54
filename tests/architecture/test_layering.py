"""The layering the README describes, enforced: each layer imports only from layers below it.

    models  <-  training  <-  inference / serving  <-  services / workers  <-  cli / demo

Models know nothing of gRPC, databases or Celery; benchmarks live under bench/, not in library code.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = {
    "shared.models": 0,
    "shared.training": 1,
    "shared.inference": 2,
    "shared.serving": 2,
    "services": 3,
    "workers": 3,
    "shared.cli": 4,
    "shared.demo": 4,
}
INFRASTRUCTURE = ("grpc", "psycopg", "psycopg_pool", "celery", "redis", "terrafake", "shared.db", "shared.jobs")


def _layer(module: str) -> int | None:
    matches = [(len(prefix), layer) for prefix, layer in LAYERS.items() if module == prefix or module.startswith(prefix + ".")]
    return max(matches)[1] if matches else None


def _modules() -> list[tuple[str, Path]]:
    out = []
    for top in ("shared", "services", "workers"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "shared/api" in path.as_posix():
                continue
            out.append((".".join(path.relative_to(ROOT).with_suffix("").parts), path))
    return out


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _upward(module: str, path: Path) -> list[str]:
    own = _layer(module)
    if own is None:
        return []
    return sorted(name for name in _imports(path) if (other := _layer(name)) is not None and other > own)


def test_no_layer_imports_from_a_layer_above_it():
    broken = {module: up for module, path in _modules() if (up := _upward(module, path))}
    assert not broken, f"upward imports: {broken}"


def test_models_know_nothing_of_transport_storage_or_queues():
    broken = {}
    for module, path in _modules():
        if _layer(module) == 0:
            bad = sorted(n for n in _imports(path) if any(n == i or n.startswith(i + ".") for i in INFRASTRUCTURE))
            if bad:
                broken[module] = bad
    assert not broken, broken


def test_benchmarks_live_under_bench():
    stray = [m for m, _ in _modules() if m.rsplit(".", 1)[-1].startswith("bench")]
    assert not stray, f"benchmarks in library code: {stray}"


@pytest.mark.parametrize("module, imports, upward", [
    ("shared.models.x", {"shared.training.loop"}, ["shared.training.loop"]),
    ("shared.training.x", {"shared.models", "services.server"}, ["services.server"]),
    ("services.x", {"shared.cli.main", "workers.app"}, ["shared.cli.main"]),
])  # fmt: skip
def test_the_check_itself_catches_an_upward_import(module, imports, upward, tmp_path):
    path = tmp_path / "m.py"
    path.write_text("\n".join(f"import {name}" for name in sorted(imports)))
    assert _upward(module, path) == upward
