"""`saksi witness serve` on loopback: a real server, a real HTTP client, a restart."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from saksi.log.checkpoint import Checkpoint
from saksi.log.merkle import leaf_hash
from saksi.log.note import NoteSigner, NoteVerifier, sign_note
from saksi.log.tree import Tree
from saksi.witness.cosignature import CosignerKey
from support import free_port, run_saksi, serving_witness

ORIGIN = "saksi.local/http-test"


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
    with serving_witness(folder) as url:
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
    with serving_witness(folder) as url:  # a restarted witness remembers size 40
        body, text = _request(tree, signer, 40)
        reply = httpx.post(f"{url}/add-checkpoint", content=body, timeout=10)
        assert reply.status_code == 200
        assert key.verify(text, reply.text.rstrip("\n")) is not None


def test_the_log_pushes_checkpoints_and_publishes_cosignatures(tmp_path: Path) -> None:
    from saksi.election.election import Election
    from saksi.log.note import open_note
    from saksi.manifest.load import load_manifest
    from saksi.registry.pemilu2019 import read_pemilu2019

    repo = Path(__file__).resolve().parents[2]
    header = "tps_id,provinsi,kabupaten_kota,kecamatan,desa_kelurahan,desa_id,tps_no,dpt\n"
    (tmp_path / "tps.csv").write_text(header + "1-001,BALI,A,B,C,1,1,200\n2-001,BALI,A,B,D,2,1,9\n")
    manifest = load_manifest(repo / "src" / "saksi" / "examples" / "pemilu2019.toml")
    folder = tmp_path / "e"
    with Election.create(folder, manifest) as election:
        log_vkey = election.log_signer().verifier.vkey()
    keys = []
    for name in ("w1", "w2"):
        out = run_saksi("witness", "init", tmp_path / name, "--name", f"{name}.example").stdout
        keys.append(out.strip())
        run_saksi("witness", "add-log", tmp_path / name, log_vkey)
    down = free_port()  # nothing listens here yet: w2 is down at first
    with serving_witness(tmp_path / "w1") as url1:
        config = folder / "saksi.toml"
        config.write_text(
            config.read_text()
            + f'[[log.witness]]\nurl = "{url1}"\nvkey = "{keys[0]}"\n'
            + f'[[log.witness]]\nurl = "http://127.0.0.1:{down}"\nvkey = "{keys[1]}"\n'
        )
        with Election.open(folder) as election:
            election.import_registry(read_pemilu2019(tmp_path / "tps.csv"))
            election.publish_log()
        note = (folder / "public" / "log" / "checkpoint").read_text()
        text = note.split("\n\n")[0] + "\n"
        cosigned = [
            k
            for k in map(CosignerKey.parse, keys)
            if any(k.verify(text, line) is not None for line in note.splitlines())
        ]
        assert [k.name for k in cosigned] == ["w1.example"]  # w2 was down
        size = text.splitlines()[1]
        status = run_saksi("log", "status", folder).stdout
        assert f"witness    w1.example at {url1}: cosigned this checkpoint; " in status
        assert f"last cosigned size {size}" in status
        assert "witness    w2.example at http://127.0.0.1:" in status
        assert "no cosignature on this checkpoint; last cosigned size none" in status
        open_note(note.encode(), [NoteVerifier.parse(log_vkey)])  # the log's own signature
        with serving_witness(tmp_path / "w2", port=down):
            (tmp_path / "more.csv").write_text(header + "3-001,BALI,A,B,E,3,1,50\n")
            with Election.open(folder) as election:
                election.import_registry(read_pemilu2019(tmp_path / "more.csv"))
                checkpoint = election.publish_log()
            note = (folder / "public" / "log" / "checkpoint").read_text()
            text = note.split("\n\n")[0] + "\n"
            assert text.splitlines()[1] == str(checkpoint.size)
            both = [
                k.name
                for k in map(CosignerKey.parse, keys)
                if any(k.verify(text, line) is not None for line in note.splitlines())
            ]
            assert both == ["w1.example", "w2.example"]
            status = run_saksi("log", "status", folder).stdout
            assert status.count("cosigned this checkpoint") == 2
            assert "no cosignature" not in status
