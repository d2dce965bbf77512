"""`saksi demo`: a synthetic national election streaming into a fresh election folder,
served by `saksi serve` at a local URL.

Forms arrive in a shuffled order, sources interleaved, through the real HTTP submission
path: each batch's devices are enrolled by their source's key manager, then each device
signs and submits its form (some with a photo). The terminal shows the live national
totals, read back from the API.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import httpx
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from saksi.cli.demo_stream import stream
from saksi.cli.progress import console, progress_bar
from saksi.cli.show import tally_table
from saksi.client.submitter import Client
from saksi.election.election import Election
from saksi.errors import SaksiError
from saksi.examples.synthetic import ANOMALY_KINDS, AnomalyPlan, generate, write_truth
from saksi.examples.synthetic_election import DEMO_ANOMALIES, synthetic_manifest
from saksi.keys.ed25519 import SigningKey

__all__ = ["anomaly_plan", "demo"]

MARKER = ".saksi-demo"
DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "pemilu2024"


def _fresh_folder(folder: Path) -> None:
    if folder.exists():
        if not (folder / MARKER).exists() and any(folder.iterdir()):
            raise SaksiError(f"{folder} exists and is not an earlier demo; choose another folder")
        shutil.rmtree(folder)


def anomaly_plan(provinces: tuple[str, ...] | None) -> AnomalyPlan:
    if provinces is None:
        return DEMO_ANOMALIES
    # A smaller tree gets a tenth of the planted errors, and fixed shares only inside it.
    return dataclasses.replace(
        DEMO_ANOMALIES,
        **{
            kind: getattr(DEMO_ANOMALIES, kind) // 10
            for kind in ANOMALY_KINDS
            if kind != "fixed_share"  # a region anomaly, not a count of forms
        },
        fixed_share_regions=tuple(
            r for r in DEMO_ANOMALIES.fixed_share_regions if r[:2] in provinces
        ),
    )


def _arrivals(
    forms: dict[str, list[dict[str, Any]]], batch: int, seed: int
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Batches in a plausible arrival order: shuffled TPS, sources interleaved."""
    rng = random.Random(seed)
    queues = {}
    for source, items in forms.items():
        order = list(range(len(items)))
        rng.shuffle(order)
        queues[source] = [items[i] for i in order]
    position = dict.fromkeys(queues, 0)
    while any(position[s] < len(queues[s]) for s in queues):
        for source, items in queues.items():
            start = position[source]
            if start < len(items):
                position[source] = start + batch
                yield source, items[start : start + batch]


def _view(url: str, sources: list[str], started: float, received: int, total: int) -> Group:
    reports = {}
    for source in sources:
        try:
            answer = httpx.get(f"{url}/api/totals.json", params={"source": source}, timeout=5)
            reports[source] = answer.json()
        except (httpx.HTTPError, ValueError):
            continue  # the server is busy: the next refresh shows it
    table = Table(title="forms per source", title_justify="left")
    table.add_column("source")
    table.add_column("forms", justify="right")
    table.add_column("flagged TPS", justify="right")
    for source, row in reports.items():
        table.add_row(source, f"{row['tps_reported']:,}", f"{sum(row['flagged_tps'].values()):,}")
    elapsed = time.perf_counter() - started
    status = Text(
        f"{received:,} / {total:,} forms in {elapsed:.0f} s "
        f"({received / max(elapsed, 1e-9):,.0f} forms/s) through {url}/api/results"
    )
    parts: list[Any] = [tally_table(reports[sources[0]])] if sources[0] in reports else []
    return Group(*parts, table, status)


