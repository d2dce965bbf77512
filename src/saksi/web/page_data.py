"""The data of each website page, read from the projection store: what a page shows is
exactly what its `.json` serves, and its `.csv` is the same rows flattened."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from saksi.api.documents import children_document, region_path
from saksi.errors import SaksiError
from saksi.forensics.checks import FORENSIC_RULES
from saksi.ingest.rules import RULES
from saksi.store.base import Store
from saksi.tally.query import default_contest, default_source, tally_report

__all__ = [
    "election_choices",
    "flags_page",
    "last_minute",
    "region_page",
    "rows_csv",
    "tally_pair",
]

MAX_FLAGS_SHOWN = 500  # rows on the HTML flags page; the .json and .csv carry them all


def election_choices(store: Store) -> dict[str, Any]:
    """Contests, sources (with their kind) and the tallies kept for each pair."""
    contests = [
        {"id": c, "name": n}
        for c, n in store.query("SELECT id, name FROM contests ORDER BY position, id")
    ]
    sources = [
        {"id": s, "name": n, "kind": k}
        for s, n, k in store.query("SELECT id, name, kind FROM sources ORDER BY id")
    ]
    kept = store.query("SELECT contest, source FROM tally_layouts ORDER BY contest, source")
    return {"contests": contests, "sources": sources, "tallies": [[c, s] for c, s in kept]}


def _choice_names(store: Store, contest: str) -> list[dict[str, str]]:
    rows = store.query(
        "SELECT id, MIN(name), MIN(position) FROM choices WHERE contest = ? "
        "GROUP BY id ORDER BY MIN(position), id",
        (contest,),
    )
    return [{"id": i, "name": n} for i, n, _ in rows]


def _default_source(store: Store, contest: str) -> str:
    """The official source; while it has no result yet (as in the 2019 example, which has
    only KawalPemilu's and Situng's copies), the source with the most TPS reported."""
    official = default_source(store)
    kept: list[str] = [str(s) for (s,) in store.query(
        "SELECT source FROM tally_layouts WHERE contest = ? ORDER BY source", (contest,)
    )]  # fmt: skip
    if official not in kept:
        return official
    reported: dict[str, int] = {
        s: int(tally_report(store, region="ID", contest=contest, source=s)["tps_reported"])
        for s in kept
    }
    if reported[official] > 0 or max(reported.values()) == 0:
        return official
    return max(kept, key=lambda s: reported[s])


def tally_pair(store: Store, contest: str | None, source: str | None) -> tuple[str, str]:
    """The contest and source a page shows (the defaults when not given), if kept."""
    c = contest or default_contest(store)
    s = source or _default_source(store, c)
    if not store.query("SELECT 1 FROM tally_layouts WHERE contest = ? AND source = ?", (c, s)):
        raise SaksiError(f"no tally is kept for contest {c} and source {s}")
    return c, s


def region_page(
    store: Store, region: str, contest: str | None, source: str | None
) -> dict[str, Any]:
    """A region's figures, its children's (TPS below a desa) and where it sits."""
    c, s = tally_pair(store, contest, source)
    document = children_document(store, region, c, s)
    children = document.pop("children")
    return {
        "page": "region",
        "region": document["region"],
        "path": region_path(store, region),
        "contest": c,
        "source": s,
        "log_size": document["log_size"],
        "choice_names": _choice_names(store, c),
        "totals": document,
        "children": children,
        **election_choices(store),
    }


def _descendant_desa(store: Store, region: str) -> set[str]:
    level = [region]
    found: set[str] = set()
    while level:
        marks = ", ".join("?" for _ in level)
        rows = store.query(
            f"SELECT id, level FROM regions WHERE parent IN ({marks})",
            tuple(level),
        )
        level = []
        for rid, kind in rows:
            if kind == "desa_kelurahan":
                found.add(rid)
            else:
                level.append(rid)
    return found


def flags_page(
    store: Store,
    contest: str | None,
    source: str | None,
    rule: str | None,
    region: str | None,
    forensics: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Current forms that break a consistency rule, filtered by rule and region; with the
    forensics report of the contest, also its other flags, likely corrections and the
    regions that stand out (saksi.forensics.report)."""
    c, s = tally_pair(store, contest, source)
    if forensics is not None and forensics.get("contest") != c:
        forensics = None
    known = {**RULES, **FORENSIC_RULES}
    if rule and rule not in known:
        raise SaksiError(f"{rule} is not one of the consistency rules (docs/rules.md)")
    desa: set[str] | None = None
    if region and region != "ID":
        found = store.query("SELECT level FROM regions WHERE id = ?", (region,))
        if not found:
            raise SaksiError(f"region {region} is not registered in this election")
        desa = {region} if found[0][0] == "desa_kelurahan" else _descendant_desa(store, region)
    rows = store.query(
        "SELECT f.tps, f.seq, f.flags, t.desa FROM forms f JOIN tps t ON t.id = f.tps "
        "WHERE f.contest = ? AND f.source = ? AND f.is_current = 1 AND f.flags <> '' "
        "ORDER BY f.tps",
        (c, s),
    )
    by_tps: dict[str, dict[str, Any]] = {}
    for tps, seq, flags, tps_desa in rows:
        by_tps[tps] = {
            "tps_id": tps,
            "leaf_index": seq,
            "rules": flags.split(","),
            "desa": tps_desa,
        }
    per_rule: dict[str, int] = {}
    for item in by_tps.values():
        for name in item["rules"]:
            per_rule[name] = per_rule.get(name, 0) + 1
    if forensics is not None:
        _merge_forensics(store, by_tps, per_rule, forensics, c, s)
    items = [
        item
        for _, item in sorted(by_tps.items())
        if not (rule and rule not in item["rules"])
        and not (desa is not None and item["desa"] not in desa)
    ]
    return {
        "page": "flags",
        "contest": c,
        "source": s,
        "rule": rule,
        "region": region or "ID",
        "log_size": store.log_size(),
        "rules": dict(sorted(per_rule.items())),
        "flags": items,
        "forensics": _forensics_summary(forensics),
        **election_choices(store),
    }


