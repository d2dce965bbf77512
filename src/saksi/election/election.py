"""An open election: its record, projection store and in-memory state, kept in step.

Write path: check and apply each entry to the state, append the batch to the record,
fsync, and only then acknowledge. Projection rows are written to the store in batches;
the store remembers the record size it reflects, and opening an election replays any
record tail the store has not seen.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saksi.canonical import CanonicalError, canonical_bytes_ascii_keys
from saksi.election.bulk import ImportSummary, import_columns
from saksi.election.folder import ElectionFolder
from saksi.election.projection import Pending
from saksi.election.state import ElectionState, FormOutcome
from saksi.errors import RecordError, RegistryError, RejectedEntry, SaksiError, StoreError
from saksi.ingest.columns import columns_from_dicts
from saksi.keys.ed25519 import SigningKey
from saksi.log.checkpoint import Checkpoint
from saksi.log.entry import Entry, EntryType, check_auth, decode_entry, encode_entry
from saksi.log.note import NoteSigner
from saksi.log.proofs import receipt_from_tree
from saksi.log.publish import LogPublisher, SignedState
from saksi.log.record import Record
from saksi.log.witnessing import WitnessEndpoint
from saksi.manifest.entries import manifest_payloads
from saksi.manifest.model import Manifest
from saksi.publication.publisher import PublicationSummary, Publisher
from saksi.registry.entries import DesaRecord, check_desa_records, registry_payloads
from saksi.registry.model import NATIONAL
from saksi.store.base import Store, open_store
from saksi.witness.cosignature import CosignerKey

__all__ = ["Election", "ImportSummary", "Receipt", "make_entry"]

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class Receipt:
    """Proof of acceptance: the entry's index in the record and its hashes."""

    leaf_index: int
    entry_hash: str
    payload_hash: str
    duplicate: bool


def _public_size(folder: ElectionFolder) -> int:
    """The size of the published checkpoint (0 when none), read without checking it."""
    try:
        lines = (folder.public_dir / "log" / "checkpoint").read_text(encoding="utf-8")
        return int(lines.split("\n")[1])
    except (OSError, ValueError, IndexError):
        return 0


def make_entry(
    entry_type: EntryType, election: str, payload: dict[str, Any], signer: SigningKey
) -> Entry:
    """Build a signed entry from a payload."""
    return signer.entry(entry_type, election, payload)


