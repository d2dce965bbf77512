"""Verify benchmark: `saksi verify` checks two synthetic national elections from a mirror.

Usage: .venv/bin/python bench/verify.py [--provinces 51] [--only a|b] [--keep DIR]

Setup, not timed, each election built in a fresh process from the same generated files
(the KPU 2024 registry with synthetic DPT, the manifest, one official kpps form per TPS):
  (a) bulk:   the forms bulk-imported under batch attestations (`import_results_file`).
  (b) signed: one submitter key per TPS, enrolled by the kpps key manager many keys per
      entry, then every form recorded as its own `result_form` entry signed by its TPS's
      key, in a shuffled arrival order, as on a real election night.
Both then publish public/ (totals, flags, index, log tiles, signed checkpoint).

Timed: the verifier exactly as a user runs it, on the local public/ folder:
  saksi verify ELECTION/public --vkey "$(saksi log vkey ELECTION)" --json
in a wrapper process of its own, so that its peak RSS is the verifier's alone, with a
fresh XDG_CACHE_HOME (no checkpoint remembered from an earlier run). Baseline, in the
same run: hashlib SHA-256 of every file under public/, read from disk.

--provinces 51 generates and registers only those provinsi, for a quick run.
--keep DIR keeps the generated files and both elections in DIR and reuses them on the
next run with the same --provinces, so the verifier can be timed again without setup.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from ingest import DATA, GENERATE  # noqa: E402  (the benchmark scripts share the generator)

if TYPE_CHECKING:
    from saksi.election.election import Election
    from saksi.log.entry import Entry

ELECTIONS = {"a": "a bulk", "b": "b signed"}
VERIFY = [sys.executable, "-m", "saksi", "verify"]
TARGET_SECONDS = 60
TARGET_MIB = 2048
SUBMITTER_SEED = b"saksi bench submitter "  # + TPS id: one deterministic key per TPS
KEYS_PAYLOAD_BUDGET = 60_000  # bytes of key objects per keys_register entry (limit 65,535)
FORMS_PER_APPEND = 20_000

# -- setup (runs in a fresh process per election) ---------------------------------------


def _new_election(files: Path, dest: Path, provinces: str) -> Election:
    from saksi.election.election import Election
    from saksi.examples.synthetic_election import synthetic_manifest
    from saksi.registry.kpu2024 import read_dpt_file, read_kpu2024

    election = Election.create(dest, synthetic_manifest())
    chosen = {p for p in provinces.split(",") if p}
    desas = read_kpu2024(DATA, read_dpt_file(files / "dpt.csv"))
    # A quick run registers its provinces only, so that its record is mostly forms too.
    election.import_registry(d for d in desas if not chosen or d[0][0].id in chosen)
    return election


def build_bulk(files: Path, dest: Path, provinces: str) -> None:
    from saksi.ingest.import_file import import_results_file

    start = time.perf_counter()
    election = _new_election(files, dest, provinces)
    summary = import_results_file(election, files / "results-kpps.csv", source="kpps")
    imported = time.perf_counter()
    checkpoint = election.publish_log()
    election.close()
    print(
        f"[{ELECTIONS['a']}] setup: {summary.recorded:,} forms under {summary.attestations:,} "
        f"attestations, {checkpoint.size:,} entries, built in {imported - start:.1f} s and "
        f"published in {time.perf_counter() - imported:.1f} s (not timed)",
        flush=True,
    )


# Set before the signing pool forks; the workers read it, so nothing big is pickled to them.
_TO_SIGN: tuple[str, list[str], list[bytes]] = ("", [], [])


def _sign_range(start: int, end: int) -> list[tuple[str, str, bytes]]:
    """(public key, signature, payload hash) of forms start..end, each by its TPS's key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from saksi.log.entry import EntryType, signing_prefix

    election_id, tps_ids, bodies = _TO_SIGN
    prefix = signing_prefix(EntryType.RESULT_FORM, election_id)
    out = []
    for tps, body in zip(tps_ids[start:end], bodies[start:end], strict=True):
        seed = hashlib.sha256(SUBMITTER_SEED + tps.encode()).digest()
        private = Ed25519PrivateKey.from_private_bytes(seed)
        message = prefix + body
        out.append(
            (
                base64.b64encode(private.public_key().public_bytes_raw()).decode(),
                base64.b64encode(private.sign(message)).decode(),
                hashlib.sha256(message).digest(),
            )
        )
    return out


