"""Entry point of the `saksi` command. User mistakes end in one clear line, never a traceback."""

from __future__ import annotations

import base64
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import click
from rich.markup import escape

from saksi import __version__
from saksi.cli.client import enrol, submit
from saksi.cli.demo import anomaly_plan, demo
from saksi.cli.forensics import forensics
from saksi.cli.ladder import ladder
from saksi.cli.progress import console, progress_bar
from saksi.cli.verify import verify
from saksi.election.election import Election
from saksi.errors import SaksiError
from saksi.ingest.import_file import import_results_file
from saksi.log.note import NoteError, NoteSigner, NoteVerifier
from saksi.manifest.load import load_manifest
from saksi.registry.kpu2024 import read_dpt_file, read_kpu2024
from saksi.registry.pemilu2019 import read_pemilu2019

__all__ = ["main"]

ELECTION_DIR = click.Path(path_type=Path, file_okay=False)
EXISTING_FILE = click.Path(path_type=Path, exists=True, dir_okay=False)
EXISTING_DIR = click.Path(path_type=Path, exists=True, file_okay=False)
STORE_HELP = "Projection store: omit for SQLite in the folder, or a postgresql:// URL."


@click.group()
@click.version_option(__version__, prog_name="saksi")
def cli() -> None:
    """Saksi: verifiable election results. Every form is an entry in a public log."""


@cli.command()
@click.argument("election_dir", type=ELECTION_DIR)
@click.option(
    "--manifest",
    "manifest_path",
    type=EXISTING_FILE,
    required=True,
    help="Election manifest (TOML); see docs/manifest.md.",
)
@click.option("--store", default=None, help=STORE_HELP)
def init(election_dir: Path, manifest_path: Path, store: str | None) -> None:
    """Create an election folder: keys, manifest and key managers in a new record."""
    manifest = load_manifest(manifest_path)
    text = manifest_path.read_text(encoding="utf-8")
    with Election.create(election_dir, manifest, store=store, manifest_text=text) as election:
        click.echo(
            f"election {manifest.election_id} created in {election_dir} "
            f"({len(election.record)} entries; keys in {election.folder.keys_dir})"
        )


@cli.group()
def registry() -> None:
    """The region tree and its polling stations (TPS)."""


@registry.command("import")
@click.argument("election_dir", type=ELECTION_DIR)
@click.option("--kpu2024", "kpu_dir", type=EXISTING_DIR, help="Folder in the KPU 2024 format.")
@click.option("--dpt", "dpt_file", type=EXISTING_FILE, help="tps_id,dpt CSV for --kpu2024.")
@click.option("--pemilu2019", "tps_csv", type=EXISTING_FILE, help="A 2019-format tps.csv.")
def registry_import(
    election_dir: Path, kpu_dir: Path | None, dpt_file: Path | None, tps_csv: Path | None
) -> None:
    """Record regions and TPS with their DPT, one entry per desa."""
    if (kpu_dir is None) == (tps_csv is None):
        raise click.UsageError("give exactly one of --kpu2024 DIR or --pemilu2019 FILE")
    if kpu_dir is not None:
        desas = list(read_kpu2024(kpu_dir, read_dpt_file(dpt_file) if dpt_file else None))
    else:
        assert tps_csv is not None
        desas = list(read_pemilu2019(tps_csv))
    total = sum(len(tps) for _, tps in desas)
    with Election.open(election_dir) as election, progress_bar("registry", total) as update:
        added = election.import_registry(desas, update)
    click.echo(f"registered {added} TPS in {len(desas)} desa")


@cli.group()
def results() -> None:
    """Result forms (C.Hasil) from any source."""


@results.command("import")
@click.argument("election_dir", type=ELECTION_DIR)
@click.argument("csv_file", type=EXISTING_FILE)
@click.option("--source", required=True, help="Source id from the manifest, e.g. kawalpemilu.")
@click.option("--contest", default=None, help="Contest id; optional when there is one.")
def results_import(election_dir: Path, csv_file: Path, source: str, contest: str | None) -> None:
    """Import a results CSV as one source, under batch attestations. All rows or none."""
    with csv_file.open("rb") as handle:
        rows = max(sum(1 for _ in handle) - 1, 0)
    with Election.open(election_dir) as election, progress_bar(f"import {source}", rows) as update:
        summary = import_results_file(
            election, csv_file, source=source, contest=contest, progress=update
        )
    click.echo(
        f"{summary.recorded} forms recorded under {summary.attestations} attestations; "
        f"{summary.duplicates} were already recorded"
    )


