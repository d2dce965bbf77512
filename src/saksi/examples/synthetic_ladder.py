"""The synthetic election's recapitulation ladder: recap bodies' keys, recap forms signed
bottom-up from the official TPS forms, planted ladder errors and re-votes (PSU), with
their ground truth.

A faithful ladder (``saksi.ladder.build.recap_payload``) carries each plenary's totals
one level up, so an error planted in a kecamatan recap travels up with it: it differs
from the TPS forms at its own row and at every row above, but never from the recap one
level down. A kabupaten/kota row lowered at its plenary differs from both. Re-votes
happen before the kecamatan plenaries, so the ladder above agrees with the new forms.

Ground truth, one record per planted item, each with ``kind`` (``LADDER_KINDS``),
``recap_region`` (the region whose recap form holds the row), ``row`` (the child
region) and ``figures`` ({figure: recap minus true}, a figure being a choice id or
valid, invalid, voters):

- inflated_row: a kecamatan recap's desa row; ``choice`` and ``amount`` (> 0) were
  added to that choice's votes, the valid votes and the voters (suara menggelembung);
  the row is a desa whose official TPS forms have all arrived, where the ladder check can
  see it (a partial sum is never compared), unless no desa of the kecamatan has them all;
- deflated_row: a kabupaten/kota recap's kecamatan row, the same with ``amount`` < 0;
- copied_row: a kecamatan recap's desa row carrying the figures of desa ``copied_from``,
  chosen the same way;
- revote: ``tps`` voted again; ``decision`` (payload hash), ``decision_kind``,
  ``legal_basis``, ``replaced`` (the annulled form's payload hash) and ``form`` (the new
  one's); ``figures`` is new minus old, and ``recap_region``/``row`` its kecamatan and
  desa. A re-vote is no ladder difference: the recaps are signed from the new form.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from saksi.election.election import Election
from saksi.errors import SaksiError
from saksi.keys.ed25519 import SigningKey
from saksi.ladder.build import example_recap_key, recap_entry, recap_payload
from saksi.ladder.report import tps_sums
from saksi.log.entry import Entry, EntryType
from saksi.registry.model import Level

__all__ = [
    "DEMO_LADDER",
    "LADDER_KINDS",
    "PLENARY_DATES",
    "LadderPlan",
    "build_ladder",
    "write_ladder_truth",
]

LADDER_KINDS = ("inflated_row", "deflated_row", "copied_row", "revote")
RECAP_LEVELS = (Level.KECAMATAN, Level.KABUPATEN_KOTA, Level.PROVINSI, Level.NATIONAL)
# The 2024 timetable: kecamatan plenaries until 2 March, the national one on 20 March.
PLENARY_DATES: Mapping[Level, str] = {
    Level.KECAMATAN: "2024-02-28",
    Level.KABUPATEN_KOTA: "2024-03-05",
    Level.PROVINSI: "2024-03-10",
    Level.NATIONAL: "2024-03-20",
}
KEYS_PER_ENTRY = 400  # a keys_register entry stays far below the 65,535-byte limit
_OVERSEAS = "99"  # planted errors go to domestic regions, where the paper ladder is


@dataclass(frozen=True)
class LadderPlan:
    """How many of each ladder error to plant; all zero gives a clean ladder."""

    inflated_rows: int = 0
    deflated_rows: int = 0
    copied_rows: int = 0
    revotes: int = 0
    smallest: int = 20  # the planted amounts are drawn from smallest..largest
    largest: int = 400


DEMO_LADDER = LadderPlan(inflated_rows=1, deflated_rows=1, copied_rows=1, revotes=1)


def write_ladder_truth(truth: Iterable[Mapping[str, Any]], path: Path) -> None:
    """One JSON object a line, in the order planted."""
    lines = [json.dumps(t, sort_keys=True, ensure_ascii=False) for t in truth]
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def build_ladder(
    election: Election,
    *,
    seed: int,
    plan: LadderPlan = LadderPlan(),
    contest: str = "PPWP",
    plenary_dates: Mapping[Level, str] = PLENARY_DATES,
) -> list[dict[str, Any]]:
    """Record the re-votes, register a recap body for every kecamatan, kabupaten/kota,
    provinsi and the national level, and sign their recap forms bottom-up with ``plan``'s
    errors planted; returns the ground truth. The same seed plants the same errors."""
    if election.state.manifest is None or contest not in election.manifest.contest_by_id:
        raise SaksiError(f"contest {contest} is not part of election {election.election_id}")
    official = _official_source(election)
    rng = np.random.default_rng([seed, 8])  # 8: issue 8, apart from the forms' own draws
    truth = [
        _revote(election, rng, contest, official, tps)
        for tps in _revote_tps(election, rng, contest, official, plan.revotes)
    ]
    regions = _recap_regions(election)
    _register_recap_bodies(election, [r for level in RECAP_LEVELS for r in regions[level]])
    plants = _Plants.choose(election, rng, contest, official, plan)
    for level in RECAP_LEVELS:
        entries: list[Entry] = []
        for region in regions[level]:
            payload = recap_payload(
                election.state, contest, region, source=official, plenary_date=plenary_dates[level]
            )
            truth.extend(plants.apply(rng, payload, plan))
            entries.append(recap_entry(election.election_id, payload, _key(election, region)))
        election.append(entries)
    return truth


# -- re-votes -----------------------------------------------------------------------------


def _official_source(election: Election) -> str:
    found = [s.id for s in election.manifest.sources if s.kind.value == "official"]
    if not found:
        raise SaksiError(f"election {election.election_id} has no official source")
    return found[0]


def _current_form(
    election: Election, contest: str, source: str, tps: str
) -> tuple[str, dict[str, Any], str] | None:
    """The TPS's current form of the source: payload hash, payload, broken rules."""
    election.flush()
    found = election.store.query(
        "SELECT payload_hash, payload, flags FROM forms "
        "WHERE contest = ? AND source = ? AND tps = ? AND is_current = 1",
        (contest, source, tps),
    )
    if not found:
        return None
    digest, payload, flags = found[0]
    return str(digest), json.loads(payload), str(flags)