@contextmanager
def _serving(folder: Path, port: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`saksi serve` for the demo, its log in the election folder."""
    url = f"http://127.0.0.1:{port}"
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise SaksiError(f"port {port} is in use; pass --port with a free one")
    log = (folder / "server.log").open("ab")
    command = [sys.executable, "-m", "saksi", "serve", str(folder), "--port", str(port)]
    command += ["--address-rate", "1000000", "--key-rate", "1000"]  # the demo's devices are local
    server = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                httpx.get(f"{url}/api/election.json", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SaksiError(
                        f"the server did not start; see {folder / 'server.log'}"
                    ) from None
                time.sleep(0.2)
        yield url, server
    finally:
        server.terminate()
        server.wait(timeout=120)
        log.close()


@click.command()
@click.argument(
    "election_dir", type=click.Path(path_type=Path, file_okay=False), default="demo-election"
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DATA,
    show_default=True,
    help="KPU 2024 tree (pemilu2024 format).",
)
@click.option("--provinces", default="", help="Only these provinsi codes, e.g. 31,51.")
@click.option("--seed", default=2024, show_default=True, help="Seed of the synthetic election.")
@click.option("--batch", default=2000, show_default=True, help="Forms per arriving batch.")
@click.option("--port", default=8000, show_default=True, help="Port of the demo's server.")
@click.option(
    "--photo-every",
    default=50,
    show_default=True,
    help="About one form in this many carries a photo of the form (0: none).",
)
@click.option("--rate", default=0.0, help="Forms per second at most (0: as fast as possible).")
@click.option("--exit", "exit_when_done", is_flag=True, help="Stop the server when done.")
def demo(
    election_dir: Path,
    data_dir: Path,
    provinces: str,
    seed: int,
    batch: int,
    port: int,
    photo_every: int,
    rate: float,
    exit_when_done: bool,
) -> None:
    """Serve ELECTION_DIR and stream a synthetic national election into it over HTTP:
    devices enrolled by their source's key manager submit signed forms and photos."""
    if not (data_dir / "regions.csv").exists():
        raise SaksiError(f"{data_dir} has no regions.csv; pass --data with the pemilu2024 folder")
    chosen = tuple(p for p in provinces.split(",") if p) or None
    _fresh_folder(election_dir)
    console.print(f"generating the synthetic election (seed {seed}) …")
    synthetic = generate(
        data_dir, seed=seed, anomalies=anomaly_plan(chosen), limit_provinces=chosen
    )
    election = Election.create(election_dir, synthetic_manifest())
    (election_dir / MARKER).write_text("made by saksi demo; deleted by the next demo\n")
    write_truth(synthetic.truth, election_dir / "planted-anomalies.jsonl")
    election_id = election.election_id
    sources = [s.id for s in election.manifest.sources]
    try:
        total_tps = sum(len(t) for _, t in synthetic.desas)
        with progress_bar("registry", total_tps) as update:
            election.import_registry(synthetic.desas, update)
        for source in synthetic.forms:
            election.key("manager", source)  # made now, while this process holds the folder
    finally:
        election.close()
    batches = list(_arrivals(synthetic.forms, batch, seed))
    total = sum(len(f) for f in synthetic.forms.values())
    counter = multiprocessing.get_context("fork").Value("q", 0)
    with _serving(election_dir, port) as (url, server):
        console.print(f"serving election {election_id} at {url} (log: {election_dir}/server.log)")
        started = time.perf_counter()
        pool, result = stream(
            url, election_dir, election_id, batches,
            seed=seed, photo_every=photo_every, counter=counter, rate=rate,
        )  # fmt: skip
        del synthetic, batches
        try:
            with Live(_view(url, sources, started, 0, total), console=console) as live:
                while not result.ready():
                    result.wait(0.5)
                    live.update(_view(url, sources, started, counter.value, total))
                live.update(_view(url, sources, started, counter.value, total))
            result.get()  # re-raises a worker's failure
        finally:
            pool.terminate()
            pool.join()
        console.print("publishing totals, flags and the signed log under public/ …")
        admin_key = SigningKey.load(election_dir / "keys" / "admin.key")
        # A first national publication writes some 400,000 files: minutes, not seconds.
        with Client(url, admin_key, timeout=3600) as admin:
            checkpoint = admin.publish()
        console.print(f"checkpoint {checkpoint['size']:,} signed")
        console.print(
            f"\ndone: {counter.value:,} forms from {len(sources)} sources in {election_dir}.\n"
            f"Open {url}/api/totals.json · {url}/api/regions/ID/children.json · "
            f"{url}/openapi.json\n"
            f"Check it: saksi verify {url} --vkey $(saksi log vkey {election_dir})\n"
            f"Planted anomalies (ground truth): {election_dir / 'planted-anomalies.jsonl'}"
        )
        if not exit_when_done:
            console.print(f"serving at {url} until Ctrl-C")
            server.wait()
