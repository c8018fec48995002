"""Imports point one way: `pki`, `acme_client` and `dns_providers` never import `lifecycle` or `api`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOWER = ("pki", "acme_client", "dns_providers")
FORBIDDEN = ("lifecycle", "api", "starlette")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", LOWER)
def test_lower_layers_do_not_import_the_core_or_the_http_layer(package: str) -> None:
    offenders = {str(p.relative_to(ROOT)): sorted(_imports(p) & set(FORBIDDEN))
                 for p in (ROOT / package).rglob("*.py") if _imports(p) & set(FORBIDDEN)}
    assert offenders == {}
