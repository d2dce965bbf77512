"""Build the 2019 PPWP example from a folder in the ../shared/data/pemilu2019 format.

Each ``results-<name>.csv`` becomes source ``<name>``, imported under batch attestations
by an importer key that the source's key manager enrols.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from saksi.election.election import Election
from saksi.errors import SaksiError
from saksi.ingest.import_file import import_results_file
from saksi.manifest.load import load_manifest
from saksi.manifest.model import Manifest, Source, SourceKind
from saksi.registry.pemilu2019 import read_pemilu2019

__all__ = ["build_pemilu2019", "pemilu2019_manifest", "result_files"]

TEMPLATE = Path(__file__).with_name("pemilu2019.toml")


def result_files(data_dir: Path) -> dict[str, Path]:
    files = {
        p.name[len("results-") : -len(".csv")]: p for p in sorted(data_dir.glob("results-*.csv"))
    }
    if not (data_dir / "tps.csv").exists():
        raise SaksiError(f"{data_dir} has no tps.csv; it is not in the pemilu2019 format")
    return files


def pemilu2019_manifest(names: list[str]) -> Manifest:
    base = load_manifest(TEMPLATE)
    official = [s for s in base.sources if s.kind is SourceKind.OFFICIAL]
    template = next(s for s in base.sources if s.kind is SourceKind.IMPORT)
    imported = [
        Source(name, f"{name} (impor)", SourceKind.IMPORT, template.fields, template.required)
        for name in names
        if name not in {s.id for s in official}
    ]
    return dataclasses.replace(
        base, sources=(*official, *imported), contest_by_id={}, source_by_id={}
    )


Say = Callable[[str], None]


def build_pemilu2019(
    data_dir: Path, election_dir: Path, *, store: str | None = None, say: Say = print
) -> Election:
    files = result_files(data_dir)
    election = Election.create(election_dir, pemilu2019_manifest(list(files)), store=store)
    try:
        added = election.import_registry(read_pemilu2019(data_dir / "tps.csv"))
        say(f"registry: {added} TPS")
        for name, path in files.items():
            summary = import_results_file(election, path, source=name)
            say(
                f"source {name}: {summary.recorded} forms recorded, "
                f"{summary.duplicates} already there"
            )
    except BaseException:
        election.close()
        raise
    return election
