"""C2SP tlog-proof: the text format, its strict parser, and verification."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saksi.errors import SaksiError
from saksi.keys.ed25519 import SigningKey
from saksi.log.checkpoint import Checkpoint
from saksi.log.merkle import leaf_hash
from saksi.log.note import NoteError, NoteSigner, sign_note
from saksi.log.tlog_proof import HEADER, TlogProof, parse_tlog_proof
from saksi.log.tree import Tree

ENTRIES = [f"entry {i}".encode() for i in range(13)]


def _signed(signer: NoteSigner) -> tuple[Tree, str]:
    tree = Tree()
    for data in ENTRIES:
        tree.append(leaf_hash(data))
    size = len(ENTRIES)
    return tree, sign_note(Checkpoint("example.org/log", size, tree.root(size)).text(), [signer])


@pytest.fixture
def signer() -> NoteSigner:
    return NoteSigner("example.org/log", SigningKey.generate().private)


@pytest.mark.parametrize("index", [0, 6, 12])
def test_a_proof_round_trips_and_verifies(signer: NoteSigner, index: int) -> None:
    tree, note = _signed(signer)
    proof = TlogProof(ENTRIES[index], index, tree.inclusion_proof(index, len(ENTRIES)), note)
    parsed = parse_tlog_proof(proof.text())
    assert parsed == proof
    assert parsed.verify([signer.verifier]).size == len(ENTRIES)
    # Without extra data the entry comes from elsewhere; the text has no extra line.
    bare = TlogProof(None, index, proof.proof, note)
    assert "\nextra " not in bare.text()
    assert parse_tlog_proof(bare.text()).verify([signer.verifier], ENTRIES[index])


def test_a_wrong_entry_index_or_hash_is_refused(signer: NoteSigner) -> None:
    tree, note = _signed(signer)
    proof = TlogProof(ENTRIES[5], 5, tree.inclusion_proof(5, len(ENTRIES)), note)
    with pytest.raises(SaksiError, match="does not place this entry at index 5"):
        proof.verify([signer.verifier], ENTRIES[4])
    with pytest.raises(SaksiError, match="at index 4"):
        TlogProof(ENTRIES[5], 4, proof.proof, note).verify([signer.verifier])
    flipped = [bytes([proof.proof[0][0] ^ 1]) + proof.proof[0][1:], *proof.proof[1:]]
    with pytest.raises(SaksiError, match="does not place"):
        TlogProof(ENTRIES[5], 5, flipped, note).verify([signer.verifier])
    with pytest.raises(SaksiError, match="carries no entry"):
        TlogProof(None, 5, proof.proof, note).verify([signer.verifier])


def test_a_checkpoint_signed_by_another_key_is_refused(signer: NoteSigner) -> None:
    tree, note = _signed(signer)
    other = NoteSigner("example.org/log", SigningKey.generate().private)
    proof = TlogProof(ENTRIES[1], 1, tree.inclusion_proof(1, len(ENTRIES)), note)
    with pytest.raises(NoteError):
        proof.verify([other.verifier])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("c2sp.org/tlog-proof@v2\nindex 1\n\nx", "must start with"),
        ("c2sp.org/tlog-proof@v1\nindex 1\n", "must start with"),
        ("c2sp.org/tlog-proof@v1\nindex 01\n\nx", "no leading zeros"),
        ("c2sp.org/tlog-proof@v1\nindex -1\n\nx", "no leading zeros"),
        ("c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\nx", "bad base64"),
        ("c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\nx", "one base64 SHA-256 hash"),
        ("c2sp.org/tlog-proof@v1\nextra AA==\n\nx", "expected 'index N'"),
    ],
)
def test_malformed_proofs_get_a_specific_error(text: str, message: str) -> None:
    with pytest.raises(SaksiError, match=message):
        parse_tlog_proof(text)


_LINES = st.lists(
    st.one_of(
        st.sampled_from(["index 0", "index 7", "", "extra AAEC"]),
        st.binary(min_size=32, max_size=32).map(lambda h: base64.b64encode(h).decode()),
        st.text(max_size=20),
    ),
    max_size=8,
)


@given(st.one_of(st.text(max_size=300), _LINES.map(lambda ls: "\n".join([HEADER, *ls]))))
def test_the_parser_fails_only_with_its_own_error(text: str) -> None:
    try:
        parsed = parse_tlog_proof(text)
    except SaksiError:
        return
    assert parse_tlog_proof(parsed.text()) == parsed  # what it accepts, it writes back
