"""The manifest's data model, immutable once loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["Choice", "Contest", "ContestKind", "Dapil", "Manifest", "Source", "SourceKind"]


class SourceKind(StrEnum):
    OFFICIAL = "official"  # the KPPS's own form
    PARTY_WITNESS = "party_witness"  # a party's saksi copy of the same form
    CROWD = "crowd"  # crowd digitisation of form photos
    IMPORT = "import"  # an external data set imported in bulk


class ContestKind(StrEnum):
    PAIRS = "pairs"  # PPWP: president and vice-president pairs
    PARTY_LIST = "party_list"  # DPR, DPRD: parties and their candidates
    CANDIDATES = "candidates"  # DPD: individual candidates


@dataclass(frozen=True, slots=True)
class Choice:
    id: str
    name: str
    party: str | None = None  # set for a party-list candidate: the id of the party choice


@dataclass(frozen=True, slots=True)
class Dapil:
    """An electoral district: the regions it covers and the choices on its ballot."""

    id: str
    name: str
    regions: tuple[str, ...]
    choices: tuple[Choice, ...]


@dataclass(frozen=True, slots=True)
class Contest:
    id: str
    name: str
    kind: ContestKind
    choices: tuple[Choice, ...] = ()  # the ballot when the contest has no dapil
    dapils: tuple[Dapil, ...] = ()

    def all_choices(self) -> tuple[Choice, ...]:
        if not self.dapils:
            return self.choices
        seen: dict[str, Choice] = {}
        for dapil in self.dapils:
            for choice in dapil.choices:
                seen.setdefault(choice.id, choice)
        return tuple(seen.values())


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    name: str
    kind: SourceKind
    fields: tuple[str, ...]  # the form fields this source's forms carry
    required: tuple[str, ...]  # the subset a form must not omit


@dataclass(frozen=True, slots=True)
class Manifest:
    election_id: str
    name: str
    origin: str  # the transparency log's origin line
    domestic_tps_max_dpt: int
    contests: tuple[Contest, ...]
    sources: tuple[Source, ...]
    contest_by_id: dict[str, Contest] = field(default_factory=dict, compare=False, repr=False)
    source_by_id: dict[str, Source] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.contest_by_id.update({c.id: c for c in self.contests})
        self.source_by_id.update({s.id: s for s in self.sources})
