"""The entry envelope: types, canonical bytes, signing input and hashes (docs/record-format.md).

This module is the one place where entry bytes are produced.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from saksi.canonical import CanonicalError, canonical_bytes, decode_canonical

__all__ = [
    "FORMAT_VERSION",
    "MAX_ENTRY_BYTES",
    "Auth",
    "Entry",
    "EntryType",
    "Envelope",
    "canonical_b64",
    "check_auth",
    "decode_entry",
    "encode_entry",
    "payload_hash",
    "signing_input",
    "signing_prefix",
]

FORMAT_VERSION = 1
# tlog-tiles entry bundles prefix each entry with a 16-bit big-endian length.
MAX_ENTRY_BYTES = 65_535
SIGNING_DOMAIN = b"saksi-entry-v1\n"


class EntryType(StrEnum):
    MANIFEST = "manifest"
    REGISTRY = "registry"
    KEYS_REGISTER = "keys_register"
    KEYS_REVOKE = "keys_revoke"
    RESULT_FORM = "result_form"
    ATTESTATION = "attestation"
    DECISION = "decision"
    PUBLICATION = "publication"
    ENROLMENT_CODES = "enrolment_codes"
    ENROLMENT = "enrolment"
    RECAP_FORM = "recap_form"
    OBJECTION = "objection"
    RECOMMENDATION = "recommendation"


@dataclass(frozen=True, slots=True)
class Auth:
    """Who vouches for an entry: one Ed25519 signature, or a batch attestation."""

    key: str | None = None  # base64 of the 32-byte Ed25519 public key
    signature: str | None = None  # base64 of the 64-byte signature
    attestation: str | None = None  # hex payload hash of the covering attestation

    def to_bytes(self) -> bytes:
        """Canonical JSON of the auth object; base64 and hex need no escaping."""
        if self.attestation is not None:
            return b'{"attestation":"' + self.attestation.encode() + b'"}'
        assert self.key is not None
        assert self.signature is not None
        return b'{"key":"' + self.key.encode() + b'","sig":"' + self.signature.encode() + b'"}'

    def to_json(self) -> dict[str, str]:
        if self.attestation is not None:
            return {"attestation": self.attestation}
        assert self.key is not None
        assert self.signature is not None
        return {"key": self.key, "sig": self.signature}


@dataclass(frozen=True, slots=True)
class Entry:
    type: EntryType
    election: str
    payload: dict[str, Any]
    auth: Auth
    payload_bytes: bytes  # canonical bytes of payload
    payload_hash: bytes  # sha256 of the signing input


def signing_input(entry_type: str, election: str, payload_bytes: bytes) -> bytes:
    """The bytes a signature covers: domain, type and election id, then the payload."""
    return b"".join(
        (SIGNING_DOMAIN, entry_type.encode(), b"\n", election.encode(), b"\n", payload_bytes)
    )


def payload_hash(entry_type: str, election: str, payload_bytes: bytes) -> bytes:
    """The identity of a fact: SHA-256 of its signing input."""
    return hashlib.sha256(signing_input(entry_type, election, payload_bytes)).digest()


@functools.lru_cache(maxsize=64)
def _string(text: str) -> bytes:
    return json.JSONEncoder(ensure_ascii=False).encode(text).encode()


_HEX64 = re.compile(r"[0-9a-f]{64}")


_VERSION_TAIL = b',"v":' + str(FORMAT_VERSION).encode() + b"}"


@dataclass(frozen=True, slots=True)
class Envelope:
    """The bytes around a payload for one entry type, election and auth.

    The keys auth < election < payload < type < v are already in RFC 8785 order, so an
    entry is ``head + payload + tail`` with the canonical payload bytes unchanged.
    """

    head: bytes
    tail: bytes

    @classmethod
    def of(cls, entry_type: str, election: str, auth: Auth) -> Envelope:
        head = b'{"auth":' + auth.to_bytes() + b',"election":' + _string(election)
        return cls(head + b',"payload":', b',"type":' + _string(entry_type) + _VERSION_TAIL)

    def wrap(self, payload_bytes: bytes, entry_type: str = "entry") -> bytes:
        out = self.head + payload_bytes + self.tail
        if len(out) > MAX_ENTRY_BYTES:
            raise CanonicalError(
                f"{entry_type} entry is {len(out)} bytes; the limit is {MAX_ENTRY_BYTES}"
            )
        return out


def encode_entry(entry_type: str, election: str, payload_bytes: bytes, auth: Auth) -> bytes:
    """Canonical envelope bytes; ``payload_bytes`` must already be canonical."""
    return Envelope.of(entry_type, election, auth).wrap(payload_bytes, entry_type)


def signing_prefix(entry_type: str, election: str) -> bytes:
    """The signing input without its payload, for hashing many payloads of one kind."""
    return signing_input(entry_type, election, b"")


def canonical_b64(text: Any, size: int, what: str) -> str:
    """``text`` if it is canonical base64 of ``size`` bytes; CanonicalError otherwise."""
    if not isinstance(text, str):
        raise CanonicalError(f"{what} must be a base64 string")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise CanonicalError(f"{what} is not valid base64") from exc
    if len(raw) != size or base64.b64encode(raw).decode() != text:
        raise CanonicalError(f"{what} must be {size} bytes in canonical base64")
    return text


def _hex32(text: Any, what: str) -> str:
    # A pattern, not bytes.fromhex, which would also accept spaces between digits.
    if not isinstance(text, str) or not _HEX64.fullmatch(text):
        raise CanonicalError(f"{what} must be 64 lowercase hex digits")
    return text


def _decode_auth(value: Any) -> Auth:
    if not isinstance(value, dict):
        raise CanonicalError("auth must be an object")
    if set(value) == {"attestation"}:
        return Auth(attestation=_hex32(value["attestation"], "auth.attestation"))
    if set(value) == {"key", "sig"}:
        return Auth(
            key=canonical_b64(value["key"], 32, "auth.key"),
            signature=canonical_b64(value["sig"], 64, "auth.sig"),
        )
    raise CanonicalError("auth must hold either {key, sig} or {attestation}")


def check_auth(auth: Auth) -> None:
    """Raise CanonicalError unless the record's decoder would read ``auth`` back as it is:
    base64 that decodes to the right bytes but is not canonical must never be recorded."""
    _decode_auth(auth.to_json())


def decode_entry(data: bytes) -> Entry:
    """Parse and check an entry's envelope; the payload is checked by its type's handler."""
    if len(data) > MAX_ENTRY_BYTES:
        raise CanonicalError(f"entry is {len(data)} bytes; the limit is {MAX_ENTRY_BYTES}")
    value = decode_canonical(data)
    if not isinstance(value, dict) or set(value) != {"auth", "election", "payload", "type", "v"}:
        raise CanonicalError("entry must be an object with keys auth, election, payload, type, v")
    if type(value["v"]) is not int or value["v"] != FORMAT_VERSION:  # true == 1 in Python
        raise CanonicalError(f"entry format version {value['v']!r} is not supported")
    try:
        entry_type = EntryType(value["type"])
    except ValueError as exc:
        raise CanonicalError(f"unknown entry type {value['type']!r}") from exc
    election, payload = value["election"], value["payload"]
    if not isinstance(election, str) or not isinstance(payload, dict):
        raise CanonicalError("entry election must be a string and payload an object")
    auth = _decode_auth(value["auth"])
    # The bytes are canonical, so the payload's bytes are exactly what the envelope
    # holds between its head and tail.
    envelope = Envelope.of(entry_type, election, auth)
    if data.startswith(envelope.head) and data.endswith(envelope.tail):
        body = data[len(envelope.head) : len(data) - len(envelope.tail)]
    else:
        body = canonical_bytes(payload)
    return Entry(
        type=entry_type,
        election=election,
        payload=payload,
        auth=auth,
        payload_bytes=body,
        payload_hash=payload_hash(entry_type, election, body),
    )