def _sign_all(
    election_id: str, tps_ids: list[str], bodies: list[bytes]
) -> list[tuple[str, str, bytes]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    global _TO_SIGN
    _TO_SIGN = (election_id, tps_ids, bodies)
    step = 10_000
    ranges = [(i, min(i + step, len(bodies))) for i in range(0, len(bodies), step)]
    workers = min(2, os.cpu_count() or 1)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        parts = pool.map(_sign_range, *zip(*ranges, strict=True))
        signed = [item for part in parts for item in part]
    _TO_SIGN = ("", [], [])
    return signed


def _key_entries(election: Election, keys: list[str], tps_ids: list[str]) -> list[Entry]:
    """keys_register entries by the kpps manager, as many submitter keys per entry as fit."""
    from saksi.canonical import canonical_bytes_ascii_keys as encode  # ASCII keys, no floats
    from saksi.log.entry import EntryType

    manager = election.key("manager", "kpps")
    groups: list[list[dict[str, Any]]] = [[]]
    size = 0
    for key, tps in zip(keys, tps_ids, strict=True):
        item = {"key": key, "role": "submitter", "source": "kpps", "tps": [tps]}
        item_size = len(encode(item)) + 1
        if groups[-1] and size + item_size > KEYS_PAYLOAD_BUDGET:
            groups.append([])
            size = 0
        groups[-1].append(item)
        size += item_size
    kind, election_id = EntryType.KEYS_REGISTER, election.election_id
    return [
        manager.entry(kind, election_id, {"keys": items}, encode({"keys": items}))
        for items in groups
    ]


def build_signed(files: Path, dest: Path, provinces: str) -> None:
    import random

    from saksi.ingest.csv_import import columns_from_csv, resolve_contest
    from saksi.ingest.form_bytes import PayloadFormatter
    from saksi.log.entry import Auth, Entry, EntryType

    tag = ELECTIONS["b"]
    start = time.perf_counter()
    election = _new_election(files, dest, provinces)
    manifest = election.manifest
    contest = resolve_contest(manifest, None)
    columns = columns_from_csv(files / "results-kpps.csv", manifest, contest, "kpps")
    if columns.odd or columns.broken:
        raise SystemExit("the generated kpps forms should all be plain rows")
    formatter = PayloadFormatter(contest.id, "kpps", columns.choices, columns.fields)
    order = list(range(len(columns)))
    random.Random(2024).shuffle(order)  # forms arrive in no particular order
    matrix = columns.matrix()
    tps_ids = [columns.tps[i] for i in order]
    bodies = [formatter.body(matrix[i].tolist(), columns.tps[i]) for i in order]
    del matrix, columns
    prepared = time.perf_counter()

    signed = _sign_all(election.election_id, tps_ids, bodies)
    keys = [key for key, _, _ in signed]
    signing = time.perf_counter()

    key_entries = _key_entries(election, keys, tps_ids)
    for first in range(0, len(key_entries), 200):
        election.append(key_entries[first : first + 200], verify=False)  # signed just now
    enrolled = time.perf_counter()

    for first in range(0, len(bodies), FORMS_PER_APPEND):
        batch = [
            Entry(
                EntryType.RESULT_FORM,
                election.election_id,
                json.loads(body),
                Auth(key=key, signature=signature),
                body,
                digest,
            )
            for body, (key, signature, digest) in zip(
                bodies[first : first + FORMS_PER_APPEND],
                signed[first : first + FORMS_PER_APPEND],
                strict=True,
            )
        ]
        # The first batch has its signatures checked too, which proves the signing above;
        # every batch goes through all the other checks (TPS binding, role, versions).
        election.append(batch, verify=first == 0)
    appended = time.perf_counter()
    checkpoint = election.publish_log()
    published = time.perf_counter()
    election.close()
    print(
        f"[{tag}] setup: {len(keys):,} submitter keys in {len(key_entries):,} keys_register "
        f"entries, {len(bodies):,} signed forms, {checkpoint.size:,} entries (not timed)\n"
        f"[{tag}] setup: registry and payloads {prepared - start:.1f} s, keys and signatures "
        f"{signing - prepared:.1f} s, key enrolment {enrolled - signing:.1f} s, form append "
        f"{appended - enrolled:.1f} s, publish {published - appended:.1f} s, "
        f"total {published - start:.1f} s",
        flush=True,
    )


# -- measuring (the wrapper process around one verifier run) ------------------------------


def _tree_pss_kib(root: int) -> tuple[int, int]:
    """Summed PSS (RSS where PSS is unreadable) of ``root`` and its descendants; count."""
    parents: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
            except OSError:
                continue
            parents[int(name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        tree.update(children)
        frontier.extend(children)
    total = 0
    for pid in tree:
        for path, field in (
            (f"/proc/{pid}/smaps_rollup", "Pss:"),
            (f"/proc/{pid}/status", "VmRSS:"),
        ):
            try:
                lines = Path(path).read_text().splitlines()
            except OSError:
                continue
            found = [int(line.split()[1]) for line in lines if line.startswith(field)]
            if found:
                total += found[0]
                break
    return total, len(tree)


def measure(command: list[str]) -> None:
    """Run ``command``; print its wall time, peak RSS, output and exit code as JSON."""
    peak = {"pss_kib": 0, "processes": 1}
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stopped = threading.Event()

    def sample() -> None:
        # Workers of a multi-process verifier share pages: PSS adds them up fairly.
        while not stopped.wait(0.2):
            pss, count = _tree_pss_kib(child.pid)
            peak["pss_kib"] = max(peak["pss_kib"], pss)
            peak["processes"] = max(peak["processes"], count)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = child.communicate()
    seconds = time.perf_counter() - start
    stopped.set()
    sampler.join()
    # This wrapper has no other child: the figure is the verifier's (or its largest
    # worker's, had one grown larger).
    maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = {
        "returncode": child.returncode,
        "seconds": seconds,
        "maxrss_kib": maxrss,
        "tree_pss_kib": peak["pss_kib"],
        "processes": peak["processes"],
        "stdout": stdout.decode(errors="replace"),
        "stderr": stderr.decode(errors="replace"),
    }
    print(json.dumps(result))


# -- the benchmark ------------------------------------------------------------------------


def baseline(public: Path) -> tuple[float, int, int]:
    """Seconds to read and SHA-256 every file under public/ (the better of two passes, as
    the first may find pages evicted), with the bytes and the files."""
    paths = sorted(p for p in public.rglob("*") if p.is_file())
    best, total = float("inf"), 0
    for _ in range(2):
        start = time.perf_counter()
        total = 0
        for path in paths:
            with open(path, "rb") as handle:
                data = handle.read()
            hashlib.sha256(data).digest()
            total += len(data)
        best = min(best, time.perf_counter() - start)
    return best, total, len(paths)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def run_verifier(tag: str, folder: Path) -> bool:
    vkey = subprocess.run(
        [sys.executable, "-m", "saksi", "log", "vkey", str(folder)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    public = folder / "public"
    # The baseline first: it reads every file once, so both it and the verifier read warm.
    base, size, files = baseline(public)
    command = [*VERIFY, str(public), "--vkey", vkey, "--json"]
    # A fresh cache of its own: the verifier runs as a first-time user, with no checkpoint
    # remembered from an earlier run (both elections share one origin) and none left in ~.
    cache = folder.with_name(folder.name + "-cache")
    shutil.rmtree(cache, ignore_errors=True)
    wrapper = subprocess.run(
        [sys.executable, __file__, "--measure", "--", *command],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_CACHE_HOME": str(cache)},
    )
    result = json.loads(wrapper.stdout)
    seconds, rss = result["seconds"], result["maxrss_kib"] / 1024
    pss, processes = result["tree_pss_kib"] / 1024, result["processes"]
    try:
        report = json.loads(result["stdout"])
    except ValueError:
        report = None
    ok = result["returncode"] == 0 and isinstance(report, dict) and report.get("ok") is True
    if not ok:
        print(f"[{tag}] verify FAILED: exit code {result['returncode']} after {seconds:.2f} s")
        for name in ("stdout", "stderr"):
            text = result[name].strip()
            if text:
                tail = "\n".join(text.splitlines()[-30:])
                print(f"[{tag}] verifier {name} (last lines):\n{tail}")
    if isinstance(report, dict):
        counted = {k for k in report if k == "size" or k.endswith("_checked")}
        entries = f"{report['size']:,} entries" if _is_int(report.get("size")) else "size unknown"
        checked = [
            f"{v:,} {k.removesuffix('_checked')}"
            for k, v in report.items()
            if k.endswith("_checked") and _is_int(v)
        ]
        counts = f"{entries}; checked {', '.join(checked)}" if checked else entries
        print(f"[{tag}] verify: {counts} in {seconds:.2f} s, peak RSS {rss:,.0f} MiB")
        if processes > 1:
            print(f"[{tag}] verify: {processes} processes, peak summed PSS {pss:,.0f} MiB")
        shown = {k: v for k, v in report.items() if k not in counted}
        print(f"[{tag}] verifier report: {json.dumps(shown, sort_keys=True)[:2000]}")
    print(f"[{tag}] baseline SHA-256 of the same {size:,} bytes ({files:,} files): {base:.2f} s")
    if ok:
        print(f"[{tag}] ratio verify/baseline: {seconds / base:.2f}")
    memory = max(rss, pss)
    verdict = "PASS" if ok and seconds <= TARGET_SECONDS and memory <= TARGET_MIB else "FAIL"
    print(f"[{tag}] targets (<= {TARGET_SECONDS} s, <= {TARGET_MIB} MiB): {verdict}", flush=True)
    return verdict == "PASS"


def prepare(work: Path, provinces: str, only: list[str]) -> None:
    """Generate the files and build each election not already built in ``work``."""
    marker = work / "provinces.txt"
    if marker.exists() and marker.read_text() != provinces:
        raise SystemExit(f"{work} holds a run for --provinces {marker.read_text()!r}")
    work.mkdir(parents=True, exist_ok=True)
    marker.write_text(provinces)
    files = work / "files"
    if not (files / "results-kpps.csv").exists():
        start = time.perf_counter()
        shutil.rmtree(files, ignore_errors=True)
        subprocess.run(
            [sys.executable, "-c", GENERATE, str(DATA), str(files), provinces], check=True
        )
        print(
            f"generated the election in {time.perf_counter() - start:.1f} s (not timed)", flush=True
        )
    for name in only:
        folder = work / name
        if (folder / "public" / "log" / "checkpoint").exists():
            print(f"[{ELECTIONS[name]}] setup: reusing {folder}", flush=True)
            continue
        shutil.rmtree(folder, ignore_errors=True)
        # A fresh process per election: its memory is gone before the verifier runs.
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--build",
                name,
                "--files",
                str(files),
                "--dest",
                str(folder),
                "--provinces",
                provinces,
            ],
            check=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--provinces", default="", help="comma-separated provinsi codes")
    parser.add_argument("--only", choices=sorted(ELECTIONS), help="run one election only")
    parser.add_argument("--keep", type=Path, help="keep and reuse the elections in this folder")
    parser.add_argument("--build", choices=sorted(ELECTIONS), help=argparse.SUPPRESS)
    parser.add_argument("--files", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dest", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("command", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.command)
        return
    if args.build is not None:
        build = build_bulk if args.build == "a" else build_signed
        build(args.files, args.dest, args.provinces)
        return
    only = [args.only] if args.only else sorted(ELECTIONS)
    if args.keep is not None:
        prepare(args.keep, args.provinces, only)
        passed = [run_verifier(ELECTIONS[name], args.keep / name) for name in only]
    else:
        with tempfile.TemporaryDirectory(prefix="saksi-bench-verify-") as tmp:
            prepare(Path(tmp), args.provinces, only)
            passed = [run_verifier(ELECTIONS[name], Path(tmp) / name) for name in only]
    sys.exit(0 if all(passed) else 1)


if __name__ == "__main__":
    main()
