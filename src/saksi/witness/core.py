"""The tlog-witness add-checkpoint logic, apart from HTTP (../shared/specs/tlog-witness.md).

The witness keeps, per log origin, the last checkpoint it cosigned. It cosigns a new one
only if it is signed by a trusted key of that log and a consistency proof joins it to
what it cosigned before; its state is saved (atomically, fsync'd) before it answers.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from saksi.log.checkpoint import Checkpoint
from saksi.log.merkle import verify_consistency
from saksi.log.note import NoteError, NoteVerifier, open_note, parse_note
from saksi.log.publish import write_atomically
from saksi.log.tree import EMPTY_ROOT
from saksi.witness.cosignature import Cosigner

__all__ = ["MAX_PROOF_LINES", "Reply", "Witness"]

MAX_PROOF_LINES = 63
_OLD = re.compile(r"old (0|[1-9][0-9]*)")


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    content_type: str
    body: bytes


def _text(status: int, message: str) -> Reply:
    return Reply(status, "text/plain; charset=utf-8", (message + "\n").encode())


class Witness:
    def __init__(
        self,
        cosigner: Cosigner,
        logs: Mapping[str, Sequence[NoteVerifier]],
        state_path: Path,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cosigner = cosigner
        self.logs = dict(logs)
        self.state_path = state_path
        self.clock = clock
        self._lock = threading.Lock()  # check-then-persist is one step (spec: the race)
        self.state: dict[str, tuple[int, bytes]] = {}
        if state_path.exists():
            saved = json.loads(state_path.read_text(encoding="utf-8"))
            self.state = {
                o: (int(v["size"]), base64.b64decode(v["root"])) for o, v in saved.items()
            }

    def _save(self) -> None:
        data = {
            origin: {"size": size, "root": base64.b64encode(root).decode()}
            for origin, (size, root) in sorted(self.state.items())
        }
        write_atomically(self.state_path, (json.dumps(data, indent=1) + "\n").encode())

    def add_checkpoint(self, body: bytes) -> Reply:
        """Handle one add-checkpoint request body; never raises for a bad request."""
        try:
            head, _, note = body.partition(b"\n\n")
            lines = head.decode("ascii").split("\n") if head else []
        except UnicodeDecodeError:
            return _text(400, "the request is not old size, proof lines, a blank line, a note")
        if not note or not lines or not (match := _OLD.fullmatch(lines[0])):
            return _text(400, "the request must begin with 'old <size>' and a blank line")
        old = int(match.group(1))
        if len(lines) - 1 > MAX_PROOF_LINES:
            return _text(400, f"at most {MAX_PROOF_LINES} consistency proof lines")
        try:
            proof = [base64.b64decode(line, validate=True) for line in lines[1:]]
            text, _ = parse_note(note)
            checkpoint = Checkpoint.parse(text)
        except (binascii.Error, NoteError) as exc:
            return _text(400, f"malformed request: {exc}")
        verifiers = self.logs.get(checkpoint.origin)
        if verifiers is None:
            return _text(404, f"unknown log {checkpoint.origin}")
        try:
            open_note(note, verifiers)
        except NoteError as exc:
            return _text(403, f"the checkpoint is not signed by the log: {exc}")
        if old > checkpoint.size:
            return _text(400, f"old size {old} is larger than the checkpoint size")
        if checkpoint.size == 0 and checkpoint.root != EMPTY_ROOT:
            return _text(422, "a checkpoint of size 0 must carry the empty tree's root")
        with self._lock:
            size, root = self.state.get(checkpoint.origin, (0, EMPTY_ROOT))
            if old != size:
                return Reply(409, "text/x.tlog.size", f"{size}\n".encode())
            if old == 0:
                if proof:
                    return _text(422, "no consistency proof is sent from size 0")
            elif not verify_consistency(old, checkpoint.size, root, checkpoint.root, proof):
                return _text(422, "the consistency proof does not verify: not an extension")
            self.state[checkpoint.origin] = (checkpoint.size, checkpoint.root)
            self._save()  # persisted before the cosignature leaves
        timestamp = int(self.clock())
        line = self.cosigner.cosign(text, timestamp)
        return Reply(200, "text/plain; charset=utf-8", line.encode())
