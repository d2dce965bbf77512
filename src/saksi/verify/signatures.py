"""Check 4, the costly part: every Ed25519 signature in the log, verified in worker
processes that read the entry bundles themselves (about 65 µs a signature, so a log of
signed forms needs every core). Who may sign what is the replay's job."""

from __future__ import annotations

import base64
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from saksi.canonical import CanonicalError
from saksi.log.entry import decode_entry, signing_input
from saksi.log.tiles import TILE_WIDTH

__all__ = ["SignatureJobs"]

_SIGNED = b'{"auth":{"key":"'


def _check(paths: list[str], first: int) -> tuple[int, list[tuple[int, str]]]:
    """(signatures checked, [(leaf index, key) of each that does not verify])."""
    keys: dict[str, Ed25519PublicKey] = {}
    checked = 0
    bad: list[tuple[int, str]] = []
    index = first
    for path in paths:
        data = Path(path).read_bytes()
        pos = 0
        while pos + 2 <= len(data):
            length = int.from_bytes(data[pos : pos + 2], "big")
            entry = data[pos + 2 : pos + 2 + length]
            pos += 2 + length
            if entry.startswith(_SIGNED):
                checked += 1
                try:
                    e = decode_entry(entry)
                    key = keys.get(e.auth.key or "")
                    if key is None:
                        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(e.auth.key or ""))
                        keys[e.auth.key or ""] = key
                    key.verify(
                        base64.b64decode(e.auth.signature or ""),
                        signing_input(e.type.value, e.election, e.payload_bytes),
                    )
                except (InvalidSignature, CanonicalError, ValueError):
                    bad.append(
                        (index, entry[len(_SIGNED) : len(_SIGNED) + 44].decode("ascii", "replace"))
                    )
            index += 1
    return checked, bad


class SignatureJobs:
    """Signature checks running in the background while the replay goes on."""

    def __init__(self, bundles: list[Path], workers: int | None = None) -> None:
        workers = workers or os.cpu_count() or 1
        per_job = max(1, len(bundles) // (workers * 8) + 1)
        context = multiprocessing.get_context("fork")
        self._pool = ProcessPoolExecutor(workers, mp_context=context)
        self._jobs: list[Future[tuple[int, list[tuple[int, str]]]]] = [
            self._pool.submit(_check, [str(p) for p in bundles[i : i + per_job]], i * TILE_WIDTH)
            for i in range(0, len(bundles), per_job)
        ]

    def result(self) -> tuple[int, list[tuple[int, str]]]:
        checked = 0
        bad: list[tuple[int, str]] = []
        try:
            for job in self._jobs:
                count, failures = job.result()
                checked += count
                bad += failures
        finally:
            self._pool.shutdown()
        return checked, sorted(bad)
