"""Bulk import: screen every row first, then record chunk by chunk under attestations.

Screening runs the hard checks on all rows before anything is written, so a refused
import stores nothing. Plain new forms then go through vectorised arithmetic (rules,
tally contributions, payload bytes); corrections and forms with photos take the per-form
path. Both produce the same entries and projection rows, which ``saksi rebuild`` checks
by replaying the record through the per-form path.
"""

from __future__ import annotations

import base64
import hashlib
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from saksi.canonical import canonical_bytes_ascii_keys
from saksi.collector import collector_paused
from saksi.errors import RejectedEntry
from saksi.ingest.columns import ABSENT, FormColumns
from saksi.ingest.csv_import import MAX_ERRORS_SHOWN
from saksi.ingest.form_bytes import PayloadFormatter
from saksi.ingest.rules import RULE_IDS, check_rules_columns
from saksi.ingest.validate import Form, ballot_for
from saksi.log.entry import (
    MAX_ENTRY_BYTES,
    Auth,
    EntryType,
    Envelope,
    payload_hash,
    signing_prefix,
)
from saksi.registry.model import Tps, TpsKind

if TYPE_CHECKING:
    from saksi.election.election import Election
    from saksi.election.state import ElectionState
    from saksi.keys.ed25519 import SigningKey

__all__ = ["Screened", "import_columns", "screen"]

Progress = Callable[[int], None]
BLOCK = 50_000  # forms per fsync and projection write during a bulk import


@dataclass
class Screened:
    fast: list[int] = field(default_factory=list)  # plain new forms
    slow: dict[int, Form] = field(default_factory=dict)  # valid, via the per-form path
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)
    # Per row, from the registry (meaningful for fast rows): DPT, whether it is known,
    # whether the TPS is domestic, and the index of its desa in ``desas``.
    dpt: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    dpt_known: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    domestic: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    desa: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    desas: list[str] = field(default_factory=list)


def _ballot_masks(
    state: ElectionState, columns: FormColumns, infos: list[Tps | None]
) -> npt.NDArray[np.bool_]:
    n, choices = len(columns), columns.choices
    if not columns.contest.dapils:
        return np.ones((n, len(choices)), dtype=bool)
    masks: dict[str, npt.NDArray[np.bool_]] = {}
    out = np.zeros((n, len(choices)), dtype=bool)
    for i, info in enumerate(infos):
        if info is None:
            continue
        mask = masks.get(info.desa)
        if mask is None:
            ballot = ballot_for(columns.contest, info, state.registry) or frozenset()
            mask = masks[info.desa] = np.array([c in ballot for c in choices], dtype=bool)
        out[i] = mask
    return out


def screen(state: ElectionState, columns: FormColumns) -> Screened:
    """Judge every row without changing anything: fast, slow, duplicate or refused."""
    result = Screened()
    n = len(columns)
    if n == 0:
        return result
    matrix = columns.matrix()
    registry = state.registry.tps
    infos = [registry.get(t) for t in columns.tps]
    nc = len(columns.choices)
    suspect = np.zeros(n, dtype=bool)
    suspect[list(columns.odd)] = True
    suspect |= np.array([info is None for info in infos], dtype=bool)
    suspect |= ((matrix[:, :nc] != ABSENT) != _ballot_masks(state, columns, infos)).any(axis=1)
    required = [nc + columns.fields.index(f) for f in columns.source.required]
    if required:
        suspect |= (matrix[:, required] == ABSENT).any(axis=1)
    _registry_facts(result, infos)
    heads = state.heads.get((columns.contest.id, columns.source.id), {})
    if state.ladder_freezes(columns.contest.id, columns.source.id):
        suspect[:] = True  # a certified region: every form's change is checked on its own
    flagged = suspect.tolist()
    if not heads and not columns.broken and len(set(columns.tps)) == n:
        # The common first import: no TPS repeats or has a form yet, so only the
        # suspect rows need a closer look.
        result.fast = [i for i, bad in enumerate(flagged) if not bad]
        rows: Iterable[int] = (i for i, bad in enumerate(flagged) if bad)
    else:
        rows = range(n)
    seen: dict[str, int] = {}
    election = state.election_id
    label = columns.label
    for i in rows:
        tps = columns.tps[i]
        if i in columns.broken:
            result.errors.append(f"{label(i)}: {columns.broken[i]}")
            continue
        if tps in seen and tps:
            result.errors.append(f"{label(i)}: TPS {tps} already appears in {label(seen[tps])}")
            continue
        seen[tps] = i
        if not flagged[i] and tps not in heads:
            result.fast.append(i)
            continue
        try:
            form = state.check_form(columns.raw(i))
            digest = payload_hash(
                EntryType.RESULT_FORM, election, canonical_bytes_ascii_keys(form.payload)
            ).hex()
            if state.check_version(form, digest) is not None:
                result.duplicates += 1
                continue
        except RejectedEntry as exc:
            result.errors.append(f"{label(i)}: {exc}")
            continue
        result.slow[i] = form
    return result


