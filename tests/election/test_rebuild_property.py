"""Rebuild property: replaying the record gives exactly the projection that was built live.

Hypothesis drives a small election through random sequences of signed submissions,
corrections (valid, stale and across sources), identical resubmissions, key revocations
and enrolments, bulk imports under attestations, and refused inputs, on both backends.
Afterwards the sorted logical dump and every published tally must be unchanged by
``Election.rebuild()``, by reopening over the kept projection, and by deleting the
projection and reopening (which replays the record).

The test also keeps its own model, a dict of the current form per (TPS, contest, source)
with the history of versions, and recomputes every region's totals from it with plain
sums and its own reading of the consistency rules: that is the independent check that
catches a wrong tally, which a rebuild alone (same code both times) could not.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import tomllib
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from psycopg import sql

from saksi.canonical import canonical_bytes
from saksi.election.bulk import import_columns
from saksi.election.election import Election, Receipt, make_entry
from saksi.errors import RejectedEntry
from saksi.ingest.columns import columns_from_dicts
from saksi.keys.ed25519 import SigningKey
from saksi.log.entry import Entry, EntryType, payload_hash
from saksi.manifest.load import parse_manifest
from saksi.registry.entries import DesaRecord
from saksi.registry.model import Level, Region, Tps, TpsKind
from saksi.store.postgres import split_schema
from saksi.tally.query import tally_report

MANIFEST_TOML = """
[election]
id = "uji-rebuild"
name = "Pemilu uji (rebuild property)"
origin = "saksi.local/uji-rebuild"
domestic_tps_max_dpt = 300

[[contest]]
id = "PPWP"
name = "Pemilihan Presiden dan Wakil Presiden"
kind = "pairs"
choices = [
  { id = "01", name = "Pasangan 01" },
  { id = "02", name = "Pasangan 02" },
]

[[contest]]
id = "DPD"
name = "Dewan Perwakilan Daerah"
kind = "candidates"

[[contest.dapil]]
id = "DPD-11"
name = "Aceh"
regions = ["11"]
choices = [
  { id = "D1", name = "Calon DPD 1" },
  { id = "D2", name = "Calon DPD 2" },
  { id = "D3", name = "Calon DPD 3" },
]

[[source]]
id = "kpps"
name = "KPPS (C.Hasil resmi)"
kind = "official"
fields = ["pengguna_hak_pilih", "suara_sah", "suara_tidak_sah"]
required = ["pengguna_hak_pilih", "suara_sah", "suara_tidak_sah"]

[[source]]
id = "saksi-01"
name = "Saksi paslon 01"
kind = "party_witness"
fields = ["pengguna_hak_pilih", "suara_sah", "suara_tidak_sah"]
required = ["suara_sah"]

[[source]]
id = "saksi-02"
name = "Saksi paslon 02"
kind = "party_witness"
fields = ["pengguna_hak_pilih", "suara_sah", "suara_tidak_sah"]
required = ["suara_sah", "suara_tidak_sah"]

