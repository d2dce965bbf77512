"""Shared by the `saksi verify` tests: one small clean election, the verifier run as a user
runs it, a static HTTP server, and ways to rewrite a published log.

The clean election (300 TPS in 100 desas, about 360 entries, so two entry bundles and a
level-1 tile) holds every kind of entry the verifier replays: bulk forms under
attestations, forms with photos, forms that break a consistency rule, a submitter's
signed form and its correction, the submitter's revocation and a publication. Its
checkpoint is cosigned by a real witness. Tests never change it: they copy it.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saksi.canonical import canonical_bytes
from saksi.election.election import Election
from saksi.keys.ed25519 import SigningKey
from saksi.log.entry import EntryType, encode_entry, payload_hash
from saksi.log.note import NoteSigner
from saksi.log.publish import LogPublisher
from saksi.log.record import Record
from support import free_port, pemilu2019_election, run_saksi, serving, serving_witness, tps_csv

__all__ = [
    "CONTEST",
    "SOURCE",
    "Clean",
    "Outcome",
    "append_and_sign",
    "build_clean",
    "entry_bytes",
    "form",
    "form_hash",
    "grow",
    "read_bundle",
    "record_entries",
    "requests",
    "rewrite_record",
    "serving_folder",
    "sign_log",
    "verify",
    "write_bundle",
]

CONTEST, SOURCE = "PPWP", "kpps"
ELECTION_ID = "pemilu2019"
BROKEN = frozenset({"11-001", "22-002"})  # suara_sah disagrees with the votes: flagged


def form(tps: str, extra: int = 0) -> dict[str, Any]:
    """A PPWP form of source kpps for ``tps``, in canonical form (fields present)."""
    n = int(tps.split("-")[0])
    a, b = n % 97 + extra, n % 89 + 1
    valid = a + b + (5 if tps in BROKEN else 0)
    return {
        "tps": tps,
        "contest": CONTEST,
        "source": SOURCE,
        "votes": {"01": a, "02": b},
        "fields": {"suara_sah": valid, "suara_tidak_sah": 1, "pengguna_hak_pilih": valid + 1},
    }


def form_hash(payload: dict[str, Any]) -> str:
    """The payload hash (hex) of a result form: how a correction names the version."""
    return payload_hash(EntryType.RESULT_FORM, ELECTION_ID, canonical_bytes(payload)).hex()


def entry_bytes(key: SigningKey, entry_type: EntryType, payload: dict[str, Any]) -> bytes:
    """The canonical bytes of an entry with ``payload`` signed by ``key``."""
    entry = key.entry(entry_type, ELECTION_ID, payload)
    return encode_entry(entry.type, entry.election, entry.payload_bytes, entry.auth)


@dataclass(frozen=True)
class Clean:
    """The clean election and what the tests need to know about it."""

    folder: Path  # never modified: tests copy it
    vkey: str  # the log's verifier key
    origin: str
    size: int  # the signed checkpoint's size
    root_hex: str
    witness: str  # vkey of the witness that cosigned the checkpoint
    stranger: str  # vkey of a witness that never saw this log
    forms: int  # result_form entries in the log
    reported: tuple[str, ...]  # TPS with a bulk-imported form
    unreported: tuple[str, ...]  # TPS with no form at all
    photos: tuple[str, ...]  # SHA-256 of the published photos
    submitter: Path  # key file of the revoked submitter
    signed_tps: str  # the TPS whose form (and correction) the submitter signed
    signed_head: str  # payload hash of that TPS's current version
    registration_leaf: int  # where the submitter's key is registered
    importer_leaf: int  # where the kpps importer's key is registered
    region: str  # a desa with forms

    def copy(self, dest: Path) -> Path:
        shutil.copytree(self.folder, dest)
        return dest


def build_clean(root: Path) -> Clean:
    registry = tps_csv(root / "tps.csv", 100, 3, province=lambda d: "BALI" if d % 2 else "ACEH")
    folder = root / "election"
    election = pemilu2019_election(folder, registry)
    eid = election.election_id
    assert eid == ELECTION_ID
    vkey = election.log_signer().verifier.vkey()
    witness = run_saksi("witness", "init", root / "w1", "--name", "w1.example").stdout.strip()
    run_saksi("witness", "add-log", root / "w1", vkey)
    stranger = run_saksi("witness", "init", root / "w2", "--name", "w2.example").stdout.strip()

    tps = sorted(election.state.registry.tps)
    bulk, with_photos, signed_tps, unreported = tps[:240], tps[240:243], tps[243], tps[244:]
    importer = election.importer_key(SOURCE)
    importer_leaf = len(election.record) - 1
    election.import_forms([form(t) for t in bulk], importer)
    photos = [election.store_photo(f"page 1 of the form of TPS {t}".encode()) for t in with_photos]
    election.import_forms(
        [{**form(t), "photos": [h]} for t, h in zip(with_photos, photos, strict=True)], importer
    )
    # A submitter signs one TPS's form and its correction; then its key is revoked.
    submitter = SigningKey.generate()
    submitter.save(root / "submitter.key")
    manager = election.key("manager", SOURCE)
    registration = {
        "keys": [
            {
                "key": submitter.public_b64,
                "role": "submitter",
                "source": SOURCE,
                "tps": [signed_tps],
            }
        ]
    }
    election.append([manager.entry(EntryType.KEYS_REGISTER, eid, registration)])
    registration_leaf = len(election.record) - 1
    first = form(signed_tps)
    correction = {**form(signed_tps, extra=3), "replaces": form_hash(first)}
    election.append([submitter.entry(EntryType.RESULT_FORM, eid, first)])
    election.append([submitter.entry(EntryType.RESULT_FORM, eid, correction)])
    revoke = {"keys": [submitter.public_b64], "reason": "device lost"}
    election.append([manager.entry(EntryType.KEYS_REVOKE, eid, revoke)])

    config = folder / "saksi.toml"
    plain = config.read_text()
    with serving_witness(root / "w1") as url:
        config.write_text(plain + f'[[log.witness]]\nurl = "{url}"\nvkey = "{witness}"\n')
        checkpoint = election.publish_log()
    config.write_text(plain)  # later publications in copies do not look for the witness
    region = election.state.registry.tps[bulk[0]].desa
    election.close()
    return Clean(
        folder=folder,
        vkey=vkey,
        origin=checkpoint.origin,
        size=checkpoint.size,
        root_hex=checkpoint.root.hex(),
        witness=witness,
        stranger=stranger,
        forms=len(bulk) + len(with_photos) + 2,
        reported=tuple(bulk),
        unreported=tuple(unreported),
        photos=tuple(photos),
        submitter=root / "submitter.key",
        signed_tps=signed_tps,
        signed_head=form_hash(correction),
        registration_leaf=registration_leaf,
        importer_leaf=importer_leaf,
        region=region,
    )


def grow(folder: Path, tps: Sequence[str]) -> None:
    """Import forms for ``tps`` through the server and publish: an honest new publication."""
    with Election.open(folder) as election:
        election.import_forms([form(t) for t in tps], election.importer_key(SOURCE))
        election.publish_log()


# -- running the verifier ---------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    code: int
    report: dict[str, Any]
    stdout: str
    stderr: str

    def failures(self, check: str | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.report.get("failures", [])
        return [f for f in found if check is None or f["check"] == check]

    @property
    def checks(self) -> set[str]:
        return {f["check"] for f in self.failures()}

    def passed(self) -> dict[str, Any]:
        """The report of a run that must have verified (exit 0, ok true)."""
        assert self.code == 0, self.report.get("failures") or self.stderr
        assert self.report["ok"] is True
        return self.report

    def failed(self) -> list[dict[str, Any]]:
        """The failures of a run that must have failed verification (exit 1, ok false)."""
        assert self.code == 1, f"exit {self.code}: {self.stderr}"
        assert self.report["ok"] is False
        failures = self.failures()
        assert failures
        return failures


def verify(
    source: Path | str,
    vkey: str | None,
    *args: str | Path,
    state: Path | None = None,
    as_json: bool = True,
) -> Outcome:
    """`saksi verify SOURCE --vkey VKEY ARGS` in a subprocess; never reads or writes the
    user's default monitor state."""
    options: list[str | Path] = ["--vkey", vkey] if vkey is not None else []
    options += ["--state", state] if state is not None else ["--no-state"]
    if as_json:
        options.append("--json")
    result = run_saksi("verify", source, *options, *args, check=False)
    report = json.loads(result.stdout) if as_json and result.stdout.strip() else {}
    return Outcome(result.returncode, report, result.stdout, result.stderr)


