"""The one thread that owns the open election: group commit for submissions.

Submissions queue up while the previous batch is being fsync'd; the next batch takes
them all, checks each on its own and records the accepted ones with one fsync. Each
submitter is answered only after its entry is durable. Other work on the election
(photos, receipts, publication) runs on the same thread, in queue order.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from saksi.election.election import Election, Receipt
from saksi.log.entry import Entry

__all__ = ["Writer"]

log = logging.getLogger("saksi.api")
T = TypeVar("T")
MAX_BATCH = 1000


@dataclass(slots=True)
class _Job:
    entry: Entry | None
    call: Callable[[Election], Any] | None
    future: asyncio.Future[Any] | concurrent.futures.Future[Any]
    loop: asyncio.AbstractEventLoop | None  # None: asked from a plain thread


def _answer(job: _Job, value: Any, error: BaseException | None) -> None:
    if job.loop is not None:
        job.loop.call_soon_threadsafe(_settle, job.future, value, error)
    elif error is not None:
        job.future.set_exception(error)
    else:
        job.future.set_result(value)


def _settle(future: Any, value: Any, error: BaseException | None) -> None:
    if future.done():  # the client went away
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class Writer:
    def __init__(
        self, election: Election, on_commit: Callable[[Election], None] | None = None
    ) -> None:
        self.election = election
        self.size = len(election.record)
        self._on_commit = on_commit
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="saksi-writer", daemon=True)
        self._thread.start()

    async def submit(self, entry: Entry) -> Receipt:
        """Record one entry; raises RejectedEntry when a hard rule refuses it."""
        result = await self._put(entry, None)
        assert isinstance(result, Receipt)
        return result

    async def call(self, work: Callable[[Election], T]) -> T:
        """Run ``work`` on the writer thread, between batches."""
        result: T = await self._put(None, work)
        return result

    def run_blocking(self, work: Callable[[Election], T]) -> T:
        """``call`` for a plain thread (not the event loop's): waits for the result."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._queue.put(_Job(None, work, future, None))
        return future.result()

    async def _put(self, entry: Entry | None, work: Callable[[Election], Any] | None) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put(_Job(entry, work, future, loop))
        return await future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            job = self._queue.get()
            if job is None:
                break
            jobs = [job]
            while len(jobs) < MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                jobs.append(more)
            self._work(jobs)

    def _work(self, jobs: list[_Job]) -> None:
        batch: list[_Job] = []
        for job in jobs:
            if job.entry is not None:
                batch.append(job)
                continue
            self._commit(batch)
            batch = []
            assert job.call is not None
            try:
                value, error = job.call(self.election), None
            except BaseException as exc:
                value, error = None, exc
            self.size = len(self.election.record)  # a publication appends an entry
            _answer(job, value, error)
        self._commit(batch)

    def _commit(self, batch: list[_Job]) -> None:
        if not batch:
            return
        outcomes: list[Receipt | BaseException]
        try:
            outcomes = list(
                self.election.append_each([job.entry for job in batch if job.entry is not None])
            )
        except BaseException as exc:  # the record could not be written: nobody is acked
            log.exception("recording a batch of %d submissions failed", len(batch))
            outcomes = [exc] * len(batch)
        self.size = len(self.election.record)
        if self._on_commit is not None:
            try:
                self._on_commit(self.election)
            except Exception:  # a side record (history) must not fail the submissions
                log.exception("after-commit work failed")
        for job, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                _answer(job, None, outcome)
            else:
                _answer(job, outcome, None)
