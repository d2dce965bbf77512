"""Submitting through a real `saksi serve` on 127.0.0.1: forms, photos, receipts,
corrections, enrolment by a key manager, and every refusal leaving nothing behind."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_helpers import (
    CONTEST,
    build_election,
    form,
    jpeg_with_gps,
    manager,
    png,
    publish,
    running,
    state_of,
)

from saksi.canonical import canonical_bytes
from saksi.client.submitter import Client, SubmissionRefused
from saksi.keys.ed25519 import SigningKey
from saksi.log.entry import EntryType, payload_hash

TPS_A, TPS_B = "1-001", "2-001"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    folder = build_election(tmp_path_factory.mktemp("api"))
    with running(folder, "--key-rate", "1000") as url:  # rate limits: test_limits.py
        yield folder, url


def _enrol(url: str, folder: Path, tps: str, source: str = "kpps") -> SigningKey:
    device = SigningKey.generate()
    with Client(url, manager(folder, source)) as kpps:
        item = {"key": device.public_b64, "role": "submitter", "source": source, "tps": [tps]}
        kpps.record(EntryType.KEYS_REGISTER, {"keys": [item]})
    return device


def test_a_form_with_photos_is_recorded_published_and_provable(served: tuple[Path, str]) -> None:
    folder, url = served
    device = _enrol(url, folder, TPS_A)
    page = png("page 1")
    with Client(url, device) as client:
        receipt = client.submit_form(form(TPS_A, 11, 22), photos=[page])
        again = client.submit_form(form(TPS_A, 11, 22), photos=[page])
    publish(url, folder)
    assert receipt["status"] == "ok"
    assert again["status"] == "duplicate"
    assert again["leaf_index"] == receipt["leaf_index"]
    national = httpx.get(f"{url}/api/totals.json", params={"contest": CONTEST}).json()
    assert national["log_size"] > receipt["leaf_index"]
    assert national["choices"]["01"] >= 11
    detail = httpx.get(f"{url}/api/tps/{TPS_A}.json").json()
    (kpps,) = [f for f in detail["forms"] if f["source"] == "kpps"]
    (version,) = kpps["versions"]
    assert version["leaf_index"] == receipt["leaf_index"]
    assert version["votes"] == {"01": 11, "02": 22}
    # The photo is kept without its metadata, under the hash the form names.
    (photo_hash,) = version["photos"]
    photo = httpx.get(f"{url}/photos/{photo_hash[:2]}/{photo_hash}")
    assert hashlib.sha256(photo.content).hexdigest() == photo_hash
    assert photo.headers["content-type"] == "image/png"
    assert "immutable" in photo.headers["cache-control"]
    # The proof is against the published checkpoint and holds the entry itself.
    proof = version["proof"]
    assert proof["leaf_index"] == receipt["leaf_index"]
    assert hashlib.sha256(base64.b64decode(proof["entry"])).hexdigest() == receipt["entry_hash"]
    checkpoint = httpx.get(f"{url}/log/checkpoint").text
    assert checkpoint.split("\n")[1] == str(proof["tree_size"])


def test_a_correction_replaces_the_current_version_only(served: tuple[Path, str]) -> None:
    folder, url = served
    device = _enrol(url, folder, TPS_B)
    first = form(TPS_B, 5, 6)
    with Client(url, device) as client:
        client.submit_form(first)
        first_hash = payload_hash(
            EntryType.RESULT_FORM, client.election, canonical_bytes(first)
        ).hex()
        client.submit_form(form(TPS_B, 7, 6), replaces=first_hash)
        with pytest.raises(SubmissionRefused, match="latest") as refused:
            client.submit_form(form(TPS_B, 9, 6), replaces=first_hash)
    assert refused.value.status == 422
    detail = httpx.get(f"{url}/api/tps/{TPS_B}.json").json()
    (kpps,) = [f for f in detail["forms"] if f["source"] == "kpps"]
    assert [v["votes"]["01"] for v in kpps["versions"]] == [5, 7]
    assert [v["current"] for v in kpps["versions"]] == [False, True]


def _raw_photo(client: Client, data: bytes) -> None:
    """Upload bytes as they are, without the client's metadata stripping."""
    from saksi.api.signing import photo_signing_input

    digest = hashlib.sha256(data).hexdigest()
    signature = client.key.private.sign(photo_signing_input(client.election, digest))
    headers = {
        "Saksi-Key": client.key.public_b64,
        "Saksi-Signature": base64.b64encode(signature).decode(),
    }
    client._check(client.http.post("/api/photos", content=data, headers=headers))


def _post(client: Client, path: str, body: bytes) -> None:
    client._check(client.http.post(path, content=body))