def _registry_facts(result: Screened, infos: list[Tps | None]) -> None:
    desa_index: dict[str, int] = {}
    result.dpt = np.array([t.dpt or 0 if t else 0 for t in infos], dtype=np.int64)
    result.dpt_known = np.array([t is not None and t.dpt is not None for t in infos], dtype=bool)
    result.domestic = np.array(
        [t is not None and t.kind is TpsKind.DOMESTIC for t in infos], dtype=bool
    )
    result.desa = np.array(
        [desa_index.setdefault(t.desa, len(desa_index)) if t else -1 for t in infos],
        dtype=np.int64,
    )
    result.desas = list(desa_index)


def refusal(name: str, errors: list[str]) -> RejectedEntry:
    shown = "\n  ".join(errors[:MAX_ERRORS_SHOWN])
    more = len(errors) - MAX_ERRORS_SHOWN
    tail = f"\n  … and {more} more" if more > 0 else ""
    return RejectedEntry(
        f"{name}: {len(errors)} row(s) refused, nothing was imported:\n  {shown}{tail}"
    )


@dataclass(frozen=True, slots=True)
class ImportSummary:
    recorded: int
    duplicates: int
    attestations: int


def import_columns(
    election: Election,
    columns: FormColumns,
    signer: SigningKey,
    *,
    name: str = "import",
    progress: Progress | None = None,
    chunk_size: int = 1000,
    screened: Screened | None = None,
    pool: Executor | None = None,
) -> ImportSummary:
    """All rows or none: screen everything, then record in chunks of one attestation.

    ``screened`` is the result of ``screen`` when the caller ran it already.

    Vectorised work runs per block of many chunks; each block ends with an fsync of the
    record and one write of its projection rows.
    """
    # The projection writer thread releases the GIL around every row it steps; a short
    # switch interval hands it back quickly instead of after the default 5 ms.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    try:
        with collector_paused():  # millions of objects and no cycles
            if screened is None:
                screened = screen(election.state, columns)
            return _import(election, columns, signer, name, progress, chunk_size, screened, pool)
    finally:
        sys.setswitchinterval(interval)


def _import(
    election: Election,
    columns: FormColumns,
    signer: SigningKey,
    name: str,
    progress: Progress | None,
    chunk_size: int,
    screened: Screened,
    pool: Executor | None,
) -> ImportSummary:
    if screened.errors:
        raise refusal(name, screened.errors)
    order = sorted([*screened.fast, *screened.slow])
    applier = _BlockApplier(election, columns, signer, screened)
    blocks = [order[start : start + BLOCK] for start in range(0, len(order), BLOCK)]
    fast = [[i for i in block if i not in screened.slow] for block in blocks]
    # Payload bytes and hashes are pure work: worker processes make them ahead.
    payloads: list[Future[tuple[list[bytes], list[bytes]]] | None] = [None] * len(blocks)

    def ask(k: int) -> None:
        if pool is not None and k < len(blocks):
            payloads[k] = pool.submit(_payloads, *applier.payload_job(fast[k]))

    ask(0)
    ask(1)
    recorded = attestations = 0
    for k, block in enumerate(blocks):
        ask(k + 2)
        future = payloads[k]
        made = future.result() if future is not None else _payloads(*applier.payload_job(fast[k]))
        payloads[k] = None
        attestations += applier.apply(block, fast[k], made, screened.slow, chunk_size)
        recorded += len(block)
        election.record.sync()
        election.flush(background=True)
        if progress is not None:
            progress(recorded + screened.duplicates)
    election.flush()
    election.maybe_publish()
    return ImportSummary(recorded, screened.duplicates, attestations)


