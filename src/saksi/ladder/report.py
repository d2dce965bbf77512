"""The ladder as read from the projection store: per region, the recap figure beside
the sums from below, each difference, the objections and decisions, and the trail of
one choice's votes from a TPS up to the national figure.

The comparison itself is ``saksi.ladder.compare``; this module only gathers its inputs.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from saksi.errors import SaksiError
from saksi.ingest.fields import TALLY_FIELDS
from saksi.ladder.compare import Difference, differences, ranked, recap_total, tally_figures
from saksi.ladder.recap import Recap, recap_from_payload
from saksi.ladder.state import AUTHORISING_KINDS
from saksi.store.base import Store
from saksi.tally.query import default_contest, layout

__all__ = [
    "RecordedRecap",
    "TpsSums",
    "all_differences",
    "current_recaps",
    "objections",
    "official_source",
    "region_ladder",
    "tps_sums",
    "trail",
]


@dataclass(frozen=True, slots=True)
class RecordedRecap:
    seq: int
    payload_hash: str
    signer: str
    recap: Recap
    versions: int


def current_recaps(
    store: Store, contest: str, regions: Iterable[str] | None = None
) -> dict[str, RecordedRecap]:
    """The current recap form of each region (all, or those listed) for the contest."""
    wanted = None if regions is None else list(regions)
    sql = (
        "SELECT seq, payload_hash, region, signer, payload, is_current FROM ladder_entries "
        "WHERE type = 'recap_form' AND contest = ?"
    )
    params: tuple[Any, ...] = (contest,)
    if wanted is not None:
        if not wanted:
            return {}
        sql += f" AND region IN ({', '.join('?' for _ in wanted)})"
        params += tuple(wanted)
    versions: dict[str, int] = {}
    current: dict[str, tuple[int, str, str, str]] = {}
    for seq, digest, region, signer, payload, is_current in store.query(sql, params):
        versions[region] = versions.get(region, 0) + 1
        if is_current:
            current[region] = (int(seq), str(digest), str(signer), str(payload))
    return {
        region: RecordedRecap(
            seq, digest, signer, recap_from_payload(json.loads(payload)), versions[region]
        )
        for region, (seq, digest, signer, payload) in current.items()
    }


@dataclass(slots=True)
class TpsSums:
    """Each source's sum of current TPS forms per region, with how many TPS it covers."""

    figures: dict[str, dict[str, dict[str, int]]]  # region -> source -> figures
    reported: dict[tuple[str, str], int]  # (region, source) -> TPS with a form
    total: dict[str, int]  # region -> TPS the contest covers there

    def complete(self, region: str, source: str) -> bool:
        """A sum is compared with a recap row only when every TPS below has a form: a
        partial sum would always differ."""
        return self.reported.get((region, source), 0) >= self.total.get(region, 0)

    def coverage(self, region: str) -> dict[str, dict[str, int]]:
        total = self.total.get(region, 0)
        return {
            source: {"reported": self.reported[(region, source)], "total": total}
            for source in self.figures.get(region, {})
        }


def tps_sums(store: Store, contest: str, regions: list[str]) -> TpsSums:
    """Each source's sum of current TPS forms in each of ``regions``, with its coverage."""
    sums = TpsSums({r: {} for r in regions}, {}, {})
    for first in range(0, len(regions), 500):
        _add_tps_sums(store, contest, regions[first : first + 500], sums)
    return sums


def _add_tps_sums(store: Store, contest: str, regions: list[str], sums: TpsSums) -> None:
    if not regions:
        return
    marks = ", ".join("?" for _ in regions)
    for region, total in store.query(
        f"SELECT region, tps_total FROM region_totals WHERE contest = ? AND region IN ({marks})",
        (contest, *regions),
    ):
        sums.total[str(region)] = int(total)
    sources = [str(s) for (s,) in store.query("SELECT id FROM sources ORDER BY id")]
    for source in sources:
        try:
            shape = layout(store, contest, source)
        except SaksiError:
            continue
        for region, counts in store.query(
            f"SELECT region, counts FROM tally WHERE contest = ? AND source = ? "
            f"AND region IN ({marks})",
            (contest, source, *regions),
        ):
            row = json.loads(counts)
            figures = shape.to_json(row)
            if figures["tps_reported"]:
                sums.figures[str(region)][source] = tally_figures(figures)
                sums.reported[(str(region), source)] = int(figures["tps_reported"])


