"""The state machine: applies record entries in order, checking each, emitting projection rows.

Ingest and rebuild both go through ``apply``, so a rebuilt projection equals the one built
live. Each handler checks everything first and mutates only after every check passed,
so a refused entry leaves the state as it was.
"""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from saksi.canonical import canonical_bytes_ascii_keys
from saksi.election.projection import Pending, projection_json
from saksi.errors import RejectedEntry, SaksiError
from saksi.ingest.rules import check_rules
from saksi.ingest.validate import Form, ballot_for, validate_form
from saksi.keys.authority import KeyAuthority, KeyInfo, Role
from saksi.keys.ed25519 import verify_auth
from saksi.keys.enrolment import code_digest, parse_enrolment, parse_issued_codes
from saksi.ladder.state import LadderState
from saksi.log.entry import Auth, Entry, EntryType
from saksi.manifest.entries import ManifestBuilder
from saksi.manifest.model import Manifest
from saksi.registry.entries import apply_registry_payload
from saksi.registry.model import Level, Registry, Tps, TpsKind
from saksi.tally.counters import Tally, TallyLayout

__all__ = ["ATTESTATION_MAX_FORMS", "DECISION_KINDS", "ElectionState", "FormOutcome"]

ATTESTATION_MAX_FORMS = 1000
DECISION_KINDS = frozenset(
    {
        "annul_tps",
        "order_revote",
        "order_recount",
        "accept_correction",
        "reject_form",
        "certify",
        "answer_objection",
    }
)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class FormOutcome:
    """What happened to a submitted form: newly recorded at ``seq``, or a duplicate of it."""

    seq: int
    payload_hash: str
    duplicate: bool


@dataclass(slots=True)
class _Attestation:
    seq: int
    source: str
    signer: str
    remaining: set[bytes]


