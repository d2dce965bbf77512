"""Worker processes for the pure parts of a bulk import (CSV parsing, payload bytes).

Forked, so they start at once and share the parent's memory copy-on-write; they touch
only the arguments they are given and never the record or the database.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager

__all__ = ["worker_pool"]


@contextmanager
def worker_pool(workers: int | None = None) -> Iterator[Executor | None]:
    """A process pool with one worker per core; None on a single core."""
    count = workers if workers is not None else min(2, os.cpu_count() or 1)
    if count < 2:
        yield None
        return
    context = multiprocessing.get_context("fork")
    # Freeze the parent's objects so that no collection in a worker walks (and so copies)
    # the inherited registry; the workers' own work creates no cycles.
    gc.freeze()
    try:
        with ProcessPoolExecutor(
            max_workers=count, mp_context=context, initializer=gc.disable
        ) as pool:
            yield pool
    finally:
        gc.unfreeze()
