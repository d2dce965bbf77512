"""A small election with a recapitulation ladder, for the ladder's API and website tests.

The 2019 manifest over 20 desas of 2 TPS each (Bali, 3 kabupaten, 15 kecamatan). Before
the server starts, the record gets every official (kpps) TPS form, KawalPemilu's copies
of desa 1's TPS (one says 7 more votes for 01), and the keys of every recap body.
The recap forms themselves are signed here but sent over HTTP by the tests, bottom-up; the
kecamatan of desa 1 inflates desa 1's row, so the ladder has a difference to show.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from saksi.client.submitter import Client
from saksi.election.election import Election
from saksi.keys.ed25519 import SigningKey
from saksi.ladder.build import example_recap_key, recap_payload
from saksi.log.entry import EntryType
from saksi.registry.model import Level
from support import pemilu2019_election, serving_election, tps_csv

CONTEST, OFFICIAL, WITNESS_SOURCE = "PPWP", "kpps", "kawalpemilu"
DESA = "1"  # the desa whose row the kecamatan's recap inflates
INFLATION = 25  # votes for 01 added to that row
_LEVEL_ORDER = {Level.KECAMATAN: 0, Level.KABUPATEN_KOTA: 1, Level.PROVINSI: 2, Level.NATIONAL: 3}


def tps_form(tps: str, a: int, b: int, source: str = OFFICIAL) -> dict[str, Any]:
    valid = a + b
    return {
        "tps": tps,
        "contest": CONTEST,
        "source": source,
        "votes": {"01": a, "02": b},
        "fields": {"suara_sah": valid, "suara_tidak_sah": 2, "pengguna_hak_pilih": valid + 2},
    }


def official_votes(tps: str) -> tuple[int, int]:
    """The official form's votes of a TPS ("<desa>-<nnn>"), varied so that sums differ."""
    desa, number = tps.split("-")
    return 40 + int(desa) * 3 + int(number), 30 + (int(desa) * 7) % 20


@dataclass
class LadderElection:
    folder: Path
    election_id: str
    device: SigningKey  # the kpps submitter of every TPS
    kecamatan: str  # the kecamatan of DESA
    kabupaten: str  # its kabupaten/kota
    # The recap forms in the order a real ladder signs them: region -> payload.
    recaps: dict[str, dict[str, Any]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def recap_key(self, region: str) -> SigningKey:
        return example_recap_key(self.election_id, region)

    def admin(self) -> SigningKey:
        return SigningKey.load(self.folder / "keys" / "admin.key")

    def manager(self, source: str) -> SigningKey:
        return SigningKey.load(self.folder / "keys" / f"manager-{source}.key")


def build_ladder_election(root: Path) -> LadderElection:
    folder = root / "election"
    election = pemilu2019_election(folder, tps_csv(root / "tps.csv", 20, 2))
    try:
        return _fill(election, folder)
    finally:
        election.close()


def _fill(election: Election, folder: Path) -> LadderElection:
    eid, state = election.election_id, election.state
    admin, device, witness_device = (
        election.key("admin"),
        SigningKey.generate(),
        SigningKey.generate(),
    )
    all_tps = sorted(state.registry.tps)
    desa_tps = [t for t in all_tps if t.startswith(f"{DESA}-")]
    recap_regions = sorted(
        (r for r in state.registry.regions.values() if r.level in _LEVEL_ORDER),
        key=lambda r: (_LEVEL_ORDER[r.level], r.id),
    )
    keys = [
        {"key": device.public_b64, "role": "submitter", "source": OFFICIAL, "tps": all_tps},
        {
            "key": witness_device.public_b64,
            "role": "submitter",
            "source": WITNESS_SOURCE,
            "tps": desa_tps,
        },
        *(
            {"key": example_recap_key(eid, r.id).public_b64, "role": "recap_body", "region": r.id}
            for r in recap_regions
        ),
    ]
    election.append([admin.entry(EntryType.KEYS_REGISTER, eid, {"keys": keys})])
    forms = [
        device.entry(EntryType.RESULT_FORM, eid, tps_form(t, *official_votes(t))) for t in all_tps
    ]
    for tps in desa_tps:  # the party's copies of desa 1: the first says 7 more for 01
        a, b = official_votes(tps)
        copy = tps_form(tps, a + (7 if tps == desa_tps[0] else 0), b, WITNESS_SOURCE)
        forms.append(witness_device.entry(EntryType.RESULT_FORM, eid, copy))
    election.append(forms)
    election.publish_log()
    kecamatan = state.registry.regions[DESA].parent
    assert kecamatan is not None
    kabupaten = state.registry.regions[kecamatan].parent
    assert kabupaten is not None
    made = LadderElection(folder, eid, device, kecamatan, kabupaten)
    for region in recap_regions:
        payload = recap_payload(
            state, CONTEST, region.id, source=OFFICIAL, plenary_date="2024-03-01"
        )
        if region.id == kecamatan:
            (row,) = [r for r in payload["rows"] if r["region"] == DESA]
            row["votes"]["01"] += INFLATION
            row["valid"] += INFLATION
            row["voters"] += INFLATION
        made.recaps[region.id] = payload
    made.names = {r.id: r.name for r in state.registry.regions.values()}
    return made


def send_recaps(url: str, ladder: LadderElection) -> dict[str, str]:
    """Each recap body sends its region's recap form over HTTP, bottom-up; returns the
    payload hash of each region's recap form."""
    hashes = {}
    for region, payload in ladder.recaps.items():
        with Client(url, ladder.recap_key(region), election=ladder.election_id) as body:
            receipt = body.record(EntryType.RECAP_FORM, payload)
        assert receipt["status"] == "ok", receipt
        hashes[region] = str(receipt["payload_hash"])
    return hashes


def register_witness(url: str, ladder: LadderElection) -> SigningKey:
    """A party's plenary witness, registered over HTTP by the party source's manager."""
    witness = SigningKey.generate()
    item = {"key": witness.public_b64, "role": "plenary_witness", "source": WITNESS_SOURCE}
    manager = ladder.manager(WITNESS_SOURCE)
    with Client(url, manager, election=ladder.election_id) as client:
        client.record(EntryType.KEYS_REGISTER, {"keys": [item]})
    return witness


@contextmanager
def serving_ladder(ladder: LadderElection) -> Iterator[str]:
    with serving_election(ladder.folder, "--address-rate", "100000", "--key-rate", "100000") as url:
        yield url
