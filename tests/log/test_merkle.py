"""RFC 6962 hashing and proofs against the shared vectors and against an independent model."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SHARED
from saksi.log.merkle import (
    CompactRange,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

VECTORS = SHARED / "testvectors" / "merkle"


def _cases(kind: str) -> list[tuple[str, dict[str, Any]]]:
    files = sorted((VECTORS / kind).rglob("*.json"))
    return [(str(f.relative_to(VECTORS)), json.loads(f.read_text())) for f in files]


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def test_the_vectors_are_there() -> None:
    assert len(_cases("inclusion")) > 50
    assert len(_cases("consistency")) > 50


@pytest.mark.parametrize(("name", "case"), _cases("inclusion"))
def test_inclusion_vector(name: str, case: dict[str, Any]) -> None:
    ok = verify_inclusion(
        _b64(case["leafHash"]),
        case["leafIdx"],
        case["treeSize"],
        [_b64(p) for p in case["proof"] or []],
        _b64(case["root"]),
    )
    assert ok is not case["wantErr"], case["desc"]


@pytest.mark.parametrize(("name", "case"), _cases("consistency"))
def test_consistency_vector(name: str, case: dict[str, Any]) -> None:
    ok = verify_consistency(
        case["size1"],
        case["size2"],
        _b64(case["root1"]),
        _b64(case["root2"]),
        [_b64(p) for p in case["proof"] or []],
    )
    assert ok is not case["wantErr"], case["desc"]


def test_known_roots_from_rfc_6962_hashing() -> None:
    # Written out from the definitions: MTH({}) = SHA-256(), MTH({d}) = SHA-256(0x00 || d).
    assert root_of([]) == hashlib.sha256(b"").digest()
    one = hashlib.sha256(b"\x00abc").digest()
    assert root_of([leaf_hash(b"abc")]) == one
    two = hashlib.sha256(b"\x01" + one + hashlib.sha256(b"\x00def").digest()).digest()
    assert root_of([leaf_hash(b"abc"), leaf_hash(b"def")]) == two


def _model_root(leaves: list[bytes]) -> bytes:
    """MTH straight from RFC 6962 section 2.1, recursively."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(_model_root(leaves[:k]), _model_root(leaves[k:]))


leaf_lists = st.lists(st.binary(max_size=8), min_size=1, max_size=70, unique=True).map(
    lambda entries: [leaf_hash(e) for e in entries]
)


@settings(max_examples=150, deadline=None)
@given(leaf_lists)
def test_compact_range_matches_the_recursive_definition(leaves: list[bytes]) -> None:
    compact = CompactRange()
    for size, leaf in enumerate(leaves, start=1):
        compact.append(leaf)
        assert compact.root() == _model_root(leaves[:size])


@settings(max_examples=150, deadline=None)
@given(leaf_lists, st.data())
def test_inclusion_proofs_verify_and_tampering_fails(leaves: list[bytes], data: Any) -> None:
    size = data.draw(st.integers(1, len(leaves)))
    index = data.draw(st.integers(0, size - 1))
    root = root_of(leaves[:size])
    proof = inclusion_proof(leaves, index, size)
    assert verify_inclusion(leaves[index], index, size, proof, root)
    if size > 1:
        assert not verify_inclusion(leaves[index], (index + 1) % size, size, proof, root)
    assert not verify_inclusion(leaf_hash(b"other"), index, size, proof, root)
    if proof:
        bent = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
        assert not verify_inclusion(leaves[index], index, size, bent, root)
        assert not verify_inclusion(leaves[index], index, size, proof[:-1], root)


@settings(max_examples=150, deadline=None)
@given(leaf_lists, st.data())
def test_consistency_proofs_verify_and_forks_fail(leaves: list[bytes], data: Any) -> None:
    new = data.draw(st.integers(1, len(leaves)))
    old = data.draw(st.integers(1, new))
    old_root, new_root = root_of(leaves[:old]), root_of(leaves[:new])
    proof = consistency_proof(leaves, old, new)
    assert verify_consistency(old, new, old_root, new_root, proof)
    assert not verify_consistency(0, new, root_of([]), new_root, [])
    if old < new:
        forked = [*leaves[: old - 1], leaf_hash(b"forked"), *leaves[old:new]]
        assert not verify_consistency(old, new, root_of(forked[:old]), new_root, proof)
        assert not verify_consistency(old, new, old_root, root_of(forked), proof)
        assert not verify_consistency(old, new, old_root, new_root, proof[:-1])
