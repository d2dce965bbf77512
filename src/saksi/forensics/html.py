"""The forensics report as one self-contained HTML page: no script, no other file; plots
are inline SVG drawn here from the report's numbers."""

from __future__ import annotations

from html import escape
from typing import Any

from saksi.forensics.report import MAX_PLOTTED_CHOICES

__all__ = ["html_report", "region_plots"]

MAX_FLAGS = 1000  # rows of the flags table; the JSON report carries them all


def _heatmap(counts: list[list[int]], title: str, x_label: str, y_label: str) -> str:
    """A 2-D histogram, ``counts[x bin][y bin]``, as SVG squares (y upwards)."""
    columns, rows = len(counts), len(counts[0]) if counts else 0
    if not rows or not columns:
        return ""
    top = max(max(c) for c in counts) or 1
    size = 240 / max(rows, columns)
    cells = []
    for i, column in enumerate(counts):
        for j, value in enumerate(column):
            if value:
                shade = 95 - int(80 * (value / top) ** 0.5)
                y = 240 - (j + 1) * size
                cells.append(
                    f'<rect x="{i * size + 30:.1f}" y="{y:.1f}" width="{size:.1f}" '
                    f'height="{size:.1f}" fill="hsl(215 60% {shade}%)"/>'
                )
    return (
        f'<figure><svg viewBox="0 0 280 270" width="280" height="270" role="img" '
        f'aria-label="{escape(title)}"><rect x="30" y="0" width="240" height="240" '
        f'fill="#fafafa" stroke="#999"/>{"".join(cells)}'
        f'<text x="150" y="262" text-anchor="middle" font-size="11">{escape(x_label)}</text>'
        f'<text x="12" y="120" font-size="11" transform="rotate(-90 12 120)" '
        f'text-anchor="middle">{escape(y_label)}</text></svg>'
        f"<figcaption>{escape(title)}</figcaption></figure>"
    )


def _bars(values: list[float], labels: list[str], title: str, expected: float | None) -> str:
    if not values:
        return ""
    top = max(max(values), expected or 0) or 1
    width = 240 / len(values)
    bars = [
        f'<rect x="{30 + i * width + 1:.1f}" y="{200 - 190 * v / top:.1f}" '
        f'width="{width - 2:.1f}" height="{190 * v / top:.1f}" fill="#3a6ea5"/>'
        f'<text x="{30 + (i + 0.5) * width:.1f}" y="215" font-size="10" '
        f'text-anchor="middle">{escape(label)}</text>'
        for i, (v, label) in enumerate(zip(values, labels, strict=True))
    ]
    line = ""
    if expected is not None:
        y = 200 - 190 * expected / top
        line = (
            f'<line x1="30" x2="270" y1="{y:.1f}" y2="{y:.1f}" stroke="#b00" '
            'stroke-dasharray="4 3"/>'
        )
    return (
        f'<figure><svg viewBox="0 0 280 225" width="280" height="225" role="img" '
        f'aria-label="{escape(title)}">{"".join(bars)}{line}</svg>'
        f"<figcaption>{escape(title)}</figcaption></figure>"
    )


def _digits(test: dict[str, Any], title: str) -> str:
    counts = test.get("digit_counts") or []
    expected = test.get("expected_shares") or []
    total = sum(counts)
    if not total or len(expected) != len(counts):
        return ""
    shares = [c / total for c in counts]
    # The expectation differs little between digits: its mean is the dashed line.
    return _bars(shares, [str(d) for d in range(len(counts))], title, sum(expected) / len(expected))


def region_plots(region: dict[str, Any]) -> str:
    """The plots of one region of the report: per choice the turnout × share fingerprint
    and the histogram of the share across TPS; the last and second digits of the votes."""
    parts = []
    name = region["name"]
    for choice, fingerprint in sorted(region.get("fingerprints", {}).items()):
        counts = fingerprint.get("counts")
        if not counts:
            continue
        parts.append(_heatmap(counts, f"{name}: turnout × share of {choice}", "turnout", "share"))
        shares = [sum(column[j] for column in counts) for j in range(len(counts[0]))]
        total = sum(shares) or 1
        edges = fingerprint["share_edges"]
        labels = [f"{round(edges[j] * 100)}" if j % 10 == 0 else "" for j in range(len(shares))]
        parts.append(
            _bars([v / total for v in shares], labels, f"{name}: share of {choice} (%)", None)
        )
    tests = region.get("tests", {})
    if "last_digit" in tests:
        parts.append(_digits(tests["last_digit"], f"{name}: last digits (dashed: expected)"))
    if "second_digit_benford" in tests:
        benford = tests["second_digit_benford"]
        note = f"; {benford['note']}" if benford.get("note") else ""
        parts.append(_digits(benford, f"{name}: second digits (dashed: Benford mean{note})"))
    return "".join(p for p in parts if p)


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:70rem;margin:auto;padding:1rem;"
    "color:#1a1a1a}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid"
    " #ccc;padding:.25rem;text-align:left;vertical-align:top}figure{display:inline-block;"
    "margin:.5rem}figcaption{font-size:.85rem}.wide{overflow-x:auto}"
)


