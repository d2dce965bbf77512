"""The current forms of one contest, read from the projection store for forensics: every
source's numbers per TPS, with each TPS's DPT and its desa, kecamatan and kabupaten."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from saksi.collector import collector_paused
from saksi.errors import SaksiError
from saksi.store.base import Store

__all__ = ["READING", "ContestForms", "Form", "Progress", "TpsInfo", "load_forms", "no_progress"]


@dataclass(frozen=True, slots=True)
class TpsInfo:
    tps_id: str
    dpt: int | None
    domestic: bool
    desa: str
    kecamatan: str | None
    kabupaten: str | None
    number: int  # the TPS number within its desa


@dataclass(slots=True, eq=False)
class Form:
    """One current form: ``values`` holds the choices' votes (by choice id) and the form
    fields (by name); an absent field is not in it. Treat it as read-only: it is not
    frozen because a frozen dataclass takes five times as long to build, and forensics
    builds one per form, 2.5 million nationally."""

    tps: TpsInfo
    source: str
    leaf_index: int
    values: dict[str, int]
    choices: tuple[str, ...]
    rules: tuple[str, ...]  # consistency rules it breaks (saksi.ingest.rules)
    photos: tuple[str, ...]


@dataclass
class ContestForms:
    contest: str
    choices: tuple[str, ...]
    official: str
    sources: dict[str, str]  # id -> kind
    by_source: dict[str, list[Form]] = field(default_factory=dict)
    region_names: dict[str, str] = field(default_factory=dict)

    def forms(self, source: str) -> list[Form]:
        return self.by_source.get(source, [])


def _ancestors(store: Store) -> tuple[dict[str, tuple[str | None, str | None]], dict[str, str]]:
    """desa -> (kecamatan, kabupaten), and every region's name."""
    parent: dict[str, str | None] = {}
    level: dict[str, str] = {}
    names: dict[str, str] = {}
    for rid, up, kind, name in store.query("SELECT id, parent, level, name FROM regions"):
        parent[rid], level[rid], names[rid] = up, kind, name
    out: dict[str, tuple[str | None, str | None]] = {}
    for rid, kind in level.items():
        if kind != "desa_kelurahan":
            continue
        kecamatan = parent.get(rid)
        kabupaten = parent.get(kecamatan) if kecamatan else None
        out[rid] = (kecamatan, kabupaten)
    return out, names


# Long work reports (what, done so far, total or None while unknown).
Progress = Callable[[str, int, int | None], None]
READING = "reading the forms"


def no_progress(stage: str, done: int, total: int | None) -> None:
    """A ``Progress`` that reports nowhere."""


def load_forms(store: Store, contest: str, progress: Progress = no_progress) -> ContestForms:
    """Every source's current form of ``contest`` at every TPS."""
    if not store.query("SELECT 1 FROM contests WHERE id = ?", (contest,)):
        raise SaksiError(f"contest {contest} is not part of this election")
    sources = dict(store.query("SELECT id, kind FROM sources ORDER BY id"))
    official = next((s for s, k in sources.items() if k == "official"), None)
    if official is None:
        raise SaksiError("the election has no official source recorded")
    layouts = store.query(
        "SELECT choices FROM tally_layouts WHERE contest = ? ORDER BY source", (contest,)
    )
    choices = tuple(c for c in str(layouts[0][0]).split(",") if c) if layouts else ()
    up, names = _ancestors(store)
    tps: dict[str, TpsInfo] = {}
    for tid, desa, dpt, kind, number in store.query("SELECT id, desa, dpt, kind, number FROM tps"):
        kecamatan, kabupaten = up.get(desa, (None, None))
        tps[tid] = TpsInfo(tid, dpt, kind == "domestic", desa, kecamatan, kabupaten, number)
    result = ContestForms(contest, choices, official, sources, region_names=names)
    # Record order (no ORDER BY): every output is sorted later, and sorting 2.5 million
    # rows here would cost seconds.
    progress(READING, 0, None)
    rows = store.query(
        "SELECT tps, source, seq, payload, flags FROM forms WHERE contest = ? AND is_current = 1",
        (contest,),
    )
    with collector_paused():  # millions of new dicts, no cycles
        for start in range(0, len(rows), _STEP):
            progress(READING, start, len(rows))
            _add_forms(result.by_source, rows[start : start + _STEP], tps)
    progress(READING, len(rows), len(rows))
    return result


_STEP = 100_000  # forms parsed between two progress reports


def _add_forms(
    by_source: dict[str, list[Form]], rows: list[tuple[Any, ...]], tps: dict[str, TpsInfo]
) -> None:
    for tid, source, seq, payload, flags in rows:
        info = tps.get(tid)
        if info is None:
            continue
        body: dict[str, Any] = orjson.loads(payload)
        votes: dict[str, int] = body["votes"]
        values: dict[str, int] = body["fields"]
        values.update(votes)  # the parsed dict is ours: no copy
        forms = by_source.get(source)
        if forms is None:
            forms = by_source[source] = []
        forms.append(
            Form(
                info,
                source,
                seq,
                values,
                tuple(votes),
                tuple(flags.split(",")) if flags else (),
                tuple(body.get("photos", ())),
            )
        )