class Election:
    def __init__(
        self, folder: ElectionFolder, election_id: str, store: Store, record: Record
    ) -> None:
        self.folder = folder
        self.election_id = election_id
        self.store = store
        self.record = record
        self._batch: dict[int, tuple[dict[str, Any], str]] = {}
        self._writer: threading.Thread | None = None
        self._publisher: LogPublisher | None = None
        # The [log] cadence, applied after each commit; the HTTP server applies it itself.
        self.publish_on_commit = True
        self._files: Publisher | None = None
        self._publishing = False
        self._cadence = folder.read_cadence()
        signed = SignedState.load(folder.root / "log-state.json")
        self._published_size = signed.size if signed is not None else 0
        # A crash between saving the signed state and writing the checkpoint leaves the
        # public checkpoint behind: the next maybe_publish signs it again.
        self._checkpoint_behind = self._published_size > _public_size(folder)
        self._published_at = time.monotonic()
        self._writer_error: BaseException | None = None
        self.state = self._new_state()

    # -- opening -----------------------------------------------------------------

    @classmethod
    def create(
        cls,
        root: Path,
        manifest: Manifest,
        *,
        store: str | None = None,
        manifest_text: str | None = None,
    ) -> Election:
        """Make a new election folder: keys, the admin's bootstrap, manifest and managers."""
        folder = ElectionFolder(root)
        if folder.exists() or folder.record_path.exists():
            raise SaksiError(f"{root} already holds an election; choose an empty folder")
        # Open the store before writing anything, so that a bad store URL leaves no
        # half-made election behind that would refuse the next, corrected 'saksi init'.
        stale = open_store(store, folder.sqlite_path, manifest.election_id)
        try:
            stale.drop_all()  # a PostgreSQL schema may hold an earlier election of this id
        finally:
            stale.close()
        folder.write_config(manifest.election_id, store)
        if manifest_text is not None:
            (root / "manifest.toml").write_text(manifest_text, encoding="utf-8")
        election = cls.open(root)
        try:
            admin = SigningKey.generate()
            admin.save(folder.key_path("admin"))
            SigningKey.generate().save(folder.key_path("log"))  # signs the checkpoints
            eid = manifest.election_id
            entries = [
                make_entry(
                    EntryType.KEYS_REGISTER,
                    eid,
                    {"keys": [{"key": admin.public_b64, "role": "admin"}]},
                    admin,
                )
            ]
            entries += [
                make_entry(EntryType.MANIFEST, eid, p, admin) for p in manifest_payloads(manifest)
            ]
            managers = []
            for source in manifest.sources:
                key = SigningKey.generate()
                key.save(folder.key_path("manager", source.id))
                managers.append({"key": key.public_b64, "role": "manager", "source": source.id})
            entries.append(make_entry(EntryType.KEYS_REGISTER, eid, {"keys": managers}, admin))
            election.append(entries)
        except BaseException:
            election.close()
            raise
        return election

    @classmethod
    def open(cls, root: Path, *, progress: Progress | None = None, replay: bool = True) -> Election:
        """Open an election folder; ``replay=False`` skips bringing the projection up to
        date, for a caller that calls ``rebuild`` next (which replays the record anyway)."""
        folder = ElectionFolder(root)
        election_id, store_url = folder.read_config()
        folder.read_cadence()  # refuse a bad [log] section before taking any lock
        record = Record(folder.record_path)
        try:
            store = open_store(store_url, folder.sqlite_path, election_id)
        except BaseException:
            record.close()
            raise
        election = cls(folder, election_id, store, record)
        try:
            store.create()
            if replay:
                election._load(progress)
        except BaseException:
            election.close()
            raise
        return election

    def close(self) -> None:
        try:
            self.wait_for_writer()
        finally:
            self.store.close()
        self.record.close()

    def __enter__(self) -> Election:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- state ----------------------------------------------------------------------

    def _new_state(self) -> ElectionState:
        state = ElectionState(self.election_id, self._read_form)
        state.pending.regions.append((NATIONAL.id, None, NATIONAL.level.value, NATIONAL.name))
        return state

    def _read_form(self, seq: int) -> tuple[dict[str, Any], str]:
        cached = self._batch.get(seq)
        if cached is not None:
            return cached
        entry = decode_entry(self.record[seq])
        return entry.payload, entry.payload_hash.hex()

    def _load(self, progress: Progress | None, *, verify: bool = False) -> None:
        """Replay the record into memory; rows for entries the store lacks are written."""
        self.wait_for_writer()
        self.state = state = self._new_state()
        projected = self.store.log_size()
        if projected > len(self.record):
            raise RecordError(
                f"the projection reflects {projected} entries but the record holds only "
                f"{len(self.record)}; run 'saksi rebuild'"
            )
        # Entries below ``projected`` are already in the store: apply them silently.
        state.emit = projected == 0
        for index, data in enumerate(self.record.iter_from(0)):
            if index == projected and not state.emit:
                self._start_emitting()
            try:
                entry = decode_entry(data)
                outcome = state.apply(entry, verify=verify)
            except (RejectedEntry, CanonicalError) as exc:
                raise RecordError(f"record entry {index} cannot be replayed: {exc}") from exc
            if outcome is not None and outcome.duplicate:
                raise RecordError(f"record entry {index} repeats entry {outcome.seq}")
            if progress is not None and index % 10_000 == 0:
                progress(index)
        if not state.emit:
            self._start_emitting()
        self.flush()

    def _start_emitting(self) -> None:
        state = self.state
        state.emit = True
        state.pending = Pending()
        state.tally.clear_dirty()
        state.region_totals()  # already projected

    def rebuild(self, progress: Progress | None = None, *, verify: bool = True) -> None:
        """Drop every projection table and rebuild it from the record."""
        self.wait_for_writer()
        self.store.drop_all()
        self.store.create()
        self._load(progress, verify=verify)

    @property
    def manifest(self) -> Manifest:
        if self.state.manifest is None:
            raise SaksiError("the election's manifest is not recorded")
        return self.state.manifest

    # -- writing ----------------------------------------------------------------------

    def append(self, entries: list[Entry], *, verify: bool = True) -> list[Receipt | None]:
        """Check, record (fsync) and apply entries as one batch: all of them or none."""
        start = self.state.size
        encoded: list[bytes] = []
        try:
            results: list[Receipt | None] = [
                self._stage(entry, start, encoded, verify) for entry in entries
            ]
        except (RejectedEntry, CanonicalError) as exc:
            self.undo(start)
            if isinstance(exc, CanonicalError):
                raise RejectedEntry(str(exc)) from exc
            raise
        self.commit(encoded, start)
        return results

    def append_each(self, entries: list[Entry]) -> list[Receipt | RejectedEntry]:
        """Check each entry on its own and record (fsync once) those accepted: the group
        commit of the HTTP API, where one refused submission must not sink the others."""
        start = self.state.size
        encoded: list[bytes] = []
        results: list[Receipt | RejectedEntry] = []
        try:
            for entry in entries:
                try:
                    # A refused entry leaves the state as it was (checks come before changes).
                    results.append(self._stage(entry, start, encoded, True))
                except CanonicalError as exc:
                    results.append(RejectedEntry(str(exc)))
                except RejectedEntry as exc:
                    results.append(exc)
        except BaseException:
            self.undo(start)  # an unexpected failure: back to what the record holds
            raise
        self.commit(encoded, start)
        return results

    def _stage(self, entry: Entry, start: int, encoded: list[bytes], verify: bool) -> Receipt:
        """Check and apply one entry of the batch that began at ``start``; its bytes join
        ``encoded`` unless it repeats a form already recorded (then: that receipt)."""
        check_auth(entry.auth)  # the record must read back every entry it holds
        data = encode_entry(entry.type, entry.election, entry.payload_bytes, entry.auth)
        seq = self.state.size
        outcome = self.state.apply(entry, verify=verify)
        if outcome is not None and outcome.duplicate:
            if outcome.seq >= start:  # the same form twice in this batch
                first = encoded[outcome.seq - start]
                return Receipt(
                    outcome.seq, hashlib.sha256(first).hexdigest(), outcome.payload_hash, True
                )
            return self.receipt(outcome)
        if entry.type is EntryType.RESULT_FORM:
            self._batch[seq] = (entry.payload, entry.payload_hash.hex())
        encoded.append(data)
        return Receipt(seq, hashlib.sha256(data).hexdigest(), entry.payload_hash.hex(), False)

    def receipt(self, outcome: FormOutcome) -> Receipt:
        data = self.record[outcome.seq]
        return Receipt(
            outcome.seq, hashlib.sha256(data).hexdigest(), outcome.payload_hash, outcome.duplicate
        )

    def undo(self, start: int) -> None:
        self._batch.clear()
        if self.state.size != start:
            # Earlier entries of the refused batch changed the state: replay the record.
            self._load(None)

    def commit(self, encoded: list[bytes], start: int, *, sync: bool = True) -> None:
        if encoded:
            try:
                first = self.record.append(encoded, sync=sync)
            except RecordError:
                self._batch.clear()
                self._load(None)
                raise
            assert first == start, (first, start)
        self._batch.clear()
        if sync:
            self.flush()
            if self.publish_on_commit and not self._publishing:
                self.maybe_publish()

    def maybe_publish(self) -> Checkpoint | None:
        """Sign a checkpoint when the configured cadence says one is due."""
        entries, seconds = self._cadence
        new = len(self.record) - self._published_size
        due = self._checkpoint_behind or (
            new > 0
            and (
                (entries is not None and new >= entries)
                or (seconds is not None and time.monotonic() - self._published_at >= seconds)
            )
        )
        return self.publish_log() if due else None

    def wait_for_writer(self) -> None:
        """Wait until a background projection write has finished; re-raise its failure."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.join()
        error, self._writer_error = self._writer_error, None
        if error is not None:
            raise StoreError(f"writing the projection failed: {error}") from error

    def _write_in_background(self, *args: Any) -> None:
        try:
            self.store.write(*args)
        except BaseException as exc:  # handed to the main thread by wait_for_writer
            self._writer_error = exc

    def flush(self, *, background: bool = False) -> None:
        """Write pending projection rows and the record size they reflect.

        With ``background`` the write runs on a thread while the caller goes on (SQLite
        and psycopg release the GIL inside the database); the next flush waits for it.
        """
        self.wait_for_writer()
        state = self.state
        tally_rows = [
            (c, s, r, json.dumps(row, separators=(",", ":")))
            for c, s, r, row in state.tally.take_dirty()
        ]
        totals = state.region_totals()
        pending = state.pending
        if not pending and not tally_rows and not totals and self.store.log_size() == state.size:
            return
        pending.meta.setdefault("election_id", self.election_id)
        state.pending = Pending()
        if background:
            self._writer = threading.Thread(
                target=self._write_in_background,
                args=(pending, tally_rows, totals, state.size),
                name="saksi-projection-writer",
            )
            self._writer.start()
        else:
            self.store.write(pending, tally_rows, totals, state.size)

    # -- convenience writers -------------------------------------------------------------

    def key(self, role: str, source: str | None = None) -> SigningKey:
        return SigningKey.load(self.folder.key_path(role, source))

    def import_registry(self, desas: Iterable[DesaRecord], progress: Progress | None = None) -> int:
        """Record the registry, one entry per desa, signed by the admin; returns TPS added.

        Everything is checked before the first entry is recorded: all or nothing.
        """
        admin = self.key("admin")
        desas = list(desas)
        try:
            check_desa_records(self.state.registry, desas)
        except RegistryError as exc:
            raise RejectedEntry(str(exc)) from exc
        batch: list[Entry] = []
        added = 0
        for payload in registry_payloads(desas):
            # Built here from checked regions and TPS: every key is ASCII, every number
            # an integer, so the fast canonical encoder applies.
            body = canonical_bytes_ascii_keys(payload)
            batch.append(admin.entry(EntryType.REGISTRY, self.election_id, payload, body))
            added += len(payload["tps"])
            if len(batch) >= 2000:
                self.append(batch, verify=False)  # signed just now by our own admin key
                batch = []
                if progress is not None:
                    progress(added)
        if batch:
            self.append(batch, verify=False)
        if progress is not None:
            progress(added)
        return added

    def importer_key(self, source: str) -> SigningKey:
        """This machine's importer key for a source, enrolled by the source's manager if new."""
        path = self.folder.key_path("importer", source)
        if path.exists():
            return SigningKey.load(path)
        if source not in self.manifest.source_by_id:
            raise SaksiError(f"source {source} is not part of election {self.election_id}")
        manager_path = self.folder.key_path("manager", source)
        if not manager_path.exists():
            raise SaksiError(
                f"no importer key for source {source} here, and its key manager's key is not "
                f"on this machine ({manager_path}) to enrol one"
            )
        manager = SigningKey.load(manager_path)
        key = SigningKey.generate()
        payload = {"keys": [{"key": key.public_b64, "role": "importer", "source": source}]}
        self.append([make_entry(EntryType.KEYS_REGISTER, self.election_id, payload, manager)])
        key.save(path)
        return key

    def store_photo(self, data: bytes) -> str:
        """Keep a form photo under its SHA-256 (the hash a form lists); returns the hash.

        Written to a temporary name of its own, fsync'd and renamed, so a photo a form
        names is complete whenever it exists. It touches only the photo folder, so it is
        safe from any thread (the HTTP server stores photos off the writer thread), even
        for two uploads of the same photo at once.
        """
        digest = hashlib.sha256(data).hexdigest()
        path = self.folder.photo_path(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=path.parent, prefix=path.name + ".", suffix=".tmp", delete=False
        ) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
        return digest

    def log_signer(self) -> NoteSigner:
        """The checkpoint signer: the log key under the manifest's origin name."""
        return NoteSigner(self.manifest.origin, self.key("log").private)

    def publish_log(self, *, exports: bool = False) -> Checkpoint:
        """Publish what is new (totals, flags, photos; exports on request) under a
        publication entry, then write the log's tiles and bundles and sign a checkpoint."""
        if self._publishing:
            raise SaksiError("a publication is already running in this process")
        self._publishing = True
        try:
            self._publish_files(exports)
            return self._sign_checkpoint()
        finally:
            self._publishing = False

    def publication_files(self) -> Publisher:
        """The writer of public/ (one per open election: it remembers what it wrote)."""
        if self._files is None:
            self._files = Publisher(
                self.folder.public_dir, self.folder.photos_dir, self.election_id
            )
        return self._files

    def record_publication(self, summary: PublicationSummary | None, size: int) -> Checkpoint:
        """Record a publication written from a snapshot at record size ``size`` (None:
        nothing new to record), then sign a checkpoint. The HTTP server writes public/
        off the writer thread and calls this on it."""
        if self._publishing:
            raise SaksiError("a publication is already running in this process")
        self._publishing = True
        try:
            if summary is not None:
                self._append_publication(summary, size)
            return self._sign_checkpoint()
        finally:
            self._publishing = False

    def _log_publisher(self) -> LogPublisher:
        if self._publisher is None:
            witnesses = [
                WitnessEndpoint(url, CosignerKey.parse(vkey))
                for url, vkey in self.folder.read_witnesses()
            ]
            self._publisher = LogPublisher(
                self.folder.public_dir / "log",
                self.folder.root / "log-state.json",
                self.log_signer(),
                witnesses,
            )
        return self._publisher

    def _sign_checkpoint(self) -> Checkpoint:
        self.record.sync()
        checkpoint = self._log_publisher().publish(self.record)
        self._published_size, self._published_at = checkpoint.size, time.monotonic()
        self._checkpoint_behind = False
        return checkpoint

    def inclusion_receipt(self, index: int) -> dict[str, Any] | None:
        """The receipt proving entry ``index`` is in the published checkpoint; None while
        no published checkpoint covers it yet."""
        try:
            note = (self.folder.public_dir / "log" / "checkpoint").read_bytes()
        except FileNotFoundError:
            return None
        size = Checkpoint.parse(note.decode().split("\n\n", 1)[0] + "\n").size
        if index >= size:
            return None
        publisher = self._log_publisher()  # its tree, caught up with the record
        publisher.catch_up(self.record)
        return receipt_from_tree(publisher.tree, self.record[index], index, size, note)

    def _publish_files(self, exports: bool) -> None:
        """Write the publication folder for the current size and record its index."""
        self.flush()  # waits for a background write, then writes the rest itself
        state = self.state
        files = self.publication_files()
        nothing_new = state.size == state.publication_leaf + 1
        if nothing_new and not (exports and not files.exports_at(state.published_size)):
            return
        size = state.size
        self._append_publication(files.publish(self.store, size, exports=exports), size)

    def _append_publication(self, summary: PublicationSummary, size: int) -> None:
        payload = {"files": len(summary.index.files), "index": summary.digest, "log_size": size}
        self.append(
            [make_entry(EntryType.PUBLICATION, self.election_id, payload, self.key("admin"))],
            verify=False,  # signed just now by our own admin key
        )

    def remember_form(self, seq: int, payload: dict[str, Any], payload_hash_hex: str) -> None:
        """Make a form of the batch being applied readable before it reaches the record."""
        self._batch[seq] = (payload, payload_hash_hex)

    def import_forms(
        self,
        forms: Iterable[dict[str, Any]],
        signer: SigningKey,
        *,
        progress: Progress | None = None,
        name: str = "import",
    ) -> ImportSummary:
        """Bulk-import forms of one contest and source under batch attestations.

        All or nothing: every form is checked before the first is recorded.
        """
        items = list(forms)
        if not items:
            return ImportSummary(0, 0, 0)
        first = items[0] if isinstance(items[0], dict) else {}
        contest = self.manifest.contest_by_id.get(str(first.get("contest")))
        source = self.manifest.source_by_id.get(str(first.get("source")))
        if contest is None or source is None:
            self.state.check_form(first)  # raises the specific refusal
            raise RejectedEntry("the first form names no known contest or source")
        others = [
            i
            for i, f in enumerate(items)
            if not isinstance(f, dict)
            or (f.get("contest"), f.get("source")) != (contest.id, source.id)
        ]
        if others:
            raise RejectedEntry(
                f"{name}: form {others[0] + 1} is not a {contest.id} form of source "
                f"{source.id}; one import carries one contest and one source"
            )
        columns = columns_from_dicts(items, contest, source)
        return import_columns(self, columns, signer, name=name, progress=progress)
