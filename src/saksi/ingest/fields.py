"""The catalogue of form fields a source's C.Hasil copy may carry (BRIEF: PPWP form fields).

Field names are the Indonesian names on the paper form, so that corrections and exports
speak the form's language. Votes per choice are not fields: they live in ``votes``.
"""

from __future__ import annotations

__all__ = ["FIELDS", "TALLY_FIELDS"]

FIELDS: dict[str, str] = {
    "dpt": "registered voters (DPT) written on the form",
    "dpt_laki": "registered voters, male",
    "dpt_perempuan": "registered voters, female",
    "pengguna_dpt": "voters from the DPT",
    "pengguna_dptb": "voters transferred in (DPTb)",
    "pengguna_dpk": "voters with an ID card only (DPK)",
    "pengguna_hak_pilih": "voters who voted (pengguna hak pilih)",
    "pengguna_hak_pilih_laki": "voters who voted, male",
    "pengguna_hak_pilih_perempuan": "voters who voted, female",
    "suara_sah": "valid votes (suara sah)",
    "suara_tidak_sah": "invalid votes (suara tidak sah)",
    "suara_total": "valid plus invalid votes",
    "surat_suara_diterima": "ballots received",
    "surat_suara_digunakan": "ballots used",
    "surat_suara_rusak": "ballots returned damaged or mis-marked",
    "surat_suara_sisa": "ballots unused",
}

# Fields whose sums the tally reports, under the names scripts rely on.
TALLY_FIELDS: dict[str, str] = {
    "valid": "suara_sah",
    "invalid": "suara_tidak_sah",
    "voters": "pengguna_hak_pilih",
}
