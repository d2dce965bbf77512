"""Writing published files: each atomically, hashed as written, synced all at once."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from saksi.log.publish import write_atomically
from saksi.publication.index import PublishedFile

__all__ = ["PublicFiles"]


class PublicFiles:
    """The files of public/ (outside log/) as the last index listed them, plus new writes."""

    def __init__(self, root: Path, listed: dict[str, PublishedFile]) -> None:
        self.root = root
        self.listed = dict(listed)
        self.unsynced = False
        self._dirs: set[Path] = set()

    def put(self, path: str, data: bytes, log_size: int | None) -> None:
        target = self.root / path
        if path in self.listed:
            write_atomically(target, data, sync=False)  # readers may be fetching it now
        else:
            # No index names it yet, so no reader looks for it: write it in place and
            # save the rename (a national publication creates 400,000 files).
            if target.parent not in self._dirs:
                target.parent.mkdir(parents=True, exist_ok=True)
                self._dirs.add(target.parent)
            target.write_bytes(data)
        self.listed[path] = PublishedFile(
            path, hashlib.sha256(data).hexdigest(), len(data), log_size
        )
        self.unsynced = True

    def put_unless_same(self, path: str, make: Callable[[int], bytes], log_size: int) -> bool:
        """Write ``make(log_size)`` unless the listed file, made at its own log_size, is
        what ``make`` gives again: figures that did not change keep the size they were
        first published at. Returns whether it wrote."""
        prior = self.listed.get(path)
        if (
            prior is not None
            and prior.log_size is not None
            and prior.log_size != log_size
            and hashlib.sha256(make(prior.log_size)).hexdigest() == prior.sha256
        ):
            return False
        self.put(path, make(log_size), log_size)
        return True

    def put_from(self, path: str, produce: Callable[[Path], object], log_size: int) -> None:
        """Let ``produce`` write the file (an export), then publish it atomically."""
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        produce(tmp)
        digest = hashlib.sha256()
        with tmp.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        os.replace(tmp, target)
        self.listed[path] = PublishedFile(path, digest.hexdigest(), target.stat().st_size, log_size)
        self.unsynced = True

    def sync(self) -> None:
        if self.unsynced:
            os.sync()  # every file is on disk before the index names it
            self.unsynced = False
