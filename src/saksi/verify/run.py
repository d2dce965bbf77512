"""The verification, in the order of issue 4: checkpoint and witnesses, root and tiles,
entries (canonical bytes, signatures, keys, corrections, the recapitulation ladder),
publications against the index, totals, flags and the ladder's differences by replay,
photos. Monitor mode compares with the last verified
checkpoint, so a rollback or a fork is caught."""

from __future__ import annotations

import base64
import gc
import hashlib
import json
import multiprocessing
import os
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any

import numpy as np

from saksi.canonical import CanonicalError, decode_canonical
from saksi.verify.ladder import Certified, RecapVersion, ladder_documents
from saksi.verify.logcheck import (
    SignedCheckpoint,
    bundle_names,
    check_checkpoint,
    check_tree,
    entries,
)
from saksi.verify.replay import Layout, Replay
from saksi.verify.report import Failure, Report, VerificationFailed
from saksi.verify.source import FetchError, Source
from saksi.verify.totals import (
    compare,
    coverage,
    documents,
    flag_items,
    partial_sums,
    tps_figures,
)
from saksi.verify.trust import Trust

__all__ = ["MonitorState", "verify"]


@dataclass(frozen=True)
class MonitorState:
    """The last checkpoint this verifier accepted: what later ones must extend."""

    size: int
    root: bytes

    @classmethod
    def load(cls, path: Path) -> MonitorState | None:
        if not path.exists():
            return None
        value = json.loads(path.read_text(encoding="utf-8"))
        return cls(int(value["size"]), base64.b64decode(value["root"]))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        text = json.dumps({"size": self.size, "root": base64.b64encode(self.root).decode()})
        tmp.write_text(text + "\n", encoding="utf-8")
        tmp.replace(path)


def verify(
    source: Source,
    trust: Trust,
    *,
    state_path: Path | None = None,
    workers: int | None = None,
) -> Report:
    report = Report(source.location)
    started = time.perf_counter()
    collecting = gc.isenabled()
    gc.disable()  # the tree's and the totals' millions of objects hold no cycles
    try:
        _verify(source, trust, report, state_path, workers)
    except VerificationFailed as exc:
        report.fail(exc.failure)
    finally:
        if collecting:
            gc.enable()
    report.seconds = time.perf_counter() - started
    return report


def _verify(
    source: Source,
    trust: Trust,
    report: Report,
    state_path: Path | None,
    workers: int | None,
) -> None:
    signed = check_checkpoint(source, trust, report)
    size = signed.checkpoint.size
    previous = MonitorState.load(state_path) if state_path is not None else None
    if previous is not None and size < previous.size:
        raise VerificationFailed(
            Failure(
                "monitor",
                "rollback: the log shows an older checkpoint than one verified before",
                file="log/checkpoint",
                expected=f">= {previous.size}",
                found=size,
            )
        )
    # The replay reads the bundles itself; it starts while the tree is being checked.
    index, index_bytes = _index(source)
    listed: dict[str, dict[str, Any]] = {f["path"]: f for f in index["files"]} if index else {}
    due = _due(listed, index, size)
    source.ensure(((n, None) for n in bundle_names(size)), "entry bundles")
    replaying = _start_parts(source, size, due, workers)
    try:
        _check_growth(source, signed, report, previous)
        # Everything the index lists, fetched in parallel (only what changed).
        missing = set(
            source.ensure(((p, f["sha256"]) for p, f in listed.items()), "published files")
        )
        _listed_hashes(source, listed, missing, report)  # while the replay runs
        parts = replaying.result()
    except BaseException:
        replaying.stop()
        raise
    first = parts[0]
    for part in parts:
        for failure in part.failures:
            report.fail(failure)
        report.signatures_checked += part.signatures
        report.forms_checked += part.forms
    report.recap_forms_checked = first.recap_forms  # every part replays them; count once
    for log_size in sorted(due):
        _compare(source, parts, listed, missing, index, log_size, report)
    _publications(first.publications, index, index_bytes, listed, report)
    _photos(source, listed, report)
    if report.ok and state_path is not None:
        MonitorState(size, signed.checkpoint.root).save(state_path)