def _region(store: Store, region_id: str) -> tuple[str, str, str, str | None]:
    found = store.query("SELECT id, name, level, parent FROM regions WHERE id = ?", (region_id,))
    if not found:
        raise SaksiError(f"region {region_id} is not registered in this election")
    rid, name, level, parent = found[0]
    return str(rid), str(name), str(level), None if parent is None else str(parent)


def _contest(store: Store, contest: str | None) -> str:
    contest_id = contest or default_contest(store)
    if not store.query("SELECT 1 FROM contests WHERE id = ?", (contest_id,)):
        raise SaksiError(f"contest {contest_id} is not part of this election")
    return contest_id


def official_source(store: Store) -> str | None:
    rows = store.query("SELECT id FROM sources WHERE kind = 'official' ORDER BY id")
    return str(rows[0][0]) if rows else None


def recap_differences(
    recorded: RecordedRecap,
    tps_sums: TpsSums,
    recaps_below: dict[str, RecordedRecap],
) -> list[Difference]:
    """Every difference of one recap form's rows: against each source and the recap below."""
    found: list[Difference] = []
    recap = recorded.recap
    for row in recap.rows:
        for source, figures in sorted(tps_sums.figures.get(row.region, {}).items()):
            if tps_sums.complete(row.region, source):
                found.extend(differences(recap.region, row, figures, source))
        below = recaps_below.get(row.region)
        if below is not None:
            found.extend(differences(recap.region, row, recap_total(below.recap), "recap"))
    return found


def all_differences(store: Store, contest: str | None = None) -> list[Difference]:
    """Every ladder difference of the contest's current recap forms, largest first."""
    contest_id = _contest(store, contest)
    recaps = current_recaps(store, contest_id)
    rows = sorted({row.region for r in recaps.values() for row in r.recap.rows})
    sums = tps_sums(store, contest_id, rows)
    found: list[Difference] = []
    for recorded in recaps.values():
        found.extend(recap_differences(recorded, sums, recaps))
    return ranked(found)


def _decisions(store: Store, hashes: set[str]) -> list[dict[str, Any]]:
    out = []
    for seq, digest, kind, basis, payload in store.query(
        "SELECT seq, payload_hash, kind, legal_basis, payload FROM decisions ORDER BY seq"
    ):
        body = json.loads(payload)
        if hashes.intersection(body.get("acts_on", ())):
            out.append(
                {
                    "seq": int(seq),
                    "payload_hash": digest,
                    "kind": kind,
                    "legal_basis": basis,
                    "payload": body,
                }
            )
    return out


def _form_figures(payload: dict[str, Any]) -> dict[str, int]:
    """A form's figures under the recap row's names: votes by choice, valid, invalid,
    voters (those the form carries)."""
    fields = payload.get("fields", {})
    out = {str(c): int(v) for c, v in payload.get("votes", {}).items()}
    out.update({name: int(fields[f]) for name, f in TALLY_FIELDS.items() if f in fields})
    return out


def _under(store: Store, desa: str, region: str, parents: dict[str, str | None]) -> bool:
    """True when ``desa`` is ``region`` or lies under it."""
    at: str | None = desa
    while at is not None:
        if at == region:
            return True
        if at not in parents:
            parents[at] = _region(store, at)[3]
        at = parents[at]
    return False


