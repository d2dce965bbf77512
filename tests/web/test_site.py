"""Done when (issue 6): the website in a real browser against `saksi serve` on loopback.

Two elections: a small synthetic one (one province, official and witness sources, form
photos, imports under attestations) and the 2019 example built from
../shared/data/pemilu2019 (a name-only region tree). Every figure a page shows is compared
with the API's JSON; every page's requests are recorded and must all go to the server.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Page, Route

from browser import RecordedPage
from conftest import DATA, REPO
from saksi.client.submitter import Client
from saksi.keys.ed25519 import SigningKey
from saksi.log.entry import EntryType
from support import run_saksi, serving_election

Opener = Callable[..., RecordedPage]
ARTIFACTS = Path(os.environ.get("SAKSI_ARTIFACTS", REPO / "test-artifacts")) / "screenshots"
DESKTOP, PHONE = (1280, 900), (390, 844)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    folder = tmp_path_factory.mktemp("site") / "synthetic"
    run_saksi(
        *("example", "synthetic", folder, "--data", DATA / "pemilu2024"),
        *("--provinces", "65", "--photos", "5"),
    )
    run_saksi("log", "publish", folder)
    with serving_election(folder) as url:
        yield folder, url


@pytest.fixture(scope="module")
def pemilu2019(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    folder = tmp_path_factory.mktemp("site") / "pemilu2019"
    run_saksi("example", "pemilu2019", DATA / "pemilu2019", folder)
    run_saksi("log", "publish", folder, "--no-exports")
    with serving_election(folder) as url:
        yield folder, url


def api(url: str, path: str, **params: str) -> Any:
    """The API's JSON, for the source the website shows by default unless one is given."""
    if path.startswith("/api/") and "source" not in params:
        params["source"] = httpx.get(url + "/.json", timeout=30).json()["source"]
    response = httpx.get(url + path, params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def number(text: str) -> int:
    """A count as the page prints it (1.234.567 or 1,234,567)."""
    digits = re.sub(r"[^0-9]", "", text)
    assert digits, f"no number in {text!r}"
    return int(digits)


def same_origin_only(recorded: RecordedPage, url: str) -> None:
    assert recorded.requests, "the page made no request at all"
    assert recorded.foreign_requests(url) == []
    assert recorded.console_errors == []


def summary_matches_api(page: Page, url: str, region: str) -> dict[str, Any]:
    totals: dict[str, Any] = api(url, f"/api/totals/{region}.json")
    summary = page.locator("#summary")
    for choice, votes in totals["choices"].items():
        shown = summary.locator(f'[data-live="choices.{choice}"]').inner_text()
        assert number(shown) == votes, (region, choice)
    for key in ("valid", "tps_reported", "tps_total"):
        shown = summary.locator(f'[data-live="{key}"]').inner_text()
        assert number(shown) == totals[key], (region, key)
    return totals


def children_match_api(page: Page, url: str, region: str) -> None:
    children = api(url, f"/api/regions/{region}/children.json")["children"]
    rows = page.locator("#children tbody tr")
    assert rows.count() == len(children)
    for child in children:
        if "tps_id" in child:
            continue  # TPS rows: compared on the TPS page itself
        row = page.locator(f'#children tr[data-region="{child["region"]["id"]}"]')
        assert number(row.locator('[data-live="valid"]').inner_text()) == child["valid"]


def wait_verified(page: Page) -> None:
    page.wait_for_selector("body[data-verification=done]", timeout=30_000)


def official_column(page: Page, contest: str = "PPWP") -> dict[str, int]:
    table = page.locator(f'table.compare[data-contest="{contest}"]')
    source = table.locator("thead th[data-source]").first.get_attribute("data-source")
    values = {}
    for row in table.locator("tbody tr").all():
        key = row.get_attribute("data-row") or ""
        text = row.locator(f'td[data-source="{source}"]').inner_text().replace("≠", "")
        if key.startswith("choice:") and text.strip() != "–":
            values[key[7:]] = number(text)
    return values


def card(page: Page, source: str) -> Any:
    return page.locator(f'.proof-card[data-source="{source}"]')


def check_state(page: Page, source: str, check: str) -> str:
    item = card(page, source).locator(f'li[data-check="{check}"]').first
    return str(item.get_attribute("class"))


# -- drill-down ---------------------------------------------------------------------


def drill_down(opener: Opener, url: str) -> RecordedPage:
    """National to TPS by clicking, checking each page's figures against the API."""
    recorded = opener(*DESKTOP)
    page = recorded.page
    page.goto(url + "/")
    region = "ID"
    for level in ("provinsi", "kabupaten_kota", "kecamatan", "desa_kelurahan"):
        summary_matches_api(page, url, region)
        children_match_api(page, url, region)
        children = api(url, f"/api/regions/{region}/children.json")["children"]
        target = next(c for c in children if c["tps_reported"] and c["region"]["level"] == level)
        page.locator(f'#children tr[data-region="{target["region"]["id"]}"] a').click()
        page.wait_for_url(f"**/region/{target['region']['id']}")
        region = target["region"]["id"]
        crumbs = page.locator(".breadcrumbs li").all_inner_texts()
        assert crumbs[-1] == target["region"]["name"]
    summary_matches_api(page, url, region)
    children_match_api(page, url, region)
    tps = next(
        t for t in api(url, f"/api/regions/{region}/children.json")["children"] if t["votes"]
    )
    page.locator(f'#children tr[data-tps="{tps["tps_id"]}"] a').click()
    page.wait_for_url(f"**/tps/{tps['tps_id']}")
    wait_verified(page)
    assert official_column(page) == tps["votes"]
    return recorded


def test_drill_down_synthetic_national_to_tps(
    synthetic: tuple[Path, str], open_page: Opener
) -> None:
    _, url = synthetic
    same_origin_only(drill_down(open_page, url), url)


def test_drill_down_2019_example_national_to_tps(
    pemilu2019: tuple[Path, str], open_page: Opener
) -> None:
    _, url = pemilu2019
    recorded = drill_down(open_page, url)
    same_origin_only(recorded, url)


def test_2019_map_joins_provinces_by_name_and_shows_overseas_beside_it(
    pemilu2019: tuple[Path, str], open_page: Opener
) -> None:
    _, url = pemilu2019
    recorded = open_page(*DESKTOP)
    page = recorded.page
    page.goto(url + "/")
    children = api(url, "/api/regions/ID/children.json")["children"]
    dki = next(c for c in children if c["region"]["name"].upper() == "DKI JAKARTA")
    path = page.locator('path.province[data-code="31"]')
    assert path.get_attribute("data-region") == dki["region"]["id"]
    page.wait_for_function(
        "document.querySelector('path.province[data-code=\"31\"]').style.fill !== ''"
    )
    # Leader mode: DKI is coloured as the choice that leads there, and says so in words.
    leader = max(dki["choices"], key=lambda c: dki["choices"][c])
    assert leader in str(path.get_attribute("aria-label"))
    page.select_option("#map-mode", "turnout")
    page.wait_for_function(
        "document.querySelector('path.province[data-code=\"31\"]').dataset.value !== undefined"
    )
    shown = float(str(path.get_attribute("data-value")))
    assert shown == pytest.approx(dki["turnout"])
    assert page.locator('path.province[data-code="11"]').get_attribute("data-region") == ""
    overseas = page.locator("ul.outside li")
    assert overseas.count() == 1
    assert "Luar Negeri".upper() in overseas.inner_text().upper()
    assert page.locator("figure figcaption").inner_text().count("CC BY 4.0") == 1
    same_origin_only(recorded, url)


# -- a verified TPS page and tampering ------------------------------------------------


def photo_tps(folder: Path) -> str:
    from saksi.cli.readonly import open_store_readonly

    with open_store_readonly(folder) as store:
        rows = store.query(
            "SELECT tps FROM forms WHERE source = 'kpps' AND is_current = 1 "
            "AND payload LIKE '%\"photos\"%' ORDER BY tps LIMIT 1"
        )
    assert rows, "the synthetic election has no form with a photo"
    return str(rows[0][0])


def test_tps_page_shows_the_photo_and_verifies_the_proof(
    synthetic: tuple[Path, str], open_page: Opener
) -> None:
    folder, url = synthetic
    tps_id = photo_tps(folder)
    recorded = open_page(*DESKTOP)
    page = recorded.page
    page.goto(f"{url}/tps/{tps_id}")
    wait_verified(page)
    image = page.locator(".photo-list img").first
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    assert card(page, "kpps").get_attribute("data-verified") == "true"
    assert "terverifikasi" in card(page, "kpps").locator("h3 .status").inner_text()
    for check in ("entry", "leaf", "inclusion", "checkpoint", "attestation", "key"):
        assert check_state(page, "kpps", check) == "ok", check
    # The photo opens in a dialog and can be enlarged.
    page.locator(".photo-list a").first.click()
    dialog = page.locator("#photo-dialog")
    assert dialog.evaluate("d => d.open")
    before = page.locator("#photo-zoomed").evaluate("i => i.getBoundingClientRect().width")
    page.locator('[data-zoom="in"]').click()
    after = page.locator("#photo-zoomed").evaluate("i => i.getBoundingClientRect().width")
    assert after > before
    page.keyboard.press("Escape")
    assert not dialog.evaluate("d => d.open")
    same_origin_only(recorded, url)


def _tampered(route: Route, change: Callable[[dict[str, Any]], None]) -> None:
    response = route.fetch()
    document = response.json()
    change(document)
    route.fulfill(response=response, body=json.dumps(document))


def _official(document: dict[str, Any]) -> dict[str, Any]:
    form = next(f for f in document["forms"] if f["source"] == "kpps")
    return next(v for v in form["versions"] if v["current"])


def _flip_proof(document: dict[str, Any]) -> None:
    proof = _official(document)["proof"]
    step = bytearray(base64.b64decode(proof["inclusion_proof"][0]))
    step[0] ^= 1
    proof["inclusion_proof"][0] = base64.b64encode(bytes(step)).decode()


def _flip_checkpoint_signature(document: dict[str, Any]) -> None:
    version = _official(document)
    for receipt in [version["proof"], *version["authority"]]:
        body, signatures = receipt["checkpoint"].split("\n\n", 1)
        line = signatures.split("\n")[0]
        prefix, signature = line.rsplit(" ", 1)
        raw = bytearray(base64.b64decode(signature))
        raw[-1] ^= 1
        rest = signatures.split("\n", 1)[1]
        new_line = prefix + " " + base64.b64encode(bytes(raw)).decode()
        receipt["checkpoint"] = body + "\n\n" + new_line + "\n" + rest


TAMPERED_VOTES = 987


def _change_numbers(document: dict[str, Any]) -> None:
    version = _official(document)
    entry = json.loads(base64.b64decode(version["proof"]["entry"]))
    entry["payload"]["votes"]["01"] = TAMPERED_VOTES
    raw = json.dumps(entry, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    version["proof"]["entry"] = base64.b64encode(raw.encode()).decode()
    version["votes"]["01"] = TAMPERED_VOTES


@pytest.mark.parametrize(
    ("tamper", "failed"),
    [
        (_flip_proof, "inclusion"),
        (_flip_checkpoint_signature, "checkpoint"),
        (_change_numbers, "leaf"),
    ],
    ids=["proof", "checkpoint-signature", "numbers"],
)
def test_tampered_tps_data_is_not_verified(
    synthetic: tuple[Path, str],
    open_page: Opener,
    tamper: Callable[[dict[str, Any]], None],
    failed: str,
) -> None:
    folder, url = synthetic
    tps_id = photo_tps(folder)
    recorded = open_page(*DESKTOP)
    page = recorded.page
    page.route(f"**/tps/{tps_id}.json", lambda route: _tampered(route, tamper))
    page.goto(f"{url}/tps/{tps_id}")
    wait_verified(page)
    official = card(page, "kpps")
    assert official.get_attribute("data-verified") == "false"
    assert "tidak terverifikasi" in official.locator("h3 .status").inner_text()
    assert check_state(page, "kpps", failed) == "bad"
    header = page.locator('table.compare thead th[data-source="kpps"]')
    assert "tidak terverifikasi" in header.inner_text()
    # No cell showing a tampered number is marked as verified.
    for cell in page.locator('table.compare td[data-source="kpps"]').all():
        assert "unverified" in str(cell.get_attribute("class"))
    if tamper is _change_numbers:
        cell = page.locator('table.compare tr[data-row="choice:01"] td[data-source="kpps"]')
        assert number(cell.inner_text()) == TAMPERED_VOTES
    # The other sources, untouched, still verify.
    others = page.locator('.proof-card[data-verified="true"]')
    assert others.count() >= 1
    same_origin_only(recorded, url)


def test_without_webcrypto_ed25519_the_page_never_claims_verified(
    synthetic: tuple[Path, str], open_page: Opener
) -> None:
    folder, url = synthetic
    recorded = open_page(*DESKTOP)
    page = recorded.page
    page.add_init_script(
        """
        const importKey = crypto.subtle.importKey.bind(crypto.subtle);
        crypto.subtle.importKey = (format, data, algorithm, ...rest) => {
          const name = typeof algorithm === "string" ? algorithm : algorithm.name;
          if (String(name).toLowerCase() === "ed25519") {
            return Promise.reject(new DOMException("no Ed25519", "NotSupportedError"));
          }
          return importKey(format, data, algorithm, ...rest);
        };
        """
    )
    page.goto(f"{url}/tps/{photo_tps(folder)}")
    wait_verified(page)
    assert page.locator("#cannot-verify").is_visible()
    assert page.locator('.proof-card[data-verified="true"]').count() == 0
    assert page.locator(".status.ok").count() == 0
    assert check_state(page, "kpps", "checkpoint") == "unknown"
    same_origin_only(recorded, url)


# -- live updates -----------------------------------------------------------------------


def _correct_one_form(folder: Path, url: str, tps_id: str, more: int) -> dict[str, Any]:
    """A kpps submitter, registered by the source's manager, corrects one form over HTTP."""
    document = api(url, f"/api/tps/{tps_id}.json")
    current = _official(document)
    device = SigningKey.generate()
    manager = SigningKey.load(folder / "keys" / "manager-kpps.key")
    with Client(url, manager) as kpps:
        item = {"key": device.public_b64, "role": "submitter", "source": "kpps", "tps": [tps_id]}
        kpps.record(EntryType.KEYS_REGISTER, {"keys": [item]})
    form = {
        "tps": tps_id,
        "contest": "PPWP",
        "source": "kpps",
        "votes": {**current["votes"], "01": current["votes"]["01"] + more},
        "fields": current["fields"],
    }
    image = Image.new("L", (320, 240), 255)
    ImageDraw.Draw(image).text((10, 10), f"C.Hasil TPS {tps_id}: 01 +{more}", fill=0)
    photo = io.BytesIO()
    image.save(photo, "PNG")
    with Client(url, device) as client:
        return client.submit_form(form, [photo.getvalue()], replaces=current["payload_hash"])


def test_a_submission_appears_on_the_open_national_page_without_reload(
    synthetic: tuple[Path, str], open_page: Opener
) -> None:
    folder, url = synthetic
    recorded = open_page(*DESKTOP)
    page = recorded.page
    page.goto(url + "/")
    page.evaluate("window.saksiSamePage = true")
    shown = page.locator('#summary [data-live="choices.01"]')
    before = api(url, "/api/totals.json")["choices"]["01"]
    assert number(shown.inner_text()) == before
    tps_id = api(url, "/flags.json")["flags"][0]["tps_id"]
    receipt = _correct_one_form(folder, url, tps_id, 7)
    assert receipt["status"] == "ok"
    expected = f"{before + 7:,}".replace(",", ".")
    page.wait_for_function(
        "text => document.querySelector('#summary [data-live=\"choices.01\"]').textContent"
        " === text",
        arg=expected,
        timeout=20_000,
    )
    assert page.evaluate("window.saksiSamePage") is True  # no reload happened
    assert page.locator("#live-status").inner_text() != ""
    # Published, the individually signed correction shows its photo and verifies with
    # its own signature.
    admin = SigningKey.load(folder / "keys" / "admin.key")
    with Client(url, admin, timeout=120) as client:
        client.publish()
    page.goto(f"{url}/tps/{tps_id}")
    wait_verified(page)
    assert card(page, "kpps").get_attribute("data-verified") == "true"
    for check in ("inclusion", "checkpoint", "signature"):
        assert check_state(page, "kpps", check) == "ok", check
    image_shown = page.locator(".photo-list img").first
    assert image_shown.evaluate("img => img.complete && img.naturalWidth === 320")
    assert check_state(page, "kpps", "key") == "ok"
    assert (
        official_column(page)["01"] == _official(api(url, f"/api/tps/{tps_id}.json"))["votes"]["01"]
    )
    same_origin_only(recorded, url)


# -- language, accessibility, weight, screenshots -------------------------------------------


def test_english_switch_keeps_the_place(synthetic: tuple[Path, str], open_page: Opener) -> None:
    _, url = synthetic
    recorded = open_page(*DESKTOP)
    page = recorded.page
    page.goto(url + "/region/65")
    assert page.locator("html").get_attribute("lang") == "id"
    assert page.locator("h1 .level").inner_text() == "Provinsi"
    page.locator("#lang-switch").click()
    page.wait_for_url("**/region/65?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1 .level").inner_text() == "Province"
    assert "Valid votes" in page.locator("#summary").inner_text()
    page.locator("#children tbody a").first.click()  # links keep the language
    assert "lang=en" in page.url
    same_origin_only(recorded, url)


A11Y = (Path(__file__).parent / "a11y.js").read_text(encoding="utf-8")


def test_pages_meet_contrast_and_labelling_and_work_by_keyboard(
    synthetic: tuple[Path, str], open_page: Opener
) -> None:
    folder, url = synthetic
    recorded = open_page(*DESKTOP)
    page = recorded.page
    for path in ("/", "/region/65", "/flags", "/verify", "/downloads", f"/tps/{photo_tps(folder)}"):
        page.goto(url + path)
        if path.startswith("/tps/"):
            wait_verified(page)
        page.evaluate(A11Y)  # through DevTools: the page's CSP allows no inline script
        assert page.evaluate("window.saksiContrastFailures()") == [], path
        assert page.evaluate("window.saksiUnlabelled()") == [], path
    # The first Tab reaches the skip link, which moves focus to the content.
    page.goto(url + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # The children table sorts from the keyboard, and says how it is sorted.
    page.goto(url + "/region/65")
    header = page.locator("#children thead th").nth(1)
    header.locator("button").focus()
    page.keyboard.press("Enter")
    assert header.get_attribute("aria-sort") == "ascending"
    values = [
        int(v)
        for v in page.locator("#children tbody tr td:nth-of-type(1)").evaluate_all(
            "cells => cells.map((c) => c.dataset.sort)"
        )
    ]
    assert len(values) > 1
    assert values == sorted(values)
    page.keyboard.press("Enter")
    assert header.get_attribute("aria-sort") == "descending"
    same_origin_only(recorded, url)


def test_national_page_transfers_under_200_kb(
    synthetic: tuple[Path, str], open_page: Opener
) -> None:
    _, url = synthetic
    recorded = open_page(*DESKTOP)
    page = recorded.page
    sizes: list[int] = []
    page.on("requestfinished", lambda request: sizes.append(request.sizes()["responseBodySize"]))
    page.goto(url + "/", wait_until="networkidle")
    assert len(sizes) >= 5  # the page, its stylesheet, scripts and data
    assert sum(sizes) < 200_000, sizes
    same_origin_only(recorded, url)


def test_screenshots_of_each_page_at_desktop_and_phone_width(
    synthetic: tuple[Path, str], open_page: Opener
) -> None:
    folder, url = synthetic
    pages = {
        "overview": "/",
        "region": "/region/65",
        "tps": f"/tps/{photo_tps(folder)}",
        "flags": "/flags",
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width, height in (DESKTOP, PHONE):
        recorded = open_page(width, height)
        page = recorded.page
        for name, path in pages.items():
            page.goto(url + path, wait_until="networkidle")
            if name == "tps":
                wait_verified(page)
            # Usable at phone width: the page itself never scrolls sideways.
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, (name, width, overflow)
            target = ARTIFACTS / f"{name}-{width}.png"
            page.screenshot(path=str(target), full_page=True)
            assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        same_origin_only(recorded, url)
    written = {p.name for p in ARTIFACTS.glob("*.png")}
    assert {f"{n}-{w}.png" for n in pages for w in (DESKTOP[0], PHONE[0])} <= written
