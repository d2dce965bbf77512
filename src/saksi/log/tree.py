"""The log's Merkle tree in memory: every complete subtree hash, level by level.

``level k`` holds MTH(D[i * 2**k : (i + 1) * 2**k]) for each complete subtree, so tiles
(tlog-tiles: tile level l is binary level 8l) and any RFC 6962 proof for any size read
straight from it. 32 bytes a leaf, about twice that in all.
"""

from __future__ import annotations

import hashlib

from saksi.log.merkle import HASH_SIZE, node_hash

__all__ = ["EMPTY_ROOT", "Tree"]

EMPTY_ROOT = hashlib.sha256(b"").digest()


class Tree:
    def __init__(self) -> None:
        self.levels: list[bytearray] = [bytearray()]

    @property
    def size(self) -> int:
        return len(self.levels[0]) // HASH_SIZE

    def hash(self, level: int, index: int) -> bytes:
        """The complete subtree of 2**level leaves starting at leaf index * 2**level."""
        start = index * HASH_SIZE
        return bytes(self.levels[level][start : start + HASH_SIZE])

    def append(self, leaf: bytes) -> int:
        """Add a leaf hash; returns its index."""
        index = self.size
        self.levels[0] += leaf
        level, position, node = 0, index, leaf
        while position & 1:  # a right child completes its parent
            node = node_hash(self.hash(level, position - 1), node)
            level += 1
            position >>= 1
            if len(self.levels) == level:
                self.levels.append(bytearray())
            self.levels[level] += node
        return index

    def subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a range that the RFC 6962 recursion produces."""
        width = end - start
        if width & (width - 1) == 0 and start % width == 0:
            return self.hash(width.bit_length() - 1, start // width)
        split = 1 << ((width - 1).bit_length() - 1)
        return node_hash(self.subtree(start, start + split), self.subtree(start + split, end))

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise ValueError(f"the tree has {self.size} leaves, not {size}")
        if size == 0:
            return EMPTY_ROOT
        return self.subtree(0, size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        if not 0 <= index < size <= self.size:
            raise ValueError(f"no leaf {index} in a tree of size {size}")
        proof: list[bytes] = []
        start, end = 0, size
        while end - start > 1:
            split = 1 << ((end - start - 1).bit_length() - 1)
            if index < start + split:
                proof.append(self.subtree(start + split, end))
                end = start + split
            else:
                proof.append(self.subtree(start, start + split))
                start += split
        proof.reverse()  # RFC 6962 lists the path from the leaf upwards
        return proof

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        if not 0 < old <= new <= self.size:
            raise ValueError(f"no consistency proof from size {old} to {new}")
        proof: list[bytes] = []
        start, end, whole = 0, new, True
        while True:
            if old - start == end - start:
                if not whole:
                    proof.append(self.subtree(start, end))
                break
            split = 1 << ((end - start - 1).bit_length() - 1)
            if old - start <= split:
                proof.append(self.subtree(start + split, end))
                end = start + split
            else:
                proof.append(self.subtree(start, start + split))
                start, whole = start + split, False
        proof.reverse()
        return proof
