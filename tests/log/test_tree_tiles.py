"""The in-memory tree and its tiles against the list-based RFC 6962 functions and the spec."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saksi.log.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from saksi.log.tiles import bundle_path, encode_index, tile_bytes, tile_path, tiles_at
from saksi.log.tree import Tree

leaves_strategy = st.integers(1, 600).map(lambda n: [leaf_hash(str(i).encode()) for i in range(n)])


def _tree(leaves: list[bytes]) -> Tree:
    tree = Tree()
    for leaf in leaves:
        tree.append(leaf)
    return tree


@settings(max_examples=60, deadline=None)
@given(leaves_strategy, st.data())
def test_tree_roots_and_proofs_equal_the_rfc_definitions(leaves: list[bytes], data: Any) -> None:
    tree = _tree(leaves)
    size = data.draw(st.integers(1, len(leaves)))
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(1, size))
    assert tree.root(size) == root_of(leaves[:size])
    assert tree.inclusion_proof(index, size) == inclusion_proof(leaves, index, size)
    assert tree.consistency_proof(old, size) == consistency_proof(leaves, old, size)
    assert verify_inclusion(
        leaves[index], index, size, tree.inclusion_proof(index, size), tree.root(size)
    )
    assert verify_consistency(
        old, size, tree.root(old), tree.root(size), tree.consistency_proof(old, size)
    )


def test_tile_paths_follow_the_spec() -> None:
    assert encode_index(1234067) == "x001/x234/067"  # the spec's example
    assert encode_index(0) == "000"
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tile_path(2, 5, 17) == "tile/2/005.p/17"
    assert bundle_path(1000, 3) == "tile/entries/x001/000.p/3"
    with pytest.raises(ValueError, match="width"):
        tile_path(0, 0, 0)
    with pytest.raises(ValueError, match="level"):
        tile_path(64, 0)


def test_the_spec_examples_of_which_tiles_a_tree_has() -> None:
    tiles = tiles_at(70_000)
    full = [(level, index) for level, index, width in tiles if width == 256]
    partial = [(level, index, width) for level, index, width in tiles if width != 256]
    assert sum(1 for level, _ in full if level == 0) == 273
    assert [level for level, _ in full if level > 0] == [1]
    assert partial == [(0, 273, 112), (1, 1, 17), (2, 0, 1)]
    assert tiles_at(256) == [(0, 0, 256), (1, 0, 1)]
    assert tiles_at(0) == []


def test_tile_hashes_are_the_merkle_hashes_the_spec_defines() -> None:
    leaves = [leaf_hash(str(i).encode()) for i in range(256 * 3 + 5)]
    tree = _tree(leaves)
    for level, index, width in tiles_at(tree.size):
        data = tile_bytes(tree, level, index, width)
        span = 256**level
        for i in range(width):
            first = (index * 256 + i) * span
            # MTH(D[(n*256+i)*256**l : (n*256+i+1)*256**l]) from tlog-tiles.
            assert data[32 * i : 32 * i + 32] == root_of(leaves[first : first + span])
    with pytest.raises(ValueError, match="does not cover"):
        tile_bytes(tree, 0, 3, 6)
