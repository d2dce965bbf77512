"""Likely corrections: the most likely true value of the wrong field on a form that breaks
its own arithmetic, with a confidence, or "unsure".

Inputs: one form (``votes`` by choice id, ``fields`` by form field name, absent fields
absent, as in the record, docs/record-format.md §6.5) with its registry DPT, and its
neighbours: other forms of the same source in the same desa (or kecamatan). Never another
source's copy of the form. Output: a ``Correction``, an ``Unsure`` with the reason and the
best candidates, or None when the form breaks no sum rule.

Method: a small Bayesian model of how a consistent form became the written one.
1. Candidates: hypotheses "only this field is wrong" that mend the first broken sum rule
   (``RELATIONS``, in the order of saksi.ingest.rules): each field of that rule solved so
   that it holds (``suara_sah`` := sum of the votes, a choice := valid minus the other
   choices, ...); a miscounted total carried into the totals written from it (KPPS added
   the votes wrongly and filled page 1 from the wrong sum: a ``CARRIED`` share of
   miscounts, the rest staying in the total alone); two values swapped.
2. Score = edit × residual × plausibility.
   - edit: P(true value written as the form's value) under the known error shapes
     (BRIEF): a digit substituted, inserted or deleted, two adjacent digits transposed
     (per keystroke, so a 1-digit count is no likelier to be hit than a 3-digit one), a
     zero where the form was missing, a hand-added total off by a few votes, another
     field's value copied (a total typed into a candidate field), or any other value.
     ``EDIT_WEIGHTS`` are round priors, not fitted to any TPS.
   - residual: every rule linked to the broken one (through shared fields) that the
     candidate leaves broken needs a second error: ``SECOND_ERROR`` times the edit weight
     of its likeliest fix. This is the page-1 evidence: when valid + invalid = voters
     agrees with the sum of the votes, ``suara_sah`` is the wrong field, and a candidate
     that says otherwise must explain the agreement as a coincidence. Caps (TPS cap, DPT
     plus reserve) left broken cost ``SECOND_ERROR`` each.
   - plausibility (saksi.forensics.plausibility): how much likelier the corrected votes
     are under the neighbours' vote shares, turnout (valid votes out of DPT plus reserve)
     and invalid votes out of voters (page 1's voters minus the corrected valid votes, or
     the typed invalid figure) than under flat ones; a kernel mixture over the neighbours
     (so a desa with two kinds of TPS keeps both), mixed with the flat model so that an
     odd TPS is never ruled out. Neighbours with close TPS numbers in the same desa weigh
     more. Ballots received are weighed against the DPT plus the 2% reserve a TPS
     receives.
   A one-digit substitution that copies the digit at the same place in another figure of
   the result block (01 typed with 02's units digit) is likelier than one to any other
   digit. The kernels' widths, the closeness weights, the copied-digit share and the
   carried share are fitted without labels on the 2019 Situng forms
   (bench/correction_priors_2019.py).
3. Confidence = the candidate's score over the total, the total including ``UNEXPLAINED``
   for what no candidate covers (two fields of the rule wrong at once, or a form
   written as it was counted, such as a stuffed one), times the cost of the rules the
   written form breaks that the candidates leave broken too. Candidates giving
   the same value to the same field pool their scores. It means: under this model, the
   probability that the field's true value is ``value``. On the 2019 Situng forms the
   proposals at 0.9 and above were right 247 times in 250 (bench/forensics_2019.py). A
   correction is proposed only at ``threshold`` (0.9) or above: a wrong correction costs
   more than an honest "unsure", and two candidates that fit equally (01 or 02 off by
   the same amount, both one-digit slips) stay unsure.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from saksi.forensics.plausibility import Form, Neighbourhood, Plausibility
from saksi.ingest.rules import check_rules

__all__ = [
    "EDIT_WEIGHTS",
    "MAX_DPT",
    "RELATIONS",
    "SECOND_ERROR",
    "THRESHOLD",
    "UNEXPLAINED",
    "Correction",
    "EditKind",
    "Form",
    "Neighbourhood",
    "Unsure",
    "apply_changes",
    "evidence",
    "likely_correction",
    "rank_corrections",
]

EditKind = Literal[
    "digit_substituted",
    "digit_inserted",
    "digit_deleted",
    "digits_transposed",
    "zero_for_missing",
    "miscounted",
    "copied_field",
    "total_in_choice",
    "swapped",
    "other",
]

VOTES = "#votes"  # stands for every choice's votes in a relation's parts

# The sum rules of saksi.ingest.rules as total = sum of parts, keyed by their rule id,
# in RULES order; a test checks each against check_rules.
RELATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "votes_sum_valid": ("suara_sah", (VOTES,)),
    "valid_invalid_voters": ("pengguna_hak_pilih", ("suara_sah", "suara_tidak_sah")),
    "valid_invalid_total": ("suara_total", ("suara_sah", "suara_tidak_sah")),
    "valid_invalid_ballots": ("surat_suara_digunakan", ("suara_sah", "suara_tidak_sah")),
    "ballots_used_voters": ("surat_suara_digunakan", ("pengguna_hak_pilih",)),
    "voters_by_list": (
        "pengguna_hak_pilih",
        ("pengguna_dpt", "pengguna_dptb", "pengguna_dpk"),
    ),
    "gender_split_dpt": ("dpt", ("dpt_laki", "dpt_perempuan")),
    "gender_split_voters": (
        "pengguna_hak_pilih",
        ("pengguna_hak_pilih_laki", "pengguna_hak_pilih_perempuan"),
    ),
    "ballot_accounting": (
        "surat_suara_diterima",
        ("surat_suara_digunakan", "surat_suara_rusak", "surat_suara_sisa"),
    ),
}

# Prior weight of each way one field goes wrong; a digit edit's weight is shared among
# all the values that edit can produce from the true value.
EDIT_WEIGHTS: dict[str, float] = {
    "digit_substituted": 0.40,
    "digit_inserted": 0.10,
    "digit_deleted": 0.10,
    "digits_transposed": 0.05,
    "zero_for_missing": 0.10,
    "miscounted": 0.10,
    "copied_field": 0.05,
    "other": 0.15,
}
MISCOUNT_DECAY = 0.5  # a total off by d: weight halves with each further vote
# When KPPS miscount a total that other totals are written from (valid votes, from which
# page 1's voters follow), the share of miscounts carried into those totals; the rest
# leave them right, so the rule linking them breaks. Fitted without labels on the broken
# 2019 Situng forms by maximum likelihood (bench/correction_priors_2019.py).
CARRIED = 0.4
OTHER_VALUES = 1000  # "any other value" is spread over this many values
SWAP_WEIGHT = 0.02  # two given fields swapped, against one field mistyped
# A second, unrelated error on a form that has one. In 2019 Situng 5.5% of the forms whose
# votes add up break valid + invalid = voters; errors cluster on a form.
SECOND_ERROR = 0.1
UNEXPLAINED = 1e-5  # two fields of the broken rule wrong at once, in edit-weight units
THRESHOLD = 0.9
# A slipped digit is often the digit at the same place in another figure of the result
# block (01 typed with 02's units digit): the share of substitutions that are such copies,
# fitted without labels on the broken 2019 Situng forms (same script).
COPIED_DIGIT = 0.4
RESULT_BLOCK = ("suara_sah", "suara_tidak_sah", "suara_total", "pengguna_hak_pilih")
MAX_DPT = 300  # BRIEF: a domestic TPS has at most 300 registered voters


@dataclass(frozen=True, slots=True)
class Correction:
    """The likely true ``value`` of ``field`` (a form field name or a choice id).

    ``changes`` is everything the correction sets, keyed like ``field`` (a swap sets two
    values); ``typed`` is the value on the form; ``remaining`` lists the rule ids the
    corrected form still breaks; ``confidence`` is explained in the module docstring.
    """

    field: str
    value: int
    typed: int
    edit: EditKind
    confidence: float
    changes: Mapping[str, int]
    remaining: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Unsure:
    """No correction is likely enough; ``candidates`` are the best few, best first."""

    reason: str
    candidates: tuple[Correction, ...] = field(default=())


def apply_changes(form: Form, changes: Mapping[str, int]) -> Form:
    """The form with a correction's values put in."""
    votes = {k: changes.get(k, v) for k, v in form.votes.items()}
    fields = {k: changes.get(k, v) for k, v in form.fields.items()}
    return Form(votes, fields, form.dpt, form.place)