[[source]]
id = "impor"
name = "Data set eksternal"
kind = "import"
fields = ["pengguna_hak_pilih", "suara_sah", "suara_tidak_sah"]
required = ["suara_sah"]
"""

MANIFEST = parse_manifest(tomllib.loads(MANIFEST_TOML))
EID = MANIFEST.election_id
SOURCES = tuple(s.id for s in MANIFEST.sources)
IMPORT_SOURCE = "impor"

_ACEH = Region("11", "ID", Level.PROVINSI, "Aceh")
_SIMEULUE = Region("1101", "11", Level.KABUPATEN_KOTA, "Kab. Simeulue")
_TEUPAH = Region("110101", "1101", Level.KECAMATAN, "Teupah Selatan")
_TIMUR = Region("110102", "1101", Level.KECAMATAN, "Simeulue Timur")
_LN = Region("99", "ID", Level.PROVINSI, "Luar Negeri")
_MY = Region("9901", "99", Level.KABUPATEN_KOTA, "Malaysia")
_KL = Region("990101", "9901", Level.KECAMATAN, "Kuala Lumpur")
DESAS: list[DesaRecord] = [
    (
        (_ACEH, _SIMEULUE, _TEUPAH, Region("1101012001", "110101", Level.DESA, "Latiung")),
        [
            Tps("1101012001001", "1101012001", 1, 250, TpsKind.DOMESTIC),
            Tps("1101012001002", "1101012001", 2, 5, TpsKind.DOMESTIC),
        ],
    ),
    (
        (_ACEH, _SIMEULUE, _TIMUR, Region("1101022001", "110102", Level.DESA, "Ganting")),
        [
            Tps("1101022001001", "1101022001", 1, 300, TpsKind.DOMESTIC),
            Tps("1101022001901", "1101022001", 901, None, TpsKind.DOMESTIC),
        ],
    ),
    (
        (_LN, _MY, _KL, Region("-9901012001", "990101", Level.DESA, "Kuala Lumpur")),
        [
            Tps("-9901012001-001", "-9901012001", 1, None, TpsKind.OVERSEAS),
            Tps("-9901012001-002", "-9901012001", 2, 900, TpsKind.OVERSEAS),
        ],
    ),
]
TPS: dict[str, Tps] = {t.id: t for _, tps_list in DESAS for t in tps_list}
TPS_IDS = tuple(TPS)
PATH: dict[str, tuple[str, ...]] = {
    t.id: ("ID", *(r.id for r in path)) for path, tps_list in DESAS for t in tps_list
}
REGIONS: dict[str, Region] = {"ID": Region("ID", None, Level.NATIONAL, "Indonesia")}
REGIONS.update({r.id: r for path, _ in DESAS for r in path})


def ballot(contest: str, tps: str) -> tuple[str, ...] | None:
    """Choice ids on the ballot at a TPS, read from the manifest TOML by hand."""
    if contest == "PPWP":
        return ("01", "02")
    return ("D1", "D2", "D3") if "11" in PATH[tps] else None


CONTESTS = ("PPWP", "DPD")
FORM_KEYS = tuple(
    (t, c, s) for t in TPS_IDS for c in CONTESTS for s in SOURCES if ballot(c, t) is not None
)
FormKey = tuple[str, str, str]  # TPS, contest, source


# -- the independent model --------------------------------------------------------------


@dataclass
class Version:
    payload: dict[str, Any]
    entry: Entry | None  # None when imported under an attestation
    receipt: Receipt

    @property
    def votes(self) -> dict[str, int]:
        votes: dict[str, int] = self.payload["votes"]
        return votes

    @property
    def fields(self) -> dict[str, int]:
        fields: dict[str, int] = self.payload["fields"]
        return fields


RESERVE_PERCENT = 2
TPS_CAP = 300


def expected_flags(tps: Tps, votes: dict[str, int], fields: dict[str, int]) -> set[str]:
    """The rules this test's forms can break, read from BRIEF's list, written out plainly."""
    flags: set[str] = set()
    valid = fields.get("suara_sah")
    invalid = fields.get("suara_tidak_sah")
    voters = fields.get("pengguna_hak_pilih")
    if valid is not None and sum(votes.values()) != valid:
        flags.add("votes_sum_valid")
    valid_invalid = None if valid is None or invalid is None else valid + invalid
    if valid_invalid is not None and voters is not None and valid_invalid != voters:
        flags.add("valid_invalid_voters")
    if tps.kind is TpsKind.DOMESTIC:
        if tps.dpt is not None and voters is not None:
            reserve = (tps.dpt * RESERVE_PERCENT + 99) // 100
            if voters > tps.dpt + reserve:
                flags.add("voters_exceed_dpt_reserve")
        cap = TPS_CAP + (TPS_CAP * RESERVE_PERCENT + 99) // 100
        if any(v > cap for v in [*votes.values(), *fields.values()]):
            flags.add("count_exceeds_tps_cap")
    return flags


def expected_figures(
    current: list[tuple[Tps, Version]], contest: str, source: str
) -> dict[str, Any]:
    """Tally figures recomputed from the current forms of one region, contest and source."""
    choice_ids = [c.id for c in MANIFEST.contest_by_id[contest].all_choices()]
    source_fields = MANIFEST.source_by_id[source].fields
    sums = {f: sum(v.fields.get(f, 0) for _, v in current) for f in source_fields}
    missing = {f: sum(f not in v.fields for _, v in current) for f in source_fields}
    missing["dpt"] = sum(t.dpt is None for t, _ in current)
    flagged: dict[str, int] = {}
    for tps, version in current:
        for rule in expected_flags(tps, version.votes, version.fields):
            flagged[rule] = flagged.get(rule, 0) + 1
    turnout_voters = turnout_dpt = 0
    for tps, version in current:
        voters = version.fields.get("pengguna_hak_pilih")
        if voters is not None and tps.dpt is not None:
            turnout_voters += voters
            turnout_dpt += tps.dpt
    return {
        "choices": {c: sum(v.votes.get(c, 0) for _, v in current) for c in choice_ids},
        "valid": sums["suara_sah"],
        "invalid": sums["suara_tidak_sah"],
        "voters": sums["pengguna_hak_pilih"],
        "dpt": sum(t.dpt or 0 for t, _ in current),
        "turnout": round(turnout_voters / turnout_dpt, 6) if turnout_dpt else None,
        "tps_reported": len(current),
        "flagged_tps": flagged,
        "missing": {f: n for f, n in missing.items() if n},
        "fields": sums,
    }


# -- one run of the property --------------------------------------------------------------


@dataclass
class Run:
    election: Election
    data: st.DataObject
    versions: dict[FormKey, list[Version]] = field(default_factory=dict)
    submitters: dict[str, SigningKey] = field(default_factory=dict)
    revoked: dict[str, list[SigningKey]] = field(default_factory=dict)
    narrow: SigningKey | None = None  # a kpps submitter for the first TPS only
    importer: SigningKey | None = None
    keys_made: int = 0
    refused: int = 0
    duplicates: int = 0

    # -- helpers ------------------------------------------------------------------------

    def new_key(self) -> SigningKey:
        """A fresh key, derived from a counter so that examples replay deterministically."""
        self.keys_made += 1
        return SigningKey.from_seed(hashlib.sha256(f"key-{self.keys_made}".encode()).digest())

    def draw(self, strategy: st.SearchStrategy[Any], label: str) -> Any:
        return self.data.draw(strategy, label=label)

    def head(self, key: FormKey) -> Version | None:
        history = self.versions.get(key)
        return history[-1] if history else None

    def draw_form(self, key: FormKey, *, replaces: str | None = None) -> dict[str, Any]:
        """A well-formed payload with random numbers, sometimes breaking consistency rules."""
        tps, contest, source = key
        choices = ballot(contest, tps)
        assert choices is not None
        count = st.one_of(st.integers(0, 150), st.integers(0, 1500))
        votes = {c: self.draw(count, f"votes {c}") for c in choices}
        valid = sum(votes.values())
        if self.draw(st.booleans(), "valid off"):
            valid = max(0, valid + self.draw(st.integers(-9, 9), "valid delta"))
        invalid = self.draw(st.integers(0, 12), "invalid")
        voters = valid + invalid
        if self.draw(st.booleans(), "voters off"):
            voters = self.draw(st.integers(0, 400), "voters")
        fields: dict[str, int] = {
            "suara_sah": valid,
            "suara_tidak_sah": invalid,
            "pengguna_hak_pilih": voters,
        }
        required = MANIFEST.source_by_id[source].required
        for name in list(fields):
            if name not in required and self.draw(st.integers(0, 2), f"{name} absent") == 0:
                del fields[name]  # an absent optional field is left out, never null
        payload: dict[str, Any] = {
            "tps": tps,
            "contest": contest,
            "source": source,
            "votes": votes,
            "fields": fields,
        }
        photos = self.draw(st.sampled_from([0, 0, 1, 2]), "photos")
        if photos:
            payload["photos"] = [
                hashlib.sha256(f"{tps}-{contest}-{source}-{valid}-{i}".encode()).hexdigest()
                for i in range(photos)
            ]
        if replaces is not None:
            payload["replaces"] = replaces
        return payload

    def well_formed(self, key: FormKey) -> dict[str, Any]:
        """A payload that would be accepted (a correction when the key has a version)."""
        head = self.head(key)
        return self.draw_form(key, replaces=head.receipt.payload_hash if head else None)

    def recorded(self, key: FormKey, payload: dict[str, Any]) -> Version | None:
        """The recorded version of this key with exactly this payload, if any."""
        digest = payload_hash(EntryType.RESULT_FORM, EID, canonical_bytes(payload)).hex()
        for version in self.versions.get(key, []):
            if version.receipt.payload_hash == digest:
                return version
        return None

    def refuse_or_duplicate(
        self, key: FormKey, payload: dict[str, Any], signer: SigningKey, match: str
    ) -> None:
        """Refused, unless the random payload happens to repeat a version exactly."""
        version = self.recorded(key, payload)
        if version is None:
            self.refuse_form(payload, signer, match)
            return
        before = self.snapshot()
        [receipt] = self.election.append([make_entry(EntryType.RESULT_FORM, EID, payload, signer)])
        assert receipt == replace(version.receipt, duplicate=True)
        assert self.snapshot() == before
        self.duplicates += 1

    def signer_for(self, source: str) -> SigningKey:
        if source == IMPORT_SOURCE and self.draw(st.booleans(), "importer signs"):
            assert self.importer is not None
            return self.importer
        return self.submitters[source]

    def snapshot(self) -> tuple[int, int, list[str]]:
        election = self.election
        return len(election.record), election.state.size, list(election.store.dump())

    def accept(self, key: FormKey, payload: dict[str, Any], signer: SigningKey) -> None:
        election = self.election
        size = len(election.record)
        entry = make_entry(EntryType.RESULT_FORM, EID, payload, signer)
        [receipt] = election.append([entry])
        assert receipt is not None
        assert not receipt.duplicate
        assert receipt.leaf_index == size
        assert len(election.record) == size + 1
        assert receipt.payload_hash == entry.payload_hash.hex()
        assert receipt.entry_hash == hashlib.sha256(election.record[size]).hexdigest()
        self.versions.setdefault(key, []).append(Version(payload, entry, receipt))

    def refuse(self, entries: list[Entry], match: str) -> None:
        """The entries are refused with the given message and nothing at all changes."""
        before = self.snapshot()
        with pytest.raises(RejectedEntry, match=match):
            self.election.append(entries)
        assert self.snapshot() == before
        self.refused += 1

    def refuse_form(self, payload: dict[str, Any], signer: SigningKey, match: str) -> None:
        self.refuse([make_entry(EntryType.RESULT_FORM, EID, payload, signer)], match)

    def keys_entry(self, source: str, payload: dict[str, Any], kind: EntryType) -> Entry:
        return make_entry(kind, EID, payload, self.election.key("manager", source))

    # -- set-up ---------------------------------------------------------------------------

    def set_up(self) -> None:
        election = self.election
        assert election.import_registry(DESAS) == len(TPS)
        for source in SOURCES:
            key = self.new_key()
            self.submitters[source] = key
            items: list[dict[str, Any]] = [
                {"key": key.public_b64, "role": "submitter", "source": source, "tps": [*TPS_IDS]}
            ]
            if source == "kpps":
                self.narrow = self.new_key()
                items.append(
                    {
                        "key": self.narrow.public_b64,
                        "role": "submitter",
                        "source": source,
                        "tps": [TPS_IDS[0]],
                    }
                )
            election.append([self.keys_entry(source, {"keys": items}, EntryType.KEYS_REGISTER)])
        self.importer = election.importer_key(IMPORT_SOURCE)

    # -- operations -------------------------------------------------------------------------

    def op_submit(self) -> None:
        key: FormKey = self.draw(st.sampled_from(FORM_KEYS), "form key")
        source = key[2]
        payload = self.draw_form(key)
        if self.head(key) is None:
            self.accept(key, payload, self.signer_for(source))
        else:
            self.refuse_or_duplicate(key, payload, self.submitters[source], "already has a .* form")

    def op_correct(self) -> None:
        if not self.versions:
            self.op_submit()
            return
        key: FormKey = self.draw(st.sampled_from(sorted(self.versions)), "corrected form")
        self.accept(key, self.well_formed(key), self.signer_for(key[2]))

    def op_stale(self) -> None:
        """A correction naming a version that is not the latest: refused."""
        if not self.versions:
            self.op_submit()
            return
        key: FormKey = self.draw(st.sampled_from(sorted(self.versions)), "stale form")
        history = self.versions[key]
        tps, contest, source = key
        if len(history) >= 2 and self.draw(st.booleans(), "older version"):
            old = self.draw(st.sampled_from(history[:-1]), "old version")
            payload = self.draw_form(key, replaces=old.receipt.payload_hash)
            self.refuse_or_duplicate(key, payload, self.submitters[source], "latest version is")
            return
        # A correction in another source naming this source's version.
        other = self.draw(st.sampled_from([s for s in SOURCES if s != source]), "other source")
        other_key = (tps, contest, other)
        payload = self.draw_form(other_key, replaces=history[-1].receipt.payload_hash)
        match = "latest version is" if self.head(other_key) else "to correct"
        self.refuse_form(payload, self.submitters[other], match)

    def op_resubmit(self) -> None:
        """An identical resubmission of any recorded version returns its original receipt."""
        everything = [v for key in sorted(self.versions) for v in self.versions[key]]
        if not everything:
            self.op_submit()
            return
        version: Version = self.draw(st.sampled_from(everything), "resubmitted version")
        before = self.snapshot()
        entry = version.entry
        if version.payload["source"] == IMPORT_SOURCE and self.draw(st.booleans(), "reimport"):
            assert self.importer is not None
            summary = self.election.import_forms([version.payload], self.importer)
            assert (summary.recorded, summary.duplicates, summary.attestations) == (0, 1, 0)
        else:
            if entry is None:
                assert self.importer is not None
                entry = make_entry(EntryType.RESULT_FORM, EID, version.payload, self.importer)
            [receipt] = self.election.append([entry])
            assert receipt == replace(version.receipt, duplicate=True)
        assert self.snapshot() == before
        self.duplicates += 1

    def op_revoke(self) -> None:
        """A manager revokes its submitter: the old key is refused, a new one is enrolled."""
        source: str = self.draw(st.sampled_from(SOURCES), "revoking source")
        old = self.submitters[source]
        self.election.append(
            [
                self.keys_entry(
                    source,
                    {"keys": [old.public_b64], "reason": "ponsel saksi hilang"},
                    EntryType.KEYS_REVOKE,
                )
            ]
        )
        self.revoked.setdefault(source, []).append(old)
        tps = self.draw(st.sampled_from(TPS_IDS), "revoked key's TPS")
        self.refuse_form(self.well_formed((tps, "PPWP", source)), old, "was revoked")
        new = self.new_key()
        item = {"key": new.public_b64, "role": "submitter", "source": source, "tps": list(TPS_IDS)}
        self.election.append([self.keys_entry(source, {"keys": [item]}, EntryType.KEYS_REGISTER)])
        self.submitters[source] = new

    def op_import(self) -> None:
        """A bulk import under batch attestations: new forms, corrections and duplicates."""
        assert self.importer is not None
        contest: str = self.draw(st.sampled_from(CONTESTS), "imported contest")
        keys = [k for k in FORM_KEYS if k[1] == contest and k[2] == IMPORT_SOURCE]
        chosen: list[FormKey] = self.draw(
            st.lists(st.sampled_from(keys), min_size=1, max_size=4, unique=True), "imported"
        )
        # Identical copies of recorded versions (of other TPS: one import has each TPS once).
        others = [k for k in keys if k not in chosen and self.versions.get(k)]
        dup_keys: list[FormKey] = (
            self.draw(st.lists(st.sampled_from(others), max_size=2, unique=True), "dups")
            if others
            else []
        )
        dups = [self.draw(st.sampled_from(self.versions[k]), "duplicated") for k in dup_keys]
        forms: list[tuple[FormKey | None, dict[str, Any]]] = [
            (k, self.well_formed(k)) for k in chosen
        ]
        forms += [(None, v.payload) for v in dups]
        forms = self.draw(st.permutations(forms), "import order")
        payloads = [f for _, f in forms]
        chunk_size: int = self.draw(st.sampled_from([1, 2, 1000]), "chunk size")
        if chunk_size == 1000:
            summary = self.election.import_forms(payloads, self.importer)
        else:  # several attestations in one import
            columns = columns_from_dicts(
                payloads,
                MANIFEST.contest_by_id[contest],
                MANIFEST.source_by_id[IMPORT_SOURCE],
            )
            summary = import_columns(self.election, columns, self.importer, chunk_size=chunk_size)
        assert summary.recorded == len(chosen)
        assert summary.duplicates == len(dups)
        assert summary.attestations == -(-len(chosen) // chunk_size)
        for key, payload in forms:
            if key is not None:
                self.record_import(key, payload)

    def record_import(self, key: FormKey, payload: dict[str, Any]) -> None:
        """Find an imported form by the hash of its canonical payload, and model it."""
        digest = payload_hash(EntryType.RESULT_FORM, EID, canonical_bytes(payload)).hex()
        rows = self.election.store.query(
            "SELECT seq, is_current, attestation, signer FROM forms WHERE payload_hash = ?",
            (digest,),
        )
        assert len(rows) == 1, (key, payload)
        seq, current, attestation, signer = rows[0]
        assert (current, signer) == (1, None)
        assert attestation is not None
        assert attestation < seq
        entry_hash = hashlib.sha256(self.election.record[seq]).hexdigest()
        receipt = Receipt(seq, entry_hash, digest, False)
        self.versions.setdefault(key, []).append(Version(payload, None, receipt))

    def op_reject(self) -> None:
        """Hard errors and unauthorised signers: refused, and nothing is stored."""
        kind = self.draw(st.sampled_from(REJECTIONS), "rejection")
        key: FormKey = self.draw(st.sampled_from(FORM_KEYS), "refused form key")
        tps, contest, source = key
        payload = self.well_formed(key)
        signer = self.submitters[source]
        if kind == "unknown_tps":
            payload["tps"] = "1101012001999"
            self.refuse_form(payload, signer, "TPS 1101012001999 is not registered")
        elif kind == "negative":
            choice = next(iter(payload["votes"]))
            payload["votes"][choice] = -1
            self.refuse_form(payload, signer, "must not be negative")
        elif kind == "not_a_number":
            payload["fields"]["suara_sah"] = "120"
            self.refuse_form(payload, signer, "must be a whole number")
        elif kind == "unknown_choice":
            payload["votes"]["03"] = 4
            self.refuse_form(payload, signer, "choice 03 is not on the")
        elif kind == "missing_required":
            del payload["fields"]["suara_sah"]
            self.refuse_form(payload, signer, "required field.* suara_sah")
        elif kind == "not_on_ballot":
            payload["contest"] = "DPD"
            payload["tps"] = "-9901012001-002"
            payload.pop("replaces", None)
            self.refuse_form(payload, signer, "not registered for contest DPD")
        elif kind == "other_source_key":
            other = self.submitters[SOURCES[(SOURCES.index(source) + 1) % len(SOURCES)]]
            self.refuse_form(payload, other, "not authorised")
        elif kind == "narrow_key":
            assert self.narrow is not None
            wrong = (TPS_IDS[1], contest, "kpps")
            self.refuse_form(self.well_formed(wrong), self.narrow, "not authorised")
        elif kind == "unregistered_key":
            self.refuse_form(payload, self.new_key(), "is not registered in this election")
        elif kind == "bad_signature":
            good = make_entry(EntryType.RESULT_FORM, EID, payload, signer)
            forged = self.well_formed(key)
            forged["votes"] = {c: v + 1 for c, v in forged["votes"].items()}
            unsigned = make_entry(EntryType.RESULT_FORM, EID, forged, signer)
            self.refuse([replace(unsigned, auth=good.auth)], "is not valid")
        elif kind == "foreign_revocation":
            revoke = self.keys_entry(
                SOURCES[(SOURCES.index(source) + 1) % len(SOURCES)],
                {"keys": [signer.public_b64], "reason": "bukan wewenangnya"},
                EntryType.KEYS_REVOKE,
            )
            self.refuse([revoke], "may not revoke")
        elif kind == "foreign_enrolment":
            item: dict[str, Any] = {
                "key": self.new_key().public_b64,
                "role": "submitter",
                "source": source,
                "tps": [tps],
            }
            manager_of = SOURCES[(SOURCES.index(source) + 1) % len(SOURCES)]
            self.refuse(
                [self.keys_entry(manager_of, {"keys": [item]}, EntryType.KEYS_REGISTER)],
                "may only enrol",
            )
        elif kind == "batch_all_or_nothing":
            # A good form then a bad one in one batch: the batch is refused whole.
            fresh = [k for k in FORM_KEYS if self.head(k) is None]
            first = self.draw(st.sampled_from(fresh), "good form") if fresh else key
            good = make_entry(
                EntryType.RESULT_FORM, EID, self.well_formed(first), self.submitters[first[2]]
            )
            payload["votes"] = {c: -v - 1 for c, v in payload["votes"].items()}
            bad = make_entry(EntryType.RESULT_FORM, EID, payload, signer)
            self.refuse([good, bad], "must not be negative")
        elif kind == "null_field":
            name = self.draw(st.sampled_from(sorted(payload["fields"])), "null field")
            payload["fields"][name] = None
            required = MANIFEST.source_by_id[source].required
            match = "required field" if name in required else "not in canonical form"
            self.refuse_form(payload, signer, match)
        else:
            assert kind.startswith("import_")
            self.refuse_import(kind.removeprefix("import_"))

    def refuse_import(self, how: str) -> None:
        """An import with one bad form stores none of its forms."""
        assert self.importer is not None
        contest: str = self.draw(st.sampled_from(CONTESTS), "imported contest")
        keys = [k for k in FORM_KEYS if k[1] == contest and k[2] == IMPORT_SOURCE]
        first: FormKey = self.draw(st.sampled_from(keys), "imported key")
        forms = [self.well_formed(first)]
        heads = [k for k in keys if k != first and self.head(k) is not None]
        second: FormKey = self.draw(st.sampled_from([k for k in keys if k != first]), "bad key")
        if how == "missing_replaces" and heads:
            second = self.draw(st.sampled_from(heads), "uncorrected key")
            bad = self.draw_form(second)  # no 'replaces'
            if self.recorded(second, bad) is not None:  # it repeats the first version
                bad["votes"] = {c: v + 1 for c, v in bad["votes"].items()}
            match = "already has a .* form"
        elif how == "same_tps_twice":
            bad = self.draw_form(first)
            match = f"TPS {first[0]} already appears in form"
        elif how == "two_contests":
            tps = next(t for t in TPS_IDS if ballot("DPD", t) is not None)
            other = "PPWP" if contest == "DPD" else "DPD"
            bad = self.draw_form((tps, other, IMPORT_SOURCE))
            match = "one import carries one contest and one source"
        else:
            bad = self.well_formed(second)
            bad["fields"]["suara_sah"] = -3
            match = "must not be negative"
        forms.insert(self.draw(st.integers(0, 1), "bad position"), bad)
        before = self.snapshot()
        with pytest.raises(RejectedEntry, match=match):
            self.election.import_forms(forms, self.importer)
        assert self.snapshot() == before
        self.refused += 1

    # -- checks ---------------------------------------------------------------------------

    def published(self) -> tuple[list[str], dict[tuple[str, str, str], dict[str, Any]]]:
        store = self.election.store
        tallies = {
            (region, contest, source): tally_report(
                store, region=region, contest=contest, source=source
            )
            for region in REGIONS
            for contest in CONTESTS
            for source in SOURCES
        }
        return list(store.dump()), tallies

    def check_against_model(self) -> None:
        election = self.election
        store = election.store
        current = {k: (TPS[k[0]], history[-1]) for k, history in self.versions.items() if history}
        for region_id, region in REGIONS.items():
            for contest in CONTESTS:
                # A contest with dapils covers only the TPS on its ballot somewhere.
                tps_here = [
                    t
                    for t in TPS.values()
                    if region_id in PATH[t.id] and ballot(contest, t.id) is not None
                ]
                for source in SOURCES:
                    forms = [
                        pair
                        for (t, c, s), pair in sorted(current.items())
                        if c == contest and s == source and region_id in PATH[t]
                    ]
                    expected = {
                        "region": {"id": region.id, "name": region.name, "level": region.level},
                        "contest": contest,
                        "source": source,
                        "log_size": len(election.record),
                        **expected_figures(forms, contest, source),
                        "tps_total": len(tps_here),
                        "dpt_total": sum(t.dpt or 0 for t in tps_here),
                    }
                    got = tally_report(store, region=region_id, contest=contest, source=source)
                    assert got == expected, (region_id, contest, source)
        # The forms table holds every version, and exactly the model's heads are current.
        rows = store.query("SELECT payload_hash, is_current FROM forms")
        assert sorted(rows) == sorted(
            (v.receipt.payload_hash, int(v is history[-1]))
            for history in self.versions.values()
            for v in history
        )
        # Revoked keys stay revoked in the projection; active submitters are not.
        revoked = {str(r[0]) for r in store.query("SELECT key FROM keys WHERE revoked_seq >= 0")}
        assert revoked == {k.public_b64 for keys in self.revoked.values() for k in keys}


REJECTIONS = (
    "unknown_tps",
    "negative",
    "not_a_number",
    "unknown_choice",
    "missing_required",
    "not_on_ballot",
    "other_source_key",
    "narrow_key",
    "unregistered_key",
    "bad_signature",
    "foreign_revocation",
    "foreign_enrolment",
    "batch_all_or_nothing",
    "null_field",
    "import_negative",
    "import_missing_replaces",
    "import_same_tps_twice",
    "import_two_contests",
)
OPERATIONS = (
    "submit",
    "submit",
    "submit",
    "correct",
    "correct",
    "stale",
    "resubmit",
    "revoke",
    "import",
    "reject",
    "reject",
    "reject",
)


# -- backends ------------------------------------------------------------------------------


@pytest.fixture
def backend(store_url: str | None) -> str | None:
    """The PostgreSQL server URL without a schema (None for SQLite); schemas are per example."""
    return None if store_url is None else split_schema(store_url)[0]


def _drop_schema(url: str) -> None:
    base, schema = split_schema(url)
    assert schema is not None
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
        )


def _delete_projection(election_root: Path, store: str | None) -> None:
    if store is None:
        for path in (election_root / "db").iterdir():
            path.unlink()
    else:
        _drop_schema(store)


EXAMPLES = {"sqlite": 25, "postgres": 15}  # PostgreSQL pays ~0.5 s per fresh schema


def test_rebuild_equals_incremental_state(backend: str | None) -> None:
    @settings(
        max_examples=EXAMPLES["sqlite" if backend is None else "postgres"],
        deadline=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        workdir = Path(tempfile.mkdtemp(prefix="saksi-rebuild-"))
        try:
            store = None if backend is None else f"{backend}?saksi_schema=rb_{uuid.uuid4().hex}"
            try:
                run_example(workdir / "election", store, data)
            finally:
                if store is not None:
                    _drop_schema(store)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    check()


def run_example(root: Path, store: str | None, data: st.DataObject) -> None:
    election = Election.create(root, MANIFEST, store=store, manifest_text=MANIFEST_TOML)
    try:
        run = Run(election, data)
        run.set_up()
        operations = data.draw(
            st.lists(st.sampled_from(OPERATIONS), min_size=10, max_size=40), "operations"
        )
        for name in operations:
            getattr(run, f"op_{name}")()
        versions = sum(len(h) for h in run.versions.values())
        event("forms recorded", "under 10" if versions < 10 else "10 or more")
        event("refused inputs", "none" if not run.refused else "some")
        event("identical resubmissions", "none" if not run.duplicates else "some")
        event("revoked keys", "none" if not run.revoked else "some")
        run.check_against_model()
        live = run.published()
        assert election.store.log_size() == len(election.record)

        election.rebuild()
        assert run.published() == live, "rebuild changed the projection"

        election.close()
        election = run.election = Election.open(root)
        assert run.published() == live, "reopening over the kept projection changed it"

        election.close()
        _delete_projection(root, store)
        election = run.election = Election.open(root)
        assert run.published() == live, "replaying the record into a new projection differs"
    finally:
        election.close()
