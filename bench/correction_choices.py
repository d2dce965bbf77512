"""Likely corrections by ballot size: presidential (3 choices), DPD-like (20) and DPR-like
(200, parties and their candidates), on seeded synthetic forms.

Usage: .venv/bin/python bench/correction_choices.py [--forms N]

For each size, N forms whose valid votes were mistyped, each against a desa of ten clean
neighbours shared as one Neighbourhood, as the report does. Printed next to a baseline
measured in the same run: check_rules on the same forms. Also printed: how many
candidate corrections a form of that size gets.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from saksi.forensics import correction
from saksi.forensics.correction import MAX_DPT, Form, Neighbourhood, likely_correction
from saksi.ingest.rules import check_rules

SIZES = (3, 20, 200)
DPT = 280


def ballot(rng: random.Random, choices: int, number: int, slip: int = 0) -> Form:
    """A form of about 180 valid votes; ``slip`` is added to its valid votes as typed."""
    weights = [rng.random() ** 2 for _ in range(choices)]
    votes = dict.fromkeys((f"{i:03d}" for i in range(1, choices + 1)), 0)
    for name in rng.choices(list(votes), weights, k=180):
        votes[name] += 1
    valid = sum(votes.values())
    fields = {"suara_sah": valid + slip, "suara_tidak_sah": 4, "pengguna_hak_pilih": valid + 4}
    return Form(votes, fields, DPT, ("D", number))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--forms", type=int, default=30)
    args = parser.parse_args(argv)
    for choices in SIZES:
        rng = random.Random(choices)
        jobs = [
            (
                ballot(rng, choices, 1, slip=rng.choice((10, 90, -9, 100))),
                Neighbourhood([ballot(rng, choices, n) for n in range(2, 12)]),
            )
            for _ in range(args.forms)
        ]
        start = time.perf_counter()
        for form, _ in jobs:
            check_rules(form.votes, form.fields, domestic=True, registry_dpt=DPT, max_dpt=MAX_DPT)
        baseline = time.perf_counter() - start
        form = jobs[0][0]
        values = {**form.fields, **form.votes}
        broken = [
            rule
            for rule in check_rules(
                form.votes, form.fields, domestic=True, registry_dpt=DPT, max_dpt=MAX_DPT
            )
            if rule in correction.RELATIONS
        ]
        tried = sum(1 for _ in correction._candidates(broken, form, values))
        start = time.perf_counter()
        for form, hood in jobs:
            likely_correction(form, neighbours=hood)
        seconds = time.perf_counter() - start
        print(
            f"{choices:3d} choices: likely_correction {1000 * seconds / len(jobs):7.2f} ms a "
            f"form ({tried:,} candidates tried on the first); baseline, check_rules "
            f"{1000 * baseline / len(jobs):.3f} ms a form"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
