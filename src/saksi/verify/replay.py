"""Checks 3–5: replay every entry by the rules of docs/record-format.md (sections 5–6).

Written from that text, apart from the server's state machine: it shares only the
envelope decoder. The recapitulation ladder's entries are checked in
saksi.verify.ladder. A refused entry is reported with its leaf index and skipped; the
replay goes on so that one run shows every problem. Each signature is verified as its
entry is applied (saksi.log.signature).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from saksi.canonical import CanonicalError, decode_canonical
from saksi.log.entry import Auth, Entry, EntryType
from saksi.log.signature import signature_valid
from saksi.verify.ladder import Ladder
from saksi.verify.report import Failure, Refused, Report
from saksi.verify.rules import RuleSet
from saksi.verify.shapes import check_photos, check_version_hash, is_hash

__all__ = ["FormRow", "Key", "Layout", "Refused", "Replay"]

_LEVELS = ("provinsi", "kabupaten_kota", "kecamatan", "desa_kelurahan")
# Roles (record-format.md 6.1): those bound to a source, to a region, and those a
# source's manager may register and revoke.
_SOURCE_ROLES = frozenset({"manager", "submitter", "importer", "plenary_witness"})
_REGION_ROLES = frozenset({"recap_body", "bawaslu"})
_MANAGED_ROLES = frozenset({"submitter", "importer", "plenary_witness"})
_ROLES = frozenset({"admin", *_SOURCE_ROLES, *_REGION_ROLES})
_DECISIONS = frozenset(
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
_MAX_COUNT = 2**31 - 1
_FORM_KEYS = frozenset({"tps", "contest", "source", "votes", "fields", "photos", "replaces"})


class _Where:
    """ "TPS t, contest c, source s", formatted only when an error message needs it."""

    __slots__ = ("text",)

    def __init__(self, tps: str, contest: str, source: str) -> None:
        self.text = (tps, contest, source)

    def __format__(self, spec: str) -> str:
        tps, contest, source = self.text
        return f"TPS {tps}, contest {contest}, source {source}"


@dataclass(slots=True)
class Key:
    role: str
    source: str | None
    tps: tuple[str, ...]  # a submitter's TPS (usually one: a tuple is smallest)
    registered: int
    revoked: int | None = None
    region: str | None = None  # a recap body's or Bawaslu key's region


@dataclass
class Contest:
    id: str
    choices: list[str]  # ids, for a contest without dapils
    dapils_expected: int
    dapils: list[tuple[frozenset[str], list[str]]] = field(default_factory=list)

    def columns(self) -> list[str]:
        out = dict.fromkeys(self.choices)
        for _, choices in self.dapils:
            out.update(dict.fromkeys(choices))
        return list(out)


@dataclass(frozen=True)
class Layout:
    """Columns of a totals row for one contest and source."""

    choices: tuple[str, ...]
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FormRow:
    seq: int
    tps: str
    versions: bytes  # payload hashes of the chain so far, 32 bytes each, oldest first
    votes: tuple[int, ...]  # in Layout.choices order
    fields: tuple[int | None, ...]  # in Layout.fields order; None = absent
    flags: tuple[str, ...]


class Replay:
    """One part of the replay. With ``parts`` > 1, part k applies every entry that is not
    a form, and only the forms of the TPS that hash to k: a form's chain, totals and
    flags depend only on its own TPS, so parts run side by side on separate cores. Part
    0 alone reports problems with the entries every part applies."""

    def __init__(self, report: Report, part: int = 0, parts: int = 1) -> None:
        self.report = report
        self.part, self.parts = part, parts
        self.signatures = 0
        self.election: str | None = None
        self.keys: dict[str, Key] = {}
        self.manifest_done = False
        self.election_part: dict[str, Any] | None = None
        self.sources: dict[str, tuple[list[str], list[str]]] = {}  # id -> (fields, required)
        self.official: set[str] = set()  # sources of kind official: certification freezes them
        self.contests: dict[str, Contest] = {}
        self.max_dpt = 0
        self.origin = ""
        # Registry: region id -> (name, level, parent); TPS id -> (desa, dpt, domestic).
        self.regions: dict[str, tuple[str, str, str]] = {"ID": ("Indonesia", "nasional", "")}
        self.tps: dict[str, tuple[str, int | None, bool]] = {}
        self.paths: dict[str, tuple[str, ...]] = {"ID": ("ID",)}
        self._ballots: dict[tuple[str, str], list[str] | None] = {}
        self.layouts: dict[tuple[str, str], Layout] = {}
        self.rules: dict[str, RuleSet] = {}
        self._field_sets: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        self._ballot_sets: dict[int, frozenset[str]] = {}  # by id() of a manifest ballot
        self._tps_names: dict[str, str] = {}  # each TPS id once, shared by keys and forms
        self.current: dict[tuple[str, str], dict[str, FormRow]] = {}
        self.attestations: dict[str, tuple[str, set[bytes]]] = {}
        self.publications: list[tuple[int, dict[str, Any]]] = []
        self.codes: dict[tuple[str, str], tuple[bytes, str]] = {}  # -> (digest, issuer)
        self.ladder = Ladder()
        self.forms = 0
        self.size = 0

    # -- driving --------------------------------------------------------------

    def apply(self, index: int, data: bytes) -> None:
        self.size = index + 1
        is_form = data.endswith(_FORM_TAIL)
        if is_form and self.parts > 1 and _owner(data, self.parts) != self.part:
            return
        mine = is_form or self.part == 0  # which entries this part reports on
        try:
            entry = _parse(data)
        except (CanonicalError, ValueError, KeyError, TypeError) as exc:
            if mine:
                self._fail(index, f"the entry is not a canonical entry: {exc}", "canonical")
            return
        # Every part applies the entries that are not forms; their signatures are shared
        # out by index, so the registry's 84,000 signatures do not all land on part 0.
        if entry.auth.key is not None and (is_form or index % self.parts == self.part):
            self._check_signature(index, entry)
        try:
            self._apply(index, entry)
        except Refused as exc:
            if mine:
                tps = entry.payload.get("tps") if is_form else None
                self._fail(index, str(exc), entry.type.value, tps if isinstance(tps, str) else None)

    def _check_signature(self, index: int, entry: Entry) -> None:
        text = entry.auth.key or ""
        self.signatures += 1
        message = b"".join(
            (
                _DOMAIN,
                entry.type.value.encode(),
                b"\n",
                entry.election.encode(),
                b"\n",
                entry.payload_bytes,
            )
        )
        # Keys and signatures passed _parse's canonical base64 check.
        if not signature_valid(
            base64.b64decode(text), base64.b64decode(entry.auth.signature or ""), message
        ):
            self._fail(index, f"the signature by key {text} does not verify", "signature")

    def _fail(self, index: int, message: str, check: str, tps: str | None = None) -> None:
        self.report.fail(Failure(check, message, leaf_index=index, tps=tps))

    def _apply(self, index: int, entry: Entry) -> None:
        if self.election is None:
            self.election = entry.election
        elif entry.election != self.election:
            raise Refused(f"entry belongs to election {entry.election}, not {self.election}")
        if index == 0:
            self._bootstrap(entry)
            return
        if entry.type is EntryType.RESULT_FORM:
            self._form(index, entry)
            return
        if entry.type is EntryType.ENROLMENT:
            self._enrolment(index, entry)
            return
        signer = self._signer(index, entry)
        handler = {
            EntryType.KEYS_REGISTER: self._register,
            EntryType.KEYS_REVOKE: self._revoke,
            EntryType.MANIFEST: self._manifest,
            EntryType.REGISTRY: self._registry,
            EntryType.ATTESTATION: self._attestation,
            EntryType.DECISION: self._decision,
            EntryType.PUBLICATION: self._publication,
            EntryType.ENROLMENT_CODES: self._enrolment_codes,
            EntryType.RECAP_FORM: self._recap_form,
            EntryType.OBJECTION: self._objection,
            EntryType.RECOMMENDATION: self._recommendation,
        }[entry.type]
        handler(index, entry, signer)

    def _signer(self, index: int, entry: Entry) -> Key:
        key = entry.auth.key
        if key is None:
            raise Refused(f"a {entry.type.value} entry must carry a signature")
        found = self.keys.get(key)
        if found is None:
            raise Refused(f"key {key} is not registered in this election")
        if found.revoked is not None:
            raise Refused(f"key {key} was revoked at entry {found.revoked}")
        return found

    def _admin(self, signer: Key, what: str) -> None:
        if signer.role != "admin":
            raise Refused(f"only the admin may record {what}; signed by a {signer.role} key")

    # -- keys ---------------------------------------------------------------------

    def _bootstrap(self, entry: Entry) -> None:
        items = entry.payload.get("keys")
        if (
            entry.type is not EntryType.KEYS_REGISTER
            or set(entry.payload) != {"keys"}
            or not isinstance(items, list)
            or len(items) != 1
            or not isinstance(items[0], dict)
            or items[0].get("role") != "admin"
            or items[0].get("key") != entry.auth.key
            or {k for k, v in items[0].items() if v is not None} != {"key", "role"}
        ):
            raise Refused("entry 0 must be the admin key registering itself, alone")
        self.keys[items[0]["key"]] = Key("admin", None, (), 0)

    def _register(self, index: int, entry: Entry, signer: Key) -> None:
        items = entry.payload.get("keys")
        if set(entry.payload) != {"keys"} or not isinstance(items, list) or not items:
            raise Refused("keys_register holds exactly 'keys', a non-empty list")
        new: dict[str, Key] = {}
        for item in items:
            if not isinstance(item, dict) or not {"key", "role"} <= set(item) <= {
                "key",
                "role",
                "source",
                "tps",
                "region",
            }:
                raise Refused(
                    "a registered key has key, role and optionally source, tps and region"
                )
            key, role = item["key"], item["role"]
            source, tps, region = item.get("source"), item.get("tps"), item.get("region")
            if self._elsewhere(role, tps):
                continue  # a submitter of other parts' TPS: part 0 checks it, its owner keeps it
            if not _is_key(key):
                raise Refused(f"{key!r} is not a canonical base64 Ed25519 public key")
            if key in self.keys or key in new:
                raise Refused(f"key {key} is registered already")
            if role not in _ROLES or role == "admin":
                raise Refused(f"role {role!r} cannot be registered here")
            if role in _SOURCE_ROLES:
                if not isinstance(source, str) or source not in self.sources:
                    raise Refused(f"key {key}: source {source!r} is not a source of the manifest")
            elif source is not None:
                raise Refused(f"key {key}: a {role} key has no source")
            if role in _REGION_ROLES:
                self._key_region(key, role, region)
            elif region is not None:
                raise Refused(f"key {key}: only a recap body or Bawaslu key names a region")
            if role == "submitter":
                if not isinstance(tps, list) or not tps or not all(isinstance(t, str) for t in tps):
                    raise Refused(f"submitter key {key} must list the TPS it submits for")
            elif tps is not None:
                raise Refused(f"only a submitter key lists TPS; {key} is a {role}")
            if signer.role == "manager":
                if role not in _MANAGED_ROLES or source != signer.source:
                    raise Refused(
                        f"a manager of {signer.source} cannot register a {role} of {source}"
                    )
            elif signer.role != "admin":
                raise Refused(f"a {signer.role} key cannot register keys")
            # TPS ids shared with the registry's own strings: 820,000 submitters on the night.
            owned = tuple(self._tps_names.get(str(t), str(t)) for t in tps or ())
            new[key] = Key(role, source, owned, index, region=region)
        self.keys.update(new)

    def _key_region(self, key: str, role: str, region: Any) -> None:
        """A recap body's or Bawaslu key's region: registered; a kecamatan or above for a
        recap body (record-format.md 6.1)."""
        found = self.regions.get(region) if isinstance(region, str) else None
        if found is None:
            raise Refused(f"key {key}: a {role} key names a registered region, not {region!r}")
        if role == "recap_body" and found[1] == "desa_kelurahan":
            raise Refused(
                f"key {key}: region {region} is a desa; a recap body sits at kecamatan level "
                "or above"
            )

    def _elsewhere(self, role: Any, tps: Any) -> bool:
        """Whether part k > 0 may skip a submitter key: none of its TPS is k's."""
        if self.part == 0 or role != "submitter" or not isinstance(tps, list):
            return False
        return not any(isinstance(t, str) and _part_of(t, self.parts) == self.part for t in tps)

    def _revoke(self, index: int, entry: Entry, signer: Key) -> None:
        keys, reason = entry.payload.get("keys"), entry.payload.get("reason")
        if (
            set(entry.payload) != {"keys", "reason"}
            or not isinstance(keys, list)
            or not keys
            or len(set(map(str, keys))) != len(keys)
            or not isinstance(reason, str)
            or not reason.strip()
        ):
            raise Refused("keys_revoke holds 'keys' (distinct, non-empty) and a 'reason'")
        if self.part != 0:
            keys = [k for k in keys if k in self.keys]  # others' submitters are not kept here
        for key in keys:
            found = self.keys.get(key) if isinstance(key, str) else None
            if found is None or found.revoked is not None:
                raise Refused(f"key {key} is not a registered, unrevoked key")
            if found.role == "admin":
                raise Refused("the admin key cannot be revoked")
            if signer.role == "manager" and (
                found.role not in _MANAGED_ROLES or found.source != signer.source
            ):
                raise Refused(f"a manager of {signer.source} cannot revoke key {key}")
            if signer.role not in ("admin", "manager"):
                raise Refused(f"a {signer.role} key cannot revoke keys")
        for key in keys:
            self.keys[key].revoked = index

    # -- enrolment codes (record-format.md, sections 6.9 and 6.10) ----------------

    def _enrolment_codes(self, index: int, entry: Entry, signer: Key) -> None:
        p = entry.payload
        source, tps, codes = p.get("source"), p.get("tps"), p.get("codes")
        if (
            set(p) != {"codes", "source", "tps"}
            or not isinstance(source, str)
            or not isinstance(tps, list)
            or not 1 <= len(tps) <= 1000
            or not all(isinstance(t, str) for t in tps)
            or len(set(tps)) != len(tps)
            or not isinstance(codes, str)
        ):
            raise Refused("enrolment_codes holds source, 1 to 1000 distinct TPS, and codes")
        try:
            raw = base64.b64decode(codes, validate=True)
        except ValueError:
            raw = b""
        if len(raw) != 16 * len(tps) or base64.b64encode(raw).decode() != codes:
            raise Refused("'codes' must be canonical base64 of 16 bytes a TPS")
        if source not in self.sources:
            raise Refused(f"source {source} is not a source of the manifest")
        if not (signer.role == "admin" or (signer.role == "manager" and signer.source == source)):
            raise Refused(f"a {signer.role} of {signer.source} cannot issue codes of {source}")
        issued = {t: raw[16 * i : 16 * i + 16] for i, t in enumerate(tps)}
        for t, digest in issued.items():
            if t not in self.tps:
                raise Refused(f"TPS {t} is not registered")
            if self.codes.get((source, t), (b"", ""))[0] == digest:
                raise Refused(f"TPS {t}: this enrolment code is outstanding already")
        issuer = entry.auth.key or ""
        for t, digest in issued.items():
            if self.part == 0 or _part_of(t, self.parts) == self.part:
                self.codes[(source, t)] = (digest, issuer)

    def _enrolment(self, index: int, entry: Entry) -> None:
        p = entry.payload
        values = [p.get(k) for k in ("code", "key", "source", "tps")]
        if set(p) != {"code", "key", "source", "tps"} or not all(
            isinstance(v, str) for v in values
        ):
            raise Refused("an enrolment holds exactly code, key, source and tps")
        code, key, source, tps = (str(v) for v in values)
        if self.part != 0 and _part_of(tps, self.parts) != self.part:
            return  # part 0 checks it; the TPS's own part keeps the key
        if key != entry.auth.key or not _ENROL_CODE.fullmatch(code):
            raise Refused(f"TPS {tps}: an enrolment is signed by the key it enrols, with a code")
        found = self.codes.get((source, tps))
        if found is None:
            raise Refused(f"no enrolment code is outstanding for TPS {tps}, source {source}")
        text = "\n".join((self.election or "", source, tps, code)).encode()
        if hashlib.sha256(b"saksi-enrol-v1\n" + text).digest()[:16] != found[0]:
            raise Refused(f"the enrolment code for TPS {tps}, source {source} is wrong")
        issuer = self.keys.get(found[1])
        if issuer is None or issuer.revoked is not None:
            raise Refused(f"TPS {tps}: the key that issued the code is revoked")
        if key in self.keys:
            raise Refused(f"key {key} is registered already")
        del self.codes[(source, tps)]
        self.keys[key] = Key("submitter", source, (self._tps_names.get(tps, tps),), index)

    # -- manifest and registry ---------------------------------------------------

    def _manifest(self, index: int, entry: Entry, signer: Key) -> None:
        self._admin(signer, "the manifest")
        if self.manifest_done:
            raise Refused("the manifest is complete; it cannot be changed")
        part = entry.payload.get("part")
        try:
            if part == "election":
                self._election_part(entry.payload)
            elif part == "contest":
                self._contest_part(entry.payload)
            elif part == "dapil":
                self._dapil_part(entry.payload)
            else:
                raise Refused(f"unknown manifest part {part!r}")
        except (KeyError, TypeError, ValueError) as exc:
            raise Refused(f"malformed manifest {part} part: {exc!r}") from exc
        election = self.election_part
        if (
            election is not None
            and len(self.contests) == election["contests"]
            and all(len(c.dapils) == c.dapils_expected for c in self.contests.values())
        ):
            self.manifest_done = True
            self.rules = {s: RuleSet(f, self.max_dpt) for s, (f, _) in self.sources.items()}
            self._field_sets = {
                s: (frozenset(f), frozenset(r)) for s, (f, r) in self.sources.items()
            }
            for contest in self.contests.values():
                for ballot in (contest.choices, *(c for _, c in contest.dapils)):
                    self._ballot_sets[id(ballot)] = frozenset(ballot)
            for contest in self.contests.values():
                for source, (fields, _) in self.sources.items():
                    self.layouts[(contest.id, source)] = Layout(
                        tuple(contest.columns()), tuple(fields)
                    )
                    self.current[(contest.id, source)] = {}

    def _election_part(self, p: dict[str, Any]) -> None:
        if self.election_part is not None:
            raise Refused("the manifest's election part is recorded already")
        if p["id"] != self.election:
            raise Refused(f"the manifest is for election {p['id']}, not {self.election}")
        for source in p["sources"]:
            self.sources[str(source["id"])] = (list(source["fields"]), list(source["required"]))
            if source["kind"] == "official":
                self.official.add(str(source["id"]))
        self.max_dpt = int(p["domestic_tps_max_dpt"])
        self.origin = str(p["origin"])
        int(p["contests"])
        self.election_part = p

    def _contest_part(self, p: dict[str, Any]) -> None:
        if self.election_part is None:
            raise Refused("a contest part before the election part")
        cid = str(p["id"])
        if cid in self.contests:
            raise Refused(f"contest {cid} is recorded already")
        choices = [str(c["id"]) for c in p["choices"]]
        self.contests[cid] = Contest(cid, choices, int(p["dapils"]))

    def _dapil_part(self, p: dict[str, Any]) -> None:
        contest = self.contests.get(str(p["contest"]))
        if contest is None:
            raise Refused(f"a dapil of contest {p['contest']}, which is not recorded")
        contest.dapils.append(
            (frozenset(map(str, p["regions"])), [str(c["id"]) for c in p["choices"]])
        )

    def _registry(self, index: int, entry: Entry, signer: Key) -> None:
        self._admin(signer, "the registry")
        if not self.manifest_done:
            raise Refused("registry entries come after the complete manifest")
        path, tps = entry.payload.get("path"), entry.payload.get("tps")
        if set(entry.payload) != {"path", "tps"} or not isinstance(path, list):
            raise Refused("a registry entry holds exactly 'path' and 'tps'")
        if len(path) != 4 or not isinstance(tps, list):
            raise Refused("a registry path has exactly four regions")
        parent = "ID"
        added: list[tuple[str, tuple[str, str, str]]] = []
        for level, region in zip(_LEVELS, path, strict=True):
            if not isinstance(region, dict) or set(region) != {"id", "level", "name"}:
                raise Refused("a region has exactly id, level and name")
            rid, name = region["id"], region["name"]
            if region["level"] != level or not isinstance(rid, str) or not isinstance(name, str):
                raise Refused(f"region {rid!r} must be a {level} with a name")
            record = (name, level, parent)
            known = self.regions.get(rid)
            if known is not None and known != record:
                raise Refused(f"region {rid} is registered already as {known}, not {record}")
            added.append((rid, record))
            parent = rid
        desa = parent
        new_tps: dict[str, tuple[str, int | None, bool]] = {}
        for item in tps:
            if not isinstance(item, dict) or not {"id", "no", "kind"} <= set(item) <= {
                "id",
                "no",
                "kind",
                "dpt",
            }:
                raise Refused("a TPS has id, no, kind and optionally dpt")
            tid, dpt = item["id"], item.get("dpt")
            if not isinstance(tid, str) or tid in self.tps or tid in new_tps:
                raise Refused(f"TPS {tid!r} is registered twice")
            if type(item["no"]) is not int or item["kind"] not in ("domestic", "overseas"):
                raise Refused(f"TPS {tid}: 'no' must be a number and kind domestic or overseas")
            if dpt is not None and (type(dpt) is not int or dpt < 0):
                raise Refused(f"TPS {tid}: dpt must be a whole number of zero or more")
            new_tps[tid] = (desa, dpt, item["kind"] == "domestic")
        for rid, record in added:
            if rid not in self.regions:
                self.regions[rid] = record
                self.paths[rid] = (*self.paths[record[2]], rid)
        self.tps.update(new_tps)
        self._tps_names.update((t, t) for t in new_tps)

    def ballot(self, contest: Contest, desa: str) -> list[str] | None:
        key = (contest.id, desa)
        if key not in self._ballots:
            if not contest.dapils_expected:
                found: list[str] | None = contest.choices
            else:
                path = set(self.paths[desa])
                found = next((c for regions, c in contest.dapils if regions & path), None)
            self._ballots[key] = found
        return self._ballots[key]

    # -- forms --------------------------------------------------------------------

    def _form(self, index: int, entry: Entry) -> None:
        if not self.manifest_done:
            raise Refused("the election manifest is not yet recorded")
        p = entry.payload
        if not set(p) <= _FORM_KEYS:
            raise Refused(f"a result form has no field(s) named {sorted(set(p) - _FORM_KEYS)}")
        tps_id, cid, source = p.get("tps"), p.get("contest"), p.get("source")
        contest = self.contests.get(cid) if isinstance(cid, str) else None
        if contest is None:
            raise Refused(f"contest {cid!r} is not part of the election")
        cid = contest.id
        if not isinstance(source, str) or source not in self.sources:
            raise Refused(f"source {source!r} is not part of the election")
        tps = self.tps.get(tps_id) if isinstance(tps_id, str) else None
        if tps is None:
            raise Refused(f"TPS {tps_id!r} is not registered")
        assert isinstance(tps_id, str)
        where = _Where(tps_id, cid, source)
        ballot = self.ballot(contest, tps[0])
        if ballot is None:
            raise Refused(f"TPS {tps_id} is not registered for contest {cid}")
        votes, fields = p.get("votes"), p.get("fields")
        if not isinstance(votes, dict) or votes.keys() != self._ballot_sets[id(ballot)]:
            raise Refused(f"{where}: the votes must name exactly the choices of its ballot")
        if not isinstance(fields, dict):
            raise Refused(f"{where}: 'fields' must be an object")
        source_fields, required = self._field_sets[source]
        for name, value in (*votes.items(), *fields.items()):
            if type(value) is not int or not 0 <= value <= _MAX_COUNT:
                raise Refused(f"{where}: {name} = {value!r} is not a count")
        if not fields.keys() <= source_fields:
            raise Refused(
                f"{where}: field(s) {sorted(fields.keys() - source_fields)} "
                f"are not on source {source}'s form"
            )
        if not required <= fields.keys():
            raise Refused(
                f"{where}: required field(s) {sorted(required - fields.keys())} are missing"
            )
        if p.get("photos") is not None:
            check_photos(p["photos"], where)
        replaces = p.get("replaces")
        if replaces is not None:
            check_version_hash(replaces, where, "a form version")
        digest = entry.payload_hash
        current = self.current[(cid, source)]
        before = current.get(tps_id)
        chain = before.versions if before is not None else b""
        versions = [chain[i : i + 32] for i in range(0, len(chain), 32)]
        if not versions:
            if replaces is not None:
                raise Refused(f"{where}: corrects version {replaces}, but the TPS has no form")
        elif digest in versions:
            raise Refused(f"{where}: the same form version is recorded twice")
        elif replaces != versions[-1].hex():
            raise Refused(
                f"{where}: the correction replaces version {replaces}, "
                f"but the latest version is {versions[-1].hex()}"
            )
        if self.ladder.certified and source in self.official:
            self.ladder.check_change(
                cid, self.paths[tps[0]], versions[-1].hex() if versions else None, f"{where}"
            )
        self._authorise(index, entry, source, tps_id, where)
        if versions and self.ladder.authorised:
            self.ladder.use(versions[-1].hex())
        layout = self.layouts[(cid, source)]
        flags = self.rules[source].broken(votes, fields, tps[1], tps[2])
        current[tps_id] = FormRow(
            index,
            self._tps_names.get(tps_id, tps_id),
            chain + digest,
            # A ballot names every column of a contest without dapils: map in C then.
            tuple(map(votes.__getitem__, layout.choices))
            if len(votes) == len(layout.choices)
            else tuple(votes.get(c, 0) for c in layout.choices),
            tuple(map(fields.get, layout.fields)),
            tuple(flags),
        )
        self.forms += 1

    def _authorise(self, index: int, entry: Entry, source: str, tps_id: str, where: _Where) -> None:
        if entry.auth.attestation is not None:
            found = self.attestations.get(entry.auth.attestation)
            if found is None or entry.payload_hash not in found[1]:
                raise Refused(f"{where}: attestation {entry.auth.attestation} does not cover it")
            if found[0] != source:
                raise Refused(f"{where}: an attestation for source {found[0]} cannot cover it")
            found[1].discard(entry.payload_hash)
            return
        signer = self._signer(index, entry)
        allowed = signer.source == source and (
            signer.role == "importer" or (signer.role == "submitter" and tps_id in signer.tps)
        )
        if not allowed:
            raise Refused(
                f"key {entry.auth.key} ({signer.role} of source {signer.source}) may not "
                f"submit for {where}"
            )

    def _attestation(self, index: int, entry: Entry, signer: Key) -> None:
        source, forms = entry.payload.get("source"), entry.payload.get("forms")
        if (
            set(entry.payload) != {"source", "forms"}
            or not isinstance(forms, str)
            or not isinstance(source, str)
        ):
            raise Refused("an attestation holds exactly 'source' and 'forms'")
        if signer.role != "importer" or signer.source != source:
            raise Refused(f"only an importer of source {source} may attest its forms")
        try:
            raw = base64.b64decode(forms, validate=True)
        except ValueError as exc:
            raise Refused(f"an attestation's forms are not base64: {exc}") from exc
        hashes = {raw[i : i + 32] for i in range(0, len(raw), 32)}
        if len(raw) % 32 or not 1 <= len(raw) // 32 <= 1000 or len(hashes) != len(raw) // 32:
            raise Refused("an attestation lists 1 to 1000 distinct 32-byte payload hashes")
        self.attestations[entry.payload_hash.hex()] = (source, hashes)

    def _decision(self, index: int, entry: Entry, signer: Key) -> None:
        p = entry.payload
        basis, acts_on = p.get("legal_basis"), p.get("acts_on")
        kind = p.get("kind")
        if not isinstance(kind, str) or kind not in _DECISIONS:
            raise Refused(f"unknown decision kind {p.get('kind')!r}")
        if not isinstance(basis, str) or not basis.strip():
            raise Refused("a decision must state its legal basis")
        if not isinstance(acts_on, list) or not all(is_hash(h) for h in acts_on):
            raise Refused("a decision must list the hashes of the entries it acts on")
        self.ladder.decision(self, index, p, entry.payload_hash.hex(), signer)

    # -- the recapitulation ladder (record-format.md 6.11 to 6.13) --------------------

    def _recap_form(self, index: int, entry: Entry, signer: Key) -> None:
        region = entry.payload.get("region")
        if signer.role != "recap_body" or signer.region != region:
            raise Refused(
                f"only the recap body of region {region} may sign its recap form; signed by "
                f"a {signer.role} key" + (f" of region {signer.region}" if signer.region else "")
            )
        if not self.manifest_done:
            raise Refused("the election manifest is not yet recorded")
        self.ladder.recap_form(self, index, entry.payload, entry.payload_hash.hex())

    def _objection(self, index: int, entry: Entry, signer: Key) -> None:
        self.ladder.objection(entry.payload, entry.payload_hash.hex(), signer)

    def _recommendation(self, index: int, entry: Entry, signer: Key) -> None:
        self.ladder.recommendation(self, entry.payload, entry.payload_hash.hex(), signer)

    def _publication(self, index: int, entry: Entry, signer: Key) -> None:
        self._admin(signer, "a publication")
        p = entry.payload
        size, digest, files = p.get("log_size"), p.get("index"), p.get("files")
        if (
            set(p) != {"files", "index", "log_size"}
            or type(size) is not int
            or type(files) is not int
            or files < 0
            or not is_hash(digest)
        ):
            raise Refused("a publication holds exactly files, index (64 hex) and log_size")
        if not 0 < size <= index:
            raise Refused(f"a publication at leaf {index} cannot show log_size {size}")
        if self.publications and size < self.publications[-1][1]["log_size"]:
            raise Refused(f"a publication of log_size {size} goes back behind an earlier one")
        self.publications.append((index, p))


