"""The client strips photo metadata without touching the pixels."""

from __future__ import annotations

import io

import pytest
from api_helpers import jpeg_with_gps, png
from PIL import Image

from saksi.api.photos import check_photo
from saksi.client.metadata import MetadataError, strip_metadata


@pytest.mark.parametrize("original", [jpeg_with_gps(), png("page", gps=True)])
def test_gps_goes_and_the_pixels_stay(original: bytes) -> None:
    with Image.open(io.BytesIO(original)) as before:
        assert before.getexif().get_ifd(0x8825)
        pixels = before.tobytes()
    stripped = strip_metadata(original)
    with Image.open(io.BytesIO(stripped)) as after:
        assert not after.getexif()
        assert after.tobytes() == pixels
    assert check_photo(stripped) in ("image/jpeg", "image/png")


def test_anything_else_is_not_a_photo() -> None:
    with pytest.raises(MetadataError, match="JPEG or PNG"):
        strip_metadata(b"GIF89a")
    with pytest.raises(MetadataError, match="truncated"):
        strip_metadata(png("page")[:40])
