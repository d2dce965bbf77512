"""The demo's devices: each TPS of each source gets a key (derived from the seed), its
source's key manager enrols the keys over HTTP, and the devices submit their signed
forms, some with a photo of the form, concurrently through `POST /api/results`."""

from __future__ import annotations

import hashlib
import multiprocessing
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.pool import AsyncResult, Pool
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

import httpx

from saksi.client.submitter import Client
from saksi.examples.photo import render_form_photo
from saksi.keys.ed25519 import SigningKey
from saksi.log.entry import EntryType

__all__ = ["KEYS_PER_ENTRY", "device_key", "stream"]

KEYS_PER_ENTRY = 500  # a keys_register entry of about 50 KB
THREADS = 16  # requests in flight per process: the server commits them as one batch

Batch = tuple[str, list[dict[str, Any]]]  # a source and some of its forms


def device_key(seed: int, source: str, tps: str) -> SigningKey:
    return SigningKey.from_seed(
        hashlib.sha256(f"saksi demo {seed}\n{source}\n{tps}".encode()).digest()
    )


class _Device:
    """What one worker process needs for its batches."""

    def __init__(self, url: str, folder: Path, election: str, seed: int, photo_every: int) -> None:
        self.url, self.folder, self.election = url, folder, election
        self.seed, self.photo_every = seed, photo_every
        self.local = threading.local()
        self.managers: dict[str, Client] = {}

    @property
    def http(self) -> httpx.Client:
        """This thread's own connection: httpcore's pool, shared by threads, can close a
        connection one thread is about to use (encode/httpcore#1110)."""
        client: httpx.Client | None = getattr(self.local, "http", None)
        if client is None:
            client = self.local.http = httpx.Client(base_url=self.url, timeout=120)
        return client

    def _manager(self, source: str) -> Client:
        if source not in self.managers:  # used from the worker's main thread only
            key = SigningKey.load(self.folder / "keys" / f"manager-{source}.key")
            self.managers[source] = Client(self.url, key, http=self.http, election=self.election)
        return self.managers[source]

    def enrol(self, source: str, forms: list[dict[str, Any]]) -> dict[str, SigningKey]:
        keys = {f["tps"]: device_key(self.seed, source, f["tps"]) for f in forms}
        items = [
            {"key": k.public_b64, "role": "submitter", "source": source, "tps": [t]}
            for t, k in keys.items()
        ]
        for first in range(0, len(items), KEYS_PER_ENTRY):
            chunk = items[first : first + KEYS_PER_ENTRY]
            self._manager(source).record(EntryType.KEYS_REGISTER, {"keys": chunk})
        return keys

    def submit(self, key: SigningKey, form: dict[str, Any]) -> None:
        device = Client(self.url, key, http=self.http, election=self.election)
        digest = hashlib.sha256(form["tps"].encode()).digest()
        photos = []
        if self.photo_every and int.from_bytes(digest[:4], "big") % self.photo_every == 0:
            photos.append(render_form_photo(form, tps_name=form["tps"]))
        device.submit_form(form, photos)


_WORK: tuple[list[Batch], dict[str, Any], Any] = ([], {}, None)


def _run_part(part: int, parts: int) -> int:
    batches, config, counter = _WORK
    rate = config.pop("rate") / parts  # this worker's share of the forms a second
    device = _Device(**config)  # in the worker: its own connections
    started = time.perf_counter()
    done = 0
    with ThreadPoolExecutor(THREADS) as pool:
        for index, (source, forms) in enumerate(batches):
            if index % parts != part:
                continue
            keys = device.enrol(source, forms)
            # list() re-raises the first refusal: the synthetic forms are all valid.
            list(pool.map(device.submit, [keys[f["tps"]] for f in forms], forms))
            done += len(forms)
            with counter.get_lock():
                counter.value += len(forms)
            if rate > 0:
                time.sleep(max(0.0, done / rate - (time.perf_counter() - started)))
    return done


def stream(
    url: str,
    folder: Path,
    election: str,
    batches: Sequence[Batch],
    *,
    seed: int,
    photo_every: int,
    counter: Synchronized[int],
    rate: float = 0.0,
    processes: int = 2,
) -> tuple[Pool, AsyncResult[list[int]]]:
    """Start enrolling every device and submitting every form in ``processes`` forked
    workers (forked before the caller starts any display thread); returns the pool and
    the pending result."""
    global _WORK
    config = {
        "url": url,
        "folder": folder,
        "election": election,
        "seed": seed,
        "photo_every": photo_every,
        "rate": rate,
    }
    _WORK = (list(batches), config, counter)
    pool = multiprocessing.get_context("fork").Pool(processes)
    result = pool.starmap_async(_run_part, [(k, processes) for k in range(processes)])
    _WORK = ([], {}, None)  # the workers have their copy
    return pool, result
