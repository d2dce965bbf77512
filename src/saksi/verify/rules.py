"""The consistency rules of docs/rules.md, written again from that text for the verifier.

Each rule returns True when the form breaks it, and is skipped (False) when a field it
needs is absent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

__all__ = ["RULE_ORDER", "broken_rules", "reserve_cap"]

Fields = Mapping[str, int]


def reserve_cap(dpt: int) -> int:
    return dpt + -(-2 * dpt // 100)  # DPT plus 2%, rounded up


def _sum_differs(total: str, parts: tuple[str, ...]) -> Callable[[Fields], bool]:
    def rule(f: Fields) -> bool:
        if total not in f or any(p not in f for p in parts):
            return False
        return f[total] != sum(f[p] for p in parts)

    return rule


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

_FIELD_RULES: dict[str, Callable[[Fields], bool]] = {
    "valid_invalid_voters": _sum_differs("pengguna_hak_pilih", ("suara_sah", "suara_tidak_sah")),
    "valid_invalid_total": _sum_differs("suara_total", ("suara_sah", "suara_tidak_sah")),
    "valid_invalid_ballots": _sum_differs(
        "surat_suara_digunakan", ("suara_sah", "suara_tidak_sah")
    ),
    "ballots_used_voters": _sum_differs("pengguna_hak_pilih", ("surat_suara_digunakan",)),
    "voters_by_list": _sum_differs(
        "pengguna_hak_pilih", ("pengguna_dpt", "pengguna_dptb", "pengguna_dpk")
    ),
    "gender_split_dpt": _sum_differs("dpt", ("dpt_laki", "dpt_perempuan")),
    "gender_split_voters": _sum_differs(
        "pengguna_hak_pilih", ("pengguna_hak_pilih_laki", "pengguna_hak_pilih_perempuan")
    ),
    "ballot_accounting": _sum_differs(
        "surat_suara_diterima", ("surat_suara_digunakan", "surat_suara_rusak", "surat_suara_sisa")
    ),
}


def broken_rules(
    votes: Mapping[str, int],
    fields: Fields,
    *,
    registry_dpt: int | None,
    domestic: bool,
    max_dpt: int,
) -> list[str]:
    """Ids of the rules the form breaks, in the order of docs/rules.md."""
    dpt = registry_dpt if registry_dpt is not None else fields.get("dpt")
    out = []
    for rule in RULE_ORDER:
        if rule == "votes_sum_valid":
            broken = "suara_sah" in fields and sum(votes.values()) != fields["suara_sah"]
        elif rule == "dpt_voters_exceed_dpt":
            broken = dpt is not None and "pengguna_dpt" in fields and fields["pengguna_dpt"] > dpt
        elif rule == "voters_exceed_dpt_reserve":
            voters = fields.get("pengguna_hak_pilih")
            broken = (
                domestic and dpt is not None and voters is not None and (voters > reserve_cap(dpt))
            )
        elif rule == "count_exceeds_tps_cap":
            cap = reserve_cap(max_dpt)
            broken = domestic and (
                any(v > cap for v in votes.values()) or any(v > cap for v in fields.values())
            )
        else:
            broken = _FIELD_RULES[rule](fields)
        if broken:
            out.append(rule)
    return out