def likely_correction(
    form: Form,
    *,
    neighbours: Neighbourhood | Sequence[Form] = (),
    domestic: bool = True,
    max_dpt: int = MAX_DPT,
    threshold: float = THRESHOLD,
) -> Correction | Unsure | None:
    """The likely correction of ``form``, ``Unsure``, or None if no sum rule is broken.

    ``neighbours`` are other forms of the same source nearby (the same desa, or the
    kecamatan when the desa has few); ``domestic`` and ``max_dpt`` are as in
    ``check_rules`` (the TPS cap applies to domestic TPS only).
    """
    ranked = rank_corrections(form, neighbours=neighbours, domestic=domestic, max_dpt=max_dpt)
    if ranked is None:
        return None
    if not ranked:
        return Unsure("no single edit or swap mends the broken rules")
    best = ranked[0]
    if best.confidence >= threshold:
        return best
    if len(ranked) > 1 and ranked[1].confidence >= best.confidence / 3:
        reason = (
            f"two corrections fit: {_describe(best)} ({best.confidence:.0%}) "
            f"or {_describe(ranked[1])} ({ranked[1].confidence:.0%})"
        )
    else:
        reason = f"best fit {_describe(best)} is only {best.confidence:.0%} likely"
    return Unsure(reason, tuple(ranked[:3]))


