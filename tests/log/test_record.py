"""The append-only record file: length-prefixed entries, torn tails, one writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from saksi.errors import RecordError
from saksi.log.entry import MAX_ENTRY_BYTES
from saksi.log.record import Record

ENTRIES = [b'{"a":1}', b"x", b"y" * 300, b"z" * MAX_ENTRY_BYTES]


def _framed(entries: list[bytes]) -> bytes:
    """The file layout by hand: a big-endian 16-bit length before each entry."""
    return b"".join(len(e).to_bytes(2, "big") + e for e in entries)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "record" / "entries"


def test_append_read_and_iterate(path: Path) -> None:
    with Record(path) as record:
        assert len(record) == 0
        assert record.append(ENTRIES[:2]) == 0
        assert record.append(ENTRIES[2:]) == 2
        assert len(record) == 4
        assert [record[i] for i in range(4)] == ENTRIES
        assert list(record.iter_from(0)) == ENTRIES
        assert list(record.iter_from(3)) == ENTRIES[3:]
        assert list(record.iter_from(4)) == []
    assert path.read_bytes() == _framed(ENTRIES)
    with Record(path) as reopened:
        assert list(reopened.iter_from(1)) == ENTRIES[1:]


def test_iteration_in_small_chunks_yields_every_entry(path: Path) -> None:
    entries = [bytes([65 + i % 26]) * (1 + i * 7) for i in range(200)]
    with Record(path) as record:
        record.append(entries)
        assert list(record.iter_from(0, chunk=64)) == entries
        assert list(record.iter_from(150, chunk=1)) == entries[150:]


@pytest.mark.parametrize(
    "torn",
    [
        b"\x00",  # half a length prefix
        b"\x00\x10",  # a prefix and no entry
        b"\x00\x10" + b"partial",  # a prefix promising 16 bytes, seven written
        b"\xff\xff" + b"q" * 1000,
        b"\x00\x00",  # a zero length is never written
    ],
)
def test_reopen_cuts_only_a_torn_tail(path: Path, torn: bytes) -> None:
    with Record(path) as record:
        record.append(ENTRIES)
    complete = path.read_bytes()
    with path.open("ab") as handle:
        handle.write(torn)
    with Record(path) as record:
        assert len(record) == len(ENTRIES)
        assert list(record.iter_from(0)) == ENTRIES
        assert path.read_bytes() == complete
        # Appending continues right after the last complete entry.
        assert record.append([b"next"]) == len(ENTRIES)
        assert record[len(ENTRIES)] == b"next"
    assert path.read_bytes() == complete + _framed([b"next"])


def test_a_read_only_opening_leaves_a_torn_tail_alone(path: Path) -> None:
    with Record(path) as record:
        record.append(ENTRIES[:2])
    with path.open("ab") as handle:
        handle.write(b"\x00\x09abc")
    before = path.read_bytes()
    with Record(path, writable=False) as reader:
        assert list(reader.iter_from(0)) == ENTRIES[:2]
        with pytest.raises(RecordError, match="read-only"):
            reader.append([b"no"])
    assert path.read_bytes() == before


def test_a_second_writer_is_refused(path: Path) -> None:
    with Record(path) as record:
        record.append([b"first"])
        with pytest.raises(RecordError, match="another saksi process is writing"):
            Record(path)
        # A reader does not need the lock.
        with Record(path, writable=False) as reader:
            assert reader[0] == b"first"
        record.append([b"second"])
    # Once the writer closes, another may open it.
    with Record(path) as again:
        assert list(again.iter_from(0)) == [b"first", b"second"]


@pytest.mark.parametrize(
    "batch",
    [
        [b""],
        [b"z" * (MAX_ENTRY_BYTES + 1)],
        [b"fine", b""],
        [b"fine", b"also fine", b"z" * (MAX_ENTRY_BYTES + 1)],
    ],
)
def test_empty_or_oversize_entries_are_refused_whole(path: Path, batch: list[bytes]) -> None:
    with Record(path) as record:
        record.append([b"kept"])
        before = path.read_bytes()
        with pytest.raises(RecordError, match="cannot be recorded"):
            record.append(batch)
        assert len(record) == 1
        assert path.read_bytes() == before
        # The refused batch left no trace: the next entry takes index 1.
        assert record.append([b"after"]) == 1
        assert list(record.iter_from(0)) == [b"kept", b"after"]
    with Record(path) as reopened:
        assert list(reopened.iter_from(0)) == [b"kept", b"after"]


def test_truncate_drops_entries_from_an_index(path: Path) -> None:
    with Record(path) as record:
        record.append(ENTRIES)
        record.truncate(2)
        assert len(record) == 2
        assert path.read_bytes() == _framed(ENTRIES[:2])
        record.truncate(5)  # beyond the end: nothing to drop
        assert len(record) == 2
        assert record.append([b"again"]) == 2


def test_opening_a_missing_record_read_only_fails(path: Path) -> None:
    with pytest.raises(RecordError, match="no record at"):
        Record(path, writable=False)


# Appends a batch of ten 200-byte entries but lets only PART bytes of its one pwrite reach
# the file before the process is killed, as SIGKILL can do to a large write.
_PARTIAL_WRITER = """
import os, signal, sys
from pathlib import Path
import saksi.log.record as record_module
part = int(sys.argv[2])
real = os.pwrite
def pwrite(fd, data, offset):
    if len(data) > 16:  # the batch itself, not the 16-byte pending marker
        real(fd, data[:part], offset)
        os.kill(os.getpid(), signal.SIGKILL)
    return real(fd, data, offset)
record_module.os.pwrite = pwrite
record = record_module.Record(Path(sys.argv[1]))
record.append([bytes([65 + i]) * 200 for i in range(10)])
"""


@pytest.mark.parametrize("part", [1, 2 + 200, 2 + 200 + 1, 3 * (2 + 200) + 5, 10 * (2 + 200) - 1])
def test_a_batch_cut_short_by_a_kill_is_dropped_whole(path: Path, part: int) -> None:
    import signal
    import subprocess
    import sys

    with Record(path) as record:
        record.append([b"first", b"second"])
    result = subprocess.run(
        [sys.executable, "-c", _PARTIAL_WRITER, str(path), str(part)],
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == -signal.SIGKILL
    assert path.stat().st_size == len(_framed([b"first", b"second"])) + part
    with Record(path, writable=False) as reader:
        assert list(reader.iter_from(0)) == [b"first", b"second"]
    with Record(path) as record:
        assert list(record.iter_from(0)) == [b"first", b"second"]
        record.append([b"third", b"fourth"])  # and the record goes on from there
    assert path.read_bytes() == _framed([b"first", b"second", b"third", b"fourth"])


def test_a_batch_written_whole_survives_a_kill_before_its_fsync(path: Path) -> None:
    with Record(path) as record:
        record.append([b"a" * 300 for _ in range(30)], sync=False)  # no fsync, no close
    with Record(path) as record:
        assert len(record) == 30
