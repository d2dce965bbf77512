"""A store snapshot sees one committed state while the writer goes on: what lets the
server write public/ off the writer's path. On both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from saksi.election.folder import ElectionFolder
from saksi.store.base import open_store
from saksi.tally.query import tally_report
from support import pemilu2019_election, tps_csv


def _form(tps: str) -> dict[str, Any]:
    return {
        "tps": tps,
        "contest": "PPWP",
        "source": "kpps",
        "votes": {"01": 10, "02": 20},
        "fields": {"suara_sah": 30, "suara_tidak_sah": 1, "pengguna_hak_pilih": 31},
    }


def test_a_snapshot_keeps_its_state_until_rolled_back(
    tmp_path: Path, store_url: str | None
) -> None:
    folder = tmp_path / "election"
    election = pemilu2019_election(folder, tps_csv(tmp_path / "tps.csv", 4, 1), store=store_url)
    importer = election.importer_key("kpps")
    election.import_forms([_form("1-001")], importer)
    reader = open_store(
        ElectionFolder(folder).read_config()[1],
        ElectionFolder(folder).sqlite_path,
        election.election_id,
    )
    try:
        reader.snapshot()
        before = reader.log_size()
        seen = tally_report(reader, region="ID", contest="PPWP", source="kpps")
        election.import_forms([_form("2-001"), _form("3-001")], importer)  # the writer goes on
        assert reader.log_size() == before
        again = tally_report(reader, region="ID", contest="PPWP", source="kpps")
        assert again == seen
        assert again["tps_reported"] == 1
        reader.rollback()
        now = tally_report(reader, region="ID", contest="PPWP", source="kpps")
        assert now["tps_reported"] == 3
        assert reader.log_size() == len(election.record) > before
    finally:
        reader.close()
        election.close()
