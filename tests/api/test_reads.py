"""Public reads, errors, limits and the start-up check, through a real `saksi serve`;
and `saksi verify` passing against that server."""

from __future__ import annotations

import csv
import io
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_helpers import CONTEST, build_election, form, manager, publish, running, verify_served
from starlette.responses import Response
from starlette.routing import Route

from saksi.api.access import UnguardedRoute
from saksi.api.app import create_app
from saksi.client.submitter import Client, SubmissionRefused
from saksi.keys.ed25519 import SigningKey
from saksi.log.entry import EntryType

REPORTED = ["1-001", "1-002", "2-001"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    folder = build_election(tmp_path_factory.mktemp("reads"))
    with running(folder) as url:
        devices = {t: SigningKey.generate() for t in REPORTED}
        items = [
            {"key": k.public_b64, "role": "submitter", "source": "kpps", "tps": [t]}
            for t, k in devices.items()
        ]
        with Client(url, manager(folder)) as kpps:
            kpps.record(EntryType.KEYS_REGISTER, {"keys": items})
        for n, (tps, key) in enumerate(devices.items()):
            with Client(url, key) as client:
                client.submit_form(form(tps, 10 + n, 20))
        yield folder, url


def test_totals_at_every_level_add_up(served: tuple[Path, str]) -> None:
    _, url = served
    national = httpx.get(f"{url}/api/totals.json", params={"contest": CONTEST}).json()
    assert national["region"]["id"] == "ID"
    assert national["choices"] == {"01": 10 + 11 + 12, "02": 60}
    assert national["tps_reported"] == 3
    children = httpx.get(f"{url}/api/regions/ID/children.json").json()["children"]
    assert sum(c["choices"]["01"] for c in children) == national["choices"]["01"]
    province = children[0]["region"]["id"]
    same = httpx.get(f"{url}/api/totals/{province}.json").json()
    assert same == children[0]
    row = next(csv.DictReader(io.StringIO(httpx.get(f"{url}/api/totals/ID.csv").text)))
    assert int(row["choice_01"]) == 33
    assert row["region_id"] == "ID"


def test_cached_totals_follow_new_forms(served: tuple[Path, str]) -> None:
    folder, url = served
    before = httpx.get(f"{url}/api/totals.json").json()  # now cached
    device = SigningKey.generate()
    item = {"key": device.public_b64, "role": "submitter", "source": "kpps", "tps": ["7-002"]}
    with Client(url, manager(folder)) as kpps:
        kpps.record(EntryType.KEYS_REGISTER, {"keys": [item]})
    with Client(url, device) as client:
        leaf = client.submit_form(form("7-002", 1, 1))["leaf_index"]
    deadline = time.monotonic() + 10
    while (now := httpx.get(f"{url}/api/totals.json").json())["log_size"] <= leaf:
        assert time.monotonic() < deadline, "the national totals never showed the new form"
        time.sleep(0.05)
    assert now["tps_reported"] == before["tps_reported"] + 1
    assert now["choices"]["01"] == before["choices"]["01"] + 1


def test_history_samples_the_national_totals(served: tuple[Path, str]) -> None:
    folder, url = served
    history = httpx.get(f"{url}/api/history.json").json()
    assert (history["contest"], history["source"]) == (CONTEST, "kpps")
    first = history["samples"][0]
    assert first["log_size"] <= httpx.get(f"{url}/api/totals.json").json()["log_size"]
    assert set(first) >= {"time", "log_size", "choices", "tps_reported"}
    lines = (folder / "history.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["log_size"] == first["log_size"]


def test_a_desa_lists_its_tps(served: tuple[Path, str]) -> None:
    _, url = served
    detail = httpx.get(f"{url}/api/tps/1-001.json").json()
    desa = detail["regions"][-1]["id"]
    children = httpx.get(f"{url}/api/regions/{desa}/children.json").json()["children"]
    assert [c["tps_id"] for c in children] == ["1-001", "1-002"]
    assert children[0]["votes"] == {"01": 10, "02": 20}


def test_cached_reads_revalidate_and_allow_any_origin(served: tuple[Path, str]) -> None:
    _, url = served
    first = httpx.get(f"{url}/api/totals.json", headers={"Origin": "https://example.org"})
    assert first.headers["access-control-allow-origin"] == "*"
    assert first.headers["last-modified"]
    again = httpx.get(f"{url}/api/totals.json", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    size = httpx.get(f"{url}/log/checkpoint").text.split("\n")[1]
    tile = httpx.get(f"{url}/log/tile/0/000.p/{size}")
    assert tile.status_code == 200
    assert "immutable" in tile.headers["cache-control"]
    assert httpx.get(f"{url}/log/checkpoint").headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("GET", "/api/totals/NOWHERE.json", 404, "region NOWHERE is not registered"),
        ("GET", "/api/totals.json?contest=DPD9", 404, "contest DPD9 is not part of"),
        ("GET", "/api/totals.json?source=nobody", 404, "source nobody is not part of"),
        ("GET", "/api/tps/9-999.json", 404, "TPS 9-999 is not registered"),
        ("GET", "/no/such/file", 404, "nothing is published at /no/such/file"),
        ("DELETE", "/api/results", 405, "DELETE is not allowed on /api/results"),
        ("GET", "/api/results", 405, "GET is not allowed on /api/results"),
        ("POST", "/api/entries", 400, "not valid JSON"),
    ],
)
def test_errors_are_specific_json(
    served: tuple[Path, str], method: str, path: str, status: int, message: str
) -> None:
    _, url = served
    response = httpx.request(method, url + path, content=b"" if method == "POST" else None)
    assert response.status_code == status
    (error,) = response.json()["errors"]
    assert message in error["message"]
    assert error["code"]


def test_an_oversized_body_is_refused_before_it_is_read(served: tuple[Path, str]) -> None:
    _, url = served
    response = httpx.post(f"{url}/api/results", content=b"{" + b" " * 300_000 + b"}")
    assert response.status_code == 413
    assert "is at most 262,144 bytes" in response.json()["errors"][0]["message"]


def test_openapi_lists_the_routes_scripts_rely_on(served: tuple[Path, str]) -> None:
    _, url = served
    paths = httpx.get(f"{url}/openapi.json").json()["paths"]
    for path in ("/api/totals.json", "/api/totals/{region}.json", "/api/tps/{tps_id}.json"):
        assert "get" in paths[path]
    assert "post" in paths["/api/results"]


def test_saksi_verify_passes_against_the_server(served: tuple[Path, str], tmp_path: Path) -> None:
    folder, url = served
    mirror = tmp_path / "mirror"
    publish(url, folder)
    code, report = verify_served(url, folder, mirror)
    assert code == 0, report["failures"]
    assert report["ok"]
    assert report["forms_checked"] >= len(REPORTED)
    assert report["totals_checked"] > 0


def test_rate_limit_per_key(tmp_path: Path) -> None:
    folder = build_election(tmp_path)
    device = SigningKey.generate()
    with running(folder, "--key-rate", "0.5") as url:
        item = {"key": device.public_b64, "role": "submitter", "source": "kpps", "tps": ["1-001"]}
        with Client(url, manager(folder)) as kpps:
            kpps.record(EntryType.KEYS_REGISTER, {"keys": [item]})
        statuses: list[object] = []
        messages = []
        with Client(url, device) as client:
            for _ in range(4):  # a burst of 2.5: the third request in a row is refused
                try:
                    statuses.append(client.submit_form(form("1-001"))["status"])
                except SubmissionRefused as exc:
                    statuses.append(exc.status)
                    messages.append(str(exc))
    assert statuses[:2] == ["ok", "duplicate"]
    assert 429 in statuses[2:]
    assert all("too many requests from key" in m for m in messages)


def test_the_app_refuses_to_start_with_an_unguarded_route(tmp_path: Path) -> None:
    async def open_door(request: object) -> Response:
        return Response("anyone may write here")

    with pytest.raises(UnguardedRoute, match="/admin/open-door"):
        create_app(tmp_path, extra=[Route("/admin/open-door", open_door, methods=["POST"])])


def test_a_body_that_never_arrives_times_out(tmp_path: Path) -> None:
    folder = build_election(tmp_path)
    with running(folder, "--body-timeout", "0.5") as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
            slow.sendall(
                b"POST /api/results HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
            )
            answer = slow.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 408")
    assert "the request body did not arrive within 0.5 s" in answer
