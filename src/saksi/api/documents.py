"""Public read documents, built from the projection store on one reader thread and kept
as prepared bytes: a hot read is a dictionary lookup and a bytes response."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

import orjson

from saksi.errors import SaksiError
from saksi.store.base import Store
from saksi.tally.query import layout, region_totals, report_json, tally_report

__all__ = [
    "Documents",
    "Prepared",
    "children_document",
    "region_path",
    "totals_csv",
    "tps_document",
]

FRESH_SECONDS = 0.25  # a document older than this is rebuilt when the record has grown
MAX_CACHED = 200_000  # documents kept; past this the cache starts again (about 200 MB)


@dataclass(frozen=True, slots=True)
class Prepared:
    body: bytes
    etag: str
    last_modified: str
    media_type: str
    size: int  # the record size it reflects
    made: float  # time.monotonic() when built


def prepare(body: bytes, media_type: str, size: int) -> Prepared:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return Prepared(
        body, etag, formatdate(time.time(), usegmt=True), media_type, size, time.monotonic()
    )


def _fresh(prepared: Prepared, size: int) -> bool:
    """Still served: it reflects the record's size, or it is younger than FRESH_SECONDS."""
    return prepared.size >= size or time.monotonic() - prepared.made < FRESH_SECONDS


class Documents:
    """Prepared documents by key; rebuilt on the reader thread when stale."""

    def __init__(self, open_store: Callable[[], Store], current_size: Callable[[], int]) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="saksi-reader")
        self._open_store = open_store
        self._store: Store | None = None
        self._current_size = current_size
        self._cache: dict[tuple[Any, ...], Prepared] = {}
        self._building: dict[tuple[Any, ...], asyncio.Future[Prepared]] = {}

    def close(self) -> None:
        def shut() -> None:
            if self._store is not None:
                self._store.close()

        self._executor.submit(shut).result()
        self._executor.shutdown()

    async def get(
        self, key: tuple[Any, ...], build: Callable[[Store], tuple[bytes, str]]
    ) -> Prepared:
        found = self._cache.get(key)
        size = self._current_size()
        if found is not None and _fresh(found, size):
            return found
        pending = self._building.get(key)
        if pending is None:
            loop = asyncio.get_running_loop()
            pending = asyncio.ensure_future(
                loop.run_in_executor(self._executor, self._build, key, build, size)
            )
            self._building[key] = pending
            pending.add_done_callback(lambda _: self._building.pop(key, None))
        return await asyncio.shield(pending)

    def within(
        self, store: Store, key: tuple[Any, ...], build: Callable[[Store], tuple[bytes, str]]
    ) -> Prepared:
        """Inside another document's build, on the reader thread: the document under
        ``key``, built here with the same read when stale. A page and its .json share one."""
        found = self._cache.get(key)
        size = self._current_size()
        if found is not None and _fresh(found, size):
            return found
        body, media_type = build(store)
        return self._keep(key, prepare(body, media_type, size))

    def _build(
        self, key: tuple[Any, ...], build: Callable[[Store], tuple[bytes, str]], size: int
    ) -> Prepared:
        if self._store is None:
            self._store = self._open_store()
        store = self._store
        try:
            body, media_type = build(store)
        finally:
            store.rollback()  # end the read transaction: the next read sees new commits
        return self._keep(key, prepare(body, media_type, size))

    def _keep(self, key: tuple[Any, ...], prepared: Prepared) -> Prepared:
        if len(self._cache) >= MAX_CACHED:
            self._cache = {}  # crude, but a national drill-down must not grow without end
        self._cache[key] = prepared
        return prepared


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def totals_json(region: str, contest: str | None, source: str | None) -> Callable[[Store], Any]:
    def build(store: Store) -> tuple[bytes, str]:
        return dumps(tally_report(store, region=region, contest=contest, source=source)), "json"

    return build


def _flat(document: dict[str, Any]) -> dict[str, Any]:
    """One CSV row of a totals document: nested objects become prefixed columns."""
    row: dict[str, Any] = {}
    for key, value in document.items():
        if isinstance(value, dict):
            prefix = {"region": "region_", "choices": "choice_", "fields": ""}.get(key, key + "_")
            for inner, number in value.items():
                row[prefix + inner] = number
        else:
            row[key] = "" if value is None else value
    return row