def rank_corrections(
    form: Form,
    *,
    neighbours: Neighbourhood | Sequence[Form] = (),
    domestic: bool = True,
    max_dpt: int = MAX_DPT,
) -> list[Correction] | None:
    """Every candidate correction with its confidence, best first; None if no sum rule
    is broken. Candidates naming the same value for the same field are pooled."""
    found = _scored(form, neighbours, domestic, max_dpt)
    if found is None:
        return None
    scored, order, shared = found
    if not scored:
        return []
    values = {**form.fields, **form.votes}
    total = sum(item.score for item in scored) + UNEXPLAINED * shared
    pooled: dict[tuple[str, int], float] = {}
    best: dict[tuple[str, int], _Scored] = {}
    for item in scored:
        key = (item.primary, item.candidate.changes[item.primary])
        pooled[key] = pooled.get(key, 0.0) + item.score
        if key not in best or item.score > best[key].score:
            best[key] = item
    ranked = [
        Correction(
            field=name,
            value=value,
            typed=values[name],
            edit=best[(name, value)].candidate.kind,
            confidence=pooled[(name, value)] / total,
            changes=dict(best[(name, value)].candidate.changes),
            remaining=best[(name, value)].remaining,
        )
        for name, value in pooled
    ]
    # Equal candidates (01 or 02 off by the same slip) can differ in the last bits, as
    # sums taken in another order do: within 1e-9 they are ordered by field, so that
    # noise does not pick which one a message names first (it still can for the rare
    # pair that straddles a rounding boundary).
    ranked.sort(key=lambda c: (-round(c.confidence, 9), order(c.field), c.value))
    return ranked


def evidence(
    form: Form,
    *,
    neighbours: Neighbourhood | Sequence[Form] = (),
    domestic: bool = True,
    max_dpt: int = MAX_DPT,
) -> float | None:
    """How well the model explains a broken form: the sum of its candidates' scores (the
    likelihood of the written form, up to a factor the model's constants do not change).
    None if no sum rule is broken. Its product over many forms is what the constants are
    fitted to maximise (bench/correction_priors_2019.py)."""
    found = _scored(form, neighbours, domestic, max_dpt)
    return None if found is None else sum(item.score for item in found[0])


@dataclass(frozen=True, slots=True)
class _Scored:
    score: float
    primary: str  # the field the correction is named by
    candidate: _Candidate
    remaining: tuple[str, ...]
    inherited: float  # the residual of the written form's own broken rules it leaves


