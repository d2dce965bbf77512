"""A seeded synthetic national PPWP election on the real KPU 2024 region tree.

Every TPS of ``pemilu2024`` (820,161 domestic) gets a drawn DPT and a drawn result; a
synthetic provinsi "99" (LUAR NEGERI) adds overseas posts. The official KPPS form carries
every field of ``nasional2024.toml`` and, unless an anomaly is planted on it, breaks no
rule of :mod:`saksi.ingest.rules`. Party witnesses and the crowd copy three fields of a
random subset of the forms and agree with the paper unless a disagreement is planted.
Every planted anomaly is listed in ``truth``.

Calibration against the real 2019 forms (``pemilu2019/results-kawalpemilu.csv``: 50,721
domestic TPS in DKI Jakarta, DI Yogyakarta and Bali whose own arithmetic holds, in 179
kecamatan and 20 kabupaten/kota):

* Pair 01's share across the TPS of one kecamatan has sd 0.135 where binomial sampling
  alone gives 0.029: a variance ratio of 21.4 (DKI 22.5, DIY 13.6, Bali 36.7).
* On the empirical log-ratio log((01+.5)/(02+.5)) the within-kecamatan variance is 0.724,
  of which sampling is 0.067: TPS excess sd 0.81, robust (MAD) sd 0.62. That pair of
  figures is heavy-tailed; Student t(4) scaled by 0.565 reproduces both, and is the TPS
  noise here. Kabupaten effects around their provinsi have sd 0.35, kecamatan effects
  around their kabupaten 0.31.
* Turnout logit: kabupaten sd 0.40, kecamatan sd 0.29, TPS robust sd 0.51 of which about
  0.17 is binomial sampling, so t(4) scaled by 0.44. Median turnout 0.85 in 2019; the base
  is set for the 2024 national 81.8%.
* Invalid votes: logit mean -4.28, sd 0.86 (median 1.3%, mean 1.6%).
* DPT per TPS: 300 minus a gap with median 34 and 90th percentile 98; drawn here as
  300 - Gamma(1.3, 38), so the mean DPT is about 250 as in 2024 (204.8M / 820,161).

A generated DKI Jakarta shows a within-kecamatan variance ratio of about 20 for pair 01.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from saksi.collector import collector_paused
from saksi.errors import SaksiError
from saksi.ingest.rules import reserve_cap
from saksi.registry.entries import DesaRecord
from saksi.registry.kpu2024 import read_kpu2024
from saksi.registry.model import Level, Region, Tps, TpsKind

__all__ = [
    "ANOMALY_KINDS",
    "CHOICES",
    "KPPS_FIELDS",
    "SOURCES",
    "WITNESS_FIELDS",
    "AnomalyPlan",
    "SyntheticElection",
    "generate",
    "paper_form",
    "write_forms",
    "write_truth",
]

CHOICES = ("01", "02", "03")
KPPS_FIELDS = (
    "dpt",
    "dpt_laki",
    "dpt_perempuan",
    "pengguna_dpt",
    "pengguna_dptb",
    "pengguna_dpk",
    "pengguna_hak_pilih",
    "pengguna_hak_pilih_laki",
    "pengguna_hak_pilih_perempuan",
    "suara_sah",
    "suara_tidak_sah",
    "suara_total",
    "surat_suara_diterima",
    "surat_suara_digunakan",
    "surat_suara_rusak",
    "surat_suara_sisa",
)
WITNESS_FIELDS = ("pengguna_hak_pilih", "suara_sah", "suara_tidak_sah")
SOURCES = ("kpps", "saksi-01", "saksi-02", "saksi-03", "kawal")
# Truth "kind" values: the AnomalyPlan counts by name, and one per fixed-share region.
ANOMALY_KINDS = (
    "extra_digit",
    "swapped_fields",
    "total_in_candidate",
    "inflated_turnout",
    "missing_forms",
    "source_disagreements",
    "fixed_share",
)

CONTEST = "PPWP"
DOMESTIC_MAX_DPT = 300
DOMESTIC_CAP = reserve_cap(DOMESTIC_MAX_DPT)
OVERSEAS_PROVINSI = Region("99", "ID", Level.PROVINSI, "LUAR NEGERI")

Array = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# Kinds of TPS, as codes in the per-TPS arrays.
_REGULAR, _SPECIAL, _TPSLN, _POS, _KSK = range(5)

# Logit of turnout by kind of TPS: postal votes abroad come back least often.
_TURNOUT_BASE = np.array([1.77, 1.77, 0.1, -0.5, 0.4])
_TURNOUT_SD = {"provinsi": 0.30, "kabupaten": 0.40, "kecamatan": 0.29, "tps": 0.44}
_SHARE_SD = {"provinsi": 0.5, "kabupaten": 0.35, "kecamatan": 0.31, "tps": 0.565}
_INVALID_LOGIT = (-4.28, 0.86)
_NATIONAL_SHARES = (0.2495, 0.5858, 0.1647)  # 2024 national result, used as the base
# TPS noise pulls the shares towards a third each; this shift restores the national result.
_SHARE_SHIFT = np.array([-0.24, -0.39])
# Rounded 2024 provinsi shares (01, 02, 03): only to give the map a plausible shape.
_PROVINCE_SHARES: dict[str, tuple[float, float, float]] = {
    "11": (0.73, 0.25, 0.02),
    "13": (0.56, 0.40, 0.04),
    "14": (0.45, 0.48, 0.07),
    "31": (0.41, 0.42, 0.17),
    "32": (0.32, 0.58, 0.10),
    "33": (0.13, 0.53, 0.34),
    "34": (0.22, 0.50, 0.28),
    "35": (0.17, 0.66, 0.17),
    "36": (0.34, 0.57, 0.09),
    "51": (0.04, 0.62, 0.34),
    "53": (0.03, 0.66, 0.31),
    "73": (0.38, 0.57, 0.05),
}

# Overseas posts: country -> (city, relative number of TPS). Malaysia and Saudi Arabia
# vote mostly by mobile box (KSK); elsewhere at a TPSLN or by post.
_OVERSEAS: dict[str, tuple[tuple[str, int], ...]] = {
    "AFRIKA SELATAN": (("PRETORIA", 1),),
    "AMERIKA SERIKAT": (
        ("CHICAGO", 2),
        ("HOUSTON", 2),
        ("LOS ANGELES", 5),
        ("NEW YORK", 5),
        ("SAN FRANCISCO", 3),
        ("WASHINGTON DC", 3),
    ),
    "ARAB SAUDI": (("JEDDAH", 60), ("RIYADH", 45)),
    "AUSTRALIA": (("CANBERRA", 3), ("DARWIN", 1), ("MELBOURNE", 8), ("PERTH", 5), ("SYDNEY", 10)),
    "BAHRAIN": (("MANAMA", 1),),
    "BELANDA": (("DEN HAAG", 8),),
    "BRASIL": (("BRASILIA", 1),),
    "BRUNEI DARUSSALAM": (("BANDAR SERI BEGAWAN", 18),),
    "FILIPINA": (("DAVAO CITY", 2), ("MANILA", 2)),
    "INDIA": (("MUMBAI", 1), ("NEW DELHI", 1)),
    "INGGRIS": (("LONDON", 5),),
    "ITALIA": (("ROMA", 2),),
    "JEPANG": (("OSAKA", 10), ("TOKYO", 20)),
    "JERMAN": (("BERLIN", 4), ("FRANKFURT", 4), ("HAMBURG", 2)),
    "KANADA": (("OTTAWA", 1), ("TORONTO", 2), ("VANCOUVER", 1)),
    "KOREA SELATAN": (("SEOUL", 18),),
    "KUWAIT": (("KUWAIT CITY", 3),),
    "MALAYSIA": (
        ("JOHOR BAHRU", 70),
        ("KOTA KINABALU", 60),
        ("KUALA LUMPUR", 160),
        ("KUCHING", 25),
        ("PENANG", 30),
        ("TAWAU", 40),
    ),
    "MAROKO": (("RABAT", 1),),
    "MESIR": (("KAIRO", 8),),
    "OMAN": (("MUSCAT", 1),),
    "PAKISTAN": (("ISLAMABAD", 1), ("KARACHI", 1)),
    "PAPUA NUGINI": (("PORT MORESBY", 1), ("VANIMO", 1)),
    "PERSATUAN EMIRAT ARAB": (("ABU DHABI", 6), ("DUBAI", 8)),
    "PRANCIS": (("PARIS", 3),),
    "QATAR": (("DOHA", 6),),
    "RUSIA": (("MOSKOW", 1),),
    "SELANDIA BARU": (("WELLINGTON", 2),),
    "SINGAPURA": (("SINGAPURA", 40),),
    "SPANYOL": (("MADRID", 1),),
    "SWISS": (("BERN", 1),),
    "TAIWAN": (("TAIPEI", 60),),
    "THAILAND": (("BANGKOK", 3), ("SONGKHLA", 1)),
    "TIMOR LESTE": (("DILI", 2),),
    "TIONGKOK": (("BEIJING", 3), ("GUANGZHOU", 2), ("HONG KONG", 55), ("SHANGHAI", 2)),
    "TURKI": (("ANKARA", 2), ("ISTANBUL", 3)),
    "VIETNAM": (("HANOI", 1), ("HO CHI MINH CITY", 1)),
    "YORDANIA": (("AMMAN", 2),),
}
_KSK_COUNTRIES = ("ARAB SAUDI", "MALAYSIA")
# Number ranges: TPSLN 1..899, postal 1001..1999, mobile box 2001..9999.
_FIRST_NUMBER = {_TPSLN: 1, _POS: 1001, _KSK: 2001}
_LAST_NUMBER = {_TPSLN: 899, _POS: 1999, _KSK: 9999}


@dataclass(frozen=True)
class AnomalyPlan:
    """How many of each anomaly to plant; per-form errors go on the official kpps form."""

    extra_digit: int = 0
    swapped_fields: int = 0
    total_in_candidate: int = 0
    inflated_turnout: int = 0
    missing_forms: int = 0
    source_disagreements: int = 0
    fixed_share_regions: tuple[str, ...] = ()
    fixed_share: float = 0.57


@dataclass(frozen=True)
class SyntheticElection:
    """The registry, the forms per source and one truth entry per planted anomaly.

    Forms are plain dicts in the shape the validator accepts. The witness and crowd copies
    of one TPS share their inner ``votes`` and ``fields`` dicts, which saves some 350 MB
    nationally: copy a form before changing it. Truth entries are sorted as
    :func:`write_truth` writes them.

    Truth entries by kind (``ANOMALY_KINDS``); per-form ones name ``tps`` and ``source``:

    - extra_digit, total_in_candidate: ``field`` ("01".."03" or a field name), ``true``,
      ``planted``;
    - swapped_fields: the same, plus ``swapped_with``, which now holds ``true``;
    - inflated_turnout: ``field`` "pengguna_hak_pilih", ``true``, ``planted``, the ``pair``
      given the ``added`` ballots, and ``changes`` {name: [true, planted]} for every
      number that moved;
    - missing_forms: no more;
    - source_disagreements: ``field``, ``official``, ``planted``;
    - fixed_share: ``region`` (a kabupaten/kota) and ``share`` instead of tps/source.
    """

    desas: list[DesaRecord]
    forms: dict[str, list[dict[str, Any]]]
    truth: list[dict[str, Any]]


@dataclass
class _Tree:
    """The TPS of the election in registry order, with region indices for the effects."""

    ids: list[str] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    desa_paths: list[tuple[Region, ...]] = field(default_factory=list)
    desa_sizes: list[int] = field(default_factory=list)
    provinsi: list[str] = field(default_factory=list)
    kabupaten: list[str] = field(default_factory=list)
    kecamatan: list[str] = field(default_factory=list)
    kinds: list[int] = field(default_factory=list)
    # Per desa: indices into provinsi/kabupaten/kecamatan.
    desa_region: list[tuple[int, int, int]] = field(default_factory=list)
    _index: dict[str, int] = field(default_factory=dict)

    def add_desa(self, path: tuple[Region, ...], tps: list[tuple[str, int, int]]) -> None:
        indices = []
        for region, names in zip(
            path[:3], (self.provinsi, self.kabupaten, self.kecamatan), strict=True
        ):
            known = self._index.get(region.id)
            if known is None:
                known = self._index[region.id] = len(names)
                names.append(region.id)
            indices.append(known)
        self.desa_region.append((indices[0], indices[1], indices[2]))
        self.desa_paths.append(path)
        self.desa_sizes.append(len(tps))
        for tps_id, number, kind in tps:
            self.ids.append(tps_id)
            self.numbers.append(number)
            self.kinds.append(kind)

    def region_arrays(self) -> tuple[Array, Array, Array]:
        per_desa = np.array(self.desa_region, dtype=np.int64).reshape(-1, 3)
        sizes = np.array(self.desa_sizes, dtype=np.int64)
        per_tps = np.repeat(per_desa, sizes, axis=0)
        return per_tps[:, 0], per_tps[:, 1], per_tps[:, 2]


def _read_domestic(data_dir: Path, limit: tuple[str, ...] | None, tree: _Tree) -> None:
    wanted = set(limit) if limit is not None else None
    for path, tps_list in read_kpu2024(data_dir):
        if wanted is not None and path[0].id not in wanted:
            continue
        tree.add_desa(
            path, [(t.id, t.number, _SPECIAL if t.number >= 900 else _REGULAR) for t in tps_list]
        )


def _add_overseas(rng: np.random.Generator, count: int, tree: _Tree) -> None:
    posts = [
        (country, city, weight)
        for country in sorted(_OVERSEAS)
        for city, weight in _OVERSEAS[country]
    ]
    weights = np.array([w for _, _, w in posts], dtype=np.float64)
    per_post = rng.multinomial(count, weights / weights.sum())
    countries = {c: i + 1 for i, c in enumerate(sorted(_OVERSEAS))}
    city_numbers: dict[str, int] = {}
    for (country, city, _), n in zip(posts, per_post.tolist(), strict=True):
        kab_id = f"99{countries[country]:02d}"
        city_numbers[kab_id] = city_numbers.get(kab_id, 0) + 1
        kec_id = f"{kab_id}{city_numbers[kab_id]:02d}"
        if n == 0:
            continue
        mix = (0.25, 0.25, 0.5) if country in _KSK_COUNTRIES else (0.55, 0.35, 0.10)
        by_kind = dict(zip((_TPSLN, _POS, _KSK), rng.multinomial(n, mix).tolist(), strict=True))
        for kind in (_TPSLN, _POS):  # overflow of a number range goes to the mobile boxes
            room = _LAST_NUMBER[kind] - _FIRST_NUMBER[kind] + 1
            if by_kind[kind] > room:
                by_kind[_KSK] += by_kind[kind] - room
                by_kind[kind] = room
        if by_kind[_KSK] > _LAST_NUMBER[_KSK] - _FIRST_NUMBER[_KSK] + 1:
            raise SaksiError(f"{n} overseas TPS do not fit the numbers of one post ({city})")
        desa_id = f"{kec_id}0001"
        path = (
            OVERSEAS_PROVINSI,
            Region(kab_id, OVERSEAS_PROVINSI.id, Level.KABUPATEN_KOTA, country),
            Region(kec_id, kab_id, Level.KECAMATAN, city),
            Region(desa_id, kec_id, Level.DESA, f"PPLN {city}"),
        )
        tps = [
            (f"{desa_id}{number:03d}", number, kind)
            for kind in (_TPSLN, _POS, _KSK)
            for number in range(_FIRST_NUMBER[kind], _FIRST_NUMBER[kind] + by_kind[kind])
        ]
        tree.add_desa(path, tps)


def _effects(rng: np.random.Generator, n: int, sd: float) -> FloatArray:
    return rng.normal(0.0, sd, n)


def _tps_noise(rng: np.random.Generator, n: int, scale: float) -> FloatArray:
    # Student t(4): real TPS are heavier-tailed than a normal (see module docstring).
    return rng.standard_t(4, n) * scale


@dataclass
class _Counts:
    """Every number of the official forms, one array entry per TPS."""

    dpt: Array
    registry_dpt: npt.NDArray[np.bool_]
    values: dict[str, Array]


def _draw_counts(
    rng: np.random.Generator, tree: _Tree, fixed_kab: npt.NDArray[np.bool_], share: float
) -> _Counts:
    n = len(tree.ids)
    kinds = np.array(tree.kinds, dtype=np.int64)
    prov, kab, kec = tree.region_arrays()
    overseas = kinds >= _TPSLN

    # DPT: domestic TPS fill up to 300; special TPS (prisons, hospitals) vary more.
    gap = np.floor(rng.gamma(1.3, 38.0, n)).astype(np.int64)
    dpt = np.clip(DOMESTIC_MAX_DPT - gap, 40, DOMESTIC_MAX_DPT)
    special = kinds == _SPECIAL
    dpt[special] = rng.integers(30, DOMESTIC_MAX_DPT + 1, int(special.sum()))
    abroad_median = np.array([0.0, 0.0, 550.0, 700.0, 350.0])[kinds]
    abroad = np.rint(abroad_median * np.exp(rng.normal(0.0, 0.7, n))).astype(np.int64)
    dpt = np.where(overseas, np.clip(abroad, 20, 6000), dpt)
    # The registry lists DPT for every domestic TPS and for some TPSLN only.
    registry_dpt = ~overseas | ((kinds == _TPSLN) & (rng.random(n) < 0.25))

    sd = _TURNOUT_SD
    turnout = (
        _TURNOUT_BASE[kinds]
        + _effects(rng, len(tree.provinsi), sd["provinsi"])[prov]
        + _effects(rng, len(tree.kabupaten), sd["kabupaten"])[kab]
        + _effects(rng, len(tree.kecamatan), sd["kecamatan"])[kec]
        + _tps_noise(rng, n, sd["tps"])
    )
    users_dpt = rng.binomial(dpt, _expit(turnout))
    cap = reserve_cap(dpt)
    dptb = np.minimum(rng.poisson(1.0, n), cap - users_dpt)
    dpk = np.minimum(rng.poisson(0.6, n), cap - users_dpt - dptb)
    voters = users_dpt + dptb + dpk
    rusak = np.minimum(rng.poisson(0.5, n), cap - voters)
    invalid = rng.binomial(voters, _expit(rng.normal(*_INVALID_LOGIT, n)))
    valid = voters - invalid

    base = np.log(np.array(_NATIONAL_SHARES))
    prov_eta = np.empty((len(tree.provinsi), 2))
    for i, code in enumerate(tree.provinsi):
        known = _PROVINCE_SHARES.get(code)
        if known is not None:
            prov_eta[i] = np.log(known[0] / known[1]), np.log(known[2] / known[1])
        else:
            prov_eta[i] = base[0] - base[1], base[2] - base[1]
    prov_eta += _SHARE_SHIFT
    prov_eta += (
        rng.normal(0.0, _SHARE_SD["provinsi"], prov_eta.shape)
        * np.array([code not in _PROVINCE_SHARES for code in tree.provinsi])[:, None]
    )
    s = _SHARE_SD
    eta = (
        prov_eta[prov]
        + rng.normal(0.0, s["kabupaten"], (len(tree.kabupaten), 2))[kab]
        + rng.normal(0.0, s["kecamatan"], (len(tree.kecamatan), 2))[kec]
        + rng.standard_t(4, (n, 2)) * s["tps"]
    )
    weight = np.exp(np.clip(eta, -30.0, 30.0))
    p01 = weight[:, 0] / (1.0 + weight.sum(axis=1))
    p03_given_not01 = weight[:, 1] / (1.0 + weight[:, 1])  # pair 02 is the baseline
    v01 = rng.binomial(valid, p01)
    fixed = fixed_kab[kab]
    v01 = np.where(fixed, np.floor(valid * share + 0.5).astype(np.int64), v01)
    v03 = rng.binomial(valid - v01, p03_given_not01)
    v02 = valid - v01 - v03

    # Each sex's voters stay within its own DPT plus the voters from the other lists, as on
    # a real form: the DPT's voters are drawn from its men and women.
    dpt_laki = rng.binomial(dpt, 0.5)
    voters_laki = rng.hypergeometric(dpt_laki, dpt - dpt_laki, users_dpt) + rng.binomial(
        dptb + dpk, 0.5
    )
    values = {
        "01": v01,
        "02": v02,
        "03": v03,
        "dpt": dpt,
        "dpt_laki": dpt_laki,
        "dpt_perempuan": dpt - dpt_laki,
        "pengguna_dpt": users_dpt,
        "pengguna_dptb": dptb,
        "pengguna_dpk": dpk,
        "pengguna_hak_pilih": voters,
        "pengguna_hak_pilih_laki": voters_laki,
        "pengguna_hak_pilih_perempuan": voters - voters_laki,
        "suara_sah": valid,
        "suara_tidak_sah": invalid,
        "suara_total": voters,
        "surat_suara_diterima": cap,
        "surat_suara_digunakan": voters,
        "surat_suara_rusak": rusak,
        "surat_suara_sisa": cap - voters - rusak,
    }
    return _Counts(dpt, registry_dpt, values)


def _expit(x: FloatArray) -> FloatArray:
    out: FloatArray = 1.0 / (1.0 + np.exp(-x))
    return out


def _desas(tree: _Tree, counts: _Counts) -> list[DesaRecord]:
    with_none = counts.dpt.astype(object)
    with_none[~counts.registry_dpt] = None
    dpt = with_none.tolist()
    out: list[DesaRecord] = []
    ids, numbers = tree.ids, tree.numbers
    start = 0
    for path, size in zip(tree.desa_paths, tree.desa_sizes, strict=True):
        desa = path[-1].id
        kind = TpsKind.OVERSEAS if desa.startswith(OVERSEAS_PROVINSI.id) else TpsKind.DOMESTIC
        end = start + size
        tps = list(
            map(
                Tps,
                ids[start:end],
                repeat(desa, size),
                numbers[start:end],
                dpt[start:end],
                repeat(kind, size),
            )
        )
        out.append((path, tps))
        start = end
    return out


_CHUNK = 65536


def _int_lists(values: Mapping[str, Array], names: Iterable[str], rows: Any) -> list[list[int]]:
    """Columns as lists of Python ints, each distinct value one shared object.

    CPython caches ints only up to 256; DPT and ballot counts run above that, and sharing
    them saves some 100 MB on a national election.
    """
    columns = [values[name][rows] for name in names]
    top = max((int(c.max()) for c in columns if len(c)), default=0)
    table = np.arange(top + 1).astype(object)
    return [table[c].tolist() for c in columns]


def _official_forms(tree: _Tree, counts: _Counts) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    append = out.append
    for start in range(0, len(tree.ids), _CHUNK):
        rows = slice(start, start + _CHUNK)
        columns = _int_lists(counts.values, (*CHOICES, *KPPS_FIELDS), rows)
        for (
            tps_id, v01, v02, v03, dpt, dpt_l, dpt_p, u_dpt, u_dptb, u_dpk, voters, voters_l,
            voters_p, valid, invalid, total, received, used, damaged, unused,
        ) in zip(tree.ids[rows], *columns, strict=True):  # fmt: skip
            # A literal is much faster than dict(zip(...)) for 820,000 forms.
            append(
                {
                    "tps": tps_id,
                    "contest": CONTEST,
                    "source": "kpps",
                    "votes": {"01": v01, "02": v02, "03": v03},
                    "fields": {
                        "dpt": dpt,
                        "dpt_laki": dpt_l,
                        "dpt_perempuan": dpt_p,
                        "pengguna_dpt": u_dpt,
                        "pengguna_dptb": u_dptb,
                        "pengguna_dpk": u_dpk,
                        "pengguna_hak_pilih": voters,
                        "pengguna_hak_pilih_laki": voters_l,
                        "pengguna_hak_pilih_perempuan": voters_p,
                        "suara_sah": valid,
                        "suara_tidak_sah": invalid,
                        "suara_total": total,
                        "surat_suara_diterima": received,
                        "surat_suara_digunakan": used,
                        "surat_suara_rusak": damaged,
                        "surat_suara_sisa": unused,
                    },
                }
            )
    return out


def _copy_forms(
    tree: _Tree, counts: _Counts, coverage: Mapping[str, Array]
) -> dict[str, list[dict[str, Any]]]:
    """Witness and crowd copies; the copies of one TPS share their inner dicts."""
    if not coverage:
        return {}
    covered = np.unique(np.concatenate(list(coverage.values())))
    columns = _int_lists(counts.values, (*CHOICES, *WITNESS_FIELDS), covered)
    votes = [{"01": a, "02": b, "03": c} for a, b, c in zip(*columns[:3], strict=True)]
    fields = [
        {"pengguna_hak_pilih": voters, "suara_sah": valid, "suara_tidak_sah": invalid}
        for voters, valid, invalid in zip(*columns[3:], strict=True)
    ]
    ids = tree.ids
    out: dict[str, list[dict[str, Any]]] = {}
    for source, rows in coverage.items():
        positions = np.searchsorted(covered, rows).tolist()
        out[source] = [
            {
                "tps": ids[i],
                "contest": CONTEST,
                "source": source,
                "votes": votes[p],
                "fields": fields[p],
            }
            for i, p in zip(rows.tolist(), positions, strict=True)
        ]
    return out


def _get(form: Mapping[str, Any], name: str) -> int:
    value: int = form["votes"][name] if name in CHOICES else form["fields"][name]
    return value


def _set(form: dict[str, Any], name: str, value: int) -> None:
    if name in CHOICES:
        form["votes"][name] = value
    else:
        form["fields"][name] = value


def _insertions(value: int) -> list[int]:
    """Every number one inserted digit turns ``value`` into (41 -> 141, 401, 411, 441, ...)."""
    text = str(value)
    out = set()
    for pos in range(len(text) + 1):
        for digit in "0123456789":
            new = text[:pos] + digit + text[pos:]
            if new[0] != "0":
                out.add(int(new))
    return sorted(out)


_DIGIT_FIELDS = ("01", "02", "03", "suara_tidak_sah", "suara_sah", "pengguna_hak_pilih")
_DIGIT_WEIGHTS = (0.27, 0.27, 0.26, 0.1, 0.05, 0.05)


def _plant_extra_digit(
    rng: np.random.Generator, form: dict[str, Any], within_cap: bool
) -> dict[str, Any]:
    options: list[tuple[str, list[int]]] = []
    weights: list[float] = []
    for name, weight in zip(_DIGIT_FIELDS, _DIGIT_WEIGHTS, strict=True):
        planted = [x for x in _insertions(_get(form, name)) if (x <= DOMESTIC_CAP) == within_cap]
        if planted:
            options.append((name, planted))
            weights.append(weight)
    if not options:  # no insertion stays on the wanted side of the cap: take any
        options = [(name, _insertions(_get(form, name))) for name in CHOICES]
        weights = [1.0, 1.0, 1.0]
    p = np.array(weights) / sum(weights)
    name, planted = options[int(rng.choice(len(options), p=p))]
    value = planted[int(rng.integers(len(planted)))]
    true = _get(form, name)
    _set(form, name, value)
    return {"field": name, "true": true, "planted": value}


_SWAPS = (("01", "02"), ("01", "03"), ("02", "03"), ("suara_sah", "suara_tidak_sah"))
_SWAP_WEIGHTS = (0.3, 0.25, 0.25, 0.2)


def _plant_swap(rng: np.random.Generator, form: dict[str, Any]) -> dict[str, Any] | None:
    options = [
        (pair, w)
        for pair, w in zip(_SWAPS, _SWAP_WEIGHTS, strict=True)
        if _get(form, pair[0]) != _get(form, pair[1])
    ]
    if not options:
        return None
    p = np.array([w for _, w in options])
    (first, second), _ = options[int(rng.choice(len(options), p=p / p.sum()))]
    a, b = _get(form, first), _get(form, second)
    _set(form, first, b)
    _set(form, second, a)
    return {"field": first, "swapped_with": second, "true": a, "planted": b}


def _plant_total(rng: np.random.Generator, form: dict[str, Any]) -> dict[str, Any] | None:
    valid = form["fields"]["suara_sah"]
    options = [c for c in CHOICES if form["votes"][c] != valid]
    if not options:
        return None
    name = options[int(rng.integers(len(options)))]
    true = form["votes"][name]
    form["votes"][name] = valid
    return {"field": name, "true": true, "planted": valid}


def _plant_inflation(
    rng: np.random.Generator, form: dict[str, Any], near: bool
) -> dict[str, Any] | None:
    """Ballot stuffing: extra valid ballots for one pair, carried through every total."""
    f = form["fields"]
    dpt, voters = f["dpt"], f["pengguna_hak_pilih"]
    cap = reserve_cap(dpt)
    low = max(voters + 5, math.floor(0.97 * dpt))
    if near and low <= cap:
        target = int(rng.integers(low, cap + 1))
    else:
        target = max(cap, voters) + int(rng.integers(1, 12))
    added = target - voters
    pair = CHOICES[int(rng.integers(len(CHOICES)))]
    before = {name: _get(form, name) for name in (*CHOICES, *KPPS_FIELDS)}
    form["votes"][pair] += added
    to_dpt = min(added, dpt - f["pengguna_dpt"])
    f["pengguna_dpt"] += to_dpt
    f["pengguna_dpk"] += added - to_dpt
    for name in ("pengguna_hak_pilih", "suara_sah", "suara_total", "surat_suara_digunakan"):
        f[name] += added
    f["pengguna_hak_pilih_laki"] += added // 2
    f["pengguna_hak_pilih_perempuan"] += added - added // 2
    # Ballots received stay as delivered; what is left over shrinks.
    left = f["surat_suara_diterima"] - target
    f["surat_suara_rusak"] = max(0, min(f["surat_suara_rusak"], left))
    f["surat_suara_sisa"] = max(0, left - f["surat_suara_rusak"])
    changes = {
        name: [old, _get(form, name)] for name, old in before.items() if old != _get(form, name)
    }
    return {
        "field": "pengguna_hak_pilih",
        "true": voters,
        "planted": target,
        "pair": pair,
        "added": added,
        "changes": changes,
    }


def _plant_disagreement(
    rng: np.random.Generator, form: dict[str, Any], source: str
) -> dict[str, Any]:
    # The copies of one TPS share their inner dicts: change a private copy.
    form["votes"], form["fields"] = dict(form["votes"]), dict(form["fields"])
    names = (*CHOICES, *WITNESS_FIELDS)
    own = source.removeprefix("saksi-")
    if own in CHOICES and rng.random() < 0.5:
        # A party's witness writes more votes for its own pair.
        name = own
        true = _get(form, name)
        planted = true + int(rng.integers(3, 30))
    else:
        name = names[int(rng.integers(len(names)))]
        true = _get(form, name)
        if rng.random() < 0.4:
            options = _insertions(true)
            planted = options[int(rng.integers(len(options)))]
        else:
            delta = int(rng.integers(1, 10)) * (1 if rng.random() < 0.5 or true < 10 else -1)
            planted = true + delta
    _set(form, name, planted)
    return {"field": name, "official": true, "planted": planted}


def _truth_key(entry: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (
        str(entry.get("tps", entry.get("region", ""))),
        str(entry.get("source", "")),
        str(entry["kind"]),
        str(entry.get("field", "")),
    )


def generate(
    data_dir: Path,
    *,
    seed: int,
    overseas_tps: int = 3000,
    anomalies: AnomalyPlan = AnomalyPlan(),
    sources: tuple[str, ...] = SOURCES,
    witness_coverage: float = 0.6,
    crowd_coverage: float = 0.3,
    limit_provinces: tuple[str, ...] | None = None,
) -> SyntheticElection:
    """Draw a whole election from ``seed``; the same arguments give identical output.

    ``limit_provinces`` keeps only those provinsi codes of the real tree (the overseas
    provinsi "99" is added whenever ``overseas_tps`` > 0). Per-form anomalies land on
    distinct domestic TPS outside the fixed-share regions, and source disagreements on
    witness copies of TPS whose official form is clean.
    """
    # Millions of new dicts would set off repeated full collections; none form cycles.
    with collector_paused():
        return _generate(
            data_dir,
            seed=seed,
            overseas_tps=overseas_tps,
            anomalies=anomalies,
            sources=sources,
            witness_coverage=witness_coverage,
            crowd_coverage=crowd_coverage,
            limit_provinces=limit_provinces,
        )


def _generate(
    data_dir: Path,
    *,
    seed: int,
    overseas_tps: int,
    anomalies: AnomalyPlan,
    sources: tuple[str, ...],
    witness_coverage: float,
    crowd_coverage: float,
    limit_provinces: tuple[str, ...] | None,
) -> SyntheticElection:
    unknown = [s for s in sources if s not in SOURCES]
    if unknown or len(set(sources)) != len(sources):
        raise SaksiError(f"sources must be distinct ids among {', '.join(SOURCES)}")
    if not 0.0 <= witness_coverage <= 1.0 or not 0.0 <= crowd_coverage <= 1.0:
        raise SaksiError("coverage must be a fraction between 0 and 1")
    if not 0.0 < anomalies.fixed_share < 1.0:
        raise SaksiError("the fixed share must be a fraction between 0 and 1")
    if overseas_tps < 0:
        raise SaksiError("overseas_tps must not be negative")
    rng = np.random.default_rng(seed)

    tree = _Tree()
    _read_domestic(data_dir, limit_provinces, tree)
    if overseas_tps:
        _add_overseas(rng, overseas_tps, tree)
    if not tree.ids:
        raise SaksiError("the synthetic election has no TPS: check limit_provinces")
    kab_index = {code: i for i, code in enumerate(tree.kabupaten)}
    missing_regions = [r for r in anomalies.fixed_share_regions if r not in kab_index]
    if missing_regions:
        raise SaksiError(
            f"fixed-share region(s) {', '.join(missing_regions)} are not kabupaten/kota here"
        )
    fixed_kab = np.zeros(len(tree.kabupaten), dtype=bool)
    fixed_kab[[kab_index[r] for r in anomalies.fixed_share_regions]] = True

    counts = _draw_counts(rng, tree, fixed_kab, anomalies.fixed_share)
    n = len(tree.ids)
    coverage = {
        s: np.flatnonzero(rng.random(n) < (crowd_coverage if s == "kawal" else witness_coverage))
        for s in SOURCES[1:]
    }

    truth: list[dict[str, Any]] = [
        {"kind": "fixed_share", "region": r, "share": anomalies.fixed_share}
        for r in anomalies.fixed_share_regions
    ]
    plan = anomalies
    per_form = (
        ("extra_digit", plan.extra_digit),
        ("swapped_fields", plan.swapped_fields),
        ("total_in_candidate", plan.total_in_candidate),
        ("inflated_turnout", plan.inflated_turnout),
        ("missing_forms", plan.missing_forms),
    )
    wanted = sum(count for _, count in per_form)
    if any(count < 0 for _, count in per_form) or plan.source_disagreements < 0:
        raise SaksiError("anomaly counts must not be negative")
    if wanted and "kpps" not in sources:
        raise SaksiError("per-form anomalies are planted on kpps forms; include source kpps")
    _, kab, _ = tree.region_arrays()
    kinds = np.array(tree.kinds, dtype=np.int64)
    eligible = np.flatnonzero((kinds < _TPSLN) & ~fixed_kab[kab])
    # Twice as many as needed: a few forms cannot take a swap or a total (all equal).
    spare = min(len(eligible), 2 * wanted)
    if wanted > len(eligible):
        raise SaksiError(f"{wanted} per-form anomalies do not fit {len(eligible)} eligible TPS")
    pool = rng.choice(eligible, size=spare, replace=False).tolist() if spare else []

    official = _official_forms(tree, counts) if "kpps" in sources else []
    used: set[int] = set()
    missing: set[int] = set()
    cursor = 0
    for kind, count in per_form:
        planted = 0
        while planted < count:
            if cursor >= len(pool):
                raise SaksiError(f"not enough TPS to plant {count} {kind} anomalies")
            index = pool[cursor]
            cursor += 1
            form = official[index]
            entry: dict[str, Any] | None
            if kind == "extra_digit":
                entry = _plant_extra_digit(rng, form, within_cap=planted < (count + 1) // 2)
            elif kind == "swapped_fields":
                entry = _plant_swap(rng, form)
            elif kind == "total_in_candidate":
                entry = _plant_total(rng, form)
            elif kind == "inflated_turnout":
                entry = _plant_inflation(rng, form, near=planted < (count + 1) // 2)
            else:
                missing.add(index)
                entry = {}
            if entry is None:
                continue
            used.add(index)
            truth.append({"kind": kind, "tps": tree.ids[index], "source": "kpps", **entry})
            planted += 1

    copies = [s for s in sources if s != "kpps"]
    copied = _copy_forms(tree, counts, {s: coverage[s] for s in copies})
    forms: dict[str, list[dict[str, Any]]] = {}
    for source in sources:
        if source == "kpps":
            forms[source] = [f for i, f in enumerate(official) if i not in missing]
        else:
            forms[source] = copied[source]
    if plan.source_disagreements:
        clean = np.ones(n, dtype=bool)
        clean[list(used)] = False
        candidates = [coverage[s][clean[coverage[s]]] for s in copies]
        offsets = np.cumsum([0, *(len(c) for c in candidates)])
        if plan.source_disagreements > offsets[-1]:
            raise SaksiError(
                f"{plan.source_disagreements} source disagreements do not fit "
                f"{int(offsets[-1])} witness copies"
            )
        picks = rng.choice(int(offsets[-1]), size=plan.source_disagreements, replace=False)
        for pick in picks.tolist():
            which = int(np.searchsorted(offsets, pick, side="right")) - 1
            source = copies[which]
            tps_index = int(candidates[which][pick - offsets[which]])
            position = int(np.searchsorted(coverage[source], tps_index))
            form = forms[source][position]
            entry = _plant_disagreement(rng, form, source)
            truth.append(
                {
                    "kind": "source_disagreements",
                    "tps": tree.ids[tps_index],
                    "source": source,
                    **entry,
                }
            )

    truth.sort(key=_truth_key)
    return SyntheticElection(desas=_desas(tree, counts), forms=forms, truth=truth)


def paper_form(form: Mapping[str, Any], truth: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The form as written on paper: ``form`` with the planted changes named in ``truth``
    for its TPS and source undone. Use it to render the photo of a planted form."""
    out: dict[str, Any] = {**form, "votes": dict(form["votes"]), "fields": dict(form["fields"])}
    for entry in truth:
        if entry.get("tps") != form["tps"] or entry.get("source") != form["source"]:
            continue
        kind = entry["kind"]
        if kind == "inflated_turnout":
            for name, (old, _) in entry["changes"].items():
                _set(out, name, old)
        elif kind == "swapped_fields":
            _set(out, entry["field"], entry["true"])
            _set(out, entry["swapped_with"], entry["planted"])
        elif kind == "source_disagreements":
            _set(out, entry["field"], entry["official"])
        elif "field" in entry:
            _set(out, entry["field"], entry["true"])
    return out


def _jsonl(items: Iterable[Any], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for item in items:
            handle.write(
                json.dumps(item, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            )
            handle.write("\n")


def write_truth(truth: list[dict[str, Any]], path: Path) -> None:
    """Write the truth as JSON lines, sorted by TPS (or region), source and kind."""
    _jsonl(sorted(truth, key=_truth_key), path)


def write_forms(forms: Mapping[str, list[dict[str, Any]]], directory: Path) -> list[Path]:
    """Write one ``<source>.jsonl`` per source into ``directory``; returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for source in sorted(forms):
        path = directory / f"{source}.jsonl"
        _jsonl(forms[source], path)
        paths.append(path)
    return paths
