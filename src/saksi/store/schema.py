"""The projection tables. Every column is derived from the record; nothing operational.

Receive times, client addresses, rate-limit state and credentials never enter these
tables, so a rebuild from the record reproduces them exactly.
"""

from __future__ import annotations

__all__ = ["DUMP_ORDER", "INSERTS", "SCHEMA", "TABLES"]

# (table, columns with types, primary key). Types are portable between SQLite and PostgreSQL.
TABLES: dict[str, tuple[tuple[tuple[str, str], ...], str]] = {
    "meta": ((("key", "TEXT NOT NULL"), ("value", "TEXT NOT NULL")), "key"),
    "sources": (
        (
            ("id", "TEXT NOT NULL"),
            ("name", "TEXT NOT NULL"),
            ("kind", "TEXT NOT NULL"),
            ("fields", "TEXT NOT NULL"),
            ("required", "TEXT NOT NULL"),
        ),
        "id",
    ),
    "contests": (
        (
            ("id", "TEXT NOT NULL"),
            ("name", "TEXT NOT NULL"),
            ("kind", "TEXT NOT NULL"),
            ("position", "INTEGER NOT NULL"),
        ),
        "id",
    ),
    "dapils": (
        (
            ("contest", "TEXT NOT NULL"),
            ("id", "TEXT NOT NULL"),
            ("name", "TEXT NOT NULL"),
            ("regions", "TEXT NOT NULL"),
        ),
        "contest, id",
    ),
    "choices": (
        (
            ("contest", "TEXT NOT NULL"),
            ("dapil", "TEXT NOT NULL"),
            ("id", "TEXT NOT NULL"),
            ("name", "TEXT NOT NULL"),
            ("party", "TEXT"),
            ("position", "INTEGER NOT NULL"),
        ),
        "contest, dapil, id",
    ),
    "regions": (
        (
            ("id", "TEXT NOT NULL"),
            ("parent", "TEXT"),
            ("level", "TEXT NOT NULL"),
            ("name", "TEXT NOT NULL"),
        ),
        "id",
    ),
    "region_totals": (
        (
            ("contest", "TEXT NOT NULL"),
            ("region", "TEXT NOT NULL"),
            ("tps_total", "INTEGER NOT NULL"),
            ("dpt_total", "INTEGER NOT NULL"),
        ),
        "contest, region",
    ),
    "tps": (
        (
            ("id", "TEXT NOT NULL"),
            ("desa", "TEXT NOT NULL"),
            ("number", "INTEGER NOT NULL"),
            ("dpt", "INTEGER"),
            ("kind", "TEXT NOT NULL"),
        ),
        "id",
    ),
    "keys": (
        (
            ("key", "TEXT NOT NULL"),
            ("role", "TEXT NOT NULL"),
            ("source", "TEXT"),
            ("tps", "TEXT"),
            ("registered_seq", "INTEGER NOT NULL"),
            ("registered_by", "TEXT NOT NULL"),
            ("revoked_seq", "INTEGER"),
            ("region", "TEXT"),
        ),
        "key",
    ),
    "forms": (
        (
            ("seq", "INTEGER NOT NULL"),
            ("payload_hash", "TEXT NOT NULL"),
            ("tps", "TEXT NOT NULL"),
            ("contest", "TEXT NOT NULL"),
            ("source", "TEXT NOT NULL"),
            ("replaces", "TEXT"),
            ("attestation", "INTEGER"),
            ("signer", "TEXT"),
            ("payload", "TEXT NOT NULL"),
            ("flags", "TEXT NOT NULL"),
            ("is_current", "INTEGER NOT NULL"),
        ),
        "seq",
    ),
    "attestations": (
        (
            ("seq", "INTEGER NOT NULL"),
            ("payload_hash", "TEXT NOT NULL"),
            ("source", "TEXT NOT NULL"),
            ("signer", "TEXT NOT NULL"),
            ("form_count", "INTEGER NOT NULL"),
        ),
        "seq",
    ),
    "decisions": (
        (
            ("seq", "INTEGER NOT NULL"),
            ("payload_hash", "TEXT NOT NULL"),
            ("kind", "TEXT NOT NULL"),
            ("legal_basis", "TEXT NOT NULL"),
            ("payload", "TEXT NOT NULL"),
        ),
        "seq",
    ),
    "ladder_entries": (  # recap forms, objections and recommendations (the ladder)
        (
            ("seq", "INTEGER NOT NULL"),
            ("payload_hash", "TEXT NOT NULL"),
            ("type", "TEXT NOT NULL"),
            ("contest", "TEXT NOT NULL"),
            ("region", "TEXT NOT NULL"),
            ("signer", "TEXT NOT NULL"),
            ("payload", "TEXT NOT NULL"),
            ("is_current", "INTEGER NOT NULL"),
        ),
        "seq",
    ),
    "tally_layouts": (
        (
            ("contest", "TEXT NOT NULL"),
            ("source", "TEXT NOT NULL"),
            ("choices", "TEXT NOT NULL"),
            ("fields", "TEXT NOT NULL"),
        ),
        "contest, source",
    ),
    "tally": (
        (
            ("contest", "TEXT NOT NULL"),
            ("source", "TEXT NOT NULL"),
            ("region", "TEXT NOT NULL"),
            ("counts", "TEXT NOT NULL"),
        ),
        "contest, source, region",
    ),
}

INDEXES = (
    "CREATE INDEX IF NOT EXISTS forms_tps ON forms (contest, source, tps)",
    "CREATE INDEX IF NOT EXISTS forms_replaces ON forms (replaces)",
    "CREATE INDEX IF NOT EXISTS tally_region ON tally (region)",
    "CREATE INDEX IF NOT EXISTS regions_parent ON regions (parent)",
    "CREATE INDEX IF NOT EXISTS tps_desa ON tps (desa)",
    "CREATE INDEX IF NOT EXISTS ladder_region ON ladder_entries (contest, region)",
    # A ladder entry or decision sent twice is found by its payload hash on the writer.
    "CREATE INDEX IF NOT EXISTS ladder_payload ON ladder_entries (payload_hash)",
    "CREATE INDEX IF NOT EXISTS decisions_payload ON decisions (payload_hash)",
)

SCHEMA: tuple[str, ...] = (
    tuple(
        f"CREATE TABLE IF NOT EXISTS {name} ("
        + ", ".join(f"{col} {kind}" for col, kind in columns)
        + f", PRIMARY KEY ({key}))"
        for name, (columns, key) in TABLES.items()
    )
    + INDEXES
)

INSERTS: dict[str, str] = {
    name: f"INSERT INTO {name} ({', '.join(c for c, _ in cols)}) VALUES "
    f"({', '.join('?' for _ in cols)})"
    for name, (cols, _) in TABLES.items()
}

# Tables in the logical dump, each sorted by every column.
DUMP_ORDER = tuple(TABLES)
