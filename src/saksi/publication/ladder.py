"""ladder/CONTEST/REGION.json: a region's current recap form with its total and
certification, and every difference of its rows against the figures below them."""

from __future__ import annotations

import json
from typing import Any

from saksi.ladder.compare import recap_total
from saksi.ladder.report import all_differences, current_recaps
from saksi.publication.files import PublicFiles
from saksi.publication.totals import document_bytes, safe_name
from saksi.store.base import Store

__all__ = ["ladder_documents", "write_ladder"]


def write_ladder(store: Store, files: PublicFiles, log_size: int) -> int:
    """One file per current recap form, rewritten only when its content changed."""
    if not store.query("SELECT 1 FROM ladder_entries WHERE type = 'recap_form' LIMIT 1"):
        return 0  # no recap form yet: the common case while TPS forms stream in
    written = 0
    contests = [str(r[0]) for r in store.query("SELECT id FROM contests ORDER BY position")]
    certified = _certifications(store)
    for contest in contests:
        for region, doc in ladder_documents(store, contest, certified.get(contest, {})).items():

            def make(size: int, body: dict[str, Any] = doc) -> bytes:
                return document_bytes({**body, "log_size": size})

            path = f"ladder/{safe_name(contest)}/{safe_name(region)}.json"
            written += files.put_unless_same(path, make, log_size)
    return written


def ladder_documents(
    store: Store, contest: str, certified: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Region -> its ladder file's content without the log_size, for each region with a
    recap form of the contest."""
    recaps = current_recaps(store, contest)
    found: dict[str, list[dict[str, Any]]] = {region: [] for region in recaps}
    for difference in all_differences(store, contest):  # largest first: kept in that order
        found[difference.recap_region].append(difference.to_json())
    return {
        region: {
            "contest": contest,
            "region": region,
            "recap": {
                "leaf_index": recorded.seq,
                "payload_hash": recorded.payload_hash,
                "plenary_date": recorded.recap.plenary_date,
                "versions": recorded.versions,
                "certified": certified.get(region),
                "figures": recap_total(recorded.recap),
            },
            "differences": found[region],
        }
        for region, recorded in sorted(recaps.items())
    }


def _certifications(store: Store) -> dict[str, dict[str, dict[str, Any]]]:
    """Contest -> region -> its latest certification: the decision's leaf and the recap
    version it certified (a later certification of a new version replaces it)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for seq, payload in store.query(
        "SELECT seq, payload FROM decisions WHERE kind = 'certify' ORDER BY seq"
    ):
        body = json.loads(payload)
        if "contest" not in body and "region" not in body:
            continue  # a certification as recorded before the ladder freezes nothing
        out.setdefault(str(body["contest"]), {})[str(body["region"])] = {
            "leaf_index": int(seq),
            "version": body["acts_on"][0],
        }
    return out
