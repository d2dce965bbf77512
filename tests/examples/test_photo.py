"""The rendered form photo: a small, valid, deterministic PNG that shows the form."""

from __future__ import annotations

import io
import itertools
import time
from typing import Any

import numpy as np
from PIL import Image

from saksi.examples.photo import HEIGHT, WIDTH, render_form_photo

FORM: dict[str, Any] = {
    "tps": "3171010001001",
    "contest": "PPWP",
    "source": "kpps",
    "votes": {"01": 41, "02": 158, "03": 27},
    "fields": {
        "dpt": 276,
        "dpt_laki": 139,
        "dpt_perempuan": 137,
        "pengguna_dpt": 229,
        "pengguna_dptb": 2,
        "pengguna_dpk": 1,
        "pengguna_hak_pilih": 232,
        "pengguna_hak_pilih_laki": 115,
        "pengguna_hak_pilih_perempuan": 117,
        "suara_sah": 226,
        "suara_tidak_sah": 6,
        "suara_total": 232,
        "surat_suara_diterima": 282,
        "surat_suara_digunakan": 232,
        "surat_suara_rusak": 1,
        "surat_suara_sisa": 49,
    },
}


def _pixels(png: bytes) -> np.ndarray[Any, np.dtype[np.bool_]]:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return np.asarray(image.convert("L")) < 128


def _with(votes: dict[str, int] | None = None, **top: Any) -> dict[str, Any]:
    return {**FORM, **top, "votes": {**FORM["votes"], **(votes or {})}}


def test_photo_is_a_small_valid_png() -> None:
    png = render_form_photo(FORM, tps_name="DKI JAKARTA / KEPULAUAN SERIBU")
    image = Image.open(io.BytesIO(png))
    image.verify()
    image = Image.open(io.BytesIO(png))
    assert image.size == (WIDTH, HEIGHT)
    assert image.mode in {"1", "L"}
    assert len(png) < 10_000
    ink = _pixels(png).mean()
    assert 0.01 < ink < 0.3, "a form with writing on it, not a blank or black page"


def test_same_form_same_bytes() -> None:
    assert render_form_photo(FORM, tps_name="X") == render_form_photo(dict(FORM), tps_name="X")
    assert render_form_photo(FORM) != render_form_photo(FORM, tps_name="X")
    assert render_form_photo(FORM) != render_form_photo(_with(tps="3171010001002"))


def test_each_pair_has_its_own_row() -> None:
    """Changing one pair's votes changes pixels only in that pair's row, in order."""
    base = _pixels(render_form_photo(FORM))
    rows = []
    for choice in ("01", "02", "03"):
        changed = _pixels(render_form_photo(_with({choice: 431}))) != base
        ys = np.flatnonzero(changed.any(axis=1))
        assert len(ys) > 0, choice
        rows.append((int(ys.min()), int(ys.max())))
    for (_, upper_end), (lower_start, _) in itertools.pairwise(rows):
        assert upper_end < lower_start


def test_field_values_are_drawn() -> None:
    base = _pixels(render_form_photo(FORM))
    changed = _pixels(render_form_photo({**FORM, "fields": {**FORM["fields"], "suara_sah": 227}}))
    assert (changed != base).any()


def test_witness_copies_odd_names_and_long_ballots_render() -> None:
    witness = {
        "tps": "9901010001201",
        "contest": "PPWP",
        "source": "saksi-02",
        "votes": {"01": 41, "02": 1558, "03": 7},
        "fields": {"pengguna_hak_pilih": 1610, "suara_sah": 1606, "suara_tidak_sah": 4},
    }
    _pixels(render_form_photo(witness, tps_name="LUAR NEGERI / MALAYSIA — KSK ñ"))
    parties = {**witness, "votes": {f"{i:02d}": i * 3 for i in range(1, 19)}, "fields": {}}
    _pixels(render_form_photo(parties))


def test_renders_hundreds_per_second() -> None:
    start = time.perf_counter()
    for i in range(100):
        render_form_photo(_with({"01": i}))
    # Typically 3 ms each; the bound leaves room for a busy machine.
    assert time.perf_counter() - start < 3.0
