"""`saksi verify` and the recapitulation ladder: the replay checks every recap form,
objection, recommendation and decision by record-format.md 6.7 and 6.11–6.13, and the
published ladder files (ladder/CONTEST/REGION.json) must equal the differences the
verifier recomputes from its own replay.

One synthetic province (Kalimantan Utara, about 1,400 TPS, five sources) with a full,
faithful ladder signed bottom-up by each region's recap body, an objection, a Bawaslu
recommendation, an answer and one certified kabupaten. Tests change copies of it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from verify_helpers import (
    append_and_sign,
    read_bundle,
    rewrite_record,
    verify,
    write_bundle,
)

from saksi.election.election import Election
from saksi.errors import SaksiError
from saksi.examples.synthetic import AnomalyPlan
from saksi.examples.synthetic_election import build_synthetic
from saksi.keys.ed25519 import SigningKey
from saksi.ladder.build import example_recap_key, recap_payload
from saksi.ladder.report import all_differences
from saksi.log.entry import EntryType, encode_entry
from saksi.registry.model import Level

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "pemilu2024"
CONTEST, OFFICIAL, WITNESS_SOURCE = "PPWP", "kpps", "saksi-01"
WITNESS_FIELDS = ("pengguna_hak_pilih", "suara_sah", "suara_tidak_sah")
PROVINCE = "65"  # Kalimantan Utara: the smallest province with several kabupaten
_ORDER = {Level.KECAMATAN: 0, Level.KABUPATEN_KOTA: 1, Level.PROVINSI: 2, Level.NATIONAL: 3}

pytestmark = pytest.mark.skipif(not DATA.exists(), reason=f"no KPU 2024 data at {DATA}")


@dataclass(frozen=True)
class Ladder:
    folder: Path
    election_id: str
    vkey: str
    recap_regions: tuple[str, ...]  # every region that signed a recap form
    certified: str  # the kabupaten certified by its recap body
    certified_kecamatan: str  # a kecamatan under it
    certified_tps: str  # a TPS under it
    open_kabupaten: str  # a kabupaten not certified
    open_kecamatan: str  # a kecamatan under it
    witness: Path  # key file of the plenary witness (source saksi-01)
    bawaslu: Path  # key file of the Bawaslu key of the province
    objection: str  # payload hash of the recorded objection

    def copy(self, dest: Path) -> Path:
        shutil.copytree(self.folder, dest)
        return dest

    def recap_key(self, region: str) -> SigningKey:
        return example_recap_key(self.election_id, region)

    def key(self, name: str) -> SigningKey:
        return SigningKey.load(self.folder / "keys" / f"{name}.key")

    def entry(self, key: SigningKey, entry_type: EntryType, payload: dict[str, Any]) -> bytes:
        """An entry's canonical bytes, signed by ``key``: crafted without the server."""
        made = key.entry(entry_type, self.election_id, payload)
        return encode_entry(made.type, made.election, made.payload_bytes, made.auth)


def _answer(objection: str) -> dict[str, Any]:
    """The recap body's answer to the fixture's objection."""
    return {
        "kind": "answer_objection",
        "acts_on": [objection],
        "outcome": "rejected",
        "legal_basis": "Berita acara pleno",
    }


def _quiet(_: str) -> None:
    pass


def _sign_ladder(election: Election) -> list[str]:
    """Every recap body signs its faithful recap form, kecamatan first, up to ID."""
    state, eid = election.state, election.election_id
    regions = sorted(
        (r for r in state.registry.regions.values() if r.level in _ORDER),
        key=lambda r: (_ORDER[r.level], r.id),
    )
    admin = election.key("admin")
    keys = [
        {"key": example_recap_key(eid, r.id).public_b64, "role": "recap_body", "region": r.id}
        for r in regions
    ]
    election.append([admin.entry(EntryType.KEYS_REGISTER, eid, {"keys": keys})])
    for region in regions:
        payload = recap_payload(
            state, CONTEST, region.id, source=OFFICIAL, plenary_date="2024-03-01"
        )
        election.append(
            [example_recap_key(eid, region.id).entry(EntryType.RECAP_FORM, eid, payload)]
        )
    return [r.id for r in regions]


