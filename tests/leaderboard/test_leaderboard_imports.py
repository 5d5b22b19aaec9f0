"""The leaderboard's own modules import each other without a circle; the exceptions live in errors.py."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

import leaderboard as lb

ROOT = pathlib.Path(lb.__file__).parent


def _imports(path: pathlib.Path) -> set[str]:
    """The leaderboard submodules a file imports, at module level or inside functions."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                out.add(node.module.split(".")[0])
            elif node.level == 1:  # from . import x
                out.update(a.name for a in node.names)
            elif node.level == 0 and node.module and node.module.startswith("leaderboard."):
                out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("leaderboard."))
    return out


def test_summary_does_not_import_store_and_errors_imports_nothing():
    assert "store" not in _imports(ROOT / "summary.py")
    assert "errors" in _imports(ROOT / "summary.py") and "errors" in _imports(ROOT / "store.py")
    assert _imports(ROOT / "errors.py") == set()


def test_no_import_cycle_between_submodules():
    graph = {p.stem: _imports(p) - {"__init__"} for p in ROOT.glob("*.py") if p.stem != "__init__"}

    def visit(node, path):
        if node in path:
            raise AssertionError(f"import cycle: {' -> '.join(path[path.index(node):] + [node])}")
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, path + [node])

    for module in sorted(graph):
        visit(module, [])


@pytest.mark.parametrize("order", [("summary", "store"), ("store", "summary"), ("errors", "store")])
def test_fresh_interpreter_imports_in_either_order(order):
    code = (f"import leaderboard.{order[0]}, leaderboard.{order[1]}\n"
            "import leaderboard, leaderboard.errors as e, leaderboard.store as s\n"
            "assert s.StoreError is e.StoreError is leaderboard.StoreError\n"
            "assert s.VersionMixError is e.VersionMixError is leaderboard.VersionMixError\n"
            "assert s.SchemaVersionError is e.SchemaVersionError is leaderboard.SchemaVersionError\n"
            "assert issubclass(e.VersionMixError, e.StoreError) and issubclass(e.StoreError, RuntimeError)\n"
            "from leaderboard.summary import AGGREGATION_VERSION\n"
            "assert s.AGGREGATION_VERSION == AGGREGATION_VERSION\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_public_names_are_exported():
    for name in ("register_direction", "direction_of", "HIGHER", "LOWER", "Claim", "Verdict", "DatasetVerdict",
                 "check_claims", "format_verdicts", "verdicts_frame", "CLAIM_STATUSES", "StoreError",
                 "SchemaVersionError", "VersionMixError"):
        assert name in lb.__all__ and hasattr(lb, name), name
    assert lb.CLAIM_STATUSES == ("holds", "not shown", "contradicted", "not run")
