"""Admin requests through `saksi serve`: signed by the admin key, each nonce once."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_helpers import build_election, manager, running, state_of

from saksi.api.signing import request_signing_input
from saksi.canonical import canonical_bytes
from saksi.client.submitter import Client, SubmissionRefused
from saksi.keys.ed25519 import SigningKey
from saksi.log.entry import EntryType


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    folder = build_election(tmp_path_factory.mktemp("admin"))  # no cadence: the admin publishes
    with running(folder) as url:
        yield folder, url


def _admin(folder: Path) -> SigningKey:
    return SigningKey.load(folder / "keys" / "admin.key")


def _signed(
    key: SigningKey, path: str, body: bytes, *, when: int | None = None, nonce: str = ""
) -> dict[str, str]:
    nonce = nonce or secrets.token_urlsafe(24)
    stamp = str(int(time.time()) if when is None else when)
    message = request_signing_input("POST", path, "pemilu2019", nonce, stamp, body)
    return {
        "Saksi-Key": key.public_b64,
        "Saksi-Nonce": nonce,
        "Saksi-Time": stamp,
        "Saksi-Signature": base64.b64encode(key.private.sign(message)).decode(),
    }


def _decision(key: SigningKey) -> bytes:
    payload = {"acts_on": [], "kind": "order_recount", "legal_basis": "Rekomendasi Bawaslu 1/2024"}
    signature = key.sign(EntryType.DECISION.value, "pemilu2019", canonical_bytes(payload))
    return json.dumps({"payload": payload, "sig": signature.signature}).encode()


def test_the_admin_publishes_and_records_a_decision(served: tuple[Path, str]) -> None:
    folder, url = served
    before = int(httpx.get(f"{url}/log/checkpoint").text.split("\n")[1])
    with Client(url, _admin(folder)) as admin:
        decided = admin.decide(
            {"acts_on": [], "kind": "certify", "legal_basis": "Keputusan KPU 1/2024"}
        )
        checkpoint = admin.publish()
    assert checkpoint["size"] > decided["leaf_index"] >= before
    assert httpx.get(f"{url}/log/checkpoint").text.split("\n")[1] == str(checkpoint["size"])


def test_a_replayed_or_foreign_admin_request_changes_nothing(served: tuple[Path, str]) -> None:
    folder, url = served
    admin, kpps = _admin(folder), manager(folder)
    path = "/api/admin/decisions"
    body = _decision(admin)
    headers = _signed(admin, path, body)
    assert httpx.post(url + path, content=body, headers=headers).status_code == 201
    before = state_of(folder)
    tampered = body.replace(b"1/2024", b"2/2024")
    attempts = {
        "replayed": (body, headers),
        "no signature": (body, {}),
        "another body": (tampered, headers),
        "stale": (body, _signed(admin, path, body, when=int(time.time()) - 3600)),
        "by the kpps manager": (_decision(kpps), _signed(kpps, path, _decision(kpps))),
    }
    found = {}
    for case, (content, sent) in attempts.items():
        answer = httpx.post(url + path, content=content, headers=sent)
        found[case] = (answer.status_code, answer.json()["errors"][0]["message"])
    assert state_of(folder) == before
    assert found["replayed"] == (409, "this admin request was received before (its nonce is used)")
    assert found["no signature"][0] == 401
    assert found["another body"] == (401, "the admin request's signature does not verify")
    assert found["stale"][0] == 401
    assert found["by the kpps manager"][0] == 403
    assert "is not this election's admin key" in found["by the kpps manager"][1]


def test_the_admin_replaces_a_lost_manager_key(served: tuple[Path, str]) -> None:
    folder, url = served
    old, new, device = manager(folder, "situng"), SigningKey.generate(), SigningKey.generate()
    item = {"key": device.public_b64, "role": "submitter", "source": "situng", "tps": ["4-002"]}
    with Client(url, _admin(folder)) as admin:
        admin.record(EntryType.KEYS_REVOKE, {"keys": [old.public_b64], "reason": "key lost"})
        admin.record(
            EntryType.KEYS_REGISTER,
            {"keys": [{"key": new.public_b64, "role": "manager", "source": "situng"}]},
        )
    with Client(url, old) as lost, pytest.raises(SubmissionRefused, match="was revoked"):
        lost.record(EntryType.KEYS_REGISTER, {"keys": [item]})
    with Client(url, new) as situng:
        assert situng.record(EntryType.KEYS_REGISTER, {"keys": [item]})["status"] == "ok"


def test_rate_limit_per_client_address(tmp_path: Path) -> None:
    folder = build_election(tmp_path)
    with running(folder, "--address-rate", "1") as url:  # bursts of 2
        answers = [httpx.post(f"{url}/api/results", content=b"{}") for _ in range(4)]
    assert [a.status_code for a in answers[:2]] == [400, 400]  # let through, then refused
    limited = [a for a in answers[2:] if a.status_code == 429]
    assert limited
    assert "too many requests from address 127.0.0.1" in limited[0].json()["errors"][0]["message"]
    assert limited[0].headers["retry-after"] == "1"
    # Reads are not limited: they are prepared bytes.
    with running(folder, "--address-rate", "1") as url:
        assert all(httpx.get(f"{url}/api/totals.json").status_code == 200 for _ in range(5))
