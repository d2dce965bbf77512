"""The append-only record file: entries with 16-bit length prefixes, fsync'd before any ack.

Layout matches a tlog-tiles entry bundle (a big-endian uint16 length, then the entry),
so the Merkle log of the next layer reads these bytes unchanged. Only the tail can be
torn by a crash; opening the record cuts an incomplete final entry, which was never
acknowledged because acknowledgements follow the fsync.

A batch is all or nothing, but a kill can stop one large write part way, leaving whole
entries of a batch nobody acknowledged. So before writing a batch of several entries,
its byte range goes, fsync'd, into `entries.pending`; opening the record cuts a batch
that range shows to be incomplete.
"""

from __future__ import annotations

import bisect
import fcntl
import itertools
import os
from array import array
from collections.abc import Iterator
from pathlib import Path

from saksi.errors import RecordError
from saksi.log.entry import MAX_ENTRY_BYTES

__all__ = ["Record"]

_PREFIX = 2
_PENDING = 16  # two big-endian uint64: where the batch being written starts and ends


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Record:
    """One election's record file, opened by exactly one writer at a time."""

    def __init__(self, path: Path, *, writable: bool = True) -> None:
        self.path = path
        self.writable = writable
        path.parent.mkdir(parents=True, exist_ok=True)
        if writable:
            if not self._pending_path.exists():
                self._pending_path.touch()  # its name is durable before any batch needs it
                _sync_directory(path.parent)
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                os.close(self._fd)
                raise RecordError(
                    f"another saksi process is writing to {path.parent.parent}; stop it first"
                ) from exc
        else:
            if not path.exists():
                raise RecordError(f"no record at {path}")
            self._fd = os.open(path, os.O_RDONLY)
        self._offsets = array("Q")
        try:
            self._end = self._scan()
        except BaseException:
            os.close(self._fd)
            raise

    def _scan(self) -> int:
        data = self._read_range(0, os.fstat(self._fd).st_size)
        pos, total = 0, len(data)
        offsets = self._offsets
        while pos + _PREFIX <= total:
            length = int.from_bytes(data[pos : pos + _PREFIX], "big")
            if length == 0 or pos + _PREFIX + length > total:
                break
            offsets.append(pos)
            pos += _PREFIX + length
        start, end = self._pending()
        if start < pos < end:
            # Part of a batch reached the file before a crash: none of it was acknowledged.
            del offsets[bisect.bisect_left(offsets, start) :]
            return self._cut(start)
        if pos != total:
            if data[pos : pos + _PREFIX] == b"\0\0" and data[pos:].strip(b"\0"):
                # A zero length with data after it is damage, not a torn append: cutting
                # there would drop acknowledged entries.
                raise RecordError(
                    f"the record {self.path} is damaged at byte {pos} (entry {len(offsets)}); "
                    "restore it from a mirror"
                )
            # A torn final write: it was never fsync'd, so never acknowledged.
            return self._cut(pos)
        return pos

    def _cut(self, pos: int) -> int:
        if self.writable:
            os.ftruncate(self._fd, pos)
            os.fsync(self._fd)
        return pos

    @property
    def _pending_path(self) -> Path:
        return self.path.with_name(self.path.name + ".pending")

    def _pending(self) -> tuple[int, int]:
        try:
            data = self._pending_path.read_bytes()
        except FileNotFoundError:
            return 0, 0
        if len(data) != _PENDING:
            return 0, 0  # the marker itself was torn: the batch write had not begun
        return int.from_bytes(data[:8], "big"), int.from_bytes(data[8:], "big")

    def _mark_pending(self, start: int, end: int) -> None:
        fd = os.open(self._pending_path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.pwrite(fd, start.to_bytes(8, "big") + end.to_bytes(8, "big"), 0)
            os.fdatasync(fd)
        finally:
            os.close(fd)

    def _read_range(self, start: int, length: int) -> bytes:
        return os.pread(self._fd, length, start)

    def __len__(self) -> int:
        return len(self._offsets)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Record:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, entries: list[bytes], *, sync: bool = True) -> int:
        """Append entries in order and return the index of the first; fsync when asked."""
        if not self.writable:
            raise RecordError("record opened read-only")
        first = len(self._offsets)
        sizes = [len(entry) for entry in entries]
        if sizes and not 0 < min(sizes) <= max(sizes) <= MAX_ENTRY_BYTES:
            bad = next(s for s in sizes if not 0 < s <= MAX_ENTRY_BYTES)
            raise RecordError(f"entry of {bad} bytes cannot be recorded")
        starts = list(itertools.accumulate((_PREFIX + s for s in sizes), initial=self._end))
        self._offsets.extend(starts[:-1])
        pos = starts[-1]
        prefixes = [size.to_bytes(_PREFIX, "big") for size in sizes]
        data = b"".join(itertools.chain.from_iterable(zip(prefixes, entries, strict=True)))
        try:
            if len(entries) > 1:  # a single entry torn is already cut as a torn tail
                self._mark_pending(self._end, pos)
            written = os.pwrite(self._fd, data, self._end)
            if written != len(data):
                raise OSError("short write")
            if sync:
                os.fsync(self._fd)
        except OSError as exc:
            del self._offsets[first:]
            os.ftruncate(self._fd, self._end)
            raise RecordError(f"could not write the record: {exc}") from exc
        self._end = pos
        return first

    def sync(self) -> None:
        os.fsync(self._fd)

    def truncate(self, size: int) -> None:
        """Drop entries from ``size`` on; only for undoing an append not yet acknowledged."""
        if size >= len(self._offsets):
            return
        self._end = self._offsets[size]
        del self._offsets[size:]
        os.ftruncate(self._fd, self._end)
        os.fsync(self._fd)

    def framed(self, start: int, end: int) -> bytes:
        """Entries [start, end) with their length prefixes: a tlog-tiles entry bundle."""
        if not 0 <= start <= end <= len(self._offsets):
            raise RecordError(f"the record has no entries {start}..{end}")
        if start == end:
            return b""
        first = self._offsets[start]
        last = self._offsets[end] if end < len(self._offsets) else self._end
        return self._read_range(first, last - first)

    def __getitem__(self, index: int) -> bytes:
        start = self._offsets[index]
        end = self._offsets[index + 1] if index + 1 < len(self._offsets) else self._end
        return self._read_range(start + _PREFIX, end - start - _PREFIX)

    def iter_from(self, start: int = 0, chunk: int = 8 << 20) -> Iterator[bytes]:
        """Yield entries from index ``start`` on, reading the file in large chunks."""
        count = len(self._offsets)
        index = start
        while index < count:
            base = self._offsets[index]
            last = index
            while last + 1 < count and self._offsets[last + 1] - base < chunk:
                last += 1
            end = self._offsets[last + 1] if last + 1 < count else self._end
            data = self._read_range(base, end - base)
            for i in range(index, last + 1):
                off = self._offsets[i] - base
                length = int.from_bytes(data[off : off + _PREFIX], "big")
                yield data[off + _PREFIX : off + _PREFIX + length]
            index = last + 1
