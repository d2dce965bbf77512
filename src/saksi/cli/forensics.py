"""`saksi forensics`: the flags a human must check, with likely corrections, and the region
statistics, as a summary, as JSON, or as a self-contained HTML report."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

__all__ = ["forensics"]


@click.command()
@click.argument("election_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option("--contest", default=None, help="Contest id (default: the first).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as one JSON object.")
@click.option(
    "--html",
    "html_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write a self-contained HTML report with its plots to this file.",
)
@click.option("--seed", default=2024, show_default=True, help="Seed of the bootstrap intervals.")
def forensics(
    election_dir: Path, contest: str | None, as_json: bool, html_file: Path | None, seed: int
) -> None:
    """Flag what a human must check: broken arithmetic (with its likely correction),
    sources that disagree, impossible turnout, outliers, and regions whose statistics
    stand out."""
    from collections import Counter

    from saksi.cli.progress import stage_bars
    from saksi.cli.readonly import open_store_readonly
    from saksi.forensics.report import forensics_report

    if html_file is not None:
        _check_writable(html_file)  # before the work: a national report takes half a minute
    with open_store_readonly(election_dir) as store, stage_bars() as progress:
        report = forensics_report(store, contest, seed=seed, parallel=True, progress=progress)
    if html_file is not None:
        from saksi.forensics.html import html_report

        try:
            html_file.write_text(html_report(report), encoding="utf-8")
        except OSError as error:
            raise click.ClickException(
                f"cannot write the HTML report to {html_file}: {error.strerror or error}"
            ) from None
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, sort_keys=True))
        return
    rules = Counter(flag["rule"] for flag in report["flags"])
    corrected = sum(1 for flag in report["flags"] if "correction" in flag)
    click.echo(f"contest {report['contest']}: {len(report['flags'])} flags")
    for rule, count in rules.most_common():
        click.echo(f"  {rule}: {count} ({report['rules'].get(rule, '')})")
    click.echo(f"  likely corrections proposed: {corrected}")
    regions = report["region_statistics"]
    click.echo(
        f"regions ({regions['level']}) whose tests stand out at {regions['alpha']:g} "
        f"({regions['method']}): {len(regions['flags'])}"
    )
    for flag in regions["flags"]:
        click.echo(f"  {flag['region']} {flag['test']}: adjusted p {flag['adjusted_p_value']:.3g}")
    if html_file is not None:
        click.echo(f"HTML report: {html_file}")


def _check_writable(path: Path) -> None:
    folder = path.parent
    if not folder.is_dir():
        raise click.ClickException(f"cannot write the HTML report to {path}: no folder {folder}")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise click.ClickException(f"cannot write the HTML report to {path}: not writable")
