"""SQLite projection store: one database file per election folder, in WAL mode.

The record file is the durable truth and is fsync'd before any acknowledgement, so the
projection can run with synchronous=NORMAL: a crash loses at most a tail that the next
open replays from the record.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from saksi.errors import StoreError
from saksi.store.base import Store
from saksi.store.schema import INSERTS, TABLES

__all__ = ["PRAGMAS", "SqliteStore"]

PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA temp_store = MEMORY",
    "PRAGMA cache_size = -262144",
    "PRAGMA busy_timeout = 10000",
)


class SqliteStore(Store):
    def __init__(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.description = f"SQLite {path}"
        try:
            # The election's projection writer thread may use it; never two at once.
            self.connection = sqlite3.connect(
                path, isolation_level="DEFERRED", check_same_thread=False
            )
            for pragma in PRAGMAS:
                self.connection.execute(pragma)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {path}: {exc}") from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.connection.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.connection.executemany(sql, rows)

    def insert_many(self, table: str, rows: Sequence[Sequence[Any]]) -> None:
        self.connection.executemany(INSERTS[table], rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, params).fetchall()

    def commit(self) -> None:
        self.connection.commit()

    def rollback(self) -> None:
        self.connection.rollback()

    def close(self) -> None:
        self.connection.close()

    def snapshot(self) -> None:
        self.connection.rollback()
        self.connection.execute("BEGIN")  # WAL: the first read fixes what it sees

    def drop_all(self) -> None:
        for table in TABLES:
            self.connection.execute(f"DROP TABLE IF EXISTS {table}")
        self.connection.commit()
