"""The verifier shares only spec-level primitives with the server (issue 4): a bug in
the server's tally, storage or state machine cannot hide itself in the verifier."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

VERIFY = Path(__file__).resolve().parents[2] / "src" / "saksi" / "verify"

# Canonical JSON and the entry envelope, RFC 6962 hashing, Ed25519 verification, signed
# notes and checkpoints, tlog-tiles paths, cosignatures, and the shared error type.
ALLOWED = {
    "saksi.canonical",
    "saksi.errors",
    "saksi.log.checkpoint",
    "saksi.log.entry",
    "saksi.log.merkle",
    "saksi.log.note",
    "saksi.log.signature",
    "saksi.log.tiles",
    "saksi.witness.cosignature",
}
SERVER = (
    "saksi.tally",
    "saksi.store",
    "saksi.election",
    "saksi.ingest",
    "saksi.registry",
    "saksi.manifest",
    "saksi.keys",
    "saksi.publication",
    "saksi.cli",
)


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return {name for name in out if name.split(".")[0] == "saksi"}


@pytest.mark.parametrize("path", sorted(VERIFY.glob("*.py")), ids=lambda p: p.name)
def test_a_verifier_module_imports_only_spec_level_primitives(path: Path) -> None:
    foreign = {m for m in _imports(path) if not m.startswith("saksi.verify") and m != "saksi"}
    assert foreign <= ALLOWED, f"{path.name} imports {sorted(foreign - ALLOWED)}"


def test_loading_the_verifier_loads_no_server_module() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, saksi.verify.run; print('\\n'.join(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "saksi.verify.replay" in loaded  # positive control: the probe sees our modules
    assert not [m for m in loaded if m.startswith(SERVER)]
