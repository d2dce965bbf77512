"""Hard errors for a result form (BRIEF: hard errors). A form that fails is refused whole.

Each message names the TPS, contest, source and field in the words an election officer
uses, so that the person at the keyboard can fix the form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from saksi.errors import RejectedEntry
from saksi.manifest.model import Contest, Manifest
from saksi.registry.model import Registry, Tps

__all__ = ["MAX_COUNT", "MAX_PHOTOS", "Form", "ballot_for", "validate_form"]

MAX_COUNT = 2**31 - 1
MAX_PHOTOS = 16
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_KEYS = frozenset({"tps", "contest", "source", "votes", "fields", "photos", "replaces"})


@dataclass(frozen=True, slots=True)
class Form:
    """A result form that passed every hard check; ``payload`` is its canonical payload."""

    tps: Tps
    contest: str
    source: str
    votes: dict[str, int]
    fields: dict[str, int]
    photos: tuple[str, ...]
    replaces: str | None
    payload: dict[str, Any]


def ballot_for(contest: Contest, tps: Tps, registry: Registry) -> frozenset[str] | None:
    """Choice ids on this contest's ballot at this TPS; None when the TPS is in no dapil."""
    if not contest.dapils:
        return frozenset(c.id for c in contest.choices)
    path = set(registry.paths[tps.desa])
    for dapil in contest.dapils:
        if path.intersection(dapil.regions):
            return frozenset(c.id for c in dapil.choices)
    return None


def _count(value: Any, what: str) -> int:
    if type(value) is not int:
        shown = repr(value) if not isinstance(value, str) else f"'{value}'"
        raise RejectedEntry(f"{what} must be a whole number, not {shown}")
    if value < 0:
        raise RejectedEntry(f"{what} must not be negative, got {value}")
    if value > MAX_COUNT:
        raise RejectedEntry(f"{what} = {value} is too large to be a count")
    return value


def validate_form(
    raw: Mapping[str, Any],
    manifest: Manifest,
    registry: Registry,
    ballots: dict[tuple[str, str], frozenset[str] | None] | None = None,
) -> Form:
    """Check a form payload against the manifest and registry; raise RejectedEntry if bad.

    ``ballots`` caches the ballot per (contest, desa) across calls.
    """
    if not isinstance(raw, Mapping):
        raise RejectedEntry("a result form must be a JSON object")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise RejectedEntry(f"a result form has no field(s) named {', '.join(unknown)}")
    tps_id = raw.get("tps")
    if not isinstance(tps_id, str) or not tps_id:
        raise RejectedEntry("a result form must name its TPS")
    contest_id, source_id = raw.get("contest"), raw.get("source")
    contest = manifest.contest_by_id.get(contest_id) if isinstance(contest_id, str) else None
    if contest is None:
        raise RejectedEntry(f"contest {contest_id} is not part of election {manifest.election_id}")
    source = manifest.source_by_id.get(source_id) if isinstance(source_id, str) else None
    if source is None:
        raise RejectedEntry(f"source {source_id} is not part of election {manifest.election_id}")
    tps = registry.tps.get(tps_id)
    if tps is None:
        raise RejectedEntry(f"TPS {tps_id} is not registered in election {manifest.election_id}")
    key = (contest.id, tps.desa)
    if ballots is not None and key in ballots:
        ballot = ballots[key]
    else:
        ballot = ballot_for(contest, tps, registry)
        if ballots is not None:
            ballots[key] = ballot
    if ballot is None:
        raise RejectedEntry(f"TPS {tps_id} is not registered for contest {contest.id}")
    where = f"TPS {tps_id}, contest {contest.id}, source {source.id}"

    votes_raw = raw.get("votes")
    if not isinstance(votes_raw, Mapping):
        raise RejectedEntry(f"{where}: the form has no votes per choice")
    votes: dict[str, int] = {}
    for choice, value in votes_raw.items():
        if choice not in ballot:
            raise RejectedEntry(f"{where}: choice {choice} is not on the {contest.id} ballot here")
        votes[choice] = _count(value, f"{where}: votes for choice {choice}")
    if len(votes) != len(ballot):
        lacking = ", ".join(sorted(ballot - set(votes)))
        raise RejectedEntry(f"{where}: the form lacks votes for choice(s) {lacking}")

    fields_raw = raw.get("fields", {})
    if not isinstance(fields_raw, Mapping):
        raise RejectedEntry(f"{where}: 'fields' must be an object of form fields")
    fields: dict[str, int] = {}
    allowed = source.fields
    for name, value in fields_raw.items():
        if name not in allowed:
            raise RejectedEntry(f"{where}: field {name} is not on source {source.id}'s form")
        if value is None:
            continue  # an absent optional field: stored as null, never as zero
        fields[name] = _count(value, f"{where}: field {name}")
    lacking_fields = [f for f in source.required if f not in fields]
    if lacking_fields:
        raise RejectedEntry(f"{where}: required field(s) {', '.join(lacking_fields)} are missing")

    photos_raw = raw.get("photos", [])
    if not isinstance(photos_raw, list) or len(photos_raw) > MAX_PHOTOS:
        raise RejectedEntry(f"{where}: 'photos' must list at most {MAX_PHOTOS} SHA-256 hashes")
    for photo in photos_raw:
        if not isinstance(photo, str) or not _HEX64.fullmatch(photo):
            raise RejectedEntry(f"{where}: photo hash {photo!r} is not 64 lowercase hex digits")
    if len(set(photos_raw)) != len(photos_raw):
        raise RejectedEntry(f"{where}: the same photo is listed twice")
    replaces = raw.get("replaces")
    if replaces is not None and (not isinstance(replaces, str) or not _HEX64.fullmatch(replaces)):
        raise RejectedEntry(f"{where}: 'replaces' must be the 64-hex hash of a form version")

    payload: dict[str, Any] = {
        "tps": tps_id,
        "contest": contest.id,
        "source": source.id,
        "votes": votes,
        "fields": fields,
    }
    if photos_raw:
        payload["photos"] = list(photos_raw)
    if replaces is not None:
        payload["replaces"] = replaces
    return Form(tps, contest.id, source.id, votes, fields, tuple(photos_raw), replaces, payload)
