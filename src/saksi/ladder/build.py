"""Writing recap forms: what a recap body signs, built from the record's own figures.

Used by the synthetic election, the examples and the tests. A kecamatan's rows are the
sums of its desa's official TPS forms; a higher level's rows are the totals of its
children's current recap forms (falling back to the TPS sums where a child has none),
as the real ladder carries each plenary's result one level up.
"""

from __future__ import annotations

import hashlib
from typing import Any

from saksi.election.state import ElectionState
from saksi.keys.ed25519 import SigningKey
from saksi.ladder.compare import recap_total, tally_figures
from saksi.ladder.recap import FIGURES
from saksi.log.entry import Entry, EntryType
from saksi.registry.model import Level

__all__ = ["example_recap_key", "recap_entry", "recap_payload", "tps_sum_row"]


def example_recap_key(election_id: str, region: str, seed: int = 0) -> SigningKey:
    """A recap body's key derived from a public seed: for examples and tests only."""
    material = f"saksi-example-recap-body\n{election_id}\n{region}\n{seed}".encode()
    return SigningKey.from_seed(hashlib.sha256(material).digest())


def tps_sum_row(state: ElectionState, contest: str, region: str, source: str) -> dict[str, Any]:
    """A recap row for ``region`` holding the sum of ``source``'s current TPS forms there."""
    layout = state.tally.layout(contest, source)
    counts = state.tally.row(contest, source, region)
    figures = tally_figures(layout.to_json(counts)) if counts else {}
    return _row(region, figures, layout.choices)


def _row(region: str, figures: dict[str, int], choices: tuple[str, ...]) -> dict[str, Any]:
    return {
        "region": region,
        "votes": {c: figures.get(c, 0) for c in choices},
        **{name: figures.get(name, 0) for name in FIGURES},
    }


def recap_payload(
    state: ElectionState,
    contest: str,
    region: str,
    *,
    source: str,
    plenary_date: str,
    photos: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The recap form a faithful recap body of ``region`` would sign now."""
    assert state.manifest is not None
    choices = state.tally.layout(contest, source).choices
    level = state.registry.regions[region].level
    rows = []
    for child in state.ladder.children(state.manifest, contest, region):
        below = state.ladder.current_recap(contest, child) if level is not Level.KECAMATAN else None
        if below is not None:
            rows.append(_row(child, recap_total(below), choices))
        else:
            rows.append(tps_sum_row(state, contest, child, source))
    payload: dict[str, Any] = {
        "contest": contest,
        "region": region,
        "plenary_date": plenary_date,
        "rows": rows,
    }
    if photos:
        payload["photos"] = list(photos)
    chain = state.ladder.chains.get((contest, region))
    if chain:
        payload["replaces"] = chain[-1]
    return payload


def recap_entry(election_id: str, payload: dict[str, Any], key: SigningKey) -> Entry:
    return key.entry(EntryType.RECAP_FORM, election_id, payload)
