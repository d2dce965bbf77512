"""The ladder and trail pages over HTTP, without a browser (issue 8): HTML, `.json` and
`.csv` against `saksi serve` on loopback. Every expectation is computed from the API's
own ladder documents (/api/ladder/…), never by calling the website's code."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ladder_support import (
    CONTEST,
    DESA,
    INFLATION,
    LadderElection,
    build_ladder_election,
    register_witness,
    send_recaps,
    serving_ladder,
)
from saksi.client.submitter import Client
from saksi.log.entry import EntryType

TPS = f"{DESA}-001"
LADDER_HEADER = (
    "kind,region_id,region_name,figure,recap,recap_below,"
    "tps_kawalpemilu,tps_kpps,tps_situng,differences"
)
TRAIL_HEADER = "tps_id,contest,choice,step,region_id,region_name,row,value,change"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LadderElection, str]]:
    ladder = build_ladder_election(tmp_path_factory.mktemp("ladder-pages"))
    with serving_ladder(ladder) as url:
        hashes = send_recaps(url, ladder)
        witness = register_witness(url, ladder)
        claim = {
            "acts_on": [hashes[ladder.kecamatan]],
            "row": DESA,
            "choice": "01",
            "claim": "Suara 01 digelembungkan",
            "legal_basis": "",
        }
        with Client(url, witness) as client:
            recorded = client.record(EntryType.OBJECTION, claim)
        answer = {
            "kind": "answer_objection",
            "outcome": "accepted",
            "acts_on": [recorded["payload_hash"]],
            "legal_basis": "Berita acara pleno PPK",
        }
        with Client(url, ladder.recap_key(ladder.kecamatan)) as body:
            body.record(EntryType.DECISION, answer)
        time.sleep(0.3)  # past the 0.25 s a read may lag the record
        yield ladder, url


def get(url: str, path: str, status: int = 200, **params: str) -> httpx.Response:
    response = httpx.get(url + path, params=params, timeout=30)
    assert response.status_code == status, (path, response.text[:300])
    return response


def api_ladder(url: str, region: str) -> dict[str, Any]:
    value: dict[str, Any] = get(url, f"/api/ladder/{region}.json", contest=CONTEST).json()
    return value


def test_the_ladder_page_shows_rows_differences_and_the_answered_objection(
    served: tuple[LadderElection, str],
) -> None:
    ladder, url = served
    expected = api_ladder(url, ladder.kecamatan)
    page = get(url, f"/ladder/{ladder.kecamatan}")
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    html = page.text
    assert f"Rekapitulasi berjenjang · {expected['region']['name']}" in html
    assert 'data-certified="no"' in html
    # The inflated row: the cell is marked with a sign, and the difference is in words.
    assert f"▲ +{INFLATION} naik dibanding" in html
    assert "≠" in html
    (objection,) = expected["objections"]
    assert objection["status"] == "accepted"
    assert f'data-objection="{objection["payload_hash"]}" data-status="accepted"' in html
    assert "diterima" in html
    english = get(url, f"/ladder/{ladder.kecamatan}", lang="en").text
    assert "accepted" in english
    assert f"▲ +{INFLATION} up against" in english


def test_the_ladder_json_and_csv_are_the_api_document(
    served: tuple[LadderElection, str],
) -> None:
    ladder, url = served
    expected = api_ladder(url, ladder.kecamatan)
    data = get(url, f"/ladder/{ladder.kecamatan}.json").json()
    assert data["page"] == "ladder"
    for key in ("region", "figures", "rows", "differences", "objections", "recap_form"):
        assert data[key] == expected[key], key
    assert [r["id"] for r in data["path"]][-1] == ladder.kecamatan
    body = get(url, f"/ladder/{ladder.kecamatan}.csv")
    assert body.headers["content-type"].startswith("text/csv")
    lines = body.text.splitlines()
    assert lines[0] == LADDER_HEADER
    rows = list(csv.DictReader(io.StringIO(body.text)))
    figures = ["01", "02", "valid", "invalid", "voters"]
    assert len(rows) == len(figures) * (1 + len(expected["rows"]))
    for item in expected["rows"]:
        mine = [r for r in rows if r["kind"] == "row" and r["region_id"] == item["region"]["id"]]
        assert [r["figure"] for r in mine] == figures
        for row in mine:
            assert int(row["recap"]) == item["recap"][row["figure"]]
            assert int(row["tps_kpps"]) == item["tps"]["kpps"][row["figure"]]
            wanted = [
                f"{d['against']}:{d['amount']:+d}"
                for d in item["differences"]
                if d["figure"] == row["figure"]
            ]
            assert row["differences"].split() == wanted
    (grew,) = [r for r in rows if r["region_id"] == DESA and r["figure"] == "01"]
    assert f"kpps:+{INFLATION}" in grew["differences"].split()


def test_the_trail_page_and_its_data(served: tuple[LadderElection, str]) -> None:
    ladder, url = served
    expected = get(url, f"/api/ladder/trail/{TPS}.json", choice="01").json()
    html = get(url, f"/ladder/trail/{TPS}", choice="01").text
    assert f"/ladder/{ladder.kecamatan}" in html
    assert f"▲ +{INFLATION}" in html
    assert f"▼ −{INFLATION}" in html
    data = get(url, f"/ladder/trail/{TPS}.json", choice="01").json()
    assert data["steps"] == expected["steps"]
    assert data["names"][ladder.kecamatan] == ladder.names[ladder.kecamatan]
    body = get(url, f"/ladder/trail/{TPS}.csv", choice="01").text
    assert body.splitlines()[0] == TRAIL_HEADER
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [(r["step"], r["region_id"]) for r in rows] == [
        (s["step"], s["where"]) for s in expected["steps"]
    ]
    assert [r["value"] for r in rows] == [str(s["value"]) for s in expected["steps"]]
    assert [r["change"] for r in rows] == [
        "" if s["change"] is None else str(s["change"]) for s in expected["steps"]
    ]


def test_region_and_tps_pages_link_to_the_ladder(served: tuple[LadderElection, str]) -> None:
    ladder, url = served
    assert f'href="/ladder/{ladder.kecamatan}"' in get(url, f"/region/{ladder.kecamatan}").text
    assert f'href="/ladder/trail/{TPS}"' in get(url, f"/tps/{TPS}").text
    english = get(url, f"/region/{ladder.kecamatan}", lang="en").text
    assert f'href="/ladder/{ladder.kecamatan}?lang=en"' in english


def test_unknown_places_are_404_pages_in_words(served: tuple[LadderElection, str]) -> None:
    _, url = served
    assert "region nowhere is not registered" in get(url, "/ladder/nowhere", 404).text
    assert "TPS 9-999 is not registered" in get(url, "/ladder/trail/9-999", 404).text
    errors = get(url, "/ladder/trail/1-001.json", 404, choice="07").json()["errors"]
    assert "07 is not a choice of contest PPWP" in errors[0]["message"]
