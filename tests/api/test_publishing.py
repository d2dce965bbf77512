"""With a `[log]` cadence, `saksi serve` publishes in the background while submissions
go on, and what it publishes verifies."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from api_helpers import build_election, form, manager, publish, running, verify_served

from saksi.client.submitter import Client
from saksi.keys.ed25519 import SigningKey
from saksi.log.entry import EntryType

TPS = [f"{d}-00{t}" for d in range(1, 16) for t in (1, 2)]


def test_the_cadence_publishes_in_the_background(tmp_path: Path) -> None:
    folder = build_election(tmp_path, cadence=5)
    with running(folder, "--key-rate", "1000") as url:
        devices = {t: SigningKey.generate() for t in TPS}
        items = [
            {"key": k.public_b64, "role": "submitter", "source": "kpps", "tps": [t]}
            for t, k in devices.items()
        ]
        with Client(url, manager(folder)) as kpps:
            kpps.record(EntryType.KEYS_REGISTER, {"keys": items})
        leaves = []
        for tps, key in devices.items():
            with Client(url, key) as device:
                leaves.append(device.submit_form(form(tps))["leaf_index"])
        # Every 5 new entries a publication starts after a commit, with no admin request;
        # the last few forms wait for the next commit, as the cadence says.
        target = leaves[-5]
        deadline = time.monotonic() + 60
        while True:
            size = int(httpx.get(f"{url}/log/checkpoint").text.split("\n")[1])
            if size > target:
                break
            assert time.monotonic() < deadline, f"no checkpoint past leaf {target}: {size}"
            time.sleep(0.1)
        index = httpx.get(f"{url}/index.json").json()
        assert leaves[0] < index["log_size"] <= size  # public/ shows forms submitted here
        publish(url, folder)  # waits for one still running, so the verifier sees it whole
        code, report = verify_served(url, folder, tmp_path / "mirror")
    assert code == 0, report["failures"]
    assert report["totals_checked"] > 0