def _check_growth(
    source: Source, signed: SignedCheckpoint, report: Report, previous: MonitorState | None
) -> None:
    """Checks 2 and the monitor's: the tree, and that it extends what was verified before."""
    old_root = check_tree(source, signed, report, previous.size if previous else None)
    if previous is not None and old_root != previous.root:
        raise VerificationFailed(
            Failure(
                "monitor",
                f"fork: the log's first {previous.size} entries no longer have the root "
                "verified before",
                expected=base64.b64encode(previous.root).decode(),
                found=base64.b64encode(old_root or b"").decode(),
            )
        )


@dataclass
class Snapshot:
    """What one part of the replay saw at one record size."""

    sums: dict[tuple[str, str], np.ndarray]
    flags: dict[tuple[str, str], list[dict[str, Any]]]
    # Part 0 only: regions (id, name, level) in the rows' order and layouts; the last
    # part only: per contest, the TPS and DPT each region covers.
    regions: list[tuple[str, str, str]]
    layouts: dict[tuple[str, str], Layout]
    covered: dict[str, dict[str, tuple[int, int]]]
    # Part 0 only: per contest, each region's current recap form with its number of
    # versions, and the standing certifications.
    recaps: dict[str, dict[str, tuple[RecapVersion, int]]]
    certified: dict[str, dict[str, Certified]]


@dataclass
class Part:
    failures: list[Failure]
    signatures: int
    forms: int
    recap_forms: int
    publications: list[tuple[int, dict[str, Any]]]
    snapshots: dict[int, Snapshot]


def _due(listed: dict[str, dict[str, Any]], index: dict[str, Any] | None, size: int) -> set[int]:
    """The record sizes at which published figures must be compared."""
    sizes = {f["log_size"] for f in listed.values() if isinstance(f.get("log_size"), int)}
    if index is not None:
        sizes.add(index["log_size"])
    return {s for s in sizes if 0 < s <= size}


class _Parts:
    """The replay's parts, running in worker processes (one per core)."""

    def __init__(self, pool: Pool | None, jobs: Sequence[Callable[[], Part]]) -> None:
        self.pool, self.jobs = pool, jobs

    def result(self) -> list[Part]:
        parts = [job() for job in self.jobs]
        if self.pool is not None:
            self.pool.close()
            self.pool.join()
        return parts

    def stop(self) -> None:
        """Stop the workers at once: the verification already failed."""
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()


def _start_parts(source: Source, size: int, due: set[int], workers: int | None) -> _Parts:
    count = max(1, workers or os.cpu_count() or 1)
    bundles = [str(source.path(n)) for n in bundle_names(size)]
    if count == 1:
        part = _replay_part(bundles, size, sorted(due), 0, 1)
        return _Parts(None, [lambda: part])
    pool = multiprocessing.get_context("fork").Pool(count)
    pending = [
        pool.apply_async(_replay_part, (bundles, size, sorted(due), k, count)) for k in range(count)
    ]
    return _Parts(pool, [job.get for job in pending])


def _replay_part(bundles: list[str], size: int, due: list[int], part: int, parts: int) -> Part:
    # A part builds millions of small objects and no reference cycles: cyclic collections
    # would only walk them again and again (the server's bulk import does the same).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _replay(bundles, size, due, part, parts)
    finally:
        if collecting:
            gc.enable()


