"""C2SP tlog-proof (../shared/specs/tlog-proof.md): an offline proof that an entry is in
the log, which a TPS officer can keep as one small text file.

Saksi puts the entry's own bytes in the `extra` line, so the file alone is enough to
recompute the leaf hash; like the spec says, a reader must not trust those bytes until
the inclusion proof binds them to a signed checkpoint.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass

from saksi.errors import SaksiError
from saksi.log.checkpoint import Checkpoint
from saksi.log.merkle import leaf_hash, verify_inclusion
from saksi.log.note import NoteVerifier, open_note

__all__ = ["HEADER", "TlogProof", "parse_tlog_proof"]

HEADER = "c2sp.org/tlog-proof@v1"
_INDEX = re.compile(r"^index (0|[1-9][0-9]{0,19})$")


@dataclass(frozen=True, slots=True)
class TlogProof:
    extra: bytes | None
    index: int
    proof: list[bytes]
    checkpoint_note: str  # verbatim, with its signature lines

    def text(self) -> str:
        lines = [HEADER]
        if self.extra is not None:
            lines.append("extra " + base64.b64encode(self.extra).decode())
        lines.append(f"index {self.index}")
        lines += [base64.b64encode(h).decode() for h in self.proof]
        return "\n".join(lines) + "\n\n" + self.checkpoint_note

    def verify(self, verifiers: Iterable[NoteVerifier], entry: bytes | None = None) -> Checkpoint:
        """Check the checkpoint's signature and that ``entry`` (default: the extra data)
        is at ``index`` in its tree; returns the checkpoint. Raises SaksiError if not."""
        data = entry if entry is not None else self.extra
        if data is None:
            raise SaksiError("the proof carries no entry and none was given to check")
        text, _ = open_note(self.checkpoint_note.encode(), verifiers)
        checkpoint = Checkpoint.parse(text)
        if not verify_inclusion(
            leaf_hash(data), self.index, checkpoint.size, self.proof, checkpoint.root
        ):
            raise SaksiError(
                f"the inclusion proof does not place this entry at index {self.index} "
                f"of the signed tree of size {checkpoint.size}"
            )
        return checkpoint


def parse_tlog_proof(text: str) -> TlogProof:
    """Parse a tlog-proof strictly; any deviation from the format is an error."""
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or lines[0] != HEADER:
        raise SaksiError(f"not a tlog proof: it must start with {HEADER} and hold a checkpoint")
    position = 1
    extra = None
    try:
        if len(lines) > position and lines[position].startswith("extra "):
            extra = base64.b64decode(lines[position][6:], validate=True)
            position += 1
        found = _INDEX.fullmatch(lines[position]) if len(lines) > position else None
        if found is None:
            raise SaksiError("tlog proof: expected 'index N' (no leading zeros)")
        proof = [base64.b64decode(line, validate=True) for line in lines[position + 1 :]]
    except ValueError as exc:  # binascii.Error, or a non-ASCII character
        raise SaksiError(f"tlog proof: bad base64: {exc}") from exc
    if any(len(h) != 32 for h in proof):
        raise SaksiError("tlog proof: each proof line must be one base64 SHA-256 hash")
    return TlogProof(extra, int(found.group(1)), proof, note)
