"""The layer contract (pyproject.toml, [tool.importlinter]) holds, and a planted back-edge breaks it.

Both tests run the real ``lint-imports`` of the venv: the first on this source tree, the second on a
temporary copy of it in which a lower-layer module imports a higher one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
LINT = Path(sys.executable).parent / "lint-imports"


def _lint(cwd: Path, src: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with the contract in ``cwd/pyproject.toml``, analysing the package under ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src), "NO_COLOR": "1"}
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def _copy_tree(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(SRC / "facebench", tmp_path / "src" / "facebench",
                    ignore=shutil.ignore_patterns("__pycache__", "*.npz", "*.onnx", "*.csv", "*.json"))
    return tmp_path


def test_lint_imports_is_installed() -> None:
    assert LINT.is_file(), f"{LINT} missing: import-linter is in the test extra (make venv)"


def test_layers_contract_is_kept() -> None:
    proc = _lint(ROOT, SRC)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "facebench layers point one way KEPT" in out
    assert "0 broken" in out


@pytest.mark.parametrize("module, planted", [
    ("face/geometry.py", "import facebench.bench.runner"),      # face -> bench: up three layers
    ("base/imageio.py", "from facebench.face import types"),    # base -> face
    ("judges/vlm.py", "from facebench.edit import base"),       # judges -> edit: independent siblings
])
def test_a_planted_back_edge_breaks_the_contract(tmp_path: Path, module: str, planted: str) -> None:
    tree = _copy_tree(tmp_path)
    clean = _lint(tree, tree / "src")
    assert clean.returncode == 0, clean.stdout + clean.stderr  # the copy itself is fine
    target = tree / "src" / "facebench" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{planted}  # planted back-edge\n", encoding="utf-8")
    proc = _lint(tree, tree / "src")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "BROKEN" in out
    importer = "facebench." + module[:-3].replace("/", ".")
    assert importer in out, out


def _layer_ranks() -> dict[str, int]:
    """Top-level module of facebench -> its layer's rank in the contract (0 = the highest layer)."""
    import tomllib

    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = conf["tool"]["importlinter"]["contracts"]
    return {name.strip(): rank for rank, layer in enumerate(contract["layers"]) for name in layer.split("|")}


def _names_by_string(path: Path) -> list[str]:
    """Module paths ``facebench.x.y`` written as string constants in ``path`` (imports by name,
    e.g. a registry's provider list, which lint-imports cannot see)."""
    import ast
    import re

    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and re.fullmatch(r"facebench(\.\w+)+", n.value)]


def test_no_lower_layer_names_a_higher_module_by_string() -> None:
    """The contract holds at run time too: a module never imports a higher layer by name (editors of
    higher layers register through the "facebench.editors" entry points instead)."""
    ranks = _layer_ranks()
    found = []
    for path in sorted((SRC / "facebench").rglob("*.py")):
        rel = path.relative_to(SRC / "facebench")
        own = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        for name in _names_by_string(path):
            other = name.split(".")[1]
            if other in ranks and own in ranks and ranks[other] < ranks[own]:
                found.append(f"{rel}: {name!r} ({own} is below {other})")
    assert not found, "\n".join(found)
    assert "facebench.pixelsmile.editor" not in (SRC / "facebench" / "edit" / "base.py").read_text()


def test_higher_layer_editors_register_through_entry_points() -> None:
    from facebench.edit.base import load_editors

    names = {e.name for e in load_editors()}
    assert {"offline", "folder", "http", "command", "pixelsmile", "pixelsmile-gallery"} <= names
