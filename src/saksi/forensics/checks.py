"""Checks on each TPS: the consistency rules, disagreement between sources, impossible
turnout, and outliers against the neighbouring TPS. Each flag is a prompt for a human to
look at the form's photo, never a verdict."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from saksi.forensics.correction import RELATIONS, Correction, Unsure
from saksi.forensics.figures import correction_words, rule_figures
from saksi.forensics.forms import ContestForms, Form
from saksi.ingest.rules import RULES

__all__ = [
    "FORENSIC_RULES",
    "Flag",
    "consistency_flags",
    "disagreement_flags",
    "outlier_flags",
    "sex_turnout_flags",
]

# Rules beyond the form's own consistency rules (saksi.ingest.rules.RULES).
FORENSIC_RULES: dict[str, str] = {
    "source_disagreement": "this source's copy of the form differs from the official form",
    "voters_exceed_dpt_by_sex": "male or female voters exceed that sex's DPT plus every "
    "DPTb and DPK voter",
    "turnout_outlier": "turnout far from the other TPS of the same desa or kecamatan",
    "share_outlier": "a choice's share far from the other TPS of the same desa or kecamatan",
}

OUTLIER_Z = 8.0  # robust z beyond which a TPS is far from its neighbours
MIN_NEIGHBOURS = 8  # fewer TPS in the kecamatan: no outlier test there
MIN_DESA_NEIGHBOURS = 4  # fewer TPS in the desa: its median says little
_AREA = {False: "kecamatan", True: "desa"}
_MAD_TO_SD = 1.4826  # a normal distribution's sd over its median absolute deviation
MIN_VALID_FOR_SHARE = 20  # fewer valid votes: a share says little


@dataclass(frozen=True, slots=True)
class Flag:
    tps_id: str
    contest: str
    source: str
    rule: str
    message: str
    detail: dict[str, Any]
    correction: dict[str, int] | None = None
    confidence: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "tps_id": self.tps_id,
            "contest": self.contest,
            "source": self.source,
            "rule": self.rule,
            "message": self.message,
            "detail": self.detail,
        }
        if self.correction is not None:
            out["correction"] = self.correction
            out["confidence"] = self.confidence
        return out


def consistency_flags(
    forms: ContestForms, source: str, correct: Callable[[Form], Correction | Unsure | None]
) -> list[Flag]:
    """One flag per consistency rule a form breaks, with the figures it compares; ``correct``
    proposes the likely true value of an arithmetic break, or says why it is unsure. A
    correction goes on the flags of the rules it mends, not on those it leaves broken."""
    out = []
    for form in forms.forms(source):
        if not form.rules:
            continue
        found = correct(form)
        for rule in form.rules:
            words, figures = rule_figures(rule, form)
            message = f"TPS {form.tps.tps_id}: {RULES.get(rule, rule)}"
            detail: dict[str, Any] = {"figures": figures} if figures else {}
            correction, confidence = None, None
            if words:
                message += f": {words}"
            if isinstance(found, Correction) and rule not in found.remaining:
                correction, confidence = dict(found.changes), round(found.confidence, 3)
                detail |= {"edit": found.edit, "typed": {found.field: found.typed}}
                message += f"; {correction_words(found)}"
            elif isinstance(found, Unsure) and _concerns(found, rule, figures):
                detail["unsure"] = found.reason
                message += f"; {correction_words(found)}"
            out.append(
                Flag(
                    form.tps.tps_id,
                    forms.contest,
                    source,
                    rule,
                    message,
                    detail,
                    correction,
                    confidence,
                )
            )
    return out


def _concerns(found: Unsure, rule: str, figures: dict[str, int]) -> bool:
    """Whether an unsure verdict speaks of this broken rule: a sum rule one of whose
    figures the candidates would change (any sum rule, when there is no candidate)."""
    if rule not in RELATIONS:
        return False
    return not found.candidates or any(
        not figures.keys().isdisjoint(c.changes) for c in found.candidates
    )


def _differences(reference: Form, copy: Form) -> dict[str, list[int]]:
    ref = reference.values
    # Both tests run in C: this is per copy nationally, and most copies agree.
    if ref.items() >= copy.values.items():
        return {}
    odd = copy.values.items() - ref.items()
    return {name: [ref[name], value] for name, value in sorted(odd) if name in ref}


def _copies_agree_against(reference: Form, copies: Sequence[Form]) -> bool:
    """Whether at least two copies give the same value for some field, and it is not the
    official form's: then the official form, not one copy, is the likely odd one out."""
    for name, value in reference.values.items():
        others = [c.values[name] for c in copies if name in c.values]
        against = len(others) >= 2 and all(v != value for v in others)
        if against and max(others.count(v) for v in set(others)) >= 2:
            return True
    return False