def _scored(
    form: Form, neighbours: Neighbourhood | Sequence[Form], domestic: bool, max_dpt: int
) -> tuple[list[_Scored], _Order, float] | None:
    """Each candidate that mends the first broken sum rule, scored; None if no sum rule
    is broken."""
    clash = set(form.votes) & set(form.fields)
    if clash:
        raise ValueError(f"choice ids and field names overlap: {sorted(clash)}")

    def broken(candidate: Form) -> list[str]:
        return check_rules(
            candidate.votes,
            candidate.fields,
            domestic=domestic,
            registry_dpt=candidate.dpt,
            max_dpt=max_dpt,
        )

    typed_broken = broken(form)
    broken_now = [rule for rule in typed_broken if rule in RELATIONS]
    if not broken_now:
        return None
    values = {**form.fields, **form.votes}
    model = Plausibility(form, neighbours, SECOND_ERROR)
    order = _field_order(broken_now, form)
    linked = _linked_rules(broken_now[0], form)
    first_total, first_parts = _rule_names(broken_now[0], form)
    first = {first_total, *first_parts}  # a candidate changing none leaves it broken
    scored: list[_Scored] = []
    for candidate in _candidates(broken_now, form, values):
        if first.isdisjoint(candidate.changes):
            continue  # the wrong field is sought in the first broken sum rule
        corrected = apply_changes(form, candidate.changes)
        if _received_past_reserve(form, corrected, model.caps):
            continue
        remaining = tuple(broken(corrected))
        if broken_now[0] in remaining:
            continue  # the wrong field is sought in the first broken sum rule
        residual = _residual(remaining, linked, corrected, candidate.changes)
        score = candidate.weight * residual * model.ratio(corrected)
        if score > 0:
            primary = min(candidate.changes, key=order)
            left = [rule for rule in remaining if rule in typed_broken]
            inherited = _residual(left, linked, corrected, candidate.changes)
            scored.append(_Scored(score, primary, candidate, remaining, inherited))
    # Any other explanation of the form must explain the rules the written form breaks
    # that the candidates leave broken, at best as cheaply as a candidate does; rules a
    # candidate breaks anew are its own to pay for.
    return scored, order, max((item.inherited for item in scored), default=1.0)


def _linked_rules(first: str, form: Form) -> set[str]:
    """The sum rules tied to ``first`` through shared fields: the evidence about it."""

    def names(rule: str) -> set[str]:
        total, parts = RELATIONS[rule]
        return {total, *(n for p in parts for n in (form.votes if p == VOTES else (p,)))}

    linked, reach = {first}, names(first)
    grown = True
    while grown:
        grown = False
        for rule in RELATIONS:
            if rule not in linked and names(rule) & reach:
                linked.add(rule)
                reach |= names(rule)
                grown = True
    return linked


def _residual(
    remaining: Sequence[str], linked: set[str], corrected: Form, changes: Mapping[str, int]
) -> float:
    """Cost of the rules a candidate leaves broken.

    A linked sum rule left broken needs a second error: SECOND_ERROR times the edit
    weight of its likeliest single-field fix, so a coincidence (the typed figures
    agreeing with the candidate's wrong value) is paid for in full. Other broken rules
    (caps, DPT) cost SECOND_ERROR each.
    """
    values = {**corrected.fields, **corrected.votes}
    cost = 1.0
    for rule in remaining:
        if rule not in RELATIONS:
            cost *= SECOND_ERROR
            continue
        if rule not in linked:
            continue
        total, parts = RELATIONS[rule]
        names = [n for p in parts for n in (corrected.votes if p == VOTES else (p,))]
        sum_parts = sum(values[n] for n in names)
        best = EDIT_WEIGHTS["other"] / OTHER_VALUES
        for name in (total, *names):
            if name in changes:
                continue
            fixed = sum_parts if name == total else values[total] - (sum_parts - values[name])
            if fixed >= 0:
                rest = [v for k, v in values.items() if k != name]
                block = _block_figures(corrected, values, name)
                weight, _ = _edit_weight(values[name], fixed, rest, block, total=name == total)
                best = max(best, weight)
        cost *= SECOND_ERROR * best
    return cost


def _describe(correction: Correction) -> str:
    return f"{correction.field} {correction.typed} -> {correction.value}"


def _field_order(broken_now: Sequence[str], form: Form) -> _Order:
    """Rank of a name: the first broken rule naming it, then its place in that rule."""
    rank: dict[str, tuple[int, int]] = {}
    for index, rule in enumerate(broken_now):
        total, parts = RELATIONS[rule]
        names = [total, *(n for p in parts for n in (form.votes if p == VOTES else (p,)))]
        for place, name in enumerate(names):
            rank.setdefault(name, (index, place))
    return _Order(rank)


@dataclass(frozen=True, slots=True)
class _Order:
    rank: Mapping[str, tuple[int, int]]

    def __call__(self, name: str) -> tuple[int, int]:
        return self.rank.get(name, (len(self.rank) + 1, 0))


@dataclass(frozen=True, slots=True)
class _Candidate:
    changes: Mapping[str, int]
    kind: EditKind
    weight: float  # the edit's prior probability (see EDIT_WEIGHTS)