@pytest.fixture(scope="module")
def ladder(tmp_path_factory: pytest.TempPathFactory) -> Ladder:
    root = tmp_path_factory.mktemp("ladder")
    election = build_synthetic(
        DATA, root / "election", seed=8, provinces=(PROVINCE,), anomalies=AnomalyPlan(), say=_quiet
    )
    try:
        eid, state, manifest = election.election_id, election.state, election.manifest
        recap_regions = _sign_ladder(election)
        kabupaten = sorted(state.ladder.children(manifest, CONTEST, PROVINCE))
        certified, open_kabupaten = kabupaten[0], kabupaten[-1]
        kecamatan = state.ladder.children(manifest, CONTEST, certified)[0]
        desa = state.ladder.children(manifest, CONTEST, kecamatan)[0]
        tps = sorted(t.id for t in state.registry.tps.values() if t.desa == desa)[0]
        open_kecamatan = state.ladder.children(manifest, CONTEST, open_kabupaten)[0]
        # A plenary witness of saksi-01 (registered by its manager) and Bawaslu of the
        # province (by the admin).
        witness, bawaslu = SigningKey.generate(), SigningKey.generate()
        witness.save(root / "witness.key")
        bawaslu.save(root / "bawaslu.key")
        manager, admin = election.key("manager", WITNESS_SOURCE), election.key("admin")
        item = {"key": witness.public_b64, "role": "plenary_witness", "source": WITNESS_SOURCE}
        election.append([manager.entry(EntryType.KEYS_REGISTER, eid, {"keys": [item]})])
        item = {"key": bawaslu.public_b64, "role": "bawaslu", "region": PROVINCE}
        election.append([admin.entry(EntryType.KEYS_REGISTER, eid, {"keys": [item]})])
        # An objection to a row of the open kecamatan's recap, Bawaslu's recommendation,
        # the recap body's answer; then the certified kabupaten's recap body certifies it.
        recap = state.ladder.chains[(CONTEST, open_kecamatan)][-1]
        row = state.ladder.current_recap(CONTEST, open_kecamatan)
        assert row is not None
        objection = {
            "acts_on": [recap],
            "row": row.rows[0].region,
            "choice": "01",
            "claimed": row.rows[0].votes["01"] + 3,
            "claim": "Suara 01 di desa ini lebih tiga",
            "legal_basis": "",
        }
        [receipt] = election.append([witness.entry(EntryType.OBJECTION, eid, objection)])
        assert receipt is not None
        objection_hash = receipt.payload_hash
        advice = {
            "acts_on": [objection_hash],
            "recommendation": "Cocokkan dengan C.Hasil",
            "legal_basis": "Perbawaslu 5/2022",
        }
        answer = _answer(objection_hash)
        certify = {
            "kind": "certify",
            "contest": CONTEST,
            "region": certified,
            "acts_on": [state.ladder.chains[(CONTEST, certified)][-1]],
            "legal_basis": "Keputusan KPU kabupaten",
        }
        election.append(
            [
                bawaslu.entry(EntryType.RECOMMENDATION, eid, advice),
                example_recap_key(eid, open_kecamatan).entry(EntryType.DECISION, eid, answer),
                example_recap_key(eid, certified).entry(EntryType.DECISION, eid, certify),
                # A certification as recorded before the ladder: it names no region and
                # freezes nothing, and publication and verification must take it as such.
                admin.entry(
                    EntryType.DECISION,
                    eid,
                    {"kind": "certify", "acts_on": [], "legal_basis": "Keputusan KPU 1/2024"},
                ),
            ]
        )
        election.publish_log()
        vkey = election.log_signer().verifier.vkey()
    finally:
        election.close()
    return Ladder(
        folder=root / "election",
        election_id=eid,
        vkey=vkey,
        recap_regions=tuple(recap_regions),
        certified=certified,
        certified_kecamatan=kecamatan,
        certified_tps=tps,
        open_kabupaten=open_kabupaten,
        open_kecamatan=open_kecamatan,
        witness=root / "witness.key",
        bawaslu=root / "bawaslu.key",
        objection=objection_hash,
    )


@pytest.fixture
def folder(ladder: Ladder, tmp_path: Path) -> Path:
    return ladder.copy(tmp_path / "election")


def _published(folder: Path) -> dict[str, dict[str, Any]]:
    """Region -> its published ladder file."""
    return {
        path.stem: json.loads(path.read_text())
        for path in sorted((folder / "public" / "ladder" / CONTEST).glob("*.json"))
    }