REFUSALS: list[tuple[str, int, str]] = [
    ("other TPS", 422, "is not authorised to submit for TPS 4-001, source kpps"),
    ("other source", 422, "is not authorised to submit for TPS 3-001, source kawalpemilu"),
    ("unregistered key", 422, "is not registered in this election"),
    ("unregistered TPS", 422, "TPS 99-001 is not registered in election pemilu2019"),
    ("negative count", 422, "votes for choice 01 must not be negative, got -1"),
    ("float count", 422, "cannot be recorded"),
    ("photo never uploaded", 422, "has not been uploaded; send it to /api/photos first"),
    ("signed for another election", 422, "signed for another election"),
    ("GPS-tagged photo", 422, "the photo carries GPS location metadata"),
    ("oversized photo", 413, "a form photo is at most 8,388,608 bytes"),
    ("not an image", 415, "the photo is not a JPEG or PNG image"),
    ("photo by a stranger", 403, "is not an active submitter or importer"),
    ("submitter registers keys", 422, "a submitter key may not register keys"),
    (
        "manager of another source",
        422,
        "may only enrol submitters, importers and plenary witnesses of source situng",
    ),
    ("not JSON", 400, "the submission is not valid JSON"),
    ("unknown member", 400, "a submission holds form, key and sig"),
    ("bad signature encoding", 400, "'sig' must be base64 of 64 bytes"),
    ("non-canonical signature", 400, "'sig' must be base64 of 64 bytes, in canonical form"),
]


def _non_canonical(form: dict[str, Any], key: SigningKey) -> str:
    signature = (
        key.sign(EntryType.RESULT_FORM.value, "pemilu2019", canonical_bytes(form)).signature or ""
    )
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    flipped = alphabet[alphabet.index(signature[-3]) ^ 1]
    return signature[:-3] + flipped + signature[-2:]


def _attempt_all(url: str, folder: Path, device: SigningKey) -> dict[str, tuple[int, str]]:
    stranger = SigningKey.generate()
    other_election = SigningKey.from_seed(device.seed())
    mine = form("3-001")
    out: dict[str, tuple[int, str]] = {}
    with (
        Client(url, device) as client,
        Client(url, stranger) as other,
        # The same device, signing for another election.
        Client(url, other_election, election="pemilu2024") as foreign,
        Client(url, manager(folder, "situng")) as situng,
    ):
        big = png("big", size=(1, 1)) + bytes(9 * 1024 * 1024)
        item = {"key": stranger.public_b64, "role": "submitter", "source": "kpps", "tps": ["3-001"]}
        actions: dict[str, Callable[[], object]] = {
            "other TPS": lambda: client.submit_form(form("4-001")),
            "other source": lambda: client.submit_form(form("3-001", source="kawalpemilu")),
            "unregistered key": lambda: other.submit_form(mine),
            "unregistered TPS": lambda: client.submit_form(form("99-001")),
            "negative count": lambda: client.submit_form({**mine, "votes": {"01": -1, "02": 2}}),
            "float count": lambda: _post(
                client,
                "/api/results",
                json.dumps(
                    {
                        "form": {**mine, "votes": {"01": 1.5, "02": 2}},
                        "key": device.public_b64,
                        "sig": base64.b64encode(bytes(64)).decode(),
                    }
                ).encode(),
            ),
            "photo never uploaded": lambda: client.submit_form({**mine, "photos": ["a" * 64]}),
            "signed for another election": lambda: foreign.submit_form(mine),
            "GPS-tagged photo": lambda: _raw_photo(client, jpeg_with_gps()),
            "oversized photo": lambda: _raw_photo(client, big),
            "not an image": lambda: _raw_photo(client, b"%PDF-1.4 not a photo"),
            "photo by a stranger": lambda: other.upload_photo(png("x")),
            "submitter registers keys": lambda: client.record(
                EntryType.KEYS_REGISTER, {"keys": [item]}
            ),
            "manager of another source": lambda: situng.record(
                EntryType.KEYS_REGISTER, {"keys": [item]}
            ),
            "not JSON": lambda: _post(client, "/api/results", b"{not json"),
            "unknown member": lambda: _post(client, "/api/results", b'{"form":{},"extra":1}'),
            "bad signature encoding": lambda: _post(
                client,
                "/api/results",
                json.dumps({"form": mine, "key": device.public_b64, "sig": "!"}).encode(),
            ),
            # A valid signature whose base64 differs only in bits decoding ignores: the
            # record's decoder would refuse it, so it must never be recorded.
            "non-canonical signature": lambda: _post(
                client,
                "/api/results",
                json.dumps(
                    {"form": mine, "key": device.public_b64, "sig": _non_canonical(mine, device)}
                ).encode(),
            ),
        }
        for case, action in actions.items():
            try:
                action()
            except SubmissionRefused as exc:
                out[case] = (exc.status, str(exc))
            else:
                out[case] = (0, "accepted")
    return out


def test_every_refusal_is_specific_and_stores_nothing(served: tuple[Path, str]) -> None:
    folder, url = served
    device = _enrol(url, folder, "3-001")
    before = state_of(folder)
    found = _attempt_all(url, folder, device)
    assert state_of(folder) == before
    for case, status, message in REFUSALS:
        assert found[case][0] == status, (case, found[case])
        assert message in found[case][1], (case, found[case])


def test_revoked_device_is_refused_and_a_new_one_enrolled(served: tuple[Path, str]) -> None:
    folder, url = served
    lost = _enrol(url, folder, "5-001")
    with Client(url, manager(folder)) as kpps:
        kpps.record(EntryType.KEYS_REVOKE, {"keys": [lost.public_b64], "reason": "device lost"})
    with Client(url, lost) as client, pytest.raises(SubmissionRefused, match="was revoked"):
        client.submit_form(form("5-001"))
    replacement = _enrol(url, folder, "5-001")
    with Client(url, replacement) as client:
        assert client.submit_form(form("5-001"))["status"] == "ok"
