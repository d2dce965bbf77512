"""C2SP tlog-checkpoint note text: origin, tree size, root hash, extension lines
(../shared/specs/tlog-checkpoint.md)."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from saksi.log.note import NoteError

__all__ = ["Checkpoint"]

_SIZE = re.compile(r"0|[1-9][0-9]*")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        """The note text the log signs: every line ends with a newline."""
        if not self.origin or "\n" in self.origin:
            raise NoteError("a checkpoint's origin is one non-empty line")
        if any(not line or "\n" in line for line in self.extensions):
            raise NoteError("extension lines are non-empty single lines")
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "\n".join([*lines, *self.extensions]) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        if not text.endswith("\n"):
            raise NoteError("a checkpoint's text ends with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3 or any(not line for line in lines):
            raise NoteError("a checkpoint has origin, size and root on non-empty lines")
        origin, size, root = lines[:3]
        if not _SIZE.fullmatch(size):
            raise NoteError(f"checkpoint size {size!r} is not a decimal without leading zeros")
        try:
            digest = base64.b64decode(root, validate=True)
        except binascii.Error as exc:
            raise NoteError("checkpoint root hash is not base64") from exc
        if len(digest) != 32 or base64.b64encode(digest).decode() != root:
            raise NoteError("checkpoint root hash is not 32 bytes of canonical base64")
        return cls(origin, int(size), digest, tuple(lines[3:]))