def _cells(*values: str) -> str:
    return "<tr>" + "".join(f"<td>{v}</td>" for v in values) + "</tr>"


def _flag_row(flag: dict[str, Any]) -> str:
    correction = ", ".join(f"{k} = {v}" for k, v in flag.get("correction", {}).items())
    if flag.get("confidence") is not None:
        correction += f" ({flag['confidence']:.0%})"
    if flag.get("tps_id") is None:  # a ladder flag is about a recap row, not a TPS
        place = f"{flag['recap_region']} / {flag['row']}"
        link = f'<a href="{escape(flag["region_url"])}">{escape(place)}</a>'
    else:
        link = f'<a href="{escape(flag["tps_url"])}">{escape(flag["tps_id"])}</a>'
        link += "".join(
            f' <a href="{escape(url)}">photo{f" {i}" if len(flag["photos"]) > 1 else ""}</a>'
            for i, url in enumerate(flag.get("photos", []), start=1)
        )
    return _cells(
        link,
        escape(flag["source"]),
        escape(flag["rule"]),
        escape(flag["message"]),
        escape(correction),
    )


def _figure(result: dict[str, Any]) -> str:
    """One test's estimate with its interval and p-value, or why it was skipped."""
    if result.get("skipped_reason"):
        return f"skipped: {escape(result['skipped_reason'])}"
    statistic, interval, p = result.get("statistic"), result.get("interval"), result["p_value"]
    text = "–" if statistic is None else f"{statistic:.3g}"
    if interval:
        text += f" [{interval[0]:.3g}, {interval[1]:.3g}]"
    if p is not None:
        text += f", p {p:.2g}"
    return text


def _statistics_table(regions: list[dict[str, Any]]) -> str:
    """Every region's tests: estimate [95% interval], p-value."""
    keys = sorted({key for r in regions for key in r["tests"]})
    choices = {key.split(":", 1)[1] for key in keys if ":" in key}
    if len(choices) > MAX_PLOTTED_CHOICES:  # a DPR or DPD contest: those stay in the JSON
        keys = [key for key in keys if ":" not in key]
    rows = "".join(
        _cells(
            f"{escape(r['name'])} ({escape(r['region'])})",
            str(r["tps"]),
            *(_figure(r["tests"][k]) if k in r["tests"] else "" for k in keys),
        )
        for r in regions
    )
    table = _table(("region", "TPS", *map(escape, keys)), rows)
    return f'<div class="wide">{table}</div>'


def _table(headers: tuple[str, ...], rows: str) -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _overall(overall: dict[str, Any] | None) -> str:
    if not overall:
        return ""
    return (
        f"<section><h2>All {overall['tps']} TPS checked</h2>"
        "<p>The forms of every region together: how turnout and each choice's share "
        "fall across TPS (a share set by hand shows as a tight band or a spot), and the "
        f"digits of the votes.</p>{region_plots(overall)}</section>"
    )


def html_report(report: dict[str, Any]) -> str:
    regions = report["region_statistics"]
    flagged = {f["region"] for f in regions["flags"]}
    region_rows = "".join(
        _cells(
            escape(f["region"]),
            escape(f["test"]),
            f"{f['p_value']:.3g}",
            f"{f['adjusted_p_value']:.3g}",
        )
        for f in regions["flags"]
    )
    plots = "".join(
        f"<section><h3>{escape(r['name'])} ({escape(r['region'])}, {r['tps']} TPS)</h3>"
        f"{region_plots(r)}</section>"
        for r in regions["regions"]
        if r["region"] in flagged
    )
    flags = report["flags"]
    contest = escape(report["contest"])
    return "\n".join(
        [
            '<!doctype html><html lang="en"><head><meta charset="utf-8">',
            f"<title>Saksi forensics: {contest}</title><style>{_STYLE}</style></head><body>",
            f"<h1>Forensics: contest {contest}</h1>",
            "<p>A flag asks a human to look at the form and its photo; it is never a verdict."
            f" Record size {report.get('log_size', '')}.</p>",
            f"<h2>Regions that stand out ({escape(regions['level'])}, "
            f"{escape(regions['method'])}, alpha {regions['alpha']})</h2>",
            _table(("region", "test", "p", "adjusted p"), region_rows)
            if region_rows
            else "<p>None stands out.</p>",
            plots,
            _overall(regions.get("overall")),
            f"<h2>Statistics of every region ({escape(regions['level'])})</h2>",
            "<p>Each test's estimate with its 95% bootstrap interval and p-value (before the "
            "multiple-testing control above). dispersion: 1 under binomial variation, far "
            "below 1 for a fixed share; last_digit and second_digit_benford: the mean digit; "
            "round_percent: TPS at round percentages over those expected; share_turnout: "
            "Spearman correlation (never an alarm).</p>",
            _statistics_table(regions["regions"]),
            f"<h2>Flags ({len(flags)}; first {min(len(flags), MAX_FLAGS)} shown)</h2>",
            _table(
                ("TPS or recap row", "source", "rule", "what", "likely correction"),
                "".join(_flag_row(f) for f in flags[:MAX_FLAGS]),
            ),
            "</body></html>",
            "",
        ]
    )
