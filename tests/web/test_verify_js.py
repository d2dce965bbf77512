"""verify.js in a real browser, on TPS documents from a real `saksi serve`: signed forms
(a registered submitter and an enrolled device), an attested bulk import, a witness; then
every kind of tampering, a broken key chain, and a browser without WebCrypto Ed25519."""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Route

from saksi.api.evidence import log_key_fingerprint
from saksi.client.submitter import Client
from saksi.keys.ed25519 import SigningKey
from saksi.log.entry import EntryType
from support import (
    free_port,
    pemilu2019_election,
    run_saksi,
    serving_election,
    serving_witness,
    tps_csv,
)

STATIC = Path(__file__).resolve().parents[2] / "src" / "saksi" / "web" / "static"
SIGNED, ENROLLED, ATTESTED, UNPUBLISHED = "1-001", "2-001", "5-001", "3-001"

Doc = dict[str, Any]


def _form(tps: str, a: int, b: int) -> dict[str, Any]:
    valid = a + b
    return {
        "tps": tps,
        "contest": "PPWP",
        "source": "kpps",
        "votes": {"01": a, "02": b},
        "fields": {"suara_sah": valid, "suara_tidak_sah": 1, "pengguna_hak_pilih": valid + 1},
    }


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Doc]:
    """TPS documents after signed, enrolled and attested forms were published, with a
    log witness cosigning the checkpoint."""
    root = tmp_path_factory.mktemp("verify-js")
    folder = root / "election"
    with pemilu2019_election(folder, tps_csv(root / "tps.csv", 6, 1)) as election:
        importer = election.importer_key("kpps")
        election.import_forms([_form(ATTESTED, 40, 50)], importer)
        log_vkey = election.log_signer().verifier.vkey()
    witness = run_saksi("witness", "init", root / "w1", "--name", "w1.example").stdout.strip()
    run_saksi("witness", "add-log", root / "w1", log_vkey)
    with serving_witness(root / "w1") as witness_url:
        config = folder / "saksi.toml"
        config.write_text(
            config.read_text() + f'[[log.witness]]\nurl = "{witness_url}"\nvkey = "{witness}"\n'
        )
        with serving_election(folder) as url:
            manager = SigningKey.load(folder / "keys" / "manager-kpps.key")
            submitter, device = SigningKey.generate(), SigningKey.generate()
            item = {"key": submitter.public_b64, "role": "submitter", "source": "kpps"}
            with Client(url, manager) as kpps:
                kpps.record(EntryType.KEYS_REGISTER, {"keys": [{**item, "tps": [SIGNED]}]})
                code = kpps.issue_codes("kpps", [ENROLLED])[ENROLLED]
            with Client(url, submitter) as client:
                client.submit_form(_form(SIGNED, 31, 42))
            with Client(url, device) as client:
                client.enrol("kpps", ENROLLED, code)
                client.submit_form(_form(ENROLLED, 7, 8))
            with Client(url, SigningKey.load(folder / "keys" / "admin.key"), timeout=120) as a:
                a.publish()
            late = SigningKey.generate()  # registered and submitting after the checkpoint
            with Client(url, manager) as kpps:
                kpps.record(
                    EntryType.KEYS_REGISTER,
                    {"keys": [{**item, "key": late.public_b64, "tps": [UNPUBLISHED]}]},
                )
            with Client(url, late) as client:
                client.submit_form(_form(UNPUBLISHED, 1, 2))
            tps = (SIGNED, ENROLLED, ATTESTED, UNPUBLISHED)
            return {t: httpx.get(f"{url}/api/tps/{t}.json").json() for t in tps}


@pytest.fixture
def verify(open_page: Callable[[int, int], Any]) -> Callable[..., Doc]:
    """``verify(doc, ed25519=True)``: verifyTps(doc) run in the browser on a loopback
    origin (a secure context, as WebCrypto requires), with verify.js as served."""
    origin = f"http://127.0.0.1:{free_port()}"
    page: Page = open_page(1280, 900).page

    def fulfil(route: Route) -> None:
        path = route.request.url[len(origin) :]
        if path.startswith("/static/"):
            body = (STATIC / path.removeprefix("/static/")).read_bytes()
            route.fulfill(body=body, content_type="text/javascript")
        else:
            route.fulfill(body="<!doctype html><title>verify</title>", content_type="text/html")

    page.route(f"{origin}/**", fulfil)
    page.goto(f"{origin}/")

    def run(doc: Doc, *, ed25519: bool = True) -> Doc:
        result: Doc = page.evaluate(
            """async ([doc, ed25519]) => {
                if (!ed25519) {
                    const subtle = crypto.subtle, original = subtle.importKey.bind(subtle);
                    subtle.importKey = (format, key, algorithm, ...rest) =>
                        (algorithm && (algorithm.name || algorithm) === 'Ed25519')
                            ? Promise.reject(new DOMException('unsupported', 'NotSupportedError'))
                            : original(format, key, algorithm, ...rest);
                }
                const verify = await import('/static/verify.js');
                return await verify.verifyTps(doc);
            }""",
            [doc, ed25519],
        )
        return result

    return run


