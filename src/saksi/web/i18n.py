"""The website's words in Bahasa Indonesia (the default) and English, and number formats."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["LANGUAGES", "Words", "format_count", "format_percent", "words"]

LANGUAGES = ("id", "en")

_ID: dict[str, str] = {
    "site": "Saksi: hasil pemilu yang dapat diperiksa",
    "skip": "Langsung ke isi",
    "nav_overview": "Nasional",
    "nav_flags": "Tanda periksa",
    "nav_verify": "Periksa sendiri",
    "nav_downloads": "Unduhan",
    "switch_language": "English",
    "contest": "Pemilihan",
    "source": "Sumber",
    "show": "Tampilkan",
    "kind_official": "resmi",
    "kind_party_witness": "saksi partai",
    "kind_crowd": "relawan",
    "kind_import": "impor",
    "choice": "Pilihan",
    "votes": "Suara",
    "share": "Persentase",
    "valid": "Suara sah",
    "invalid": "Suara tidak sah",
    "voters": "Pengguna hak pilih",
    "turnout": "Partisipasi",
    "dpt": "DPT",
    "reporting": "TPS masuk",
    "of": "dari",
    "last_update": "Pembaruan terakhir",
    "checkpoint": "Checkpoint log",
    "checkpoint_none": "belum ada checkpoint yang ditandatangani",
    "entries": "entri",
    "leader": "Unggul",
    "lead_by": "unggul dengan selisih",
    "last_minute": "Satu menit terakhir",
    "last_minute_none": "belum ada perubahan yang tercatat dalam satu menit terakhir",
    "new_tps": "TPS baru",
    "live": "Angka diperbarui otomatis.",
    "live_updated": "Diperbarui",
    "children": "Wilayah di bawahnya",
    "tps_list": "TPS di desa/kelurahan ini",
    "name": "Nama",
    "sort_by": "Urutkan menurut",
    "map": "Peta",
    "map_mode": "Warnai menurut",
    "map_leader": "pilihan terunggul",
    "map_share": "persentase pilihan",
    "map_turnout": "partisipasi",
    "map_reporting": "persentase TPS masuk",
    "map_pair": "Pilihan",
    "map_label": "Peta provinsi Indonesia",
    "map_outside": "Di luar peta",
    "map_attribution": "Batas provinsi",
    "level_nasional": "Nasional",
    "level_provinsi": "Provinsi",
    "level_kabupaten_kota": "Kabupaten/kota",
    "level_kecamatan": "Kecamatan",
    "level_desa_kelurahan": "Desa/kelurahan",
    "level_tps": "TPS",
    "no_result": "belum ada hasil",
    "flags": "Tanda periksa",
    "flags_intro": (
        "Formulir yang angkanya tidak konsisten. Tanda ini ajakan untuk memeriksa foto "
        "formulir, bukan putusan."
    ),
    "flags_count": "formulir bertanda",
    "flags_shown": "ditampilkan",
    "rule": "Aturan",
    "region": "Wilayah",
    "all": "semua",
    "filter": "Saring",
    "tps": "TPS",
    "tps_number": "Nomor TPS",
    "tps_kind_domestic": "dalam negeri",
    "tps_kind_overseas": "luar negeri",
    "photos": "Foto formulir",
    "photos_none": "tidak ada foto",
    "photo_zoom": "Perbesar foto",
    "photo_close": "Tutup",
    "photo_page": "Halaman",
    "compare": "Angka tiap sumber",
    "compare_intro": (
        "Angka di bawah diuraikan langsung dari entri log yang ditandatangani, setelah "
        "browser Anda memeriksanya. Sel yang berbeda dari sumber resmi ditandai ≠."
    ),
    "differs": "berbeda dari sumber resmi",
    "history": "Riwayat versi",
    "version": "Versi",
    "leaf": "Indeks entri",
    "replaces": "Menggantikan",
    "current": "berlaku",
    "replaced": "diganti",
    "signed_by": "Ditandatangani oleh kunci",
    "attested": "Dalam impor massal (atestasi di entri",
    "flags_here": "Tanda periksa",
    "flags_here_none": "Tidak ada aturan yang dilanggar.",
    "proof": "Bukti",
    "proof_intro": (
        "Browser Anda memeriksa sendiri bahwa formulir ini ada di log publik. Skrip "
        "pemeriksa ini berasal dari server yang sama, jadi pemeriksaan ini hanya sekuat "
        "server ini. Bandingkan sidik jari kunci log di bawah dengan sumber independen, "
        "dan jalankan saksi verify untuk pemeriksaan penuh."
    ),
    "fingerprint": "Sidik jari kunci log (SHA-256)",
    "verifying": "Memeriksa…",
    "verified": "terverifikasi",
    "not_verified": "tidak terverifikasi",
    "cannot_verify": (
        "Browser ini tidak mendukung Ed25519 di WebCrypto, jadi tanda tangan tidak dapat "
        "diperiksa di sini. Ini tidak berarti terverifikasi: gunakan saksi verify."
    ),
    "no_js": "Pemeriksaan bukti memerlukan JavaScript. Data lengkap ada di",
    "check_entry": "Entri terbaca dan memang formulir TPS, pemilihan dan sumber ini",
    "check_leaf": "Hash entri dihitung ulang dari byte entri",
    "check_inclusion": "Bukti inklusi mengarah ke akar checkpoint",
    "check_checkpoint": "Tanda tangan checkpoint oleh kunci log sah",
    "check_witness": "Tanda tangan saksi log",
    "check_signature": "Tanda tangan formulir sah",
    "check_attestation": "Formulir tercakup atestasi impor yang ditandatangani",
    "check_key": "Kunci penandatangan terdaftar di log untuk sumber ini",
    "check_ok": "lolos",
    "check_failed": "GAGAL",
    "check_skipped": "tidak dapat diperiksa di sini",
    "not_in_checkpoint": (
        "belum masuk checkpoint yang ditandatangani; angka server, belum diperiksa"
    ),
    "verify_title": "Periksa sendiri",
    "verify_intro": (
        "Jangan percaya server ini begitu saja. Setiap angka di situs ini dapat dihitung "
        "ulang dari log publik yang ditandatangani."
    ),
    "verify_run": "Menjalankan saksi verify",
    "verify_run_text": (
        "Pasang Saksi (Python 3.11) lalu jalankan perintah ini. Ia mengunduh seluruh log, "
        "memeriksa setiap tanda tangan, dan menghitung ulang setiap total."
    ),
    "verify_witness": "Menjadi saksi log",
    "verify_witness_text": (
        "Saksi log menandatangani setiap checkpoint yang konsisten dengan yang sebelumnya, "
        "sehingga server tidak dapat menunjukkan log yang berbeda kepada orang yang berbeda."
    ),
    "log_key": "Kunci verifikasi log",
    "witnesses": "Saksi log yang dikenal",
    "witnesses_none": "belum ada saksi log yang dikonfigurasi",
    "downloads": "Unduhan",
    "downloads_intro": "Semua data terbuka: log, total, ekspor per TPS.",
    "file": "Berkas",
    "size": "Ukuran",
    "data_as": "Data halaman ini",
    "not_found": "Tidak ditemukan",
    "regions_out": "Wilayah yang menonjol secara statistik",
    "regions_out_intro": (
        "Uji per kabupaten/kota setelah koreksi uji berganda (Benjamini-Hochberg, 5%). "
        "Ini ajakan untuk memeriksa, bukan bukti kecurangan."
    ),
    "regions_out_none": "Tidak ada kabupaten/kota yang menonjol.",
    "forensics_pending": "Laporan forensik sedang disusun; muat ulang sebentar lagi.",
    "test": "Uji",
    "adjusted_p": "p terkoreksi",
    "test_dispersion": "sebaran persentase terlalu seragam (dispersi)",
    "test_last_digit": "digit terakhir",
    "test_round_percent": "lonjakan di persentase bulat",
    "likely_correction": "Kemungkinan koreksi",
    "forensics_here": "Forensik (pemeriksaan statistik dan antar-sumber)",
    "plots_caption": (
        "partisipasi × persentase per TPS, sebaran persentase, digit terakhir dan kedua"
    ),
    "plots_all": "Semua TPS yang diperiksa",
    "error": "Permintaan tidak dapat dipenuhi",
    "ladder": "Rekapitulasi berjenjang",
    "ladder_link": "Rekapitulasi berjenjang wilayah ini",
    "ladder_intro": (
        "Angka rekap resmi di samping jumlah formulir yang ditandatangani di bawahnya. Sel "
        "yang berbeda ditandai ≠ dan selisihnya ditulis dengan tanda ▲ (naik) atau ▼ (turun)."
    ),
    "ladder_figures": "Tiga angka berdampingan",
    "ladder_figure": "Angka",
    "ladder_recap_row": "Baris rekap di atasnya",
    "ladder_own_recap": "Total formulir rekap wilayah ini",
    "ladder_tps_sum": "Jumlah TPS",
    "ladder_recap_below": "Rekap di bawahnya",
    "ladder_rows": "Baris formulir rekap",
    "ladder_no_recap": "Wilayah ini belum punya formulir rekap yang ditandatangani.",
    "ladder_recap_form": "Formulir rekap",
    "ladder_plenary": "Tanggal pleno",
    "ladder_versions": "Versi",
    "ladder_certified": "Tersertifikasi",
    "ladder_certified_at": "keputusan di entri",
    "ladder_not_certified": "Belum disertifikasi",
    "ladder_status": "Status",
    "ladder_differences": "Selisih",
    "ladder_differences_none": "Tidak ada selisih: setiap baris sama dengan angka di bawahnya.",
    "ladder_difference": "selisih",
    "ladder_against": "dibanding",
    "ladder_against_recap": "rekap di bawahnya",
    "ladder_up": "naik",
    "ladder_down": "turun",
    "ladder_same": "sama",
    "objections": "Keberatan saksi",
    "objections_none": "Belum ada keberatan.",
    "objection_row": "Baris",
    "objection_claim": "Keberatan",
    "objection_claimed": "Angka menurut saksi",
    "objection_answers": "Jawaban",
    "objection_recommendations": "Rekomendasi Bawaslu",
    "status_open": "terbuka",
    "status_accepted": "diterima",
    "status_rejected": "ditolak",
    "decisions": "Keputusan",
    "decisions_none": "Belum ada keputusan atas formulir rekap ini.",
    "revotes": "Pemungutan suara ulang, penghitungan ulang dan koreksi atas keputusan",
    "revotes_none": "Tidak ada formulir TPS di wilayah ini yang diganti atas keputusan.",
    "revote_change": "Perubahan",
    "decision_kind": "Jenis",
    "legal_basis": "Dasar hukum",
    "kind_certify": "sertifikasi",
    "kind_answer_objection": "jawaban atas keberatan",
    "kind_annul_tps": "pembatalan hasil TPS",
    "kind_order_revote": "pemungutan suara ulang (PSU)",
    "kind_order_recount": "penghitungan ulang",
    "kind_accept_correction": "penerimaan koreksi",
    "kind_reject_form": "penolakan formulir",
    "trail": "Jejak suara",
    "trail_link": "Jejak suara TPS ini sampai angka nasional",
    "trail_intro": (
        "Suara satu pilihan dari formulir TPS, jumlah TPS desa, lalu tiap baris dan total "
        "formulir rekap sampai tingkat nasional. Perubahan antara jumlah di bawah dan baris "
        "rekap ditandai ▲ atau ▼."
    ),
    "trail_step": "Langkah",
    "trail_where": "Wilayah",
    "trail_value": "Angka",
    "trail_change": "Perubahan",
    "trail_changed": "Berubah di",
    "trail_unchanged": "Angka ini tidak berubah di sepanjang tangga rekapitulasi.",
    "step_tps": "formulir TPS (resmi)",
    "step_tps_sum": "jumlah formulir TPS",
    "step_recap_row": "baris di formulir rekap",
    "step_recap_total": "total formulir rekap",
}

_EN: dict[str, str] = {
    "site": "Saksi: election results you can check",
    "skip": "Skip to content",
    "nav_overview": "National",
    "nav_flags": "Flags",
    "nav_verify": "Verify it yourself",
    "nav_downloads": "Downloads",
    "switch_language": "Bahasa Indonesia",
    "contest": "Contest",
    "source": "Source",
    "show": "Show",
    "kind_official": "official",
    "kind_party_witness": "party witness",
    "kind_crowd": "crowd",
    "kind_import": "import",
    "choice": "Choice",
    "votes": "Votes",
    "share": "Share",
    "valid": "Valid votes",
    "invalid": "Invalid votes",
    "voters": "Voters who voted",
    "turnout": "Turnout",
    "dpt": "Registered voters (DPT)",
    "reporting": "TPS reporting",
    "of": "of",
    "last_update": "Last update",
    "checkpoint": "Log checkpoint",
    "checkpoint_none": "no signed checkpoint yet",
    "entries": "entries",
    "leader": "Ahead",
    "lead_by": "ahead by",
    "last_minute": "Last minute",
    "last_minute_none": "no change recorded in the last minute",
    "new_tps": "new TPS",
    "live": "Figures update by themselves.",
    "live_updated": "Updated",
    "children": "Regions below",
    "tps_list": "TPS in this desa/kelurahan",
    "name": "Name",
    "sort_by": "Sort by",
    "map": "Map",
    "map_mode": "Colour by",
    "map_leader": "leading choice",
    "map_share": "share of a choice",
    "map_turnout": "turnout",
    "map_reporting": "share of TPS reporting",
    "map_pair": "Choice",
    "map_label": "Map of Indonesia's provinces",
    "map_outside": "Not on the map",
    "map_attribution": "Province boundaries",
    "level_nasional": "National",
    "level_provinsi": "Province",
    "level_kabupaten_kota": "Regency/city",
    "level_kecamatan": "District (kecamatan)",
    "level_desa_kelurahan": "Village (desa/kelurahan)",
    "level_tps": "TPS",
    "no_result": "no result yet",
    "flags": "Flags",
    "flags_intro": (
        "Forms whose numbers are inconsistent. A flag asks a human to look at the form's "
        "photo; it is not a verdict."
    ),
    "flags_count": "flagged forms",
    "flags_shown": "shown",
    "rule": "Rule",
    "region": "Region",
    "all": "all",
    "filter": "Filter",
    "tps": "TPS",
    "tps_number": "TPS number",
    "tps_kind_domestic": "domestic",
    "tps_kind_overseas": "overseas",
    "photos": "Form photos",
    "photos_none": "no photo",
    "photo_zoom": "Enlarge photo",
    "photo_close": "Close",
    "photo_page": "Page",
    "compare": "Each source's numbers",
    "compare_intro": (
        "The numbers below are decoded from the signed log entries themselves, after your "
        "browser checked them. Cells that differ from the official source are marked ≠."
    ),
    "differs": "differs from the official source",
    "history": "Version history",
    "version": "Version",
    "leaf": "Entry index",
    "replaces": "Replaces",
    "current": "current",
    "replaced": "replaced",
    "signed_by": "Signed by key",
    "attested": "In a bulk import (attestation at entry",
    "flags_here": "Flags",
    "flags_here_none": "No rule is broken.",
    "proof": "Proof",
    "proof_intro": (
        "Your browser checks for itself that this form is in the public log. The checking "
        "script came from this same server, so this check is only as good as the server. "
        "Compare the log key's fingerprint below with independent sources, and run saksi "
        "verify for a full check."
    ),
    "fingerprint": "Log key fingerprint (SHA-256)",
    "verifying": "Checking…",
    "verified": "verified",
    "not_verified": "not verified",
    "cannot_verify": (
        "This browser does not support Ed25519 in WebCrypto, so signatures cannot be "
        "checked here. That does not mean verified: use saksi verify."
    ),
    "no_js": "Checking the proof needs JavaScript. The full data is at",
    "check_entry": "The entry decodes and is this TPS's form for this contest and source",
    "check_leaf": "Entry hash recomputed from the entry's bytes",
    "check_inclusion": "Inclusion proof leads to the checkpoint's root",
    "check_checkpoint": "Checkpoint signature by the log key is valid",
    "check_witness": "Log witness cosignature",
    "check_signature": "The form's signature is valid",
    "check_attestation": "The form is covered by a signed import attestation",
    "check_key": "The signing key is registered in the log for this source",
    "check_ok": "passed",
    "check_failed": "FAILED",
    "check_skipped": "cannot be checked here",
    "not_in_checkpoint": "not yet in a signed checkpoint; the server's numbers, unchecked",
    "verify_title": "Verify it yourself",
    "verify_intro": (
        "Do not take this server on trust. Every number on this site can be recomputed "
        "from the signed public log."
    ),
    "verify_run": "Running saksi verify",
    "verify_run_text": (
        "Install Saksi (Python 3.11) and run this command. It fetches the whole log, "
        "checks every signature and recomputes every total."
    ),
    "verify_witness": "Running a log witness",
    "verify_witness_text": (
        "A witness cosigns each checkpoint that is consistent with the previous one, so "
        "the server cannot show different logs to different people."
    ),
    "log_key": "Log verifier key",
    "witnesses": "Known log witnesses",
    "witnesses_none": "no log witness is configured yet",
    "downloads": "Downloads",
    "downloads_intro": "All open data: the log, totals, per-TPS exports.",
    "file": "File",
    "size": "Size",
    "data_as": "This page's data",
    "not_found": "Not found",
    "regions_out": "Regions that stand out statistically",
    "regions_out_intro": (
        "Tests per kabupaten/kota after multiple-testing control (Benjamini-Hochberg, 5%). "
        "A prompt to look, not proof of fraud."
    ),
    "regions_out_none": "No kabupaten/kota stands out.",
    "forensics_pending": "The forensics report is being prepared; reload in a moment.",
    "test": "Test",
    "adjusted_p": "adjusted p",
    "test_dispersion": "shares too uniform (dispersion)",
    "test_last_digit": "last digits",
    "test_round_percent": "spikes at round percentages",
    "likely_correction": "Likely correction",
    "forensics_here": "Forensics (statistical and cross-source checks)",
    "plots_caption": "turnout × share per TPS, the spread of shares, last and second digits",
    "plots_all": "All TPS checked",
    "error": "The request cannot be met",
    "ladder": "Recapitulation ladder",
    "ladder_link": "This region's recapitulation ladder",
    "ladder_intro": (
        "The official recap figures beside the sums of the signed forms below them. Cells "
        "that differ are marked ≠ and the difference is written with ▲ (up) or ▼ (down)."
    ),
    "ladder_figures": "Three figures side by side",
    "ladder_figure": "Figure",
    "ladder_recap_row": "Row in the recap above",
    "ladder_own_recap": "Total of this region's recap form",
    "ladder_tps_sum": "Sum of TPS",
    "ladder_recap_below": "Recap below",
    "ladder_rows": "Rows of the recap form",
    "ladder_no_recap": "This region has no signed recap form yet.",
    "ladder_recap_form": "Recap form",
    "ladder_plenary": "Plenary date",
    "ladder_versions": "Versions",
    "ladder_certified": "Certified",
    "ladder_certified_at": "decision at entry",
    "ladder_not_certified": "Not certified",
    "ladder_status": "Status",
    "ladder_differences": "Differences",
    "ladder_differences_none": "No difference: every row equals the figures below it.",
    "ladder_difference": "difference",
    "ladder_against": "against",
    "ladder_against_recap": "the recap below",
    "ladder_up": "up",
    "ladder_down": "down",
    "ladder_same": "same",
    "objections": "Witnesses' objections",
    "objections_none": "No objection yet.",
    "objection_row": "Row",
    "objection_claim": "Objection",
    "objection_claimed": "Figure the witness claims",
    "objection_answers": "Answers",
    "objection_recommendations": "Bawaslu recommendations",
    "status_open": "open",
    "status_accepted": "accepted",
    "status_rejected": "rejected",
    "decisions": "Decisions",
    "decisions_none": "No decision on this recap form yet.",
    "revotes": "Re-votes, recounts and corrections under a decision",
    "revotes_none": "No TPS form in this region was replaced under a decision.",
    "revote_change": "Change",
    "decision_kind": "Kind",
    "legal_basis": "Legal basis",
    "kind_certify": "certification",
    "kind_answer_objection": "answer to an objection",
    "kind_annul_tps": "TPS result annulled",
    "kind_order_revote": "re-vote ordered (PSU)",
    "kind_order_recount": "recount ordered",
    "kind_accept_correction": "correction accepted",
    "kind_reject_form": "form rejected",
    "trail": "Vote trail",
    "trail_link": "This TPS's votes up to the national figure",
    "trail_intro": (
        "One choice's votes from the TPS form, the desa's sum of TPS forms, then each row "
        "and total of the recap forms up to the national level. A change between the sum "
        "below and the recap row is marked ▲ or ▼."
    ),
    "trail_step": "Step",
    "trail_where": "Region",
    "trail_value": "Figure",
    "trail_change": "Change",
    "trail_changed": "Changed at",
    "trail_unchanged": "This figure does not change anywhere up the recapitulation ladder.",
    "step_tps": "TPS form (official)",
    "step_tps_sum": "sum of TPS forms",
    "step_recap_row": "row of the recap form",
    "step_recap_total": "total of the recap form",
}

# Plain-words explanation of each consistency rule (ids from saksi.ingest.rules).
_RULES_ID: dict[str, str] = {
    "votes_sum_valid": "jumlah suara semua pilihan tidak sama dengan suara sah",
    "valid_invalid_voters": "suara sah + tidak sah tidak sama dengan pengguna hak pilih",
    "valid_invalid_total": "suara sah + tidak sah tidak sama dengan jumlah suara di formulir",
    "valid_invalid_ballots": "suara sah + tidak sah tidak sama dengan surat suara digunakan",
    "ballots_used_voters": "surat suara digunakan tidak sama dengan pengguna hak pilih",
    "voters_by_list": "pengguna hak pilih tidak sama dengan pemilih DPT + DPTb + DPK",
    "gender_split_dpt": "DPT tidak sama dengan DPT laki-laki + perempuan",
    "gender_split_voters": "pengguna hak pilih tidak sama dengan pemilih laki-laki + perempuan",
    "dpt_voters_exceed_dpt": "pemilih dari DPT melebihi DPT",
    "ballot_accounting": "surat suara diterima tidak sama dengan digunakan + rusak + sisa",
    "voters_exceed_dpt_reserve": "pemilih melebihi DPT ditambah cadangan 2% di TPS dalam negeri",
    "count_exceeds_tps_cap": "ada angka yang lebih besar dari kapasitas TPS dalam negeri",
    "voters_exceed_dpt_by_sex": "pemilih laki-laki atau perempuan melebihi DPT jenis kelamin "
    "itu ditambah semua pemilih DPTb dan DPK",
    "source_disagreement": "salinan sumber ini berbeda dari formulir resmi",
    "turnout_outlier": "partisipasi jauh dari TPS lain di desa atau kecamatan yang sama",
    "share_outlier": "persentase satu pilihan jauh dari TPS lain di desa atau kecamatan yang sama",
}


class Words:
    """The words of one language; ``rule`` explains a consistency rule."""

    def __init__(self, lang: str, table: Mapping[str, str], rules: Mapping[str, str]) -> None:
        self.lang, self._table, self._rules = lang, table, rules

    def __getitem__(self, key: str) -> str:
        return self._table[key]

    def get(self, key: str, default: str) -> str:
        return self._table.get(key, default)

    def rule(self, rule_id: str) -> str:
        return self._rules.get(rule_id, rule_id)


def words(lang: str) -> Words:
    from saksi.forensics.checks import FORENSIC_RULES
    from saksi.ingest.rules import RULES

    if lang == "en":
        return Words("en", _EN, {**RULES, **FORENSIC_RULES})
    return Words("id", _ID, _RULES_ID)


def format_count(value: int | None, lang: str) -> str:
    """1.234.567 in Indonesian, 1,234,567 in English; an absent value is a dash."""
    if value is None:
        return "–"
    text = f"{value:,}"
    return text.replace(",", ".") if lang == "id" else text


def format_percent(value: float | None, lang: str) -> str:
    """Two decimals: 52,34% in Indonesian, 52.34% in English."""
    if value is None:
        return "–"
    text = f"{value * 100:.2f}%"
    return text.replace(".", ",") if lang == "id" else text
