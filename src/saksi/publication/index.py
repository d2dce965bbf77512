"""The publication index: every published file outside log/ with its SHA-256.

The index is canonical JSON (docs/publication.md), so its SHA-256, which a publication
entry in the log commits, is the same for every reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saksi.canonical import CanonicalError, canonical_bytes_ascii_keys, decode_canonical
from saksi.errors import SaksiError

__all__ = ["INDEX_NAME", "PublicationIndex", "PublishedFile"]

INDEX_NAME = "index.json"


@dataclass(frozen=True, slots=True)
class PublishedFile:
    path: str  # relative to public/, with forward slashes
    sha256: str
    size: int
    log_size: int | None  # the record size its figures reflect; None for photos and lists

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "sha256": self.sha256, "size": self.size}
        if self.log_size is not None:
            out["log_size"] = self.log_size
        return out


@dataclass(frozen=True, slots=True)
class PublicationIndex:
    election: str
    log_size: int
    files: dict[str, PublishedFile]

    def to_bytes(self) -> bytes:
        # Keys are ASCII, numbers integers and paths plain names: the fast path is exact.
        return canonical_bytes_ascii_keys(
            {
                "election": self.election,
                "files": [self.files[p].to_json() for p in sorted(self.files)],
                "log_size": self.log_size,
                "v": 1,
            }
        )

    @classmethod
    def load(cls, path: Path) -> PublicationIndex | None:
        if not path.exists():
            return None
        try:
            doc = decode_canonical(path.read_bytes())
            files = {
                f["path"]: PublishedFile(f["path"], f["sha256"], f["size"], f.get("log_size"))
                for f in doc["files"]
            }
            return cls(doc["election"], doc["log_size"], files)
        except (CanonicalError, KeyError, TypeError) as exc:
            raise SaksiError(f"{path} is not a publication index: {exc}") from exc