def _revote_tps(
    election: Election, rng: np.random.Generator, contest: str, source: str, count: int
) -> list[str]:
    """``count`` domestic TPS whose official form is recorded and keeps its arithmetic."""
    if count <= 0:
        return []
    registry = election.state.registry
    candidates = sorted(t for t in registry.tps if not t.startswith(_OVERSEAS))
    chosen: list[str] = []
    for index in rng.permutation(len(candidates)).tolist():
        form = _current_form(election, contest, source, candidates[index])
        if form is not None and not form[2] and sum(form[1]["votes"].values()) > 0:
            chosen.append(candidates[index])
            if len(chosen) == count:
                return chosen
    raise SaksiError(f"fewer than {count} TPS with a clean official form to vote again")


def _revote(
    election: Election, rng: np.random.Generator, contest: str, source: str, tps: str
) -> dict[str, Any]:
    """Annul the TPS's official form by decision and record the re-vote's new form.

    The re-vote moves some votes from one pair to another: the voters, the valid votes
    and every other field stay, so the new form keeps every consistency rule.
    """
    found = _current_form(election, contest, source, tps)
    assert found is not None
    old_hash, old, _ = found
    votes = dict(old["votes"])
    losing = max(votes, key=lambda c: (votes[c], c))
    gaining = str(rng.choice(sorted(c for c in votes if c != losing)))
    moved = int(rng.integers(1, min(50, votes[losing]) + 1))
    votes[losing] -= moved
    votes[gaining] += moved
    desa = election.state.registry.tps[tps].desa
    kecamatan = election.state.registry.regions[desa].parent
    kabupaten = election.state.registry.regions[str(kecamatan)].parent
    basis = (
        f"Keputusan KPU Kabupaten/Kota {kabupaten}: pemungutan suara ulang di TPS {tps} atas "
        "rekomendasi Panwaslu Kecamatan (UU 7/2017 Pasal 372)"
    )
    decision = {"kind": "order_revote", "legal_basis": basis, "acts_on": [old_hash], "tps": tps}
    admin = election.key("admin")
    new = {**old, "votes": votes, "replaces": old_hash}
    new.pop("photos", None)  # the re-vote's paper form is another sheet
    importer = election.importer_key(source)
    decided = admin.entry(EntryType.DECISION, election.election_id, decision)
    form = importer.entry(EntryType.RESULT_FORM, election.election_id, new)
    election.append([decided, form])
    return {
        "kind": "revote",
        "tps": tps,
        "recap_region": kecamatan,
        "row": desa,
        "decision": decided.payload_hash.hex(),
        "decision_kind": "order_revote",
        "legal_basis": basis,
        "replaced": old_hash,
        "form": form.payload_hash.hex(),
        "figures": {losing: -moved, gaining: moved},
    }


# -- recap bodies -------------------------------------------------------------------------


def _recap_regions(election: Election) -> dict[Level, list[str]]:
    """Per level, bottom-up, the regions with at least one TPS: they hold a plenary."""
    registry = election.state.registry
    out: dict[Level, list[str]] = {level: [] for level in RECAP_LEVELS}
    for region in sorted(registry.regions.values(), key=lambda r: r.id):
        if region.level in out and registry.tps_count.get(region.id, 0):
            out[region.level].append(region.id)
    return out


def _key(election: Election, region: str) -> SigningKey:
    return example_recap_key(election.election_id, region)


def _register_recap_bodies(election: Election, regions: list[str]) -> None:
    admin = election.key("admin")
    keys = [
        {"key": _key(election, r).public_b64, "role": "recap_body", "region": r} for r in regions
    ]
    election.append(
        [
            admin.entry(
                EntryType.KEYS_REGISTER,
                election.election_id,
                {"keys": keys[first : first + KEYS_PER_ENTRY]},
            )
            for first in range(0, len(keys), KEYS_PER_ENTRY)
        ]
    )


# -- planted errors -----------------------------------------------------------------------


