"""Checks 3 and 4, the costly parts, in worker processes that read the entry bundles
themselves: each entry's canonical encoding and envelope, and every Ed25519 signature
(about 65 µs each, so a log of signed forms needs every core). Who may sign what is the
replay's job."""

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


def _check(paths: list[str], first: int) -> tuple[int, list[tuple[int, str, str]]]:
    """(signatures checked, [(leaf index, check, message) of each entry that fails])."""
    keys: dict[str, Ed25519PublicKey] = {}
    checked = 0
    bad: list[tuple[int, str, str]] = []
    index = first
    for path in paths:
        data = Path(path).read_bytes()
        pos = 0
        while pos + 2 <= len(data):
            length = int.from_bytes(data[pos : pos + 2], "big")
            raw = data[pos + 2 : pos + 2 + length]
            pos += 2 + length
            try:
                entry = decode_entry(raw)
            except (CanonicalError, ValueError) as exc:
                bad.append((index, "canonical", f"the entry is not a canonical entry: {exc}"))
                index += 1
                continue
            text = entry.auth.key
            if text is not None and entry.auth.signature is not None:
                checked += 1
                key = keys.get(text)
                try:
                    if key is None:
                        key = keys[text] = Ed25519PublicKey.from_public_bytes(
                            base64.b64decode(text)
                        )
                    key.verify(
                        base64.b64decode(entry.auth.signature),
                        signing_input(entry.type.value, entry.election, entry.payload_bytes),
                    )
                except (InvalidSignature, ValueError):
                    bad.append((index, "signature", f"the signature by key {text} does not verify"))
            index += 1
    return checked, bad


class SignatureJobs:
    """Signature checks running in the background while the replay goes on."""

    def __init__(self, bundles: list[Path], workers: int | None = None) -> None:
        workers = workers or os.cpu_count() or 1
        per_job = max(1, len(bundles) // (workers * 8) + 1)
        context = multiprocessing.get_context("fork")
        self._pool = ProcessPoolExecutor(workers, mp_context=context)
        self._jobs: list[Future[tuple[int, list[tuple[int, str, str]]]]] = [
            self._pool.submit(_check, [str(p) for p in bundles[i : i + per_job]], i * TILE_WIDTH)
            for i in range(0, len(bundles), per_job)
        ]

    def result(self) -> tuple[int, list[tuple[int, str, str]]]:
        checked = 0
        bad: list[tuple[int, str, str]] = []
        try:
            for job in self._jobs:
                count, failures = job.result()
                checked += count
                bad += failures
        finally:
            self._pool.shutdown()
        return checked, sorted(bad)
