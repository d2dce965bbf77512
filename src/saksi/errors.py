"""User-facing errors, phrased in election language; the CLI prints them without a traceback."""


class SaksiError(Exception):
    """A problem the user can fix: bad input, a refused submission, a missing file."""


class RejectedEntry(SaksiError):
    """A submission refused by a hard rule; nothing was stored."""


class ManifestError(SaksiError):
    """The election manifest is malformed or inconsistent."""


class RegistryError(SaksiError):
    """The region or TPS registry input is malformed or inconsistent."""


class RecordError(SaksiError):
    """The election's record (its append-only log) is damaged or inconsistent."""


class StoreError(SaksiError):
    """The projection database cannot be opened or written."""
