"""Canonical entry bytes (RFC 8785, integers only): encoding, ordering and strict decoding."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saksi.canonical import (
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    CanonicalError,
    canonical_bytes,
    canonical_bytes_ascii_keys,
    decode_canonical,
)

FAST = settings(max_examples=300, deadline=None)

safe_ints = st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
# st.text() never draws lone surrogates, so every string here is encodable.
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | safe_ints | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


# -- hand-computed examples -----------------------------------------------------------


def test_rfc8785_string_escaping_example() -> None:
    # RFC 8785 section 3.2.4: "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/" becomes
    # "€$\u000f\nA'B\"\\\\\"/": non-ASCII kept as UTF-8, control characters as
    # lowercase \u00XX unless they have a short form, "/" not escaped.
    value = {"string": '€$\x0f\nA\'B"\\\\"/', "literals": [None, True, False]}
    expected = '{"literals":[null,true,false],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'.encode()
    assert canonical_bytes(value) == expected
    assert decode_canonical(expected) == value


def test_rfc8785_key_sorting_example() -> None:
    # RFC 8785 section 3.2.3: keys sorted by UTF-16 code units.
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
        '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    ).encode()
    assert canonical_bytes(value) == expected


def test_control_characters_and_short_forms() -> None:
    value = "\x00\x08\t\n\x0c\r\x1f\x7f \u2028"
    # \b \t \n \f \r have short forms; other C0 controls are \u00XX in lowercase hex;
    # DEL and U+2028 are not escaped; the output is UTF-8.
    expected = b'"\\u0000\\b\\t\\n\\f\\r\\u001f\x7f \xe2\x80\xa8"'
    assert canonical_bytes(value) == expected
    assert decode_canonical(expected) == value


def test_integers_literals_and_nesting() -> None:
    value = {"b": [1, -2, 0, MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER], "a": {"z": None, "y": False}}
    expected = b'{"a":{"y":false,"z":null},"b":[1,-2,0,9007199254740991,-9007199254740991]}'
    assert canonical_bytes(value) == expected
    assert canonical_bytes(()) == b"[]"
    assert canonical_bytes({}) == b"{}"


def test_astral_keys_sort_before_private_use_area() -> None:
    # U+1F600 is D83D DE00 in UTF-16, so it sorts before U+E000..U+FFFF even though
    # its code point is larger.
    value = {"\uffff": 1, "\ue000": 2, "\U0001f600": 3, "\U00010000": 4, "\ud7ff": 5}
    expected = '{"\ud7ff":5,"\U00010000":4,"\U0001f600":3,"\ue000":2,"\uffff":1}'.encode()
    assert canonical_bytes(value) == expected
    assert decode_canonical(expected) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1.5, "float cannot appear"),
        (float("nan"), "float cannot appear"),
        ({"a": 2.0}, "float cannot appear"),
        (MAX_SAFE_INTEGER + 1, "outside the interoperable range"),
        (-MAX_SAFE_INTEGER - 1, "outside the interoperable range"),
        ({1: "a"}, "object key 1 is not a string"),
        (b"bytes", "bytes cannot appear"),
        ({"\ud800": 1}, "lone UTF-16 surrogate"),
        (["\udfff"], "lone UTF-16 surrogate"),
    ],
)
def test_values_outside_the_entry_subset_are_refused(value: Any, message: str) -> None:
    with pytest.raises(CanonicalError, match=message):
        canonical_bytes(value)


# -- strict decoding ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a": 1}', "not in canonical form"),
        (b' {"a":1}', "not in canonical form"),
        (b'{"a":1}\n', "not in canonical form"),
        (b'{"b":1,"a":2}', "not in canonical form"),
        (b'{"\xee\x80\x80":1,"\xf0\x9f\x98\x80":2}', "not in canonical form"),  # code-point order
        (b'{"a":1,"a":2}', "duplicate object key 'a'"),
        (b"1.0", "number 1.0 is not an integer"),
        (b"1e2", "number 1e2 is not an integer"),
        (b"1E2", "number 1E2 is not an integer"),
        (b"-0", "not in canonical form"),
        (b"01", "not valid JSON"),
        (b"NaN", "NaN is not valid JSON"),
        (b"-Infinity", "-Infinity is not valid JSON"),
        (b"9007199254740992", "outside the interoperable range"),
        (b"-9007199254740992", "outside the interoperable range"),
        (b'"\\u0041"', "not in canonical form"),
        (b'"\\u001F"', "not in canonical form"),
        (b'"\\/"', "not in canonical form"),
        (b'"\\u00e9"', "not in canonical form"),
        (b'"\\ud800"', "lone UTF-16 surrogate"),
        (b'{"\\udc00":1}', "lone UTF-16 surrogate"),
        (b'"\xed\xa0\x80"', "not valid UTF-8"),  # a surrogate encoded as UTF-8
        (b'"\xff"', "not valid UTF-8"),
        (b'"\xc3"', "not valid UTF-8"),
        (b"\xef\xbb\xbf{}", "not valid JSON"),  # a byte-order mark
        (b"", "not valid JSON"),
        (b"[1,]", "not valid JSON"),
        (b'"a\tb"', "not valid JSON"),  # a raw control character inside a string
    ],
)
def test_decode_refuses_non_canonical_input(data: bytes, message: str) -> None:
    with pytest.raises(CanonicalError, match=message):
        decode_canonical(data)


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 70_000 + b"]" * 70_000,
        b"[" * 2_000 + b"]" * 2_000,
        b'{"a":' * 600 + b"1" + b"}" * 600,
        b"[" * 700 + b"]" * 700,
        b"1" * 5_000,  # beyond Python's limit on integer digits
        b"-" + b"9" * 4_400,
    ],
)
def test_decode_of_hostile_input_raises_only_canonical_error(data: bytes) -> None:
    with pytest.raises(CanonicalError):
        decode_canonical(data)


def _nested(depth: int) -> Any:
    value: Any = 1
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def test_nesting_is_limited_deterministically() -> None:
    assert MAX_DEPTH == 64
    deepest = _nested(MAX_DEPTH)
    data = canonical_bytes(deepest)
    assert decode_canonical(data) == deepest
    with pytest.raises(CanonicalError, match="nest more than 64 deep"):
        canonical_bytes(_nested(MAX_DEPTH + 1))
    with pytest.raises(CanonicalError, match="nest more than 64 deep"):
        decode_canonical(b"[" + data + b"]")


@FAST
@given(json_values)
def test_decode_inverts_encode(value: Any) -> None:
    data = canonical_bytes(value)
    decoded = decode_canonical(data)
    assert decoded == value
    assert canonical_bytes(decoded) == data


@FAST
@given(st.dictionaries(st.text(max_size=4), st.integers(0, 9), min_size=2, max_size=8))
def test_keys_are_ordered_by_utf16_code_units(value: dict[str, int]) -> None:
    decoded = decode_canonical(canonical_bytes(value))
    keys = list(decoded)
    assert keys == sorted(value, key=lambda k: k.encode("utf-16-be"))


@FAST
@given(st.binary(max_size=64))
def test_decode_of_random_bytes_accepts_only_canonical_bytes(data: bytes) -> None:
    try:
        value = decode_canonical(data)
    except CanonicalError:
        return
    assert canonical_bytes(value) == data


_INSERTS = [b" ", b"\n", b",", b"0", b"-", b".5", b"e1", b'"', b"\\", b"\xff", b"\xed\xa0\x80"]


@FAST
@given(json_values, st.data())
def test_decode_of_mutated_canonical_bytes(value: Any, data: st.DataObject) -> None:
    original = canonical_bytes(value)
    position = data.draw(st.integers(0, len(original)))
    how = data.draw(st.sampled_from(["insert", "delete", "replace"]))
    if how == "insert":
        piece = data.draw(st.sampled_from(_INSERTS) | st.binary(min_size=1, max_size=2))
        mutated = original[:position] + piece + original[position:]
    elif how == "delete":
        mutated = original[:position] + original[position + 1 :]
    else:
        byte = data.draw(st.binary(min_size=1, max_size=1))
        mutated = original[:position] + byte + original[position + 1 :]
    try:
        decoded = decode_canonical(mutated)
    except CanonicalError:
        return
    # Whatever is accepted must be exactly the canonical form of what it decodes to.
    assert canonical_bytes(decoded) == mutated


# Result-form payloads after validation: ASCII keys, safe integers, any strings.
ascii_keys = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=10)
form_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | safe_ints | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(ascii_keys, children),
    max_leaves=20,
)


@FAST
@given(form_values)
def test_ascii_key_fast_path_equals_canonical_bytes(value: Any) -> None:
    assert canonical_bytes_ascii_keys(value) == canonical_bytes(value)


def test_ascii_key_fast_path_on_a_result_form() -> None:
    form = {
        "tps": "-990014-001",
        "contest": "PPWP",
        "source": "kpps",
        "votes": {"02": 154, "01": 115},
        "fields": {"suara_tidak_sah": 3, "suara_sah": 269, "pengguna_hak_pilih": 272},
        "photos": ["ab" * 32],
    }
    assert canonical_bytes_ascii_keys(form) == canonical_bytes(form)