def _checks(version: Doc) -> dict[str, Any]:
    return {c["id"]: c["ok"] for c in version["checks"]}


def _receipts(doc: Doc) -> Iterator[Doc]:
    for form in doc["forms"]:
        for version in form["versions"]:
            if version.get("proof"):
                yield version["proof"]
                yield from version["authority"] or []


def _current(doc: Doc) -> Doc:
    found = [v for f in doc["forms"] for v in f["versions"] if v["current"]]
    assert len(found) == 1
    version: Doc = found[0]
    return version


def test_signed_forms_verify_and_show_the_signed_numbers(
    docs: dict[str, Doc], verify: Callable[..., Doc]
) -> None:
    for tps, votes, role, chain in [
        (SIGNED, {"01": 31, "02": 42}, "submitter", ["keys_register"] * 3),
        (
            ENROLLED,
            {"01": 7, "02": 8},
            "submitter",
            ["enrolment", "keys_register", "keys_register"],
        ),
    ]:
        result = verify(docs[tps])
        assert result["supported"] is True
        (version,) = result["versions"]
        assert version["verified"] is True, version["checks"]
        ids = [c["id"] for c in version["checks"]]
        assert ids == ["entry", "leaf", "inclusion", "checkpoint", "witness", "signature", "key"]
        assert version["form"]["votes"] == votes
        assert version["form"]["tps"] == tps
        key = version["checks"][-1]["detail"]
        assert (key["role"], key["source"]) == (role, "kpps")
        assert [step["type"] for step in key["chain"]] == chain
        assert key["chain"][-1]["leaf_index"] == 0
        witness = version["checks"][4]["detail"]
        assert witness["name"] == "w1.example"
        assert witness["time"] > 1_700_000_000


def test_an_attested_bulk_import_verifies(docs: dict[str, Doc], verify: Callable[..., Doc]) -> None:
    (version,) = verify(docs[ATTESTED])["versions"]
    assert version["verified"] is True, version["checks"]
    assert "attestation" in _checks(version)
    assert "signature" not in _checks(version)
    assert version["form"]["votes"] == {"01": 40, "02": 50}
    key = version["checks"][-1]["detail"]
    assert key["role"] == "importer"


def test_a_form_no_checkpoint_covers_is_not_verified(
    docs: dict[str, Doc], verify: Callable[..., Doc]
) -> None:
    assert _current(docs[UNPUBLISHED])["proof"] is None
    (version,) = verify(docs[UNPUBLISHED])["versions"]
    assert version["verified"] is False
    assert version["form"] is None
    assert all(c["ok"] is False for c in version["checks"])
    assert version["checks"][0]["detail"]["reason"] == "not_in_checkpoint"


def test_a_tampered_inclusion_proof_is_caught(
    docs: dict[str, Doc], verify: Callable[..., Doc]
) -> None:
    doc = copy.deepcopy(docs[SIGNED])
    proof = _current(doc)["proof"]
    first = bytearray(base64.b64decode(proof["inclusion_proof"][0]))
    first[0] ^= 1
    proof["inclusion_proof"][0] = base64.b64encode(bytes(first)).decode()
    (version,) = verify(doc)["versions"]
    checks = _checks(version)
    assert checks["inclusion"] is False
    assert checks["leaf"] is True
    assert version["verified"] is False


def test_a_tampered_checkpoint_signature_is_caught(
    docs: dict[str, Doc], verify: Callable[..., Doc]
) -> None:
    doc = copy.deepcopy(docs[SIGNED])
    note = _current(doc)["proof"]["checkpoint"]
    text, lines = note.split("\n\n")
    origin = text.split("\n")[0]
    signature = next(line for line in lines.split("\n") if line.startswith(f"— {origin} "))
    raw = bytearray(base64.b64decode(signature.rsplit(" ", 1)[1]))
    raw[10] ^= 1  # a byte of the signature, after the 4-byte key ID
    forged = f"— {origin} {base64.b64encode(bytes(raw)).decode()}"
    for receipt in _receipts(doc):
        receipt["checkpoint"] = receipt["checkpoint"].replace(signature, forged)
    (version,) = verify(doc)["versions"]
    checks = _checks(version)
    assert checks["checkpoint"] is False
    assert (checks["inclusion"], checks["key"]) == (True, True)
    assert version["verified"] is False


