"""The manifest as record entries: one for the election, one per contest, one per dapil.

Splitting by contest and dapil keeps every entry far below the 65,535-byte limit even
for DPRD lists with thousands of candidates.
"""

from __future__ import annotations

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

__all__ = ["ManifestBuilder", "manifest_payloads"]


def _choice(choice: Choice) -> dict[str, Any]:
    out: dict[str, Any] = {"id": choice.id, "name": choice.name}
    if choice.party is not None:
        out["party"] = choice.party
    return out


def manifest_payloads(manifest: Manifest) -> list[dict[str, Any]]:
    """The payloads of the manifest entries, in the order they are recorded."""
    payloads: list[dict[str, Any]] = [
        {
            "part": "election",
            "id": manifest.election_id,
            "name": manifest.name,
            "origin": manifest.origin,
            "domestic_tps_max_dpt": manifest.domestic_tps_max_dpt,
            "contests": len(manifest.contests),
            "sources": [
                {
                    "id": s.id,
                    "name": s.name,
                    "kind": s.kind.value,
                    "fields": list(s.fields),
                    "required": list(s.required),
                }
                for s in manifest.sources
            ],
        }
    ]
    for contest in manifest.contests:
        payloads.append(
            {
                "part": "contest",
                "id": contest.id,
                "name": contest.name,
                "kind": contest.kind.value,
                "choices": [_choice(c) for c in contest.choices],
                "dapils": len(contest.dapils),
            }
        )
        for dapil in contest.dapils:
            payloads.append(
                {
                    "part": "dapil",
                    "contest": contest.id,
                    "id": dapil.id,
                    "name": dapil.name,
                    "regions": list(dapil.regions),
                    "choices": [_choice(c) for c in dapil.choices],
                }
            )
    return payloads


def _choices(items: list[dict[str, Any]]) -> tuple[Choice, ...]:
    return tuple(Choice(c["id"], c["name"], c.get("party")) for c in items)


class ManifestBuilder:
    """Rebuilds the Manifest from its entries as they are replayed."""

    def __init__(self) -> None:
        self._election: dict[str, Any] | None = None
        self._contests: list[dict[str, Any]] = []
        self._dapils: dict[str, list[Dapil]] = {}

    def add(self, payload: dict[str, Any]) -> None:
        part = payload.get("part")
        try:
            if part == "election":
                if self._election is not None:
                    raise ManifestError("the manifest's election entry appears twice")
                for source in payload["sources"]:
                    SourceKind(source["kind"])
                    unknown = [f for f in source["fields"] if f not in FIELDS]
                    if unknown or not set(source["required"]) <= set(source["fields"]):
                        raise ManifestError(f"source {source['id']} has bad form fields")
                if type(payload["contests"]) is not int:
                    raise ManifestError("the manifest's contest count must be an integer")
                self._election = payload
            elif part == "contest":
                ContestKind(payload["kind"])
                _choices(payload["choices"])
                if payload["id"] in self._dapils:
                    raise ManifestError(f"contest {payload['id']} appears twice")
                self._contests.append(payload)
                self._dapils[payload["id"]] = []
            elif part == "dapil":
                if payload["contest"] not in self._dapils:
                    raise ManifestError(f"dapil {payload['id']} names unknown contest")
                self._dapils[payload["contest"]].append(
                    Dapil(
                        payload["id"],
                        payload["name"],
                        tuple(payload["regions"]),
                        _choices(payload["choices"]),
                    )
                )
            else:
                raise ManifestError(f"unknown manifest part {part!r}")
        except (KeyError, TypeError) as exc:
            raise ManifestError(f"manifest {part} entry is missing {exc}") from exc
        except ValueError as exc:
            raise ManifestError(f"manifest {part} entry: {exc}") from exc

    def complete(self) -> bool:
        return (
            self._election is not None
            and len(self._contests) == self._election["contests"]
            and all(len(self._dapils[c["id"]]) == c["dapils"] for c in self._contests)
        )

    def build(self) -> Manifest:
        election = self._election
        if election is None:
            raise ManifestError("the record has no manifest election entry")
        contests = tuple(
            Contest(
                c["id"],
                c["name"],
                ContestKind(c["kind"]),
                _choices(c["choices"]),
                tuple(self._dapils[c["id"]]),
            )
            for c in self._contests
        )
        unknown = [f for s in election["sources"] for f in s["fields"] if f not in FIELDS]
        if unknown:
            raise ManifestError(f"the manifest names unknown form field(s) {', '.join(unknown)}")
        sources = tuple(
            Source(
                s["id"], s["name"], SourceKind(s["kind"]), tuple(s["fields"]), tuple(s["required"])
            )
            for s in election["sources"]
        )
        return Manifest(
            election_id=election["id"],
            name=election["name"],
            origin=election["origin"],
            domestic_tps_max_dpt=election["domestic_tps_max_dpt"],
            contests=contests,
            sources=sources,
        )
