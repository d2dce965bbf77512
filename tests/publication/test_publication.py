"""The folder public/: what a publication writes, lists and commits in the log."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from saksi.canonical import decode_canonical
from saksi.election.election import Election
from saksi.errors import RejectedEntry
from saksi.log.entry import EntryType, decode_entry
from saksi.log.record import Record
from support import pemilu2019_election, run_saksi, tally_json, tps_csv

REPO = Path(__file__).resolve().parents[2]
BROKEN = {"11-001", "222-002"}  # suara_sah disagrees with the votes on these forms


def _form(tps: str, extra: int = 0) -> dict[str, Any]:
    n = int(tps.split("-")[0])
    a, b = n % 97 + extra, n % 89
    valid = a + b + (5 if tps in BROKEN else 0)
    return {
        "tps": tps,
        "contest": "PPWP",
        "source": "kpps",
        "votes": {"01": a, "02": b},
        "fields": {"suara_sah": valid, "suara_tidak_sah": 1, "pengguna_hak_pilih": valid + 1},
    }


def _make(tmp_path: Path, store: str | None = None) -> Election:
    registry = tps_csv(tmp_path / "tps.csv", 299, 3, province=lambda d: "BALI" if d % 2 else "ACEH")
    election = pemilu2019_election(tmp_path / "e", registry, store)
    tps = sorted(election.state.registry.tps)
    election.import_forms([_form(t) for t in tps[:600]], election.importer_key("kpps"))
    return election


def _index(folder: Path) -> dict[str, Any]:
    value: dict[str, Any] = decode_canonical((folder / "public" / "index.json").read_bytes())
    return value


def _publications(folder: Path) -> list[tuple[int, dict[str, Any]]]:
    record = Record(folder / "record" / "entries", writable=False)
    try:
        out = []
        for seq, data in enumerate(record.iter_from(0)):
            entry = decode_entry(data)
            if entry.type is EntryType.PUBLICATION:
                out.append((seq, entry.payload))
        return out
    finally:
        record.close()


def _without_log_size(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "log_size"}


def test_the_index_lists_every_file_and_a_publication_entry_commits_it(
    tmp_path: Path, store_url: str | None
) -> None:
    election = _make(tmp_path, store_url)
    photo = b"\x89PNG a page of form C.Hasil"
    digest = election.store_photo(photo)
    size_before = len(election.record)
    checkpoint = election.publish_log(exports=True)
    election.close()
    folder = tmp_path / "e"
    public = folder / "public"
    index = _index(folder)
    assert index["log_size"] == size_before
    on_disk = {
        p.relative_to(public).as_posix()
        for p in public.rglob("*")
        if p.is_file() and p.relative_to(public).parts[0] != "log" and p.name != "index.json"
    }
    listed = {f["path"]: f for f in index["files"]}
    # Photos are listed through the photo list files, which the index lists.
    photo_lines = "".join(
        (public / p).read_text() for p in sorted(listed) if p.startswith("photos/list/")
    ).splitlines()
    photos = {f"photos/{h[:2]}/{h}": int(n) for h, n in (x.split(" ") for x in photo_lines)}
    assert set(listed) | set(photos) == on_disk
    for path, size in photos.items():
        data = (public / path).read_bytes()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (path.rsplit("/", 1)[1], size)
    for path, item in listed.items():
        data = (public / path).read_bytes()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (item["sha256"], item["size"])

    # The last publication entry commits these exact index bytes, and the checkpoint
    # signed after it covers it.
    [(leaf, payload)] = _publications(folder)
    assert payload == {
        "files": len(listed),
        "index": hashlib.sha256((public / "index.json").read_bytes()).hexdigest(),
        "log_size": size_before,
    }
    assert leaf == size_before
    assert checkpoint.size == leaf + 1

    # Totals: one file per region with forms, the figures `saksi tally --json` prints.
    registry = election.state.registry
    first_tps = registry.tps[sorted(registry.tps)[0]]
    for region in registry.paths[first_tps.desa]:  # from the nation down to a desa
        doc = json.loads((public / "totals" / "PPWP" / "kpps" / f"{region}.json").read_text())
        assert doc["log_size"] == size_before
        assert _without_log_size(doc) == _without_log_size(
            tally_json(folder, "--region", region, "--source", "kpps")
        )
    assert not (public / "totals" / "PPWP" / "situng").exists()  # no situng form yet

    flags = json.loads((public / "flags" / "PPWP" / "kpps.json").read_text())
    assert {f["tps_id"] for f in flags["flags"]} == BROKEN
    assert all(f["rules"] == ["votes_sum_valid"] for f in flags["flags"])
    record = Record(folder / "record" / "entries", writable=False)
    for item in flags["flags"]:
        assert decode_entry(record[item["leaf_index"]]).payload["tps"] == item["tps_id"]
    record.close()

    assert (public / "photos" / digest[:2] / digest).read_bytes() == photo
    assert (public / "photos" / "list" / "000000.txt").read_text() == f"{digest} {len(photo)}\n"
    with (public / "exports" / "PPWP" / "kpps" / "tps.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 600


def test_unchanged_figures_keep_the_log_size_they_were_published_at(tmp_path: Path) -> None:
    election = _make(tmp_path)
    first = election.publish_log()
    totals = tmp_path / "e" / "public" / "totals" / "PPWP" / "kpps"
    before = {p.name: p.read_bytes() for p in totals.iterdir()}
    # One more form, in DESA 7 (BALI, KAB 1, KEC 2): only the regions on its path change.
    new_tps = "7-003"
    assert new_tps not in sorted(election.state.registry.tps)[:600]
    election.import_forms([_form(new_tps)], election.importer_key("kpps"))
    shown = len(election.record)  # its attestation and the form came after the checkpoint
    second = election.publish_log(exports=False)
    registry = election.state.registry
    path = set(registry.paths[registry.tps[new_tps].desa])
    election.close()
    after = {p.name: p.read_bytes() for p in totals.iterdir()}
    changed = {name for name in after if before.get(name) != after[name]}
    assert changed == {f"{region}.json" for region in path}
    for name in changed:
        assert json.loads(after[name])["log_size"] == shown
    index = _index(tmp_path / "e")
    assert index["log_size"] == shown
    sizes = {f["path"].rsplit("/", 1)[1]: f.get("log_size") for f in index["files"]}
    assert {sizes[n] for n in after if n not in changed} == {first.size - 1}
    assert [p["log_size"] for _, p in _publications(tmp_path / "e")] == [
        first.size - 1,
        shown,
    ]
    assert second.size == shown + 1


def test_publishing_with_nothing_new_adds_no_entry(tmp_path: Path) -> None:
    election = _make(tmp_path)
    first = election.publish_log()
    index = (tmp_path / "e" / "public" / "index.json").read_bytes()
    again = election.publish_log()
    election.close()
    assert again == first
    assert (tmp_path / "e" / "public" / "index.json").read_bytes() == index
    assert len(_publications(tmp_path / "e")) == 1


def test_saksi_log_publish_and_status_report_the_publication(tmp_path: Path) -> None:
    _make(tmp_path).close()
    folder = tmp_path / "e"
    out = run_saksi("log", "publish", folder, "--no-exports").stdout
    assert "publication of log_size" in out
    assert not (folder / "public" / "exports").exists()
    status = run_saksi("log", "status", folder).stdout
    files = len(_index(folder)["files"])
    assert f"published  totals of log_size {_index(folder)['log_size']}, {files} files" in status
    # Exports asked for later, with nothing else new, still make a publication.
    run_saksi("log", "publish", folder)
    assert (folder / "public" / "exports" / "PPWP" / "kpps" / "tps.csv").exists()
    assert len(_publications(folder)) == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"log_size": 10**6}, "cannot reflect log_size"),
        ({"log_size": 0}, "cannot reflect log_size"),
        ({"index": "ABC"}, "64 hex digits"),
        ({"files": -1}, "64 hex digits"),
        ({"extra": 1}, "64 hex digits"),
    ],
)
def test_a_malformed_publication_is_refused(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    election = _make(tmp_path)
    size = len(election.record)
    payload = {"files": 3, "index": "0" * 64, "log_size": size, **change}
    entry = election.key("admin").entry(EntryType.PUBLICATION, election.election_id, payload)
    with pytest.raises(RejectedEntry, match=message):
        election.append([entry])
    assert len(election.record) == size
    election.close()


def test_only_the_admin_publishes_and_never_backwards(tmp_path: Path) -> None:
    election = _make(tmp_path)
    election.publish_log()
    size = len(election.record)
    importer = election.importer_key("kpps")
    payload = {"files": 3, "index": "0" * 64, "log_size": size}
    with pytest.raises(RejectedEntry, match="only the election admin may record a publication"):
        election.append([importer.entry(EntryType.PUBLICATION, election.election_id, payload)])
    back = {**payload, "log_size": size - 5}
    admin = election.key("admin")
    with pytest.raises(RejectedEntry, match="would go back behind the published log_size"):
        election.append([admin.entry(EntryType.PUBLICATION, election.election_id, back)])
    assert len(election.record) == size
    election.close()
