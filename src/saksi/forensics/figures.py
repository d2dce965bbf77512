"""A broken rule's figures and a likely correction, in words: what a reader holds against
the form's photo, so that a flag explains itself without the rule table."""

from __future__ import annotations

from saksi.forensics.correction import RELATIONS, VOTES, Correction, EditKind, Unsure
from saksi.forensics.forms import Form
from saksi.ingest.rules import reserve_cap

__all__ = ["EDIT_WORDS", "correction_words", "rule_figures"]

EDIT_WORDS: dict[EditKind, str] = {
    "digit_substituted": "one digit mistyped",
    "digit_inserted": "one digit too many",
    "digit_deleted": "one digit missing",
    "digits_transposed": "two digits swapped",
    "zero_for_missing": "0 where the figure was missing",
    "miscounted": "a total added up wrongly",
    "copied_field": "another figure of the form copied",
    "total_in_choice": "a total typed as a choice's votes",
    "swapped": "two figures swapped",
    "other": "another value",
}

_LISTED_PARTS = 6  # more parts than this (a DPR ballot's parties): their sum only


def rule_figures(rule: str, form: Form) -> tuple[str, dict[str, int]]:
    """The figures a broken rule compares, as words and as {name: value}; ("", {}) for a
    rule this module does not know or whose figures are absent."""
    values = form.values
    dpt = form.tps.dpt if form.tps.dpt is not None else values.get("dpt")
    if rule in RELATIONS:
        total, parts = RELATIONS[rule]
        names = [n for p in parts for n in (form.choices if p == VOTES else (p,))]
        if total not in values or any(n not in values for n in names):
            return "", {}
        added = sum(values[n] for n in names)
        if len(names) > _LISTED_PARTS:
            words = f"the {len(names)} choices' votes add up to {added}"
        elif len(names) == 1:
            words = f"{names[0]} is {added}"
        else:
            words = " + ".join(f"{n} {values[n]}" for n in names) + f" = {added}"
        figures = {n: values[n] for n in names} | {total: values[total]}
        return f"{words}, but {total} is {values[total]}", figures
    if rule == "voters_exceed_dpt_reserve" and dpt is not None and "pengguna_hak_pilih" in values:
        voters, cap = values["pengguna_hak_pilih"], reserve_cap(dpt)
        return (
            f"pengguna_hak_pilih {voters}, but DPT {dpt} + 2% is {cap}",
            {"pengguna_hak_pilih": voters, "dpt": dpt, "reserve_cap": cap},
        )
    if rule == "dpt_voters_exceed_dpt" and dpt is not None and "pengguna_dpt" in values:
        used = values["pengguna_dpt"]
        return f"pengguna_dpt {used}, but DPT is {dpt}", {"pengguna_dpt": used, "dpt": dpt}
    if rule == "count_exceeds_tps_cap" and values:
        name = max(values, key=lambda n: values[n])
        return f"the largest count is {name} {values[name]}", {name: values[name]}
    return "", {}


def correction_words(found: Correction | Unsure) -> str:
    """A proposed correction, or why there is none, in words."""
    if isinstance(found, Unsure):
        return f"no likely correction: {found.reason}"
    values = ", ".join(f"{name} {value}" for name, value in found.changes.items())
    return (
        f"likely true value {values} ({EDIT_WORDS[found.edit]}: the form has "
        f"{found.field} {found.typed}; confidence {found.confidence:.0%})"
    )
