"""Hard errors: a refused form gets its specific message in election words, and nothing is
stored: the record, the projection dump and the published files stay exactly as they were.

Runs on SQLite and PostgreSQL. The election is the 2019 PPWP manifest over a small
registry written here: two TPS in one desa, one in another, one overseas.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from saksi.canonical import CanonicalError, canonical_bytes
from saksi.election.election import Election, Receipt, make_entry
from saksi.errors import RejectedEntry
from saksi.keys.ed25519 import SigningKey
from saksi.log.entry import Auth, Entry, EntryType, decode_entry, encode_entry, payload_hash
from saksi.manifest.load import load_manifest
from saksi.registry.pemilu2019 import read_pemilu2019
from saksi.tally.query import tally_report

MANIFEST = Path(__file__).resolve().parents[2] / "src" / "saksi" / "examples" / "pemilu2019.toml"
ELECTION = "pemilu2019"
TPS_CSV = """\
tps_id,provinsi,kabupaten_kota,kecamatan,desa_kelurahan,desa_id,tps_no,dpt
1101012001001,Aceh,Simeulue,Teupah Selatan,Latiung,1101012001,1,250
1101012001002,Aceh,Simeulue,Teupah Selatan,Latiung,1101012001,2,240
1101012002001,Aceh,Simeulue,Teupah Selatan,Labuhan Bajau,1101012002,1,200
-990014-001,Luar Negeri,Uni Emirat Arab,Abu Dhabi,Abu Dhabi,-990014,1,
"""
TPS1, TPS2, TPS3, TPS_ABROAD = "1101012001001", "1101012001002", "1101012002001", "-990014-001"


@dataclass
class Ctx:
    """The election and the keys a test submits with."""

    election: Election
    submitter: SigningKey  # KPPS submitter for TPS1 and TPS_ABROAD
    witness: SigningKey  # kawalpemilu submitter for TPS1
    stranger: SigningKey  # never registered
    notes: dict[str, Any] = field(default_factory=dict)

    def append(self, entries: list[Entry]) -> list[Receipt | None]:
        return self.election.append(entries)

    def submit(self, payload: dict[str, Any], key: SigningKey | None = None) -> Receipt:
        entry = make_entry(EntryType.RESULT_FORM, ELECTION, payload, key or self.submitter)
        receipt = self.append([entry])[0]
        assert receipt is not None
        return receipt


def form(
    tps: str = TPS1,
    *,
    source: str = "kpps",
    votes: dict[str, Any] | None = None,
    fields: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A consistent PPWP form: 120 + 100 = 220 valid, 5 invalid, 225 voters."""
    payload: dict[str, Any] = {
        "tps": tps,
        "contest": "PPWP",
        "source": source,
        "votes": {"01": 120, "02": 100} if votes is None else votes,
        "fields": (
            {"pengguna_hak_pilih": 225, "suara_sah": 220, "suara_tidak_sah": 5}
            if fields is None
            else fields
        ),
    }
    payload.update(extra)
    return payload


def _register(ctx: Ctx, manager: SigningKey, keys: list[dict[str, Any]]) -> None:
    ctx.append([make_entry(EntryType.KEYS_REGISTER, ELECTION, {"keys": keys}, manager)])


@pytest.fixture
def ctx(tmp_path: Path, store_url: str | None) -> Iterator[Ctx]:
    tps_csv = tmp_path / "tps.csv"
    tps_csv.write_text(TPS_CSV, encoding="utf-8")
    election = Election.create(tmp_path / "election", load_manifest(MANIFEST), store=store_url)
    context = Ctx(election, SigningKey.generate(), SigningKey.generate(), SigningKey.generate())
    try:
        assert election.import_registry(read_pemilu2019(tps_csv)) == 4
        _register(
            context,
            election.key("manager", "kpps"),
            [
                {
                    "key": context.submitter.public_b64,
                    "role": "submitter",
                    "source": "kpps",
                    "tps": [TPS1, TPS_ABROAD],
                }
            ],
        )
        _register(
            context,
            election.key("manager", "kawalpemilu"),
            [
                {
                    "key": context.witness.public_b64,
                    "role": "submitter",
                    "source": "kawalpemilu",
                    "tps": [TPS1],
                }
            ],
        )
        yield context
    finally:
        context.election.close()  # a test may have reopened it


# -- what "nothing stored" means ------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    size: int
    record: bytes
    dump: list[str]
    public: dict[str, str]