def _replay(bundles: list[str], size: int, due: list[int], part: int, parts: int) -> Part:
    report = Report("part")
    replay = Replay(report, part, parts)
    snapshots: dict[int, Snapshot] = {}
    pending = list(due)
    for index, entry in enumerate(entries([Path(b) for b in bundles], size)):
        while pending and pending[0] == index:
            snapshots[pending.pop(0)] = _snapshot(replay, part)
        replay.apply(index, entry)
    while pending:
        snapshots[pending.pop(0)] = _snapshot(replay, part)
    return Part(
        report.failures,
        replay.signatures,
        replay.forms,
        replay.ladder.recap_forms,
        replay.publications,
        snapshots,
    )


def _snapshot(replay: Replay, part: int) -> Snapshot:
    pairs = list(replay.layouts)
    return Snapshot(
        # Only sources with forms: a national region table is 30 MB a contest and source.
        sums={pair: partial_sums(replay, *pair) for pair in pairs if replay.current[pair]},
        flags={pair: flag_items(replay, *pair) for pair in pairs},
        regions=[(r, *replay.regions[r][:2]) for r in replay.paths] if part == 0 else [],
        layouts=dict(replay.layouts) if part == 0 else {},
        # The last part counts coverage, so that part 0 does not also carry it.
        covered={c: coverage(replay, c) for c in replay.contests}
        if part == replay.parts - 1
        else {},
        recaps={c: replay.ladder.current(c) for c in replay.contests} if part == 0 else {},
        certified={c: replay.ladder.certifications(c) for c in replay.contests}
        if part == 0
        else {},
    )


def _index(source: Source) -> tuple[dict[str, Any] | None, bytes | None]:
    data = source.fetch("index.json")
    if data is None:
        return None, None
    try:
        value = decode_canonical(data)
        files = value["files"]
        if not isinstance(files, list) or not isinstance(value["log_size"], int):
            raise TypeError("files must be a list and log_size an integer")
        for item in files:
            if not isinstance(item["path"], str) or not isinstance(item["sha256"], str):
                raise TypeError("each file needs a path and a sha256")
    except (CanonicalError, KeyError, TypeError) as exc:
        raise VerificationFailed(
            Failure(
                "publication", f"index.json is not a publication index: {exc}", file="index.json"
            )
        ) from exc
    return value, data


def _compare(
    source: Source,
    parts: list[Part],
    listed: dict[str, dict[str, Any]],
    missing: set[str],
    index: dict[str, Any] | None,
    log_size: int,
    report: Report,
) -> None:
    """Compare every totals, flags and ladder file due at ``log_size`` with the replay
    there."""
    final = index is not None and index["log_size"] == log_size
    head = parts[0].snapshots[log_size]
    sums: dict[tuple[str, str], np.ndarray] = {}
    by_pair = _due_files(listed, "totals", 2, final, log_size)  # keyed (contest, source)
    for pair, layout in head.layouts.items():
        contest, source_id = pair
        if by_pair.get(pair) or final:
            expected = documents(
                head.regions,
                _merged(parts, log_size, pair, sums),
                layout,
                parts[-1].snapshots[log_size].covered[contest],
                contest,
                source_id,
                log_size,
            )
            kind = _Kind(
                "totals",
                "totals published for a region with no form in the log",
                "a region with forms has no published totals file",
                f"totals/{contest}/{source_id}",
            )
            files = by_pair.get(pair, [])
            checked = _compare_files(source, kind, files, expected, missing, final, report)
            report.totals_checked += len(checked)
        path = f"flags/{contest}/{source_id}.json"
        flags = listed.get(path)
        items = [i for part in parts for i in part.snapshots[log_size].flags[pair]]
        if flags is not None and (final or flags.get("log_size") == log_size):
            if path not in missing:
                want = {
                    "contest": contest,
                    "flags": sorted(items, key=lambda i: i["tps_id"]),
                    "log_size": flags.get("log_size"),
                    "source": source_id,
                }
                compare(report, "flags", path, source.path(path).read_bytes(), want)
                report.flags_checked += 1
        elif final and flags is None and items:
            report.fail(Failure("flags", "flagged forms but no published flags file", file=path))
    _compare_ladder(source, parts, listed, missing, final, log_size, sums, report)


