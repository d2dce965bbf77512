"""The forensics report served over HTTP: built in a process of its own (a minute of
Python for a national election would otherwise hold the interpreter lock the writer and
the readers need), from its own store connection, and kept. A reader is never made to
wait for a rebuild: once one exists, the last report is served while a newer one is
built, at most every REFRESH_SECONDS and only when the record has grown."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from collections.abc import Callable
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any

import orjson

from saksi.api.documents import Prepared, prepare
from saksi.forensics.report import forensics_report
from saksi.store.base import open_store

__all__ = ["ForensicsReports"]

REFRESH_SECONDS = 300.0


def _report_bytes(
    url: str | None, sqlite_path: Path, election_id: str, contest: str | None
) -> bytes:
    """In the forensics process: the report, from a store connection of its own."""
    store = open_store(url, sqlite_path, election_id)
    try:
        return orjson.dumps(forensics_report(store, contest))
    finally:
        store.close()


class ForensicsReports:
    def __init__(
        self,
        store: tuple[str | None, Path, str],
        current_size: Callable[[], int],
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        """``store`` is what open_store takes: URL (None: SQLite), SQLite path, election."""
        self._pool: Pool | None = None  # started with the first report
        self._store = store
        self._current_size = current_size
        self._refresh = refresh_seconds
        self._reports: dict[str | None, Prepared] = {}
        self._building: dict[str | None, asyncio.Future[Prepared]] = {}
        self._lock = threading.Lock()
        self._parsed: dict[str, tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]] = {}

    def close(self) -> None:
        """Stop at once, a report being built included: it would only be thrown away."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()

    async def get(self, contest: str | None) -> Prepared:
        """The report of ``contest`` (None: the first contest), as JSON bytes."""
        found = self.peek(contest)
        if found is not None:
            return found
        pending = self._building.get(contest) or self._start(contest)
        return await asyncio.shield(pending)

    def peek(self, contest: str | None) -> Prepared | None:
        """The last report of ``contest`` without waiting: None while the first one is
        being built (this starts it)."""
        found = self._reports.get(contest)
        if found is None and contest not in self._building:
            self._start(contest)
        elif found is not None:
            stale = found.size < self._current_size() and time.monotonic() - found.made >= (
                self._refresh
            )
            if stale and contest not in self._building:
                self._start(contest)
        return found

    def parsed(self, prepared: Prepared) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
        """A report as objects, with its flags by TPS: parsed once per report (a national
        one is megabytes), for the pages built with it on the reader thread."""
        with self._lock:
            found = self._parsed.get(prepared.etag)
            if found is None:
                report = orjson.loads(prepared.body)
                by_tps: dict[str, list[dict[str, Any]]] = {}
                for flag in report["flags"]:
                    by_tps.setdefault(flag["tps_id"], []).append(flag)
                found = (report, by_tps)
                current = {r.etag for r in self._reports.values()}
                self._parsed = {e: v for e, v in self._parsed.items() if e in current}
                self._parsed[prepared.etag] = found
            return found

    def _start(self, contest: str | None) -> asyncio.Future[Prepared]:
        pending = asyncio.ensure_future(self._build(contest, self._current_size()))
        self._building[contest] = pending

        def done(future: asyncio.Future[Prepared]) -> None:
            self._building.pop(contest, None)
            if not future.cancelled():
                future.exception()  # a failed refresh keeps the last report; seen, not lost

        pending.add_done_callback(done)
        return pending

    async def _build(self, contest: str | None, size: int) -> Prepared:
        if self._pool is None:  # spawned, not forked: the server process runs threads
            self._pool = multiprocessing.get_context("spawn").Pool(1)
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bytes] = loop.create_future()

        def settle(result: bytes | BaseException) -> None:
            if answer.done():
                return
            if isinstance(result, BaseException):
                answer.set_exception(result)
            else:
                answer.set_result(result)

        self._pool.apply_async(
            _report_bytes,
            (*self._store, contest),
            callback=lambda body: loop.call_soon_threadsafe(settle, body),
            error_callback=lambda error: loop.call_soon_threadsafe(settle, error),
        )
        body = await answer
        prepared = prepare(body, "json", size)
        self._reports[contest] = prepared
        return prepared