def revotes(
    store: Store, contest: str, *, region: str | None = None, tps: str | None = None
) -> list[dict[str, Any]]:
    """The TPS (under ``region``, or the one ``tps``) whose official form was replaced
    under an authorising decision (6.7: a re-vote, recount, annulment or accepted
    correction): the decision, the old and the new figures, and the change per figure
    (new minus old), in record order."""
    official = official_source(store)
    acting: dict[str, tuple[int, str, str, str]] = {}  # form hash -> the decision acting on it
    for seq, digest, kind, basis, payload in store.query(
        "SELECT seq, payload_hash, kind, legal_basis, payload FROM decisions ORDER BY seq"
    ):
        if kind in AUTHORISING_KINDS:
            for acted in json.loads(payload).get("acts_on", ()):
                acting.setdefault(acted, (int(seq), str(digest), str(kind), str(basis)))
    if official is None or not acting:
        return []
    columns = "SELECT seq, payload_hash, tps, replaces, payload, is_current FROM forms "
    if tps is not None:
        found = store.query(
            columns + "WHERE contest = ? AND source = ? AND tps = ? AND replaces IS NOT NULL",
            (contest, official, tps),
        )
    else:
        hashes = sorted(acting)
        found = []
        for first in range(0, len(hashes), 500):
            chunk = hashes[first : first + 500]
            found += store.query(
                columns + f"WHERE contest = ? AND source = ? "
                f"AND replaces IN ({', '.join('?' for _ in chunk)})",
                (contest, official, *chunk),
            )
    parents: dict[str, str | None] = {}
    out = []
    for seq, digest, tps_id, replaces, payload, is_current in sorted(found):
        decision = acting.get(str(replaces))
        if decision is None or decision[0] > seq:  # no decision authorised this version
            continue
        desa = str(store.query("SELECT desa FROM tps WHERE id = ?", (tps_id,))[0][0])
        if region is not None and not _under(store, desa, region, parents):
            continue
        old = store.query(
            "SELECT seq, payload FROM forms WHERE contest = ? AND source = ? AND tps = ? "
            "AND payload_hash = ?",
            (contest, official, tps_id, replaces),
        )
        before = _form_figures(json.loads(old[0][1])) if old else {}
        after = _form_figures(json.loads(payload))
        out.append(
            {
                "tps": str(tps_id),
                "desa": desa,
                "decision": {
                    "seq": decision[0],
                    "payload_hash": decision[1],
                    "kind": decision[2],
                    "legal_basis": decision[3],
                },
                "old": {
                    "seq": int(old[0][0]) if old else None,
                    "payload_hash": str(replaces),
                    "figures": before,
                },
                "new": {
                    "seq": int(seq),
                    "payload_hash": str(digest),
                    "figures": after,
                    "current": bool(is_current),
                },
                "change": {
                    f: after[f] - before[f] for f in after if f in before and after[f] != before[f]
                },
            }
        )
    return out


def objections(store: Store, contest: str, region: str) -> list[dict[str, Any]]:
    """The objections to the region's recap forms, each with its answers, recommendations
    and status (open, accepted, rejected)."""
    rows = store.query(
        "SELECT seq, payload_hash, type, signer, payload FROM ladder_entries "
        "WHERE contest = ? AND region = ? AND type IN ('objection', 'recommendation') "
        "ORDER BY seq",
        (contest, region),
    )
    found: list[dict[str, Any]] = []
    recommendations: list[dict[str, Any]] = []
    for seq, digest, kind, signer, payload in rows:
        body = json.loads(payload)
        item = {"seq": int(seq), "payload_hash": digest, "signer": signer, **body}
        (found if kind == "objection" else recommendations).append(item)
    answers = _decisions(store, {o["payload_hash"] for o in found}) if found else []
    for objection in found:
        digest = objection["payload_hash"]
        mine = [a for a in answers if digest in a["payload"].get("acts_on", ())]
        objection["answers"] = [
            {
                "seq": a["seq"],
                "payload_hash": a["payload_hash"],
                "kind": a["kind"],
                "outcome": a["payload"].get("outcome"),
                "legal_basis": a["legal_basis"],
            }
            for a in mine
        ]
        objection["recommendations"] = [
            r for r in recommendations if digest in r.get("acts_on", ())
        ]
        outcomes = [a["payload"].get("outcome") for a in mine if a["kind"] == "answer_objection"]
        objection["status"] = outcomes[-1] if outcomes else "open"
    return found