def _merged(
    parts: list[Part],
    log_size: int,
    pair: tuple[str, str],
    cache: dict[tuple[str, str], np.ndarray],
) -> np.ndarray:
    """The sums of every part's forms of one contest and source, per region."""
    if pair not in cache:
        found = [
            p.snapshots[log_size].sums[pair] for p in parts if pair in p.snapshots[log_size].sums
        ]
        rows = len(parts[0].snapshots[log_size].regions)
        cache[pair] = np.sum(found, axis=0) if found else np.zeros((rows, 1), dtype=np.int64)
    return cache[pair]


def _compare_ladder(
    source: Source,
    parts: list[Part],
    listed: dict[str, dict[str, Any]],
    missing: set[str],
    final: bool,
    log_size: int,
    sums: dict[tuple[str, str], np.ndarray],
    report: Report,
) -> None:
    """Each ladder file due at ``log_size`` against the recap forms and differences the
    replay gives; at the index's size, every current recap form must have its file."""
    head = parts[0].snapshots[log_size]
    due = _due_files(listed, "ladder", 1, final, log_size)  # keyed (contest,)
    recorded = {c for c, r in head.recaps.items() if r} if final else set()
    for contest in sorted({key[0] for key in due} | recorded):
        current = head.recaps.get(contest, {})
        expected = ladder_documents(
            contest,
            current,
            head.certified.get(contest, {}),
            _ladder_tps(parts, log_size, contest, current, sums),
        )
        kind = _Kind(
            "ladder",
            "a ladder file for a region with no recap form in the log",
            "a region with a recap form has no published ladder file",
            f"ladder/{contest}",
        )
        files = due.get((contest,), [])
        checked = _compare_files(source, kind, files, expected, missing, final, report)
        report.ladder_checked += len(checked)
        if final:
            report.ladder_differences_checked += sum(len(d["differences"]) for d in checked)


def _ladder_tps(
    parts: list[Part],
    log_size: int,
    contest: str,
    current: dict[str, tuple[RecapVersion, int]],
    sums: dict[tuple[str, str], np.ndarray],
) -> dict[str, dict[str, dict[str, int]]]:
    """Region -> source -> the sum of its TPS forms, for every region a recap row names
    where the source has a form for each TPS the contest covers."""
    head = parts[0].snapshots[log_size]
    covered = parts[-1].snapshots[log_size].covered.get(contest, {})
    rows = {child for version, _ in current.values() for child, _ in version.rows}
    tps: dict[str, dict[str, dict[str, int]]] = {}
    if not rows:
        return tps
    for (cid, source_id), layout in head.layouts.items():
        if cid == contest:
            merged = _merged(parts, log_size, (cid, source_id), sums)
            found = tps_figures(head.regions, merged, layout, rows, covered)
            for region, figures in found.items():
                tps.setdefault(region, {})[source_id] = figures
    return tps


def _due_files(
    listed: dict[str, dict[str, Any]], top: str, keys: int, final: bool, log_size: int
) -> dict[tuple[str, ...], list[tuple[str, str, dict[str, Any]]]]:
    """The listed files ``top/<key 1>/…/<key n>/<region>.json`` due at ``log_size`` (all
    of them at the index's size), as (path, region, index item), grouped by their keys."""
    due: dict[tuple[str, ...], list[tuple[str, str, dict[str, Any]]]] = defaultdict(list)
    for path, item in listed.items():
        bits = path.split("/")
        shaped = bits[0] == top and len(bits) == keys + 2 and bits[-1].endswith(".json")
        if shaped and (final or item.get("log_size") == log_size):
            due[tuple(bits[1:-1])].append((path, bits[-1][:-5], item))
    return due


@dataclass(frozen=True, slots=True)
class _Kind:
    """One kind of published file, per region: its check's name and failure messages."""

    check: str
    stray: str  # a file for a region the replay has no document for
    absent: str  # a region the replay has a document for, with no file
    folder: str


