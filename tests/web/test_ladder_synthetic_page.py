"""The ladder page on the synthetic election's ladder (`saksi example synthetic --ladder`):
the re-vote is listed in its kecamatan with its exact change, and a party witness's
partial sum is shown but never marked as a difference."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from saksi.web.ladder_pages import signed
from support import run_saksi, serving_election

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "pemilu2024"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    root = tmp_path_factory.mktemp("ladder-synthetic")
    truth = root / "ladder.jsonl"
    run_saksi(
        "example", "synthetic", root / "e", "--data", DATA, "--provinces", "65",
        "--photos", "0", "--ladder", "--ladder-truth", truth,
    )  # fmt: skip
    planted = [json.loads(line) for line in truth.read_text(encoding="utf-8").splitlines()]
    with serving_election(root / "e") as url:
        yield url, planted


def test_the_revote_is_listed_with_its_change(served: tuple[str, list[dict[str, Any]]]) -> None:
    url, planted = served
    revote = next(p for p in planted if p["kind"] == "revote")
    api = httpx.get(f"{url}/api/ladder/{revote['recap_region']}.json").json()
    [listed] = [r for r in api["revotes"] if r["tps"] == revote["tps"]]
    assert listed["change"] == revote["figures"]
    assert listed["decision"]["payload_hash"] == revote["decision"]
    page = httpx.get(f"{url}/ladder/{revote['recap_region']}", params={"lang": "en"}).text
    row = re.search(rf'<tr data-tps="{revote["tps"]}">(.*?)</tr>', page, re.S)
    assert row is not None
    for figure, amount in revote["figures"].items():
        assert f">{figure}</abbr> {signed(amount, 'en')}" in row.group(1)


def test_a_partial_sum_is_shown_but_never_marked(served: tuple[str, list[dict[str, Any]]]) -> None:
    url, planted = served
    inflated = next(p for p in planted if p["kind"] == "inflated_row")
    region = inflated["recap_region"]
    api = httpx.get(f"{url}/api/ladder/{region}.json").json()
    partial = {
        (row["region"]["id"], source)
        for row in api["rows"]
        for source, cover in row["tps_coverage"].items()
        if cover["reported"] < cover["total"]
    }
    assert partial, "the synthetic witnesses photograph only some TPS"
    assert not any((d["row"], d["against"]) in partial for d in api["differences"])
    page = httpx.get(f"{url}/ladder/{region}").text
    headers = re.findall(r'<th scope="col" class="num" data-source="([^"]+)"', page)
    for row_id, source in partial:
        body = re.search(rf'<tbody data-row="{row_id}">(.*?)</tbody>', page, re.S)
        assert body is not None
        for line in re.findall(r"<tr data-figure.*?</tr>", body.group(1), re.S):
            cells = re.findall(r"<td class=\"num[^\"]*\"[^>]*>", line)
            # columns: recap, recap below, then one per source in header order
            assert "differs" not in cells[2 + headers.index(source)]
    # The planted row is marked against the official source.
    body = re.search(rf'<tbody data-row="{inflated["row"]}">(.*?)</tbody>', page, re.S)
    assert body is not None
    assert f'data-difference="{inflated["amount"]}"' in body.group(1)
