"""tlog-tiles resources over the in-memory tree (../shared/specs/tlog-tiles.md).

Tile level l holds binary level 8l of the tree; a full tile is 256 hashes (8,192 bytes),
a partial one ``.p/<W>`` the first W. Entry bundles reuse the record's own framing.
"""

from __future__ import annotations

from saksi.log.merkle import HASH_SIZE
from saksi.log.tree import Tree

__all__ = ["TILE_WIDTH", "bundle_path", "encode_index", "tile_bytes", "tile_path", "tiles_at"]

TILE_WIDTH = 256
TILE_HEIGHT = 8


def encode_index(index: int) -> str:
    """Zero-padded 3-digit path elements, all but the last prefixed with x."""
    if index < 0:
        raise ValueError("tile index must be non-negative")
    parts = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        parts.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(parts))


def _suffix(width: int) -> str:
    if not 1 <= width <= TILE_WIDTH:
        raise ValueError(f"tile width {width} is not 1..256")
    return "" if width == TILE_WIDTH else f".p/{width}"


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    if not 0 <= level <= 63:
        raise ValueError(f"tile level {level} is not 0..63")
    return f"tile/{level}/{encode_index(index)}{_suffix(width)}"


def bundle_path(index: int, width: int = TILE_WIDTH) -> str:
    return f"tile/entries/{encode_index(index)}{_suffix(width)}"


def tiles_at(size: int) -> list[tuple[int, int, int]]:
    """(level, index, width) of every tile a tree of ``size`` leaves is made of."""
    out: list[tuple[int, int, int]] = []
    level = 0
    while True:
        count = size // TILE_WIDTH**level  # hashes at this tile level
        if count == 0:
            break
        full, rest = divmod(count, TILE_WIDTH)
        out.extend((level, index, TILE_WIDTH) for index in range(full))
        if rest:
            out.append((level, full, rest))
        if full == 0:
            break
        level += 1
    return out


def tile_bytes(tree: Tree, level: int, index: int, width: int) -> bytes:
    """The hashes of one tile, from binary level 8 * level of the tree."""
    hashes = tree.levels[TILE_HEIGHT * level] if TILE_HEIGHT * level < len(tree.levels) else b""
    start = index * TILE_WIDTH * HASH_SIZE
    data = bytes(hashes[start : start + width * HASH_SIZE])
    if len(data) != width * HASH_SIZE:
        raise ValueError(f"the tree does not cover tile {level}/{index} of width {width}")
    return data
