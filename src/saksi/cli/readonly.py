"""Open an election's projection store for reading, without taking the writer's lock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from saksi.election.folder import ElectionFolder
from saksi.errors import SaksiError, StoreError
from saksi.store.base import Store, open_store

__all__ = ["open_store_readonly"]


@contextmanager
def open_store_readonly(election_dir: Path) -> Iterator[Store]:
    folder = ElectionFolder(election_dir)
    election_id, url = folder.read_config()
    if url is None and not folder.sqlite_path.exists():
        raise SaksiError(f"{election_dir} has no projection database; run 'saksi rebuild'")
    store = open_store(url, folder.sqlite_path, election_id)
    try:
        try:
            store.meta("log_size")  # raises StoreError when the tables do not exist
        except StoreError as exc:
            raise SaksiError(
                f"{election_dir} has no projection database (its tables are missing); "
                "run 'saksi rebuild'"
            ) from exc
        yield store
    finally:
        store.close()
