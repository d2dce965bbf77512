"""Checks on each TPS, scored against the ground truth of a seeded synthetic election with
planted errors (one province, built in a couple of seconds), and on a clean one."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA
from saksi.examples.synthetic import AnomalyPlan
from saksi.examples.synthetic_election import build_synthetic
from saksi.forensics import checks
from saksi.forensics.evaluation import score_flags
from saksi.forensics.forms import ContestForms, Form, TpsInfo, load_forms
from saksi.forensics.report import report_from_forms
from saksi.ingest.rules import RULES, check_rules

PLAN = AnomalyPlan(
    extra_digit=30,
    swapped_fields=20,
    total_in_candidate=10,
    inflated_turnout=20,
    missing_forms=10,
    source_disagreements=30,
)


def _build(root: Path, plan: AnomalyPlan) -> tuple[ContestForms, list[dict[str, Any]]]:
    truth_path = root / "truth.jsonl"
    election = build_synthetic(
        DATA / "pemilu2024",
        root / "election",
        seed=7,
        provinces=("65",),
        anomalies=plan,
        truth_path=truth_path,
        say=lambda _: None,
    )
    try:
        forms = load_forms(election.store, "PPWP")
    finally:
        election.close()
    truth = [json.loads(line) for line in truth_path.read_text().splitlines()]
    return forms, truth


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[ContestForms, list[Any]]:
    return _build(tmp_path_factory.mktemp("planted"), PLAN)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[ContestForms, list[Any]]:
    return _build(tmp_path_factory.mktemp("clean"), AnomalyPlan())


def all_flags(forms: ContestForms) -> list[checks.Flag]:
    flags = checks.disagreement_flags(forms)
    for source in forms.sources:
        flags += checks.consistency_flags(forms, source, lambda _: None)
        flags += checks.sex_turnout_flags(forms, source)
        flags += checks.outlier_flags(forms, source)
    return flags


def test_planted_per_form_errors_are_found_with_few_false_flags(
    planted: tuple[ContestForms, list[dict[str, Any]]],
) -> None:
    forms, truth = planted
    scores = {s.name: s for s in score_flags(all_flags(forms), truth, forms.official)}
    for name in ("extra_digit", "arithmetic_break"):
        assert scores[name].planted > 0
        assert scores[name].recall >= 0.99, scores[name]
        assert scores[name].precision >= 0.95, scores[name]
    assert scores["impossible_turnout"].precision >= 0.95
    assert scores["source_disagreement"].recall == 1.0
    assert scores["source_disagreement"].precision >= 0.95


def test_inflation_past_the_reserve_cap_is_always_flagged(
    planted: tuple[ContestForms, list[dict[str, Any]]],
) -> None:
    forms, truth = planted
    flagged = {(f.tps_id, f.rule) for f in all_flags(forms) if f.source == forms.official}
    dpt = {f.tps.tps_id: f.tps.dpt for f in forms.forms(forms.official)}
    past_cap = [
        t
        for t in truth
        if t["kind"] == "inflated_turnout" and t["planted"] > (dpt[t["tps"]] or 0) * 1.02 + 1
    ]
    assert past_cap
    for entry in past_cap:
        assert (entry["tps"], "voters_exceed_dpt_reserve") in flagged


def test_stuffing_is_flagged_wherever_a_copy_or_the_cap_can_show_it(
    planted: tuple[ContestForms, list[dict[str, Any]]],
) -> None:
    """Ballots added within the reserve cap and carried through every total leave the form
    consistent: only another source's copy shows them. Every such TPS with a copy, and
    every one pushed past the cap, is flagged on its official form."""
    forms, truth = planted
    flagged = {f.tps_id for f in all_flags(forms) if f.source == forms.official}
    copied = {f.tps.tps_id for s in forms.sources if s != forms.official for f in forms.forms(s)}
    dpt = {f.tps.tps_id: f.tps.dpt or 0 for f in forms.forms(forms.official)}
    stuffed = [t for t in truth if t["kind"] == "inflated_turnout"]
    visible = [t for t in stuffed if t["tps"] in copied or t["planted"] > dpt[t["tps"]] * 1.02]
    assert len(visible) >= len(stuffed) - 2
    assert [t["tps"] for t in visible if t["tps"] not in flagged] == []


def test_every_disagreeing_copy_is_flagged_with_both_values(
    planted: tuple[ContestForms, list[dict[str, Any]]],
) -> None:
    forms, truth = planted
    flags = {(f.tps_id, f.source): f for f in checks.disagreement_flags(forms)}
    planted_copies = [t for t in truth if t["kind"] == "source_disagreements"]
    assert planted_copies
    for entry in planted_copies:
        flag = flags[(entry["tps"], entry["source"])]
        assert flag.detail["fields"][entry["field"]] == [entry["official"], entry["planted"]]
    # Where copies agree against the official form, its flag names its own figures too.
    values = {f.tps.tps_id: f.values for f in forms.forms(forms.official)}
    official = [f for f in flags.values() if f.source == forms.official]
    assert official
    for flag in official:
        names = sorted({n for differs in flag.detail["copies"].values() for n in differs})
        own = ", ".join(f"{n} {values[flag.tps_id][n]}" for n in names)
        assert f"the official form, with {own}, differs from other copies" in flag.message


def test_a_clean_election_raises_no_form_flags_and_few_outliers(
    clean: tuple[ContestForms, list[dict[str, Any]]],
) -> None:
    forms, truth = clean
    assert truth == []
    flags = all_flags(forms)
    rules = Counter(f.rule for f in flags)
    assert rules["source_disagreement"] == 0
    assert sum(n for rule, n in rules.items() if not rule.endswith("_outlier")) == 0
    forms_checked = sum(len(forms.forms(s)) for s in forms.sources)
    outliers = rules["turnout_outlier"] + rules["share_outlier"]
    assert outliers <= 0.01 * forms_checked


def test_a_turnout_far_below_the_kecamatan_is_an_outlier(
    clean: tuple[ContestForms, list[dict[str, Any]]],
) -> None:
    forms, _ = clean
    official = forms.forms(forms.official)
    index, target = next(
        (i, f) for i, f in enumerate(official) if f.tps.domestic and (f.tps.dpt or 0) >= 200
    )
    # Turnout of 2.5%: nothing else changes, so only the outlier test can see it.
    values = {**target.values, "pengguna_hak_pilih": (target.tps.dpt or 0) // 40}
    changed = _with_official_form(forms, index, values)
    found = [
        f
        for f in checks.outlier_flags(changed, forms.official)
        if f.tps_id == target.tps.tps_id and f.rule == "turnout_outlier"
    ]
    assert len(found) == 1
    assert found[0].detail["z"] < -checks.OUTLIER_Z


def _with_official_form(forms: ContestForms, index: int, values: dict[str, int]) -> ContestForms:
    return _replaced(forms, index, values=values)


def _first_official(forms: ContestForms, wanted: Callable[[Form], bool]) -> tuple[int, Form]:
    """The first official form ``wanted`` accepts, with its index."""
    return next((i, f) for i, f in enumerate(forms.forms(forms.official)) if wanted(f))


def _replaced(forms: ContestForms, index: int, **changes: Any) -> ContestForms:
    """``forms`` with the official form at ``index`` changed as ``dataclasses.replace``."""
    official = forms.forms(forms.official)
    changed = dataclasses.replace(official[index], **changes)
    return dataclasses.replace(
        forms,
        by_source={
            **forms.by_source,
            forms.official: [*official[:index], changed, *official[index + 1 :]],
        },
    )


def test_more_voters_of_one_sex_than_its_dpt_and_the_other_lists_is_flagged(
    clean: tuple[ContestForms, list[dict[str, Any]]],
) -> None:
    forms, _ = clean
    index, target = _first_official(
        forms,
        lambda f: (
            "dpt_perempuan" in f.values
            and f.values["pengguna_hak_pilih"]
            > f.values["dpt_perempuan"] + f.values["pengguna_dptb"] + f.values["pengguna_dpk"]
        ),
    )
    v = target.values
    others = v["pengguna_dptb"] + v["pengguna_dpk"]
    limit = v["dpt_perempuan"] + others
    voters = v["pengguna_hak_pilih"]

    def female_voters(count: int) -> ContestForms:
        values = {
            **v,
            "pengguna_hak_pilih_perempuan": count,
            "pengguna_hak_pilih_laki": voters - count,  # the gender split still holds
        }
        return _with_official_form(forms, index, values)

    # Every non-DPT voter a woman: possible.
    assert checks.sex_turnout_flags(female_voters(limit), forms.official) == []
    over = female_voters(limit + 1)
    [flag] = checks.sex_turnout_flags(over, forms.official)
    assert flag.tps_id == target.tps.tps_id
    assert flag.rule == "voters_exceed_dpt_by_sex"
    assert flag.detail == {
        "sex": "female",
        "voters": limit + 1,
        "dpt": v["dpt_perempuan"],
        "other_lists": others,
    }
    assert f"{limit + 1} female voters" in flag.message
    # The report carries it, as `saksi forensics` and the API serve it.
    report = report_from_forms(over, n_bootstrap=10)
    [served] = [f for f in report["flags"] if f["rule"] == "voters_exceed_dpt_by_sex"]
    assert (served["tps_id"], served["source"], served["detail"]) == (
        target.tps.tps_id,
        forms.official,
        flag.detail,
    )


def _retyped(forms: ContestForms, index: int, values: dict[str, int], dpt: int) -> ContestForms:
    """The official form at ``index`` with ``values`` and registry ``dpt``, and the rules it
    then breaks (as ingest would have stored them)."""
    official = forms.forms(forms.official)
    form = official[index]
    votes = {c: values[c] for c in form.choices}
    fields = {k: v for k, v in values.items() if k not in votes}
    rules = check_rules(votes, fields, domestic=True, registry_dpt=dpt, max_dpt=300)
    tps = dataclasses.replace(form.tps, dpt=dpt)
    return _replaced(forms, index, values=values, tps=tps, rules=tuple(rules))


def test_a_broken_rule_flag_gives_its_figures_and_the_correction_that_mends_it(
    clean: tuple[ContestForms, list[dict[str, Any]]],
) -> None:
    forms, _ = clean
    index, target = _first_official(
        forms, lambda f: bool(f.tps.domestic and f.tps.dpt and 10 <= f.values["01"] < 100)
    )
    v = target.values
    typed = int(f"{str(v['01'])[0]}3{str(v['01'])[1:]}")  # 41 typed as 431 (BRIEF)
    votes = sum(v[c] for c in target.choices) - v["01"] + typed
    # The registry's DPT 20 below the voters: the voters break DPT + 2% whatever 01 is.
    low_dpt = v["pengguna_hak_pilih"] - 20
    report = report_from_forms(_retyped(forms, index, {**v, "01": typed}, low_dpt), n_bootstrap=10)
    flags = {f["rule"]: f for f in report["flags"] if f["tps_id"] == target.tps.tps_id}
    assert {"votes_sum_valid", "count_exceeds_tps_cap", "voters_exceed_dpt_reserve"} <= set(flags)
    summed = flags["votes_sum_valid"]
    assert f"01 {typed} + " in summed["message"]
    assert f"= {votes}, but suara_sah is {v['suara_sah']}" in summed["message"]
    assert summed["detail"]["figures"] == {
        **{c: v[c] for c in target.choices},
        "01": typed,
        "suara_sah": v["suara_sah"],
    }
    assert summed["correction"] == {"01": v["01"]}
    assert summed["detail"]["typed"] == {"01": typed}
    assert summed["detail"]["edit"] == "digit_inserted"
    assert f"likely true value 01 {v['01']} (one digit too many" in summed["message"]
    assert f"the largest count is 01 {typed}" in flags["count_exceeds_tps_cap"]["message"]
    assert flags["count_exceeds_tps_cap"]["correction"] == {"01": v["01"]}
    # The correction leaves the voters above DPT + 2%: that flag does not carry it.
    reserve = flags["voters_exceed_dpt_reserve"]
    assert "correction" not in reserve
    assert (
        f"pengguna_hak_pilih {v['pengguna_hak_pilih']}, but DPT {low_dpt} + 2%"
        in (reserve["message"])
    )


def test_a_stuffed_form_gets_no_correction_and_its_flags_say_why(
    planted: tuple[ContestForms, list[dict[str, Any]]],
) -> None:
    forms, truth = planted
    stuffed = {t["tps"] for t in truth if t["kind"] == "inflated_turnout"}
    report = report_from_forms(forms, n_bootstrap=10)
    mine = [
        f
        for f in report["flags"]
        if f["tps_id"] in stuffed and f["source"] == forms.official and f["rule"] in RULES
    ]
    assert {f["rule"] for f in mine} >= {"ballot_accounting", "voters_exceed_dpt_reserve"}
    for flag in mine:
        assert "correction" not in flag, flag["message"]
        # The sum the model sought a slip in says why it found none; the cap, which no
        # candidate touches, says nothing of it.
        if flag["rule"] == "ballot_accounting":
            assert flag["detail"]["unsure"] in flag["message"]
            assert "no likely correction" in flag["message"]
        if flag["rule"] == "voters_exceed_dpt_reserve":
            assert "unsure" not in flag["detail"]


def _kecamatan_of(
    turnouts: dict[str, list[float]], shares: dict[str, float] | None = None, dpt: int = 250
) -> ContestForms:
    """One kecamatan whose desa have TPS at the given turnouts; 01 gets half the votes, or
    the share given for a TPS id in ``shares``."""
    made: list[Form] = []
    for desa, rates in turnouts.items():
        for number, rate in enumerate(rates, start=1):
            voters = round(rate * dpt)
            tps = TpsInfo(f"{desa}{number:03d}", dpt, True, desa, "K1", "B1", number)
            one = round(voters * (shares or {}).get(tps.tps_id, 0.5))
            values = {"pengguna_hak_pilih": voters, "01": one, "02": voters - one}
            made.append(Form(tps, "kpps", len(made), values, ("01", "02"), (), ()))
    return ContestForms("PPWP", ("01", "02"), "kpps", {"kpps": "official"}, {"kpps": made})


def test_a_tps_far_from_its_desa_is_an_outlier_even_where_its_kecamatan_is_not() -> None:
    rise = [0.0, 0.004, 0.008, -0.004, -0.008, 0.012]
    kecamatan = {
        "D1": [0.75 + r for r in rise],  # a desa that turns out a little less than the rest
        "D2": [0.80 + r for r in rise],
        "D3": [0.80 - r for r in rise],
        "D4": [0.805 + r for r in rise],
    }
    assert checks.outlier_flags(_kecamatan_of(kecamatan), "kpps") == []
    # One TPS of D1 at 86%: some way above the kecamatan, far above its own desa.
    kecamatan["D1"][0] = 0.86
    [flag] = checks.outlier_flags(_kecamatan_of(kecamatan), "kpps")
    assert (flag.tps_id, flag.rule, flag.detail["area"]) == ("D1001", "turnout_outlier", "desa")
    assert flag.detail["z"] > checks.OUTLIER_Z
    assert "far from its desa's other TPS" in flag.message
    # A desa of three TPS gives no median to judge by: against the kecamatan alone, the
    # same TPS is not far enough.
    kecamatan["D1"] = kecamatan["D1"][:3]
    assert checks.outlier_flags(_kecamatan_of(kecamatan), "kpps") == []


def test_a_share_far_from_the_neighbours_is_an_outlier() -> None:
    rise = [0.0, 0.004, 0.008, -0.004, -0.008, 0.012]
    kecamatan = {d: [0.80 + r for r in rise] for d in ("D1", "D2", "D3")}
    # Shares near a half everywhere, spread by a few votes, and one TPS at 90% for 01.
    shares = {f"D{d}{n:03d}": 0.5 + 0.01 * ((d + n) % 3 - 1) for d in (1, 2, 3) for n in range(7)}
    assert checks.outlier_flags(_kecamatan_of(kecamatan, shares), "kpps") == []
    shares["D2003"] = 0.9
    flags = checks.outlier_flags(_kecamatan_of(kecamatan, shares), "kpps")
    assert {(f.tps_id, f.rule, f.detail["choice"]) for f in flags} == {
        ("D2003", "share_outlier", "01"),
        ("D2003", "share_outlier", "02"),
    }
    high = next(f for f in flags if f.detail["choice"] == "01")
    assert high.detail["z"] > checks.OUTLIER_Z
    assert f"the share of 01 ({high.detail['votes']} of 202)" in high.message  # 0.808 x 250


def test_no_pooled_plots_for_a_contest_of_many_choices() -> None:
    """A DPR or DPD contest's choices differ by dapil: pooled, they would plot empty grids."""

    def forms_with(choices: int) -> ContestForms:
        ids = tuple(f"{c:02d}" for c in range(1, choices + 1))
        made: list[Form] = []
        for number in range(1, 31):
            tps = TpsInfo(f"T{number:03d}", 250, True, "D1", "K1", "B1", number)
            votes = {c: (number + i) % 7 + 1 for i, c in enumerate(ids)}
            values = {**votes, "pengguna_hak_pilih": sum(votes.values())}
            made.append(Form(tps, "kpps", number, values, ids, (), ()))
        return ContestForms("DPR", ids, "kpps", {"kpps": "official"}, {"kpps": made})

    few = report_from_forms(forms_with(3), n_bootstrap=10)["region_statistics"]
    assert few["overall"]["tps"] == 30
    many = report_from_forms(forms_with(21), n_bootstrap=10)["region_statistics"]
    assert many["overall"] is None
    assert len(many["regions"]) == 1  # the region's own statistics are still there


def test_each_region_is_tested_on_the_choices_of_its_own_ballots() -> None:
    """A DPD contest lists every province's candidates; a region's ballot has its own."""
    made: list[Form] = []
    for region, ballot in (("B1", ("01", "02")), ("B2", ("03", "04"))):
        for number in range(1, 31):
            tps = TpsInfo(
                f"{region}{number:03d}", 250, True, f"{region}D", "K" + region, region, number
            )
            votes = {c: 60 + (number * (i + 3)) % 40 for i, c in enumerate(ballot)}
            values = {**votes, "pengguna_hak_pilih": sum(votes.values())}
            made.append(Form(tps, "kpps", len(made), values, ballot, (), ()))
    forms = ContestForms(
        "DPD", ("01", "02", "03", "04"), "kpps", {"kpps": "official"}, {"kpps": made}
    )
    statistics = report_from_forms(forms, n_bootstrap=10)["region_statistics"]
    tested = {
        r["region"]: sorted({k.split(":")[1] for k in r["tests"] if ":" in k})
        for r in statistics["regions"]
    }
    assert tested == {"B1": ["01", "02"], "B2": ["03", "04"]}
    # Pooled, a choice would count the TPS without it on their ballot: no pooled plots.
    assert statistics["overall"] is None
