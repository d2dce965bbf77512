"""Checks 1 and 2: the checkpoint's signature and cosignatures against the trust policy,
then the root and every hash tile recomputed from the entry bundles."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from saksi.log.checkpoint import Checkpoint
from saksi.log.merkle import CompactRange, node_hash
from saksi.log.note import NoteError, open_note
from saksi.log.tiles import TILE_WIDTH, bundle_path, tile_path, tiles_at
from saksi.verify.report import Failure, Report, VerificationFailed
from saksi.verify.source import FetchError, Source
from saksi.verify.trust import Trust

__all__ = ["SignedCheckpoint", "bundle_names", "check_checkpoint", "check_tree", "entries"]


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    note: bytes
    witnesses: tuple[str, ...]  # names of trusted witnesses whose cosignature verified


def check_checkpoint(source: Source, trust: Trust, report: Report) -> SignedCheckpoint:
    note = source.fetch("log/checkpoint")
    if note is None:
        raise FetchError(f"{source.location} has no log/checkpoint")
    try:
        text, _ = open_note(note, [trust.log])
        checkpoint = Checkpoint.parse(text)
    except (NoteError, ValueError) as exc:
        raise VerificationFailed(
            Failure(
                "checkpoint",
                f"the checkpoint does not verify with the trusted log key: {exc}",
                file="log/checkpoint",
            )
        ) from exc
    lines = note.decode("utf-8", "replace").split("\n\n", 1)[-1].splitlines()
    seen = tuple(
        key.name for key in trust.witnesses if any(key.verify(text, ln) is not None for ln in lines)
    )
    if len(seen) < trust.quorum:
        report.fail(
            Failure(
                "witnesses",
                f"too few trusted witnesses cosigned checkpoint {checkpoint.size}: the policy "
                f"needs {trust.quorum} of {len(trust.witnesses)}",
                file="log/checkpoint",
                expected=trust.quorum,
                found=list(seen),
            )
        )
    report.size, report.witnesses = checkpoint.size, list(seen)
    return SignedCheckpoint(checkpoint, note, seen)


def bundle_names(size: int) -> list[str]:
    full, rest = divmod(size, TILE_WIDTH)
    names = [bundle_path(i) for i in range(full)] + ([bundle_path(full, rest)] if rest else [])
    return [f"log/{name}" for name in names]


def entries(bundles: Sequence[Path], size: int) -> Iterator[bytes]:
    """Every entry of the log, read from ``bundles``, the files bundle_names(size) names."""
    for number, path in enumerate(bundles):
        data = path.read_bytes()
        width = min(TILE_WIDTH, size - number * TILE_WIDTH)
        pos = count = 0
        while pos < len(data) and count < width:
            length = int.from_bytes(data[pos : pos + 2], "big")
            entry = data[pos + 2 : pos + 2 + length]
            if length == 0 or len(entry) != length:
                break
            yield entry
            pos += 2 + length
            count += 1
        if count != width or pos != len(data):
            raise VerificationFailed(
                Failure(
                    "bundle",
                    "entry bundle holds a malformed or wrong number of entries",
                    file=bundle_names(size)[number],
                    expected=width,
                    found=count,
                )
            )


def check_tree(
    source: Source, signed: SignedCheckpoint, report: Report, old_size: int | None = None
) -> bytes | None:
    """Fetch every tile and bundle of the checkpoint's tree, recompute the root from the
    entries and every hash tile from the leaves; a mismatch stops the verification.
    Returns the root of the first ``old_size`` entries, for monitor mode."""
    size = signed.checkpoint.size
    names = [f"log/{tile_path(*t)}" for t in tiles_at(size)] + bundle_names(size)
    missing = source.ensure(((n, None) for n in names), "log tiles and bundles")
    if missing:
        raise VerificationFailed(
            Failure("tiles", f"{len(missing)} tile or bundle file(s) are missing", file=missing[0])
        )
    level_hashes: list[list[bytes]] = [[]]
    compact = CompactRange()
    old_root = compact.root() if old_size == 0 else None
    for entry in entries([source.path(n) for n in bundle_names(size)], size):
        leaf = hashlib.sha256(b"\x00" + entry).digest()
        compact.append(leaf)
        level_hashes[0].append(leaf)
        if compact.size == old_size:
            old_root = compact.root()
    root = compact.root()
    if root != signed.checkpoint.root:
        raise VerificationFailed(
            Failure(
                "root",
                "the root recomputed from the entry bundles differs from the signed checkpoint",
                file="log/checkpoint",
                expected=signed.checkpoint.root.hex(),
                found=root.hex(),
            )
        )
    # Tile level L holds the roots of complete subtrees of 256^L leaves.
    while len(level_hashes[-1]) >= TILE_WIDTH:
        below = level_hashes[-1]
        level_hashes.append(
            [
                _subtree(below[i : i + TILE_WIDTH])
                for i in range(0, len(below) - TILE_WIDTH + 1, TILE_WIDTH)
            ]
        )
    for level, index, width in tiles_at(size):
        name = f"log/{tile_path(level, index, width)}"
        want = b"".join(level_hashes[level][index * TILE_WIDTH : index * TILE_WIDTH + width])
        if source.path(name).read_bytes() != want:
            report.fail(
                Failure("tiles", "hash tile differs from the hashes of the entries", file=name)
            )
    report.root = base64.b64encode(root).decode()
    report.entries_checked = size
    return old_root


def _subtree(hashes: list[bytes]) -> bytes:
    while len(hashes) > 1:
        hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
    return hashes[0]
