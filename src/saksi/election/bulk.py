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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from saksi.canonical import canonical_bytes_ascii_keys
from saksi.errors import RejectedEntry
from saksi.ingest.columns import ABSENT, FormColumns
from saksi.ingest.csv_import import MAX_ERRORS_SHOWN
from saksi.ingest.form_bytes import PayloadFormatter
from saksi.ingest.rules import RULE_IDS, check_rules_columns
from saksi.ingest.validate import Form, ballot_for
from saksi.log.entry import Auth, EntryType, Envelope, payload_hash, signing_prefix
from saksi.registry.model import Tps, TpsKind

if TYPE_CHECKING:
    from saksi.election.election import Election
    from saksi.election.state import ElectionState
    from saksi.keys.ed25519 import SigningKey

__all__ = ["Screened", "import_columns", "screen"]

Progress = Callable[[int], None]
FLUSH_EVERY = 50_000


@dataclass
class Screened:
    fast: list[int] = field(default_factory=list)  # plain new forms
    slow: dict[int, Form] = field(default_factory=dict)  # valid, via the per-form path
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)


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
    heads = state.heads.get((columns.contest.id, columns.source.id), {})
    seen: dict[str, str] = {}
    election = state.election_id
    for i in range(n):
        label, tps = columns.labels[i], columns.tps[i]
        if i in columns.broken:
            result.errors.append(f"{label}: {columns.broken[i]}")
            continue
        if tps in seen and tps:
            result.errors.append(f"{label}: TPS {tps} already appears in {seen[tps]}")
            continue
        seen[tps] = label
        if not suspect[i] and tps not in heads:
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
            result.errors.append(f"{label}: {exc}")
            continue
        result.slow[i] = form
    return result


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
) -> ImportSummary:
    """All rows or none: screen everything, then record in chunks of one attestation."""
    state = election.state
    screened = screen(state, columns)
    if screened.errors:
        raise refusal(name, screened.errors)
    order = sorted([*screened.fast, *screened.slow])
    matrix = columns.matrix()
    applier = _ChunkApplier(election, columns, matrix, signer)
    recorded = attestations = since_flush = 0
    for start in range(0, len(order), chunk_size):
        chunk = order[start : start + chunk_size]
        applier.apply(
            [i for i in chunk if i not in screened.slow],
            [(i, screened.slow[i]) for i in chunk if i in screened.slow],
        )
        recorded += len(chunk)
        attestations += 1
        since_flush += len(chunk)
        if since_flush >= FLUSH_EVERY:
            election.record.sync()
            election.flush()
            since_flush = 0
        if progress is not None:
            progress(recorded + screened.duplicates)
    election.record.sync()
    election.flush()
    if progress is not None:
        progress(recorded + screened.duplicates)
    return ImportSummary(recorded, screened.duplicates, attestations)


