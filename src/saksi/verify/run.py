"""The verification, in the order of issue 4: checkpoint and witnesses, root and tiles,
entries (canonical bytes, signatures, keys, corrections), publications against the
index, totals and flags by replay, photos. Monitor mode compares with the last verified
checkpoint, so a rollback or a fork is caught."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saksi.canonical import CanonicalError, decode_canonical
from saksi.verify.logcheck import bundle_names, check_checkpoint, check_tree, entries
from saksi.verify.replay import Replay
from saksi.verify.report import Failure, Report, VerificationFailed
from saksi.verify.signatures import SignatureJobs
from saksi.verify.source import FetchError, Source
from saksi.verify.totals import compare, expected_flags, expected_totals
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
    try:
        _verify(source, trust, report, state_path, workers)
    except VerificationFailed as exc:
        report.fail(exc.failure)
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
    index, index_bytes = _index(source)
    listed: dict[str, dict[str, Any]] = {f["path"]: f for f in index["files"]} if index else {}
    sizes = {f["log_size"] for f in listed.values() if "log_size" in f and f["log_size"] <= size}
    if index is not None:
        sizes.add(index["log_size"])
    # Everything the index lists, fetched up front and in parallel (only what changed).
    missing = set(source.ensure(((p, f["sha256"]) for p, f in listed.items()), "published files"))
    signatures = SignatureJobs([source.path(n) for n in bundle_names(size)], workers)
    replay = Replay(report)
    due = sorted(sizes)
    for position, entry in enumerate(entries(source, size)):
        while due and due[0] == position:
            _snapshot(source, replay, listed, missing, index, due.pop(0), report)
        replay.apply(position, entry)
    checked, bad = signatures.result()
    report.signatures_checked = checked
    for leaf, check, message in bad:
        report.fail(Failure(check, message, leaf_index=leaf))
    while due:
        _snapshot(source, replay, listed, missing, index, due.pop(0), report)
    report.forms_checked = replay.forms
    _publications(source, replay, index, index_bytes, listed, missing, report)
    _photos(source, replay, listed, report)
    if report.ok and state_path is not None:
        MonitorState(size, signed.checkpoint.root).save(state_path)


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


def _snapshot(
    source: Source,
    replay: Replay,
    listed: dict[str, dict[str, Any]],
    missing: set[str],
    index: dict[str, Any] | None,
    log_size: int,
    report: Report,
) -> None:
    """Compare every totals and flags file due at ``log_size`` with the replay there."""
    final = index is not None and index["log_size"] == log_size
    by_pair: dict[tuple[str, str], list[tuple[str, str, dict[str, Any]]]] = defaultdict(list)
    for path, item in listed.items():
        parts = path.split("/")
        is_totals = parts[0] == "totals" and len(parts) == 4 and parts[3].endswith(".json")
        if is_totals and (final or item.get("log_size") == log_size):
            by_pair[(parts[1], parts[2])].append((path, parts[3][:-5], item))
    for contest, source_id in replay.layouts:
        pair = (contest, source_id)
        if not by_pair.get(pair) and not final:
            continue
        expected = expected_totals(replay, contest, source_id, log_size)
        seen = set()
        for path, region, item in by_pair.get(pair, []):
            seen.add(region)
            if path not in missing:
                doc = expected.get(region)
                if doc is None:
                    report.fail(
                        Failure(
                            "totals",
                            "totals published for a region with no form in the log",
                            file=path,
                            region=region,
                        )
                    )
                    continue
                data = source.path(path).read_bytes()
                compare(
                    report,
                    "totals",
                    path,
                    data,
                    {**doc, "log_size": item.get("log_size")},
                    region=region,
                )
                report.totals_checked += 1
        if final:
            for region in sorted(set(expected) - seen):
                report.fail(
                    Failure(
                        "totals",
                        "a region with forms has no published totals file",
                        region=region,
                        file=f"totals/{contest}/{source_id}/{region}.json",
                    )
                )
        path = f"flags/{contest}/{source_id}.json"
        flags = listed.get(path)
        due = flags is not None and (final or flags.get("log_size") == log_size)
        if flags is not None and due and path not in missing:
            want = expected_flags(replay, contest, source_id, int(flags.get("log_size", 0)))
            compare(report, "flags", path, source.path(path).read_bytes(), want)
            report.flags_checked += 1
        elif final and flags is None and any(r.flags for r in replay.current[pair].values()):
            report.fail(Failure("flags", "flagged forms but no published flags file", file=path))


def _publications(
    source: Source,
    replay: Replay,
    index: dict[str, Any] | None,
    index_bytes: bytes | None,
    listed: dict[str, dict[str, Any]],
    missing: set[str],
    report: Report,
) -> None:
    """Check 6: the last publication entry commits the published index, whose files match."""
    if not replay.publications:
        if index is not None:
            report.fail(
                Failure(
                    "publication",
                    "an index is published but no publication entry in the log commits it",
                    file="index.json",
                )
            )
        return
    leaf, entry = replay.publications[-1]
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
    for path, item in sorted(listed.items()):
        if path in missing:
            report.fail(Failure("publication", "a file the index lists is missing", file=path))
            continue
        data = source.path(path).read_bytes()
        if hashlib.sha256(data).hexdigest() != item["sha256"]:
            report.fail(
                Failure(
                    "publication",
                    "published file differs from the hash in the index",
                    file=path,
                    expected=item["sha256"],
                    found=hashlib.sha256(data).hexdigest(),
                )
            )


def _photos(
    source: Source, replay: Replay, listed: dict[str, dict[str, Any]], report: Report
) -> None:
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
