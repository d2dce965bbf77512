"""One-time enrolment codes: a source's key manager issues one code per TPS in bulk and
records only a digest of each; a device registers its own key with its TPS's code.

Specified in docs/record-format.md, sections 6.9 and 6.10.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from saksi.errors import RejectedEntry

__all__ = [
    "CODE_DIGEST_BYTES",
    "MAX_CODES_PER_ENTRY",
    "IssuedCodes",
    "code_digest",
    "new_code",
    "parse_enrolment",
    "parse_issued_codes",
]

CODE_DIGEST_BYTES = 16
MAX_CODES_PER_ENTRY = 1000
_DOMAIN = b"saksi-enrol-v1\n"
_CODE = re.compile(r"[A-Z2-7]{26}")  # base32 of 16 random bytes, without padding


def new_code() -> str:
    """A fresh code: 128 random bits as 26 characters of base32 (A-Z, 2-7)."""
    return base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=")


def code_digest(election: str, source: str, tps: str, code: str) -> bytes:
    """What the log records of a code: it binds the code to its election, source, TPS."""
    text = "\n".join((election, source, tps, code)).encode()
    return hashlib.sha256(_DOMAIN + text).digest()[:CODE_DIGEST_BYTES]


@dataclass(frozen=True)
class IssuedCodes:
    source: str
    digests: dict[str, bytes]  # TPS id -> code digest


def parse_issued_codes(payload: dict[str, Any]) -> IssuedCodes:
    source, tps, codes = payload.get("source"), payload.get("tps"), payload.get("codes")
    if set(payload) != {"codes", "source", "tps"} or not isinstance(source, str):
        raise RejectedEntry("enrolment codes hold exactly 'codes', 'source' and 'tps'")
    if (
        not isinstance(tps, list)
        or not 1 <= len(tps) <= MAX_CODES_PER_ENTRY
        or not all(isinstance(t, str) for t in tps)
        or len(set(tps)) != len(tps)
    ):
        raise RejectedEntry(f"enrolment codes list 1 to {MAX_CODES_PER_ENTRY:,} distinct TPS ids")
    try:
        raw = base64.b64decode(codes, validate=True) if isinstance(codes, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != CODE_DIGEST_BYTES * len(tps) or base64.b64encode(raw).decode() != codes:
        raise RejectedEntry(
            f"'codes' must be canonical base64 of {CODE_DIGEST_BYTES} bytes for each TPS listed"
        )
    digests = {
        t: raw[i * CODE_DIGEST_BYTES : (i + 1) * CODE_DIGEST_BYTES] for i, t in enumerate(tps)
    }
    return IssuedCodes(source, digests)


def parse_enrolment(payload: dict[str, Any], signed_by: str | None) -> tuple[str, str, str, str]:
    """(code, key, source, TPS) of an enrolment the new key itself signed."""
    values = [payload.get(k) for k in ("code", "key", "source", "tps")]
    if set(payload) != {"code", "key", "source", "tps"} or not all(
        isinstance(v, str) for v in values
    ):
        raise RejectedEntry("an enrolment holds exactly 'code', 'key', 'source' and 'tps'")
    code, key, source, tps = (str(v) for v in values)
    if not _CODE.fullmatch(code):
        raise RejectedEntry(
            f"TPS {tps}: an enrolment code is 26 letters A-Z and digits 2-7, as issued"
        )
    if signed_by != key:
        raise RejectedEntry(f"TPS {tps}: an enrolment must be signed by the key it enrols")
    return code, key, source, tps