def _text(difference: dict[str, Any]) -> str:
    return json.dumps(difference, sort_keys=True)


def _server_differences(folder: Path) -> list[dict[str, Any]]:
    with Election.open(folder) as election:
        return [d.to_json() for d in all_differences(election.store, CONTEST)]


# -- a clean ladder ----------------------------------------------------------------------


def test_a_clean_ladder_verifies_and_the_report_counts_it(ladder: Ladder) -> None:
    report = verify(ladder.folder, ladder.vkey).passed()
    published = _published(ladder.folder)
    assert sorted(published) == sorted(ladder.recap_regions)  # one file per recap form
    assert report["recap_forms_checked"] == len(ladder.recap_regions)
    assert report["ladder_checked"] == len(published)
    # Faithful recap bodies and sources that agree: no row differs from the official TPS
    # sums, the recap below or a source with a form at every TPS below it. (The party
    # witnesses' and the crowd's partial sums would always differ: they are not compared.)
    found = [d for doc in published.values() for d in doc["differences"]]
    assert found == []
    assert report["ladder_differences_checked"] == 0
    assert _server_differences(ladder.folder) == []
    assert (
        published[ladder.certified]["recap"]["certified"]["version"]
        == (published[ladder.certified]["recap"]["payload_hash"])
    )
    assert published[ladder.open_kabupaten]["recap"]["certified"] is None


def test_a_planted_inflated_row_verifies_and_the_verifier_recomputes_its_differences(
    ladder: Ladder, folder: Path
) -> None:
    """A record that says a recap body inflated a row is valid: the verifier does not
    refuse it, it recomputes the difference and finds the published one equal."""
    kecamatan = ladder.open_kecamatan
    with Election.open(folder) as election:
        payload = recap_payload(
            election.state, CONTEST, kecamatan, source=OFFICIAL, plenary_date="2024-03-02"
        )
        inflated = payload["rows"][-1]
        inflated["votes"]["01"] += 50
        inflated["valid"] += 50
        # Party 01's witnesses bring a copy of every TPS form of that desa: their sum is
        # complete there, so the row is compared with it too.
        copies = [
            {
                "tps": tps.id,
                "contest": CONTEST,
                "source": WITNESS_SOURCE,
                "votes": head["votes"],
                "fields": {k: head["fields"][k] for k in WITNESS_FIELDS if k in head["fields"]},
            }
            for tps in election.state.registry.tps.values()
            if tps.desa == inflated["region"]
            for head in [_form(election, tps.id, OFFICIAL)]
            if head is not None and _form(election, tps.id, WITNESS_SOURCE) is None
        ]
        assert copies
        election.import_forms(copies, election.importer_key(WITNESS_SOURCE))
        election.append(
            [ladder.recap_key(kecamatan).entry(EntryType.RECAP_FORM, election.election_id, payload)]
        )
        election.publish_log()
    # Three processes, so the rows' TPS sums come from parts that must be merged.
    report = verify(folder, ladder.vkey, "--workers", "3").passed()
    published = _published(folder)
    row = inflated["region"]
    mine = published[kecamatan]["differences"]
    for figure in ("01", "valid"):
        for against in (OFFICIAL, WITNESS_SOURCE):
            [planted] = [
                d for d in mine if (d["row"], d["figure"], d["against"]) == (row, figure, against)
            ]
            assert (planted["amount"], planted["direction"]) == (50, "up")
            assert planted["recap"] == planted["below"] + 50
    assert {d["row"] for d in mine} == {row}  # nothing else in that recap differs
    assert published[kecamatan]["recap"]["versions"] == 2
    # The kabupaten's recap still carries the old figures: 50 fewer than the recap below.
    above = published[ladder.open_kabupaten]["differences"]
    [carried] = [
        d for d in above if (d["row"], d["figure"], d["against"]) == (kecamatan, "01", "recap")
    ]
    assert (carried["amount"], carried["direction"]) == (-50, "down")
    everything = [d for doc in published.values() for d in doc["differences"]]
    assert report["ladder_differences_checked"] == len(everything)
    assert sorted(map(_text, everything)) == sorted(map(_text, _server_differences(folder)))


# -- tampering ---------------------------------------------------------------------------


def _form(election: Election, tps: str, source: str) -> dict[str, Any] | None:
    """The current form payload of ``tps`` from ``source``, or None."""
    found = election.store.query(
        "SELECT payload FROM forms WHERE tps = ? AND contest = ? AND source = ? AND is_current = 1",
        (tps, CONTEST, source),
    )
    return json.loads(found[0][0]) if found else None


