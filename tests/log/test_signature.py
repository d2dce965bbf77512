"""The Ed25519 check gives exactly OpenSSL's verdict (RFC 8032 as `cryptography` applies
it), though it asks libsodium first for speed."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError

from saksi.log.signature import signature_valid

# The identity point as a public key, and R = identity with S = 0: [0]B == R + [k]A for
# every message. RFC 8032 and OpenSSL accept it; libsodium refuses small-order keys.
SMALL_ORDER_KEY = b"\x01" + bytes(31)
SMALL_ORDER_SIGNATURE = SMALL_ORDER_KEY + bytes(32)


def _openssl(key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def test_a_signature_libsodium_refuses_gets_the_servers_verdict() -> None:
    with pytest.raises(BadSignatureError):
        crypto_sign_open(SMALL_ORDER_SIGNATURE + b"form", SMALL_ORDER_KEY)
    assert _openssl(SMALL_ORDER_KEY, SMALL_ORDER_SIGNATURE, b"form")
    assert signature_valid(SMALL_ORDER_KEY, SMALL_ORDER_SIGNATURE, b"form")


@pytest.mark.parametrize(
    ("key", "signature"),
    [(bytes(31), bytes(64)), (bytes(32), bytes(63)), (bytes(33), bytes(64))],
)
def test_wrong_lengths_are_not_valid(key: bytes, signature: bytes) -> None:
    assert not signature_valid(key, signature, b"form")


@settings(max_examples=200, deadline=None)
@given(
    seed=st.binary(min_size=32, max_size=32),
    message=st.binary(max_size=300),
    flip=st.one_of(st.none(), st.integers(min_value=0, max_value=8 * (32 + 64) - 1)),
)
def test_agrees_with_openssl_on_genuine_and_damaged_signatures(
    seed: bytes, message: bytes, flip: int | None
) -> None:
    private = Ed25519PrivateKey.from_private_bytes(seed)
    key = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    signed = bytearray(key + private.sign(message))
    if flip is not None:
        signed[flip // 8] ^= 1 << (flip % 8)
    key, signature = bytes(signed[:32]), bytes(signed[32:])
    assert signature_valid(key, signature, message) == _openssl(key, signature, message)
    assert signature_valid(key, signature, message) == (flip is None)
