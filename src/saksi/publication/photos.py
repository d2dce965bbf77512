"""photos/AB/SHA256: form photos under their hash, and photos/list/NNNNNN.txt, the list
of published photos ("<sha256> <bytes>" per line) in chunks of LIST_CHUNK lines.

A full chunk never changes, so the index stays small however many photos there are,
and a mirror lists every photo through the chunks the index names.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

from saksi.errors import SaksiError
from saksi.publication.files import PublicFiles

__all__ = ["LIST_CHUNK", "PhotoPublisher"]

LIST_CHUNK = 4096
_HASH = re.compile(r"^[0-9a-f]{64}$")


def _chunk_path(number: int) -> str:
    return f"photos/list/{number:06d}.txt"


class PhotoPublisher:
    def __init__(self, photos_dir: Path, files: PublicFiles) -> None:
        self.source = photos_dir
        self.public = files.root
        self.lines: list[str] = []
        for path in sorted(p for p in files.listed if p.startswith("photos/list/")):
            self.lines += (files.root / path).read_text(encoding="ascii").splitlines()
        self.known = {line.split(" ", 1)[0] for line in self.lines}

    def write(self, files: PublicFiles) -> int:
        """Publish photos stored since the last call; returns how many."""
        new: list[str] = []
        if self.source.is_dir():
            for folder in sorted(self.source.iterdir()):
                if not folder.is_dir():
                    continue
                for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                    if _HASH.fullmatch(entry.name) and entry.name not in self.known:
                        new.append(self._publish(Path(entry.path), entry.name))
        if not new:
            return 0
        first_chunk = len(self.lines) // LIST_CHUNK
        self.lines += new
        self.known.update(line.split(" ", 1)[0] for line in new)
        for number in range(first_chunk, (len(self.lines) - 1) // LIST_CHUNK + 1):
            chunk = self.lines[number * LIST_CHUNK : (number + 1) * LIST_CHUNK]
            files.put(_chunk_path(number), "".join(f"{x}\n" for x in chunk).encode(), None)
        return len(new)

    def _publish(self, path: Path, digest: str) -> str:
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise SaksiError(f"photo {path} does not hash to its name; the photo store is damaged")
        target = self.public / "photos" / digest[:2] / digest
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            try:
                os.link(path, target)  # photos never change: share the bytes
            except OSError:
                shutil.copyfile(path, target)
        return f"{digest} {len(data)}"
