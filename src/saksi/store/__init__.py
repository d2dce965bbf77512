"""Projection storage: the tables replaying the record produces, on SQLite or PostgreSQL."""

from saksi.store.base import Store, open_store

__all__ = ["Store", "open_store"]
