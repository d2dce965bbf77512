"""kill -9 a writer at random moments: nothing acknowledged is lost, the log only grows."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from saksi.election.election import Election
from saksi.log.checkpoint import Checkpoint
from saksi.log.merkle import leaf_hash, verify_consistency
from saksi.log.note import NoteVerifier, open_note
from saksi.log.proofs import tree_of
from saksi.log.record import Record
from support import pemilu2019_election, tps_csv

REPO = Path(__file__).resolve().parents[2]
KILLS = 30

# Submits one signed form at a time and prints each receipt once append() returned,
# that is once the entry is fsync'd: those are the acknowledged entries.
WRITER = """
import json, sys
from pathlib import Path
from saksi.election.election import Election
from saksi.keys.ed25519 import SigningKey
from saksi.log.entry import EntryType
folder = Path(sys.argv[1])
with Election.open(folder) as election:
    key = SigningKey.load(folder / "keys" / "importer-kpps.key")
    for tps in sorted(election.state.registry.tps):
        if election.state.current("PPWP", "kpps", tps) is not None:
            continue
        n = int(tps.split("-")[0])
        payload = {"tps": tps, "contest": "PPWP", "source": "kpps",
                   "votes": {"01": n % 97, "02": n % 89},
                   "fields": {"suara_sah": n % 97 + n % 89, "suara_tidak_sah": 1,
                              "pengguna_hak_pilih": n % 97 + n % 89 + 1}}
        entry = key.entry(EntryType.RESULT_FORM, election.election_id, payload)
        [receipt] = election.append([entry])
        print(json.dumps([receipt.leaf_index, receipt.entry_hash]), flush=True)
"""


def _setup(tmp_path: Path) -> Path:
    tps = tps_csv(tmp_path / "tps.csv", 1200, 5, kabupaten=4, kecamatan=9)
    folder = tmp_path / "e"
    with pemilu2019_election(folder, tps) as election:
        election.importer_key("kpps")
    config = folder / "saksi.toml"
    config.write_text(config.read_text() + "[log]\ncheckpoint_every_entries = 25\n")
    return folder


def _run_and_kill(folder: Path, rng: random.Random) -> list[tuple[int, str]]:
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    first = child.stdout.readline()
    if not first:
        _, err = child.communicate()
        raise AssertionError(f"writer exited {child.returncode} before any receipt: {err}")
    acked = [json.loads(first)]  # at least one acknowledgement first
    time.sleep(rng.uniform(0.0, 0.25))
    os.kill(child.pid, signal.SIGKILL)
    out, _ = child.communicate()
    for line in out.splitlines():
        if line.endswith("]"):  # a line cut by the kill was never an acknowledgement
            acked.append(json.loads(line))
    return [(int(index), str(digest)) for index, digest in acked]


def test_sigkill_loses_nothing_acknowledged_and_the_log_only_grows(tmp_path: Path) -> None:
    folder = _setup(tmp_path)
    rng = random.Random(20190417)
    acknowledged: dict[int, str] = {}
    checkpoints: list[Checkpoint] = []
    with Election.open(folder) as election:
        vkey = NoteVerifier.parse(election.log_signer().verifier.vkey())
    for _ in range(KILLS):
        for index, digest in _run_and_kill(folder, rng):
            assert acknowledged.setdefault(index, digest) == digest
        with Election.open(folder) as election:  # replays and resumes cleanly
            record = election.record
            for index, digest in acknowledged.items():
                assert hashlib.sha256(record[index]).hexdigest() == digest
        note = folder / "public" / "log" / "checkpoint"
        if note.exists():
            text, _ = open_note(note.read_bytes(), [vkey])
            checkpoint = Checkpoint.parse(text)
            if checkpoints:
                assert checkpoint.size >= checkpoints[-1].size  # never back
            checkpoints.append(checkpoint)
    assert len(acknowledged) > KILLS
    assert len({c.size for c in checkpoints}) > 1
    with Record(folder / "record" / "entries", writable=False) as record:
        tree = tree_of(record, len(record))
        leaves = [leaf_hash(record[i]) for i in range(len(record))]
    assert leaves[-1] == tree.hash(0, len(leaves) - 1)
    for old, new in itertools.pairwise(checkpoints):
        proof = tree.consistency_proof(old.size, new.size) if old.size < new.size else []
        assert verify_consistency(old.size, new.size, old.root, new.root, proof)
    final = checkpoints[-1]
    assert tree.root(final.size) == final.root
    assert base64.b64encode(final.root).decode() in (folder / "public/log/checkpoint").read_text()