def _patterns(present: npt.NDArray[np.bool_]) -> tuple[list[tuple[bool, ...]], list[int]]:
    """The distinct rows of ``present`` and, per row, the index of its pattern.

    Rows are packed to bytes first: NumPy's unique over a 2-D boolean axis is slow.
    """
    width = present.shape[1]
    packed = np.ascontiguousarray(np.packbits(present, axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    distinct, kinds = np.unique(keys, return_inverse=True)
    patterns = [
        tuple(
            np.unpackbits(np.frombuffer(key.tobytes(), dtype=np.uint8))[:width]
            .astype(bool)
            .tolist()
        )
        for key in distinct
    ]
    return patterns, kinds.ravel().tolist()


IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class _PayloadSpec:
    contest: str
    source: str
    choices: tuple[str, ...]
    fields: tuple[str, ...]


_formatters: dict[_PayloadSpec, PayloadFormatter] = {}


def _payloads(
    spec: _PayloadSpec, prefix: bytes, sub: IntArray, tps_ids: list[str]
) -> tuple[list[bytes], list[bytes]]:
    """Canonical payload bytes and payload hashes of plain forms (may run in a worker)."""
    formatter = _formatters.get(spec)
    if formatter is None:
        formatter = _formatters[spec] = PayloadFormatter(
            spec.contest, spec.source, spec.choices, spec.fields
        )
    patterns, kinds = _patterns(sub != ABSENT)
    bodies = formatter.bodies(sub.tolist(), tps_ids, kinds, patterns)
    base = hashlib.sha256(prefix)
    digests = []
    for body in bodies:
        h = base.copy()
        h.update(body)
        digests.append(h.digest())
    return bodies, digests


@dataclass(frozen=True, slots=True)
class _Prepared:
    bodies: list[bytes]
    digests: list[bytes]
    flag_names: list[str]
    flags: BoolArray
    desa: IntArray  # index into Screened.desas, per form
    dpt: tuple[IntArray, BoolArray]
    votes: IntArray  # (forms x choices)
    fields: dict[str, tuple[IntArray, BoolArray]]


class _BlockApplier:
    def __init__(
        self, election: Election, columns: FormColumns, signer: SigningKey, screened: Screened
    ) -> None:
        self.screened = screened
        self.election = election
        self.state = election.state
        self.columns = columns
        self.matrix = columns.matrix()
        self.signer = signer
        self.max_dpt = election.manifest.domestic_tps_max_dpt
        self.prefix_bytes = signing_prefix(EntryType.RESULT_FORM, election.election_id)
        self.flag_names: dict[int, str] = {}

    def _flag_names(self, flags: npt.NDArray[np.bool_]) -> list[str]:
        """The comma-joined rule ids each row breaks, as the projection stores them."""
        codes = (flags.astype(np.int64) << np.arange(len(RULE_IDS), dtype=np.int64)).sum(axis=1)
        names = self.flag_names
        for code in set(codes.tolist()) - names.keys():
            names[code] = ",".join(r for bit, r in enumerate(RULE_IDS) if code >> bit & 1)
        return [names[code] for code in codes.tolist()]

    def payload_job(self, fast: list[int]) -> tuple[_PayloadSpec, bytes, IntArray, list[str]]:
        """Arguments of ``_payloads`` for the plain forms of one block."""
        columns = self.columns
        spec = _PayloadSpec(columns.contest.id, columns.source.id, columns.choices, columns.fields)
        return spec, self.prefix_bytes, self.matrix[fast], [columns.tps[i] for i in fast]

    def apply(
        self,
        block: list[int],
        fast: list[int],
        payloads: tuple[list[bytes], list[bytes]],
        slow: dict[int, Form],
        chunk_size: int,
    ) -> int:
        """Record one block; returns the number of attestations written."""
        election, state, columns = self.election, self.state, self.columns
        eid = election.election_id
        contest, source = columns.contest.id, columns.source.id
        prepared = self._prepare(fast, payloads)
        longest = max(map(len, prepared.bodies), default=0)
        if longest + 512 > MAX_ENTRY_BYTES:  # plain forms are tiny; an envelope adds < 512
            raise RejectedEntry(f"a form of {longest} bytes is too large for one entry")
        bodies, digests, flag_names = prepared.bodies, prepared.digests, prepared.flag_names
        position = dict(zip(fast, range(len(fast)), strict=True))
        heads = state.heads[(contest, source)]
        pending = state.pending.forms
        written = 0
        # The block goes to the record in one write: one system call, not one per chunk.
        encoded: list[bytes] = []
        block_start = state.size
        for first in range(0, len(block), chunk_size):
            chunk = block[first : first + chunk_size]
            chunk_fast = [position[i] for i in chunk if i not in slow]
            chunk_slow = [slow[i] for i in chunk if i in slow]
            slow_bodies = [canonical_bytes_ascii_keys(form.payload) for form in chunk_slow]
            slow_digests = [payload_hash(EntryType.RESULT_FORM, eid, b) for b in slow_bodies]
            covered = [digests[k] for k in chunk_fast] + slow_digests
            attestation = self.signer.entry(
                EntryType.ATTESTATION,
                eid,
                {"source": source, "forms": base64.b64encode(b"".join(covered)).decode()},
            )
            auth = Auth(attestation=attestation.payload_hash.hex())
            envelope = Envelope.of(EntryType.RESULT_FORM, eid, auth)
            encoded.append(
                Envelope.of(EntryType.ATTESTATION, eid, attestation.auth).wrap(
                    attestation.payload_bytes, EntryType.ATTESTATION
                )
            )
            start = state.size
            try:
                state.apply(attestation, verify=False)
                seq = start + 1
                head, tail = envelope.head, envelope.tail
                for k in chunk_fast:
                    tps = columns.tps[fast[k]]
                    body = bodies[k]
                    encoded.append(head + body + tail)  # size checked per block below
                    heads[tps] = seq
                    pending.append(
                        (
                            seq,
                            digests[k].hex(),
                            tps,
                            contest,
                            source,
                            None,
                            start,
                            None,
                            body.decode(),
                            flag_names[k],
                            1,
                        )
                    )
                    seq += 1
                state.size = seq
                state.consume_attestation(auth.attestation or "", covered[: len(chunk_fast)])
                for form, body, digest in zip(chunk_slow, slow_bodies, slow_digests, strict=True):
                    encoded.append(envelope.wrap(body, EntryType.RESULT_FORM))
                    election.remember_form(state.size, form.payload, digest.hex())
                    state.apply_form(
                        form.payload, digest, auth, verify=False, form=form, payload_bytes=body
                    )
            except RejectedEntry:
                election.undo(block_start)
                raise
            written += 1
        election.commit(encoded, block_start, sync=False)
        self._tally(fast, prepared)
        return written

    def _prepare(self, fast: list[int], payloads: tuple[list[bytes], list[bytes]]) -> _Prepared:
        """Rule flags of the block's plain forms, beside their payload bytes and hashes."""
        bodies, digests = payloads
        sub = self.matrix[fast]
        present = sub != ABSENT
        facts = self.screened
        dpt = (facts.dpt[fast], facts.dpt_known[fast])
        votes, fields = self._columns(sub, present)
        flags = check_rules_columns(
            votes, fields, domestic=facts.domestic[fast], registry_dpt=dpt, max_dpt=self.max_dpt
        )
        return _Prepared(
            bodies, digests, self._flag_names(flags), flags, facts.desa[fast], dpt, votes, fields
        )

    def _columns(
        self, sub: npt.NDArray[np.int64], present: npt.NDArray[np.bool_]
    ) -> tuple[
        npt.NDArray[np.int64], dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]]
    ]:
        nc = len(self.columns.choices)
        votes = np.where(present[:, :nc], sub[:, :nc], 0)
        fields = {
            name: (sub[:, nc + j], present[:, nc + j]) for j, name in enumerate(self.columns.fields)
        }
        return votes, fields

    def _tally(self, fast: list[int], prepared: _Prepared) -> None:
        """Add the block's plain forms to the tally, one update per desa."""
        if not fast:
            return
        state, columns = self.state, self.columns
        contest, source = columns.contest.id, columns.source.id
        shape = state.tally.layout(contest, source)
        contributions = shape.contribution_matrix(
            prepared.votes, prepared.fields, prepared.flags, prepared.dpt
        )
        # Sum per desa over the forms, then climb the tree over the (few) regions.
        regions = state.registry.regions
        order = np.argsort(prepared.desa, kind="stable")
        ordered = prepared.desa[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        desas = ordered[starts]
        sums = np.add.reduceat(contributions[order], starts, axis=0)
        names = self.screened.desas
        keys = [names[d] for d in desas.tolist()]
        totals: dict[str, list[int]] = dict(zip(keys, sums.tolist(), strict=True))
        keys = [regions[k].parent or "" for k in keys]
        while keys and keys[0]:
            index: dict[str, int] = {}
            groups = np.array([index.setdefault(k, len(index)) for k in keys])
            order = np.argsort(groups, kind="stable")
            starts = np.searchsorted(groups[order], np.arange(len(index)))
            sums = np.add.reduceat(sums[order], starts, axis=0)
            totals.update(zip(index, sums.tolist(), strict=True))
            parents = [regions[k].parent for k in index]
            if parents[0] is None:
                break
            keys = [p for p in parents if p is not None]
        state.tally.add_region_totals(contest, source, totals)
