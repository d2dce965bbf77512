"""Likely-correction benchmark on the real 2019 PPWP forms (issue 7, item 5, 2019 part).

Usage: .venv/bin/python bench/forensics_2019.py [--data DIR]

Selection: the TPS where Situng breaks "pair votes sum to valid votes" (01 + 02 != sah,
all three present), KawalPemilu's copy is consistent (its 01 + 02 == its sah), and the
two differ in exactly one of 01, 02 and suara_sah (355 TPS, 222 of them suara_sah).

Each selected Situng form is corrected from its own numbers, its page-1 figures, its
registry DPT (tps.csv) and its neighbours (the other Situng forms of its desa), never
from KawalPemilu. right = names the field that differs and KawalPemilu's value for it;
wrong = proposes anything else; unsure = no proposal.

Baseline, in the same run: the simple rule (the one-digit edit that fixes the sum, plus
page-1 evidence). If page 1 gives suara_sah directly (01 + 02 + invalid == voters), it
names suara_sah. Otherwise, among the single-field values that make 01 + 02 == sah, keep
those one digit edit (inserted, deleted or substituted) away from the typed value; if
several are left, keep those agreeing with valid + invalid = voters; propose the one
left, if exactly one is.

Also printed: right and wrong had the best candidate been proposed at other confidence
thresholds than the one in use, and each wrong answer with its TPS's DPT.

Speed: likely_correction on every Situng form with its desa (about one in fourteen breaks
a sum rule, so this is the cost the report pays on real data), against a baseline
measured in the same run: the same forms through check_rules alone. The neighbours are
the desa's forms that break no rule, timed twice: as one Neighbourhood shared by the
desa, as the report does, and as a list, which each form makes into a Neighbourhood of
its own.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from saksi.forensics.correction import (
    MAX_DPT,
    THRESHOLD,
    Correction,
    Form,
    Neighbourhood,
    Unsure,
    likely_correction,
    rank_corrections,
)
from saksi.ingest.rules import check_rules

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "pemilu2019"
FIELD = {"paslon_01": "01", "paslon_02": "02", "suara_sah": "suara_sah"}
PAGE1 = ("suara_tidak_sah", "pengguna_hak_pilih")
TARGET_RIGHT, TARGET_WRONG = 0.70, 0.01

Row = dict[str, int | None]


@dataclass(frozen=True, slots=True)
class Case:
    """One selected TPS: the Situng form to correct and KawalPemilu's answer."""

    tps_id: str
    form: Form
    neighbours: tuple[Form, ...]
    domestic: bool
    field: str  # "01", "02" or "suara_sah"
    truth: int


def read_results(path: Path) -> dict[str, Row]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {
            row["tps_id"]: {k: int(v) if v else None for k, v in row.items() if k != "tps_id"}
            for row in csv.DictReader(handle)
        }


def read_tps(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["tps_id"]: row for row in csv.DictReader(handle)}


def to_form(row: Row, dpt: int | None, place: tuple[str, int] | None = None) -> Form | None:
    """The form as in the record: absent fields stay absent; None if a vote is absent."""
    one, two = row["paslon_01"], row["paslon_02"]
    if one is None or two is None:
        return None
    fields = {name: value for name in ("suara_sah", *PAGE1) if (value := row[name]) is not None}
    return Form({"01": one, "02": two}, fields, dpt, place)


def situng_forms(data: Path = DATA) -> tuple[dict[str, Form], dict[str, list[str]]]:
    """Every Situng form with its votes, by TPS, and the TPS of each desa."""
    situng, tps = read_results(data / "results-situng.csv"), read_tps(data / "tps.csv")
    forms: dict[str, Form] = {}
    by_desa: dict[str, list[str]] = defaultdict(list)
    for tps_id, row in situng.items():
        dpt_text = tps[tps_id]["dpt"]
        place = (tps[tps_id]["desa_id"], int(tps[tps_id]["tps_no"]))
        form = to_form(row, int(dpt_text) if dpt_text else None, place)
        if form is not None:
            forms[tps_id] = form
            by_desa[tps[tps_id]["desa_id"]].append(tps_id)
    return forms, by_desa


