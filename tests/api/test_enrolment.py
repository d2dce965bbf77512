"""Enrolment at national scale through `saksi serve`: a key manager issues one-time codes
in bulk, each device registers its own key with its code, a lost device is revoked and a
new one enrolled; the verifier replays all of it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_helpers import (
    build_election,
    form,
    manager,
    png,
    publish,
    running,
    state_of,
    verify_served,
)

from saksi.client.submitter import Client, SubmissionRefused
from saksi.keys.ed25519 import SigningKey
from saksi.log.entry import EntryType
from support import run_saksi

TPS = ["6-001", "6-002", "7-001"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, dict[str, str]]]:
    folder = build_election(tmp_path_factory.mktemp("enrol"))
    with running(folder, "--key-rate", "1000") as url:
        with Client(url, manager(folder)) as kpps:
            codes = kpps.issue_codes("kpps", TPS)
        yield folder, url, codes


def _refused(action: object) -> SubmissionRefused:
    with pytest.raises(SubmissionRefused) as refused:
        action()  # type: ignore[operator]
    return refused.value


def test_a_device_enrols_with_its_code_and_submits_for_its_tps_only(
    served: tuple[Path, str, dict[str, str]],
) -> None:
    _, url, codes = served
    device = SigningKey.generate()
    with Client(url, device) as client:
        # Codes are typed by people: dashes, spaces and lower case are forgiven.
        typed = "-".join(codes["6-001"][i : i + 5] for i in range(0, 26, 5)).lower()
        assert client.enrol("kpps", "6-001", typed)["status"] == "ok"
        assert client.submit_form(form("6-001"))["status"] == "ok"
        other = _refused(lambda: client.submit_form(form("6-002")))
    assert "not authorised to submit for TPS 6-002" in str(other)
    second = SigningKey.generate()
    with Client(url, second) as client:
        reused = _refused(lambda: client.enrol("kpps", "6-001", codes["6-001"]))
    assert "no enrolment code is outstanding for TPS 6-001, source kpps" in str(reused)


def test_refused_enrolments_store_nothing(served: tuple[Path, str, dict[str, str]]) -> None:
    folder, url, codes = served
    before = state_of(folder)
    device, thief = SigningKey.generate(), SigningKey.generate()
    wrong = "A" * 26
    with (
        Client(url, device) as client,
        Client(url, thief) as other,
        Client(url, manager(folder, "situng")) as situng,
        Client(url, manager(folder)) as kpps,
    ):
        cases = {
            "wrong code": lambda: client.enrol("kpps", "6-002", wrong),
            "other source": lambda: client.enrol("situng", "6-002", codes["6-002"]),
            "malformed code": lambda: client.enrol("kpps", "6-002", "not a code"),
            "signed by another key": lambda: other.record(
                EntryType.ENROLMENT,
                {
                    "code": codes["6-002"],
                    "key": device.public_b64,
                    "source": "kpps",
                    "tps": "6-002",
                },
            ),
            "party manager issues official codes": lambda: situng.record(
                EntryType.ENROLMENT_CODES,
                {"codes": base64.b64encode(bytes(16)).decode(), "source": "kpps", "tps": ["6-002"]},
            ),
            "codes for an unregistered TPS": lambda: kpps.issue_codes("kpps", ["99-001"]),
        }
        found = {case: str(_refused(action)) for case, action in cases.items()}
    assert state_of(folder) == before
    assert "the enrolment code for TPS 6-002, source kpps is wrong" in found["wrong code"]
    assert "no enrolment code is outstanding for TPS 6-002, source situng" in found["other source"]
    assert "26 letters A-Z and digits 2-7" in found["malformed code"]
    assert "must be signed by the key it enrols" in found["signed by another key"]
    assert "key manager of source kpps may issue" in found["party manager issues official codes"]
    assert "TPS 99-001 is not registered" in found["codes for an unregistered TPS"]


def test_a_lost_device_is_revoked_and_its_tps_enrols_a_new_one(
    served: tuple[Path, str, dict[str, str]],
) -> None:
    folder, url, codes = served
    lost, replacement = SigningKey.generate(), SigningKey.generate()
    with Client(url, lost) as client:
        client.enrol("kpps", "7-001", codes["7-001"])
    with Client(url, manager(folder)) as kpps:
        kpps.record(EntryType.KEYS_REVOKE, {"keys": [lost.public_b64], "reason": "device lost"})
        fresh = kpps.issue_codes("kpps", ["7-001"])
    with Client(url, lost) as client:
        assert "was revoked" in str(_refused(lambda: client.submit_form(form("7-001"))))
    with Client(url, replacement) as client:
        client.enrol("kpps", "7-001", fresh["7-001"])
        assert client.submit_form(form("7-001"))["status"] == "ok"


def test_the_verifier_replays_the_enrolments(
    served: tuple[Path, str, dict[str, str]], tmp_path: Path
) -> None:
    folder, url, _ = served
    mirror = tmp_path / "mirror"
    with Client(url, manager(folder)) as kpps:
        code = kpps.issue_codes("kpps", ["9-001"])["9-001"]
    with Client(url, SigningKey.generate()) as device:
        device.enrol("kpps", "9-001", code)
        device.submit_form(form("9-001"))
    publish(url, folder)
    exit_code, report = verify_served(url, folder, mirror)
    assert exit_code == 0, report["failures"]
    assert report["forms_checked"] >= 1


def test_the_commands_enrol_a_device_and_submit_with_a_photo(
    served: tuple[Path, str, dict[str, str]], tmp_path: Path
) -> None:
    folder, url, _ = served
    (tmp_path / "tps.txt").write_text("tps_id\n8-001\n")
    codes_csv, device_key = tmp_path / "codes.csv", tmp_path / "device.key"
    run_saksi(
        "enrol", "codes", url, "--key", folder / "keys" / "manager-kpps.key", "--source", "kpps",
        "--tps-file", tmp_path / "tps.txt", "--out", codes_csv,
    )  # fmt: skip
    code = codes_csv.read_text().splitlines()[1].split(",")[1]
    wrong = run_saksi(
        "enrol", "device", url, "--source", "kpps", "--tps", "8-001", "--code", "B" * 26,
        "--key-out", device_key, check=False,
    )  # fmt: skip
    assert wrong.returncode == 1
    assert "the enrolment code for TPS 8-001, source kpps is wrong" in wrong.stderr + wrong.stdout
    assert not device_key.exists()
    run_saksi(
        "enrol", "device", url, "--source", "kpps", "--tps", "8-001", "--code", code,
        "--key-out", device_key,
    )  # fmt: skip
    (tmp_path / "form.json").write_text(json.dumps(form("8-001", 4, 5)))
    (tmp_path / "page.png").write_bytes(png("page 1", gps=True))
    result = run_saksi(
        "submit", url, "--key", device_key, "--form", tmp_path / "form.json",
        "--photo", tmp_path / "page.png",
    )  # fmt: skip
    receipt = json.loads(result.stdout)
    assert receipt["status"] == "ok"
    detail = httpx.get(f"{url}/api/tps/8-001.json").json()
    (version,) = next(f for f in detail["forms"] if f["source"] == "kpps")["versions"]
    assert version["leaf_index"] == receipt["leaf_index"]
    assert len(version["photos"]) == 1
