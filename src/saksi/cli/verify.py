"""`saksi verify SOURCE`: check a published election, from a folder or a server."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import click
from rich.markup import escape

from saksi.cli.progress import console, stage_bars
from saksi.errors import SaksiError
from saksi.verify.report import Report
from saksi.verify.run import verify as run_verification
from saksi.verify.source import FetchError, Source
from saksi.verify.trust import Trust

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_UNREACHABLE", "EXIT_USAGE", "verify"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


def _default_state(trust: Trust) -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    # Origin and key ID: two elections made from one manifest share an origin.
    name = re.sub(r"[^A-Za-z0-9._-]", "_", f"{trust.log.name}+{trust.log.key_id:08x}")
    return cache / "saksi" / "verify" / f"{name}.json"


def _trust(
    vkey: str | None, trust_file: Path | None, witnesses: tuple[str, ...], quorum: int | None
) -> Trust:
    if trust_file is not None:
        if vkey or witnesses or quorum is not None:
            raise click.UsageError("give either --trust FILE or --vkey/--witness/--quorum")
        return Trust.load(trust_file)
    if vkey is None:
        raise click.UsageError("pin the log's key: --vkey KEY (from 'saksi log vkey') or --trust")
    return Trust.build(vkey, list(witnesses), quorum)


def _print(report: Report, as_json: bool, trust: Trust) -> None:
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
        return
    for failure in report.failures:
        console.print(f"[bold red]FAIL[/] {escape(failure.text())}", soft_wrap=True)
    if report.truncated:
        console.print(f"(only the first {len(report.failures)} failures are shown)")
    if report.ok:
        witnesses = ", ".join(report.witnesses) or "none"
        click.echo(
            f"verified {report.source}: size {report.size:,}, root {report.root}\n"
            f"  witnesses {witnesses} ({trust.quorum} of {len(trust.witnesses)} required)\n"
            f"  {report.entries_checked:,} entries, {report.forms_checked:,} forms, "
            f"{report.signatures_checked:,} signatures, {report.totals_checked:,} totals, "
            f"{report.flags_checked:,} flag lists, {report.photos_checked:,} photos, "
            f"{report.recap_forms_checked:,} recap forms, {report.ladder_checked:,} ladder "
            f"files ({report.ladder_differences_checked:,} differences) "
            f"in {report.seconds:.1f} s"
        )


@click.command()
@click.argument("source")
@click.option("--vkey", default=None, help="The log's verifier key (as 'saksi log vkey' prints).")
@click.option(
    "--trust",
    "trust_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="A trust file with the log key, witness keys and quorum (docs/verify.md).",
)
@click.option("--witness", "witnesses", multiple=True, help="A trusted witness's key; repeat.")
@click.option(
    "--quorum",
    type=int,
    default=None,
    help="Cosignatures needed from trusted witnesses (default: all of them).",
)
@click.option(
    "--mirror",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Keep a local copy here (default for a URL: ./.saksi-mirror/HOST).",
)
@click.option(
    "--state",
    "state_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Where the last verified checkpoint is kept (monitor mode).",
)
@click.option("--no-state", is_flag=True, help="Do not compare with or keep a verified checkpoint.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option(
    "--watch",
    type=float,
    default=None,
    help="Verify again every this many seconds, until interrupted.",
)
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Processes that replay the log and check its signatures (default: one per core).",
)
def verify(
    source: str,
    vkey: str | None,
    trust_file: Path | None,
    witnesses: tuple[str, ...],
    quorum: int | None,
    mirror: Path | None,
    state_path: Path | None,
    no_state: bool,
    as_json: bool,
    watch: float | None,
    workers: int | None,
) -> None:
    """Verify a published election: its log, every signature, every published total."""
    try:
        trust = _trust(vkey, trust_file, witnesses, quorum)
    except SaksiError as exc:
        raise click.UsageError(str(exc)) from exc
    state = None if no_state else state_path or _default_state(trust)
    while True:
        code = _once(source, trust, mirror, state, as_json, workers)
        if watch is None:
            sys.exit(code)
        time.sleep(watch)


def _once(
    source: str,
    trust: Trust,
    mirror: Path | None,
    state: Path | None,
    as_json: bool,
    workers: int | None,
) -> int:
    with stage_bars(quiet=as_json) as progress:
        try:
            where = Source(source, mirror, progress=progress)
        except FetchError as exc:
            console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
            return EXIT_UNREACHABLE
        try:
            report = run_verification(where, trust, state_path=state, workers=workers)
        except FetchError as exc:
            console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
            return EXIT_UNREACHABLE
        finally:
            where.close()
    _print(report, as_json, trust)
    return EXIT_OK if report.ok else EXIT_FAILED