def snapshot(election: Election) -> Snapshot:
    public_dir = election.folder.public_dir
    public = {}
    if public_dir.exists():
        for path in sorted(public_dir.rglob("*")):
            if path.is_file():
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                public[str(path.relative_to(public_dir))] = digest
    return Snapshot(
        len(election.record),
        election.folder.record_path.read_bytes(),
        list(election.store.dump()),
        public,
    )


def kpps_totals(election: Election, region: str | None = None) -> dict[str, Any]:
    return tally_report(election.store, region=region, contest="PPWP", source="kpps")


# -- the cases -------------------------------------------------------------------------

Action = Callable[[Ctx], object]


def _signed_form(ctx: Ctx, payload: dict[str, Any]) -> object:
    return ctx.submit(payload)


def _tampered(ctx: Ctx) -> object:
    good = make_entry(EntryType.RESULT_FORM, ELECTION, form(), ctx.submitter)
    changed = form(votes={"01": 220, "02": 0})
    body = canonical_bytes(changed)
    forged = Entry(
        EntryType.RESULT_FORM,
        ELECTION,
        changed,
        good.auth,
        body,
        payload_hash(EntryType.RESULT_FORM, ELECTION, body),
    )
    return ctx.append([forged])


def _signed_by_other_key_under_submitters_name(ctx: Ctx) -> object:
    body = canonical_bytes(form())
    theirs = ctx.stranger.sign(EntryType.RESULT_FORM, ELECTION, body)
    auth = Auth(key=ctx.submitter.public_b64, signature=theirs.signature)
    entry = Entry(
        EntryType.RESULT_FORM,
        ELECTION,
        form(),
        auth,
        body,
        payload_hash(EntryType.RESULT_FORM, ELECTION, body),
    )
    return ctx.append([entry])


def _with_attestation(payload: dict[str, Any], attestation: str) -> Entry:
    body = canonical_bytes(payload)
    return Entry(
        EntryType.RESULT_FORM,
        ELECTION,
        payload,
        Auth(attestation=attestation),
        body,
        payload_hash(EntryType.RESULT_FORM, ELECTION, body),
    )


def _form_hash(payload: dict[str, Any]) -> bytes:
    return payload_hash(EntryType.RESULT_FORM, ELECTION, canonical_bytes(payload))


def _attest(ctx: Ctx, source: str, payloads: list[dict[str, Any]]) -> str:
    """Record an attestation by ``source``'s importer over these forms; returns its hash."""
    importer = ctx.election.importer_key(source)
    hashes = b"".join(_form_hash(p) for p in payloads)
    entry = make_entry(
        EntryType.ATTESTATION,
        ELECTION,
        {"source": source, "forms": base64.b64encode(hashes).decode()},
        importer,
    )
    ctx.append([entry])
    return entry.payload_hash.hex()


def _setup_attestation_of_another_form(ctx: Ctx) -> None:
    ctx.notes["attestation"] = _attest(ctx, "kawalpemilu", [form(TPS2, source="kawalpemilu")])


def _setup_attestation_of_another_source(ctx: Ctx) -> None:
    # kawalpemilu's importer attests the hash of a form that claims to be situng's.
    ctx.notes["attestation"] = _attest(ctx, "kawalpemilu", [form(TPS1, source="situng")])


def _setup_first_version(ctx: Ctx) -> None:
    ctx.notes["v1"] = ctx.submit(form()).payload_hash


def _setup_two_versions(ctx: Ctx) -> None:
    v1 = ctx.submit(form()).payload_hash
    v2 = ctx.submit(form(votes={"01": 121, "02": 99}, replaces=v1)).payload_hash
    ctx.notes["v1"], ctx.notes["v2"] = v1, v2


def _setup_revoked_submitter(ctx: Ctx) -> None:
    payload = {"keys": [ctx.submitter.public_b64], "reason": "lost device"}
    ctx.append(
        [make_entry(EntryType.KEYS_REVOKE, ELECTION, payload, ctx.election.key("manager", "kpps"))]
    )


def _float_entry_bytes(ctx: Ctx) -> object:
    # A float can only arrive as bytes (over the wire): the decoder refuses it.
    good = make_entry(EntryType.RESULT_FORM, ELECTION, form(), ctx.submitter)
    data = encode_entry(good.type, good.election, good.payload_bytes, good.auth)
    assert b'"suara_sah":220,' in data
    return ctx.append([decode_entry(data.replace(b'"suara_sah":220,', b'"suara_sah":220.0,'))])


def _float_payload(ctx: Ctx) -> object:
    return ctx.election.state.check_form(form(fields={**form()["fields"], "suara_sah": 219.5}))


