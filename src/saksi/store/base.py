"""The storage interface both backends implement, with the SQL they share."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any

from saksi.election.projection import Pending
from saksi.errors import StoreError
from saksi.store.schema import DUMP_ORDER, SCHEMA, TABLES

__all__ = ["Store", "TallyRow", "open_store"]

TallyRow = tuple[str, str, str, str]  # contest, source, region, counts as JSON

_UPSERT_TALLY = (
    "INSERT INTO tally (contest, source, region, counts) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (contest, source, region) DO UPDATE SET counts = excluded.counts"
)
_UPSERT_TOTALS = (
    "INSERT INTO region_totals (contest, region, tps_total, dpt_total) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (contest, region) DO UPDATE SET tps_total = excluded.tps_total, "
    "dpt_total = excluded.dpt_total"
)
_UPSERT_META = (
    "INSERT INTO meta (key, value) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)


class Store(ABC):
    """Projection tables of one election. Writes happen in one transaction per batch."""

    description: str

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    @abstractmethod
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    @abstractmethod
    def insert_many(self, table: str, rows: Sequence[Sequence[Any]]) -> None:
        """Append rows to a table as fast as the backend allows."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def snapshot(self) -> None:
        """Begin a read transaction that sees one committed state until rollback():
        a publication reads every total at one record size while the writer goes on."""

    @abstractmethod
    def drop_all(self) -> None:
        """Remove every projection table (before a rebuild)."""

    def create(self) -> None:
        for statement in SCHEMA:
            self.execute(statement)
        self.commit()

    def write(
        self,
        pending: Pending,
        tally: list[TallyRow],
        region_totals: list[tuple[str, str, int, int]],
        log_size: int,
    ) -> None:
        """Write a batch of projection rows and the record size they reflect, atomically."""
        try:
            for table in (
                "sources",
                "contests",
                "dapils",
                "choices",
                "tally_layouts",
                "regions",
                "tps",
                "keys",
                "forms",
                "attestations",
                "decisions",
                "ladder_entries",
            ):
                rows = getattr(pending, table)
                if rows:
                    self.insert_many(table, rows)
            if pending.revoked:
                self.executemany("UPDATE keys SET revoked_seq = ? WHERE key = ?", pending.revoked)
            if pending.superseded:
                self.executemany(
                    "UPDATE forms SET is_current = 0 WHERE seq = ?", pending.superseded
                )
            if pending.ladder_superseded:
                self.executemany(
                    "UPDATE ladder_entries SET is_current = 0 WHERE seq = ?",
                    pending.ladder_superseded,
                )
            if tally:
                self.executemany(_UPSERT_TALLY, tally)
            if region_totals:
                self.executemany(_UPSERT_TOTALS, region_totals)
            meta = {**pending.meta, "log_size": str(log_size)}
            self.executemany(_UPSERT_META, sorted(meta.items()))
            self.commit()
        except Exception:
            self.rollback()
            raise

    def meta(self, key: str) -> str | None:
        try:
            rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        except Exception as exc:  # the table does not exist yet
            self.rollback()
            raise StoreError(f"the projection database is not initialised: {exc}") from exc
        return str(rows[0][0]) if rows else None

    def log_size(self) -> int:
        value = self.meta("log_size")
        return int(value) if value is not None else 0

    def dump(self) -> Iterator[str]:
        """A sorted logical dump of every projection table, one JSON line per row.

        Lines are sorted here, not by the database, so that both backends order them the
        same whatever their collation.
        """
        for table in DUMP_ORDER:
            columns = ", ".join(c for c, _ in TABLES[table][0])
            rows = self.query(f"SELECT {columns} FROM {table}")
            yield from sorted(
                table + "\t" + json.dumps(list(row), ensure_ascii=False) for row in rows
            )


def open_store(url: str | None, sqlite_path: Any, election_id: str) -> Store:
    """SQLite at ``sqlite_path`` when ``url`` is None, otherwise PostgreSQL at ``url``."""
    if url is None or url.startswith("sqlite"):
        from saksi.store.sqlite import SqliteStore

        return SqliteStore(sqlite_path)
    if url.startswith(("postgresql://", "postgres://")):
        from saksi.store.postgres import PostgresStore

        return PostgresStore(url, election_id)
    raise StoreError(f"unknown store {url!r}; use sqlite or a postgresql:// URL")
