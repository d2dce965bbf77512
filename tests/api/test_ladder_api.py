"""Done when (issue 8): the ladder over HTTP against `saksi serve` on loopback. Recap
bodies send their recap forms; a party's plenary witness objects to a recap row and the
recap body answers; after certification an official correction is refused until an
admin's decision authorises it; bad ladder submissions are refused in words."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ladder_support import (
    CONTEST,
    DESA,
    INFLATION,
    LadderElection,
    build_ladder_election,
    official_votes,
    register_witness,
    send_recaps,
    serving_ladder,
    tps_form,
)
from saksi.canonical import canonical_bytes
from saksi.client.submitter import Client, SubmissionRefused
from saksi.keys.ed25519 import SigningKey
from saksi.log.entry import EntryType

TPS = f"{DESA}-001"


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LadderElection, str, dict[str, str]]]:
    ladder = build_ladder_election(tmp_path_factory.mktemp("ladder-api"))
    with serving_ladder(ladder) as url:
        yield ladder, url, send_recaps(url, ladder)


def fresh(url: str, path: str, **params: str) -> dict[str, Any]:
    """The document at ``path`` once it reflects the whole record (a read may be up to
    0.25 s behind it, docs/api.md)."""
    size = httpx.get(f"{url}/api/election.json").json()["log_size"]
    deadline = time.monotonic() + 10
    while True:
        response = httpx.get(url + path, params=params)
        assert response.status_code == 200, response.text
        value: dict[str, Any] = response.json()
        if value["log_size"] >= size or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def ladder_json(url: str, region: str) -> dict[str, Any]:
    return fresh(url, f"/api/ladder/{region}.json", contest=CONTEST)


def refused(call: Any) -> SubmissionRefused:
    with pytest.raises(SubmissionRefused) as caught:
        call()
    assert 400 <= caught.value.status < 500
    return caught.value


def objection(recap: str, row: str = DESA, claimed: int | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "acts_on": [recap],
        "row": row,
        "choice": "01",
        "claim": "Suara 01 di desa ini tidak sama dengan jumlah C.Hasil",
        "legal_basis": "Pasal 401 UU 7/2017",
    }
    if claimed is not None:
        payload["claimed"] = claimed
    return payload


def test_the_ladder_shows_the_three_figures_and_the_planted_difference(
    served: tuple[LadderElection, str, dict[str, str]],
) -> None:
    ladder, url, hashes = served
    document = ladder_json(url, ladder.kecamatan)
    assert document["recap_form"]["payload_hash"] == hashes[ladder.kecamatan]
    (row,) = [r for r in document["rows"] if r["region"]["id"] == DESA]
    official = sum(official_votes(f"{DESA}-{n:03d}")[0] for n in (1, 2))
    assert row["tps"]["kpps"]["01"] == official
    assert row["recap"]["01"] == official + INFLATION
    (grew,) = [d for d in row["differences"] if d["against"] == "kpps" and d["figure"] == "01"]
    assert (grew["amount"], grew["direction"]) == (INFLATION, "up")
    # One level up, the kabupaten's row for this kecamatan holds the TPS sums, not the
    # inflated recap: the recap below it is 25 higher.
    above = ladder_json(url, ladder.kabupaten)
    (kec_row,) = [r for r in above["rows"] if r["region"]["id"] == ladder.kecamatan]
    against_recap = [d for d in kec_row["differences"] if d["against"] == "recap"]
    assert [(d["figure"], d["amount"]) for d in against_recap if d["figure"] == "01"] == [
        ("01", -INFLATION)
    ]
    # The three figures of the kecamatan side by side.
    figures = document["figures"]
    assert figures["recap_region"] == ladder.kabupaten
    assert figures["recap"]["01"] == figures["tps"]["kpps"]["01"]
    assert figures["own_recap"]["01"] == figures["recap"]["01"] + INFLATION
    # The trail follows the votes of 01 from the TPS to the national figure.
    trail = httpx.get(f"{url}/api/ladder/trail/{TPS}.json", params={"choice": "01"}).json()
    assert trail["steps"][0] == {
        "step": "tps",
        "where": TPS,
        "value": official_votes(TPS)[0],
        "change": None,
    }
    assert [s["change"] for s in trail["steps"] if s["change"]] == [INFLATION, -INFLATION]
    assert trail["steps"][-1]["where"] == "ID"


def test_a_witness_objects_over_http_and_the_recap_body_answers(
    served: tuple[LadderElection, str, dict[str, str]],
) -> None:
    ladder, url, hashes = served
    witness = register_witness(url, ladder)
    recap = hashes[ladder.kecamatan]
    truth = sum(official_votes(f"{DESA}-{n:03d}")[0] for n in (1, 2))
    with Client(url, witness) as client:
        first = client.record(EntryType.OBJECTION, objection(recap, claimed=truth))
        second = client.record(EntryType.OBJECTION, objection(recap, row="16"))
    assert (first["status"], second["status"]) == ("ok", "ok")
    listed = {o["payload_hash"]: o for o in ladder_json(url, ladder.kecamatan)["objections"]}
    assert listed[first["payload_hash"]]["status"] == "open"
    assert listed[first["payload_hash"]]["claimed"] == truth

    body = ladder.recap_key(ladder.kecamatan)
    basis = "Berita acara pleno PPK"
    with Client(url, body) as client:
        accept = {"kind": "answer_objection", "outcome": "accepted", "legal_basis": basis}
        reject = {"kind": "answer_objection", "outcome": "rejected", "legal_basis": basis}
        client.record(EntryType.DECISION, {**accept, "acts_on": [first["payload_hash"]]})
        answer = {**reject, "acts_on": [second["payload_hash"]]}
        recorded = client.record(EntryType.DECISION, answer)
        # The same signed answer sent again is the same entry, not a second answer.
        again = client.record(EntryType.DECISION, answer)
    assert again["status"] == "duplicate"
    assert again["leaf_index"] == recorded["leaf_index"]
    listed = {o["payload_hash"]: o for o in ladder_json(url, ladder.kecamatan)["objections"]}
    assert listed[first["payload_hash"]]["status"] == "accepted"
    assert listed[second["payload_hash"]]["status"] == "rejected"
    (answer_shown,) = listed[first["payload_hash"]]["answers"]
    assert (answer_shown["outcome"], answer_shown["legal_basis"]) == ("accepted", basis)

    # Another kecamatan's recap body may not answer this kecamatan's objection.
    other = next(r for r in ladder.recaps if r not in (ladder.kecamatan,) and r != "ID")
    with Client(url, ladder.recap_key(other)) as client:
        error = refused(
            lambda: client.record(
                EntryType.DECISION, {**accept, "acts_on": [second["payload_hash"]]}
            )
        )
    assert "cannot answer it" in str(error)


def test_a_certified_region_refuses_a_correction_until_a_decision_authorises_it(
    served: tuple[LadderElection, str, dict[str, str]],
) -> None:
    ladder, url, hashes = served
    body = ladder.recap_key(ladder.kecamatan)
    certify = {
        "kind": "certify",
        "contest": CONTEST,
        "region": ladder.kecamatan,
        "acts_on": [hashes[ladder.kecamatan]],
        "legal_basis": "Keputusan PPK tentang rekapitulasi",
    }
    with Client(url, body) as client:
        client.record(EntryType.DECISION, certify)
        error = refused(lambda: client.record(EntryType.DECISION, {**certify, "note": "again"}))
    assert "already certified" in str(error)
    status = ladder_json(url, ladder.kecamatan)["recap_form"]["certified"]
    assert status is not None
    assert status["version"] == hashes[ladder.kecamatan]

    current = httpx.get(f"{url}/api/tps/{TPS}.json").json()
    (kpps,) = [f for f in current["forms"] if f["source"] == "kpps"]
    version = kpps["versions"][-1]["payload_hash"]
    a, b = official_votes(TPS)
    correction = tps_form(TPS, a - 4, b)
    with Client(url, ladder.device) as device:
        error = refused(lambda: device.submit_form(correction, replaces=version))
        assert error.status == 422
        assert f"region {ladder.kecamatan} was certified" in str(error)
        assert "needs a decision" in str(error)

        with Client(url, ladder.admin()) as admin:
            admin.decide(
                {
                    "kind": "order_recount",
                    "acts_on": [version],
                    "legal_basis": "Rekomendasi Bawaslu No. 12/2024",
                }
            )
        receipt = device.submit_form(correction, replaces=version)
    assert receipt["status"] == "ok"
    shown = fresh(url, f"/api/tps/{TPS}.json")
    (kpps,) = [f for f in shown["forms"] if f["source"] == "kpps"]
    assert [v["current"] for v in kpps["versions"]] == [False, True]
    assert kpps["versions"][-1]["votes"]["01"] == a - 4
    document = ladder_json(url, ladder.kecamatan)
    (row,) = [r for r in document["rows"] if r["region"]["id"] == DESA]
    assert row["tps"]["kpps"]["01"] == sum(official_votes(f"{DESA}-{n:03d}")[0] for n in (1, 2)) - 4
    assert [d["kind"] for d in document["decisions"]].count("certify") == 1
    # The authorisation is used up: a second correction is refused again.
    with Client(url, ladder.device) as device:
        again = tps_form(TPS, a - 3, b)
        error = refused(lambda: device.submit_form(again, replaces=receipt["payload_hash"]))
    assert "needs a decision" in str(error)


def test_bad_ladder_submissions_are_refused_in_words(
    served: tuple[LadderElection, str, dict[str, str]],
) -> None:
    ladder, url, hashes = served
    payload = ladder.recaps[ladder.kabupaten]
    # The kecamatan's recap body signs the kabupaten's recap form.
    with Client(url, ladder.recap_key(ladder.kecamatan)) as wrong:
        error = refused(
            lambda: wrong.record(EntryType.RECAP_FORM, {**payload, "plenary_date": "2024-03-02"})
        )
    assert f"is not the recap body of region {ladder.kabupaten}" in str(error)
    with Client(url, ladder.recap_key(ladder.kabupaten)) as body:
        unknown = {**payload, "region": "9999"}
        assert "9999 is not a registered kecamatan" in str(
            refused(lambda: body.record(EntryType.RECAP_FORM, unknown))
        )
        broken = {**payload, "rows": payload["rows"][1:], "replaces": hashes[ladder.kabupaten]}
        message = str(refused(lambda: body.record(EntryType.RECAP_FORM, broken)))
        assert message
        assert "Traceback" not in message
    # The admin's decisions go to the admin endpoint, with its nonce.
    with Client(url, ladder.admin()) as admin:
        decision = {"kind": "annul_tps", "acts_on": [], "legal_basis": "x"}
        error = refused(lambda: admin.record(EntryType.DECISION, decision))
    assert error.status == 403
    assert "/api/admin/decisions" in str(error)
    witness = register_witness(url, ladder)
    with Client(url, witness) as client:
        no_row = objection(hashes[ladder.kecamatan], row="5")
        assert "has no row for region 5" in str(
            refused(lambda: client.record(EntryType.OBJECTION, no_row))
        )
        unrecorded = objection("0" * 64)
        assert "which is not recorded" in str(
            refused(lambda: client.record(EntryType.OBJECTION, unrecorded))
        )
    # A stranger's key is not a plenary witness.
    with Client(url, SigningKey.generate()) as stranger:
        refused(lambda: stranger.record(EntryType.OBJECTION, objection(hashes[ladder.kecamatan])))
    response = httpx.post(f"{url}/api/entries", json={"type": "result_form", "payload": {}})
    assert response.status_code == 400
    assert "objection" in response.json()["errors"][0]["message"]
    for path, words in [
        ("/api/ladder/nowhere.json", "region nowhere is not registered"),
        ("/api/ladder/ID.json?contest=XYZ", "contest XYZ is not part of this election"),
        ("/api/ladder/trail/9-999.json", "TPS 9-999 is not registered"),
        ("/api/ladder/trail/1-001.json?choice=07", "07 is not a choice of contest PPWP"),
    ]:
        response = httpx.get(url + path)
        assert response.status_code == 404, path
        assert words in response.json()["errors"][0]["message"]


_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    region=_TEXT,
    choice=st.none() | _TEXT,
    contest=st.none() | _TEXT,
    kind=st.sampled_from(["recap_form", "objection", "recommendation", "decision"]),
    payload=st.dictionaries(
        st.sampled_from(["acts_on", "row", "claim", "kind", "region", "rows", "contest", "x"]),
        _JSON,
        max_size=5,
    ),
)
def test_the_ladder_endpoints_never_fail_with_a_server_error(
    served: tuple[LadderElection, str, dict[str, str]],
    region: str,
    choice: str | None,
    contest: str | None,
    kind: str,
    payload: dict[str, Any],
) -> None:
    ladder, url, _ = served
    params = {k: v for k, v in (("choice", choice), ("contest", contest)) if v is not None}
    where = quote(region, safe="")
    for path in (f"/api/ladder/{where}.json", f"/api/ladder/trail/{where}.json"):
        response = httpx.get(url + path, params=params)
        assert response.status_code < 500, (path, response.text)
    key = ladder.recap_key(ladder.kecamatan)
    try:
        auth = key.sign(kind, ladder.election_id, canonical_bytes(payload))
    except ValueError:  # not canonical JSON (a float, a lone surrogate): cannot be signed
        return
    signed = {"type": kind, "payload": payload, "key": auth.key, "sig": auth.signature}
    response = httpx.post(f"{url}/api/entries", json=signed)
    assert response.status_code < 500, response.text
    response = httpx.post(
        f"{url}/api/entries", content=json.dumps({"type": kind, "payload": payload})
    )
    assert response.status_code < 500
