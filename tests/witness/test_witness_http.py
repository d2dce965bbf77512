"""`saksi witness serve` on loopback: a real server, a real HTTP client, a restart."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from saksi.log.checkpoint import Checkpoint
from saksi.log.merkle import leaf_hash
from saksi.log.note import NoteSigner, sign_note
from saksi.log.tree import Tree
from saksi.witness.cosignature import CosignerKey
from support import run_saksi

ORIGIN = "saksi.local/http-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def _serving(folder: Path) -> Iterator[str]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "saksi", "witness", "serve", str(folder), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                assert server.poll() is None, "the witness server exited"
                assert time.monotonic() < deadline, "the witness server did not start"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=20)


def _request(tree: Tree, signer: NoteSigner, old: int) -> tuple[bytes, str]:
    text = Checkpoint(ORIGIN, tree.size, tree.root()).text()
    proof = tree.consistency_proof(old, tree.size) if 0 < old < tree.size else []
    lines = "".join(f"{base64.b64encode(p).decode()}\n" for p in proof)
    return f"old {old}\n{lines}\n{sign_note(text, [signer])}".encode(), text


def test_witness_server_cosigns_refuses_and_remembers(tmp_path: Path) -> None:
    folder = tmp_path / "w1"
    key = CosignerKey.parse(run_saksi("witness", "init", folder, "--name", "w1.example").stdout)
    signer = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    run_saksi("witness", "add-log", folder, signer.verifier.vkey())
    assert run_saksi("witness", "vkey", folder).stdout.strip() == key.vkey()
    tree = Tree()
    for i in range(40):
        tree.append(leaf_hash(str(i).encode()))
    with _serving(folder) as url:
        body, text = _request(tree, signer, 0)
        reply = httpx.post(f"{url}/add-checkpoint", content=body, timeout=10)
        assert reply.status_code == 200
        assert key.verify(text, reply.text.rstrip("\n")) is not None
        stale = httpx.post(f"{url}/add-checkpoint", content=body, timeout=10)
        assert (stale.status_code, stale.text) == (409, "40\n")
        assert stale.headers["content-type"].startswith("text/x.tlog.size")
        huge = httpx.post(f"{url}/add-checkpoint", content=b"x" * 70_000, timeout=10)
        assert huge.status_code == 413
    for i in range(40, 50):
        tree.append(leaf_hash(str(i).encode()))
    with _serving(folder) as url:  # a restarted witness remembers size 40
        body, text = _request(tree, signer, 40)
        reply = httpx.post(f"{url}/add-checkpoint", content=body, timeout=10)
        assert reply.status_code == 200
        assert key.verify(text, reply.text.rstrip("\n")) is not None
