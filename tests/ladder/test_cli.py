"""`saksi ladder show|differences|trail` on a real election folder, run as the command."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from ladder_helpers import Ladder, ladder_election

from saksi.registry.model import Level
from support import run_saksi


@pytest.fixture
def inflated(tmp_path: Path) -> Iterator[tuple[Ladder, str, str]]:
    """A ladder whose first kecamatan recap adds 100 votes for 01 to its first desa's row."""
    with ladder_election(tmp_path, None) as ladder:
        kecamatan = ladder.regions(Level.KECAMATAN)[0]
        payload = ladder.recap(kecamatan)
        row = payload["rows"][0]
        for name in ("valid", "voters"):
            row[name] += 100
        row["votes"]["01"] += 100
        ladder.record(ladder.sign_recap(kecamatan, payload))
        for level in (Level.KABUPATEN_KOTA, Level.PROVINSI, Level.NATIONAL):
            for region in ladder.regions(level):
                ladder.record(ladder.sign_recap(region))
        ladder.election.flush()
        yield ladder, kecamatan, row["region"]


def test_differences_lists_the_inflated_row_largest_first(
    inflated: tuple[Ladder, str, str],
) -> None:
    ladder, kecamatan, desa = inflated
    folder = ladder.election.folder.root
    out = json.loads(run_saksi("ladder", "differences", folder, "--json").stdout)
    # The inflation is carried faithfully up the ladder: every level above differs from
    # the TPS forms by the same 100, and no level differs from the recap below it.
    holders = list(itertools.pairwise(ladder.election.state.registry.paths[desa]))
    expected = sorted(
        (holder, row, figure, 100, "kpps")
        for holder, row in holders
        for figure in ("01", "valid", "voters")
    )
    found = [
        (d["recap_region"], d["row"], d["figure"], d["amount"], d["against"])
        for d in out["differences"]
    ]
    assert sorted(found) == expected
    text = run_saksi("ladder", "differences", folder).stdout
    assert f"recap {kecamatan}, row {desa}: 01 " in text
    assert "is 100 more than the TPS forms of kpps" in text
    assert text.rstrip().endswith("12 differences")


def test_show_puts_the_three_figures_side_by_side(inflated: tuple[Ladder, str, str]) -> None:
    ladder, kecamatan, _ = inflated
    folder = ladder.election.folder.root
    shown = json.loads(run_saksi("ladder", "show", folder, "--region", kecamatan, "--json").stdout)
    figures = shown["figures"]
    # The kabupaten carried the kecamatan's inflated total up faithfully.
    assert figures["recap"] == figures["own_recap"]
    assert figures["recap"]["01"] == figures["tps"]["kpps"]["01"] + 100
    text = run_saksi("ladder", "show", folder, "--region", kecamatan).stdout
    assert "3 differences, 0 objections" in text


def test_trail_shows_where_the_votes_grew(inflated: tuple[Ladder, str, str]) -> None:
    ladder, kecamatan, desa = inflated
    folder = ladder.election.folder.root
    tps = next(t.id for t in ladder.election.state.registry.tps.values() if t.desa == desa)
    trail = json.loads(run_saksi("ladder", "trail", folder, tps, "--choice", "01", "--json").stdout)
    changed = [(s["where"], s["change"]) for s in trail["steps"] if s["change"]]
    assert changed == [(kecamatan, 100)]
    steps = [s["step"] for s in trail["steps"]]
    assert steps[:3] == ["tps", "tps_sum", "recap_row"]
    assert steps[-1] == "recap_total"
    assert trail["steps"][-1]["where"] == "ID"
    text = run_saksi("ladder", "trail", folder, tps, "--choice", "01").stdout
    assert "CHANGED by +100" in text


def test_unknown_region_or_tps_is_refused_in_words(inflated: tuple[Ladder, str, str]) -> None:
    folder = inflated[0].election.folder.root
    shown = run_saksi("ladder", "show", folder, "--region", "9999", check=False)
    assert shown.returncode == 1
    assert "region 9999 is not registered" in shown.stderr
    assert "Traceback" not in shown.stderr
    trail = run_saksi("ladder", "trail", folder, "nope", "--choice", "01", check=False)
    assert "TPS nope is not registered" in trail.stderr
    assert "Traceback" not in trail.stderr


def test_example_synthetic_builds_a_ladder_with_its_truth(tmp_path: Path) -> None:
    data = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "pemilu2024"
    folder, truth = tmp_path / "e", tmp_path / "ladder.jsonl"
    run_saksi(
        "example", "synthetic", folder, "--data", data, "--provinces", "65",
        "--photos", "0", "--ladder", "--ladder-truth", truth,
    )  # fmt: skip
    planted = [json.loads(line) for line in truth.read_text(encoding="utf-8").splitlines()]
    assert sorted(p["kind"] for p in planted) == [
        "copied_row",
        "deflated_row",
        "inflated_row",
        "revote",
    ]
    inflated = next(p for p in planted if p["kind"] == "inflated_row")
    out = json.loads(run_saksi("ladder", "differences", folder, "--json").stdout)
    at_row = {
        d["figure"]: d["amount"]
        for d in out["differences"]
        if (d["recap_region"], d["row"]) == (inflated["recap_region"], inflated["row"])
    }
    assert at_row == inflated["figures"]
    alone = run_saksi("example", "synthetic", tmp_path / "f", "--data", data,
                      "--ladder-truth", truth, check=False)  # fmt: skip
    assert alone.returncode != 0
    assert "--ladder-truth needs --ladder" in alone.stderr