def _rule_names(rule: str, form: Form) -> tuple[str, list[str]]:
    total, parts = RELATIONS[rule]
    return total, [n for p in parts for n in (form.votes if p == VOTES else (p,))]


def _candidates(
    broken_now: Sequence[str], form: Form, values: Mapping[str, int]
) -> Iterator[_Candidate]:
    """One field solved to mend a broken rule, a miscounted total carried into the totals
    written from it, or two values swapped; each once."""
    seen: set[tuple[tuple[str, int], ...]] = set()
    members: list[str] = []

    def new(changes: Mapping[str, int]) -> bool:
        key = tuple(sorted(changes.items()))
        fresh = key not in seen
        seen.add(key)
        return fresh

    for rule in broken_now:
        total, names = _rule_names(rule, form)
        if total not in values or any(n not in values for n in names):
            continue
        sum_parts = sum(values[n] for n in names)
        solved = {total: sum_parts}
        for name in names:
            solved[name] = values[total] - (sum_parts - values[name])
        # A miscounted total that other totals are written from is carried into them or not.
        kept = 1 - CARRIED if _derived(total, form, values) else 1.0
        for name, value in solved.items():
            if value < 0 or value == values[name] or not new({name: value}):
                continue
            others = [v for k, v in values.items() if k != name]
            block = _block_figures(form, values, name)
            weight, kind = _edit_weight(
                values[name], value, others, block, total=name == total, miscount=kept
            )
            if kind == "copied_field" and name in form.votes and _is_total(values[name], values):
                kind = "total_in_choice"
            yield _Candidate({name: value}, kind, weight)
        carried = _carry(total, sum_parts - values[total], form, values)
        if len(carried) > 1 and new(carried):
            weight = EDIT_WEIGHTS["miscounted"] * _miscount(sum_parts - values[total]) * CARRIED
            yield _Candidate(carried, "miscounted", weight)
        members.extend(n for n in (total, *names) if n not in members)
    # A swap mends the first broken rule (as every candidate must) only if its two fields
    # weigh differently in it: total against part, or either against a field outside it.
    # The rest keep its sums as they are; on a DPR form of 200 choices they would be most
    # of the 20,000 swaps.
    first_total, first_names = _rule_names(broken_now[0], form)
    side = {first_total: 1, **dict.fromkeys(first_names, -1)}
    for first in members:
        for second in values:
            if second == first or values[second] == values[first]:
                continue
            if side.get(first, 0) == side.get(second, 0):
                continue
            changes = {first: values[second], second: values[first]}
            if new(changes):
                yield _Candidate(changes, "swapped", SWAP_WEIGHT)


def _carry(total: str, shift: int, form: Form, values: Mapping[str, int]) -> dict[str, int]:
    """A total off by ``shift``, and the totals the form derives from it that agree with
    it: a KPPS adding slip is carried into the figures written from the wrong sum."""
    changes = {total: values[total] + shift}
    grown = True
    while grown:
        grown = False
        for rule in RELATIONS:
            head, names = _rule_names(rule, form)
            if head in changes or head not in values or any(n not in values for n in names):
                continue
            if not set(names) & set(changes):
                continue
            if values[head] == sum(values[n] for n in names):  # held on the typed form
                changes[head] = values[head] + shift
                grown = True
    return changes


def _derived(total: str, form: Form, values: Mapping[str, int]) -> bool:
    """True when the form carries a total written from ``total`` (a rule summing it)."""
    for rule in RELATIONS:
        head, names = _rule_names(rule, form)
        if total in names and head in values and all(n in values for n in names):
            return True
    return False


def _is_total(typed: int, values: Mapping[str, int]) -> bool:
    return any(values.get(t) == typed for t in ("suara_sah", "pengguna_hak_pilih", "suara_total"))


def _miscount(shift: int) -> float:
    """P(a hand-added total is off by ``shift``): small slips are the likely ones."""
    size = abs(shift)
    return 0.0 if size == 0 else (1 - MISCOUNT_DECAY) * MISCOUNT_DECAY ** (size - 1) / 2


# Digit slips happen per keystroke, so a slip is as likely in a 1-digit count as in any
# one digit of a 3-digit count: one operation's weight is its kind's weight shared among
# the operations of a typical 3-digit count (27 substitutions, 40 insertions, 3
# deletions, 2 transpositions).
_PER_OPERATION: dict[EditKind, int] = {
    "digit_substituted": 27,
    "digit_inserted": 40,
    "digit_deleted": 3,
    "digits_transposed": 2,
}