def test_tampered_numbers_in_the_entry_are_never_verified(
    docs: dict[str, Doc], verify: Callable[..., Doc]
) -> None:
    doc = copy.deepcopy(docs[SIGNED])
    proof = _current(doc)["proof"]
    entry = base64.b64decode(proof["entry"])
    assert b'"01":31' in entry
    proof["entry"] = base64.b64encode(entry.replace(b'"01":31', b'"01":91')).decode()
    _current(doc)["votes"]["01"] = 91  # the JSON beside it agrees with the lie
    (version,) = verify(doc)["versions"]
    checks = _checks(version)
    assert checks["entry"] is True  # still a well-formed form...
    assert (checks["leaf"], checks["inclusion"], checks["signature"]) == (False, False, False)
    assert version["verified"] is False
    assert version["form"]["votes"]["01"] == 91  # ...shown only as not verified


def test_a_missing_witness_cosignature_is_caught(
    docs: dict[str, Doc], verify: Callable[..., Doc]
) -> None:
    doc = copy.deepcopy(docs[SIGNED])
    for receipt in _receipts(doc):
        note = receipt["checkpoint"]
        receipt["checkpoint"] = "".join(
            line for line in note.splitlines(keepends=True) if not line.startswith("— w1.example ")
        )
    (version,) = verify(doc)["versions"]
    witness = next(c for c in version["checks"] if c["id"] == "witness")
    assert witness["ok"] is False
    assert witness["detail"] == {"name": "w1.example", "time": None, "reason": "missing"}
    assert _checks(version)["checkpoint"] is True
    assert version["verified"] is False


def test_a_key_chain_that_misses_the_signing_key_is_caught(
    docs: dict[str, Doc], verify: Callable[..., Doc]
) -> None:
    doc = copy.deepcopy(docs[SIGNED])
    del _current(doc)["authority"][0]  # keep the manager's and admin's registrations only
    (version,) = verify(doc)["versions"]
    key = version["checks"][-1]
    assert (key["id"], key["ok"]) == ("key", False)
    assert key["detail"]["reason"] == "not_registered"
    assert _checks(version)["signature"] is True
    assert version["verified"] is False


def test_without_ed25519_nothing_is_claimed(
    docs: dict[str, Doc], verify: Callable[..., Doc]
) -> None:
    for tps in (SIGNED, ATTESTED):
        result = verify(docs[tps], ed25519=False)
        assert result["supported"] is False
        (version,) = result["versions"]
        assert version["verified"] is False
        checks = _checks(version)
        assert (checks["entry"], checks["leaf"], checks["inclusion"]) == (True, True, True)
        signed = ["checkpoint", "witness", "attestation" if tps == ATTESTED else "signature", "key"]
        assert [checks[c] for c in signed] == [None] * 4
        assert all(
            c["detail"]["reason"] == "ed25519_unsupported"
            for c in version["checks"]
            if c["id"] in signed
        )


def test_the_log_key_fingerprint_matches_python(
    docs: dict[str, Doc], verify: Callable[..., Doc]
) -> None:
    doc = docs[SIGNED]
    expected = log_key_fingerprint(doc["log"]["vkey"])
    assert doc["log"]["fingerprint"] == expected
    assert verify(doc)["log"]["fingerprint"] == expected
    assert [len(block) for block in expected.split(" ")] == [4] * 16
    assert doc["log"]["vkey"].startswith(doc["log"]["origin"] + "+")
    assert [w.split("+")[0] for w in doc["log"]["witnesses"]] == ["w1.example"]


def test_hostile_documents_never_throw(verify: Callable[..., Doc]) -> None:
    hostile: list[Any] = [
        None,
        {},
        {"forms": [{"versions": [{"proof": {"entry": "!!"}, "authority": 5}]}]},
        {"log": {"vkey": 3}, "forms": [{"versions": [None, {"proof": "x"}]}]},
    ]
    for doc in hostile:
        result = verify(doc)
        assert all(v["verified"] is False for v in result["versions"])