class _ChunkApplier:
    def __init__(
        self,
        election: Election,
        columns: FormColumns,
        matrix: npt.NDArray[np.int64],
        signer: SigningKey,
    ) -> None:
        self.election = election
        self.state = election.state
        self.columns = columns
        self.matrix = matrix
        self.signer = signer
        manifest = election.manifest
        self.max_dpt = manifest.domestic_tps_max_dpt
        self.formatter = PayloadFormatter(
            columns.contest.id, columns.source.id, columns.choices, columns.fields
        )
        self.prefix = hashlib.sha256(signing_prefix(EntryType.RESULT_FORM, election.election_id))
        self.flag_names: dict[bytes, str] = {}

    def _flags(self, row: npt.NDArray[np.bool_]) -> str:
        key = row.tobytes()
        name = self.flag_names.get(key)
        if name is None:
            name = self.flag_names[key] = ",".join(
                r for r, on in zip(RULE_IDS, row, strict=True) if on
            )
        return name

    def apply(self, fast: list[int], slow: list[tuple[int, Form]]) -> None:
        election, state, columns = self.election, self.state, self.columns
        eid = election.election_id
        source = columns.source.id
        sub = self.matrix[fast]
        present = sub != ABSENT
        rows = sub.tolist()
        tps_ids = [columns.tps[i] for i in fast]
        patterns = [tuple(p) for p in present.tolist()]
        bodies = self.formatter.bodies(rows, tps_ids, patterns)
        digests = []
        for body in bodies:
            h = self.prefix.copy()
            h.update(body)
            digests.append(h.digest())
        slow_bodies = [canonical_bytes_ascii_keys(form.payload) for _, form in slow]
        slow_digests = [payload_hash(EntryType.RESULT_FORM, eid, b) for b in slow_bodies]
        forms = base64.b64encode(b"".join(digests + slow_digests)).decode()
        attestation = self.signer.entry(
            EntryType.ATTESTATION, eid, {"source": source, "forms": forms}
        )
        auth = Auth(attestation=attestation.payload_hash.hex())
        envelope = Envelope.of(EntryType.RESULT_FORM, eid, auth)
        encoded = [
            Envelope.of(EntryType.ATTESTATION, eid, attestation.auth).wrap(
                attestation.payload_bytes, EntryType.ATTESTATION
            )
        ]
        encoded += [envelope.wrap(b, EntryType.RESULT_FORM) for b in bodies]
        encoded += [envelope.wrap(b, EntryType.RESULT_FORM) for b in slow_bodies]
        start = state.size
        try:
            state.apply(attestation, verify=False)
            if fast:
                self._apply_fast(sub, present, tps_ids, bodies, digests, auth, start)
            for (_, form), body, digest in zip(slow, slow_bodies, slow_digests, strict=True):
                election.remember_form(state.size, form.payload, digest.hex())
                state.apply_form(
                    form.payload, digest, auth, verify=False, form=form, payload_bytes=body
                )
        except RejectedEntry:
            election.undo(start)
            raise
        election.commit(encoded, start, sync=False)

    def _apply_fast(
        self,
        sub: npt.NDArray[np.int64],
        present: npt.NDArray[np.bool_],
        tps_ids: list[str],
        bodies: list[bytes],
        digests: list[bytes],
        auth: Auth,
        attestation_seq: int,
    ) -> None:
        state, columns = self.state, self.columns
        contest, source = columns.contest.id, columns.source.id
        registry = state.registry
        infos = [registry.tps[t] for t in tps_ids]
        nc = len(columns.choices)
        votes = np.where(present[:, :nc], sub[:, :nc], 0)
        fields = {
            name: (sub[:, nc + j], present[:, nc + j]) for j, name in enumerate(columns.fields)
        }
        dpt_present = np.array([t.dpt is not None for t in infos], dtype=bool)
        dpt_value = np.array([t.dpt or 0 for t in infos], dtype=np.int64)
        domestic = np.array([t.kind is TpsKind.DOMESTIC for t in infos], dtype=bool)
        flags = check_rules_columns(
            votes,
            fields,
            domestic=domestic,
            registry_dpt=(dpt_value, dpt_present),
            max_dpt=self.max_dpt,
        )
        layout = state.tally.layout(contest, source)
        contributions = layout.contribution_matrix(votes, fields, flags, (dpt_value, dpt_present))
        # One tally update per desa: forms of a chunk cluster in few desa.
        desa_index: dict[str, int] = {}
        groups = np.array([desa_index.setdefault(t.desa, len(desa_index)) for t in infos])
        totals = np.zeros((len(desa_index), layout.width), dtype=np.int64)
        np.add.at(totals, groups, contributions)
        paths = registry.paths
        for desa, k in desa_index.items():
            nonzero = np.flatnonzero(totals[k])
            pairs = list(zip(nonzero.tolist(), totals[k, nonzero].tolist(), strict=True))
            state.tally.apply(contest, source, paths[desa], pairs, 1)
        heads = state.heads[(contest, source)]
        attestation = state.attestations[auth.attestation or ""]
        seq = attestation_seq + 1
        pending = state.pending.forms
        for k, tps in enumerate(tps_ids):
            heads[tps] = seq
            attestation.remaining.discard(digests[k])
            pending.append(
                (
                    seq,
                    digests[k].hex(),
                    tps,
                    contest,
                    source,
                    None,
                    attestation_seq,
                    None,
                    bodies[k].decode(),
                    self._flags(flags[k]),
                    1,
                )
            )
            seq += 1
        if not attestation.remaining:
            del state.attestations[auth.attestation or ""]
        state.size = seq