@functools.lru_cache(maxsize=4096)  # the same few values are weighed for every candidate
def _digit_edits(true: int) -> Counter[tuple[EditKind, int]]:
    """How many single digit operations turn ``true`` into each value, by kind (shared
    between callers: read it, never change it)."""
    digits = str(true)
    out: Counter[tuple[EditKind, int]] = Counter()
    for i in range(len(digits) + 1):
        for d in "0123456789":
            out["digit_inserted", int(digits[:i] + d + digits[i:])] += 1
    for i in range(len(digits)):
        for d in "0123456789":
            if d != digits[i]:
                out["digit_substituted", int(digits[:i] + d + digits[i + 1 :])] += 1
        if len(digits) > 1:
            out["digit_deleted", int(digits[:i] + digits[i + 1 :])] += 1
        if i + 1 < len(digits) and digits[i] != digits[i + 1]:
            swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
            out["digits_transposed", int(swapped)] += 1
    return out


def _block_figures(form: Form, values: Mapping[str, int], name: str) -> list[int]:
    """The other figures of the result block: the votes and RESULT_BLOCK's totals."""
    names = (*form.votes, *RESULT_BLOCK)
    return [values[n] for n in names if n != name and n in values]


def _block_digit_share(typed: int, true: int, block: Sequence[int]) -> float | None:
    """For a one-digit substitution, the share of the block's figures that have the typed
    digit at the same place; None for any other edit, or when no figure is that long."""
    a, b = str(typed), str(true)
    if len(a) != len(b):
        return None
    places = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(places) != 1:
        return None
    back = len(a) - places[0]  # place counted from the units digit
    digits = [str(v)[-back] for v in block if len(str(v)) >= back]
    return digits.count(a[places[0]]) / len(digits) if digits else None


def _copied_digit(typed: int, true: int, block: Sequence[int]) -> float:
    """How much likelier a one-digit substitution is than a uniform one, given the digits
    at the same place in the block's other figures: a COPIED_DIGIT share of slips copy
    one of them, the rest are any of the nine wrong digits."""
    share = _block_digit_share(typed, true, block)
    return 1.0 if share is None else 9 * COPIED_DIGIT * share + (1 - COPIED_DIGIT)


def _edit_weight(
    typed: int,
    true: int,
    others: Sequence[int],
    block: Sequence[int],
    *,
    total: bool = False,
    miscount: float = 1.0,
) -> tuple[float, EditKind]:
    """P(``true`` was written as ``typed``) under one error, and the likeliest kind.
    ``others``: every other figure of the form; ``block``: the other figures of the result
    block; ``total``: the field is a hand-added total, which can also be miscounted, and
    ``miscount`` is the share of such miscounts that stay in this field alone."""
    parts: dict[EditKind, float] = {"other": EDIT_WEIGHTS["other"] / OTHER_VALUES}
    if total:
        parts["miscounted"] = EDIT_WEIGHTS["miscounted"] * _miscount(typed - true) * miscount
    for (kind, value), count in _digit_edits(true).items():
        if value == typed and value != true:
            parts[kind] = EDIT_WEIGHTS[kind] * count / _PER_OPERATION[kind]
    if "digit_substituted" in parts:
        parts["digit_substituted"] *= _copied_digit(typed, true, block)
    if typed == 0:
        parts["zero_for_missing"] = EDIT_WEIGHTS["zero_for_missing"]
    if others and typed != 0 and typed in others:
        parts["copied_field"] = EDIT_WEIGHTS["copied_field"] * others.count(typed) / len(others)
    kind = max(parts, key=lambda k: parts[k])
    return sum(parts.values()), kind


def _received_past_reserve(form: Form, corrected: Form, caps: tuple[int, ...]) -> bool:
    """Whether a candidate raises ballots received above DPT + 2% (``caps``, from
    plausibility.reserve_caps), more than a TPS is given: that is no correction, it would
    make the form impossible another way. Without this, a stuffed form (more ballots used
    than received) reads as a mistyped "received"."""
    typed, value = (f.fields.get("surat_suara_diterima") for f in (form, corrected))
    if not caps or value is None or value == typed:
        return False
    return value > caps[-1]