def select_cases(data: Path = DATA) -> list[Case]:
    situng = read_results(data / "results-situng.csv")
    kawal = read_results(data / "results-kawalpemilu.csv")
    tps = read_tps(data / "tps.csv")
    forms, by_desa = situng_forms(data)
    cases: list[Case] = []
    for tps_id, row in situng.items():
        other = kawal.get(tps_id)
        if other is None or any(row[k] is None or other[k] is None for k in FIELD):
            continue
        if row["paslon_01"] + row["paslon_02"] == row["suara_sah"]:  # type: ignore[operator]
            continue
        if other["paslon_01"] + other["paslon_02"] != other["suara_sah"]:  # type: ignore[operator]
            continue
        differ = [k for k in FIELD if row[k] != other[k]]
        if len(differ) != 1:
            continue
        desa = tps[tps_id]["desa_id"]
        neighbours = tuple(forms[t] for t in by_desa[desa] if t != tps_id)
        truth = other[differ[0]]
        assert truth is not None
        cases.append(
            Case(
                tps_id, forms[tps_id], neighbours, not desa.startswith("-"), FIELD[differ[0]], truth
            )
        )
    return cases


def one_digit_edit(typed: int, true: int) -> bool:
    a, b = str(typed), str(true)
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return len(long) == len(short) + 1 and any(
        long[:i] + long[i + 1 :] == short for i in range(len(long))
    )


def simple_rule(case: Case) -> Mapping[str, int] | None:
    """The reference rule: the one-digit edit that fixes the sum, plus page-1 evidence."""
    votes, fields = case.form.votes, case.form.fields
    valid = fields["suara_sah"]
    candidates = {
        "suara_sah": votes["01"] + votes["02"],
        "01": valid - votes["02"],
        "02": valid - votes["01"],
    }
    typed = {**votes, "suara_sah": valid}
    kept = {k: v for k, v in candidates.items() if v >= 0 and one_digit_edit(typed[k], v)}
    if all(name in fields for name in PAGE1):
        implied = fields["pengguna_hak_pilih"] - fields["suara_tidak_sah"]
        if candidates["suara_sah"] == implied:
            return {"suara_sah": implied}
        if len(kept) > 1:
            kept = {k: v for k, v in kept.items() if (v if k == "suara_sah" else valid) == implied}
    if len(kept) != 1:
        return None
    return kept


def saksi_rule(case: Case) -> Correction | Unsure | None:
    return likely_correction(case.form, neighbours=case.neighbours, domestic=case.domestic)


def outcome(case: Case, proposal: Mapping[str, int] | None) -> str:
    if proposal is None:
        return "unsure"
    return "right" if proposal.get(case.field) == case.truth else "wrong"


def pct(part: int, whole: int) -> str:
    return f"{part:4d} {100 * part / whole:5.1f}%" if whole else f"{part:4d}   -  "


def print_table(title: str, rows: list[tuple[str, Counter[str]]]) -> None:
    print(title)
    print(f"  {'group':<28} {'n':>5}  {'right':>11}  {'wrong':>11}  {'unsure':>11}")
    for label, counts in rows:
        n = sum(counts.values())
        cells = "  ".join(pct(counts[k], n) for k in ("right", "wrong", "unsure"))
        print(f"  {label:<28} {n:5d}  {cells}")


def evaluate(
    cases: list[Case], rule: Callable[[Case], Mapping[str, int] | None]
) -> list[tuple[Case, str, Mapping[str, int] | None]]:
    return [(case, outcome(case, p := rule(case)), p) for case in cases]


def threshold_curve(cases: list[Case], thresholds: tuple[float, ...]) -> None:
    """Right and wrong answers had the best candidate been proposed at each confidence
    threshold: what a lower threshold would buy, and what it would cost."""
    best = []
    for case in cases:
        ranked = rank_corrections(case.form, neighbours=case.neighbours, domestic=case.domestic)
        if ranked:
            best.append((ranked[0].confidence, ranked[0].changes.get(case.field) == case.truth))
    print("confidence threshold (the best candidate proposed at or above it):")
    for threshold in thresholds:
        right = sum(1 for p, ok in best if p >= threshold and ok)
        wrong = sum(1 for p, ok in best if p >= threshold and not ok)
        mark = "  (in use)" if threshold == THRESHOLD else ""
        n = len(cases)
        print(f"  {threshold:.2f}: right {pct(right, n)}, wrong {pct(wrong, n)}{mark}")


