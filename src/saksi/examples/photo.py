"""A rendered "photo" of form C.Hasil for synthetic elections: a small 1-bit greyscale PNG.

The picture shows the TPS, each choice's votes in large boxes (as the KPPS writes them on
the poster-size form) and every field the form carries. It uses only Pillow's built-in
bitmap font, so the same form gives the same bytes on any machine with this Pillow.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from PIL import Image, ImageDraw, ImageFont

__all__ = ["FIELD_LABELS", "render_form_photo"]

WIDTH, HEIGHT = 480, 640
_INK, _PAPER = 0, 255

FIELD_LABELS: dict[str, str] = {
    "dpt": "DPT",
    "dpt_laki": "DPT LAKI-LAKI",
    "dpt_perempuan": "DPT PEREMPUAN",
    "pengguna_dpt": "PENGGUNA HAK PILIH DPT",
    "pengguna_dptb": "PENGGUNA HAK PILIH DPTb",
    "pengguna_dpk": "PENGGUNA HAK PILIH DPK",
    "pengguna_hak_pilih": "JUMLAH PENGGUNA HAK PILIH",
    "pengguna_hak_pilih_laki": "PENGGUNA HAK PILIH LAKI-LAKI",
    "pengguna_hak_pilih_perempuan": "PENGGUNA HAK PILIH PEREMPUAN",
    "suara_sah": "JUMLAH SUARA SAH",
    "suara_tidak_sah": "JUMLAH SUARA TIDAK SAH",
    "suara_total": "JUMLAH SUARA SAH DAN TIDAK SAH",
    "surat_suara_diterima": "SURAT SUARA DITERIMA",
    "surat_suara_digunakan": "SURAT SUARA DIGUNAKAN",
    "surat_suara_rusak": "SURAT SUARA RUSAK/KELIRU",
    "surat_suara_sisa": "SURAT SUARA TIDAK DIGUNAKAN",
}


@lru_cache(maxsize=1)
def _font() -> ImageFont.ImageFont:
    # The bitmap font, not FreeType: its pixels do not depend on the FreeType version.
    return ImageFont.load_default_imagefont()


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


@lru_cache(maxsize=2048)
def _big_text(text: str, scale: int) -> Image.Image:
    """``text`` in the bitmap font, enlarged ``scale`` times with square pixels."""
    font = _font()
    _, _, right, bottom = font.getbbox(text)
    small = Image.new("L", (max(right, 1), max(bottom, 1)), 0)
    ImageDraw.Draw(small).text((0, 0), text, fill=255, font=font)
    return small.resize((small.width * scale, small.height * scale), Image.Resampling.NEAREST)


def _paste_text(image: Image.Image, xy: tuple[int, int], text: str, scale: int) -> None:
    mask = _big_text(_ascii(text), scale)
    image.paste(_INK, (xy[0], xy[1], xy[0] + mask.width, xy[1] + mask.height), mask)


def _ordered_fields(fields: Mapping[str, Any]) -> list[tuple[str, Any]]:
    known = [(name, fields[name]) for name in FIELD_LABELS if name in fields]
    extra = sorted((name, value) for name, value in fields.items() if name not in FIELD_LABELS)
    return known + extra


def render_form_photo(form: Mapping[str, Any], *, tps_name: str = "") -> bytes:
    """A 480x640 1-bit greyscale PNG of ``form``, a result-form dict; same input, same bytes."""
    # One bit per pixel: the form is black on white, and encodes small and fast.
    image = Image.new("1", (WIDTH, HEIGHT), _PAPER)
    draw = ImageDraw.Draw(image)
    font = _font()
    draw.rectangle((6, 6, WIDTH - 7, HEIGHT - 7), outline=_INK, width=2)

    contest = str(form.get("contest", ""))
    _paste_text(image, (16, 14), f"MODEL C.HASIL-{contest}", 2)
    draw.text((16, 42), "SERTIFIKAT HASIL PENGHITUNGAN PEROLEHAN SUARA", fill=_INK, font=font)
    _paste_text(image, (16, 60), f"TPS {form.get('tps', '')}", 2)
    if tps_name:
        draw.text((16, 86), _ascii(tps_name)[:76], fill=_INK, font=font)
    draw.line((12, 102, WIDTH - 13, 102), fill=_INK, width=1)

    votes = list(form.get("votes", {}).items())
    top, bottom = 110, 330
    row = max(14, min(60, (bottom - top) // max(len(votes), 1)))
    scale = 3 if row >= 48 else 2 if row >= 30 else 1
    for i, (choice, value) in enumerate(votes):
        y = top + i * row
        if y + row > bottom + 1:
            break
        draw.text((20, y + (row - 11) // 2), _ascii(f"PASLON {choice}"), fill=_INK, font=font)
        box = (200, y + 3, WIDTH - 20, y + row - 3)
        draw.rectangle(box, outline=_INK, width=1)
        text = str(value)
        width = _big_text(_ascii(text), scale).width
        _paste_text(image, (box[2] - 10 - width, y + (row - 11 * scale) // 2), text, scale)
    draw.line((12, bottom + 6, WIDTH - 13, bottom + 6), fill=_INK, width=1)

    y = bottom + 14
    for name, value in _ordered_fields(form.get("fields", {})):
        if y > HEIGHT - 40:
            break
        label = FIELD_LABELS.get(name, name.upper().replace("_", " "))
        draw.text((20, y), _ascii(label), fill=_INK, font=font)
        text = "-" if value is None else str(value)
        width = int(font.getlength(_ascii(text)))
        draw.point([(x, y + 10) for x in range(250, WIDTH - 30 - width, 3)], fill=_INK)
        draw.text((WIDTH - 24 - width, y), _ascii(text), fill=_INK, font=font)
        y += 16

    draw.text((16, HEIGHT - 24), _ascii(f"SUMBER: {form.get('source', '')}"), fill=_INK, font=font)
    out = io.BytesIO()
    # Level 3: level 9 saves 20% of ~3.5 KB but takes six times as long.
    image.save(out, format="PNG", compress_level=3)
    return out.getvalue()
