"""The consistency rules of form C.Hasil: the one list of them, each with a stable id.

A broken rule is a flag for a human, never a rejection: paper forms do break them. A rule
is skipped when a field it needs is absent from the form.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["RULES", "check_rules", "reserve_cap"]

RULES: dict[str, str] = {
    "votes_sum_valid": "choice votes do not sum to valid votes (suara sah)",
    "valid_invalid_voters": "valid + invalid votes do not equal voters who voted",
    "valid_invalid_total": "valid + invalid votes do not equal the total on the form",
    "valid_invalid_ballots": "valid + invalid votes do not equal ballots used",
    "ballots_used_voters": "ballots used do not equal voters who voted",
    "voters_by_list": "voters who voted do not equal DPT + DPTb + DPK voters",
    "gender_split_dpt": "DPT does not equal male + female DPT",
    "gender_split_voters": "voters who voted do not equal male + female voters",
    "dpt_voters_exceed_dpt": "voters from the DPT exceed the DPT",
    "ballot_accounting": "ballots received do not equal used + damaged + unused",
    "voters_exceed_dpt_reserve": "voters exceed DPT plus the 2% ballot reserve at a domestic TPS",
    "count_exceeds_tps_cap": "a count is larger than a domestic TPS can hold",
}

RULE_IDS = tuple(RULES)


def reserve_cap(dpt: int) -> int:
    """Ballots a TPS receives: DPT plus a 2% reserve, rounded up (BRIEF: ballot accounting)."""
    return dpt + -(-dpt * 2 // 100)


def _sum(fields: Mapping[str, int], *names: str) -> int | None:
    total = 0
    for name in names:
        value = fields.get(name)
        if value is None:
            return None
        total += value
    return total


def _differs(left: int | None, right: int | None) -> bool:
    return left is not None and right is not None and left != right


def check_rules(
    votes: Mapping[str, int],
    fields: Mapping[str, int],
    *,
    domestic: bool,
    registry_dpt: int | None,
    max_dpt: int,
) -> list[str]:
    """Rule ids the form breaks, in RULES order."""
    broken: list[str] = []
    get = fields.get
    valid = get("suara_sah")
    voters = get("pengguna_hak_pilih")
    valid_invalid = _sum(fields, "suara_sah", "suara_tidak_sah")
    used = get("surat_suara_digunakan")
    if valid is not None and sum(votes.values()) != valid:
        broken.append("votes_sum_valid")
    if _differs(valid_invalid, voters):
        broken.append("valid_invalid_voters")
    if _differs(valid_invalid, get("suara_total")):
        broken.append("valid_invalid_total")
    if _differs(valid_invalid, used):
        broken.append("valid_invalid_ballots")
    if _differs(used, voters):
        broken.append("ballots_used_voters")
    if _differs(voters, _sum(fields, "pengguna_dpt", "pengguna_dptb", "pengguna_dpk")):
        broken.append("voters_by_list")
    if _differs(get("dpt"), _sum(fields, "dpt_laki", "dpt_perempuan")):
        broken.append("gender_split_dpt")
    if _differs(voters, _sum(fields, "pengguna_hak_pilih_laki", "pengguna_hak_pilih_perempuan")):
        broken.append("gender_split_voters")
    dpt = registry_dpt if registry_dpt is not None else get("dpt")
    dpt_voters = get("pengguna_dpt")
    if dpt is not None and dpt_voters is not None and dpt_voters > dpt:
        broken.append("dpt_voters_exceed_dpt")
    received = get("surat_suara_diterima")
    if _differs(
        received, _sum(fields, "surat_suara_digunakan", "surat_suara_rusak", "surat_suara_sisa")
    ):
        broken.append("ballot_accounting")
    if domestic:
        if dpt is not None and voters is not None and voters > reserve_cap(dpt):
            broken.append("voters_exceed_dpt_reserve")
        cap = reserve_cap(max_dpt)
        if any(v > cap for v in votes.values()) or any(v > cap for v in fields.values()):
            broken.append("count_exceeds_tps_cap")
    return broken
