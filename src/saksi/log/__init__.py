"""The election's record: canonical entries in one append-only log (docs/record-format.md)."""
