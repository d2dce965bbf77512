"""add-checkpoint with two witnesses: honest extensions are cosigned, forks never."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from saksi.log.checkpoint import Checkpoint
from saksi.log.merkle import leaf_hash
from saksi.log.note import NoteSigner, sign_note
from saksi.log.tree import EMPTY_ROOT, Tree
from saksi.witness.core import Witness
from saksi.witness.cosignature import Cosigner, CosignerKey

ORIGIN = "saksi.local/e1"


class Log:
    def __init__(self, signer: NoteSigner, prefix: bytes = b"") -> None:
        self.signer = signer
        self.tree = Tree()
        self.prefix = prefix

    def grow(self, count: int) -> None:
        for _ in range(count):
            self.tree.append(leaf_hash(self.prefix + str(self.tree.size).encode()))

    def note(self, size: int | None = None, signer: NoteSigner | None = None) -> str:
        size = self.tree.size if size is None else size
        checkpoint = Checkpoint(ORIGIN, size, self.tree.root(size))
        return sign_note(checkpoint.text(), [signer or self.signer])

    def request(self, old: int, size: int | None = None, proof: list[bytes] | None = None) -> bytes:
        size = self.tree.size if size is None else size
        if proof is None:
            proof = self.tree.consistency_proof(old, size) if 0 < old < size else []
        lines = [f"old {old}", *(base64.b64encode(p).decode() for p in proof)]
        return ("\n".join(lines) + "\n\n" + self.note(size)).encode()


@pytest.fixture
def log() -> Log:
    return Log(NoteSigner(ORIGIN, Ed25519PrivateKey.generate()))


def _witness(name: str, log: Log, state: Path) -> Witness:
    return Witness(
        Cosigner(name, Ed25519PrivateKey.generate()),
        {ORIGIN: [log.signer.verifier]},
        state,
        clock=lambda: 1_700_000_000,
    )


def _cosigned(key: CosignerKey, reply_body: bytes, note: str) -> int | None:
    text = note.split("\n\n")[0] + "\n"
    return key.verify(text, reply_body.decode().rstrip("\n"))


def test_two_witnesses_cosign_an_honest_extension(log: Log, tmp_path: Path) -> None:
    witnesses = [_witness(f"w{i}.example", log, tmp_path / f"w{i}.json") for i in (1, 2)]
    log.grow(10)
    for witness in witnesses:
        reply = witness.add_checkpoint(log.request(0))
        assert reply.status == 200
        assert _cosigned(witness.cosigner.key, reply.body, log.note()) == 1_700_000_000
    log.grow(17)
    for witness in witnesses:
        reply = witness.add_checkpoint(log.request(10))
        assert reply.status == 200
        assert _cosigned(witness.cosigner.key, reply.body, log.note()) is not None
        other = witnesses[0] if witness is witnesses[1] else witnesses[1]
        assert _cosigned(other.cosigner.key, reply.body, log.note()) is None


def test_a_fork_gets_no_cosignature(log: Log, tmp_path: Path) -> None:
    witness = _witness("w1.example", log, tmp_path / "w1.json")
    log.grow(8)
    assert witness.add_checkpoint(log.request(0)).status == 200
    fork = Log(log.signer, prefix=b"forked")  # the same key signs another history
    fork.grow(8)
    same_size = witness.add_checkpoint(fork.request(8, proof=[]))
    assert same_size.status == 422
    fork.grow(4)
    longer = witness.add_checkpoint(fork.request(8))
    assert longer.status == 422
    assert witness.state[ORIGIN] == (8, log.tree.root(8))


def test_stale_size_bad_proof_unknown_log_and_bad_signature(log: Log, tmp_path: Path) -> None:
    witness = _witness("w1.example", log, tmp_path / "w1.json")
    log.grow(5)
    assert witness.add_checkpoint(log.request(0)).status == 200
    log.grow(5)
    stale = witness.add_checkpoint(log.request(3))
    assert (stale.status, stale.content_type, stale.body) == (409, "text/x.tlog.size", b"5\n")
    proof = log.tree.consistency_proof(5, 10)
    bent = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
    assert witness.add_checkpoint(log.request(5, proof=bent)).status == 422
    stranger = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    unsigned = log.request(5).replace(log.note().encode(), log.note(signer=stranger).encode())
    assert witness.add_checkpoint(unsigned).status == 403
    other = Log(NoteSigner("other.example/log", Ed25519PrivateKey.generate()))
    other.grow(1)
    note = sign_note(Checkpoint("other.example/log", 1, other.tree.root()).text(), [other.signer])
    assert witness.add_checkpoint(f"old 0\n\n{note}".encode()).status == 404
    assert witness.add_checkpoint(b"nonsense").status == 400
    assert witness.add_checkpoint(log.request(11, size=10, proof=[])).status == 400
    assert witness.state[ORIGIN][0] == 5  # nothing above changed it
    assert witness.add_checkpoint(log.request(5)).status == 200


def test_state_survives_a_restart(log: Log, tmp_path: Path) -> None:
    state = tmp_path / "w1.json"
    first = _witness("w1.example", log, state)
    log.grow(7)
    assert first.add_checkpoint(log.request(0)).status == 200
    again = Witness(first.cosigner, {ORIGIN: [log.signer.verifier]}, state)
    assert again.state[ORIGIN] == (7, log.tree.root(7))
    stale = again.add_checkpoint(log.request(0))
    assert (stale.status, stale.body) == (409, b"7\n")


def test_an_empty_checkpoint_needs_the_empty_root(log: Log, tmp_path: Path) -> None:
    witness = _witness("w1.example", log, tmp_path / "w1.json")
    good = sign_note(Checkpoint(ORIGIN, 0, EMPTY_ROOT).text(), [log.signer])
    assert witness.add_checkpoint(f"old 0\n\n{good}".encode()).status == 200
    bad = sign_note(Checkpoint(ORIGIN, 0, b"\x01" * 32).text(), [log.signer])
    assert witness.add_checkpoint(f"old 0\n\n{bad}".encode()).status == 422


def test_cosigner_vkey_round_trip(tmp_path: Path) -> None:
    key = Cosigner("w1.example", Ed25519PrivateKey.generate()).key
    assert CosignerKey.parse(key.vkey()) == key