def _recap_leaf(folder: Path, region: str) -> int:
    with Election.open(folder) as election:
        [(seq,)] = election.store.query(
            "SELECT seq FROM ladder_entries WHERE type = 'recap_form' AND region = ? "
            "AND is_current = 1",
            (region,),
        )
        return int(seq)


def test_a_recap_entry_changed_in_a_mirrors_entry_bundle_is_caught(
    ladder: Ladder, tmp_path: Path
) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(ladder.folder / "public", mirror)
    verify(mirror, ladder.vkey).passed()  # positive control: the mirror as published
    leaf = _recap_leaf(ladder.folder, ladder.open_kecamatan)
    bundle = mirror / "log" / "tile" / "entries" / f"{leaf // 256:03d}"
    if not bundle.exists():
        [bundle] = sorted((mirror / "log" / "tile" / "entries").glob(f"{leaf // 256:03d}.p/*"))
    entries = read_bundle(bundle)
    entry = entries[leaf % 256]
    assert b'"type":"recap_form"' in entry
    # One more vote for 01 in the recap's first row: still canonical, same length.
    doc = json.loads(entry)
    votes = doc["payload"]["rows"][0]["votes"]["01"]
    old = f'"01":{votes},'.encode()
    new = f'"01":{votes + 1 if votes % 10 != 9 else votes - 1},'.encode()
    assert len(old) == len(new)
    entries[leaf % 256] = entry.replace(old, new, 1)
    write_bundle(bundle, entries)
    failures = verify(mirror, ladder.vkey).failed()
    assert failures[0]["check"] == "root"
    assert "differs from the signed checkpoint" in failures[0]["message"]


def test_a_recap_entry_changed_and_the_log_signed_again_fails_its_signature(
    ladder: Ladder, folder: Path
) -> None:
    """Even the log key cannot change what a recap body signed. (A recap form that no
    later entry names: one that is named fails those entries too.)"""
    region = ladder.open_kabupaten
    leaf = _recap_leaf(folder, region)

    def change(entries: list[bytes]) -> list[bytes]:
        doc = json.loads(entries[leaf])
        valid = doc["payload"]["rows"][0]["valid"]
        entries[leaf] = entries[leaf].replace(
            f'"valid":{valid},'.encode(), f'"valid":{valid + 100},'.encode(), 1
        )
        return entries

    rewrite_record(folder, change)
    failures = verify(folder, ladder.vkey).failed()
    [signature] = [f for f in failures if f["check"] == "signature"]
    assert signature["leaf_index"] == leaf
    assert ladder.recap_key(region).public_b64 in signature["message"]
    # The published ladder no longer matches the (changed) record either: the region's
    # own file and its province's, whose row for it now differs from the recap below.
    assert {f["check"] for f in failures} == {"signature", "ladder"}
    assert {f["region"] for f in failures if f["check"] == "ladder"} == {region, PROVINCE}


def _edit_json(path: Path, change: Any) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False, sort_keys=True) + "\n")


@pytest.mark.parametrize("how", ["difference hidden", "recap figure changed", "deleted"])
def test_an_edited_ladder_file_is_caught(ladder: Ladder, folder: Path, how: str) -> None:
    region = ladder.open_kecamatan
    name = f"ladder/{CONTEST}/{region}.json"
    path = folder / "public" / name
    if how == "difference hidden":
        # The server shows an inflated row, but publishes the ladder without its difference.
        with Election.open(folder) as election:
            payload = recap_payload(
                election.state, CONTEST, region, source=OFFICIAL, plenary_date="2024-03-02"
            )
            payload["rows"][0]["votes"]["01"] += 9
            key = ladder.recap_key(region)
            election.append([key.entry(EntryType.RECAP_FORM, election.election_id, payload)])
            election.publish_log()
        [shown] = json.loads(path.read_text())["differences"]
        assert (shown["amount"], shown["against"]) == (9, OFFICIAL)
        _edit_json(path, lambda doc: doc.update({"differences": []}))
    elif how == "recap figure changed":
        _edit_json(
            path,
            lambda doc: doc["recap"]["figures"].update({"01": doc["recap"]["figures"]["01"] - 7}),
        )
    else:
        path.unlink()
    failures = verify(folder, ladder.vkey).failed()
    assert {f["file"] for f in failures} == {name}
    if how == "deleted":
        assert [f["check"] for f in failures] == ["publication"]
        assert "missing" in failures[0]["message"]
        return
    assert {f["check"] for f in failures} == {"publication", "ladder"}
    [mismatch] = [f for f in failures if f["check"] == "ladder"]
    assert mismatch["region"] == region
    assert ("differences" if how == "difference hidden" else "recap") in mismatch["message"]
    if how == "recap figure changed":
        assert (
            mismatch["found"]["recap"]["figures"]["01"]
            == mismatch["expected"]["recap"]["figures"]["01"] - 7
        )


