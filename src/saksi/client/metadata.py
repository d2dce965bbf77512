"""Strip metadata from a form photo before it is hashed, without re-encoding the image.

JPEG: every APPn segment except JFIF (APP0) and Adobe colour (APP14) is dropped, so EXIF
(with GPS and device ids) and XMP go, and the pixels stay byte for byte. PNG: the eXIf
chunk and text chunks are dropped.
"""

from __future__ import annotations

import struct
import zlib

__all__ = ["MetadataError", "strip_metadata"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_DROP = {b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"tIME"}
_JPEG_KEEP_APP = {0xE0, 0xEE}  # JFIF, Adobe


class MetadataError(ValueError):
    """The bytes are not a JPEG or PNG this stripper can read."""


def strip_metadata(data: bytes) -> bytes:
    if data.startswith(_PNG_SIGNATURE):
        return _strip_png(data)
    if data.startswith(b"\xff\xd8"):
        return _strip_jpeg(data)
    raise MetadataError("a form photo must be a JPEG or PNG image")


def _strip_png(data: bytes) -> bytes:
    out = [_PNG_SIGNATURE]
    position = len(_PNG_SIGNATURE)
    while position < len(data):
        if position + 12 > len(data):
            raise MetadataError("the PNG image is truncated")
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        end = position + 12 + length
        if end > len(data):
            raise MetadataError("the PNG image is truncated")
        chunk = data[position:end]
        crc = struct.unpack(">I", chunk[-4:])[0]
        if zlib.crc32(chunk[4:-4]) != crc:
            raise MetadataError(f"the PNG chunk {kind!r} is damaged")
        if kind not in _PNG_DROP:
            out.append(chunk)
        position = end
        if kind == b"IEND":
            break
    return b"".join(out)


def _strip_jpeg(data: bytes) -> bytes:
    out = [b"\xff\xd8"]
    position = 2
    while position < len(data):
        if data[position] != 0xFF:
            raise MetadataError("the JPEG image has a damaged segment")
        marker = data[position + 1] if position + 1 < len(data) else -1
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xDA or marker == 0xD9 or marker < 0:
            out.append(data[position:])  # start of scan: the image data follows
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out.append(data[position : position + 2])
            position += 2
            continue
        if position + 4 > len(data):
            raise MetadataError("the JPEG image is truncated")
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        end = position + 2 + length
        if length < 2 or end > len(data):
            raise MetadataError("the JPEG image is truncated")
        if not (0xE1 <= marker <= 0xEF and marker not in _JPEG_KEEP_APP):
            out.append(data[position:end])
        position = end
    return b"".join(out)