def speed(data: Path) -> None:
    """likely_correction on every Situng form, against check_rules on the same forms."""
    forms, by_desa = situng_forms(data)
    start = time.perf_counter()
    rules = {
        tps_id: check_rules(
            form.votes,
            form.fields,
            domestic=not tps_id.startswith("-"),
            registry_dpt=form.dpt,
            max_dpt=MAX_DPT,
        )
        for tps_id, form in forms.items()
    }
    baseline = time.perf_counter() - start
    print(f"[speed] baseline, check_rules on {len(forms):,} Situng forms: {baseline:.2f} s")

    def timed(label: str, share: bool) -> None:
        start = time.perf_counter()
        broken = 0
        for desa, ids in by_desa.items():
            clean = [forms[t] for t in ids if not rules[t]]
            hood: Neighbourhood | list[Form] = Neighbourhood(clean) if share else clean
            for tps_id in ids:
                found = likely_correction(
                    forms[tps_id], neighbours=hood, domestic=not desa.startswith("-")
                )
                broken += found is not None
        seconds = time.perf_counter() - start
        print(
            f"[speed] likely_correction, {label} ({broken:,} forms break a sum rule): "
            f"{seconds:.2f} s, {1000 * seconds / max(broken, 1):.2f} ms per broken form"
        )

    # Neighbours: the forms of the desa that break no rule, as the report takes them
    # (which falls back on the kecamatan's where a desa has five forms or fewer).
    timed("one Neighbourhood shared by the desa", share=True)
    timed("a list, made into a Neighbourhood per form", share=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args(argv)
    cases = select_cases(args.data)
    sah = sum(case.field == "suara_sah" for case in cases)
    print(
        f"selected TPS: {len(cases)} (suara_sah differs: {sah}, 01/02 differs: {len(cases) - sah})"
    )

    start = time.perf_counter()
    results = [(case, saksi_rule(case)) for case in cases]
    seconds = time.perf_counter() - start
    ours = [
        (case, outcome(case, r.changes if isinstance(r, Correction) else None), r)
        for case, r in results
    ]
    baseline = evaluate(cases, simple_rule)

    def split(
        rows: list[tuple[Case, str, object]], key: Callable[[Case, object], str]
    ) -> list[tuple[str, Counter[str]]]:
        groups: dict[str, Counter[str]] = defaultdict(Counter)
        for case, result, proposal in rows:
            groups[key(case, proposal)][result] += 1
        return sorted(groups.items())

    def by_field(case: Case, _: object) -> str:
        return "field suara_sah" if case.field == "suara_sah" else "field 01/02"

    def by_edit(_: Case, proposal: object) -> str:
        return f"edit {proposal.edit}" if isinstance(proposal, Correction) else "edit (unsure)"

    for title, rows in (("likely_correction", ours), ("baseline: simple rule", baseline)):
        counts = Counter(result for _, result, _ in rows)
        table = [("all", counts), *split(rows, by_field)]  # type: ignore[arg-type]
        if rows is ours:
            table += split(rows, by_edit)  # type: ignore[arg-type]
        print_table(title, table)
    counts = Counter(result for _, result, _ in ours)
    right, wrong = counts["right"] / len(cases), counts["wrong"] / len(cases)
    print(f"likely_correction: {len(cases)} forms in {seconds:.2f} s")
    verdict = "PASS" if right >= TARGET_RIGHT and wrong <= TARGET_WRONG else "FAIL"
    threshold_curve(cases, (0.95, THRESHOLD, 0.85, 0.8))
    print(f"targets (right >= {TARGET_RIGHT:.0%}, wrong <= {TARGET_WRONG:.0%}): {verdict}")
    for case, result, proposal in ours:
        if result == "wrong" and isinstance(proposal, Correction):
            print(
                f"  wrong: {case.tps_id} DPT {case.form.dpt} "
                f"{dict(case.form.votes)} {dict(case.form.fields)} "
                f"proposed {dict(proposal.changes)} ({proposal.confidence:.2f}); "
                f"KawalPemilu {case.field}={case.truth}"
            )
    speed(args.data)
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