def totals_csv(region: str, contest: str | None, source: str | None) -> Callable[[Store], Any]:
    def build(store: Store) -> tuple[bytes, str]:
        row = _flat(tally_report(store, region=region, contest=contest, source=source))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\n")
        writer.writeheader()
        writer.writerow(row)
        return out.getvalue().encode(), "csv"

    return build


def children_document(store: Store, region: str, contest: str, source: str) -> dict[str, Any]:
    """The region's totals and each child's: regions below a desa are its TPS."""
    parent = tally_report(store, region=region, contest=contest, source=source)
    level = parent["region"]["level"]
    if level == "desa_kelurahan":
        return {**parent, "children": _tps_children(store, region, contest, source)}
    shape = layout(store, contest, source)
    rows = store.query(
        "SELECT r.id, r.name, r.level, t.counts FROM regions r LEFT JOIN tally t "
        "ON t.region = r.id AND t.contest = ? AND t.source = ? WHERE r.parent = ? ORDER BY r.id",
        (contest, source, region),
    )
    children = []
    for rid, name, child_level, counts in rows:
        figures = shape.to_json(json.loads(counts) if counts else [0] * shape.width)
        children.append(
            report_json(
                (rid, name, child_level),
                contest,
                source,
                parent["log_size"],
                figures,
                region_totals(store, contest, rid),
            )
        )
    return {**parent, "children": children}


def _tps_children(store: Store, desa: str, contest: str, source: str) -> list[dict[str, Any]]:
    rows = store.query(
        "SELECT t.id, t.number, t.dpt, f.seq, f.payload, f.flags FROM tps t LEFT JOIN forms f "
        "ON f.tps = t.id AND f.contest = ? AND f.source = ? AND f.is_current = 1 "
        "WHERE t.desa = ? ORDER BY t.number, t.id",
        (contest, source, desa),
    )
    out = []
    for tid, number, dpt, seq, payload, flags in rows:
        form = json.loads(payload) if payload else None
        out.append(
            {
                "tps_id": tid,
                "number": number,
                "dpt": dpt,
                "leaf_index": seq,
                "votes": form["votes"] if form else None,
                "fields": form["fields"] if form else None,
                "flags": [f for f in (flags or "").split(",") if f],
            }
        )
    return out


def region_path(store: Store, region: str | None) -> list[dict[str, str]]:
    """The regions from the national root down to ``region``: id, name and level."""
    path = []
    while region is not None:
        row = store.query("SELECT name, level, parent FROM regions WHERE id = ?", (region,))
        if not row:
            break
        path.append({"id": region, "name": row[0][0], "level": row[0][1]})
        region = row[0][2]
    return list(reversed(path))


def tps_document(store: Store, tps_id: str) -> dict[str, Any]:
    """Everything the record says about one TPS, every source and every version."""
    found = store.query("SELECT desa, number, dpt, kind FROM tps WHERE id = ?", (tps_id,))
    if not found:
        raise SaksiError(f"TPS {tps_id} is not registered in this election")
    desa, number, dpt, kind = found[0]
    forms: dict[tuple[str, str], list[dict[str, Any]]] = {}
    pairs = store.query("SELECT contest, source FROM tally_layouts ORDER BY contest, source")
    for contest, source in pairs:
        rows = store.query(
            "SELECT seq, payload_hash, replaces, signer, attestation, payload, flags, is_current "
            "FROM forms WHERE contest = ? AND source = ? AND tps = ? ORDER BY seq",
            (contest, source, tps_id),
        )
        for seq, digest, replaces, signer, attestation, payload, flags, current in rows:
            form = json.loads(payload)
            forms.setdefault((contest, source), []).append(
                {
                    "leaf_index": seq,
                    "payload_hash": digest,
                    "replaces": replaces,
                    "signer": signer,
                    "attestation_leaf": attestation,
                    "votes": form["votes"],
                    "fields": form["fields"],
                    "photos": form.get("photos", []),
                    "flags": [f for f in (flags or "").split(",") if f],
                    "current": bool(current),
                }
            )
    return {
        "tps_id": tps_id,
        "number": number,
        "dpt": dpt,
        "kind": kind,
        "regions": region_path(store, desa),
        "log_size": store.log_size(),
        "forms": [
            {"contest": c, "source": s, "versions": versions}
            for (c, s), versions in sorted(forms.items())
        ],
    }
