"""Read a results CSV of one source into form payloads, with line-numbered errors.

Columns: ``tps_id``; one column per choice, named by its id or ``paslon_<id>``; and any
of the source's form fields by name. An empty cell is an absent field (null, not zero).
"""

from __future__ import annotations

import csv
import io
import itertools
import operator
import re
from array import array
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from saksi.errors import SaksiError
from saksi.ingest.columns import ABSENT, FormColumns
from saksi.ingest.validate import MAX_COUNT
from saksi.manifest.model import Contest, Manifest

__all__ = [
    "MAX_ERRORS_SHOWN",
    "columns_from_csv",
    "resolve_contest",
    "write_results_csv",
]

MAX_ERRORS_SHOWN = 20


def resolve_contest(manifest: Manifest, contest: str | None) -> Contest:
    if contest is None:
        if len(manifest.contests) != 1:
            ids = ", ".join(c.id for c in manifest.contests)
            raise SaksiError(f"choose the contest with --contest (one of {ids})")
        return manifest.contests[0]
    found = manifest.contest_by_id.get(contest)
    if found is None:
        raise SaksiError(f"contest {contest} is not part of election {manifest.election_id}")
    return found


def _columns(
    header: list[str], manifest: Manifest, contest: Contest, source: str
) -> dict[str, tuple[str, str]]:
    """Map each CSV column to ("votes", choice) or ("fields", name)."""
    if source not in manifest.source_by_id:
        raise SaksiError(f"source {source} is not part of election {manifest.election_id}")
    fields = manifest.source_by_id[source].fields
    choices = {c.id for c in contest.all_choices()}
    mapping: dict[str, tuple[str, str]] = {}
    for column in header:
        if column == "tps_id":
            continue
        choice = column.removeprefix("paslon_")
        if choice in choices:
            mapping[column] = ("votes", choice)
        elif column in fields:
            mapping[column] = ("fields", column)
        else:
            raise SaksiError(
                f"column {column!r} is neither a {contest.id} choice nor a field of source "
                f"{source}'s form"
            )
    if "tps_id" not in header:
        raise SaksiError("the results CSV needs a tps_id column")
    return mapping


_INTEGER = re.compile(r"-?[0-9]+")


def _cell_value(cell: str) -> int | str:
    return int(cell) if _INTEGER.fullmatch(cell) else cell


@dataclass(frozen=True, slots=True)
class _RowSpec:
    """How to read the numbers of one results CSV's rows (picklable for worker processes)."""

    picks: tuple[int, ...]  # header index of each value; ``width`` for a missing column
    width: int
    tps_col: int
    order: tuple[str, ...]  # the choices, then the fields
    choices: frozenset[str]
    contest: str
    source: str


@dataclass
class _Part:
    tps: list[str]
    matrix: npt.NDArray[np.int64]
    odd: dict[int, dict[str, Any]]
    broken: dict[int, str]


def _odd_row(tps: str, cells: tuple[str, ...], spec: _RowSpec) -> dict[str, Any]:
    """A row the fast path cannot read, as a form payload for the per-form validator."""
    named = [(name, _cell_value(c)) for name, c in zip(spec.order, cells, strict=True) if c]
    return {
        "tps": tps,
        "contest": spec.contest,
        "source": spec.source,
        "votes": {name: v for name, v in named if name in spec.choices},
        "fields": {name: v for name, v in named if name not in spec.choices},
    }


