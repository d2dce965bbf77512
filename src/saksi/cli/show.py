"""Human-readable tables of totals for the terminal."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from saksi.ingest.rules import RULES

__all__ = ["print_tally", "tally_table"]


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f}%" if whole else "–"


def tally_table(report: dict[str, Any]) -> Table:
    region = report["region"]
    title = (
        f"{region['name']} ({region['level']} {region['id']}) · {report['contest']} · "
        f"source {report['source']} · record size {report['log_size']}"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("choice")
    table.add_column("votes", justify="right")
    table.add_column("share", justify="right")
    total = sum(report["choices"].values())
    for choice, votes in report["choices"].items():
        table.add_row(choice, f"{votes:,}", _pct(votes, total))
    table.add_section()
    for label in ("valid", "invalid", "voters", "dpt"):
        value = report.get(label)
        table.add_row(label, "–" if value is None else f"{value:,}", "")
    table.add_row(
        "turnout", "", "–" if report["turnout"] is None else f"{100 * report['turnout']:.2f}%"
    )
    table.add_row(
        "TPS reporting",
        f"{report['tps_reported']:,} / {report['tps_total']:,}",
        _pct(report["tps_reported"], report["tps_total"]),
    )
    for rule, count in sorted(report["flagged_tps"].items()):
        table.add_row(f"flag: {RULES.get(rule, rule)}", f"{count:,}", "")
    for field, count in sorted(report["missing"].items()):
        table.add_row(f"TPS lacking {field}", f"{count:,}", "")
    return table


def print_tally(report: dict[str, Any]) -> None:
    Console().print(tally_table(report))