def _compare_files(
    source: Source,
    kind: _Kind,
    files: list[tuple[str, str, dict[str, Any]]],
    expected: dict[str, dict[str, Any]],
    missing: set[str],
    final: bool,
    report: Report,
) -> list[dict[str, Any]]:
    """Each published (path, region, index item) against the replay's document for its
    region; at the index's size, every expected region must have its file. Returns the
    documents compared."""
    seen, checked = set(), []
    for path, region, item in files:
        seen.add(region)
        if path in missing:
            continue  # reported with the publication
        doc = expected.get(region)
        if doc is None:
            report.fail(Failure(kind.check, kind.stray, file=path, region=region))
            continue
        want = {**doc, "log_size": item.get("log_size")}
        compare(report, kind.check, path, source.path(path).read_bytes(), want, region=region)
        checked.append(doc)
    if final:
        for region in sorted(set(expected) - seen):
            file = f"{kind.folder}/{region}.json"
            report.fail(Failure(kind.check, kind.absent, region=region, file=file))
    return checked


def _listed_hashes(
    source: Source, listed: dict[str, dict[str, Any]], missing: set[str], report: Report
) -> None:
    """Check 6, files: every file the index lists is there, with the hash it states."""
    for path, item in sorted(listed.items()):
        if path in missing:
            report.fail(Failure("publication", "a file the index lists is missing", file=path))
            continue
        found = hashlib.sha256(source.path(path).read_bytes()).hexdigest()
        if found != item["sha256"]:
            report.fail(
                Failure(
                    "publication",
                    "published file differs from the hash in the index",
                    file=path,
                    expected=item["sha256"],
                    found=found,
                )
            )


def _publications(
    publications: list[tuple[int, dict[str, Any]]],
    index: dict[str, Any] | None,
    index_bytes: bytes | None,
    listed: dict[str, dict[str, Any]],
    report: Report,
) -> None:
    """Check 6, entries: the last publication entry commits the published index."""
    if not publications:
        if index is not None:
            report.fail(
                Failure(
                    "publication",
                    "an index is published but no publication entry in the log commits it",
                    file="index.json",
                )
            )
        return
    leaf, entry = publications[-1]
    if index is None or index_bytes is None:
        report.fail(
            Failure(
                "publication",
                "the log commits a publication but index.json is missing",
                leaf_index=leaf,
                file="index.json",
            )
        )
        return
    if index["log_size"] > entry["log_size"]:
        raise FetchError("a newer publication is being written; run the verification again")
    digest = hashlib.sha256(index_bytes).hexdigest()
    if digest != entry["index"] or len(listed) != entry["files"]:
        report.fail(
            Failure(
                "publication",
                "index.json is not the index the log's last publication entry commits",
                leaf_index=leaf,
                file="index.json",
                expected={"index": entry["index"], "files": entry["files"]},
                found={"index": digest, "files": len(listed)},
            )
        )


def _photos(source: Source, listed: dict[str, dict[str, Any]], report: Report) -> None:
    """Check 9: each available photo hashes to the value its form names."""
    published: set[str] = set()
    for path in sorted(p for p in listed if p.startswith("photos/list/")):
        if source.path(path).exists():
            published.update(
                line.split(" ", 1)[0]
                for line in source.path(path).read_text(encoding="ascii").splitlines()
            )
    names = [(f"photos/{h[:2]}/{h}", h) for h in sorted(published)]
    absent = set(source.ensure(names, "photos"))
    for name, digest in names:
        if name in absent:
            report.fail(Failure("photos", "a listed photo is missing", file=name))
            continue
        data = source.path(name).read_bytes()
        found = hashlib.sha256(data).hexdigest()
        if found != digest:
            report.fail(
                Failure(
                    "photos",
                    "photo does not hash to the value its form names",
                    file=name,
                    expected=digest,
                    found=found,
                )
            )
        report.photos_checked += 1
