"""Ed25519 signing and verification over entry signing inputs, and private-key files."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from saksi.canonical import canonical_bytes
from saksi.errors import SaksiError
from saksi.log.entry import Auth, Entry, EntryType, payload_hash, signing_input
from saksi.log.signature import signature_valid

__all__ = ["SigningKey", "verify_auth"]


@dataclass(frozen=True, slots=True)
class SigningKey:
    private: Ed25519PrivateKey
    public_b64: str  # base64 of the raw 32-byte public key: how entries name a key

    @classmethod
    def generate(cls) -> SigningKey:
        return cls.from_private(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        return cls.from_private(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_private(cls, private: Ed25519PrivateKey) -> SigningKey:
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return cls(private, base64.b64encode(raw).decode())

    def seed(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    def sign(self, entry_type: str, election: str, payload_bytes: bytes) -> Auth:
        signature = self.private.sign(signing_input(entry_type, election, payload_bytes))
        return Auth(key=self.public_b64, signature=base64.b64encode(signature).decode())

    def entry(
        self,
        entry_type: EntryType,
        election: str,
        payload: dict[str, Any],
        body: bytes | None = None,
    ) -> Entry:
        """A signed entry carrying ``payload``; ``body`` is its canonical bytes if known."""
        if body is None:
            body = canonical_bytes(payload)
        return Entry(
            entry_type,
            election,
            payload,
            self.sign(entry_type, election, body),
            body,
            payload_hash(entry_type, election, body),
        )

    def save(self, path: Path) -> None:
        """Write the seed as base64, readable by the owner only."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(self.seed()).decode() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        try:
            seed = base64.b64decode(path.read_text().strip(), validate=True)
        except FileNotFoundError as exc:
            raise SaksiError(f"key file {path} does not exist") from exc
        except ValueError as exc:
            raise SaksiError(f"key file {path} is not a base64 Ed25519 seed") from exc
        if len(seed) != 32:
            raise SaksiError(f"key file {path} does not hold a 32-byte Ed25519 seed")
        return cls.from_seed(seed)


def verify_auth(auth: Auth, entry_type: str, election: str, payload_bytes: bytes) -> bool:
    """True when ``auth`` is a valid signature by its named key over the payload."""
    assert auth.key is not None
    assert auth.signature is not None
    try:
        key, signature = base64.b64decode(auth.key), base64.b64decode(auth.signature)
    except ValueError:
        return False
    return signature_valid(key, signature, signing_input(entry_type, election, payload_bytes))
