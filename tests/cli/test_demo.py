"""`saksi demo` and `saksi example synthetic` on one small province, end to end."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from conftest import DATA
from support import free_port, run_saksi, tally_json

KPU = DATA / "pemilu2024"


def _truth(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _demo(folder: Path) -> str:
    """The demo on Kalimantan Utara (2,295 TPS), its server stopped when it is done."""
    result = run_saksi(
        "demo", folder, "--data", KPU, "--provinces", "65", "--batch", "1000",
        "--port", str(free_port()), "--photo-every", "20", "--exit",
    )  # fmt: skip
    return result.stderr + result.stdout


def test_demo_streams_every_form_over_http_and_can_run_again(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    assert "done:" in _demo(folder)
    truth = _truth(folder / "planted-anomalies.jsonl")
    missing = sum(1 for t in truth if t["kind"] == "missing_forms")
    official = tally_json(folder, "--source", "kpps")
    # Every registered TPS reports except those whose official form was planted missing.
    assert official["tps_reported"] == official["tps_total"] - missing
    assert official["log_size"] > official["tps_reported"]
    assert sum(official["flagged_tps"].values()) > 0  # planted errors are flagged
    published = json.loads((folder / "public" / "totals" / "PPWP" / "kpps" / "ID.json").read_text())
    assert {k: v for k, v in published.items() if k != "log_size"} == {
        k: v for k, v in official.items() if k != "log_size"
    }
    status = run_saksi("log", "status", folder).stdout
    assert f"size       {official['log_size']}" in status  # the last entry is the publication
    # Every form came through the API: signed by a device its manager enrolled, some with
    # a photo; the verifier checks all of it from the published folder.
    assert any(p.is_file() for p in (folder / "photos").rglob("*"))
    vkey = run_saksi("log", "vkey", folder).stdout.strip()
    verified = run_saksi("verify", folder / "public", "--vkey", vkey, "--no-state", "--json")
    report = json.loads(verified.stdout)
    assert report["ok"]
    assert report["photos_checked"] > 0
    assert report["signatures_checked"] >= official["tps_reported"]
    assert "done:" in _demo(folder)
    assert tally_json(folder, "--source", "kpps") == official  # same seed, same election


def test_demo_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    folder = tmp_path / "precious"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    result = run_saksi("demo", folder, "--data", KPU, "--provinces", "65", check=False)
    assert result.returncode == 1
    assert "is not an earlier demo" in result.stderr
    assert "Traceback" not in result.stderr
    assert (folder / "notes.txt").read_text() == "keep me"


def test_example_synthetic_stores_photos_named_by_forms(tmp_path: Path) -> None:
    folder = tmp_path / "synthetic"
    truth = tmp_path / "truth.jsonl"
    run_saksi(
        "example",
        "synthetic",
        folder,
        "--data",
        KPU,
        "--provinces",
        "51",
        "--truth",
        truth,
        "--photos",
        "5",
    )
    assert truth.exists()
    photos = sorted(p for p in (folder / "photos").rglob("*") if p.is_file())
    assert len(photos) == 5
    dump = run_saksi("dump", folder).stdout.splitlines()
    rows = [json.loads(line.split("\t", 1)[1]) for line in dump if line.startswith("forms\t")]
    payloads = [json.loads(row[8]) for row in rows]  # the forms table's payload column
    listed = {h for payload in payloads for h in payload.get("photos", [])}
    assert len(listed) == 5
    for photo in photos:
        assert hashlib.sha256(photo.read_bytes()).hexdigest() == photo.name
        assert photo.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert listed == {photo.name for photo in photos}
