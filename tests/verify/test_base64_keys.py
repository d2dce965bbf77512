"""The verifier's fast check of canonical base64 keys and signatures agrees with a
decode and re-encode, on every kind of input hypothesis finds."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from saksi.verify.replay import _is_b64

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


def _canonical(text: str, size: int) -> bool:
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        return False
    return len(raw) == size and base64.b64encode(raw).decode() == text


@given(st.sampled_from([32, 64]), st.binary(min_size=64, max_size=64), st.data())
def test_fast_check_equals_decode_and_reencode(size: int, raw: bytes, data: st.DataObject) -> None:
    text = base64.b64encode(raw[:size]).decode()
    assert _is_b64(text, size)  # positive control: a real canonical encoding
    position = data.draw(st.integers(0, len(text) - 1))
    other = data.draw(st.sampled_from(ALPHABET))
    mutated = text[:position] + other + text[position + 1 :]
    assert _is_b64(mutated, size) == _canonical(mutated, size)
