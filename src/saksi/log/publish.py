"""Publish the record as a C2SP tlog-tiles log under ELECTION_DIR/public/log.

Every record entry is a leaf. Full tiles and entry bundles are immutable files; partial
ones are written for each checkpoint's size. The signed state (size and root) is saved,
fsync'd, before a checkpoint is written, and the log refuses to sign a smaller size or a
second root for a size it has signed: two checkpoints that no consistency proof joins
must never exist.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from saksi.errors import RecordError
from saksi.log.checkpoint import Checkpoint
from saksi.log.merkle import leaf_hash
from saksi.log.note import NoteSigner, sign_note
from saksi.log.record import Record
from saksi.log.tiles import TILE_WIDTH, bundle_path, tile_bytes, tile_path, tiles_at
from saksi.log.tree import Tree
from saksi.log.witnessing import WitnessEndpoint, collect_cosignatures

__all__ = ["LogPublisher", "SignedState", "write_atomically"]


def write_atomically(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Write a file so that readers see the old or the new bytes, never a torn mix.

    ``sync=False`` leaves the fsync to the caller (one ``os.sync`` for many files).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        if sync:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True, slots=True)
class SignedState:
    size: int
    root: bytes

    @classmethod
    def load(cls, path: Path) -> SignedState | None:
        if not path.exists():
            return None
        value = json.loads(path.read_text(encoding="utf-8"))
        return cls(int(value["size"]), base64.b64decode(value["root"]))

    def save(self, path: Path) -> None:
        text = json.dumps({"size": self.size, "root": base64.b64encode(self.root).decode()})
        write_atomically(path, (text + "\n").encode())
        directory = os.open(path.parent, os.O_RDONLY)  # make the rename itself durable
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


class LogPublisher:
    """Keeps the Merkle tree of a record and writes its tiles, bundles and checkpoint."""

    def __init__(
        self,
        directory: Path,
        state_path: Path,
        signer: NoteSigner,
        witnesses: Sequence[WitnessEndpoint] = (),
    ) -> None:
        self.witnesses = list(witnesses)
        self.directory = directory
        self.state_path = state_path
        self.signer = signer
        self.tree = Tree()
        self._unsynced = False

    def catch_up(self, record: Record) -> None:
        """Add a leaf for every record entry the tree lacks."""
        for data in record.iter_from(self.tree.size):
            self.tree.append(leaf_hash(data))

    def publish(self, record: Record) -> Checkpoint:
        """Write every tile and bundle for the record's size, then the signed checkpoint."""
        self.catch_up(record)
        size = self.tree.size
        root = self.tree.root(size)
        previous = SignedState.load(self.state_path)
        if previous is not None:
            if size < previous.size:
                raise RecordError(
                    f"the log signed size {previous.size} before; it will not sign the smaller "
                    f"size {size} (is the record truncated?)"
                )
            if size == previous.size and root != previous.root:
                raise RecordError(
                    f"the log signed another root for size {size}; it will not sign a fork"
                )
            if size > previous.size and self.tree.root(previous.size) != previous.root:
                raise RecordError(
                    f"the record no longer extends the signed size {previous.size}; "
                    "it will not sign a fork"
                )
        tree = self.tree
        for level, index, width in tiles_at(size):
            self._write(
                tile_path(level, index, width), partial(tile_bytes, tree, level, index, width)
            )
        for index in range((size + TILE_WIDTH - 1) // TILE_WIDTH):
            start = index * TILE_WIDTH
            end = min(start + TILE_WIDTH, size)
            self._write(bundle_path(index, end - start), partial(record.framed, start, end))
        if self._unsynced:
            os.sync()  # every tile and bundle is on disk before the checkpoint names them
            self._unsynced = False
        checkpoint = Checkpoint(self.signer.name, size, root)
        SignedState(size, root).save(self.state_path)  # before anyone can see it
        note = sign_note(checkpoint.text(), [self.signer])
        if self.witnesses:
            note += "".join(
                collect_cosignatures(
                    self.witnesses,
                    self.tree,
                    size,
                    note,
                    self.state_path.with_name("witness-sizes.json"),
                )
            )
        write_atomically(self.directory / "checkpoint", note.encode())
        return checkpoint

    def _write(self, name: str, make: Callable[[], bytes]) -> None:
        path = self.directory / name
        if path.exists():
            return  # tiles and bundles never change once written
        write_atomically(path, make(), sync=False)
        self._unsynced = True
