"""The consistency rules of docs/rules.md, written again from that text for the verifier.

Each rule returns True when the form breaks it, and is skipped (False) when a field it
needs is absent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["RULE_ORDER", "RuleSet", "reserve_cap"]

Fields = Mapping[str, int]


def reserve_cap(dpt: int) -> int:
    return dpt + -(-2 * dpt // 100)  # DPT plus 2%, rounded up


RULE_ORDER = (
    "votes_sum_valid",
    "valid_invalid_voters",
    "valid_invalid_total",
    "valid_invalid_ballots",
    "ballots_used_voters",
    "voters_by_list",
    "gender_split_dpt",
    "gender_split_voters",
    "dpt_voters_exceed_dpt",
    "ballot_accounting",
    "voters_exceed_dpt_reserve",
    "count_exceeds_tps_cap",
)

# Rules that compare a total with the sum of its parts: (rule, total, parts).
_SUM_RULES = {
    "valid_invalid_voters": ("pengguna_hak_pilih", ("suara_sah", "suara_tidak_sah")),
    "valid_invalid_total": ("suara_total", ("suara_sah", "suara_tidak_sah")),
    "valid_invalid_ballots": ("surat_suara_digunakan", ("suara_sah", "suara_tidak_sah")),
    "ballots_used_voters": ("pengguna_hak_pilih", ("surat_suara_digunakan",)),
    "voters_by_list": ("pengguna_hak_pilih", ("pengguna_dpt", "pengguna_dptb", "pengguna_dpk")),
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


class RuleSet:
    """The rules as they apply to one source's form: a rule that needs a field the
    source never carries is always skipped, so it is left out once, here."""

    def __init__(self, source_fields: Iterable[str], max_dpt: int) -> None:
        carried = set(source_fields)
        self.sums = [
            (rule, total, parts)
            for rule, (total, parts) in _SUM_RULES.items()
            if total in carried and carried.issuperset(parts)
        ]
        self.cap = reserve_cap(max_dpt)

    def broken(
        self, votes: Mapping[str, int], fields: Fields, registry_dpt: int | None, domestic: bool
    ) -> list[str]:
        """Ids of the rules the form breaks, in the order of docs/rules.md."""
        found = set()
        get = fields.get
        valid = get("suara_sah")
        if valid is not None and sum(votes.values()) != valid:
            found.add("votes_sum_valid")
        for rule, total, parts in self.sums:
            value = get(total)
            if value is None:
                continue
            counted = 0
            for part in parts:
                piece = get(part)
                if piece is None:
                    break
                counted += piece
            else:
                if value != counted:
                    found.add(rule)
        dpt = registry_dpt if registry_dpt is not None else get("dpt")
        from_list = get("pengguna_dpt")
        if dpt is not None and from_list is not None and from_list > dpt:
            found.add("dpt_voters_exceed_dpt")
        if domestic:
            voters = get("pengguna_hak_pilih")
            if dpt is not None and voters is not None and voters > reserve_cap(dpt):
                found.add("voters_exceed_dpt_reserve")
            cap = self.cap
            if any(v > cap for v in votes.values()) or any(v > cap for v in fields.values()):
                found.add("count_exceeds_tps_cap")
        return [rule for rule in RULE_ORDER if rule in found] if found else []
