"""The layout's one rule: imports point one way, ``pipelines → credit_engine ← api``. The core
imports no face, and the two faces never import each other (the CLI starts the server by its
import string)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"credit_engine": {"api", "pipelines"}, "pipelines": {"api"}, "api": {"pipelines"}}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_one_way(package: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {path: names for path, names in wrong.items() if names} == {}


def test_the_check_sees_an_import_of_a_face(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import os\nfrom api.logs import log_config\n\ndef f():\n    import pipelines.cli\n")
    assert imported_packages(module) == {"os", "api", "pipelines"}
