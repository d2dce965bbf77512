"""`saksi ladder`: the recapitulation ladder read from an election folder: one region's
recap rows beside the sums from below, every difference ranked by size, and the trail of
one choice's votes from a TPS up to the national figure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

__all__ = ["ladder"]

ELECTION_DIR = click.Path(path_type=Path, file_okay=False)


def _echo_json(document: Any) -> None:
    click.echo(json.dumps(document, ensure_ascii=False, sort_keys=True))


def _figures(figures: dict[str, int] | None) -> str:
    if figures is None:
        return "-"
    return "  ".join(f"{name} {value:,}" for name, value in figures.items())


@click.group()
def ladder() -> None:
    """The recapitulation ladder: recap forms checked against the forms below them."""


@ladder.command()
@click.argument("election_dir", type=ELECTION_DIR)
@click.option("--region", default="ID", show_default=True, help="Region id.")
@click.option("--contest", default=None, help="Contest id (default: the first).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def show(election_dir: Path, region: str, contest: str | None, as_json: bool) -> None:
    """One region: its recap figure, the sums of the forms below it, its recap rows and
    their differences, objections and decisions."""
    from saksi.cli.readonly import open_store_readonly
    from saksi.ladder.report import region_ladder

    with open_store_readonly(election_dir) as store:
        document = region_ladder(store, region, contest)
    if as_json:
        _echo_json(document)
        return
    place = document["region"]
    figures = document["figures"]
    click.echo(f"{place['level']} {place['id']} {place['name']} ({document['contest']})")
    holder = figures["recap_region"]
    click.echo(f"  recap row in {holder or '-'}:  {_figures(figures['recap'])}")
    click.echo(f"  its own recap form total:  {_figures(figures['own_recap'])}")
    for source, sums in sorted(figures["tps"].items()):
        click.echo(f"  TPS forms of {source}:  {_figures(sums)}")
    form = document["recap_form"]
    if form is None:
        click.echo("  no recap form recorded for this region")
        return
    certified = "certified" if form["certified"] else "not certified"
    click.echo(
        f"  recap form of {form['plenary_date']}, version {form['versions']}, {certified}; "
        f"{len(document['differences'])} differences, {len(document['objections'])} objections"
    )
    for difference in document["differences"]:
        click.echo("    " + describe(difference))


def describe(difference: dict[str, Any]) -> str:
    """One difference in words: where, which figure, by how much and against what."""
    against = (
        "the recap form below it"
        if difference["against"] == "recap"
        else f"the TPS forms of {difference['against']}"
    )
    word = "more" if difference["amount"] > 0 else "fewer"
    return (
        f"recap {difference['recap_region']}, row {difference['row']}: {difference['figure']} "
        f"{difference['recap']:,} is {abs(difference['amount']):,} {word} than {against} "
        f"({difference['below']:,})"
    )


@ladder.command()
@click.argument("election_dir", type=ELECTION_DIR)
@click.option("--contest", default=None, help="Contest id (default: the first).")
@click.option(
    "--source",
    "sources",
    multiple=True,
    help="Compare with these sources' TPS sums (default: the official source); "
    "differences with the recap below are always listed.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def differences(
    election_dir: Path, contest: str | None, sources: tuple[str, ...], as_json: bool
) -> None:
    """Every difference between a recap row and what was signed below it, largest first."""
    from saksi.cli.readonly import open_store_readonly
    from saksi.ladder.report import all_differences, official_source

    with open_store_readonly(election_dir) as store:
        wanted = set(sources) or {official_source(store) or ""}
        found = [
            d.to_json()
            for d in all_differences(store, contest)
            if d.against == "recap" or d.against in wanted
        ]
        log_size = store.log_size()
    if as_json:
        _echo_json({"log_size": log_size, "differences": found})
        return
    for difference in found:
        click.echo(describe(difference))
    click.echo(f"{len(found)} differences")


@ladder.command()
@click.argument("election_dir", type=ELECTION_DIR)
@click.argument("tps_id")
@click.option("--choice", required=True, help="Choice id, e.g. 01.")
@click.option("--contest", default=None, help="Contest id (default: the first).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def trail(election_dir: Path, tps_id: str, choice: str, contest: str | None, as_json: bool) -> None:
    """One choice's votes from a TPS up to the national figure, step by step."""
    from saksi.cli.readonly import open_store_readonly
    from saksi.ladder.report import trail as ladder_trail

    with open_store_readonly(election_dir) as store:
        document = ladder_trail(store, tps_id, choice, contest)
    if as_json:
        _echo_json(document)
        return
    for step in document["steps"]:
        value = "-" if step["value"] is None else f"{step['value']:,}"
        change = step["change"]
        marked = f"  CHANGED by {change:+,}" if change else ""
        row = f" row {step['row']}" if "row" in step else ""
        click.echo(f"{step['step']:<12} {step['where']}{row}: {value}{marked}")
