"""The website over HTTP, without a browser (issue 6): every page as HTML, `.json` and
`.csv`, its headers, its errors, and its weight, against `saksi serve` on loopback.

One synthetic election (province 65 and the overseas tree 99, five sources, form photos)
is served once for the module. Every expectation is computed here from the API's own JSON
(/api/totals, /api/regions/{id}/children, /api/tps/{id}, /api/flags), never by calling
the website's code.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import DATA
from saksi.forensics.checks import FORENSIC_RULES
from support import run_saksi, serving_election

CHOICES = ("01", "02", "03")
# The fields of the 2024 PPWP form (C.Hasil), in the order the CSVs carry them.
FORM_FIELDS = (
    "dpt", "dpt_laki", "dpt_perempuan", "pengguna_dpk", "pengguna_dpt", "pengguna_dptb",
    "pengguna_hak_pilih", "pengguna_hak_pilih_laki", "pengguna_hak_pilih_perempuan",
    "suara_sah", "suara_tidak_sah", "suara_total", "surat_suara_digunakan",
    "surat_suara_diterima", "surat_suara_rusak", "surat_suara_sisa",
)  # fmt: skip

# The CSV headers are a contract: scripts read columns by position as often as by name.
REGION_HEADER = (
    "region_id,region_name,level,choice_01,choice_02,choice_03,"
    "valid,invalid,voters,dpt,turnout,tps_reported,tps_total,dpt_total"
)
DESA_HEADER = (
    "tps_id,number,dpt,leaf_index,choice_01,choice_02,choice_03,form_dpt,"
    + ",".join(FORM_FIELDS[1:])
    + ",flags"
)
TPS_HEADER = (
    "tps_id,contest,source,leaf_index,current,payload_hash,replaces,choice_01,choice_02,"
    "choice_03," + ",".join(FORM_FIELDS) + ",flags"
)
FLAGS_HEADER = "tps_id,desa,contest,source,leaf_index,rules,correction,confidence"

PAGE_BUDGET = 200_000  # bytes: the national page with everything it loads (issue 6)


# -- the election and its server ---------------------------------------------------------


@dataclass(frozen=True)
class Site:
    folder: Path
    http: httpx.Client

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.http.get(path, params=params)

    def api(self, path: str, **params: str) -> Any:
        """A document of the API (or a page's .json), which must answer 200."""
        response = self.get(path, **params)
        assert response.status_code == 200, (path, response.text)
        return response.json()

    def children(self, region: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.api(f"/api/regions/{region}/children.json")["children"]
        return found


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("pages") / "synthetic"
    run_saksi(
        *("example", "synthetic", folder, "--data", DATA / "pemilu2024"),
        *("--provinces", "65", "--photos", "3"),
    )
    run_saksi("log", "publish", folder)
    with (
        serving_election(folder) as url,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        # The flags pages merge the forensics report once it is built: wait for it, so
        # that every test sees one and the same document.
        assert http.get("/api/forensics.json").status_code == 200
        yield Site(folder, http)


def chain_to_desa(site: Site, province: str, want: Any = None) -> list[str]:
    """Region ids from ID down to the first desa under ``province`` whose TPS rows (from
    the API) satisfy ``want`` (any desa when None)."""
    for kabupaten in site.children(province):
        for kecamatan in site.children(kabupaten["region"]["id"]):
            for desa in site.children(kecamatan["region"]["id"]):
                desa_id = desa["region"]["id"]
                if want is None or want(site.children(desa_id)):
                    ids = [kabupaten["region"]["id"], kecamatan["region"]["id"], desa_id]
                    return ["ID", province, *ids]
    raise AssertionError(f"no desa under {province} is what the test needs")


@pytest.fixture(scope="module")
def chain(site: Site) -> list[str]:
    """ID > 65 > kabupaten > kecamatan > a desa whose first TPS has not reported (so its
    CSV's columns cannot be read off its first row)."""
    return chain_to_desa(site, "65", lambda tps: tps[0]["votes"] is None)


@pytest.fixture(scope="module")
def overseas_desa(site: Site) -> str:
    """An overseas desa with a TPS outside the DPT registry (its form still reports a DPT)."""
    chain = chain_to_desa(
        site, "99", lambda rows: any(t["dpt"] is None and t["fields"] for t in rows)
    )
    return chain[-1]


@pytest.fixture(scope="module")
def photo_tps(site: Site) -> str:
    """A TPS whose current forms carry photos, and forms from sources with fewer fields
    (a volunteer's and a party witness's) beside the official one."""
    desa = chain_to_desa(site, "65")[-1]
    for tps in site.children(desa):
        document = site.api(f"/api/tps/{tps['tps_id']}.json")
        sources = {form["source"] for form in document["forms"]}
        if current_photos(document) and {"kawal", "kpps"} <= sources:
            return str(tps["tps_id"])
    raise AssertionError(f"no TPS of desa {desa} has photos and a volunteer's form")


def current_photos(document: dict[str, Any]) -> list[str]:
    return [
        digest
        for form in document["forms"]
        for version in form["versions"]
        if version["current"]
        for digest in version["photos"]
    ]


def page_paths(chain: list[str], tps: str) -> list[str]:
    regions = [f"/region/{region}" for region in chain[1:]]
    return ["/", *regions, f"/tps/{tps}", "/flags", "/verify", "/downloads"]


def cell(value: Any) -> str:
    """A JSON value as the csv module writes it."""
    return "" if value is None else str(value)


def data_path(path: str, suffix: str) -> str:
    """A page's data address: `/` is `/.json`, `/region/31` is `/region/31.json`."""
    return path + suffix if path != "/" else "/" + suffix


def read_csv(response: httpx.Response) -> tuple[str, list[dict[str, str]]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    text = response.text
    header = text.split("\n", 1)[0]
    return header, list(csv.DictReader(io.StringIO(text)))


# -- 1. HTML, languages and the content security policy ------------------------------------


def assert_same_origin_only(policy: str) -> None:
    """default-src 'none', and every directive names only this origin (or data: images)."""
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    assert directives["default-src"] == ["'none'"]
    for name, sources in directives.items():
        assert set(sources) <= {"'self'", "'none'", "data:"}, (name, sources)
    assert not re.search(r"https?:|\*", policy), policy


def test_every_page_is_html_in_indonesian_with_a_same_origin_policy(
    site: Site, chain: list[str], photo_tps: str
) -> None:
    for path in page_paths(chain, photo_tps):
        for params, lang in (({}, "id"), ({"lang": "xx"}, "id"), ({"lang": "en"}, "en")):
            response = site.get(path, **params)
            assert response.status_code == 200, (path, params, response.text)
            assert response.headers["content-type"].startswith("text/html"), path
            assert_same_origin_only(response.headers["content-security-policy"])
            assert response.headers["x-content-type-options"] == "nosniff"
            assert f'<html lang="{lang}">' in response.text, (path, params)
            nav = "Flags" if lang == "en" else "Tanda periksa"
            assert nav in response.text, (path, params)


def test_region_pages_speak_the_language_asked_for(site: Site, chain: list[str]) -> None:
    for region in chain:
        path = "/" if region == "ID" else f"/region/{region}"
        assert "Valid votes" in site.get(path, lang="en").text
        for params in ({}, {"lang": "xx"}, {"lang": "id"}):
            body = site.get(path, **params).text
            assert "Suara sah" in body
            assert "Valid votes" not in body


def test_links_carry_the_resolved_language_not_the_one_asked_for(site: Site) -> None:
    """An unknown ?lang= falls back to Indonesian; the page it renders is cached for every
    reader of Indonesian, so its links must not carry that value on. (A source no other
    test asks for makes sure this request is the one that fills the cache.)"""
    first = site.get("/region/99", source="saksi-03", lang="EVIL")
    assert first.status_code == 200
    assert '<html lang="id">' in first.text
    for params in ({}, {"lang": "EVIL"}):
        body = site.get("/region/99", source="saksi-03", **params).text
        assert "EVIL" not in body
        assert 'href="/?source=saksi-03"' in body
    english = site.get("/region/99", source="saksi-03", lang="en").text
    assert 'href="/?source=saksi-03&amp;lang=en"' in english


def test_one_readers_query_never_reaches_another_readers_tps_page(
    site: Site, chain: list[str]
) -> None:
    """The TPS page's links carry contest and source on, so they are checked (404 when
    no tally is kept) and the page is cached per contest and source."""
    tps = site.children(chain[-1])[1]["tps_id"]
    assert site.get(f"/tps/{tps}", source="saksi-02").status_code == 200
    links = re.findall(r'href="([^"]*)"', site.get(f"/tps/{tps}").text)
    assert not [link for link in links if "source=" in link]
    links = re.findall(r'href="([^"]*)"', site.get(f"/tps/{tps}", source="saksi-02").text)
    assert f"/region/{chain[-1]}?source=saksi-02" in links


# -- 2. the .json of region pages ------------------------------------------------------------


@pytest.mark.parametrize("source", [None, "saksi-01"])
def test_region_json_is_the_api_totals_children_and_path(
    site: Site, chain: list[str], source: str | None
) -> None:
    params = {"source": source} if source else {}
    path: list[dict[str, Any]] = []
    for region in chain:
        totals = site.api(f"/api/totals/{region}.json", **params)
        children = site.api(f"/api/regions/{region}/children.json", **params)["children"]
        path.append(totals["region"])
        url = "/.json" if region == "ID" else f"/region/{region}.json"
        page = site.api(url, **params)
        assert page["totals"] == totals
        for key in ("choices", "valid", "invalid", "voters", "tps_reported", "tps_total"):
            assert page["totals"][key] == totals[key], (region, key)
        assert page["children"] == children
        assert page["path"] == path
        assert page["region"] == totals["region"]
        assert (page["contest"], page["source"]) == (totals["contest"], totals["source"])
        assert [c["id"] for c in page["choice_names"]] == list(CHOICES)
    desa = page["children"]
    assert path[-1]["level"] == "desa_kelurahan"
    assert desa
    assert all("tps_id" in t and "region" not in t for t in desa)
    for tps in desa[:3]:
        regions = site.api(f"/api/tps/{tps['tps_id']}.json")["regions"]
        assert [r["id"] for r in regions] == chain


def test_the_same_region_page_at_two_addresses_links_its_own_data(site: Site) -> None:
    """`/` and `/region/ID` show the same figures; each names its own .json, whichever
    was cached first."""
    for path in ("/region/ID", "/", "/region/ID"):
        assert f'href="{data_path(path, ".json")}"' in site.get(path).text


# -- 3. the .csv bodies -----------------------------------------------------------------------


def region_row(child: dict[str, Any]) -> dict[str, str]:
    region = child["region"]
    row = {"region_id": region["id"], "region_name": region["name"], "level": region["level"]}
    row.update({f"choice_{c}": cell(child["choices"][c]) for c in CHOICES})
    for key in ("valid", "invalid", "voters", "dpt", "turnout", "tps_reported", "tps_total"):
        row[key] = cell(child[key])
    row["dpt_total"] = cell(child["dpt_total"])
    return row


def desa_row(tps: dict[str, Any]) -> dict[str, str]:
    """A TPS row: the registry's DPT as `dpt`, the form's own as `form_dpt`."""
    votes, fields = tps["votes"] or {}, tps["fields"] or {}
    row = {key: cell(tps[key]) for key in ("tps_id", "number", "dpt", "leaf_index")}
    row.update({f"choice_{c}": cell(votes.get(c)) for c in CHOICES})
    row.update({("form_" if f == "dpt" else "") + f: cell(fields.get(f)) for f in FORM_FIELDS})
    row["flags"] = " ".join(tps["flags"])
    return row


def test_region_csv_has_one_row_per_child_as_in_the_json(site: Site, chain: list[str]) -> None:
    for region in chain[:-1]:
        base = "/" if region == "ID" else f"/region/{region}"
        children = site.api(base + ".json")["children"]
        header, rows = read_csv(site.get(base + ".csv"))
        assert header == REGION_HEADER, region
        assert rows == [region_row(child) for child in children], region


def test_desa_csv_has_one_row_per_tps_whether_or_not_it_reported(
    site: Site, chain: list[str], overseas_desa: str
) -> None:
    for desa in (chain[-1], overseas_desa):
        tps = site.api(f"/region/{desa}.json")["children"]
        assert any(t["votes"] is None for t in tps) or desa == overseas_desa
        header, rows = read_csv(site.get(f"/region/{desa}.csv"))
        assert header == DESA_HEADER, desa
        assert rows == [desa_row(t) for t in tps], desa
    # Overseas: a TPS outside the registry keeps `dpt` empty; its form's DPT is apart.
    outside = [r for r in rows if r["dpt"] == "" and r["form_dpt"] != ""]
    assert outside, "the overseas desa should have a TPS outside the DPT registry"


def test_tps_csv_has_one_row_per_version_of_every_source(site: Site, photo_tps: str) -> None:
    document = site.api(f"/api/tps/{photo_tps}.json")
    expected = []
    for form in document["forms"]:
        for version in form["versions"]:
            row = {
                "tps_id": photo_tps,
                "contest": form["contest"],
                "source": form["source"],
                "leaf_index": cell(version["leaf_index"]),
                "current": "1" if version["current"] else "0",
                "payload_hash": version["payload_hash"],
                "replaces": cell(version["replaces"]),
            }
            row.update({f"choice_{c}": cell(version["votes"].get(c)) for c in CHOICES})
            row.update({f: cell(version["fields"].get(f)) for f in FORM_FIELDS})
            row["flags"] = " ".join(version["flags"])
            expected.append(row)
    header, rows = read_csv(site.get(f"/tps/{photo_tps}.csv"))
    assert header == TPS_HEADER  # the volunteer's short form comes first, yet flags close it
    assert rows == expected
    assert rows[0]["source"] == "kawal"
    assert rows[0]["dpt"] == ""


def test_flags_csv_has_one_row_per_flagged_form(site: Site) -> None:
    for params in ({}, {"rule": "votes_sum_valid"}, {"region": "65"}):
        page = site.api("/flags.json", **params)
        header, rows = read_csv(site.get("/flags.csv", **params))
        assert header == FLAGS_HEADER
        expected = [
            {
                "tps_id": f["tps_id"],
                "desa": f["desa"],
                "contest": page["contest"],
                "source": page["source"],
                "leaf_index": cell(f["leaf_index"]),
                "rules": " ".join(f["rules"]),
                "correction": " ".join(f"{k}={v}" for k, v in f.get("correction", {}).items()),
                "confidence": cell(f.get("confidence")),
            }
            for f in page["flags"]
        ]
        assert rows, params
        assert rows == expected, params


def test_verify_and_downloads_data(site: Site, photo_tps: str) -> None:
    verify = site.api("/verify.json")
    log = site.api(f"/api/tps/{photo_tps}.json")["log"]
    assert {k: verify[k] for k in ("origin", "vkey", "fingerprint")} == {
        k: log[k] for k in ("origin", "vkey", "fingerprint")
    }
    checkpoint = site.get("/log/checkpoint").text
    assert verify["checkpoint"]["text"] == checkpoint
    header, rows = read_csv(site.get("/verify.csv"))
    assert header == "item,value"
    assert rows[:3] == [
        {"item": "origin", "value": log["origin"]},
        {"item": "vkey", "value": log["vkey"]},
        {"item": "fingerprint", "value": log["fingerprint"]},
    ]
    downloads = site.api("/downloads.json")["files"]
    header, rows = read_csv(site.get("/downloads.csv"))
    assert header == "path,bytes,about"
    assert rows == [{k: cell(f[k]) for k in ("path", "bytes", "about")} for f in downloads]
    for listed in downloads:
        response = site.get(listed["path"])
        assert response.status_code == 200, listed
        assert len(response.content) == listed["bytes"], listed


# -- 4. the TPS page --------------------------------------------------------------------------


def test_tps_json_is_the_api_document(site: Site, photo_tps: str, chain: list[str]) -> None:
    for tps in (photo_tps, chain[-1] + "001"):
        page = site.get(f"/tps/{tps}.json")
        api = site.get(f"/api/tps/{tps}.json")
        assert page.status_code == api.status_code == 200
        assert page.json() == api.json()
        assert {"log", "forms", "regions"} <= set(page.json())
        current = [v for f in page.json()["forms"] for v in f["versions"] if v["current"]]
        assert current
        assert all(v["proof"] for v in current)


def test_tps_page_shows_every_current_photo(site: Site, photo_tps: str) -> None:
    digests = current_photos(site.api(f"/api/tps/{photo_tps}.json"))
    html = site.get(f"/tps/{photo_tps}").text
    shown = re.findall(r'<img src="(/photos/[0-9a-f]{2}/[0-9a-f]{64})"', html)
    assert sorted(shown) == sorted(f"/photos/{d[:2]}/{d}" for d in digests)
    for url in set(shown):
        photo = site.get(url)
        assert photo.status_code == 200, url
        assert photo.headers["content-type"].startswith("image/"), url
        assert photo.content, url


# -- 5. flags ---------------------------------------------------------------------------------


def expected_flags(site: Site, source: str) -> list[dict[str, Any]]:
    """The flags page's items, from the API alone: each TPS with its consistency rules
    (/api/flags.json), then the forensics report's own rules and likely correction for the
    same source (/api/forensics.json)."""
    items = {
        f["tps_id"]: {"tps_id": f["tps_id"], "rules": list(f["rules"])}
        for f in site.api("/api/flags.json", source=source)["flags"]
    }
    report = site.api("/api/forensics.json")
    for flag in report["flags"]:
        if flag["source"] != source:
            continue
        item = items.setdefault(flag["tps_id"], {"tps_id": flag["tps_id"], "rules": []})
        if "correction" in flag:
            item["correction"], item["confidence"] = flag["correction"], flag["confidence"]
        if flag["rule"] in FORENSIC_RULES and flag["rule"] not in item["rules"]:
            item["extra"] = [*item.get("extra", []), flag["rule"]]
    for item in items.values():
        item["rules"] = [*item["rules"], *item.pop("extra", [])]
    return [items[t] for t in sorted(items)]


def test_flags_filter_by_rule_and_region_as_the_api_says(site: Site, chain: list[str]) -> None:
    flagged = expected_flags(site, "kpps")
    assert flagged, "the synthetic election should break some rules"
    assert any(set(f["rules"]) & set(FORENSIC_RULES) for f in flagged)
    assert any("correction" in f for f in flagged)

    def key(item: dict[str, Any]) -> tuple[Any, ...]:
        return item["tps_id"], tuple(item["rules"]), item.get("correction")

    ancestry = {
        f["tps_id"]: [r["id"] for r in site.api(f"/api/tps/{f['tps_id']}.json")["regions"]]
        for f in flagged
    }
    counts = Counter(rule for f in flagged for rule in f["rules"])
    flagged_desa = ancestry[flagged[0]["tps_id"]][-1]
    for region in (None, "ID", "65", "99", flagged_desa, chain[2]):
        for rule in (None, *sorted(counts)):
            params = {k: v for k, v in {"rule": rule, "region": region}.items() if v}
            page = site.api("/flags.json", source="kpps", **params)
            expected = [
                key(f)
                for f in flagged
                if (rule is None or rule in f["rules"])
                and (region is None or region in ancestry[f["tps_id"]])
            ]
            assert [key(f) for f in page["flags"]] == expected, params
            assert all(f["desa"] == ancestry[f["tps_id"]][-1] for f in page["flags"])
            assert page["rules"] == dict(counts), params
            assert (page["rule"], page["region"]) == (rule, region or "ID")
    assert site.api("/flags.json")["flags"] == site.api("/flags.json", source="kpps")["flags"]


def test_flags_page_lists_the_flagged_tps(site: Site) -> None:
    flagged = site.api("/flags.json", rule="votes_sum_valid")["flags"]
    html = site.get("/flags", rule="votes_sum_valid").text
    linked = re.findall(r'<a href="/tps/([^"?]+)(?:\?[^"]*)?">', html)
    assert linked == [f["tps_id"] for f in flagged]


# -- 6. errors --------------------------------------------------------------------------------

NOT_FOUND = [
    ("/tps/999", {}, "TPS 999 is not registered"),
    ("/region/nope", {}, "region nope is not registered"),
    ("/", {"source": "nope"}, "no tally is kept for contest PPWP and source nope"),
    ("/region/65", {"contest": "nope"}, "no tally is kept for contest nope"),
    ("/flags", {"region": "nope"}, "region nope is not registered"),
    ("/flags", {"source": "nope"}, "source nope"),
    ("/flags", {"rule": "nope"}, "nope is not one of the consistency rules"),
    ("/tps/6501011001001", {"source": "nope"}, "source nope"),
]
BAD_REQUEST = [
    ("/", {"source": "s" * 65}, "'source' must be an id of this election"),
    ("/region/65", {"contest": "PP\x01WP"}, "'contest' must be an id of this election"),
    ("/flags", {"rule": "a\x00b"}, "'rule' must be an id of this election"),
    ("/flags", {"region": "r" * 65}, "'region' must be an id of this election"),
    ("/tps/6501011001001", {"source": "s" * 65}, "'source' must be an id of this election"),
]


@pytest.mark.parametrize(
    ("path", "params", "message", "status"),
    [(*case, 404) for case in NOT_FOUND] + [(*case, 400) for case in BAD_REQUEST],
)
def test_errors_are_sentences_never_tracebacks(
    site: Site, path: str, params: dict[str, str], message: str, status: int
) -> None:
    for lang in ("id", "en"):
        page = site.get(path, **params, lang=lang)
        assert page.status_code == status, page.text
        assert page.headers["content-type"].startswith("text/html")
        assert_same_origin_only(page.headers["content-security-policy"])
        assert f'<html lang="{lang}">' in page.text
        assert message in page.text.replace("&#39;", "'")
        assert "Traceback" not in page.text
    if path.startswith("/tps/"):
        return  # /tps/X.json is the API's document, whatever the query (see below)
    for suffix in (".json", ".csv"):
        data = site.get(data_path(path, suffix), **params)
        assert data.status_code == status, (suffix, data.text)
        errors = data.json()["errors"]
        assert len(errors) == 1
        assert set(errors[0]) == {"code", "message"}
        assert message in errors[0]["message"]


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_an_unknown_tps_has_no_data(site: Site, suffix: str) -> None:
    response = site.get(f"/tps/999{suffix}")
    assert response.status_code == 404
    assert response.json() == {
        "errors": [{"code": "not_found", "message": "TPS 999 is not registered in this election"}]
    }


# -- 7. fuzz ----------------------------------------------------------------------------------

NASTY = ["..", "../..", "../etc/passwd", "%2e%2e%2f", "%00", "%ff", "a" * 5000, "ID", "65"]
TEMPLATES = [
    "/{}", "/.json", "/.csv", "/region/{}", "/region/{}.json", "/region/{}.csv", "/tps/{}",
    "/tps/{}.json", "/tps/{}.csv", "/flags{}", "/flags.json", "/flags.csv", "/verify{}",
    "/downloads.json", "/static/{}",
]  # fmt: skip
PARAMS = ("lang", "contest", "source", "rule", "region")

ids = st.one_of(
    st.sampled_from(["65", "6501", "6501011001", "6501011001001", "99", "999", "ID"]),
    st.text(max_size=80).map(lambda text: quote(text, safe="")),
    st.sampled_from(NASTY),
)
values = st.one_of(
    st.sampled_from(["en", "id", "PPWP", "kpps", "kawal", "votes_sum_valid", "65", "../"]),
    st.text(max_size=100),
    st.just("x" * 3000),
)


@settings(max_examples=150, deadline=None)
@given(
    template=st.sampled_from(TEMPLATES),
    id_=ids,
    params=st.dictionaries(st.sampled_from(PARAMS), values, max_size=4),
    raw=st.sampled_from(["", "lang=%ff", "source=%00", "region=%", "=&&=", "contest=a%2F..%2F"]),
)
def test_no_page_address_makes_the_server_fail(
    site: Site, template: str, id_: str, params: dict[str, str], raw: str
) -> None:
    url = template.format(id_)
    query = "&".join(part for part in (raw, str(httpx.QueryParams(params))) if part)
    response = site.http.get(url + ("?" + query if query else ""))
    assert response.status_code < 500, (url, query, response.text[:500])
    assert "Traceback" not in response.text
    if response.headers.get("content-type", "").startswith("text/html"):
        assert_same_origin_only(response.headers["content-security-policy"])


# -- 8. weight --------------------------------------------------------------------------------

IMPORT = re.compile(r"""(?:\bimport\b[^"'();]*?\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']""")


def test_the_national_page_with_everything_it_loads_is_under_200_kb(site: Site) -> None:
    html = site.get("/")
    assert html.status_code == 200
    sizes = {"/": len(html.content)}
    pending = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html.text)
    pending += re.findall(r'<script[^>]*\ssrc="([^"]+)"', html.text)
    pending += re.findall(r'<img[^>]*\ssrc="(/[^"]+)"', html.text)
    pending += re.findall(r'<meta name="saksi-data" content="([^"]+)"', html.text)  # polled
    while pending:
        url = pending.pop()
        assert re.match(r"/[^/]", url), url  # same origin
        if url in sizes:
            continue
        response = site.get(url)
        assert response.status_code == 200, url
        sizes[url] = len(response.content)
        if url.endswith(".js"):
            pending += [urljoin(url, module) for module in IMPORT.findall(response.text)]
    scripts = {url.rsplit("/", 1)[-1] for url in sizes if url.endswith(".js")}
    assert {"common.js", "region.js", "region-map.js", "map.js"} <= scripts
    assert "/static/site.css" in sizes
    assert "/.json" in sizes
    assert sum(sizes.values()) < PAGE_BUDGET, sizes


def test_flags_page_shows_likely_corrections_and_the_regions_verdict(site: Site) -> None:
    corrected = [f for f in expected_flags(site, "kpps") if "correction" in f]
    assert corrected
    html = site.get("/flags", source="kpps").text
    for flag in corrected[:20]:
        row = html.split(f'href="/tps/{flag["tps_id"]}', 1)[1].split("</tr>", 1)[0]
        for name, value in flag["correction"].items():
            assert f"{name} = {value:,}".replace(",", ".") in row
    # No region of this election stands out, and the page says so.
    assert site.api("/api/forensics.json")["region_statistics"]["flags"] == []
    assert 'id="regions-none"' in html


def test_tps_page_explains_its_forensic_flags_with_the_likely_correction(site: Site) -> None:
    report = site.api("/api/forensics.json")
    flag = next(f for f in report["flags"] if "correction" in f)
    html = site.get(f"/tps/{flag['tps_id']}").text
    listed = html.split('id="forensic-flags"', 1)[1].split("</ul>", 1)[0]
    mine = [f for f in report["flags"] if f["tps_id"] == flag["tps_id"]]
    assert listed.count("<li") == len(mine)
    for name, value in flag["correction"].items():
        assert f"{name} = {value:,}".replace(",", ".") in listed
    english = site.get(f"/tps/{flag['tps_id']}", lang="en").text
    assert "Likely correction" in english.split('id="forensic-flags"', 1)[1]
