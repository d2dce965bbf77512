"""`saksi forensics` on a synthetic Kalimantan Utara with a planted ladder: every ladder
difference against the official forms or the recap below is a `ladder_difference` flag,
first in the report, largest first, with its exact amount, place and plain words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA
from saksi.cli.readonly import open_store_readonly
from saksi.examples.synthetic import AnomalyPlan
from saksi.examples.synthetic_election import build_synthetic
from saksi.examples.synthetic_ladder import LadderPlan
from saksi.forensics.ladder_flags import RULE, ladder_flags
from saksi.ladder.compare import Difference
from saksi.ladder.report import all_differences
from support import run_saksi

PLAN = LadderPlan(inflated_rows=1, deflated_rows=1, copied_rows=1, revotes=1)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    root = tmp_path_factory.mktemp("ladder-flags")
    truth = root / "ladder-truth.jsonl"
    build_synthetic(
        DATA / "pemilu2024",
        root / "election",
        seed=7,
        provinces=("65",),
        anomalies=AnomalyPlan(),
        ladder=PLAN,
        ladder_truth_path=truth,
        say=lambda _: None,
    ).close()
    lines = truth.read_text(encoding="utf-8").splitlines()
    return root / "election", [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def report(planted: tuple[Path, list[dict[str, Any]]]) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(run_saksi("forensics", planted[0], "--json").stdout)
    return found


def ladder(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["flags"] if f["rule"] == RULE]


def test_every_ladder_difference_is_a_flag_ranked_by_size(
    planted: tuple[Path, list[dict[str, Any]]], report: dict[str, Any]
) -> None:
    with open_store_readonly(planted[0]) as store:
        differences = [d for d in all_differences(store, "PPWP") if d.against in ("kpps", "recap")]
    flags = ladder(report)
    assert differences
    assert [
        (f["recap_region"], f["row"], f["figure"], f["against"], f["amount"]) for f in flags
    ] == [(d.recap_region, d.row, d.figure, d.against, d.amount) for d in differences]
    sizes = [abs(f["amount"]) for f in flags]
    assert sizes == sorted(sizes, reverse=True)
    # First in the report: they concern the legal result itself.
    assert report["flags"][: len(flags)] == flags
    assert RULE in report["rules"]
    for flag in flags:
        assert flag["tps_id"] is None
        assert flag["source"] == report["official_source"] == "kpps"
        assert flag["contest"] == "PPWP"
        assert flag["region_url"] == f"/region/{flag['recap_region']}"
        assert flag["direction"] == ("up" if flag["amount"] > 0 else "down")
        assert flag["recap"] - flag["below"] == flag["amount"]
        assert f"{abs(flag['amount']):,}" in flag["message"]


def test_each_planted_row_is_flagged_with_its_exact_amount(
    planted: tuple[Path, list[dict[str, Any]]], report: dict[str, Any]
) -> None:
    _, truth = planted
    flags = ladder(report)
    for item in truth:
        if item["kind"] == "revote":
            continue
        at_row = {
            (f["figure"], f["against"]): f["amount"]
            for f in flags
            if (f["recap_region"], f["row"]) == (item["recap_region"], item["row"])
        }
        against = ("kpps", "recap") if item["kind"] == "deflated_row" else ("kpps",)
        assert at_row == {(f, a): n for f, n in item["figures"].items() for a in against}


def test_the_messages_say_it_in_plain_words(
    planted: tuple[Path, list[dict[str, Any]]], report: dict[str, Any]
) -> None:
    _, truth = planted
    inflated = next(t for t in truth if t["kind"] == "inflated_row")
    flag = next(
        f
        for f in ladder(report)
        if (f["recap_region"], f["row"], f["figure"])
        == (inflated["recap_region"], inflated["row"], inflated["choice"])
    )
    with open_store_readonly(planted[0]) as store:
        names = dict(store.query("SELECT id, name FROM regions"))
    kecamatan, desa = inflated["recap_region"], inflated["row"]
    assert flag["message"] == (
        f"Rekap kecamatan {kecamatan} ({names[kecamatan]}), row desa {desa} ({names[desa]}): "
        f"votes for {inflated['choice']} are {flag['recap']:,}, {inflated['amount']:,} more "
        f"than the official TPS forms below it ({flag['below']:,})"
    )
    deflated = next(t for t in truth if t["kind"] == "deflated_row")
    against_recap = next(
        f
        for f in ladder(report)
        if (f["recap_region"], f["row"], f["figure"], f["against"])
        == (deflated["recap_region"], deflated["row"], "valid", "recap")
    )
    row = deflated["row"]
    assert against_recap["message"].endswith(
        f"valid votes are {against_recap['recap']:,}, {-deflated['amount']:,} less than the "
        f"recap form of kecamatan {row} ({names[row]}) ({against_recap['below']:,})"
    )


def test_the_summary_counts_the_ladder_flags(
    planted: tuple[Path, list[dict[str, Any]]], report: dict[str, Any]
) -> None:
    summary = run_saksi("forensics", planted[0]).stdout
    assert f"  {RULE}: {len(ladder(report))} (a recap row differs" in summary


def test_the_html_report_links_each_ladder_flag_to_its_region(
    planted: tuple[Path, list[dict[str, Any]]], report: dict[str, Any], tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    run_saksi("forensics", planted[0], "--html", page)
    html = page.read_text(encoding="utf-8")
    first = ladder(report)[0]
    place = f"{first['recap_region']} / {first['row']}"
    assert f'<a href="/region/{first["recap_region"]}">{place}</a>' in html


def test_the_national_row_and_other_sources() -> None:
    """Pure: a provinsi row of the national recap, and a witness source's difference
    (left out: the copies cover part of the TPS by design)."""
    found = [
        Difference("ID", "51", "02", 1_000_300, 1_000_000, "kpps"),
        Difference("ID", "51", "02", 1_000_300, 600_000, "saksi-01"),
        Difference("51", "5171", "voters", 90, 100, "recap"),
    ]
    flags = ladder_flags(
        found,
        contest="PPWP",
        official="kpps",
        levels={"ID": "nasional", "51": "provinsi", "5171": "kabupaten_kota"},
        names={"ID": "INDONESIA", "51": "BALI", "5171": "KOTA DENPASAR"},
    )
    assert [f["message"] for f in flags] == [
        "Rekap nasional ID, row provinsi 51 (BALI): votes for 02 are 1,000,300, 300 more "
        "than the official TPS forms below it (1,000,000)",
        "Rekap provinsi 51 (BALI), row kabupaten/kota 5171 (KOTA DENPASAR): voters are 90, "
        "10 less than the recap form of kabupaten/kota 5171 (KOTA DENPASAR) (100)",
    ]
    assert [f["amount"] for f in flags] == [300, -10]
