"""`saksi forensics` and GET /api/forensics.json on a synthetic province with planted
errors and one kabupaten whose share of pair 01 was fixed at 57%."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import DATA
from saksi.cli.readonly import open_store_readonly
from saksi.examples.synthetic import AnomalyPlan
from saksi.examples.synthetic_election import build_synthetic
from saksi.forensics.html import html_report
from saksi.forensics.report import CHECKING, READING, TESTING, forensics_report
from saksi.ingest.rules import RULES
from support import run_saksi, serving_election

FIXED = "6501"  # Kabupaten Bulungan, 482 TPS
PLAN = AnomalyPlan(extra_digit=20, total_in_candidate=10, fixed_share_regions=(FIXED,))


@pytest.fixture(scope="module")
def election(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    root = tmp_path_factory.mktemp("forensics")
    truth = root / "truth.jsonl"
    built = build_synthetic(
        DATA / "pemilu2024",
        root / "election",
        seed=11,
        provinces=("65",),
        anomalies=PLAN,
        truth_path=truth,
        say=lambda _: None,
    )
    built.close()
    entries = [json.loads(line) for line in truth.read_text().splitlines()]
    return root / "election", entries


@pytest.fixture(scope="module")
def report(election: tuple[Path, list[dict[str, Any]]]) -> dict[str, Any]:
    folder, _ = election
    result: dict[str, Any] = json.loads(run_saksi("forensics", folder, "--json").stdout)
    return result


def test_every_flag_explains_itself_and_links_to_its_tps(report: dict[str, Any]) -> None:
    assert report["flags"]
    for flag in report["flags"]:
        assert {"tps_id", "contest", "source", "rule", "message"} <= flag.keys()
        assert flag["rule"] in report["rules"]
        assert flag["tps_id"] in flag["message"]
        assert flag["tps_url"] == f"/tps/{flag['tps_id']}"


def test_planted_errors_carry_their_likely_correction(
    election: tuple[Path, list[dict[str, Any]]], report: dict[str, Any]
) -> None:
    _, truth = election
    corrected = {
        f["tps_id"]: f for f in report["flags"] if f["source"] == "kpps" and "correction" in f
    }
    planted = [t for t in truth if t["kind"] in ("extra_digit", "total_in_candidate")]
    right = [t for t in planted if corrected.get(t["tps"], {}).get("correction", {}).get(
        t["field"]) == t["true"]]  # fmt: skip
    wrong = [
        t
        for t in planted
        if t["tps"] in corrected and corrected[t["tps"]]["correction"].get(t["field"]) != t["true"]
    ]
    assert len(right) >= 0.8 * len(planted)
    # The one wrong answer: 03's 7 typed 97 (a digit inserted) reads as 01's 126 typed
    # 216 (two digits transposed), which real 2019 forms show is the likelier slip.
    assert [t["tps"] for t in wrong] in ([], ["6571011003030"]), wrong
    for flag in corrected.values():
        assert 0.9 <= flag["confidence"] <= 1.0
        names = set(flag["correction"])
        assert names <= {"01", "02", "03", *_field_names()}


def _field_names() -> set[str]:
    from saksi.ingest.fields import FIELDS

    return set(FIELDS)


def test_the_fixed_share_region_and_only_it_stands_out(report: dict[str, Any]) -> None:
    regions = report["region_statistics"]
    flagged = {f["region"] for f in regions["flags"]}
    assert flagged == {FIXED}
    assert any(f["test"] == "dispersion:01" for f in regions["flags"])
    fixed = next(r for r in regions["regions"] if r["region"] == FIXED)
    assert fixed["tests"]["dispersion:01"]["statistic"] < 0.1
    assert fixed["fingerprints"]  # plotted for the region that stands out


def test_html_report_plots_the_region_that_stands_out(
    election: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    folder, _ = election
    page = tmp_path / "report.html"
    summary = run_saksi("forensics", folder, "--html", page).stdout
    assert f"{FIXED} dispersion:01" in summary
    html = page.read_text(encoding="utf-8")
    assert html.count("<svg") >= 3  # a fingerprint per choice
    assert "BULUNGAN" in html.upper()
    assert "<script" not in html


def test_the_api_serves_the_same_report(
    election: tuple[Path, list[dict[str, Any]]], report: dict[str, Any]
) -> None:
    folder, _ = election
    run_saksi("log", "publish", folder, "--no-exports")
    with serving_election(folder) as url:
        served = httpx.get(f"{url}/api/forensics.json", timeout=120)
        again = httpx.get(
            f"{url}/api/forensics.json", headers={"If-None-Match": served.headers["etag"]}
        )
        unknown = httpx.get(f"{url}/api/forensics.json", params={"contest": "DPR-X"}, timeout=60)
        flags_page = httpx.get(f"{url}/flags", timeout=60).text
    assert served.status_code == 200
    body = served.json()
    assert body["flags"] == report["flags"]
    assert body["region_statistics"]["flags"] == report["region_statistics"]["flags"]
    assert again.status_code == 304
    assert unknown.status_code == 404
    assert "contest DPR-X is not part of this election" in unknown.text
    # The website's flags page names the region that stands out and plots it.
    table = flags_page.split('id="regions-out"', 1)[1].split("</table>", 1)[0]
    assert f'href="/region/{FIXED}"' in table
    plots = flags_page.split(f'id="plots-{FIXED}"', 1)[1].split("</section>", 1)[0]
    assert plots.count("<svg") >= 4  # fingerprints, share histograms, digits
    # And all TPS together, whether or not a region stands out.
    overall = flags_page.split('id="plots-all"', 1)[1].split("</section>", 1)[0]
    assert overall.count("<svg") == 8  # 3 fingerprints, 3 share histograms, 2 digit plots


def test_rules_named_in_flags_are_documented(report: dict[str, Any]) -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "forensics.md").read_text()
    for rule in report["rules"]:
        assert rule in RULES or f"`{rule}`" in docs


def test_an_unknown_contest_or_folder_is_refused_in_words(
    election: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    folder, _ = election
    page = tmp_path / "report.html"
    unknown = run_saksi("forensics", folder, "--contest", "DPR-X", "--html", page, check=False)
    assert unknown.returncode == 1
    assert "contest DPR-X is not part of this election" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    assert not page.exists()  # nothing written half-way
    missing = run_saksi("forensics", tmp_path / "nowhere", check=False)
    assert missing.returncode != 0
    assert "Traceback" not in missing.stderr
    assert "nowhere" in missing.stderr


def test_an_html_report_that_cannot_be_written_is_refused_in_words(
    election: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    folder, _ = election
    page = tmp_path / "no-such-folder" / "report.html"
    refused = run_saksi("forensics", folder, "--html", page, check=False)
    assert refused.returncode == 1
    assert f"cannot write the HTML report to {page}: no folder" in refused.stderr
    assert "Traceback" not in refused.stderr
    # Before the work: even with no election to read, the path is what is refused.
    early = run_saksi("forensics", tmp_path / "no-election", "--html", page, check=False)
    assert early.returncode == 1
    assert f"cannot write the HTML report to {page}: no folder" in early.stderr
    # A folder where the file should go is refused in words too.
    (tmp_path / "taken").mkdir()
    clash = run_saksi("forensics", folder, "--html", tmp_path / "taken", check=False)
    assert clash.returncode != 0
    assert "is a directory" in clash.stderr
    assert "Traceback" not in clash.stderr


def test_all_tps_are_plotted_and_every_region_has_its_intervals(
    election: tuple[Path, list[dict[str, Any]]], report: dict[str, Any], tmp_path: Path
) -> None:
    statistics = report["region_statistics"]
    overall = statistics["overall"]
    assert overall["tps"] == sum(r["tps"] for r in statistics["regions"])
    assert sorted(overall["fingerprints"]) == ["01", "02", "03"]
    for fingerprint in overall["fingerprints"].values():
        assert sum(map(sum, fingerprint["counts"])) == fingerprint["n"] > 0
    benford = overall["tests"]["second_digit_benford"]
    assert "do not follow Benford's second-digit law even without fraud" in benford["note"]
    low, high = overall["tests"]["last_digit"]["interval"]
    assert low <= overall["tests"]["last_digit"]["statistic"] <= high
    folder, _ = election
    page = tmp_path / "report.html"
    run_saksi("forensics", folder, "--html", page)
    html = page.read_text(encoding="utf-8")
    section = html.split(f"All {overall['tps']} TPS checked", 1)[1].split("</section>", 1)[0]
    assert section.count("<svg") == 8
    assert "even without fraud" in section  # the 2BL caveat, in the plot's caption
    table = html.split("Statistics of every region", 1)[1]
    for region in statistics["regions"]:
        assert f"({region['region']})</td><td>{region['tps']}</td>" in table
        dispersion = region["tests"]["dispersion:01"]
        if dispersion["interval"]:
            assert f"[{dispersion['interval'][0]:.3g}, {dispersion['interval'][1]:.3g}]" in table


def test_the_html_report_links_each_flag_to_its_tps_and_photos() -> None:
    flag = {
        "tps_id": "6501011001001",
        "contest": "PPWP",
        "source": "kpps",
        "rule": "votes_sum_valid",
        "message": "TPS 6501011001001: 01 431 + 02 150 = 581, but suara_sah is 191",
        "detail": {},
        "tps_url": "/tps/6501011001001",
        "photos": ["/photos/ab/ab12", "/photos/cd/cd34"],
    }
    empty = {"level": "kabupaten_kota", "method": "BH", "alpha": 0.05, "flags": [], "regions": []}
    html = html_report({"contest": "PPWP", "flags": [flag], "region_statistics": empty})
    row = html.split("<td>", 1)[1].split("</td>", 1)[0]
    assert '<a href="/tps/6501011001001">6501011001001</a>' in row
    assert '<a href="/photos/ab/ab12">photo 1</a>' in row
    assert '<a href="/photos/cd/cd34">photo 2</a>' in row


def test_long_work_reports_each_stage_to_its_end(
    election: tuple[Path, list[dict[str, Any]]],
) -> None:
    folder, _ = election
    heard: dict[str, list[tuple[int, int | None]]] = {}

    def progress(stage: str, done: int, total: int | None) -> None:
        heard.setdefault(stage, []).append((done, total))

    with open_store_readonly(folder) as store:
        (forms,) = store.query(
            "SELECT count(*) FROM forms WHERE contest = 'PPWP' AND is_current = 1"
        )[0]
        (sources,) = store.query("SELECT count(*) FROM sources")[0]
        report = forensics_report(store, n_bootstrap=10, progress=progress)
    assert report["flags"]
    assert list(heard) == [READING, CHECKING, TESTING]
    assert heard[READING][0] == (0, None)  # before the query: how many is not yet known
    assert heard[READING][-1] == (forms, forms)
    assert heard[CHECKING][-1] == (sources + 1, sources + 1)  # disagreements, each source
    assert heard[TESTING][-1] == (2, 2)
    for calls in heard.values():
        done = [d for d, _ in calls]
        assert done == sorted(done)
