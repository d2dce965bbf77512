"""Publication off the writer's path: public/ is written from a read snapshot of the
projection on a thread of its own while submissions go on; only recording the
publication entry and signing the checkpoint run on the writer thread.

The `[log]` cadence of saksi.toml decides when (after a commit, when due and no
publication is running); `POST /api/admin/publish` asks for one at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from saksi.api.writer import Writer
from saksi.election.election import Election
from saksi.log.checkpoint import Checkpoint
from saksi.store.base import Store

__all__ = ["BackgroundPublication"]

log = logging.getLogger("saksi.api")


class BackgroundPublication:
    def __init__(
        self,
        writer: Writer,
        open_store: Callable[[], Store],
        cadence: tuple[int | None, float | None],
    ) -> None:
        self.writer = writer
        self._open_store = open_store
        self._entries, self._seconds = cadence
        self._lock = threading.Lock()  # one publication at a time
        self._thread: threading.Thread | None = None
        self._closing = False
        self._at = time.monotonic()

    def close(self) -> None:
        """Start no more publications, and wait for one that is running."""
        self._closing = True
        with self._lock:
            pass

    def after_commit(self, election: Election) -> None:
        """On the writer thread: start a publication when the cadence says one is due."""
        if self._closing or (self._thread is not None and self._thread.is_alive()):
            return
        new = len(election.record) - (election.state.publication_leaf + 1)
        due = new > 0 and (
            (self._entries is not None and new >= self._entries)
            or (self._seconds is not None and time.monotonic() - self._at >= self._seconds)
        )
        if due:
            self._thread = threading.Thread(
                target=self._in_background, name="saksi-publication", daemon=True
            )
            self._thread.start()

    def _in_background(self) -> None:
        try:
            self.publish(exports=False)
        except Exception:  # the next commit tries again; submissions are not affected
            log.exception("a background publication failed")

    def publish(self, *, exports: bool) -> Checkpoint:
        """Publish now (waiting for one already running) and sign a checkpoint."""
        with self._lock:
            # The last publication, as the writer's state holds it (only this lock adds one).
            leaf, published = self.writer.run_blocking(
                lambda e: (e.state.publication_leaf, e.state.published_size)
            )
            files = self.writer.election.publication_files()  # this thread only, under the lock
            store = self._open_store()
            try:
                store.snapshot()
                size = store.log_size()
                nothing_new = size <= leaf + 1
                if nothing_new and not (exports and not files.exports_at(published)):
                    summary = None
                else:
                    summary = files.publish(store, size, exports=exports)
            finally:
                store.rollback()
                store.close()
            checkpoint = self.writer.run_blocking(lambda e: e.record_publication(summary, size))
            self._at = time.monotonic()
            return checkpoint