def _merge_forensics(
    store: Store,
    by_tps: dict[str, dict[str, Any]],
    per_rule: dict[str, int],
    report: dict[str, Any],
    contest: str,
    source: str,
) -> None:
    """Add the report's other flags and its likely corrections to the source's items."""
    extra: dict[str, list[str]] = {}
    for flag in report["flags"]:
        if flag["source"] != source or flag["contest"] != contest:
            continue
        tps = flag["tps_id"]
        if "correction" in flag and tps in by_tps:
            by_tps[tps]["correction"] = flag["correction"]
            by_tps[tps]["confidence"] = flag["confidence"]
        if flag["rule"] in FORENSIC_RULES:
            extra.setdefault(tps, [])
            if flag["rule"] not in extra[tps]:
                extra[tps].append(flag["rule"])
    missing = sorted(t for t in extra if t not in by_tps)
    for start in range(0, len(missing), 500):
        chunk = missing[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for tps, seq, tps_desa in store.query(
            f"SELECT f.tps, f.seq, t.desa FROM forms f JOIN tps t ON t.id = f.tps "
            f"WHERE f.contest = ? AND f.source = ? AND f.is_current = 1 AND f.tps IN ({marks})",
            (contest, source, *chunk),
        ):
            by_tps[tps] = {"tps_id": tps, "leaf_index": seq, "rules": [], "desa": tps_desa}
    for tps, rules in extra.items():
        if tps in by_tps:
            by_tps[tps]["rules"] = [*by_tps[tps]["rules"], *rules]
            for name in rules:
                per_rule[name] = per_rule.get(name, 0) + 1


def _forensics_summary(report: dict[str, Any] | None) -> dict[str, Any]:
    if report is None:
        return {"ready": False}
    statistics = report["region_statistics"]
    names = {r["region"]: r["name"] for r in statistics["regions"]}
    standing_out = {f["region"] for f in statistics["flags"]}
    return {
        "ready": True,
        "log_size": report.get("log_size"),
        "method": statistics["method"],
        "alpha": statistics["alpha"],
        "regions": [
            {**f, "name": names.get(f["region"], f["region"])} for f in statistics["flags"]
        ],
        # What the page plots for each region that stands out, and for all TPS together.
        "details": [r for r in statistics["regions"] if r["region"] in standing_out],
        "overall": statistics.get("overall"),
    }


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def last_minute(
    totals: dict[str, Any], samples: list[dict[str, Any]], now: datetime
) -> dict[str, Any] | None:
    """What changed since the newest history sample at least a minute old (or the oldest
    sample, while the history is younger than a minute)."""
    if not samples:
        return None
    # The newest sample a minute old: scanned from the end, so a long history costs
    # only its last minute.
    base = next(
        (s for s in reversed(samples) if (now - _parse_time(s["time"])).total_seconds() >= 60),
        samples[0],
    )
    choices = {c: int(v) - int(base["choices"].get(c, 0)) for c, v in totals["choices"].items()}
    return {
        "since": base["time"],
        "log_size": totals["log_size"] - int(base["log_size"]),
        "tps_reported": totals["tps_reported"] - int(base["tps_reported"]),
        "valid": (totals["valid"] or 0) - int(base["valid"] or 0),
        "choices": choices,
    }


_TPS_COLUMNS = ("tps_id", "number", "dpt", "leaf_index")  # a TPS row's own, from the registry


def _flat(prefix: str, values: dict[str, Any] | None, row: dict[str, Any]) -> None:
    for key, value in (values or {}).items():
        row[prefix + key] = value


def region_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """One CSV row per child region, or per TPS below a desa. Every TPS row has the same
    columns whether or not its form has arrived: choices in ballot order, then the form's
    fields by name (``form_dpt`` for the form's own DPT, beside the registry's ``dpt``)."""
    choices = [c["id"] for c in document["choice_names"]]
    fields = sorted({k for child in document["children"] for k in child.get("fields") or {}})
    rows = []
    for child in document["children"]:
        row: dict[str, Any] = {}
        if "tps_id" in child:
            row.update(tps_id=child["tps_id"], number=child["number"], dpt=child["dpt"])
            row["leaf_index"] = child["leaf_index"]
            votes, form = child["votes"] or {}, child["fields"] or {}
            row.update({"choice_" + c: votes.get(c) for c in choices})
            _flat("choice_", votes, row)
            row.update({("form_" if k in _TPS_COLUMNS else "") + k: form.get(k) for k in fields})
            row["flags"] = " ".join(child["flags"])
        else:
            region = child["region"]
            row.update(region_id=region["id"], region_name=region["name"], level=region["level"])
            _flat("choice_", child["choices"], row)
            for key in ("valid", "invalid", "voters", "dpt", "turnout", "tps_reported"):
                row[key] = child[key]
            row.update(tps_total=child["tps_total"], dpt_total=child["dpt_total"])
        rows.append(row)
    return rows


def tps_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """One CSV row per version of each source's form at the TPS; every row carries every
    field any version has, by name, so the columns do not depend on which sources sent."""
    versions = [(form, v) for form in document["forms"] for v in form["versions"]]
    fields = sorted({k for _, v in versions for k in v["fields"] or {}})
    rows = []
    for form, version in versions:
        row: dict[str, Any] = {
            "tps_id": document["tps_id"],
            "contest": form["contest"],
            "source": form["source"],
            "leaf_index": version["leaf_index"],
            "current": int(version["current"]),
            "payload_hash": version["payload_hash"],
            "replaces": version["replaces"],
        }
        _flat("choice_", version["votes"], row)
        row.update({k: (version["fields"] or {}).get(k) for k in fields})
        row["flags"] = " ".join(version["flags"])
        rows.append(row)
    return rows


def flag_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "tps_id": f["tps_id"],
            "desa": f["desa"],
            "contest": document["contest"],
            "source": document["source"],
            "leaf_index": f["leaf_index"],
            "rules": " ".join(f["rules"]),
            "correction": " ".join(f"{k}={v}" for k, v in f.get("correction", {}).items()),
            "confidence": f.get("confidence", ""),
        }
        for f in document["flags"]
    ]


def rows_csv(rows: list[dict[str, Any]], last: tuple[str, ...] = ("flags",)) -> bytes:
    """CSV with a header of every column any row has, in first-seen order, except that the
    ``last`` columns close it (a choice first seen on a later row must not follow them)."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    ending = [c for c in last if c in columns]
    header = [c for c in columns if c not in ending] + ending
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n", restval="")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue().encode()