_DOMAIN = b"saksi-entry-v1\n"
_FORM_TAIL = b',"type":"result_form","v":1}'
_PAYLOAD = b',"payload":'
_LONG_NUMBER = re.compile(rb"[0-9]{16}")
_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


_ENROL_CODE = re.compile(r"[A-Z2-7]{26}")


def _part_of(tps: str, parts: int) -> int:
    return zlib.crc32(tps.encode()) % parts


def _owner(data: bytes, parts: int) -> int:
    """The part that replays this form: by its TPS id, the first "tps" in its payload
    (the canonical payload's members before it, contest and fields, hold no "tps")."""
    start = data.find(b'"tps":"', data.find(_PAYLOAD)) + 7
    return zlib.crc32(data[start : data.find(b'"', start)]) % parts


def _no_float(text: str) -> Any:
    raise CanonicalError(f"number {text} is not an integer")


def _canonical(data: bytes) -> Any:
    """Parse bytes that must be canonical JSON (record-format.md, section 1). ASCII bytes
    with no number long enough to leave the safe integer range take a fast path: parse,
    encode again and compare. Anything else goes through the shared strict decoder."""
    if not data.isascii():
        return decode_canonical(data)
    if data.endswith(_FORM_TAIL):
        # Most of a log. Every number in a form is a count that the replay checks to be
        # an integer up to 2**31 - 1, so orjson's parse and sorted compact encoding (the
        # canonical one for ASCII keys) decide canonical form at a fraction of the cost.
        try:
            value = orjson.loads(data)
            again = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except (orjson.JSONDecodeError, orjson.JSONEncodeError) as exc:
            raise CanonicalError(f"not valid JSON for a form: {exc}") from exc
        if again != data:
            raise CanonicalError("the bytes are not in canonical form")
        return value
    if _LONG_NUMBER.search(data):  # a number that may leave the safe integer range
        return decode_canonical(data)
    try:
        value = json.loads(data, parse_float=_no_float, parse_constant=_no_float)
    except json.JSONDecodeError as exc:
        raise CanonicalError(f"not valid JSON: {exc.msg} at byte {exc.pos}") from exc
    if _encoder.encode(value).encode() != data:
        raise CanonicalError("the bytes are not in canonical form")
    return value


