"""Inclusion and consistency proofs for a published log, read from its record."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from saksi.errors import SaksiError
from saksi.log.merkle import leaf_hash, verify_inclusion
from saksi.log.record import Record
from saksi.log.tree import Tree

__all__ = ["inclusion_receipt", "receipt_from_tree", "tree_of"]


def tree_of(record: Record, size: int) -> Tree:
    """The Merkle tree of the record's first ``size`` entries."""
    if size > len(record):
        raise SaksiError(f"the record holds {len(record)} entries, fewer than {size}")
    tree = Tree()
    for index, data in enumerate(record.iter_from(0)):
        if index == size:
            break
        tree.append(leaf_hash(data))
    return tree


def inclusion_receipt(
    record: Record, checkpoint_note: bytes, size: int, index: int
) -> dict[str, Any]:
    """Everything a TPS officer keeps: the entry, its leaf index, the proof, the checkpoint."""
    if index >= size:
        raise SaksiError(
            f"entry {index} is not yet in a signed checkpoint (size {size}); "
            "publish the log first ('saksi log publish')"
        )
    return receipt_from_tree(tree_of(record, size), record[index], index, size, checkpoint_note)


def receipt_from_tree(
    tree: Tree, entry: bytes, index: int, size: int, checkpoint_note: bytes
) -> dict[str, Any]:
    """The receipt of entry ``index`` from a tree holding at least ``size`` leaves."""
    proof = tree.inclusion_proof(index, size)
    root = tree.root(size)
    if not verify_inclusion(leaf_hash(entry), index, size, proof, root):
        raise SaksiError(f"entry {index} does not match the log's tree; the record is damaged")
    return {
        "leaf_index": index,
        "entry_hash": hashlib.sha256(entry).hexdigest(),
        "tree_size": size,
        "root": base64.b64encode(root).decode(),
        "inclusion_proof": [base64.b64encode(p).decode() for p in proof],
        "checkpoint": checkpoint_note.decode(),
        "entry": base64.b64encode(entry).decode(),
    }
