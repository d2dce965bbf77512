"""The forensics report served over HTTP: built on a thread of its own from its own store
connection, and kept. A national report takes about a minute, so a reader is never made
to wait for a rebuild: once one exists, the last report is served while a newer one is
built, at most every REFRESH_SECONDS and only when the record has grown."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import orjson

from saksi.api.documents import Prepared, prepare
from saksi.forensics.report import forensics_report
from saksi.store.base import Store

__all__ = ["ForensicsReports"]

REFRESH_SECONDS = 300.0


class ForensicsReports:
    def __init__(
        self,
        open_store: Callable[[], Store],
        current_size: Callable[[], int],
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="saksi-forensics")
        self._open_store = open_store
        self._store: Store | None = None
        self._current_size = current_size
        self._refresh = refresh_seconds
        self._reports: dict[str | None, Prepared] = {}
        self._building: dict[str | None, asyncio.Future[Prepared]] = {}

    def close(self) -> None:
        def shut() -> None:
            if self._store is not None:
                self._store.close()

        self._executor.submit(shut).result()
        self._executor.shutdown()

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

    def _start(self, contest: str | None) -> asyncio.Future[Prepared]:
        loop = asyncio.get_running_loop()
        size = self._current_size()
        pending = asyncio.ensure_future(
            loop.run_in_executor(self._executor, self._build, contest, size)
        )
        self._building[contest] = pending

        def done(future: asyncio.Future[Prepared]) -> None:
            self._building.pop(contest, None)
            if not future.cancelled():
                future.exception()  # a failed refresh keeps the last report; seen, not lost

        pending.add_done_callback(done)
        return pending

    def _build(self, contest: str | None, size: int) -> Prepared:
        if self._store is None:
            self._store = self._open_store()
        try:
            report = forensics_report(self._store, contest)
        finally:
            self._store.rollback()
        prepared = prepare(orjson.dumps(report), "json", size)
        self._reports[contest] = prepared
        return prepared