@cli.command()
@click.argument("election_dir", type=ELECTION_DIR)
@click.option("--region", default=None, help="Region id; the national total when omitted.")
@click.option("--contest", default=None, help="Contest id (default: the first).")
@click.option("--source", default=None, help="Source id (default: the official source).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def tally(
    election_dir: Path, region: str | None, contest: str | None, source: str | None, as_json: bool
) -> None:
    """Totals for a region, contest and source."""
    from saksi.cli.readonly import open_store_readonly
    from saksi.cli.show import print_tally
    from saksi.tally.query import tally_report

    with open_store_readonly(election_dir) as store:
        report = tally_report(store, region=region, contest=contest, source=source)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, sort_keys=True))
    else:
        print_tally(report)


@cli.command()
@click.argument("election_dir", type=ELECTION_DIR)
@click.argument("out_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option("--contest", default=None, help="Contest id (default: the first).")
@click.option("--source", "sources", multiple=True, help="Source id(s); default: all.")
def export(
    election_dir: Path, out_dir: Path, contest: str | None, sources: tuple[str, ...]
) -> None:
    """Write per-TPS CSV and per-region CSV and JSON for each source."""
    from saksi.cli.readonly import open_store_readonly
    from saksi.tally.export import export_regions, export_tps
    from saksi.tally.query import default_contest

    out_dir.mkdir(parents=True, exist_ok=True)
    with open_store_readonly(election_dir) as store:
        contest_id = contest or default_contest(store)
        chosen = list(sources) or [
            str(r[0]) for r in store.query("SELECT id FROM sources ORDER BY id")
        ]
        for source in chosen:
            base = out_dir / f"{contest_id}-{source}"
            n_tps = export_tps(store, contest_id, source, base.with_name(base.name + "-tps.csv"))
            n_regions = export_regions(
                store,
                contest_id,
                source,
                base.with_name(base.name + "-regions.csv"),
                base.with_name(base.name + "-regions.json"),
            )
            click.echo(f"{source}: {n_tps} TPS, {n_regions} regions -> {out_dir}")


@cli.command()
@click.argument("election_dir", type=ELECTION_DIR)
@click.option("--no-verify", is_flag=True, help="Skip re-checking signatures while replaying.")
def rebuild(election_dir: Path, no_verify: bool) -> None:
    """Drop every projection table and rebuild it by replaying the record."""
    from saksi.election.folder import ElectionFolder
    from saksi.log.record import Record

    folder = ElectionFolder(election_dir)
    folder.read_config()
    with Record(folder.record_path, writable=False) as record:
        total = len(record)
    with (
        progress_bar("rebuild", total) as update,
        Election.open(election_dir, replay=False) as election,
    ):
        election.rebuild(update, verify=not no_verify)
        update(total)
    click.echo(f"rebuilt the projection from {total} record entries")


@cli.command()
@click.argument("election_dir", type=ELECTION_DIR)
def dump(election_dir: Path) -> None:
    """Print the sorted logical dump of every projection table."""
    from saksi.cli.readonly import open_store_readonly

    with open_store_readonly(election_dir) as store:
        for line in store.dump():
            click.echo(line)


@cli.group()
def example() -> None:
    """Build example elections."""


@example.command("pemilu2019")
@click.argument("data_dir", type=EXISTING_DIR)
@click.argument("election_dir", type=ELECTION_DIR)
@click.option("--store", default=None, help=STORE_HELP)
def example_pemilu2019(data_dir: Path, election_dir: Path, store: str | None) -> None:
    """The 2019 PPWP election from a folder in the pemilu2019 format."""
    from saksi.examples.pemilu2019 import build_pemilu2019

    with build_pemilu2019(data_dir, election_dir, store=store, say=click.echo) as election:
        click.echo(
            f"election {election.election_id} built in {election_dir}: "
            f"{len(election.record)} record entries"
        )


@example.command("synthetic")
@click.argument("election_dir", type=ELECTION_DIR)
@click.option(
    "--data",
    "data_dir",
    type=EXISTING_DIR,
    required=True,
    help="KPU 2024 tree (pemilu2024 format).",
)
@click.option("--provinces", default="", help="Only these provinsi codes, e.g. 31,51.")
@click.option("--seed", default=2024, show_default=True, help="Seed of the synthetic election.")
@click.option(
    "--truth",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the planted anomalies (JSON lines) here.",
)
@click.option(
    "--photos", default=100, show_default=True, help="Render a photo of this many official forms."
)
@click.option("--store", default=None, help=STORE_HELP)
@click.option(
    "--ladder",
    is_flag=True,
    help="Also sign the recapitulation ladder at every level, with planted ladder errors "
    "and a re-vote (PSU).",
)
@click.option(
    "--ladder-truth",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the ladder's planted errors (JSON lines) here.",
)
def example_synthetic(
    election_dir: Path,
    data_dir: Path,
    provinces: str,
    seed: int,
    truth: Path | None,
    photos: int,
    store: str | None,
    ladder: bool,
    ladder_truth: Path | None,
) -> None:
    """A seeded synthetic national PPWP election with planted anomalies."""
    from saksi.examples.synthetic_election import build_synthetic
    from saksi.examples.synthetic_ladder import DEMO_LADDER

    if ladder_truth is not None and not ladder:
        raise click.UsageError("--ladder-truth needs --ladder")

    chosen = tuple(p for p in provinces.split(",") if p) or None
    with build_synthetic(
        data_dir,
        election_dir,
        seed=seed,
        store=store,
        provinces=chosen,
        anomalies=anomaly_plan(chosen),
        truth_path=truth,
        photos=photos,
        ladder=DEMO_LADDER if ladder else None,
        ladder_truth_path=ladder_truth,
        say=click.echo,
    ) as election:
        click.echo(
            f"election {election.election_id} built in {election_dir}: "
            f"{len(election.record)} record entries"
        )


cli.add_command(demo)
cli.add_command(verify)
cli.add_command(forensics)
cli.add_command(ladder)
cli.add_command(submit)
cli.add_command(enrol)


@cli.group()
def log() -> None:
    """The public transparency log: tiles, entry bundles and signed checkpoints."""


def _log_verifier(election_dir: Path) -> NoteVerifier:
    from saksi.cli.readonly import open_store_readonly
    from saksi.election.folder import ElectionFolder
    from saksi.keys.ed25519 import SigningKey

    with open_store_readonly(election_dir) as store:
        origin = store.meta("origin")
    if origin is None:
        raise SaksiError(f"{election_dir} has no manifest origin recorded")
    key = SigningKey.load(ElectionFolder(election_dir).key_path("log"))
    return NoteSigner(origin, key.private).verifier


@log.command("vkey")
@click.argument("election_dir", type=ELECTION_DIR)
def log_vkey(election_dir: Path) -> None:
    """Print the log's verifier key (name+ID+key), to pin in verifiers and witnesses."""
    click.echo(_log_verifier(election_dir).vkey())


@log.command("publish")
@click.argument("election_dir", type=ELECTION_DIR)
@click.option(
    "--exports/--no-exports",
    default=True,
    show_default=True,
    help="Also write the open-data exports (one CSV row per TPS; region totals).",
)
def log_publish(election_dir: Path, exports: bool) -> None:
    """Publish totals, flags, photos and exports under a publication entry, write tiles
    and entry bundles for the whole record, and sign a new checkpoint."""
    with Election.open(election_dir) as election:
        checkpoint = election.publish_log(exports=exports)
        publication = election.state.published_size
    click.echo(f"publication of log_size {publication}: public/index.json")
    click.echo(f"checkpoint {checkpoint.size} {base64.b64encode(checkpoint.root).decode()}")


@cli.command()
@click.argument("election_dir", type=ELECTION_DIR)
@click.option("--tps", "tps_id", required=True, help="TPS id.")
@click.option("--contest", default=None, help="Contest id (default: the first).")
@click.option("--source", default=None, help="Source id (default: the official source).")
@click.option(
    "--tlog-proof",
    "tlog_proof_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the proof as a C2SP tlog-proof file (e.g. 3171011001001.tlog-proof).",
)
def proof(
    election_dir: Path,
    tps_id: str,
    contest: str | None,
    source: str | None,
    tlog_proof_path: Path | None,
) -> None:
    """Print, as JSON, the inclusion proof of a TPS's current form to the signed checkpoint."""
    from saksi.cli.readonly import open_store_readonly
    from saksi.election.folder import ElectionFolder
    from saksi.log.checkpoint import Checkpoint
    from saksi.log.proofs import inclusion_receipt
    from saksi.log.record import Record
    from saksi.log.tlog_proof import TlogProof
    from saksi.tally.query import default_contest, default_source

    folder = ElectionFolder(election_dir)
    with open_store_readonly(election_dir) as store:
        contest_id = contest or default_contest(store)
        source_id = source or default_source(store)
        rows = store.query(
            "SELECT seq FROM forms WHERE tps = ? AND contest = ? AND source = ? AND is_current = 1",
            (tps_id, contest_id, source_id),
        )
    if not rows:
        raise SaksiError(f"TPS {tps_id} has no {contest_id} form from source {source_id}")
    checkpoint = folder.public_dir / "log" / "checkpoint"
    if not checkpoint.exists():
        raise SaksiError(f"{election_dir} has published no checkpoint; run 'saksi log publish'")
    note = checkpoint.read_bytes()
    # The published checkpoint's own size: the signed state may already be one ahead.
    size = Checkpoint.parse(note.decode().split("\n\n", 1)[0] + "\n").size
    with Record(folder.record_path, writable=False) as record:
        receipt = inclusion_receipt(record, note, size, int(rows[0][0]))
    receipt.update({"tps": tps_id, "contest": contest_id, "source": source_id})
    tlog = TlogProof(
        base64.b64decode(receipt["entry"]),
        receipt["leaf_index"],
        [base64.b64decode(h) for h in receipt["inclusion_proof"]],
        receipt["checkpoint"],
    )
    receipt["tlog_proof"] = tlog.text()
    if tlog_proof_path is not None:
        tlog_proof_path.write_text(tlog.text(), encoding="utf-8")
    click.echo(json.dumps(receipt, ensure_ascii=False, indent=1))


@cli.group()
def witness() -> None:
    """A log witness (C2SP tlog-witness): cosigns checkpoints that extend what it saw."""


WITNESS_DIR = click.Path(path_type=Path, file_okay=False)


@witness.command("init")
@click.argument("witness_dir", type=WITNESS_DIR)
@click.option("--name", required=True, help="The witness's key name, e.g. witness.example/w1.")
def witness_init(witness_dir: Path, name: str) -> None:
    """Create a witness folder with a new cosigner key."""
    from saksi.witness.folder import create_witness

    cosigner = create_witness(witness_dir, name)
    click.echo(cosigner.key.vkey())


@witness.command("add-log")
@click.argument("witness_dir", type=WITNESS_DIR)
@click.argument("vkey")
def witness_add_log(witness_dir: Path, vkey: str) -> None:
    """Follow a log, given its verifier key (from 'saksi log vkey')."""
    from saksi.witness.folder import add_log

    verifier = add_log(witness_dir, vkey)
    click.echo(f"following {verifier.name}")


@witness.command("vkey")
@click.argument("witness_dir", type=WITNESS_DIR)
def witness_vkey(witness_dir: Path) -> None:
    """Print the witness's cosigner key, for verifiers' witness policies."""
    from saksi.witness.folder import load_witness

    click.echo(load_witness(witness_dir).cosigner.key.vkey())


@witness.command("serve")
@click.argument("witness_dir", type=WITNESS_DIR)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=7380, show_default=True, help="Port to listen on.")
def witness_serve(witness_dir: Path, host: str, port: int) -> None:
    """Serve POST /add-checkpoint until interrupted."""
    import os

    from granian import Granian
    from granian.constants import Interfaces

    from saksi.witness.folder import load_witness

    load_witness(witness_dir)  # refuse a broken folder before the server starts
    os.environ["SAKSI_WITNESS_DIR"] = str(witness_dir.resolve())
    Granian(
        "saksi.witness.server:create_app",
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        factory=True,
        workers=1,  # one process: the check-then-persist lock must see every request
        log_access=False,
    ).serve()


