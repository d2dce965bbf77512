"""A small election with a ladder: 12 desa in 6 kecamatan, 2 kabupaten, one province;
one official form per TPS; a recap body key for every kecamatan and above, a plenary
witness and a Bawaslu key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saksi.election.election import Election
from saksi.keys.ed25519 import SigningKey
from saksi.ladder.build import example_recap_key, recap_entry, recap_payload
from saksi.log.entry import Entry, EntryType
from saksi.registry.model import Level
from support import pemilu2019_election, tps_csv

LEVELS = (Level.KECAMATAN, Level.KABUPATEN_KOTA, Level.PROVINSI, Level.NATIONAL)
BASIS = "Keputusan KPU No. 1/2024"


@dataclass
class Ladder:
    election: Election
    witness: SigningKey
    bawaslu: SigningKey

    @property
    def eid(self) -> str:
        return self.election.election_id

    def regions(self, level: Level) -> list[str]:
        return sorted(
            r.id for r in self.election.state.registry.regions.values() if r.level is level
        )

    def body(self, region: str) -> SigningKey:
        return example_recap_key(self.eid, region)

    def recap(self, region: str, **changes: Any) -> dict[str, Any]:
        payload = recap_payload(
            self.election.state, "PPWP", region, source="kpps", plenary_date="2024-03-01"
        )
        payload.update(changes)
        return payload

    def sign_recap(self, region: str, payload: dict[str, Any] | None = None) -> Entry:
        return recap_entry(self.eid, payload or self.recap(region), self.body(region))

    def record(self, entry: Entry) -> None:
        self.election.append([entry])

    def all_recaps(self) -> None:
        for level in LEVELS:
            for region in self.regions(level):
                self.record(self.sign_recap(region))

    def decision(self, signer: SigningKey, **payload: Any) -> Entry:
        body = {"legal_basis": BASIS, "acts_on": [], **payload}
        return signer.entry(EntryType.DECISION, self.eid, body)

    def head(self, region: str) -> str:
        return self.election.state.ladder.chains[("PPWP", region)][-1]

    def form(self, tps: str, votes: tuple[int, int], replaces: str | None = None) -> Entry:
        valid = sum(votes)
        payload: dict[str, Any] = {
            "tps": tps,
            "contest": "PPWP",
            "source": "kpps",
            "votes": {"01": votes[0], "02": votes[1]},
            "fields": {"suara_sah": valid, "suara_tidak_sah": 2, "pengguna_hak_pilih": valid + 2},
        }
        if replaces is not None:
            payload["replaces"] = replaces
        return self.election.importer_key("kpps").entry(EntryType.RESULT_FORM, self.eid, payload)

    def form_hash(self, tps: str) -> str:
        seq = self.election.state.current("PPWP", "kpps", tps)
        assert seq is not None
        return self.election.state._read_form(seq)[1]


@contextmanager
def ladder_election(tmp_path: Path, store_url: str | None) -> Iterator[Ladder]:
    tps = tps_csv(tmp_path / "tps.csv", 12, 1, kabupaten=2, kecamatan=3)
    election = pemilu2019_election(tmp_path / "e", tps, store=store_url)
    keys = {"witness": SigningKey.generate(), "bawaslu": SigningKey.generate()}
    found = Ladder(election, keys["witness"], keys["bawaslu"])
    forms = [
        found.form(t, (40 + i, 60 + 2 * i))
        for i, t in enumerate(sorted(election.state.registry.tps))
    ]
    election.append(forms)
    items = [
        {"key": found.body(r).public_b64, "role": "recap_body", "region": r}
        for level in LEVELS
        for r in found.regions(level)
    ]
    items.append({"key": keys["bawaslu"].public_b64, "role": "bawaslu", "region": "ID"})
    items.append(
        {"key": keys["witness"].public_b64, "role": "plenary_witness", "source": "kawalpemilu"}
    )
    admin = election.key("admin")
    election.append([admin.entry(EntryType.KEYS_REGISTER, found.eid, {"keys": items})])
    try:
        yield found
    finally:
        election.close()
