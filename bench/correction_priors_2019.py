"""Where the likely correction's neighbour and digit priors come from: fits on the 2019
Situng forms that use no label (never KawalPemilu, never the 355 benchmark answers).

Usage: .venv/bin/python bench/correction_priors_2019.py [--data DIR] [--sample N]

1. Closeness. For consistent forms in the same desa, the mean squared difference of 01's
   share by the gap between TPS numbers: close numbers serve adjacent streets.
2. Kernels. Each sampled consistent form is predicted from the other consistent forms of
   its desa by saksi.forensics.plausibility's weighted kernel mixture (leave one out); the
   mean log likelihood ratio over the flat model is printed for each concentration and
   closeness power, for the shares, the turnout and the invalid votes. The constants
   SHARE_CONCENTRATION, TURNOUT_CONCENTRATION, INVALID_CONCENTRATION, SHARE_CLOSENESS and
   RATE_CLOSENESS (saksi.forensics.plausibility) are round values near the best of each
   grid.
3. Copied digits and carried miscounts. Two constants of the edit model, each fitted by
   maximum likelihood over every broken Situng form (01 + 02 != valid, with page 1 and
   its neighbours as the report sees them), the other constants as in use: the log of
   saksi.forensics.correction.evidence summed over the forms, for each value of a grid.
   COPIED_DIGIT: the share of one-digit substitutions that copy the digit at the same
   place in another figure of the result block, against a slip to any of the nine wrong
   digits (a fit on the confident corrections alone gave 0.53, leaning upward because the
   model had chosen them). CARRIED: the share of miscounted valid votes carried into the
   voters written from them, so that page 1 still adds up.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from forensics_2019 import DATA, read_results, read_tps, to_form  # noqa: E402
from saksi.forensics import correction, plausibility  # noqa: E402
from saksi.forensics.correction import (  # noqa: E402
    Form,
)
from saksi.ingest.rules import reserve_cap  # noqa: E402

Counts = Callable[[Form], list[int] | None]


def load(data: Path) -> dict[str, list[Form]]:
    """Every Situng form with its votes, by desa, with its place."""
    situng, tps = read_results(data / "results-situng.csv"), read_tps(data / "tps.csv")
    by_desa: dict[str, list[Form]] = defaultdict(list)
    for tps_id, row in situng.items():
        info = tps[tps_id]
        dpt = int(info["dpt"]) if info["dpt"] else None
        form = to_form(row, dpt, (info["desa_id"], int(info["tps_no"])))
        if form is not None:
            by_desa[info["desa_id"]].append(form)
    return by_desa


def consistent(form: Form) -> bool:
    valid = sum(form.votes.values())
    return valid > 0 and form.fields.get("suara_sah") == valid


def shares(form: Form) -> list[int] | None:
    return [form.votes["01"], form.votes["02"]]


def turnout(form: Form) -> list[int] | None:
    valid = sum(form.votes.values())
    if not form.dpt or valid > reserve_cap(form.dpt):
        return None
    return [valid, reserve_cap(form.dpt) - valid]


def invalid(form: Form) -> list[int] | None:
    valid, voters = sum(form.votes.values()), form.fields.get("pengguna_hak_pilih")
    spoilt = form.fields.get("suara_tidak_sah")
    if voters is None or spoilt is None or voters <= 0 or valid + spoilt != voters:
        return None
    return [valid, spoilt]


def closeness_table(by_desa: dict[str, list[Form]]) -> None:
    sums: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for forms in by_desa.values():
        placed = [
            (f.place[1], f.votes["01"] / sum(f.votes.values()))
            for f in forms
            if f.place and consistent(f)
        ]
        for i, (number, share) in enumerate(placed):
            for other_number, other_share in placed[i + 1 :]:
                gap = min(abs(number - other_number), 10)
                sums[gap][0] += (share - other_share) ** 2
                sums[gap][1] += 1
    print("1. closeness: mean squared difference of 01's share by TPS-number gap")
    for gap in sorted(sums):
        total, n = sums[gap]
        label = f"{gap}" if gap < 10 else "10+"
        print(f"   gap {label:>3}: {total / n:.4f} ({int(n):,} pairs)")


def predictive(
    by_desa: dict[str, list[Form]],
    counts_of: Counts,
    sample: int,
    concentrations: Sequence[float],
    powers: Sequence[float],
) -> dict[tuple[float, float], float]:
    """Mean log likelihood ratio (kernel mixture over flat) of held-out consistent forms."""
    pools = {
        desa: [(f, c) for f in forms if consistent(f) and (c := counts_of(f)) is not None]
        for desa, forms in by_desa.items()
    }
    items = [(d, i) for d, pool in pools.items() if len(pool) >= 4 for i in range(len(pool))]
    items = random.Random(2019).sample(items, min(sample, len(items)))
    out = {}
    for concentration in concentrations:
        for power in powers:
            total = 0.0
            for desa, index in items:
                form, counts = pools[desa][index]
                flat = plausibility.log_dirichlet_multinomial(counts, [1.0] * len(counts))
                alphas, weights = [], []
                for j, (other, other_counts) in enumerate(pools[desa]):
                    if j != index:
                        size = sum(other_counts) + 0.5 * len(other_counts)
                        alphas.append([concentration * (x + 0.5) / size for x in other_counts])
                        weights.append(plausibility.gap(form, other) ** -power)
                kernels = plausibility.Kernels.of(alphas, weights)
                total += math.log(kernels.ratio(counts, flat))
            out[concentration, power] = total / len(items)
    return out


def kernel_tables(by_desa: dict[str, list[Form]], sample: int) -> None:
    print(f"2. kernels: mean log likelihood ratio over flat, {sample:,} held-out forms each")
    grids: list[tuple[str, Counts, Sequence[float]]] = [
        ("shares", shares, (50.0, 100.0, 200.0)),
        ("turnout", turnout, (100.0, 400.0, 1000.0)),
        ("invalid", invalid, (100.0, 400.0, 1000.0)),
    ]
    for name, counts_of, concentrations in grids:
        powers = (0.0, 1.0, 2.0, 3.0)
        table = predictive(by_desa, counts_of, sample, concentrations, powers)
        print(f"   {name:8} " + "".join(f"  power {p:g}" for p in powers))
        for c in concentrations:
            cells = "".join(f"  {table[c, p]:7.4f}" for p in powers)
            print(f"   {c:8g} {cells}")
        best = max(table, key=lambda key: table[key])
        print(f"   best: concentration {best[0]:g}, closeness power {best[1]:g}")


def broken(by_desa: dict[str, list[Form]]) -> list[tuple[Form, list[Form]]]:
    """Every form whose votes do not add up to its valid votes, with its desa."""
    out = []
    for forms in by_desa.values():
        for form in forms:
            if "suara_sah" in form.fields and not consistent(form):
                neighbours = [f for f in forms if f is not form]
                if correction.evidence(form, neighbours=neighbours) is not None:
                    out.append((form, neighbours))
    return out


def likelihood_grid(cases: list[tuple[Form, list[Form]]], name: str, grid: Sequence[float]) -> None:
    """The log likelihood of the broken forms for each value of the constant ``name``."""
    kept = getattr(correction, name)
    scores = {}
    try:
        for value in grid:
            setattr(correction, name, value)
            found = (correction.evidence(form, neighbours=n) for form, n in cases)
            scores[value] = sum(math.log(e) for e in found if e)
    finally:
        setattr(correction, name, kept)
    top = max(scores, key=lambda v: scores[v])
    cells = "  ".join(f"{v:g}: {x:.1f}" for v, x in scores.items())
    print(f"   {name}: {cells}")
    print(f"   best: {name} {top:g}")


def edit_tables(by_desa: dict[str, list[Form]]) -> None:
    cases = broken(by_desa)
    grid = [i / 20 for i in range(2, 19)]
    print(f"3. edit model: log likelihood of {len(cases):,} broken forms")
    likelihood_grid(cases, "COPIED_DIGIT", grid)
    likelihood_grid(cases, "CARRIED", grid)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--sample", type=int, default=4000)
    args = parser.parse_args(argv)
    by_desa = load(args.data)
    closeness_table(by_desa)
    kernel_tables(by_desa, args.sample)
    edit_tables(by_desa)
    in_use = [
        (plausibility, "SHARE_CONCENTRATION"),
        (plausibility, "TURNOUT_CONCENTRATION"),
        (plausibility, "INVALID_CONCENTRATION"),
        (plausibility, "SHARE_CLOSENESS"),
        (plausibility, "RATE_CLOSENESS"),
        (correction, "COPIED_DIGIT"),
        (correction, "CARRIED"),
    ]
    print("in use: " + ", ".join(f"{n} {getattr(module, n):g}" for module, n in in_use))
    return 0


if __name__ == "__main__":
    sys.exit(main())