def disagreement_flags(forms: ContestForms) -> list[Flag]:
    """Field by field, each source's copy against the official form of the same TPS: a flag
    on each copy that differs, and one on the official form when two or more copies agree
    with each other against it, or when one copy differs from it in several fields."""
    official = {f.tps.tps_id: f for f in forms.forms(forms.official)}
    against: dict[str, dict[str, dict[str, list[int]]]] = defaultdict(dict)
    copies = [s for s in forms.sources if s != forms.official]
    out = []
    for source in copies:
        for copy in forms.forms(source):
            reference = official.get(copy.tps.tps_id)
            differs = _differences(reference, copy) if reference is not None else {}
            if not differs:
                continue
            against[copy.tps.tps_id][source] = differs
            words = ", ".join(
                f"{n} {b} where the official form has {a}" for n, (a, b) in differs.items()
            )
            out.append(
                Flag(
                    copy.tps.tps_id,
                    forms.contest,
                    source,
                    "source_disagreement",
                    f"TPS {copy.tps.tps_id}: {source}'s copy says {words}",
                    {"against": forms.official, "fields": differs},
                )
            )
    copies_at: dict[str, list[Form]] = defaultdict(list)  # where some copy differs
    for source in copies:
        for copy in forms.forms(source):
            if copy.tps.tps_id in against:
                copies_at[copy.tps.tps_id].append(copy)
    for tps_id, differing in sorted(against.items()):
        # Two copies agreeing against it, or one copy differing in several fields: a
        # slip changes one number, a form changed on purpose changes several together.
        several = any(len(differs) >= 2 for differs in differing.values())
        if not several and not _copies_agree_against(official[tps_id], copies_at[tps_id]):
            continue  # one copy, one field: either may be the mistyped one
        words = "; ".join(
            f"{source}: " + ", ".join(f"{n} {b}" for n, (_, b) in differs.items())
            for source, differs in differing.items()
        )
        names = sorted({n for differs in differing.values() for n in differs})
        own = ", ".join(f"{n} {official[tps_id].values[n]}" for n in names)
        out.append(
            Flag(
                tps_id,
                forms.contest,
                forms.official,
                "source_disagreement",
                f"TPS {tps_id}: the official form, with {own}, differs from other copies ({words})",
                {"copies": differing},
            )
        )
    return out


_SEXES = (
    ("male", "pengguna_hak_pilih_laki", "dpt_laki"),
    ("female", "pengguna_hak_pilih_perempuan", "dpt_perempuan"),
)


def sex_turnout_flags(forms: ContestForms, source: str) -> list[Flag]:
    """Turnout above 100% within one sex: the voters of a sex are its DPT's voters, at
    most its DPT, plus some of the DPTb and DPK voters. Ballots added for a pair and
    split between the sexes break this when that sex's turnout was already near its DPT,
    even while the TPS as a whole stays within its DPT. Skipped where a field is absent."""
    out = []
    for form in forms.forms(source):
        get = form.values.get
        transferred, by_id_card = get("pengguna_dptb"), get("pengguna_dpk")
        if transferred is None or by_id_card is None:
            continue
        others = transferred + by_id_card
        for sex, voters_field, dpt_field in _SEXES:
            voters, dpt = get(voters_field), get(dpt_field)
            if voters is None or dpt is None or voters <= dpt + others:
                continue
            out.append(
                Flag(
                    form.tps.tps_id,
                    forms.contest,
                    source,
                    "voters_exceed_dpt_by_sex",
                    f"TPS {form.tps.tps_id}: {voters} {sex} voters, more than the {dpt} "
                    f"{sex} voters on the DPT plus all {others} DPTb and DPK voters",
                    {"sex": sex, "voters": voters, "dpt": dpt, "other_lists": others},
                )
            )
    return out


def _voters(form: Form) -> int | None:
    return form.values.get("pengguna_hak_pilih")