def region_ladder(store: Store, region_id: str, contest: str | None = None) -> dict[str, Any]:
    """One region's ladder view: its three figures side by side, its recap form's rows
    against the sums from below, the differences, objections and decisions."""
    contest_id = _contest(store, contest)
    rid, name, level, parent = _region(store, region_id)
    children = [
        str(c)
        for (c,) in store.query("SELECT id FROM regions WHERE parent = ? ORDER BY id", (rid,))
    ]
    recaps = current_recaps(store, contest_id, [rid, *children, *([parent] if parent else [])])
    sums = tps_sums(store, contest_id, [rid, *children])
    own = recaps.get(rid)
    parent_recap = recaps.get(parent) if parent else None
    parent_row = parent_recap.recap.row(rid) if parent_recap else None
    official = official_source(store)
    document: dict[str, Any] = {
        "contest": contest_id,
        "log_size": store.log_size(),
        "region": {"id": rid, "name": name, "level": level},
        "official_source": official,
        "figures": {
            "recap": parent_row.figures() if parent_row else None,
            "recap_region": parent if parent_row else None,
            "own_recap": recap_total(own.recap) if own else None,
            "tps": sums.figures.get(rid, {}),
            "tps_coverage": sums.coverage(rid),
        },
        "recap_form": None,
        "rows": [],
        "differences": [],
        "objections": [],
        "decisions": [],
        # Re-votes and recounts below the region, shown with or without a recap form.
        "revotes": revotes(store, contest_id, region=rid),
    }
    if own is None:
        return document
    names = {
        str(i): str(n)
        for i, n in store.query("SELECT id, name FROM regions WHERE parent = ?", (rid,))
    }
    recap = own.recap
    document["recap_form"] = {
        "seq": own.seq,
        "payload_hash": own.payload_hash,
        "signer": own.signer,
        "plenary_date": recap.plenary_date,
        "photos": list(recap.photos),
        "replaces": recap.replaces,
        "versions": own.versions,
    }
    found = recap_differences(own, sums, recaps)
    for row in recap.rows:
        below = recaps.get(row.region)
        document["rows"].append(
            {
                "region": {"id": row.region, "name": names.get(row.region, row.region)},
                "recap": row.figures(),
                "tps": sums.figures.get(row.region, {}),
                "tps_coverage": sums.coverage(row.region),
                "recap_below": recap_total(below.recap) if below else None,
                "differences": [d.to_json() for d in ranked(found) if d.row == row.region],
            }
        )
    document["differences"] = [d.to_json() for d in ranked(found)]
    document["objections"] = objections(store, contest_id, rid)
    chain = {
        str(h)
        for (h,) in store.query(
            "SELECT payload_hash FROM ladder_entries WHERE type = 'recap_form' "
            "AND contest = ? AND region = ?",
            (contest_id, rid),
        )
    }
    document["decisions"] = _decisions(store, chain)
    certified = [
        d
        for d in document["decisions"]
        if d["kind"] == "certify" and d["payload"].get("region") == rid
    ]
    document["recap_form"]["certified"] = (
        {
            "seq": certified[-1]["seq"],
            "payload_hash": certified[-1]["payload_hash"],
            "version": certified[-1]["payload"]["acts_on"][0],
        }
        if certified
        else None
    )
    return document


def trail(store: Store, tps_id: str, choice: str, contest: str | None = None) -> dict[str, Any]:
    """One choice's votes from a TPS up to the national figure: each step of the ladder,
    and how much the figure changed from the step below."""
    contest_id = _contest(store, contest)
    found = store.query("SELECT desa FROM tps WHERE id = ?", (tps_id,))
    if not found:
        raise SaksiError(f"TPS {tps_id} is not registered in this election")
    official = official_source(store)
    path: list[str] = []
    region: str | None = str(found[0][0])
    while region is not None:
        path.append(region)
        region = _region(store, region)[3]
    steps: list[dict[str, Any]] = []
    form = store.query(
        "SELECT payload FROM forms WHERE tps = ? AND contest = ? AND source = ? AND is_current = 1",
        (tps_id, contest_id, official or ""),
    )
    votes = json.loads(form[0][0])["votes"].get(choice) if form else None
    steps.append({"step": "tps", "where": tps_id, "value": votes})
    sums = tps_sums(store, contest_id, path)

    def tps_sum(region: str) -> dict[str, Any]:
        value = sums.figures.get(region, {}).get(official or "", {}).get(choice)
        return {"step": "tps_sum", "where": region, "value": value}

    steps.append(tps_sum(path[0]))
    recaps = current_recaps(store, contest_id, path)
    # path runs desa, kecamatan, kabupaten/kota, provinsi, ID: the row for path[i] sits in
    # the recap form of path[i + 1]. Where a level has no recap form yet, the sum of its
    # TPS forms stands in for it, so the next row is still compared with something.
    for child, holder in itertools.pairwise(path):
        held = recaps.get(holder)
        row = held.recap.row(child) if held else None
        steps.append(
            {
                "step": "recap_row",
                "where": holder,
                "row": child,
                "value": row.figures().get(choice) if row else None,
            }
        )
        if held is not None:
            total = recap_total(held.recap).get(choice)
            steps.append({"step": "recap_total", "where": holder, "value": total})
        else:
            steps.append(tps_sum(holder))
    previous: int | None = None
    for step in steps:
        value = step["value"]
        step["change"] = (
            value - previous
            if step["step"] == "recap_row" and value is not None and previous is not None
            else None
        )
        if step["step"] in ("tps_sum", "recap_total"):
            previous = value
    return {
        "contest": contest_id,
        "tps": tps_id,
        "choice": choice,
        "source": official,
        "steps": steps,
        "log_size": store.log_size(),
        # Where the TPS voted again: its figures before and after, and the decision.
        "revotes": revotes(store, contest_id, tps=tps_id),
    }