# -- a static HTTP server ----------------------------------------------------------------


@contextmanager
def serving_folder(folder: Path, log: Path) -> Iterator[str]:
    """`python -m http.server` serving ``folder`` on loopback, its request log in ``log``."""
    port = free_port()
    command = [
        sys.executable,
        "-u",
        "-m",
        "http.server",
        str(port),
        "--bind",
        "127.0.0.1",
        "--directory",
        str(folder),
    ]
    with log.open("w") as handle, serving(command, port, "HTTP server", stderr=handle):
        yield f"http://127.0.0.1:{port}/"


def requests(log: Path) -> list[str]:
    """The paths of the GET requests in an http.server log, in order."""
    return re.findall(r'"GET /(\S*) HTTP/1\.[01]"', log.read_text())


# -- rewriting the log -------------------------------------------------------------------


def record_entries(folder: Path) -> list[bytes]:
    with Record(folder / "record" / "entries", writable=False) as record:
        return list(record.iter_from(0))


def sign_log(folder: Path, *, fresh: bool = False) -> None:
    """Write the log's tiles and bundles for the record as it is and sign a checkpoint with
    the election's own log key, bypassing the server's state machine. ``fresh`` forgets
    the log published so far (for a record that no longer extends it)."""
    public_log = folder / "public" / "log"
    origin = (public_log / "checkpoint").read_text().split("\n", 1)[0]
    signer = NoteSigner(origin, SigningKey.load(folder / "keys" / "log.key").private)
    if fresh:
        shutil.rmtree(public_log)
        (folder / "log-state.json").unlink()
    with Record(folder / "record" / "entries", writable=False) as record:
        LogPublisher(public_log, folder / "log-state.json", signer).publish(record)


def append_and_sign(folder: Path, entries: list[bytes]) -> int:
    """Append raw entries to the record and sign the grown log; returns the first's index."""
    with Record(folder / "record" / "entries") as record:
        first = record.append(entries)
    sign_log(folder)
    return first


def rewrite_record(folder: Path, change: Callable[[list[bytes]], list[bytes]]) -> None:
    """Replace the record by ``change(entries)`` and sign a new log of it from scratch."""
    entries = change(record_entries(folder))
    data = b"".join(len(e).to_bytes(2, "big") + e for e in entries)
    (folder / "record" / "entries").write_bytes(data)
    (folder / "record" / "entries.pending").unlink(missing_ok=True)
    sign_log(folder, fresh=True)


def read_bundle(path: Path) -> list[bytes]:
    """The entries of a tlog-tiles entry bundle (uint16 length-prefixed)."""
    data, pos, out = path.read_bytes(), 0, []
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 2], "big")
        out.append(data[pos + 2 : pos + 2 + length])
        pos += 2 + length
    return out


def write_bundle(path: Path, entries: list[bytes]) -> None:
    path.write_bytes(b"".join(len(e).to_bytes(2, "big") + e for e in entries))
