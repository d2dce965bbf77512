"""Ed25519 cosignature/v1 of a checkpoint (../shared/specs/tlog-cosignature.md)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from saksi.log.note import NoteError, key_id, parse_vkey

__all__ = ["COSIGNATURE", "Cosigner", "CosignerKey", "cosigned_message"]

COSIGNATURE = 0x04  # signed-note signature type of timestamped Ed25519 cosignatures
MAX_TIMESTAMP = 2**63 - 1


def cosigned_message(checkpoint_text: str, timestamp: int) -> bytes:
    """ "cosignature/v1", the time line, then the whole checkpoint note text."""
    if not 0 < timestamp <= MAX_TIMESTAMP:
        raise NoteError("a cosignature's timestamp is a positive 63-bit integer")
    return f"cosignature/v1\ntime {timestamp}\n{checkpoint_text}".encode()


@dataclass(frozen=True, slots=True)
class CosignerKey:
    """A witness's public key as verifiers pin it."""

    name: str
    public: bytes

    @property
    def key_id(self) -> int:
        return key_id(self.name, COSIGNATURE, self.public)

    def vkey(self) -> str:
        material = base64.b64encode(bytes([COSIGNATURE]) + self.public).decode()
        return f"{self.name}+{self.key_id:08x}+{material}"

    @classmethod
    def parse(cls, vkey: str) -> CosignerKey:
        return cls(*parse_vkey(vkey, COSIGNATURE))

    def verify(self, checkpoint_text: str, signature_line: str) -> int | None:
        """The timestamp of a valid cosignature line by this key, else None."""
        prefix = f"\u2014 {self.name} "
        if not signature_line.startswith(prefix):
            return None
        try:
            raw = base64.b64decode(signature_line[len(prefix) :].strip(), validate=True)
        except binascii.Error:
            return None
        if len(raw) != 4 + 8 + 64 or int.from_bytes(raw[:4], "big") != self.key_id:
            return None
        timestamp = int.from_bytes(raw[4:12], "big")
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(
                raw[12:], cosigned_message(checkpoint_text, timestamp)
            )
        except (InvalidSignature, NoteError):
            return None
        return timestamp


@dataclass(frozen=True, slots=True)
class Cosigner:
    name: str
    private: Ed25519PrivateKey

    @property
    def key(self) -> CosignerKey:
        public = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return CosignerKey(self.name, public)

    def cosign(self, checkpoint_text: str, timestamp: int) -> str:
        """One note signature line: key ID, big-endian timestamp, Ed25519 signature."""
        signature = self.private.sign(cosigned_message(checkpoint_text, timestamp))
        raw = self.key.key_id.to_bytes(4, "big") + timestamp.to_bytes(8, "big") + signature
        return f"\u2014 {self.name} {base64.b64encode(raw).decode()}\n"
