"""Build the synthetic national election as files or as a whole election folder."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from saksi.election.election import Election
from saksi.examples.photo import render_form_photo
from saksi.examples.synthetic import (
    CHOICES,
    AnomalyPlan,
    SyntheticElection,
    generate,
    paper_form,
    write_truth,
)
from saksi.examples.synthetic_ladder import LadderPlan, build_ladder, write_ladder_truth
from saksi.ingest.csv_import import write_results_csv
from saksi.manifest.load import load_manifest
from saksi.manifest.model import Manifest

__all__ = [
    "DEMO_ANOMALIES",
    "MANIFEST",
    "build_synthetic",
    "synthetic_manifest",
    "write_synthetic_files",
]

MANIFEST = Path(__file__).with_name("nasional2024.toml")

# A planted sample of every anomaly kind, for the demo and the example.
DEMO_ANOMALIES = AnomalyPlan(
    extra_digit=400,
    swapped_fields=200,
    total_in_candidate=100,
    inflated_turnout=200,
    missing_forms=500,
    source_disagreements=400,
    fixed_share_regions=("3525",),  # Kabupaten Gresik
)

Say = Callable[[str], None]


def synthetic_manifest() -> Manifest:
    return load_manifest(MANIFEST)


def write_synthetic_files(
    election: SyntheticElection, out_dir: Path, manifest: Manifest | None = None
) -> dict[str, Path]:
    """Write ``dpt.csv`` (tps_id,dpt), ``results-<source>.csv`` and ``truth.jsonl``."""
    manifest = manifest or synthetic_manifest()
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "dpt.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["tps_id", "dpt"])
        for _, tps_list in election.desas:
            for tps in tps_list:
                writer.writerow([tps.id, "" if tps.dpt is None else tps.dpt])
    paths = {}
    for source, forms in election.forms.items():
        path = out_dir / f"results-{source}.csv"
        write_results_csv(forms, path, CHOICES, manifest.source_by_id[source].fields)
        paths[source] = path
    write_truth(election.truth, out_dir / "truth.jsonl")
    return paths


def attach_photos(election: Election, synthetic: SyntheticElection, count: int) -> None:
    """Render and store photos for the first ``count`` official forms and list them."""
    official = synthetic.forms.get("kpps", [])
    for index, form in enumerate(official[:count]):
        paper = paper_form(form, (t for t in synthetic.truth if t.get("tps") == form["tps"]))
        digest = election.store_photo(render_form_photo(paper))
        official[index] = {**form, "photos": [digest]}


def build_synthetic(
    data_dir: Path,
    election_dir: Path,
    *,
    seed: int,
    store: str | None = None,
    provinces: tuple[str, ...] | None = None,
    anomalies: AnomalyPlan = DEMO_ANOMALIES,
    truth_path: Path | None = None,
    photos: int = 0,
    ladder: LadderPlan | None = None,
    ladder_truth_path: Path | None = None,
    say: Say = print,
) -> Election:
    """Generate, register and import the whole synthetic election in one go.

    The first ``photos`` official forms get a rendered photo of the paper form (with the
    numbers as written, before any planted typing error), stored under its SHA-256.
    With ``ladder``, the re-votes are recorded and the recap bodies sign the whole
    recapitulation ladder with that plan's errors (``saksi.examples.synthetic_ladder``);
    their ground truth goes to ``ladder_truth_path``. Without it, no ladder: the demo and
    the benches time the forms alone.
    """
    synthetic = generate(data_dir, seed=seed, anomalies=anomalies, limit_provinces=provinces)
    if truth_path is not None:
        write_truth(synthetic.truth, truth_path)
    election = Election.create(election_dir, synthetic_manifest(), store=store)
    try:
        added = election.import_registry(synthetic.desas)
        say(f"registry: {added} TPS")
        attach_photos(election, synthetic, photos)
        for source, forms in synthetic.forms.items():
            summary = election.import_forms(forms, election.importer_key(source), name=source)
            say(f"source {source}: {summary.recorded} forms recorded")
        if ladder is not None:
            planted = build_ladder(election, seed=seed, plan=ladder)
            if ladder_truth_path is not None:
                write_ladder_truth(planted, ladder_truth_path)
            kinds = Counter(t["kind"] for t in planted)
            listed = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "nothing"
            say(f"ladder: recap forms signed at every level; planted: {listed}")
    except BaseException:
        election.close()
        raise
    return election
