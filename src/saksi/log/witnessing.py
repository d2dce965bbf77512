"""The log's side of witnessing: push each checkpoint to the configured witnesses and keep
the cosignatures that verify (../shared/specs/tlog-witness.md, "add-checkpoint").

A witness that is down or refuses only delays its own cosignature.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from saksi.log.tree import Tree
from saksi.witness.cosignature import CosignerKey

__all__ = ["WitnessEndpoint", "collect_cosignatures"]

TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class WitnessEndpoint:
    url: str  # the submission prefix; add-checkpoint is posted below it
    key: CosignerKey


def _body(old: int, tree: Tree, size: int, note: str) -> bytes:
    proof = tree.consistency_proof(old, size) if 0 < old < size else []
    lines = f"old {old}\n" + "".join(f"{base64.b64encode(p).decode()}\n" for p in proof)
    return (lines + "\n" + note).encode()


def collect_cosignatures(
    witnesses: Sequence[WitnessEndpoint], tree: Tree, size: int, note: str, sizes_path: Path
) -> list[str]:
    """Cosignature lines for the checkpoint ``note`` (size ``size``), one per witness that
    cosigned. ``sizes_path`` remembers the size each witness last cosigned."""
    known: dict[str, int] = (
        json.loads(sizes_path.read_text(encoding="utf-8")) if sizes_path.exists() else {}
    )
    text = note.split("\n\n", 1)[0] + "\n"
    lines: list[str] = []
    with httpx.Client(timeout=TIMEOUT) as client:
        for witness in witnesses:
            old = min(known.get(witness.url, 0), size)
            for _ in range(2):  # a 409 tells the size the witness holds: try once more
                try:
                    reply = client.post(
                        witness.url.rstrip("/") + "/add-checkpoint",
                        content=_body(old, tree, size, note),
                    )
                except httpx.HTTPError:
                    break
                if reply.status_code == 409 and reply.text.strip().isdigit():
                    old = int(reply.text.strip())
                    if old > size:
                        break
                    continue
                if reply.status_code == 200:
                    for line in reply.text.splitlines():
                        if witness.key.verify(text, line) is not None:
                            lines.append(line + "\n")
                            known[witness.url] = size
                break
    sizes_path.write_text(json.dumps(known, indent=1) + "\n", encoding="utf-8")
    return lines
