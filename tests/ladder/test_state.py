"""The ladder's entries through Election.append, on both stores: recap forms checked
row by row, objections and recommendations checked against what they name, and
certification that holds until a decision authorises a change. A refused entry leaves
the record and the projection exactly as they were."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ladder_helpers import Ladder, ladder_election

from saksi.errors import RejectedEntry
from saksi.keys.ed25519 import SigningKey
from saksi.ladder.build import recap_entry
from saksi.ladder.report import all_differences, region_ladder
from saksi.log.entry import Entry, EntryType
from saksi.registry.model import Level


@pytest.fixture
def ladder(tmp_path: Path, store_url: str | None) -> Iterator[Ladder]:
    with ladder_election(tmp_path, store_url) as found:
        yield found


def refused(ladder: Ladder, entry: Entry, message: str) -> None:
    """The entry is refused with ``message`` and nothing at all is stored."""
    election = ladder.election
    size, dump = len(election.record), list(election.store.dump())
    with pytest.raises(RejectedEntry, match=message):
        election.append([entry])
    assert len(election.record) == size
    assert list(election.store.dump()) == dump


def official(ladder: Ladder) -> list[Any]:
    return [
        d for d in all_differences(ladder.election.store, "PPWP") if d.against in ("kpps", "recap")
    ]


def test_a_faithful_ladder_shows_no_difference(ladder: Ladder) -> None:
    ladder.all_recaps()
    assert official(ladder) == []
    national = region_ladder(ladder.election.store, "ID", "PPWP")
    tps_sum = national["figures"]["tps"]["kpps"]
    assert national["figures"]["own_recap"] == tps_sum
    assert tps_sum["01"] == sum(40 + i for i in range(12))
    province = ladder.regions(Level.PROVINSI)[0]
    assert region_ladder(ladder.election.store, province, "PPWP")["figures"]["recap"] == tps_sum


def test_an_inflated_row_is_found_with_its_amount_and_place(ladder: Ladder) -> None:
    kecamatan = ladder.regions(Level.KECAMATAN)[0]
    payload = ladder.recap(kecamatan)
    row = payload["rows"][0]
    row["votes"]["01"] += 100
    row["valid"] += 100
    row["voters"] += 100
    ladder.record(ladder.sign_recap(kecamatan, payload))
    found = sorted((d.row, d.figure, d.amount, d.direction, d.against) for d in official(ladder))
    assert found == [
        (row["region"], "01", 100, "up", "kpps"),
        (row["region"], "valid", 100, "up", "kpps"),
        (row["region"], "voters", 100, "up", "kpps"),
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p["rows"].pop(), "missing rows for"),
        (lambda p: p["rows"].reverse(), "out of order or repeated"),
        (lambda p: p["rows"][0]["votes"].pop("02"), "must name every choice"),
        (lambda p: p["rows"][0]["votes"].update({"03": 1}), "choice 03 is not on the PPWP"),
        (lambda p: p["rows"][0].update(valid=-1), "valid must be a whole number"),
        (lambda p: p.update(plenary_date="2024-02-30"), "is not a date"),
        (lambda p: p.update(replaces="0" * 64), "no recap form to correct"),
        (lambda p: p.update(photos=[{"sha256": "0" * 64}]), "photos must list 1 to 16"),
        (lambda p: p.update(witness="x"), "has no member"),
    ],
)
def test_a_malformed_recap_form_is_refused_whole(ladder: Ladder, change: Any, message: str) -> None:
    kecamatan = ladder.regions(Level.KECAMATAN)[0]
    payload = ladder.recap(kecamatan)
    change(payload)
    refused(ladder, ladder.sign_recap(kecamatan, payload), message)


def test_only_the_regions_own_recap_body_signs_its_recap(ladder: Ladder) -> None:
    first, second = ladder.regions(Level.KECAMATAN)[:2]
    forged = recap_entry(ladder.eid, ladder.recap(first), ladder.body(second))
    refused(ladder, forged, f"is not the recap body of region {first}")
    desa = ladder.regions(Level.DESA)[0]
    admin = ladder.election.key("admin")
    key = SigningKey.generate().public_b64
    register = {"keys": [{"key": key, "role": "recap_body", "region": desa}]}
    refused(ladder, admin.entry(EntryType.KEYS_REGISTER, ladder.eid, register), "is a desa")


def test_certification_freezes_forms_until_a_decision_authorises_one_change(
    ladder: Ladder,
) -> None:
    ladder.all_recaps()
    kecamatan = ladder.regions(Level.KECAMATAN)[0]
    body = ladder.body(kecamatan)
    ladder.record(
        ladder.decision(
            body, kind="certify", contest="PPWP", region=kecamatan, acts_on=[ladder.head(kecamatan)]
        )
    )
    tps = next(
        t
        for t, info in sorted(ladder.election.state.registry.tps.items())
        if kecamatan in ladder.election.state.registry.paths[info.desa]
    )
    old = ladder.form_hash(tps)
    refused(
        ladder,
        ladder.form(tps, (1, 2), replaces=old),
        f"region {kecamatan} was certified for PPWP at entry .*a change needs a decision",
    )
    admin = ladder.election.key("admin")
    ladder.record(ladder.decision(admin, kind="order_recount", acts_on=[old]))
    ladder.record(ladder.form(tps, (1, 2), replaces=old))
    assert ladder.form_hash(tps) != old
    # The authorisation is used up: a second change needs a new decision.
    refused(ladder, ladder.form(tps, (3, 4), replaces=ladder.form_hash(tps)), "needs a decision")
    # The certified recap now differs from the forms below it, by the recount's change.
    amounts = {(d.row, d.figure): d.amount for d in official(ladder) if d.recap_region == kecamatan}
    assert amounts[(ladder.election.state.registry.tps[tps].desa, "01")] > 0


def test_a_certified_recap_changes_only_under_a_decision(ladder: Ladder) -> None:
    ladder.all_recaps()
    kabupaten = ladder.regions(Level.KABUPATEN_KOTA)[0]
    certified = ladder.head(kabupaten)
    admin = ladder.election.key("admin")
    ladder.record(
        ladder.decision(
            admin, kind="certify", contest="PPWP", region=kabupaten, acts_on=[certified]
        )
    )
    again_certified = ladder.decision(
        admin,
        kind="certify",
        contest="PPWP",
        region=kabupaten,
        acts_on=[certified],
        legal_basis="Keputusan KPU No. 2/2024",
    )
    refused(ladder, again_certified, "already certified")
    again = ladder.recap(kabupaten, plenary_date="2024-03-09")
    refused(ladder, ladder.sign_recap(kabupaten, again), "needs a decision")
    # A kecamatan below the certified kabupaten is frozen too.
    kecamatan = next(
        r
        for r in ladder.regions(Level.KECAMATAN)
        if ladder.election.state.registry.regions[r].parent == kabupaten
    )
    refused(
        ladder,
        ladder.sign_recap(kecamatan, ladder.recap(kecamatan, plenary_date="2024-03-09")),
        f"region {kabupaten} was certified",
    )
    ladder.record(ladder.decision(admin, kind="accept_correction", acts_on=[certified]))
    ladder.record(ladder.sign_recap(kabupaten, again))
    document = region_ladder(ladder.election.store, kabupaten, "PPWP")
    assert document["recap_form"]["versions"] == 2
    assert document["recap_form"]["plenary_date"] == "2024-03-09"
    assert document["recap_form"]["certified"]["version"] == certified
    assert [d["kind"] for d in document["decisions"]] == ["certify", "accept_correction"]


def test_a_recap_body_decides_only_for_its_own_region(ladder: Ladder) -> None:
    ladder.all_recaps()
    first, second = ladder.regions(Level.KECAMATAN)[:2]
    other = ladder.body(second)
    refused(
        ladder,
        ladder.decision(
            other, kind="certify", contest="PPWP", region=first, acts_on=[ladder.head(first)]
        ),
        f"recap body of region {second} cannot certify region {first}",
    )
    refused(
        ladder,
        ladder.decision(other, kind="order_recount", acts_on=[ladder.head(second)]),
        "records only certify and answer_objection",
    )
    refused(
        ladder,
        ladder.decision(
            ladder.body(first), kind="certify", contest="PPWP", region=first, acts_on=["0" * 64]
        ),
        "acts on exactly its current recap form",
    )


def test_an_objection_is_answered_and_its_status_shown(ladder: Ladder) -> None:
    ladder.all_recaps()
    kecamatan = ladder.regions(Level.KECAMATAN)[0]
    recap = ladder.head(kecamatan)
    row = ladder.recap(kecamatan)["rows"][0]["region"]
    claim = {
        "acts_on": [recap],
        "row": row,
        "choice": "01",
        "claim": "Suara 01 kurang 10",
        "claimed": 10,
        "legal_basis": "",
    }
    objection = ladder.witness.entry(EntryType.OBJECTION, ladder.eid, claim)
    refused(
        ladder,
        ladder.bawaslu.entry(EntryType.OBJECTION, ladder.eid, claim),
        "only a registered plenary witness",
    )
    refused(
        ladder,
        ladder.witness.entry(EntryType.OBJECTION, ladder.eid, {**claim, "row": "x"}),
        "has no row for region x",
    )
    refused(
        ladder,
        ladder.witness.entry(EntryType.OBJECTION, ladder.eid, {**claim, "claim": " "}),
        "claim must be a non-empty text",
    )
    ladder.record(objection)
    digest = objection.payload_hash.hex()
    [shown] = region_ladder(ladder.election.store, kecamatan, "PPWP")["objections"]
    assert (shown["status"], shown["row"], shown["claimed"]) == ("open", row, 10)
    advice = {
        "acts_on": [digest],
        "recommendation": "Hitung ulang",
        "legal_basis": "Perbawaslu 5/2022",
    }
    refused(
        ladder,
        ladder.bawaslu.entry(
            EntryType.RECOMMENDATION, ladder.eid, {**advice, "acts_on": ["1" * 64]}
        ),
        "no recorded objection or recap form",
    )
    ladder.record(ladder.bawaslu.entry(EntryType.RECOMMENDATION, ladder.eid, advice))
    other = ladder.regions(Level.KECAMATAN)[1]
    answer = {"kind": "answer_objection", "outcome": "rejected", "acts_on": [digest]}
    refused(ladder, ladder.decision(ladder.body(other), **answer), "cannot answer it")
    refused(
        ladder,
        ladder.decision(ladder.body(kecamatan), **{**answer, "outcome": "maybe"}),
        "outcome accepted or rejected",
    )
    ladder.record(ladder.decision(ladder.body(kecamatan), **answer))
    [shown] = region_ladder(ladder.election.store, kecamatan, "PPWP")["objections"]
    assert shown["status"] == "rejected"
    assert [r["recommendation"] for r in shown["recommendations"]] == ["Hitung ulang"]
    assert [a["outcome"] for a in shown["answers"]] == ["rejected"]


def test_the_ladder_replays_into_the_same_projection(ladder: Ladder) -> None:
    ladder.all_recaps()
    kecamatan = ladder.regions(Level.KECAMATAN)[0]
    ladder.record(
        ladder.decision(
            ladder.body(kecamatan),
            kind="certify",
            contest="PPWP",
            region=kecamatan,
            acts_on=[ladder.head(kecamatan)],
        )
    )
    before = list(ladder.election.store.dump())
    ladder.election.rebuild()
    assert list(ladder.election.store.dump()) == before
    assert ("PPWP", kecamatan) in ladder.election.state.ladder.certified


def test_a_fact_is_recorded_once_and_a_malformed_kind_refused(ladder: Ladder) -> None:
    ladder.all_recaps()
    kecamatan = ladder.regions(Level.KECAMATAN)[0]
    claim = {
        "acts_on": [ladder.head(kecamatan)],
        "row": ladder.recap(kecamatan)["rows"][0]["region"],
        "claim": "Suara 02 tertukar",
        "legal_basis": "",
    }
    objection = ladder.witness.entry(EntryType.OBJECTION, ladder.eid, claim)
    ladder.record(objection)
    refused(ladder, objection, "this objection is already recorded")
    body = ladder.body(kecamatan)
    answers = {
        outcome: ladder.decision(
            body,
            kind="answer_objection",
            outcome=outcome,
            acts_on=[objection.payload_hash.hex()],
        )
        for outcome in ("accepted", "rejected")
    }
    ladder.record(answers["accepted"])
    ladder.record(answers["rejected"])
    # Sent again, the first answer cannot flip the objection back to accepted.
    refused(ladder, answers["accepted"], "this decision is already recorded")
    [shown] = region_ladder(ladder.election.store, kecamatan, "PPWP")["objections"]
    assert shown["status"] == "rejected"
    admin = ladder.election.key("admin")
    refused(ladder, ladder.decision(admin, kind=["certify"]), "unknown decision kind")


def test_a_certification_naming_no_region_freezes_nothing(ladder: Ladder) -> None:
    """As recorded before the ladder existed: kept as a decision, with no effect."""
    ladder.all_recaps()
    admin = ladder.election.key("admin")
    ladder.record(ladder.decision(admin, kind="certify"))
    assert ladder.election.state.ladder.certified == {}
    tps = sorted(ladder.election.state.registry.tps)[0]
    ladder.record(ladder.form(tps, (5, 6), replaces=ladder.form_hash(tps)))
    kecamatan = ladder.regions(Level.KECAMATAN)[0]
    by_body = ladder.decision(ladder.body(kecamatan), kind="certify", legal_basis="Pleno PPK")
    refused(ladder, by_body, "names contest None")
