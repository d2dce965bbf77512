"""Read and check an election manifest written in TOML (docs/manifest.md)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from saksi.errors import ManifestError
from saksi.ingest.fields import FIELDS
from saksi.manifest.model import (
    Choice,
    Contest,
    ContestKind,
    Dapil,
    Manifest,
    Source,
    SourceKind,
)

__all__ = ["load_manifest", "parse_manifest"]

_ELECTION_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_CONTEST_ID = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")
_SOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_CHOICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")


def _text(
    table: dict[str, Any], key: str, where: str, pattern: re.Pattern[str] | None = None
) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ManifestError(f"{where}: '{key}' must be a non-empty string")
    if pattern is not None and not pattern.match(value):
        raise ManifestError(f"{where}: '{key}' = {value!r} does not match {pattern.pattern}")
    return value


def _only(table: dict[str, Any], allowed: frozenset[str], where: str) -> None:
    """Refuse keys the format does not define: a misspelt key must not be silently ignored."""
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ManifestError(
            f"{where}: unknown key(s) {', '.join(unknown)}; "
            f"the keys here are {', '.join(sorted(allowed))}"
        )


_DOCUMENT_KEYS = frozenset({"election", "contest", "source"})
_ELECTION_KEYS = frozenset({"id", "name", "origin", "domestic_tps_max_dpt"})
_CONTEST_KEYS = frozenset({"id", "name", "kind", "choices", "party", "dapil"})
_DAPIL_KEYS = frozenset({"id", "name", "regions", "choices", "party"})
_PARTY_KEYS = frozenset({"id", "name", "candidates"})
_CHOICE_KEYS = frozenset({"id", "name"})
_SOURCE_KEYS = frozenset({"id", "name", "kind", "fields", "required"})


def _list(table: dict[str, Any], key: str, where: str) -> list[Any]:
    value = table.get(key, [])
    if not isinstance(value, list):
        raise ManifestError(f"{where}: '{key}' must be a list")
    return value


def _choices(items: list[Any], where: str) -> list[Choice]:
    out: list[Choice] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ManifestError(f"{where}: choice {i + 1} must be a table")
        _only(item, _CHOICE_KEYS, f"{where}, choice {item.get('id', i + 1)}")
        out.append(Choice(_text(item, "id", where, _CHOICE_ID), _text(item, "name", where)))
    return out


def _party_list(table: dict[str, Any], where: str) -> list[Choice]:
    out: list[Choice] = []
    for party in _list(table, "party", where):
        if not isinstance(party, dict):
            raise ManifestError(f"{where}: each [[party]] must be a table")
        party_id = _text(party, "id", where, _CHOICE_ID)
        _only(party, _PARTY_KEYS, f"{where}, party {party_id}")
        out.append(Choice(party_id, _text(party, "name", where)))
        for candidate in _choices(_list(party, "candidates", f"{where}, party {party_id}"), where):
            out.append(Choice(candidate.id, candidate.name, party=party_id))
    return out


def _ballot(table: dict[str, Any], kind: ContestKind, where: str) -> tuple[Choice, ...]:
    choices = (
        _party_list(table, where)
        if kind is ContestKind.PARTY_LIST
        else _choices(_list(table, "choices", where), where)
    )
    ids = [c.id for c in choices]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ManifestError(f"{where}: choice ids repeat: {', '.join(duplicates)}")
    return tuple(choices)


def _contest(table: Any, index: int) -> Contest:
    if not isinstance(table, dict):
        raise ManifestError(f"contest {index + 1} must be a table")
    where = f"contest {table.get('id', index + 1)}"
    contest_id = _text(table, "id", where, _CONTEST_ID)
    _only(table, _CONTEST_KEYS, where)
    try:
        kind = ContestKind(table.get("kind", ""))
    except ValueError as exc:
        kinds = ", ".join(k.value for k in ContestKind)
        raise ManifestError(f"{where}: 'kind' must be one of {kinds}") from exc
    dapils: list[Dapil] = []
    for dapil_table in _list(table, "dapil", where):
        if not isinstance(dapil_table, dict):
            raise ManifestError(f"{where}: each [[contest.dapil]] must be a table")
        dapil_id = _text(dapil_table, "id", where)
        dwhere = f"{where}, dapil {dapil_id}"
        _only(dapil_table, _DAPIL_KEYS, dwhere)
        regions = _list(dapil_table, "regions", dwhere)
        if not regions or not all(isinstance(r, str) and r for r in regions):
            raise ManifestError(f"{dwhere}: 'regions' must list the region ids it covers")
        dapils.append(
            Dapil(
                dapil_id,
                _text(dapil_table, "name", dwhere),
                tuple(regions),
                _ballot(dapil_table, kind, dwhere),
            )
        )
    choices = () if dapils else _ballot(table, kind, where)
    if not dapils and not choices:
        raise ManifestError(f"{where}: a contest needs choices or at least one dapil")
    if len({d.id for d in dapils}) != len(dapils):
        raise ManifestError(f"{where}: dapil ids repeat")
    return Contest(contest_id, _text(table, "name", where), kind, choices, tuple(dapils))


def _source(table: Any, index: int) -> Source:
    if not isinstance(table, dict):
        raise ManifestError(f"source {index + 1} must be a table")
    where = f"source {table.get('id', index + 1)}"
    _only(table, _SOURCE_KEYS, where)
    try:
        kind = SourceKind(table.get("kind", ""))
    except ValueError as exc:
        kinds = ", ".join(k.value for k in SourceKind)
        raise ManifestError(f"{where}: 'kind' must be one of {kinds}") from exc
    fields = _list(table, "fields", where)
    required = _list(table, "required", where)
    unknown = [f for f in fields if not isinstance(f, str) or f not in FIELDS]
    if unknown:
        raise ManifestError(
            f"{where}: unknown form field(s) {', '.join(map(str, unknown))}; "
            f"known fields are {', '.join(FIELDS)}"
        )
    stray = [f for f in required if f not in fields]
    if stray:
        raise ManifestError(
            f"{where}: required field(s) {', '.join(map(str, stray))} are not in 'fields'"
        )
    return Source(
        _text(table, "id", where, _SOURCE_ID),
        _text(table, "name", where),
        kind,
        tuple(fields),
        tuple(required),
    )


def parse_manifest(document: dict[str, Any]) -> Manifest:
    election = document.get("election")
    if not isinstance(election, dict):
        raise ManifestError("the manifest needs an [election] table")
    _only(document, _DOCUMENT_KEYS, "manifest")
    _only(election, _ELECTION_KEYS, "[election]")
    max_dpt = election.get("domestic_tps_max_dpt", 300)
    if not isinstance(max_dpt, int) or isinstance(max_dpt, bool) or max_dpt <= 0:
        raise ManifestError("[election]: 'domestic_tps_max_dpt' must be a positive integer")
    contests = tuple(_contest(t, i) for i, t in enumerate(_list(document, "contest", "manifest")))
    sources = tuple(_source(t, i) for i, t in enumerate(_list(document, "source", "manifest")))
    if not contests:
        raise ManifestError("the manifest defines no [[contest]]")
    if not sources:
        raise ManifestError("the manifest defines no [[source]]")
    for what, ids in (("contest", [c.id for c in contests]), ("source", [s.id for s in sources])):
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ManifestError(f"{what} ids repeat: {', '.join(repeated)}")
    if not any(s.kind is SourceKind.OFFICIAL for s in sources):
        raise ManifestError('the manifest needs the official source (kind = "official")')
    return Manifest(
        election_id=_text(election, "id", "[election]", _ELECTION_ID),
        name=_text(election, "name", "[election]"),
        origin=_text(election, "origin", "[election]"),
        domestic_tps_max_dpt=max_dpt,
        contests=contests,
        sources=sources,
    )


def load_manifest(path: Path) -> Manifest:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ManifestError(f"manifest {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"manifest {path} is not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ManifestError(f"manifest {path} is not UTF-8 text: {exc}") from exc
    return parse_manifest(document)