# -- forged records: what the server refuses, crafted and signed -----------------------------


def _official_head(folder: Path, tps: str) -> dict[str, Any]:
    with Election.open(folder) as election:
        [(payload, digest)] = election.store.query(
            "SELECT payload, payload_hash FROM forms WHERE tps = ? AND contest = ? AND source = ? "
            "AND is_current = 1",
            (tps, CONTEST, OFFICIAL),
        )
        return {"payload": json.loads(payload), "hash": str(digest)}


@pytest.mark.parametrize("authorised", [False, True], ids=["no-decision", "order-recount"])
def test_an_official_form_changed_below_a_certified_region(
    ladder: Ladder, folder: Path, authorised: bool
) -> None:
    head = _official_head(folder, ladder.certified_tps)
    changed = dict(head["payload"])
    changed["votes"] = {**changed["votes"], "01": changed["votes"]["01"] + 40}
    changed["replaces"] = head["hash"]
    importer = ladder.key(f"importer-{OFFICIAL}")
    # The server refuses it outright.
    with Election.open(folder) as election, pytest.raises(SaksiError, match="certified"):
        election.append([importer.entry(EntryType.RESULT_FORM, ladder.election_id, changed)])
    crafted = [ladder.entry(importer, EntryType.RESULT_FORM, changed)]
    if authorised:
        recount = {
            "kind": "order_recount",
            "acts_on": [head["hash"]],
            "legal_basis": "Rekomendasi Bawaslu No. 3",
        }
        crafted.insert(0, ladder.entry(ladder.key("admin"), EntryType.DECISION, recount))
    first = append_and_sign(folder, crafted)
    outcome = verify(folder, ladder.vkey)
    if authorised:  # positive control: the crafting is not what fails
        outcome.passed()
        return
    [failure] = outcome.failed()
    assert (failure["check"], failure["leaf_index"], failure["tps"]) == (
        "result_form",
        first,
        ladder.certified_tps,
    )
    assert f"region {ladder.certified} was certified" in failure["message"]
    assert head["hash"] in failure["message"]