def _parse_range(path: Path, start: int, end: int, spec: _RowSpec) -> _Part:
    """Parse the rows in bytes [start, end) of a results CSV (runs in a worker process)."""
    with path.open("rb") as handle:
        handle.seek(start)
        data = handle.read(end - start)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SaksiError(f"{path.name} is not UTF-8 text: {exc}") from exc
    width, tps_col, n = spec.width, spec.tps_col, len(spec.order)
    missing = any(p >= width for p in spec.picks)  # a column the file lacks reads ""
    getter = operator.itemgetter(*spec.picks, spec.picks[0])  # a tuple even for one pick
    tps_ids: list[str] = []
    values = array("q")  # row after row, as 8-byte integers
    add = values.extend
    odd: dict[int, dict[str, Any]] = {}
    broken: dict[int, str] = {}
    absent_row = [ABSENT] * n
    row_index = 0
    for row in csv.reader(io.StringIO(text, newline="")):
        if len(row) != width:
            broken[row_index] = f"{len(row)} cells where the header has {width}"
            tps_ids.append("")
            add(absent_row)
            row_index += 1
            continue
        if missing:
            row.append("")
        cells = getter(row)[:-1]
        joined = "".join(cells)
        if not (joined.isdigit() and joined.isascii()):
            cells = tuple(c.strip() for c in cells)
            joined = "".join(cells)
        tps = row[tps_col].strip()
        if joined.isdigit() and joined.isascii():
            before = len(values)
            try:
                if "" in cells:
                    add([ABSENT if c == "" else int(c) for c in cells])
                else:
                    add(map(int, cells))
            except OverflowError:  # beyond 8 bytes: the validator names the cell
                del values[before:]
                odd[row_index] = _odd_row(tps, cells, spec)
                add(absent_row)
        elif joined == "":
            add(absent_row)
        else:
            odd[row_index] = _odd_row(tps, cells, spec)
            add(absent_row)
        tps_ids.append(tps)
        row_index += 1
    matrix = np.frombuffer(values, dtype=np.int64).reshape(row_index, n).copy()
    # A number too large to be a count goes to the per-form validator, which names it.
    for index in np.flatnonzero((matrix > MAX_COUNT).any(axis=1)).tolist():
        cells = tuple(str(v) if v != ABSENT else "" for v in matrix[index].tolist())
        odd[index] = _odd_row(tps_ids[index], cells, spec)
        matrix[index] = ABSENT
    return _Part(tps_ids, matrix, odd, broken)


def _ranges(path: Path, start: int, parts: int) -> list[tuple[int, int]]:
    """Split the data after the header at line ends; one range if any field is quoted."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        handle.seek(start)
        data = handle.read()
    if parts <= 1 or b'"' in data or size - start < 1 << 20:
        return [(start, size)]
    cuts = [start]
    for k in range(1, parts):
        newline = data.find(b"\n", (size - start) * k // parts)
        if newline < 0:
            break
        cuts.append(start + newline + 1)
    cuts.append(size)
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def columns_from_csv(
    path: Path,
    manifest: Manifest,
    contest: Contest,
    source: str,
    pool: Executor | None = None,
    parts: int = 2,
) -> FormColumns:
    """Read a results CSV into columns; odd rows keep their cells for a precise message.

    With a process ``pool`` the file is parsed in ``parts`` ranges at once.
    """
    try:
        with path.open("rb") as handle:
            first = handle.readline()
    except FileNotFoundError as exc:
        raise SaksiError(f"results file {path} does not exist") from exc
    if not first.strip():
        raise SaksiError(f"results file {path} is empty")
    try:
        header = next(csv.reader([first.decode("utf-8-sig").rstrip("\r\n")]))
    except UnicodeDecodeError as exc:
        raise SaksiError(f"results file {path} is not UTF-8 text") from exc
    mapping = _columns(header, manifest, contest, source)
    columns = FormColumns(
        contest,
        manifest.source_by_id[source],
        tuple(c.id for c in contest.all_choices()),
        manifest.source_by_id[source].fields,
        label_format="line {}",
        label_offset=2,
    )
    order = (*columns.choices, *columns.fields)
    where = {name: header.index(column) for column, (_, name) in mapping.items()}
    spec = _RowSpec(
        picks=tuple(where.get(name, len(header)) for name in order),
        width=len(header),
        tps_col=header.index("tps_id"),
        order=order,
        choices=frozenset(columns.choices),
        contest=contest.id,
        source=source,
    )
    ranges = _ranges(path, len(first), parts if pool is not None else 1)
    if pool is None or len(ranges) == 1:
        results = [_parse_range(path, a, b, spec) for a, b in ranges]
    else:
        futures = [pool.submit(_parse_range, path, a, b, spec) for a, b in ranges]
        results = [f.result() for f in futures]
    for part in results:
        columns.extend(part.tps, part.matrix, part.odd, part.broken)
    return columns


def write_results_csv(
    forms: Iterable[dict[str, Any]], path: Path, choices: Sequence[str], fields: Sequence[str]
) -> int:
    """Write forms in the format ``columns_from_csv`` reads; absent values stay empty."""
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["tps_id", *(f"paslon_{c}" for c in choices), *fields])
        for form in forms:
            votes, values = form["votes"], form.get("fields", {})
            writer.writerow(
                [
                    form["tps"],
                    *(votes.get(c, "") for c in choices),
                    *(values.get(f, "") for f in fields),
                ]
            )
            count += 1
    return count
