"""kill -9 the bulk import of the 2019 example at random moments: nothing acknowledged is
lost, the log only grows, and the resumed import ends where an uninterrupted one does.

The whole example is imported (../shared/data/pemilu2019, both sources). The election,
its registry and its keys are made once, as a template; the results are imported into
two copies of it by the same writer, in fixed calls of CHUNK forms: once without
interruption, once by writers killed with SIGKILL after a random delay and restarted.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import DATA
from saksi.election.election import Election
from saksi.examples.pemilu2019 import pemilu2019_manifest, result_files
from saksi.log.checkpoint import Checkpoint
from saksi.log.entry import EntryType, decode_entry
from saksi.log.merkle import leaf_hash, verify_consistency
from saksi.log.note import NoteVerifier, open_note
from saksi.log.record import Record
from saksi.log.tiles import TILE_WIDTH, bundle_path, tile_bytes, tile_path, tiles_at
from saksi.log.tree import Tree
from saksi.registry.pemilu2019 import read_pemilu2019

DATA_DIR = DATA / "pemilu2019"
KILLS = 30
CHUNK = 1000  # forms per import call: one attestation, one record append and fsync
EVERY = 5000  # checkpoint_every_entries: a publication every few calls

# Imports every results file in calls of a fixed size and order, so that a restarted
# writer, which skips the calls already recorded, appends what an uninterrupted one
# would. After each call returns (its entries fsync'd) it prints the acknowledged range
# [start, end) with a digest of its entry hashes, and the checkpoint if a new one was
# published; maybe_publish() first completes a publication a kill cut short.
WRITER = """
import hashlib, json, sys
from pathlib import Path
from saksi.election.election import Election
from saksi.examples.pemilu2019 import result_files
from saksi.ingest.csv_import import columns_from_csv, resolve_contest

folder, data, size = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
note = folder / "public" / "log" / "checkpoint"
read = lambda: note.read_text() if note.exists() else None
shown = read()


def acknowledge(record, start):
    global shown
    current = read()
    if len(record) == start and current == shown:
        return
    digest = hashlib.sha256()
    for data in record.iter_from(start):
        digest.update(hashlib.sha256(data).digest())
    published, shown = (current if current != shown else None), current
    print(json.dumps([start, len(record), digest.hexdigest(), published]), flush=True)


with Election.open(folder) as election:
    record = election.record
    start = len(record)
    election.maybe_publish()
    acknowledge(record, start)
    contest = resolve_contest(election.manifest, None)
    for source, path in result_files(data).items():
        columns = columns_from_csv(path, election.manifest, contest, source)
        signer = election.importer_key(source)
        for first in range(0, len(columns), size):
            rows = range(first, min(first + size, len(columns)))
            if election.state.current(contest.id, source, columns.tps[rows[-1]]) is not None:
                continue  # a call is all or nothing: its last form tells
            start = len(record)
            forms = [columns.raw(i) for i in rows]
            election.import_forms(forms, signer, name=f"{path.name}@{first}")
            acknowledge(record, start)