@cli.command()
@click.argument("election_dir", type=ELECTION_DIR)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--address-rate",
    type=click.FloatRange(min=0.01),
    default=200.0,
    show_default=True,
    help="Write requests a second per client address (bursts of twice as many).",
)
@click.option(
    "--key-rate",
    type=click.FloatRange(min=0.01),
    default=2.0,
    show_default=True,
    help="Write requests a second per signing key (bursts of five times as many).",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds a request body may take to arrive.",
)
def serve(
    election_dir: Path,
    host: str,
    port: int,
    address_rate: float,
    key_rate: float,
    body_timeout: float,
) -> None:
    """Serve the HTTP API and the publication folder until interrupted (docs/api.md)."""
    from saksi.api.app import Limits
    from saksi.api.server import serve as run
    from saksi.election.folder import ElectionFolder

    ElectionFolder(election_dir).read_config()  # refuse a non-election before starting
    limits = Limits(address_rate, address_rate * 2, key_rate, key_rate * 5, body_timeout)
    run(election_dir, host, port, limits)


@log.command("status")
@click.argument("election_dir", type=ELECTION_DIR)
def log_status(election_dir: Path) -> None:
    """Print the last checkpoint's size, root and time, checked against the log key."""
    from saksi.election.folder import ElectionFolder
    from saksi.log.checkpoint import Checkpoint
    from saksi.log.note import open_note
    from saksi.publication.index import INDEX_NAME, PublicationIndex
    from saksi.witness.cosignature import CosignerKey

    folder = ElectionFolder(election_dir)
    path = folder.public_dir / "log" / "checkpoint"
    if not path.exists():
        raise SaksiError(f"{election_dir} has published no checkpoint; run 'saksi log publish'")
    note = path.read_bytes()
    text, _ = open_note(note, [_log_verifier(election_dir)])
    checkpoint = Checkpoint.parse(text)
    when = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).isoformat(timespec="seconds")
    click.echo(f"origin     {checkpoint.origin}")
    click.echo(f"size       {checkpoint.size}")
    click.echo(f"root       {base64.b64encode(checkpoint.root).decode()}")
    click.echo(f"signed at  {when}")
    index = PublicationIndex.load(folder.public_dir / INDEX_NAME)
    if index is not None:
        click.echo(f"published  totals of log_size {index.log_size}, {len(index.files)} files")
    witnesses = folder.read_witnesses()
    if not witnesses:
        click.echo("witnesses  none configured")
    sizes_path = folder.root / "witness-sizes.json"
    sizes = json.loads(sizes_path.read_text(encoding="utf-8")) if sizes_path.exists() else {}
    signature_lines = note.decode().split("\n\n", 1)[1].splitlines()
    for url, vkey in witnesses:
        key = CosignerKey.parse(vkey)
        cosigned = any(key.verify(text, line) is not None for line in signature_lines)
        state = "cosigned this checkpoint" if cosigned else "no cosignature on this checkpoint"
        last = sizes.get(url)
        click.echo(
            f"witness    {key.name} at {url}: {state}; last cosigned size "
            f"{last if last is not None else 'none'}"
        )


def _error(message: str) -> NoReturn:
    # The message is the user's own words: escape it, and never wrap it, so that it
    # stays one greppable line even when stderr is not a terminal.
    console.print(
        f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True
    )
    sys.exit(1)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        console.print("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (SaksiError, NoteError) as exc:
        _error(str(exc))
    except UnicodeDecodeError as exc:
        # Every input (manifest, registry, results) is read as UTF-8; a spreadsheet
        # saved in another encoding is a user mistake, not a crash.
        _error(f"an input file is not UTF-8 text ({exc.reason}); save it as UTF-8 and try again")
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
