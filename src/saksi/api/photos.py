"""What a form photo must be before it is kept: a JPEG or PNG that decodes, within the
size limit, and free of GPS metadata (the client library strips EXIF before hashing)."""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

__all__ = ["MAX_PHOTO_BYTES", "MAX_PIXELS", "PhotoRefused", "check_photo"]

MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel camera at most: refuses decompression bombs
_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
_GPS_IFD = 0x8825


class PhotoRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def check_photo(data: bytes) -> str:
    """The photo's media type; raises PhotoRefused with the reason otherwise."""
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRefused(
            413, f"a form photo is at most {MAX_PHOTO_BYTES:,} bytes; this one is {len(data):,}"
        )
    if not data:
        raise PhotoRefused(400, "the photo is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind = image.format or ""
                if kind not in _FORMATS:
                    raise PhotoRefused(415, f"a form photo must be JPEG or PNG, not {kind}")
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise PhotoRefused(
                        413,
                        f"a form photo is at most {MAX_PIXELS:,} pixels; this one is "
                        f"{width} x {height}",
                    )
                gps = image.getexif().get_ifd(_GPS_IFD)
                image.load()  # decodes every pixel: a truncated or corrupt file fails here
    except PhotoRefused:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRefused(
            415, "the photo is not a JPEG or PNG image that can be decoded"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise PhotoRefused(415, f"the photo cannot be decoded: {exc}") from None
    if gps:
        raise PhotoRefused(
            422,
            "the photo carries GPS location metadata; strip its EXIF data before sending "
            "(the saksi client does this)",
        )
    return _FORMATS[kind]