def _batch_with_one_bad_form(ctx: Ctx) -> object:
    good = make_entry(EntryType.RESULT_FORM, ELECTION, form(TPS_ABROAD), ctx.submitter)
    bad = make_entry(EntryType.RESULT_FORM, ELECTION, form(TPS2), ctx.submitter)
    return ctx.append([good, bad])


@dataclass(frozen=True)
class Case:
    name: str
    act: Action
    message: str
    setup: Callable[[Ctx], None] | None = None
    error: type[Exception] = RejectedEntry


CASES = [
    Case(
        "unknown TPS",
        lambda c: c.submit(form("1101012001999")),
        "TPS 1101012001999 is not registered in election pemilu2019",
    ),
    Case(
        "unknown contest",
        lambda c: c.submit({**form(), "contest": "DPD"}),
        "contest DPD is not part of election pemilu2019",
    ),
    Case(
        "unknown source",
        lambda c: c.submit(form(source="quickcount")),
        "source quickcount is not part of election pemilu2019",
    ),
    Case(
        "unknown choice",
        lambda c: c.submit(form(votes={"01": 120, "02": 100, "03": 0})),
        "TPS 1101012001001, contest PPWP, source kpps: choice 03 is not on the PPWP ballot here",
    ),
    Case(
        "missing choice votes",
        lambda c: c.submit(form(votes={"01": 220})),
        "the form lacks votes for choice\\(s\\) 02",
    ),
    Case(
        "negative votes",
        lambda c: c.submit(form(votes={"01": 120, "02": -1})),
        "votes for choice 02 must not be negative, got -1",
    ),
    Case(
        "negative field",
        lambda c: c.submit(form(fields={**form()["fields"], "suara_tidak_sah": -5})),
        "field suara_tidak_sah must not be negative, got -5",
    ),
    Case(
        "votes as a string",
        lambda c: c.submit(form(votes={"01": "120", "02": 100})),
        "votes for choice 01 must be a whole number, not '120'",
    ),
    Case(
        "field as a string",
        lambda c: c.submit(form(fields={**form()["fields"], "suara_sah": "220"})),
        "field suara_sah must be a whole number, not '220'",
    ),
    Case(
        "votes as a boolean",
        lambda c: c.submit(form(votes={"01": True, "02": 100})),
        "votes for choice 01 must be a whole number, not True",
    ),
    Case(
        "field as a list",
        lambda c: c.submit(form(fields={**form()["fields"], "suara_sah": [220]})),
        "field suara_sah must be a whole number, not \\[220\\]",
    ),
    Case(
        "a float in the entry bytes",
        _float_entry_bytes,
        "number 220.0 is not an integer",
        error=CanonicalError,
    ),
    Case(
        "a float in a payload",
        _float_payload,
        "field suara_sah must be a whole number, not 219.5",
    ),
    Case(
        "an integer beyond the interoperable range",
        lambda c: c.submit(form(votes={"01": 2**53, "02": 0})),
        "integer 9007199254740992 is outside the interoperable range",
        error=CanonicalError,
    ),
    Case(
        "a count too large for a count",
        lambda c: c.submit(form(votes={"01": 2**31, "02": 0})),
        "votes for choice 01 = 2147483648 is too large to be a count",
    ),
    Case(
        "missing required field",
        lambda c: c.submit(form(fields={"pengguna_hak_pilih": 225, "suara_sah": 220})),
        "required field\\(s\\) suara_tidak_sah are missing",
    ),
    Case(
        "required field given as null",
        lambda c: c.submit(form(fields={**form()["fields"], "suara_sah": None})),
        "required field\\(s\\) suara_sah are missing",
    ),
    Case(
        "no fields at all",
        lambda c: c.submit({k: v for k, v in form().items() if k != "fields"}),
        "required field\\(s\\) pengguna_hak_pilih, suara_sah, suara_tidak_sah are missing",
    ),
    Case(
        "field not on the source's form",
        lambda c: c.submit(form(fields={**form()["fields"], "dpt": 250})),
        "field dpt is not on source kpps's form",
    ),
    Case(
        "no votes",
        lambda c: c.submit({k: v for k, v in form().items() if k != "votes"}),
        "the form has no votes per choice",
    ),
    Case(
        "an unknown part of the form",
        lambda c: c.submit(form(comment="ditulis ulang")),
        "a result form has no field\\(s\\) named comment",
    ),
    Case(
        "a malformed photo hash",
        lambda c: c.submit(form(photos=["C1-halaman-1.jpg"])),
        "photo hash 'C1-halaman-1.jpg' is not 64 lowercase hex digits",
    ),
    Case(
        "too many photos",
        lambda c: c.submit(form(photos=[f"{i:064x}" for i in range(17)])),
        "'photos' must list at most 16 SHA-256 hashes",
    ),
    Case(
        "a malformed 'replaces'",
        lambda c: c.submit(form(replaces="v1")),
        "'replaces' must be the 64-hex hash of a form version",
    ),
    Case(
        "signature by another key",
        _signed_by_other_key_under_submitters_name,
        "the signature by key .* is not valid",
    ),
    Case("tampered payload", _tampered, "the signature by key .* is not valid"),
    Case(
        "unregistered key",
        lambda c: c.submit(form(), c.stranger),
        "key .* is not registered in this election",
    ),
    Case(
        "submitter not authorised for that TPS",
        lambda c: c.submit(form(TPS2)),
        "\\(submitter of source kpps\\) is not authorised to submit for TPS 1101012001002, "
        "source kpps",
    ),
    Case(
        "submitter of another source",
        lambda c: c.submit(form(), c.witness),
        "\\(submitter of source kawalpemilu\\) is not authorised to submit for TPS "
        "1101012001001, source kpps",
    ),
    Case(
        "submitter signing for another source",
        lambda c: c.submit(form(source="kawalpemilu")),
        "\\(submitter of source kpps\\) is not authorised to submit for TPS 1101012001001, "
        "source kawalpemilu",
    ),
    Case(
        "key manager signing a form",
        lambda c: c.submit(form(), c.election.key("manager", "kpps")),
        "\\(manager of source kpps\\) is not authorised",
    ),
    Case(
        "revoked key",
        lambda c: c.submit(form()),
        "key .* was revoked at entry \\d+; its signatures are no longer accepted",
        setup=_setup_revoked_submitter,
    ),
    Case(
        "correction naming a non-latest version",
        lambda c: c.submit(form(votes={"01": 122, "02": 98}, replaces=c.notes["v1"])),
        "the correction replaces version [0-9a-f]{16}…, but the latest version is [0-9a-f]{16}…",
        setup=_setup_two_versions,
    ),
    Case(
        "correction with nothing to correct",
        lambda c: c.submit(form(replaces="ab" * 32)),
        "TPS 1101012001001 has no PPWP form from source kpps to correct",
    ),
    Case(
        "a second first version",
        lambda c: c.submit(form(votes={"01": 121, "02": 99})),
        "TPS 1101012001001 already has a PPWP form from source kpps .*a correction must name",
        setup=_setup_first_version,
    ),
    Case(
        "an attestation that does not exist",
        lambda c: c.append([_with_attestation(form(source="kawalpemilu"), "cd" * 32)]),
        "TPS 1101012001001: attestation cdcdcdcdcdcdcdcd… does not cover this form",
    ),
    Case(
        "an attestation that covers another form",
        lambda c: c.append([_with_attestation(form(source="kawalpemilu"), c.notes["attestation"])]),
        "attestation [0-9a-f]{16}… does not cover this form",
        setup=_setup_attestation_of_another_form,
    ),
    Case(
        "an attestation of another source",
        lambda c: c.append([_with_attestation(form(source="situng"), c.notes["attestation"])]),
        "attestation for source kawalpemilu cannot cover a form of source situng",
        setup=_setup_attestation_of_another_source,
    ),
    Case(
        "an oversize entry",
        lambda c: c.submit(form(photos=[], comment="x" * 70_000)),
        "result_form entry is \\d+ bytes; the limit is 65535",
    ),
    Case(
        "a form for another election",
        lambda c: c.append([make_entry(EntryType.RESULT_FORM, "pemilu2024", form(), c.submitter)]),
        "entry belongs to election pemilu2024, not pemilu2019",
    ),
    Case(
        "a batch with one bad form",
        _batch_with_one_bad_form,
        "is not authorised to submit for TPS 1101012001002",
    ),
    Case(
        "a manager enrolling a submitter of another source",
        lambda c: _register(
            c,
            c.election.key("manager", "kawalpemilu"),
            [{"key": c.stranger.public_b64, "role": "submitter", "source": "kpps", "tps": [TPS2]}],
        ),
        "the key manager of source kawalpemilu may only enrol submitters, importers and "
        "plenary witnesses of "
        "source kawalpemilu",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hard_error_is_refused_and_nothing_is_stored(ctx: Ctx, case: Case) -> None:
    if case.setup is not None:
        case.setup(ctx)
    before = snapshot(ctx.election)
    totals = kpps_totals(ctx.election)
    with pytest.raises(case.error, match=case.message):
        case.act(ctx)
    after = snapshot(ctx.election)
    assert after.size == before.size
    assert after.record == before.record
    assert after.dump == before.dump
    assert after.public == before.public
    assert kpps_totals(ctx.election) == totals
    # The refusal left the election able to take the next good form.
    receipt = ctx.submit(form(source="kawalpemilu"), ctx.witness)
    assert receipt.leaf_index == before.size
    assert len(ctx.election.record) == before.size + 1


# -- accepted submissions ---------------------------------------------------------------


def test_identical_resubmission_returns_the_original_receipt(ctx: Ctx) -> None:
    first = ctx.submit(form())
    assert not first.duplicate
    before = snapshot(ctx.election)
    again = ctx.submit(form())
    assert again == Receipt(first.leaf_index, first.entry_hash, first.payload_hash, True)
    # Key order in the submitted object does not matter: the payload is canonical.
    reordered = dict(reversed(list(form().items())))
    assert ctx.submit(reordered).leaf_index == first.leaf_index
    assert snapshot(ctx.election) == before
    assert kpps_totals(ctx.election)["tps_reported"] == 1


def test_a_correction_replaces_the_counted_version(ctx: Ctx) -> None:
    v1 = ctx.submit(form())
    totals = kpps_totals(ctx.election)
    assert totals["choices"] == {"01": 120, "02": 100}
    assert (totals["valid"], totals["invalid"], totals["voters"]) == (220, 5, 225)
    corrected = form(
        votes={"01": 41, "02": 179},
        fields={"pengguna_hak_pilih": 226, "suara_sah": 220, "suara_tidak_sah": 6},
        replaces=v1.payload_hash,
    )
    v2 = ctx.submit(corrected)
    assert v2.leaf_index == v1.leaf_index + 1
    assert not v2.duplicate
    for region in (None, "1101012001"):  # national, and the desa Latiung
        totals = kpps_totals(ctx.election, region)
        assert totals["choices"] == {"01": 41, "02": 179}
        assert (totals["valid"], totals["invalid"], totals["voters"]) == (220, 6, 226)
        assert totals["tps_reported"] == 1
    # The first version stays in the record; resubmitting it is still a duplicate of it.
    assert ctx.submit(form()).leaf_index == v1.leaf_index
    assert kpps_totals(ctx.election)["choices"] == {"01": 41, "02": 179}
    # A correction of the correction chains on.
    v3 = ctx.submit(
        form(votes={"01": 42, "02": 178}, fields=corrected["fields"], replaces=v2.payload_hash)
    )
    assert v3.leaf_index == v2.leaf_index + 1
    assert kpps_totals(ctx.election)["choices"] == {"01": 42, "02": 178}


def test_a_form_signed_before_revocation_stays_counted(ctx: Ctx) -> None:
    ctx.submit(form())
    _setup_revoked_submitter(ctx)
    totals = kpps_totals(ctx.election)
    assert totals["choices"] == {"01": 120, "02": 100}
    assert totals["tps_reported"] == 1
    with pytest.raises(RejectedEntry, match="was revoked at entry"):
        ctx.submit(form(TPS_ABROAD))
    dump = list(ctx.election.store.dump())
    # Replaying the record, with every signature checked again, keeps the form.
    root = ctx.election.folder.root
    ctx.election.close()
    ctx.election = Election.open(root)
    assert kpps_totals(ctx.election)["choices"] == {"01": 120, "02": 100}
    ctx.election.rebuild(verify=True)
    assert list(ctx.election.store.dump()) == dump
    assert kpps_totals(ctx.election)["choices"] == {"01": 120, "02": 100}


def test_an_optional_field_may_be_absent_but_a_required_one_may_not(ctx: Ctx) -> None:
    # kawalpemilu's set carries pengguna_hak_pilih as optional: absent is not zero.
    ctx.submit(
        form(source="kawalpemilu", fields={"suara_sah": 220, "suara_tidak_sah": 5}), ctx.witness
    )
    report = tally_report(ctx.election.store, region=None, contest="PPWP", source="kawalpemilu")
    assert report["tps_reported"] == 1
    assert report["missing"] == {"pengguna_hak_pilih": 1}
    assert (report["valid"], report["invalid"]) == (220, 5)
    # The official form requires it.
    with pytest.raises(RejectedEntry, match="required field\\(s\\) pengguna_hak_pilih are missing"):
        ctx.submit(form(fields={"suara_sah": 220, "suara_tidak_sah": 5}))
