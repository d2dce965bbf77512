"""The forensics report of one contest: every flag with its likely correction, and the
statistics of each kabupaten/kota with the regions whose tests stand out after
multiple-testing control. This is what `saksi forensics --json` prints."""

from __future__ import annotations

import multiprocessing
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from saksi.forensics import checks
from saksi.forensics.correction import Correction, Neighbourhood, Unsure, likely_correction
from saksi.forensics.correction import Form as CorrectionForm
from saksi.forensics.forms import (
    READING,
    ContestForms,
    Form,
    Progress,
    load_forms,
    no_progress,
)
from saksi.forensics.ladder_flags import LADDER_RULES, store_ladder_flags
from saksi.forensics.multiple import flag_regions
from saksi.forensics.statistics import RegionStatistics, plot_statistics, region_statistics
from saksi.ingest.rules import RULES
from saksi.store.base import Store
from saksi.tally.query import default_contest

__all__ = ["CHECKING", "READING", "TESTING", "forensics_report", "report_from_forms"]

# The stages ``progress`` hears of, after READING the forms (saksi.forensics.forms).
CHECKING = "checking each TPS"
TESTING = "testing each region"

REGION_LEVEL = "kabupaten_kota"  # where a "set" share would be decided and can be seen
ALPHA = 0.05
N_BOOTSTRAP = 200
MIN_NEIGHBOURS = 5  # fewer forms in the desa: the kecamatan's are the neighbours
# More choices (a DPR or DPD contest): no plots of all TPS pooled, and no per-choice
# columns in the HTML table of every region.
MAX_PLOTTED_CHOICES = 20


def _correction_form(form: Form) -> CorrectionForm:
    votes = {c: form.values[c] for c in form.choices}
    fields = {k: v for k, v in form.values.items() if k not in votes}
    return CorrectionForm(votes, fields, form.tps.dpt, (form.tps.desa, form.tps.number))


def _corrector(forms: ContestForms, source: str) -> Callable[[Form], Correction | Unsure | None]:
    """The likely correction of a source's form, from that form and its neighbours of the
    same source only (never another source's copy)."""
    by_desa: dict[str, list[Form]] = defaultdict(list)
    by_kecamatan: dict[str | None, list[Form]] = defaultdict(list)

    def index() -> None:
        """Built at the first broken form: most sources have none."""
        for form in forms.forms(source):
            by_desa[form.tps.desa].append(form)
            by_kecamatan[form.tps.kecamatan].append(form)

    converted: dict[int, CorrectionForm] = {}  # a neighbour serves many broken forms

    def as_correction_form(form: Form) -> CorrectionForm:
        found = converted.get(id(form))
        if found is None:
            found = converted[id(form)] = _correction_form(form)
        return found

    clean: dict[int, Neighbourhood] = {}  # per desa or kecamatan

    def correct(form: Form) -> Correction | Unsure | None:
        if not by_desa:
            index()
        near = by_desa[form.tps.desa]
        if len(near) <= MIN_NEIGHBOURS:
            near = by_kecamatan[form.tps.kecamatan]
        # Only forms that keep their own arithmetic, so never the form being corrected.
        neighbours = clean.get(id(near))
        if neighbours is None:
            neighbours = clean[id(near)] = Neighbourhood(
                [as_correction_form(f) for f in near if not f.rules]
            )
        return likely_correction(
            _correction_form(form), neighbours=neighbours, domestic=form.tps.domestic
        )

    return correct


def _region_arrays(forms: Sequence[Form], choices: Sequence[str]) -> dict[str, Any]:
    votes = {c: np.array([f.values.get(c, 0) for f in forms], dtype=np.int64) for c in choices}
    valid = np.array([sum(f.values.get(c, 0) for c in choices) for f in forms], dtype=np.int64)
    voters = np.array([f.values.get("pengguna_hak_pilih", 0) for f in forms], dtype=np.int64)
    dpt = np.array([f.tps.dpt or np.nan for f in forms], dtype=float)
    return {"votes": votes, "valid_votes": valid, "voters": voters, "dpt": dpt}


def region_inputs(forms: ContestForms) -> dict[str, dict[str, Any]]:
    """Per kabupaten/kota, the arrays its statistics need, from the official forms that
    keep their own arithmetic (a broken form's numbers would test the typing, not the
    vote)."""
    groups: dict[str, list[Form]] = defaultdict(list)
    for form in forms.forms(forms.official):
        if form.tps.kabupaten and not form.rules:
            groups[form.tps.kabupaten].append(form)
    return {
        region: _region_arrays(members, _choices_on(members, forms.choices))
        for region, members in sorted(groups.items())
    }


def _choices_on(members: Sequence[Form], choices: Sequence[str]) -> list[str]:
    """The contest's choices on the region's ballots, in contest order: a DPD or DPR
    contest lists every dapil's, and columns of zeros for the rest would take gigabytes
    nationally and test nothing."""
    present = {c for form in members for c in form.choices}
    return [c for c in choices if c in present]


def all_region_statistics(
    inputs: dict[str, dict[str, Any]], seed: int, n_bootstrap: int
) -> dict[str, RegionStatistics]:
    """Every region's statistics, each region seeded from ``seed`` and its position."""
    return {
        region: region_statistics(
            **arrays, rng=np.random.default_rng([seed, offset]), n_bootstrap=n_bootstrap
        )
        for offset, (region, arrays) in enumerate(inputs.items())
    }