class ElectionState:
    """Everything needed to check the next entry, kept in memory."""

    def __init__(
        self, election_id: str, read_form: Callable[[int], tuple[dict[str, Any], str]]
    ) -> None:
        self.election_id = election_id
        self.size = 0
        self.manifest: Manifest | None = None
        self._manifest_builder = ManifestBuilder()
        self.registry = Registry()
        self.authority = KeyAuthority()
        self.tally = Tally()
        # (contest, source) -> TPS id -> record index of the current version
        self.heads: dict[tuple[str, str], dict[str, int]] = {}
        self.previous: dict[int, int] = {}  # correction index -> index it replaced
        self.attestations: dict[str, _Attestation] = {}
        self.ballots: dict[tuple[str, str], frozenset[str] | None] = {}
        # (contest, region) -> [TPS, DPT] inside the contest's dapils
        self.dapil_totals: dict[tuple[str, str], list[int]] = {}
        self.dapil_totals_changed: set[tuple[str, str]] = set()
        self.published_size = 0  # log_size of the last publication entry
        self.publication_leaf = -2  # its index in the record (-2: none yet)
        self._read_form = read_form  # (payload, payload hash hex) of a recorded form by index
        self.pending = Pending()
        self.emit = True
        # (source, TPS) -> (digest of its outstanding enrolment code, key that issued it)
        self.enrolment_codes: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.ladder = LadderState(self.registry, self.dapil_totals)

    # -- dispatch -------------------------------------------------------------

    def apply(self, entry: Entry, *, verify: bool) -> FormOutcome | None:
        """Check and apply the entry at index ``self.size``; raise RejectedEntry if refused."""
        if entry.election != self.election_id:
            raise RejectedEntry(
                f"entry belongs to election {entry.election}, not {self.election_id}"
            )
        if self.size == 0:
            self._bootstrap(entry, verify)
            return None
        if entry.type is EntryType.RESULT_FORM:
            return self.apply_form(
                entry.payload,
                entry.payload_hash,
                entry.auth,
                verify=verify,
                payload_bytes=entry.payload_bytes,
            )
        if entry.type is EntryType.ENROLMENT:  # signed by the key it enrols, not yet known
            self._enrolment(entry, verify)
            self.size += 1
            return None
        signer = self.authority.signer(
            entry.auth, entry.type, entry.election, entry.payload_bytes, verify=verify
        )
        handler = {
            EntryType.MANIFEST: self._manifest,
            EntryType.REGISTRY: self._registry,
            EntryType.KEYS_REGISTER: self._keys_register,
            EntryType.KEYS_REVOKE: self._keys_revoke,
            EntryType.ATTESTATION: self._attestation,
            EntryType.DECISION: self._decision,
            EntryType.PUBLICATION: self._publication,
            EntryType.ENROLMENT_CODES: self._enrolment_codes,
            EntryType.RECAP_FORM: self._recap_form,
            EntryType.OBJECTION: self._objection,
            EntryType.RECOMMENDATION: self._recommendation,
        }[entry.type]
        handler(entry, signer)
        self.size += 1
        return None

    def _require_admin(self, signer: KeyInfo, what: str) -> None:
        if signer.role is not Role.ADMIN:
            raise RejectedEntry(f"only the election admin may record {what}")

    def _bootstrap(self, entry: Entry, verify: bool) -> None:
        if entry.type is not EntryType.KEYS_REGISTER or entry.auth.key is None:
            raise RejectedEntry("the record must begin with the admin key's self-registration")
        items = self.authority.parse_new_keys(entry.payload, None)
        if items[0]["key"] != entry.auth.key:
            raise RejectedEntry("the admin key must sign its own registration")
        from saksi.keys.ed25519 import verify_auth

        if verify and not verify_auth(entry.auth, entry.type, entry.election, entry.payload_bytes):
            raise RejectedEntry("the admin key's self-registration has a bad signature")
        self._add_keys(items, entry.auth.key)
        self.size = 1

    # -- manifest, registry, keys ------------------------------------------------

    def _manifest(self, entry: Entry, signer: KeyInfo) -> None:
        self._require_admin(signer, "the manifest")
        if self.manifest is not None:
            raise RejectedEntry("the manifest is complete; it cannot be changed")
        payload = entry.payload
        if payload.get("part") == "election" and payload.get("id") != self.election_id:
            raise RejectedEntry(f"the manifest is for election {payload.get('id')}")
        trial = copy.deepcopy(self._manifest_builder)  # keep the state untouched if refused
        try:
            trial.add(payload)
            manifest = trial.build() if trial.complete() else None
        except SaksiError as exc:
            raise RejectedEntry(str(exc)) from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise RejectedEntry(f"malformed manifest entry: {exc}") from exc
        self._manifest_builder = trial
        if manifest is not None:
            self._install_manifest(manifest)

    def _install_manifest(self, manifest: Manifest) -> None:
        self.manifest = manifest
        pending = self.pending
        pending.meta["origin"] = manifest.origin
        for s in manifest.sources:
            pending.sources.append(
                (s.id, s.name, s.kind.value, ",".join(s.fields), ",".join(s.required))
            )
        for order, contest in enumerate(manifest.contests):
            pending.contests.append((contest.id, contest.name, contest.kind.value, order))
            for position, c in enumerate(contest.choices):
                pending.choices.append((contest.id, "", c.id, c.name, c.party, position))
            for d in contest.dapils:
                pending.dapils.append((contest.id, d.id, d.name, ",".join(d.regions)))
                for position, c in enumerate(d.choices):
                    pending.choices.append((contest.id, d.id, c.id, c.name, c.party, position))
            choice_ids = [c.id for c in contest.all_choices()]
            for s in manifest.sources:
                self.tally.add_layout(contest.id, s.id, TallyLayout(choice_ids, s.fields))
                pending.tally_layouts.append(
                    (contest.id, s.id, ",".join(choice_ids), ",".join(s.fields))
                )
                self.heads[(contest.id, s.id)] = {}

    def _registry(self, entry: Entry, signer: KeyInfo) -> None:
        self._require_admin(signer, "the registry")
        if self.manifest is None:
            raise RejectedEntry("the registry is recorded after the manifest")
        try:
            regions, tps_list = apply_registry_payload(self.registry, entry.payload)
        except SaksiError as exc:
            raise RejectedEntry(str(exc)) from exc
        self._count_in_dapils(tps_list)
        if self.emit:
            self.pending.regions.extend((r.id, r.parent, r.level.value, r.name) for r in regions)
            self.pending.tps.extend((t.id, t.desa, t.number, t.dpt, t.kind.value) for t in tps_list)

    def _count_in_dapils(self, tps_list: list[Tps]) -> None:
        """TPS and DPT totals per region of each contest with dapils, for TPS it covers."""
        if not tps_list or self.manifest is None:
            return
        desa = tps_list[0].desa  # one registry entry holds one desa
        path = self.registry.paths[desa]
        dpt = sum(t.dpt or 0 for t in tps_list)
        for contest in self.manifest.contests:
            if contest.dapils and ballot_for(contest, tps_list[0], self.registry) is not None:
                for region in path:
                    counts = self.dapil_totals.setdefault((contest.id, region), [0, 0])
                    counts[0] += len(tps_list)
                    counts[1] += dpt
                    self.dapil_totals_changed.add((contest.id, region))

    def region_totals(self) -> list[tuple[str, str, int, int]]:
        """(contest, region, TPS, DPT) rows changed since last taken.

        A contest without dapils covers every TPS; one with dapils only those inside.
        """
        assert self.manifest is not None or not self.registry.changed
        rows = []
        registry = self.registry
        national = [c.id for c in self.manifest.contests if not c.dapils] if self.manifest else []
        for region in sorted(registry.changed):
            for contest in national:
                rows.append(
                    (contest, region, registry.tps_count[region], registry.dpt_total[region])
                )
        for contest, region in sorted(self.dapil_totals_changed):
            tps, dpt = self.dapil_totals[(contest, region)]
            rows.append((contest, region, tps, dpt))
        registry.changed.clear()
        self.dapil_totals_changed.clear()
        return rows

    def _add_keys(self, items: list[dict[str, Any]], signer_key: str) -> None:
        for info in self.authority.register(items, self.size, signer_key):
            if self.emit:
                tps = ",".join(sorted(info.tps)) if info.tps is not None else None
                self.pending.keys.append(
                    (
                        info.key,
                        info.role.value,
                        info.source,
                        tps,
                        info.registered_seq,
                        signer_key,
                        None,
                        info.region,
                    )
                )

    def _keys_register(self, entry: Entry, signer: KeyInfo) -> None:
        items = self.authority.parse_new_keys(entry.payload, signer)
        if self.manifest is None:
            raise RejectedEntry("keys are registered after the manifest names the sources")
        if self.manifest is not None:
            for item in items:
                source = item.get("source")
                if source is not None and source not in self.manifest.source_by_id:
                    raise RejectedEntry(f"source {source} is not part of this election")
                region = item.get("region")
                if region is not None and region not in self.registry.regions:
                    raise RejectedEntry(
                        f"region {region} is not registered; register the region before the "
                        f"keys that act for it"
                    )
                if (
                    item.get("role") == Role.RECAP_BODY
                    and self.registry.regions[str(region)].level is Level.DESA
                ):
                    raise RejectedEntry(
                        f"region {region} is a desa; recap bodies sit at kecamatan level and above"
                    )
        self._add_keys(items, signer.key)

    def _enrolment_codes(self, entry: Entry, signer: KeyInfo) -> None:
        issued = parse_issued_codes(entry.payload)
        source = issued.source
        if self.manifest is None or source not in self.manifest.source_by_id:
            raise RejectedEntry(f"source {source} is not part of this election")
        if not (
            signer.role is Role.ADMIN or (signer.role is Role.MANAGER and signer.source == source)
        ):
            raise RejectedEntry(
                f"only the admin or the key manager of source {source} may issue its "
                "enrolment codes"
            )
        for tps, digest in issued.digests.items():
            if tps not in self.registry.tps:
                raise RejectedEntry(f"TPS {tps} is not registered in election {self.election_id}")
            if self.enrolment_codes.get((source, tps), (b"", ""))[0] == digest:
                raise RejectedEntry(f"TPS {tps}: this enrolment code is outstanding already")
        for tps, digest in issued.digests.items():
            self.enrolment_codes[(source, tps)] = (digest, signer.key)

    def _enrolment(self, entry: Entry, verify: bool) -> None:
        code, key, source, tps = parse_enrolment(entry.payload, entry.auth.key)
        outstanding = self.enrolment_codes.get((source, tps))
        if outstanding is None:
            raise RejectedEntry(f"no enrolment code is outstanding for TPS {tps}, source {source}")
        if verify and not verify_auth(entry.auth, entry.type, entry.election, entry.payload_bytes):
            raise RejectedEntry(
                f"TPS {tps}: the enrolment's signature by key {key[:12]}… is not valid for "
                f"election {self.election_id}"
            )
        if code_digest(self.election_id, source, tps, code) != outstanding[0]:
            raise RejectedEntry(f"the enrolment code for TPS {tps}, source {source} is wrong")
        issuer = self.authority.keys[outstanding[1]]
        if issuer.revoked_seq is not None:
            raise RejectedEntry(
                f"TPS {tps}: the key that issued this enrolment code was revoked at entry "
                f"{issuer.revoked_seq}; ask for a new code"
            )
        item = {"key": key, "role": "submitter", "source": source, "tps": [tps]}
        self.authority.parse_new_keys({"keys": [item]}, issuer)
        del self.enrolment_codes[(source, tps)]
        self._add_keys([item], outstanding[1])

    def _keys_revoke(self, entry: Entry, signer: KeyInfo) -> None:
        keys = self.authority.parse_revocation(entry.payload, signer)
        self.authority.revoke(keys, self.size)
        if self.emit:
            self.pending.revoked.extend((self.size, key) for key in keys)

    def _decision(self, entry: Entry, signer: KeyInfo) -> None:
        payload = entry.payload
        kind, basis, acts_on = (
            payload.get("kind"),
            payload.get("legal_basis"),
            payload.get("acts_on"),
        )
        if not isinstance(kind, str) or kind not in DECISION_KINDS:
            raise RejectedEntry(
                f"unknown decision kind {kind!r}; known: {', '.join(sorted(DECISION_KINDS))}"
            )
        if not isinstance(basis, str) or not basis.strip():
            raise RejectedEntry("a decision must state its legal basis")
        if not isinstance(acts_on, list) or not all(
            isinstance(h, str) and _HEX64.fullmatch(h) for h in acts_on
        ):
            raise RejectedEntry("a decision must list the hashes of the entries it acts on")
        digest = entry.payload_hash.hex()
        self.ladder.once(digest, "decision")
        self.ladder.decision(payload, signer, self.manifest, self.size)
        self.ladder.recorded.add(digest)
        if self.emit:
            self.pending.decisions.append(
                (self.size, entry.payload_hash.hex(), kind, basis, projection_json(payload))
            )

    # -- the recapitulation ladder (record-format.md 6.11 to 6.13) ---------------------

    def _recap_form(self, entry: Entry, signer: KeyInfo) -> None:
        if self.manifest is None:
            raise RejectedEntry("the election manifest is not yet recorded")
        self.ladder.recap_form(
            entry.payload, entry.payload_hash.hex(), signer, self.manifest, self.size, self.emit
        )
        self._take_ladder_rows()

    def _objection(self, entry: Entry, signer: KeyInfo) -> None:
        self.ladder.objection(entry.payload, entry.payload_hash.hex(), signer, self.size, self.emit)
        self._take_ladder_rows()

    def _recommendation(self, entry: Entry, signer: KeyInfo) -> None:
        self.ladder.recommendation(
            entry.payload, entry.payload_hash.hex(), signer, self.size, self.emit
        )
        self._take_ladder_rows()

    def _take_ladder_rows(self) -> None:
        ladder = self.ladder
        if ladder.rows or ladder.superseded:
            self.pending.ladder_entries.extend(ladder.rows)
            self.pending.ladder_superseded.extend(ladder.superseded)
            ladder.rows.clear()
            ladder.superseded.clear()

    def _publication(self, entry: Entry, signer: KeyInfo) -> None:
        self._require_admin(signer, "a publication")
        payload = entry.payload
        index, log_size, files = payload.get("index"), payload.get("log_size"), payload.get("files")
        if (
            set(payload) != {"files", "index", "log_size"}
            or not isinstance(index, str)
            or not _HEX64.fullmatch(index)
            or type(log_size) is not int
            or type(files) is not int
            or files < 0
        ):
            raise RejectedEntry(
                "a publication holds the SHA-256 of its index (64 hex digits), the number of "
                "files it lists and the log_size it reflects"
            )
        if not 0 < log_size <= self.size:
            raise RejectedEntry(
                f"a publication at leaf {self.size} cannot reflect log_size {log_size}; "
                f"it must be between 1 and {self.size}"
            )
        if log_size < self.published_size:
            raise RejectedEntry(
                f"a publication of log_size {log_size} would go back behind the published "
                f"log_size {self.published_size}"
            )
        self.published_size, self.publication_leaf = log_size, self.size
        if self.emit:
            self.pending.meta["publication"] = projection_json({**payload, "leaf_index": self.size})

    def _attestation(self, entry: Entry, signer: KeyInfo) -> None:
        payload = entry.payload
        source, forms = payload.get("source"), payload.get("forms")
        if (
            set(payload) != {"source", "forms"}
            or not isinstance(forms, str)
            or not isinstance(source, str)
        ):
            raise RejectedEntry("an attestation holds a source and the hashes of its forms")
        # Only importers attest: a submitter's key is bound to its TPS, which a batch
        # signature would bypass.
        if signer.role is not Role.IMPORTER or signer.source != source:
            raise RejectedEntry(f"key is not an importer of source {source}; it cannot attest")
        try:
            raw = base64.b64decode(forms, validate=True)
        except ValueError as exc:
            raise RejectedEntry("an attestation's form hashes are not valid base64") from exc
        count = len(raw) // 32
        if len(raw) % 32 or not 1 <= count <= ATTESTATION_MAX_FORMS:
            raise RejectedEntry(
                f"an attestation covers 1 to {ATTESTATION_MAX_FORMS} 32-byte form hashes"
            )
        hashes = {raw[i : i + 32] for i in range(0, len(raw), 32)}
        if len(hashes) != count:
            raise RejectedEntry("an attestation lists the same form twice")
        key = entry.payload_hash.hex()
        self.attestations[key] = _Attestation(self.size, source, signer.key, hashes)
        if self.emit:
            self.pending.attestations.append((self.size, key, source, signer.key, count))

    def consume_attestation(self, key: str, digests: list[bytes]) -> None:
        """Mark forms recorded by the bulk path as covered by their attestation."""
        attestation = self.attestations[key]
        attestation.remaining.difference_update(digests)
        if not attestation.remaining:
            del self.attestations[key]

    # -- result forms ----------------------------------------------------------

    def check_form(self, raw: dict[str, Any]) -> Form:
        """Hard checks against the manifest and registry only (no version or key checks)."""
        if self.manifest is None:
            raise RejectedEntry("the election manifest is not yet recorded")
        return validate_form(raw, self.manifest, self.registry, self.ballots)

    def current(self, contest: str, source: str, tps: str) -> int | None:
        heads = self.heads.get((contest, source))
        return heads.get(tps) if heads is not None else None

    def find_version(self, head: int, payload_hash: str) -> int | None:
        """The index of the version with this hash along the head's correction chain."""
        seq: int | None = head
        while seq is not None:
            if self._form_hash(seq) == payload_hash:
                return seq
            seq = self.previous.get(seq)
        return None

    def _form_hash(self, seq: int) -> str:
        return self._read_form(seq)[1]

    def check_version(self, form: Form, hash_hex: str) -> int | None:
        """None for an acceptable new version; the index of an identical recorded version;
        RejectedEntry for a conflict with the latest version."""
        head = self.current(form.contest, form.source, form.tps.id)
        if head is not None:
            found = self.find_version(head, hash_hex)
            if found is not None:
                return found
            head_hash = self._form_hash(head)
            if form.replaces is None:
                raise RejectedEntry(
                    f"TPS {form.tps.id} already has a {form.contest} form from source "
                    f"{form.source} (version {head_hash[:16]}…); a correction must name "
                    "that version in 'replaces'"
                )
            if form.replaces != head_hash:
                raise RejectedEntry(
                    f"TPS {form.tps.id}, contest {form.contest}, source {form.source}: the "
                    f"correction replaces version {form.replaces[:16]}…, but the latest "
                    f"version is {head_hash[:16]}…"
                )
        elif form.replaces is not None:
            raise RejectedEntry(
                f"TPS {form.tps.id} has no {form.contest} form from source {form.source} "
                f"to correct; 'replaces' names version {form.replaces[:16]}…"
            )
        if self.ladder.certified and self._is_official(form.source):
            self.ladder.check_change(
                form.contest,
                self.registry.paths[form.tps.desa],
                form.replaces,
                f"TPS {form.tps.id}, contest {form.contest}, source {form.source}",
            )
        return None

    def _is_official(self, source: str) -> bool:
        assert self.manifest is not None
        return self.manifest.source_by_id[source].kind.value == "official"

    def ladder_freezes(self, contest: str, source: str) -> bool:
        """True when some region is certified for the contest and the source is official:
        the bulk path must then check each form on its own."""
        return bool(self.ladder.certified) and self._is_official(source)

    def apply_form(
        self,
        raw: dict[str, Any],
        payload_hash: bytes,
        auth: Auth,
        *,
        verify: bool,
        form: Form | None = None,
        payload_bytes: bytes | None = None,
    ) -> FormOutcome:
        if form is None:
            form = self.check_form(raw)
            if raw != form.payload:
                raise RejectedEntry(
                    f"TPS {form.tps.id}: the form payload is not in canonical form (absent "
                    "fields are left out, never null; empty photo lists and replaces are "
                    "omitted)"
                )
        hash_hex = payload_hash.hex()
        head = self.current(form.contest, form.source, form.tps.id)
        duplicate = self.check_version(form, hash_hex)
        if duplicate is not None:
            return FormOutcome(duplicate, hash_hex, duplicate=True)
        signer, attestation = self._form_auth(form, auth, payload_hash, raw, verify, payload_bytes)
        # Every check passed: from here on nothing can refuse the form.
        seq = self.size
        if attestation is not None:
            attestation.remaining.discard(payload_hash)
            if not attestation.remaining:
                del self.attestations[auth.attestation or ""]
        tps = form.tps
        flags = self._flags(form)
        layout = self.tally.layout(form.contest, form.source)
        path = self.registry.paths[tps.desa]
        if head is not None:
            old = self.check_form(self._read_form(head)[0])
            old_flags = self._flags(old)
            old_part = layout.contribution(old.votes, old.fields, old_flags, tps.dpt)
            self.tally.apply(form.contest, form.source, path, old_part, -1)
            self.previous[seq] = head
            if form.replaces is not None:
                self.ladder.use_authorisation(form.replaces)
            if self.emit:
                self.pending.superseded.append((head,))
        part = layout.contribution(form.votes, form.fields, flags, tps.dpt)
        self.tally.apply(form.contest, form.source, path, part, 1)
        self.heads[(form.contest, form.source)][tps.id] = seq
        if self.emit:
            self.pending.forms.append(
                (
                    seq,
                    hash_hex,
                    tps.id,
                    form.contest,
                    form.source,
                    form.replaces,
                    attestation.seq if attestation is not None else None,
                    signer if attestation is None else None,
                    (payload_bytes or canonical_bytes_ascii_keys(form.payload)).decode(),
                    ",".join(flags),
                    1,
                )
            )
        self.size = seq + 1
        return FormOutcome(seq, hash_hex, duplicate=False)

    def _flags(self, form: Form) -> list[str]:
        """The consistency rules a checked form breaks."""
        assert self.manifest is not None
        return check_rules(
            form.votes,
            form.fields,
            domestic=form.tps.kind is TpsKind.DOMESTIC,
            registry_dpt=form.tps.dpt,
            max_dpt=self.manifest.domestic_tps_max_dpt,
        )

    def _form_auth(
        self,
        form: Form,
        auth: Auth,
        payload_hash: bytes,
        raw: dict[str, Any],
        verify: bool,
        payload_bytes: bytes | None,
    ) -> tuple[str, _Attestation | None]:
        if auth.attestation is not None:
            attestation = self.attestations.get(auth.attestation)
            if attestation is None or payload_hash not in attestation.remaining:
                raise RejectedEntry(
                    f"TPS {form.tps.id}: attestation {auth.attestation[:16]}… does not cover "
                    "this form"
                )
            if attestation.source != form.source:
                raise RejectedEntry(
                    f"TPS {form.tps.id}: attestation for source {attestation.source} cannot "
                    f"cover a form of source {form.source}"
                )
            return attestation.signer, attestation
        if payload_bytes is None:
            from saksi.canonical import canonical_bytes

            payload_bytes = canonical_bytes(raw)
        info = self.authority.signer(
            auth, EntryType.RESULT_FORM, self.election_id, payload_bytes, verify=verify
        )
        allowed = info.source == form.source and (
            info.role is Role.IMPORTER
            or (info.role is Role.SUBMITTER and info.tps is not None and form.tps.id in info.tps)
        )
        if not allowed:
            raise RejectedEntry(
                f"key {info.key[:12]}… ({info.role} of source {info.source}) is not "
                f"authorised to submit for TPS {form.tps.id}, source {form.source}"
            )
        return info.key, None