def test_the_ladder_rules_each_named_with_the_entry_that_breaks_them(
    ladder: Ladder, folder: Path
) -> None:
    """Entries the server refuses, each validly signed and appended in one batch (a
    refused entry changes nothing, so each is judged on the same state), with valid ones
    among them that must pass. Each failure names its leaf and the rule."""
    with Election.open(folder) as election:
        state = election.state
        chains = state.ladder.chains
        kec, kab = ladder.open_kecamatan, ladder.open_kabupaten
        current = chains[(CONTEST, kec)][-1]
        honest = recap_payload(state, CONTEST, kec, source=OFFICIAL, plenary_date="2024-03-03")
        frozen = recap_payload(
            state, CONTEST, ladder.certified_kecamatan, source=OFFICIAL, plenary_date="2024-03-03"
        )
        frozen["rows"][0]["votes"]["01"] += 1
        certified_current = chains[(CONTEST, ladder.certified)][-1]
        new_desa = _new_desa(election, ladder.certified_kecamatan)
    importer = ladder.key(f"importer-{OFFICIAL}")
    # The new TPS's first official form: a copy of a neighbour's, for the new TPS.
    payload = _official_head(folder, ladder.certified_tps)["payload"]
    first_form = {k: v for k, v in payload.items() if k not in ("photos", "replaces")}
    first_form["tps"] = new_desa["tps"][0]["id"]
    recap, witness, bawaslu = (
        ladder.recap_key,
        SigningKey.load(ladder.witness),
        SigningKey.load(ladder.bawaslu),
    )
    admin = ladder.key("admin")
    swapped = {**honest, "rows": honest["rows"][::-1]}
    first_row = honest["rows"][0]["region"]
    # (entry, check, words the message holds) — check None: a valid entry.
    manager = ladder.key(f"manager-{WITNESS_SOURCE}")

    def keys(*items: dict[str, Any]) -> dict[str, Any]:
        return {"keys": [{"key": SigningKey.generate().public_b64, **i} for i in items]}

    cases: list[tuple[bytes, str | None, list[str]]] = [
        (
            ladder.entry(
                admin, EntryType.KEYS_REGISTER, keys({"role": "recap_body", "region": first_row})
            ),
            "keys_register",
            [f"region {first_row} is a desa"],
        ),
        (
            ladder.entry(
                admin,
                EntryType.KEYS_REGISTER,
                keys({"role": "bawaslu", "region": kab, "source": OFFICIAL}),
            ),
            "keys_register",
            ["a bawaslu key has no source"],
        ),
        (
            ladder.entry(
                admin,
                EntryType.KEYS_REGISTER,
                keys({"role": "plenary_witness", "source": OFFICIAL, "region": kab}),
            ),
            "keys_register",
            ["only a recap body or Bawaslu key names a region"],
        ),
        (
            ladder.entry(
                manager, EntryType.KEYS_REGISTER, keys({"role": "bawaslu", "region": kab})
            ),
            "keys_register",
            ["cannot register a bawaslu"],
        ),
        (
            ladder.entry(
                admin, EntryType.KEYS_REGISTER, keys({"role": "bawaslu", "region": "7777"})
            ),
            "keys_register",
            ["names a registered region, not '7777'"],
        ),
        (
            ladder.entry(recap(kab), EntryType.RECAP_FORM, honest),
            "recap_form",
            [f"recap body of region {kec}"],
        ),
        (
            ladder.entry(recap(kec), EntryType.RECAP_FORM, swapped),
            "recap_form",
            ["ascending order"],
        ),
        (
            ladder.entry(recap(kec), EntryType.RECAP_FORM, {**honest, "photos": ["ab" * 32] * 2}),
            "recap_form",
            ["'photos' must list 1 to 16 distinct SHA-256 hashes"],
        ),
        (
            ladder.entry(recap(kec), EntryType.RECAP_FORM, {**honest, "replaces": "v1"}),
            "recap_form",
            ["'replaces' must be the 64-hex hash of a recap version"],
        ),
        (
            ladder.entry(recap(kec), EntryType.RECAP_FORM, {**honest, "rows": honest["rows"][1:]}),
            "recap_form",
            ["missing: " + first_row],
        ),
        (
            ladder.entry(
                recap(kec),
                EntryType.RECAP_FORM,
                {k: v for k, v in honest.items() if k != "replaces"},
            ),
            "recap_form",
            ["the current version is", current],
        ),
        (
            ladder.entry(recap(ladder.certified_kecamatan), EntryType.RECAP_FORM, frozen),
            "recap_form",
            [f"region {ladder.certified} was certified"],
        ),
        (
            ladder.entry(
                admin, EntryType.REGISTRY, {"path": new_desa["path"], "tps": new_desa["tps"]}
            ),
            None,
            [],
        ),
        (
            ladder.entry(importer, EntryType.RESULT_FORM, first_form),
            "result_form",
            [f"region {ladder.certified} was certified", "no first form"],
        ),
        (
            ladder.entry(
                witness,
                EntryType.OBJECTION,
                {"acts_on": ["ab" * 32], "row": first_row, "claim": "x", "legal_basis": ""},
            ),
            "objection",
            ["not recorded"],
        ),
        (
            ladder.entry(
                witness,
                EntryType.OBJECTION,
                {"acts_on": [current], "row": kab, "claim": "x", "legal_basis": ""},
            ),
            "objection",
            [f"has no row for region {kab}"],
        ),
        (
            ladder.entry(
                recap(kec),
                EntryType.OBJECTION,
                {"acts_on": [current], "row": first_row, "claim": "x", "legal_basis": ""},
            ),
            "objection",
            ["only a plenary witness"],
        ),
        (
            ladder.entry(
                witness,
                EntryType.OBJECTION,
                {
                    "acts_on": [current],
                    "row": first_row,
                    "choice": "01",
                    "claim": "Salah hitung",
                    "legal_basis": "",
                },
            ),
            None,
            [],
        ),
        (
            ladder.entry(
                bawaslu,
                EntryType.RECOMMENDATION,
                {
                    "acts_on": ["cd" * 32],
                    "recommendation": "Hitung ulang",
                    "legal_basis": "Perbawaslu 5/2022",
                },
            ),
            "recommendation",
            ["no recorded objection or recap form"],
        ),
        (
            ladder.entry(
                bawaslu,
                EntryType.RECOMMENDATION,
                {
                    "acts_on": [ladder.objection, current],
                    "recommendation": "Hitung ulang",
                    "legal_basis": "Perbawaslu 5/2022",
                },
            ),
            None,
            [],
        ),
        (
            ladder.entry(
                recap(kec),
                EntryType.DECISION,
                {"kind": "order_recount", "acts_on": [current], "legal_basis": "Pleno"},
            ),
            "decision",
            ["only certify and answer_objection"],
        ),
        (
            ladder.entry(
                recap(kab),
                EntryType.DECISION,
                {
                    "kind": "certify",
                    "contest": CONTEST,
                    "region": kec,
                    "acts_on": [current],
                    "legal_basis": "Pleno",
                },
            ),
            "decision",
            [f"cannot certify region {kec}"],
        ),
        (
            ladder.entry(
                recap(kec),
                EntryType.DECISION,
                {
                    "kind": "certify",
                    "contest": CONTEST,
                    "region": kec,
                    "acts_on": ["ef" * 32],
                    "legal_basis": "Pleno",
                },
            ),
            "decision",
            ["current recap form", current],
        ),
        (
            ladder.entry(
                recap(kab),
                EntryType.DECISION,
                {
                    "kind": "answer_objection",
                    "acts_on": [ladder.objection],
                    "outcome": "accepted",
                    "legal_basis": "Pleno",
                },
            ),
            "decision",
            [f"region {kab} cannot answer it"],
        ),
        (
            ladder.entry(
                recap(ladder.certified),
                EntryType.DECISION,
                {
                    "kind": "certify",
                    "contest": CONTEST,
                    "region": ladder.certified,
                    "acts_on": [certified_current],
                    "legal_basis": "Pleno",
                },
            ),
            "decision",
            ["certified for PPWP already"],
        ),
        (
            ladder.entry(
                recap(kec),
                EntryType.DECISION,
                {
                    "kind": "certify",
                    "contest": CONTEST,
                    "region": kec,
                    "acts_on": [current],
                    "legal_basis": "Pleno",
                },
            ),
            None,
            [],
        ),
        (
            ladder.entry(
                witness,
                EntryType.DECISION,
                {
                    "kind": "certify",
                    "contest": CONTEST,
                    "region": kec,
                    "acts_on": [current],
                    "legal_basis": "Pleno saksi",
                },
            ),
            "decision",
            ["only the admin or a recap body"],
        ),
        # The same answer again, even from the admin: a fact is recorded once.
        (
            ladder.entry(admin, EntryType.DECISION, _answer(ladder.objection)),
            "decision",
            ["this decision is recorded already"],
        ),
    ]
    first = append_and_sign(folder, [data for data, _, _ in cases])
    failures = verify(folder, ladder.vkey).failed()
    by_leaf = {f["leaf_index"]: f for f in failures}
    assert len(by_leaf) == len(failures)  # one failure per refused entry
    for n, (_, check, words) in enumerate(cases):
        found = by_leaf.get(first + n)
        if check is None:
            assert found is None, found
            continue
        assert found is not None, (n, check, words)
        assert found["check"] == check, found
        for word in words:
            assert word in found["message"], (word, found["message"])
    assert set(by_leaf) == {first + n for n, (_, c, _) in enumerate(cases) if c is not None}


def _new_desa(election: Election, kecamatan: str) -> dict[str, Any]:
    """A registry payload for a new desa with one TPS under ``kecamatan``."""
    registry = election.state.registry
    path = []
    region: str | None = kecamatan
    while region is not None and region != "ID":
        found = registry.regions[region]
        path.append({"id": found.id, "level": found.level.value, "name": found.name})
        region = found.parent
    desa = f"{kecamatan}9901"
    assert desa not in registry.regions
    path = [*path[::-1], {"id": desa, "level": "desa_kelurahan", "name": "DESA BARU"}]
    return {"path": path, "tps": [{"id": f"{desa}001", "no": 1, "kind": "domestic", "dpt": 200}]}