def overall_statistics(
    inputs: dict[str, dict[str, Any]], choices: Sequence[str], seed: int, n_bootstrap: int
) -> dict[str, Any] | None:
    """Every region's forms pooled, for the plots of the whole election: its fingerprints
    (turnout × share, and from them the spread of shares) and digit distributions. None
    where the regions' ballots differ (a DPR or DPD contest's choices differ by dapil:
    pooled, a choice would count every TPS without it as a zero share) or the contest has
    more than MAX_PLOTTED_CHOICES choices."""
    arrays = list(inputs.values())
    if not choices or len(choices) > MAX_PLOTTED_CHOICES:
        return None
    if any(list(a["votes"]) != list(choices) for a in arrays):
        return None
    pooled = plot_statistics(
        {c: np.concatenate([a["votes"][c] for a in arrays] or [[]]) for c in choices},
        *(np.concatenate([a[k] for a in arrays] or [[]]) for k in ("valid_votes", "voters", "dpt")),
        rng=np.random.default_rng([seed, len(inputs)]),
        n_bootstrap=n_bootstrap,
    )
    return {
        "region": None,
        "name": "all TPS",
        "tps": sum(len(a["valid_votes"]) for a in arrays),
        **pooled.to_json(),
    }


def _regions(
    forms: ContestForms, inputs: dict[str, dict[str, Any]], results: dict[str, RegionStatistics]
) -> dict[str, Any]:
    flagged = flag_regions(
        {region: stats.alarm_p_values() for region, stats in results.items()}, alpha=ALPHA
    )
    standing_out = {f.region for f in flagged}
    return {
        "level": REGION_LEVEL,
        "alpha": ALPHA,
        "method": "Benjamini-Hochberg across every region and test",
        "flags": [f.to_json() for f in flagged],
        "regions": [
            {
                "region": region,
                "name": forms.region_names.get(region, region),
                "tps": len(inputs[region]["valid_votes"]),
                "tests": {key: result.to_json() for key, result in stats.tests.items()},
                # The fingerprints (2-D histograms) of the regions that stand out only:
                # they are what a reader plots, and all of them would weigh megabytes.
                "fingerprints": {
                    key: fingerprint.to_json() for key, fingerprint in stats.fingerprints.items()
                }
                if region in standing_out
                else {},
            }
            for region, stats in results.items()
        ],
    }


def _rank(flag: checks.Flag) -> tuple[int, float, str, str, str]:
    """Broken forms first, then disagreements, then outliers, the farthest first."""
    order = {"source_disagreement": 1, "turnout_outlier": 2, "share_outlier": 2}
    far = -abs(float(flag.detail.get("z", 0.0)))
    return order.get(flag.rule, 0), far, flag.tps_id, flag.source, flag.rule


def _tps_flags(forms: ContestForms, progress: Progress) -> list[checks.Flag]:
    sources = list(forms.sources)
    flags = checks.disagreement_flags(forms)
    for done, source in enumerate(sources, 1):
        progress(CHECKING, done, len(sources) + 1)
        flags += checks.consistency_flags(forms, source, _corrector(forms, source))
        flags += checks.sex_turnout_flags(forms, source)
        flags += checks.outlier_flags(forms, source)
    progress(CHECKING, len(sources) + 1, len(sources) + 1)
    return flags


def report_from_forms(
    forms: ContestForms,
    *,
    seed: int = 2024,
    n_bootstrap: int = N_BOOTSTRAP,
    parallel: bool = False,
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """The report; with ``parallel`` the region statistics (numpy, half the work) run in
    a second process while this one checks each TPS. That process is spawned, so a script
    that asks for it must guard its main module (``if __name__ == "__main__"``).
    ``progress`` hears of each stage: CHECKING (the disagreements, then each source) and
    TESTING (the regions' statistics, then those of every TPS pooled)."""
    started = time.perf_counter()
    inputs = region_inputs(forms)
    progress(CHECKING, 0, len(forms.sources) + 1)  # the disagreements, then each source
    progress(TESTING, 0, 2)
    if parallel:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            statistics = pool.submit(all_region_statistics, inputs, seed, n_bootstrap)
            flags = _tps_flags(forms, progress)
            results = statistics.result()
    else:
        flags = _tps_flags(forms, progress)
        results = all_region_statistics(inputs, seed, n_bootstrap)
    progress(TESTING, 1, 2)
    photos = {(f.tps.tps_id, f.source): f.photos for s in forms.sources for f in forms.forms(s)}
    items = []
    for flag in sorted(flags, key=_rank):
        item = flag.to_json()
        item["tps_url"] = f"/tps/{flag.tps_id}"
        item["photos"] = [
            f"/photos/{h[:2]}/{h}" for h in photos.get((flag.tps_id, flag.source), ())
        ]
        items.append(item)
    regions = _regions(forms, inputs, results)
    regions["overall"] = overall_statistics(inputs, forms.choices, seed, n_bootstrap)
    progress(TESTING, 2, 2)
    return {
        "contest": forms.contest,
        "official_source": forms.official,
        "rules": {**RULES, **checks.FORENSIC_RULES, **LADDER_RULES},
        "flags": items,
        "region_statistics": regions,
        "seconds": round(time.perf_counter() - started, 2),
    }


def forensics_report(
    store: Store,
    contest: str | None = None,
    *,
    seed: int = 2024,
    n_bootstrap: int = N_BOOTSTRAP,
    parallel: bool = False,
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """The report of ``contest`` (the first contest if None), from the projection store;
    ``progress`` hears of READING the forms, then as in ``report_from_forms``.

    The ladder's flags (a recap row that differs from what was signed below it) come
    first, the largest first: they concern the legal result itself.
    """
    contest_id = contest or default_contest(store)
    forms = load_forms(store, contest_id, progress)
    report = report_from_forms(
        forms, seed=seed, n_bootstrap=n_bootstrap, parallel=parallel, progress=progress
    )
    report["flags"] = [*store_ladder_flags(store, contest_id), *report["flags"]]
    return {"log_size": store.log_size(), **report}
