"""`saksi demo`: a synthetic national election streaming into a fresh election folder.

Forms arrive in a shuffled order, source by source in small batches, each batch going
through the same import path as `saksi results import`; the terminal shows the live
national totals as they grow.
"""

from __future__ import annotations

import dataclasses
import random
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from saksi.cli.progress import console, progress_bar
from saksi.cli.show import tally_table
from saksi.election.election import Election
from saksi.errors import SaksiError
from saksi.examples.synthetic import ANOMALY_KINDS, AnomalyPlan, generate, write_truth
from saksi.examples.synthetic_election import DEMO_ANOMALIES, synthetic_manifest
from saksi.tally.query import tally_report

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


def _view(election: Election, started: float, received: int, total: int) -> Group:
    report = tally_report(election.store, region=None, contest=None, source=None)
    sources = Table(title="forms per source", title_justify="left")
    sources.add_column("source")
    sources.add_column("forms", justify="right")
    sources.add_column("flagged TPS", justify="right")
    for source in election.manifest.sources:
        row = tally_report(election.store, region=None, contest=None, source=source.id)
        sources.add_row(
            source.id, f"{row['tps_reported']:,}", f"{sum(row['flagged_tps'].values()):,}"
        )
    elapsed = time.perf_counter() - started
    status = Text(
        f"{received:,} / {total:,} forms in {elapsed:.0f} s "
        f"({received / max(elapsed, 1e-9):,.0f} forms/s) · record size {len(election.record):,}"
    )
    return Group(tally_table(report), sources, status)


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
@click.option("--batch", default=5000, show_default=True, help="Forms per arriving batch.")
@click.option("--rate", default=0.0, help="Forms per second at most (0: as fast as possible).")
def demo(
    election_dir: Path, data_dir: Path, provinces: str, seed: int, batch: int, rate: float
) -> None:
    """Stream a synthetic national election into ELECTION_DIR and watch the totals."""
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
    try:
        total_tps = sum(len(t) for _, t in synthetic.desas)
        with progress_bar("registry", total_tps) as update:
            election.import_registry(synthetic.desas, update)
        importers = {s: election.importer_key(s) for s in synthetic.forms}
        total = sum(len(f) for f in synthetic.forms.values())
        received = 0
        started = time.perf_counter()
        with Live(
            _view(election, started, 0, total), console=console, refresh_per_second=4
        ) as live:
            for source, forms in _arrivals(synthetic.forms, batch, seed):
                election.import_forms(forms, importers[source], name=source)
                received += len(forms)
                live.update(_view(election, started, received, total))
                if rate > 0:
                    time.sleep(max(0.0, received / rate - (time.perf_counter() - started)))
        console.print("publishing totals, flags and the signed log under public/ …")
        publishing = time.perf_counter()
        checkpoint = election.publish_log(exports=False)
        console.print(
            f"checkpoint {checkpoint.size:,} signed in {time.perf_counter() - publishing:.0f} s"
        )
    finally:
        election.close()
    console.print(
        f"\ndone: {received:,} forms from {len(synthetic.forms)} sources in {election_dir}.\n"
        f"Try: saksi tally {election_dir} --json   ·   saksi export {election_dir} out/\n"
        f"The published totals and signed log: {election_dir / 'public'}   ·   "
        f"saksi log status {election_dir}\n"
        f"Planted anomalies (ground truth): {election_dir / 'planted-anomalies.jsonl'}"
    )
