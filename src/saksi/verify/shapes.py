"""Shape checks the verifier's replay of result forms and of recap forms share."""

from __future__ import annotations

import re
from typing import Any

from saksi.verify.report import Refused

__all__ = ["HEX64", "check_photos", "check_version_hash", "is_hash"]

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def is_hash(value: Any) -> bool:
    """A payload hash: 64 lowercase hex digits."""
    return isinstance(value, str) and bool(HEX64.fullmatch(value))


def check_photos(photos: Any, where: object) -> None:
    """A form's photos: 1 to 16 distinct SHA-256 hashes. ``where`` names the form when
    formatted (only a refusal formats it)."""
    if (
        not isinstance(photos, list)
        or not 1 <= len(photos) <= 16
        or not all(is_hash(h) for h in photos)
        or len(set(photos)) != len(photos)  # only strings reach here: hashable
    ):
        raise Refused(f"{where}: 'photos' must list 1 to 16 distinct SHA-256 hashes")


def check_version_hash(replaces: Any, where: object, version: str) -> None:
    """``replaces``: the 64-hex payload hash of the ``version`` it corrects."""
    if not is_hash(replaces):
        raise Refused(f"{where}: 'replaces' must be the 64-hex hash of {version}")