def _logit(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    # +0.5 keeps 0 and 100% finite (the empirical logit).
    return np.asarray(np.log((part + 0.5) / (whole - part + 0.5)))


def _group_median(values: np.ndarray, groups: np.ndarray, count: int) -> np.ndarray:
    """The median of ``values`` within each of ``count`` groups (ids 0..count-1)."""
    # One float key, group then value: argsort on it is six times faster than lexsort on
    # the two. Keys stay near 1e5 at most, where float64 still orders values 1e-10 apart.
    low_value = values.min() if len(values) else 0.0
    span = (values.max() - low_value + 1.0) if len(values) else 1.0
    order = np.argsort(groups * span + (values - low_value))
    sizes = np.bincount(groups, minlength=count)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    low = starts + (np.maximum(sizes, 1) - 1) // 2
    high = starts + np.maximum(sizes, 1) // 2
    ranked = values[order]
    safe = np.minimum(np.stack([low, high]), max(len(values) - 1, 0))
    middle = (ranked[safe[0]] + ranked[safe[1]]) / 2 if len(values) else np.zeros(count)
    return np.where(sizes > 0, middle, np.nan)


def _group_ids(names: Sequence[str]) -> tuple[np.ndarray, int]:
    """Each name's group id (0..count-1, in order of first appearance) and the count."""
    ids: dict[str, int] = {}
    groups = np.fromiter((ids.setdefault(n, len(ids)) for n in names), np.int64, len(names))
    return groups, len(ids)


def _robust_z(
    values: np.ndarray, kecamatan: tuple[np.ndarray, int], desa: tuple[np.ndarray, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Each value's robust z against its kecamatan (median and MAD) and against its desa
    (the desa's median, the kecamatan's MAD: a desa's few TPS give a median but too noisy
    a spread to judge by), each from _group_ids. NaN where the kecamatan has fewer than
    MIN_NEIGHBOURS values or no spread, or (for the desa) the desa fewer than
    MIN_DESA_NEIGHBOURS."""
    groups, count = kecamatan
    centre = _group_median(values, groups, count)
    deviation = np.abs(values - centre[groups])
    spread = (_group_median(deviation, groups, count) * _MAD_TO_SD)[groups]
    sizes = np.bincount(groups, minlength=count)
    usable = (sizes[groups] >= MIN_NEIGHBOURS) & (spread > 0)
    desa_groups, desa_count = desa
    desa_centre = _group_median(values, desa_groups, desa_count)[desa_groups]
    desa_usable = usable & (
        np.bincount(desa_groups, minlength=desa_count)[desa_groups] >= MIN_DESA_NEIGHBOURS
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (values - centre[groups]) / spread
        z_desa = (values - desa_centre) / spread
    return np.where(usable, z, np.nan), np.where(desa_usable, z_desa, np.nan)


def _farther(z: np.ndarray, z_desa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per TPS the z farther from 0 of the two, and whether it is the desa's."""
    kecamatan, desa = np.nan_to_num(z), np.nan_to_num(z_desa)
    from_desa = np.abs(desa) > np.abs(kecamatan)
    return np.where(from_desa, desa, kecamatan), from_desa


def outlier_flags(forms: ContestForms, source: str) -> list[Flag]:
    """Turnout and each choice's share far from the neighbouring TPS of the same kecamatan,
    or of the same desa (robust z on the logit scale), at domestic TPS with a known DPT."""
    mine = [
        f for f in forms.forms(source) if f.tps.domestic and f.tps.dpt and _voters(f) is not None
    ]
    if not mine:
        return []
    kecamatan = _group_ids([f.tps.kecamatan or f.tps.desa for f in mine])
    desa = _group_ids([f.tps.desa for f in mine])
    voters = np.fromiter((f.values["pengguna_hak_pilih"] for f in mine), float, len(mine))
    dpt = np.fromiter((f.tps.dpt or 0 for f in mine), float, len(mine))
    out = []
    z_turnout, from_desa = _farther(
        *_robust_z(_logit(np.minimum(voters, dpt), dpt), kecamatan, desa)
    )
    for i in np.nonzero(np.abs(z_turnout) > OUTLIER_Z)[0]:
        form, z, area = mine[i], float(z_turnout[i]), _AREA[bool(from_desa[i])]
        out.append(
            Flag(
                form.tps.tps_id,
                forms.contest,
                source,
                "turnout_outlier",
                f"TPS {form.tps.tps_id}: turnout {int(voters[i])} of {int(dpt[i])} is far "
                f"from its {area}'s other TPS (robust z {z:+.1f})",
                {"voters": int(voters[i]), "dpt": int(dpt[i]), "z": round(z, 2), "area": area},
            )
        )
    columns = [
        np.fromiter((f.values.get(c, 0) for f in mine), float, len(mine)) for c in forms.choices
    ]
    votes = np.column_stack(columns) if columns else np.zeros((len(mine), 0))
    valid = votes.sum(axis=1)
    few = valid < MIN_VALID_FOR_SHARE
    for j, choice in enumerate(forms.choices):
        z_share, z_share_desa = _robust_z(
            _logit(votes[:, j], np.maximum(valid, 1)), kecamatan, desa
        )
        z_share[few] = z_share_desa[few] = np.nan
        z_far, from_desa = _farther(z_share, z_share_desa)
        for i in np.nonzero(np.abs(z_far) > OUTLIER_Z)[0]:
            form, z, area = mine[i], float(z_far[i]), _AREA[bool(from_desa[i])]
            out.append(
                Flag(
                    form.tps.tps_id,
                    forms.contest,
                    source,
                    "share_outlier",
                    f"TPS {form.tps.tps_id}: the share of {choice} ({int(votes[i, j])} of "
                    f"{int(valid[i])}) is far from its {area}'s other TPS (robust z {z:+.1f})",
                    {"choice": choice, "votes": int(votes[i, j]), "z": round(z, 2), "area": area},
                )
            )
    return out