@dataclass
class _Plants:
    """Where each error goes: one kecamatan each, all distinct, chosen by the seed."""

    inflated: set[str]  # kecamatan whose recap gets an inflated desa row
    copied: set[str]  # kecamatan whose recap gets a desa row copied from another desa
    deflated: dict[str, set[str]]  # kabupaten/kota -> its kecamatan rows to lower
    complete: set[str]  # their desa whose official TPS forms have all arrived

    @classmethod
    def choose(
        cls,
        election: Election,
        rng: np.random.Generator,
        contest: str,
        official: str,
        plan: LadderPlan,
    ) -> _Plants:
        state = election.state
        assert state.manifest is not None
        wanted = plan.inflated_rows + plan.copied_rows + plan.deflated_rows
        # Two desa rows at least, so a row can be copied from a neighbour.
        kecamatan = [
            r.id
            for r in sorted(state.registry.regions.values(), key=lambda r: r.id)
            if r.level is Level.KECAMATAN
            and not r.id.startswith(_OVERSEAS)
            and len(state.ladder.children(state.manifest, contest, r.id)) >= 2
        ]
        if wanted > len(kecamatan):
            raise SaksiError(
                f"the ladder plan needs {wanted} kecamatan with two desa or more; this "
                f"election has {len(kecamatan)}"
            )
        picked = [kecamatan[i] for i in rng.permutation(len(kecamatan))[:wanted].tolist()]
        desa = [
            child
            for region in picked[: plan.inflated_rows + plan.copied_rows]
            for child in state.ladder.children(state.manifest, contest, region)
        ]
        election.flush()  # the sums are read from the store
        # The ladder check's own rule: it compares a row only with a complete TPS sum.
        sums = tps_sums(election.store, contest, desa)
        complete = {d for d in desa if sums.complete(d, official)}
        deflated: dict[str, set[str]] = {}
        for region in picked[plan.inflated_rows + plan.copied_rows :]:
            parent = state.registry.regions[region].parent
            deflated.setdefault(str(parent), set()).add(region)
        return cls(
            inflated=set(picked[: plan.inflated_rows]),
            copied=set(picked[plan.inflated_rows : plan.inflated_rows + plan.copied_rows]),
            deflated=deflated,
            complete=complete,
        )

    def apply(
        self, rng: np.random.Generator, payload: dict[str, Any], plan: LadderPlan
    ) -> list[dict[str, Any]]:
        """Change ``payload`` where an error is planted in it; the truth of each change."""
        region = payload["region"]
        rows = payload["rows"]
        judged = [r for r in rows if r["region"] in self.complete] or rows
        if region in self.inflated:
            row = judged[int(rng.integers(len(judged)))]
            amount = int(rng.integers(plan.smallest, plan.largest + 1))
            return [
                _shift(row, region, "inflated_row", str(rng.choice(sorted(row["votes"]))), amount)
            ]
        if region in self.copied:
            return [_copy(rng, rows, region, {r["region"] for r in judged})]
        out = []
        for row in rows:
            if row["region"] in self.deflated.get(region, ()):
                choices = sorted(c for c, v in row["votes"].items() if v > 0)
                choice = str(rng.choice(choices))
                largest = min(plan.largest, row["votes"][choice])
                amount = int(rng.integers(min(plan.smallest, largest), largest + 1))
                out.append(_shift(row, region, "deflated_row", choice, -amount))
        return out


def _shift(row: dict[str, Any], region: str, kind: str, choice: str, amount: int) -> dict[str, Any]:
    """Move one choice's votes, and the valid votes and voters with them, by ``amount``:
    the row still adds up, so only the ladder check can see it."""
    row["votes"][choice] += amount
    row["valid"] += amount
    row["voters"] += amount
    return {
        "kind": kind,
        "recap_region": region,
        "row": row["region"],
        "choice": choice,
        "amount": amount,
        "figures": {choice: amount, "valid": amount, "voters": amount},
    }


def _figures(row: Mapping[str, Any]) -> dict[str, int]:
    return {
        **row["votes"],
        "valid": row["valid"],
        "invalid": row["invalid"],
        "voters": row["voters"],
    }


def _copy(
    rng: np.random.Generator,
    rows: list[dict[str, Any]],
    region: str,
    targets: set[str],
) -> dict[str, Any]:
    """One desa row among ``targets`` (region ids) takes the figures of another desa of the same
    kecamatan."""
    for first, second in _pairs(rng, len(rows)):
        target, source = rows[first], rows[second]
        if target["region"] not in targets:
            continue
        before, copied = _figures(target), _figures(source)
        change = {f: copied[f] - before[f] for f in before if copied[f] != before[f]}
        if change:
            target["votes"] = dict(source["votes"])
            for name in ("valid", "invalid", "voters"):
                target[name] = source[name]
            return {
                "kind": "copied_row",
                "recap_region": region,
                "row": target["region"],
                "copied_from": source["region"],
                "figures": change,
            }
    raise SaksiError(f"every desa row of kecamatan {region} is the same; none can be copied")


def _pairs(rng: np.random.Generator, n: int) -> list[tuple[int, int]]:
    """Every ordered pair of distinct rows, in a seeded order."""
    pairs = [(a, b) for a in range(n) for b in range(n) if a != b]
    return [pairs[i] for i in rng.permutation(len(pairs)).tolist()]