def _parse(data: bytes) -> Entry:
    """The entry's parts: canonical JSON, the envelope's members, and the payload's exact
    bytes, which the canonical envelope holds between `"payload":` and `,"type":`."""
    if len(data) > 65535:
        raise CanonicalError(f"an entry is at most 65,535 bytes; this one is {len(data)}")
    value = _canonical(data)
    if not isinstance(value, dict) or set(value) != {"auth", "election", "payload", "type", "v"}:
        raise CanonicalError("not an entry envelope (auth, election, payload, type, v)")
    if type(value["v"]) is not int or value["v"] != 1:
        raise CanonicalError(f"entry format version {value['v']!r} is not 1")
    entry_type, election, auth = EntryType(value["type"]), value["election"], value["auth"]
    if not isinstance(election, str) or not isinstance(value["payload"], dict):
        raise CanonicalError("the election must be a string and the payload an object")
    start = data.index(_PAYLOAD) + len(_PAYLOAD)
    body = data[start : data.rindex(b',"type":"')]
    head = b"".join((_DOMAIN, entry_type.value.encode(), b"\n", election.encode(), b"\n"))
    digest = hashlib.sha256(head + body).digest()
    if isinstance(auth, dict) and set(auth) == {"key", "sig"}:
        if not _is_key(auth["key"]) or not _is_b64(auth["sig"], 64):
            raise CanonicalError("auth.key and auth.sig must be canonical base64 (32, 64 bytes)")
        signed = Auth(key=auth["key"], signature=auth["sig"])
    elif isinstance(auth, dict) and set(auth) == {"attestation"}:
        if not is_hash(auth["attestation"]):
            raise CanonicalError("auth.attestation must be 64 lowercase hex digits")
        if entry_type is not EntryType.RESULT_FORM:
            raise CanonicalError("only a result_form may be covered by an attestation")
        signed = Auth(attestation=auth["attestation"])
    else:
        raise CanonicalError("auth must hold either key and sig, or attestation")
    return Entry(entry_type, election, value["payload"], signed, body, digest)


# Canonical base64 of 32 and 64 bytes: the last character before the padding carries
# only the bits that remain (4 and 2), so its unused low bits must be zero.
_KEY_B64 = re.compile(r"[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=")
_SIG_B64 = re.compile(r"[A-Za-z0-9+/]{85}[AQgw]==")


def _is_b64(value: Any, size: int) -> bool:
    pattern = _KEY_B64 if size == 32 else _SIG_B64
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _is_key(value: Any) -> bool:
    return _is_b64(value, 32)
