"""The entry envelope: canonical bytes, size limit, strict decoding, hashes and signatures."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saksi.canonical import CanonicalError, canonical_bytes
from saksi.keys.ed25519 import SigningKey, verify_auth
from saksi.log.entry import (
    MAX_ENTRY_BYTES,
    Auth,
    EntryType,
    decode_entry,
    encode_entry,
    payload_hash,
)

ELECTION = "pemilu2019"
KEY = SigningKey.from_seed(bytes(range(32)))
OTHER = SigningKey.from_seed(bytes(range(1, 33)))
FORM = {
    "tps": "3171010001001",
    "contest": "PPWP",
    "source": "kpps",
    "votes": {"01": 115, "02": 154},
    "fields": {"suara_sah": 269, "suara_tidak_sah": 3, "pengguna_hak_pilih": 272},
}
ATTESTATION = "ab" * 32


def _signed(payload: dict[str, Any], entry_type: str = EntryType.RESULT_FORM) -> bytes:
    body = canonical_bytes(payload)
    return encode_entry(entry_type, ELECTION, body, KEY.sign(entry_type, ELECTION, body))


def _envelope(**changes: Any) -> dict[str, Any]:
    """A decoded valid envelope with some keys changed (a value of ... removes the key)."""
    envelope: dict[str, Any] = {
        "auth": {"attestation": ATTESTATION},
        "election": ELECTION,
        "payload": {"a": 1},
        "type": "result_form",
        "v": 1,
    }
    for key, value in changes.items():
        if value is ...:
            del envelope[key]
        else:
            envelope[key] = value
    return envelope


# -- encoding --------------------------------------------------------------------


def test_envelope_bytes_by_hand() -> None:
    data = encode_entry("registry", "e1", b'{"a":1}', Auth(attestation="0" * 64))
    assert data == (
        b'{"auth":{"attestation":"' + b"0" * 64 + b'"},"election":"e1",'
        b'"payload":{"a":1},"type":"registry","v":1}'
    )


def test_envelope_is_itself_canonical_json() -> None:
    data = _signed(FORM)
    entry = decode_entry(data)
    assert (
        canonical_bytes(
            {
                "auth": {"key": entry.auth.key, "sig": entry.auth.signature},
                "election": ELECTION,
                "payload": FORM,
                "type": "result_form",
                "v": 1,
            }
        )
        == data
    )


@pytest.mark.parametrize("entry_type", list(EntryType))
def test_round_trip_with_a_signature(entry_type: EntryType) -> None:
    body = canonical_bytes(FORM)
    auth = KEY.sign(entry_type, ELECTION, body)
    data = encode_entry(entry_type, ELECTION, body, auth)
    entry = decode_entry(data)
    assert entry.type is entry_type
    assert entry.election == ELECTION
    assert entry.payload == FORM
    assert entry.payload_bytes == body
    assert entry.auth == auth
    assert entry.payload_hash == payload_hash(entry_type, ELECTION, body)
    assert encode_entry(entry.type, entry.election, entry.payload_bytes, entry.auth) == data


def test_round_trip_with_an_attestation() -> None:
    body = canonical_bytes(FORM)
    data = encode_entry(EntryType.RESULT_FORM, ELECTION, body, Auth(attestation=ATTESTATION))
    entry = decode_entry(data)
    assert entry.auth == Auth(attestation=ATTESTATION)
    assert entry.payload == FORM


def _padded(size: int) -> bytes:
    """Canonical payload bytes whose attestation-authorised entry is ``size`` bytes long."""
    auth = Auth(attestation=ATTESTATION)
    overhead = len(encode_entry("result_form", ELECTION, canonical_bytes({"pad": ""}), auth))
    return canonical_bytes({"pad": "x" * (size - overhead)})


def test_an_entry_of_exactly_65535_bytes_is_accepted() -> None:
    body = _padded(MAX_ENTRY_BYTES)
    data = encode_entry("result_form", ELECTION, body, Auth(attestation=ATTESTATION))
    assert len(data) == MAX_ENTRY_BYTES == 65_535
    assert decode_entry(data).payload_bytes == body


def test_an_entry_one_byte_over_the_limit_is_refused() -> None:
    auth = Auth(attestation=ATTESTATION)
    with pytest.raises(CanonicalError, match="65536 bytes; the limit is 65535"):
        encode_entry("result_form", ELECTION, _padded(MAX_ENTRY_BYTES + 1), auth)
    # The same canonical bytes, assembled by hand, are refused by the decoder too.
    at_limit = encode_entry("result_form", ELECTION, _padded(MAX_ENTRY_BYTES), auth)
    over = at_limit.replace(b'"pad":"', b'"pad":"x', 1)
    assert len(over) == MAX_ENTRY_BYTES + 1
    with pytest.raises(CanonicalError, match="entry is 65536 bytes; the limit is 65535"):
        decode_entry(over)


def test_multibyte_characters_count_as_bytes() -> None:
    auth = Auth(attestation=ATTESTATION)
    overhead = len(encode_entry("registry", ELECTION, canonical_bytes({"pad": ""}), auth))
    room = MAX_ENTRY_BYTES - overhead
    fits = canonical_bytes({"pad": "€" * (room // 3)})  # three UTF-8 bytes each
    assert len(encode_entry("registry", ELECTION, fits, auth)) <= MAX_ENTRY_BYTES
    text = "€" * (room // 3 + 1)
    assert len(text) < room  # fewer characters than the room left, but more bytes
    over = canonical_bytes({"pad": text})
    with pytest.raises(CanonicalError, match="the limit is 65535"):
        encode_entry("registry", ELECTION, over, auth)


# -- decoding ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("envelope", "message"),
    [
        (_envelope(v=2), "format version 2 is not supported"),
        (_envelope(v=0), "format version 0 is not supported"),
        (_envelope(v="1"), "format version '1' is not supported"),
        (_envelope(v=True), "format version True is not supported"),
        (_envelope(v=...), "keys auth, election, payload, type, v"),
        (_envelope(extra=1), "keys auth, election, payload, type, v"),
        (_envelope(type="result"), "unknown entry type 'result'"),
        (_envelope(type="RESULT_FORM"), "unknown entry type 'RESULT_FORM'"),
        (_envelope(type=7), "unknown entry type 7"),
        (_envelope(type=["manifest"]), "unknown entry type"),
        (_envelope(election=5), "election must be a string and payload an object"),
        (_envelope(payload=[1]), "election must be a string and payload an object"),
        (_envelope(auth="sig"), "auth must be an object"),
        (_envelope(auth={}), "auth must hold either"),
        (_envelope(auth={"key": KEY.public_b64}), "auth must hold either"),
        (
            _envelope(auth={"key": KEY.public_b64, "sig": "A" * 88, "attestation": ATTESTATION}),
            "auth must hold either",
        ),
        (_envelope(auth={"attestation": "AB" * 32}), "64 lowercase hex digits"),
        (_envelope(auth={"attestation": "ab" * 31}), "64 lowercase hex digits"),
        (_envelope(auth={"attestation": "zz" * 32}), "64 lowercase hex digits"),
        (_envelope(auth={"attestation": "0" * 60 + " 00 "}), "64 lowercase hex digits"),
        (_envelope(auth={"attestation": 12}), "64 lowercase hex digits"),
        (_envelope(auth={"key": 1, "sig": "A" * 88}), "auth.key must be a base64 string"),
        (_envelope(auth={"key": "not base64!", "sig": "A" * 86 + "=="}), "auth.key is not valid"),
        (_envelope(auth={"key": "AAAA", "sig": "A" * 86 + "=="}), "auth.key must be 32 bytes"),
    ],
)
def test_decode_refuses_malformed_envelopes(envelope: dict[str, Any], message: str) -> None:
    with pytest.raises(CanonicalError, match=message):
        decode_entry(canonical_bytes(envelope))


def _sig_auth(key: str, sig: str) -> dict[str, str]:
    return {"key": key, "sig": sig}


def test_decode_refuses_non_canonical_base64() -> None:
    body = canonical_bytes(FORM)
    auth = KEY.sign(EntryType.RESULT_FORM, ELECTION, body)
    assert auth.key is not None
    assert auth.signature is not None
    key, sig = auth.key, auth.signature
    # 32 bytes in base64 leave two unused bits in the last digit; 64 bytes leave four.
    assert key.endswith("=")
    assert sig.endswith("==")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    key_variant = key[:-2] + alphabet[alphabet.index(key[-2]) ^ 1] + "="
    sig_variant = sig[:-3] + alphabet[alphabet.index(sig[-3]) ^ 1] + "=="
    assert base64.b64decode(key_variant) == base64.b64decode(key)
    assert base64.b64decode(sig_variant) == base64.b64decode(sig)
    urlsafe = base64.urlsafe_b64encode(base64.b64decode(key)).decode()
    cases = [
        (_sig_auth(key_variant, sig), "auth.key must be 32 bytes in canonical base64"),
        (_sig_auth(key, sig_variant), "auth.sig must be 64 bytes in canonical base64"),
        (_sig_auth(key.rstrip("="), sig), "auth.key is not valid base64"),
        (_sig_auth(key + "=", sig), "auth.key"),
        (_sig_auth(key, sig.rstrip("=")), "auth.sig is not valid base64"),
        (_sig_auth(" " + key, sig), "auth.key is not valid base64"),
        (_sig_auth(key, base64.b64encode(b"\0" * 63).decode()), "auth.sig must be 64 bytes"),
    ]
    if urlsafe != key:
        cases.append((_sig_auth(urlsafe, sig), "auth.key is not valid base64"))
    for auth_json, message in cases:
        data = canonical_bytes(_envelope(auth=auth_json, payload=FORM))
        with pytest.raises(CanonicalError, match=message):
            decode_entry(data)


def test_decode_refuses_a_non_canonical_envelope() -> None:
    data = _signed(FORM)
    with pytest.raises(CanonicalError, match="not in canonical form"):
        decode_entry(data.replace(b'"v":1', b'"v": 1'))
    with pytest.raises(CanonicalError, match="not in canonical form"):
        decode_entry(data.replace(b'"01":115,"02":154', b'"02":154,"01":115'))


# -- hashes and domain separation -----------------------------------------------------


def test_payload_hash_is_sha256_of_the_domain_separated_signing_input() -> None:
    body = b'{"a":1}'
    expected = hashlib.sha256(b'saksi-entry-v1\nresult_form\npemilu2019\n{"a":1}').digest()
    assert payload_hash("result_form", "pemilu2019", body) == expected


def test_payload_hash_covers_election_and_type() -> None:
    body = canonical_bytes(FORM)
    base = payload_hash(EntryType.RESULT_FORM, ELECTION, body)
    assert payload_hash(EntryType.RESULT_FORM, "pemilu2024", body) != base
    assert payload_hash(EntryType.ATTESTATION, ELECTION, body) != base
    assert payload_hash(EntryType.RESULT_FORM, ELECTION, canonical_bytes({**FORM, "x": 1})) != base
    hashes = {payload_hash(t, ELECTION, body) for t in EntryType}
    assert len(hashes) == len(EntryType)


# -- signatures -------------------------------------------------------------------


def test_signature_verifies_and_fails_on_any_changed_byte() -> None:
    body = canonical_bytes(FORM)
    auth = KEY.sign(EntryType.RESULT_FORM, ELECTION, body)
    assert verify_auth(auth, EntryType.RESULT_FORM, ELECTION, body)
    for i in range(len(body)):
        changed = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1 :]
        assert not verify_auth(auth, EntryType.RESULT_FORM, ELECTION, changed), i
    assert not verify_auth(auth, EntryType.ATTESTATION, ELECTION, body)
    assert not verify_auth(auth, EntryType.RESULT_FORM, "pemilu2024", body)
    assert auth.signature is not None
    raw_sig = base64.b64decode(auth.signature)
    for i in range(len(raw_sig)):
        bad = raw_sig[:i] + bytes([raw_sig[i] ^ 0x80]) + raw_sig[i + 1 :]
        forged = Auth(key=auth.key, signature=base64.b64encode(bad).decode())
        assert not verify_auth(forged, EntryType.RESULT_FORM, ELECTION, body), i


def test_signature_by_another_key_does_not_verify_under_the_named_key() -> None:
    body = canonical_bytes(FORM)
    theirs = OTHER.sign(EntryType.RESULT_FORM, ELECTION, body)
    assert verify_auth(theirs, EntryType.RESULT_FORM, ELECTION, body)
    claimed = Auth(key=KEY.public_b64, signature=theirs.signature)
    assert not verify_auth(claimed, EntryType.RESULT_FORM, ELECTION, body)


def test_signature_survives_the_envelope_round_trip() -> None:
    entry = decode_entry(_signed(FORM))
    assert verify_auth(entry.auth, entry.type, entry.election, entry.payload_bytes)
    tampered = decode_entry(_signed(FORM).replace(b'"01":115', b'"01":116'))
    assert not verify_auth(tampered.auth, tampered.type, tampered.election, tampered.payload_bytes)


# -- fuzzing ------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_decode_of_garbage_raises_only_canonical_error(data: bytes) -> None:
    with pytest.raises(CanonicalError):
        decode_entry(data)


_SIGNED = _signed(FORM)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(_SIGNED) - 1), st.binary(min_size=0, max_size=3), st.integers(0, 3))
def test_decode_of_mutated_entries(position: int, piece: bytes, cut: int) -> None:
    mutated = _SIGNED[:position] + piece + _SIGNED[position + cut :]
    try:
        entry = decode_entry(mutated)
    except CanonicalError:
        return
    # Anything accepted must re-encode to exactly the bytes given.
    assert encode_entry(entry.type, entry.election, entry.payload_bytes, entry.auth) == mutated
