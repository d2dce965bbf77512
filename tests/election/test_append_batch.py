"""Election.append (all or none) and Election.append_each (each on its own) share one
staging step: both refuse what the record could not read back, and both answer a form
repeated within one batch with the receipt of its first copy."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from saksi.election.election import Election, Receipt
from saksi.errors import RejectedEntry
from saksi.keys.ed25519 import SigningKey
from saksi.log.entry import Entry, EntryType
from support import pemilu2019_election, tps_csv

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _form(tps: str) -> dict[str, Any]:
    return {
        "tps": tps,
        "contest": "PPWP",
        "source": "kpps",
        "votes": {"01": 10, "02": 20},
        "fields": {"suara_sah": 30, "suara_tidak_sah": 1, "pengguna_hak_pilih": 31},
    }


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Election, SigningKey]:
    election = pemilu2019_election(tmp_path / "election", tps_csv(tmp_path / "tps.csv", 3, 1))
    device = SigningKey.generate()
    item = {"key": device.public_b64, "role": "submitter", "source": "kpps", "tps": ["1-001"]}
    manager = election.key("manager", "kpps")
    election.append(
        [manager.entry(EntryType.KEYS_REGISTER, election.election_id, {"keys": [item]})]
    )
    return election, device


def _non_canonical(entry: Entry) -> Entry:
    """The same valid signature, its base64 changed in the bits decoding ignores."""
    sig = entry.auth.signature or ""
    flipped = B64[B64.index(sig[-3]) ^ 1]
    return dataclasses.replace(
        entry, auth=dataclasses.replace(entry.auth, signature=sig[:-3] + flipped + sig[-2:])
    )


def test_non_canonical_base64_is_never_recorded(signed: tuple[Election, SigningKey]) -> None:
    election, device = signed
    entry = _non_canonical(
        device.entry(EntryType.RESULT_FORM, election.election_id, _form("1-001"))
    )
    size = len(election.record)
    with pytest.raises(RejectedEntry, match=r"auth\.sig must be 64 bytes in canonical base64"):
        election.append([entry])
    (refused,) = election.append_each([entry])
    assert isinstance(refused, RejectedEntry)
    assert "canonical base64" in str(refused)
    assert len(election.record) == size
    election.close()


@pytest.mark.parametrize("each", [False, True])
def test_a_form_twice_in_one_batch_gets_the_first_receipt(
    signed: tuple[Election, SigningKey], each: bool
) -> None:
    election, device = signed
    entry = device.entry(EntryType.RESULT_FORM, election.election_id, _form("1-001"))
    first, again = election.append_each([entry, entry]) if each else election.append([entry, entry])
    assert isinstance(first, Receipt)
    assert isinstance(again, Receipt)
    assert (again.leaf_index, again.entry_hash, again.duplicate) == (
        first.leaf_index,
        first.entry_hash,
        True,
    )
    assert len(election.record) == first.leaf_index + 1
    election.close()
