"""C2SP signed notes with Ed25519 keys (../shared/specs/signed-note.md).

A note is text ending in a newline, a blank line, then one signature line per key:
"— <key name> base64(key ID || signature)". Verifiers ignore unknown keys, reject the
note if a known key's signature fails, and require at least one known signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "ED25519",
    "MAX_SIGNATURES",
    "NoteError",
    "NoteSigner",
    "NoteVerifier",
    "Signature",
    "key_id",
    "open_note",
    "parse_note",
    "parse_vkey",
    "sign_note",
]

ED25519 = 0x01  # signature type byte (signed-note, "Signature types")
MAX_SIGNATURES = 64  # the spec asks verifiers to accept at least 16
_DASH = "\u2014 "


class NoteError(ValueError):
    """A note that is malformed, or whose signatures do not verify."""


def key_id(name: str, signature_type: int, public: bytes) -> int:
    """SHA-256(key name || 0x0A || type || public key)[:4], big-endian."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([signature_type]) + public).digest()
    return int.from_bytes(digest[:4], "big")


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"key name {name!r} is empty or holds a space or '+'")


def parse_vkey(vkey: str, signature_type: int) -> tuple[str, bytes]:
    """Name and 32-byte Ed25519 key of "<name>+<hex key ID>+<base64(type || key)>"."""
    parts = vkey.strip().split("+", 2)  # the base64 key itself may hold a "+"
    if len(parts) != 3:
        raise NoteError("a verifier key is <name>+<key ID>+<key>")
    name, hex_id, encoded = parts
    _check_name(name)
    try:
        identifier = int(hex_id, 16)
        material = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise NoteError(f"verifier key {vkey!r} is malformed") from exc
    if len(hex_id) != 8 or len(material) != 33 or material[0] != signature_type:
        raise NoteError(f"verifier key {vkey!r} is not an Ed25519 key of the expected type")
    if key_id(name, signature_type, material[1:]) != identifier:
        raise NoteError(f"verifier key {vkey!r} has the wrong key ID")
    return name, material[1:]


@dataclass(frozen=True, slots=True)
class Signature:
    name: str
    key_id: int
    signature: bytes


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """An Ed25519 verifier key, as in "<name>+<hex key ID>+<base64(0x01 || key)>"."""

    name: str
    key_id: int
    public: bytes

    @classmethod
    def from_public(cls, name: str, public: bytes) -> NoteVerifier:
        _check_name(name)
        return cls(name, key_id(name, ED25519, public), public)

    @classmethod
    def parse(cls, vkey: str) -> NoteVerifier:
        name, public = parse_vkey(vkey, ED25519)
        return cls(name, key_id(name, ED25519, public), public)

    def vkey(self) -> str:
        material = base64.b64encode(bytes([ED25519]) + self.public).decode()
        return f"{self.name}+{self.key_id:08x}+{material}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, text)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True, slots=True)
class NoteSigner:
    name: str
    private: Ed25519PrivateKey

    @property
    def verifier(self) -> NoteVerifier:
        public = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return NoteVerifier.from_public(self.name, public)

    def line(self, text: str) -> str:
        signature = self.private.sign(text.encode())
        encoded = self.verifier.key_id.to_bytes(4, "big") + signature
        return f"{_DASH}{self.name} {base64.b64encode(encoded).decode()}\n"


def _check_text(text: str) -> None:
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("a note may hold no control characters other than newline")


def sign_note(text: str, signers: Sequence[NoteSigner]) -> str:
    """The signed note: text, a blank line, one signature line per signer."""
    if not text.endswith("\n"):
        raise NoteError("a note's text ends with a newline")
    _check_text(text)
    return text + "\n" + "".join(signer.line(text) for signer in signers)


def parse_note(data: bytes) -> tuple[str, list[Signature]]:
    """Split a signed note into its text and signatures, checking the format."""
    try:
        note = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError("a note is UTF-8 text") from exc
    _check_text(note)
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise NoteError("a note is text, a blank line and signature lines")
    text, block = note[: cut + 1], note[cut + 2 :]
    lines = block.split("\n")[:-1]
    if not lines:
        raise NoteError("a note carries at least one signature")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a note carries at most {MAX_SIGNATURES} signatures")
    signatures = []
    for line in lines:
        if not line.startswith(_DASH):
            raise NoteError(f"signature line {line!r} does not start with an em dash")
        name, _, encoded = line[len(_DASH) :].rpartition(" ")
        _check_name(name)
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise NoteError(f"the signature of {name} is not base64") from exc
        if len(raw) < 5:
            raise NoteError(f"the signature of {name} is too short")
        signatures.append(Signature(name, int.from_bytes(raw[:4], "big"), raw[4:]))
    return text, signatures


def open_note(data: bytes, verifiers: Iterable[NoteVerifier]) -> tuple[str, list[NoteVerifier]]:
    """The note's text and the known keys that signed it; NoteError if it cannot be trusted."""
    text, signatures = parse_note(data)
    known = {(v.name, v.key_id): v for v in verifiers}
    signed: list[NoteVerifier] = []
    for signature in signatures:
        verifier = known.get((signature.name, signature.key_id))
        if verifier is None:
            continue  # unknown keys are ignored, even if they share a name or an ID
        if not verifier.verify(text.encode(), signature.signature):
            raise NoteError(f"the signature of {signature.name} does not verify")
        if verifier not in signed:
            signed.append(verifier)
    if not signed:
        raise NoteError("no signature on the note is from a known key")
    return text, signed
