"""Canonical JSON bytes for entries: the integer-only subset of RFC 8785 (JCS).

Entries contain only objects, arrays, strings, integers, booleans and null. Without
floats, RFC 8785 reduces to: keys sorted by UTF-16 code units, no insignificant
whitespace, strings escaped as ECMAScript's JSON.stringify does, UTF-8 output. Python's
``json`` module produces exactly that for such values once keys are sorted, except for
key order outside the Basic Multilingual Plane, which ``_sort_key`` handles.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "MAX_SAFE_INTEGER",
    "CanonicalError",
    "canonical_bytes",
    "canonical_bytes_ascii_keys",
    "decode_canonical",
]

# RFC 8785 section 3.2.2.3: integers beyond 2**53 - 1 lose precision in IEEE 754.
MAX_SAFE_INTEGER = 2**53 - 1
# Arrays and objects nest at most this deep, so that acceptance never depends on a
# parser's recursion limit; real entries nest fewer than ten levels.
MAX_DEPTH = 64

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class CanonicalError(ValueError):
    """A value cannot be encoded canonically, or bytes are not in canonical form."""


def _sort_key(key: str) -> bytes:
    # RFC 8785 3.2.3 orders keys by their UTF-16 code units.
    return key.encode("utf-16-be")


def _normalise(value: Any, depth: int = 0) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalError(f"integer {value} is outside the interoperable range")
        return value
    if isinstance(value, dict | list | tuple) and depth >= MAX_DEPTH:
        raise CanonicalError(f"arrays and objects nest more than {MAX_DEPTH} deep")
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalError(f"object key {key!r} is not a string")
            items.append((key, _normalise(item, depth + 1)))
        items.sort(key=lambda pair: _sort_key(pair[0]))
        return dict(items)
    if isinstance(value, list | tuple):
        return [_normalise(item, depth + 1) for item in value]
    raise CanonicalError(f"type {type(value).__name__} cannot appear in an entry")


def canonical_bytes(value: Any) -> bytes:
    """Encode ``value`` as canonical JSON (RFC 8785, integers only), UTF-8."""
    try:
        return _encoder.encode(_normalise(value)).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalError("string contains a lone UTF-16 surrogate") from exc


def _reject_float(text: str) -> Any:
    raise CanonicalError(f"number {text} is not an integer")


def _safe_int(text: str) -> int:
    value = int(text)
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise CanonicalError(f"integer {text} is outside the interoperable range")
    return value


def _reject_constant(text: str) -> Any:
    raise CanonicalError(f"{text} is not valid JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise CanonicalError(f"duplicate object key {key!r}")
        result[key] = value
    return result


def decode_canonical(data: bytes) -> Any:
    """Parse canonical JSON, refusing any bytes that are not the canonical form."""
    try:
        text = data.decode("utf-8")
        value = json.loads(
            text,
            parse_float=_reject_float,
            parse_int=_safe_int,
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_keys,
        )
    except UnicodeDecodeError as exc:
        raise CanonicalError("entry is not valid UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise CanonicalError(f"entry is not valid JSON: {exc.msg} at byte {exc.pos}") from exc
    except CanonicalError:
        raise
    except RecursionError as exc:
        raise CanonicalError(f"arrays and objects nest more than {MAX_DEPTH} deep") from exc
    except ValueError as exc:  # such as an integer with more digits than Python converts
        raise CanonicalError(f"entry is not valid JSON: {exc}") from exc
    if data.isascii() and data.count(b"{") + data.count(b"[") <= MAX_DEPTH:
        # ASCII keys sort the same by code point as by UTF-16 units, integers were
        # range-checked while parsing and nesting is shallow: the fast encoder is exact.
        try:
            again = _fast_encoder.encode(value).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise CanonicalError("string contains a lone UTF-16 surrogate") from exc
    else:
        again = canonical_bytes(value)
    if again != data:
        raise CanonicalError("entry bytes are not in canonical form")
    return value


_fast_encoder = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, sort_keys=True
)


def canonical_bytes_ascii_keys(value: Any) -> bytes:
    """Fast path of ``canonical_bytes`` for values already checked by a validator.

    Valid only when every object key is ASCII (so code-point order equals UTF-16
    order), every number is an integer in the safe range and strings hold no lone
    surrogates; result forms after validation satisfy all three.
    """
    return _fast_encoder.encode(value).encode("utf-8")