"""


@dataclass(frozen=True)
class Ack:
    start: int
    end: int
    digest: str
    checkpoint: str | None  # the note published by this call, if any


@dataclass
class Seen:
    """What the test knows of the crashed run so far."""

    vkey: NoteVerifier
    acks: list[Ack] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)  # distinct, as seen
    proven: int = 0  # checkpoints[:proven] are joined pairwise by consistency proofs

    @property
    def end(self) -> int:
        return max((a.end for a in self.acks), default=0)

    def add(self, acks: list[Ack]) -> None:
        for ack in acks:
            self.acks.append(ack)
            if ack.checkpoint is not None:
                self.checkpoint(ack.checkpoint)

    def checkpoint(self, note: str) -> Checkpoint:
        checkpoint = _verified(note, self.vkey)
        if self.checkpoints and checkpoint == self.checkpoints[-1]:
            return checkpoint
        if self.checkpoints:
            last = self.checkpoints[-1].size
            assert checkpoint.size > last, f"checkpoint {checkpoint.size} after {last}"
        self.checkpoints.append(checkpoint)
        return checkpoint


def _verified(note: str, vkey: NoteVerifier) -> Checkpoint:
    text, _ = open_note(note.encode(), [vkey])
    return Checkpoint.parse(text)


def _template(folder: Path) -> None:
    """Everything but the results, made once: keys are random, copies share them."""
    files = result_files(DATA_DIR)
    with Election.create(folder, pemilu2019_manifest(list(files))) as election:
        election.import_registry(read_pemilu2019(DATA_DIR / "tps.csv"))
        for source in files:
            election.importer_key(source)  # enrolling one is an entry: not in the writer
    config = folder / "saksi.toml"
    config.write_text(config.read_text() + f"[log]\ncheckpoint_every_entries = {EVERY}\n")


def _writer(folder: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(folder), str(DATA_DIR), str(CHUNK)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _acks(lines: list[str]) -> list[Ack]:
    # A line cut by the kill was never an acknowledgement.
    return [Ack(*json.loads(line)) for line in lines if line.endswith("\n")]


def _straight(folder: Path) -> tuple[list[Ack], float]:
    """Run the import to its end; returns its acknowledgements and seconds per entry."""
    child = _writer(folder)
    assert child.stdout is not None
    lines, stamps = [], []
    for line in child.stdout:
        lines.append(line)
        stamps.append(time.monotonic())
    _, err = child.communicate()
    assert child.returncode == 0, err
    acks = _acks(lines)
    return acks, (stamps[-1] - stamps[0]) / (acks[-1].end - acks[0].end)


def _run_and_kill(folder: Path, delay: float) -> list[Ack]:
    child = _writer(folder)
    assert child.stdout is not None
    first = child.stdout.readline()
    if not first:
        _, err = child.communicate()
        raise AssertionError(f"writer exited {child.returncode} before any ack: {err}")
    time.sleep(delay)  # after its first acknowledgement: the kill is inside the import
    os.kill(child.pid, signal.SIGKILL)
    out, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, f"writer ended by itself: {err}"
    return _acks([first, *out.splitlines(keepends=True)])


def _check(folder: Path, seen: Seen, straight: bytes, starts: set[int]) -> None:
    """The log verifies and keeps every acknowledged entry and every signed size."""
    with Record(folder / "record" / "entries", writable=False) as record:
        entries = list(record.iter_from(0))
        size = len(entries)
        for ack in seen.acks:
            assert ack.end <= size, f"acknowledged entries {ack.start}..{ack.end} lost"
            digest = hashlib.sha256()
            for data in entries[ack.start : ack.end]:
                digest.update(hashlib.sha256(data).digest())
            assert digest.hexdigest() == ack.digest, f"acknowledged {ack.start}.. changed"
        # A kill only cuts the tail: the record is a prefix of the uninterrupted run's,
        # made of whole appends (one per call's forms, one per publication entry).
        assert straight.startswith(record.framed(0, size)), "the record departs"
        assert size in starts, (
            f"the record ends inside an append ({size} entries): an unacknowledged "
            "import call was partly recorded, so the resumed import will differ"
        )
        tree = Tree()
        for data in entries:
            tree.append(leaf_hash(data))
        note = folder / "public" / "log" / "checkpoint"
        if note.exists():  # the published log verifies: checkpoint, tiles, bundles
            current = seen.checkpoint(note.read_text())
            public = folder / "public" / "log"
            for level, index, width in tiles_at(current.size):
                path = public / tile_path(level, index, width)
                assert path.read_bytes() == tile_bytes(tree, level, index, width), path
                if level == 0:
                    bundle = record.framed(index * TILE_WIDTH, index * TILE_WIDTH + width)
                    assert (public / bundle_path(index, width)).read_bytes() == bundle
    for checkpoint in seen.checkpoints:
        assert tree.root(checkpoint.size) == checkpoint.root  # no fork under a signed size
    for k, new in enumerate(seen.checkpoints[seen.proven :], seen.proven):
        for old in seen.checkpoints[:k]:
            proof = tree.consistency_proof(old.size, new.size)
            assert verify_consistency(old.size, new.size, old.root, new.root, proof)
    seen.proven = len(seen.checkpoints)


@pytest.mark.slow
def test_sigkill_during_the_2019_import_loses_nothing_and_ends_where_a_clean_run_does(
    tmp_path: Path,
) -> None:
    template = tmp_path / "template"
    _template(template)
    uninterrupted, crashed = tmp_path / "uninterrupted", tmp_path / "crashed"
    shutil.copytree(template, uninterrupted)
    shutil.copytree(template, crashed)
    with Election.open(template) as election:
        vkey = NoteVerifier.parse(election.log_signer().verifier.vkey())

    done, pace = _straight(uninterrupted)
    total = done[-1].end
    with Record(uninterrupted / "record" / "entries", writable=False) as record:
        straight = record.framed(0, total)
        # Where one append ends and the next begins: before an attestation or a
        # publication, never before a form.
        starts = {total} | {
            i for i in range(total) if decode_entry(record[i]).type is not EntryType.RESULT_FORM
        }

    rng = random.Random(20190417)
    seen = Seen(vkey)
    for kill in range(KILLS):
        left = KILLS - kill
        # Each kill waits for one acknowledged call; the delay after it spreads the kills
        # over the work left, at most half of it (a writer may run faster than the
        # uninterrupted one did), so that every kill lands before the end.
        spare = max(0, total - seen.end - (left + 2) * (CHUNK + 2))
        delay = rng.uniform(0.0, pace * spare * min(2 / (left + 1), 0.5))
        acks = _run_and_kill(crashed, delay)
        assert acks[-1].end < total, "the kill came after the last acknowledgement"
        seen.add(acks)
        _check(crashed, seen, straight, starts)

    child = _writer(crashed)
    out, err = child.communicate(timeout=600)
    assert child.returncode == 0, err
    seen.add(_acks(out.splitlines(keepends=True)))
    _check(crashed, seen, straight, starts)

    assert seen.end == total
    assert len({c.size for c in seen.checkpoints}) > 1
    # Publications happen where they are due, as in the uninterrupted run.
    assert set(seen.checkpoints) <= {_verified(a.checkpoint, vkey) for a in done if a.checkpoint}
    with (
        Record(crashed / "record" / "entries", writable=False) as mine,
        Record(uninterrupted / "record" / "entries", writable=False) as theirs,
    ):
        assert len(mine) == len(theirs) == total
        assert _root(mine) == _root(theirs)
        assert mine.framed(0, total) == theirs.framed(0, total)


def _root(record: Record) -> bytes:
    tree = Tree()
    for data in record.iter_from(0):
        tree.append(leaf_hash(data))
    return tree.root()
