"""Done when (issue 8): a witness's objection comes in over the API, gets an answer, and
appears on the website with its status; in Debian's chromium against `saksi serve` on
loopback. Differences are highlighted with a sign and words, not colour alone; no
request leaves the server's origin and the console stays clean."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from browser import RecordedPage
from conftest import REPO
from ladder_support import (
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

Opener = Callable[..., RecordedPage]
CLAIM = "Suara 01 di desa ini digelembungkan 25 suara"
ARTIFACTS = Path(os.environ.get("SAKSI_ARTIFACTS", REPO / "test-artifacts")) / "screenshots"


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LadderElection, str, dict[str, str]]]:
    ladder = build_ladder_election(tmp_path_factory.mktemp("ladder-site"))
    with serving_ladder(ladder) as url:
        yield ladder, url, send_recaps(url, ladder)


def clean(recorded: RecordedPage, url: str) -> None:
    assert recorded.requests, "the page made no request at all"
    assert recorded.foreign_requests(url) == []
    assert recorded.console_errors == []


def status_shown(recorded: RecordedPage, url: str, region: str, objection: str) -> str:
    """The objection's status as the ladder page shows it, reloading past the 0.25 s a
    page may lag the record."""
    page = recorded.page
    item = page.locator(f'li[data-objection="{objection}"]')
    for _ in range(20):
        page.goto(f"{url}/ladder/{region}?lang=en")
        if item.count():
            break
        page.wait_for_timeout(100)
    return str(item.get_attribute("data-status"))


def test_an_objection_sent_over_the_api_appears_with_its_status_once_answered(
    served: tuple[LadderElection, str, dict[str, str]], open_page: Opener
) -> None:
    ladder, url, hashes = served
    witness = register_witness(url, ladder)
    claim = {
        "acts_on": [hashes[ladder.kecamatan]],
        "row": DESA,
        "choice": "01",
        "claim": CLAIM,
        "legal_basis": "Pasal 401 UU 7/2017",
    }
    with Client(url, witness) as client:
        recorded_objection = client.record(EntryType.OBJECTION, claim)
    digest = recorded_objection["payload_hash"]
    recorded = open_page(1280, 900)
    page = recorded.page
    assert status_shown(recorded, url, ladder.kecamatan, digest) == "open"
    item = page.locator(f'li[data-objection="{digest}"]')
    assert "open" in item.locator(".status").inner_text()
    assert CLAIM in item.inner_text()

    answer = {
        "kind": "answer_objection",
        "outcome": "rejected",
        "acts_on": [digest],
        "legal_basis": "Berita acara pleno PPK",
    }
    with Client(url, ladder.recap_key(ladder.kecamatan)) as body:
        body.record(EntryType.DECISION, answer)
    for _ in range(20):
        if status_shown(recorded, url, ladder.kecamatan, digest) == "rejected":
            break
        page.wait_for_timeout(100)
    item = page.locator(f'li[data-objection="{digest}"]')
    assert item.get_attribute("data-status") == "rejected"
    assert "rejected" in item.locator(".status").inner_text()
    assert "Berita acara pleno PPK" in item.locator(".answer").inner_text()
    clean(recorded, url)


def test_differences_are_highlighted_with_a_sign_and_words(
    served: tuple[LadderElection, str, dict[str, str]], open_page: Opener
) -> None:
    ladder, url, _ = served
    recorded = open_page(1280, 900)
    page = recorded.page
    page.goto(f"{url}/ladder/{ladder.kecamatan}?lang=en")
    row = page.locator(f'#ladder-rows tbody[data-row="{DESA}"] tr[data-figure="01"]')
    assert "has-difference" in str(row.get_attribute("class"))
    marked = row.locator("td.differs").first
    assert "≠" in marked.inner_text()
    # Shaded as well as signed: the cell's background is not the page's white.
    background = marked.evaluate("cell => getComputedStyle(cell).backgroundColor")
    assert background not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)")
    assert f"▲ +{INFLATION} up against" in row.inner_text()
    same = page.locator(f'#ladder-rows tbody[data-row="{DESA}"] tr[data-figure="02"]')
    assert same.locator("td.differs").count() == 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ladder-kecamatan-desktop.png"), full_page=True)

    page.goto(f"{url}/ladder/trail/{DESA}-001?choice=01&lang=en")
    changed = page.locator("#trail-steps tr.has-difference")
    assert changed.count() == 2
    assert f"▲ +{INFLATION}" in changed.first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "ladder-trail-desktop.png"), full_page=True)
    clean(recorded, url)
