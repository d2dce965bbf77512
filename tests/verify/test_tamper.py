"""`saksi verify` catches tampering: each test changes a copy of one clean election (its
database, its published files, its record re-signed with its own log key, or the
server's tally code) and runs the verifier as a user would. Each must fail with exit
code 1 and name the check and where; each has a positive control that passes."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from verify_helpers import (
    BROKEN,
    CONTEST,
    SOURCE,
    Clean,
    append_and_sign,
    build_clean,
    entry_bytes,
    form,
    form_hash,
    grow,
    read_bundle,
    record_entries,
    rewrite_record,
    serving_folder,
    verify,
    write_bundle,
)

from saksi.election.election import Election
from saksi.keys.ed25519 import SigningKey
from saksi.log.entry import EntryType
from saksi.tally.counters import Tally, TallyLayout
from support import run_saksi

TOTALS = f"totals/{CONTEST}/{SOURCE}"


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Clean:
    return build_clean(tmp_path_factory.mktemp("clean"))


@pytest.fixture
def folder(clean: Clean, tmp_path: Path) -> Path:
    """A fresh copy of the clean election, for one test to tamper with."""
    return clean.copy(tmp_path / "election")


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _one(pattern: str, folder: Path) -> Path:
    [path] = sorted((folder / "public").glob(pattern))
    return path


def _choice_index(db: sqlite3.Connection, choice: str) -> int:
    ((choices, fields),) = db.execute(
        "SELECT choices, fields FROM tally_layouts WHERE contest = ? AND source = ?",
        (CONTEST, SOURCE),
    )
    layout = TallyLayout([c for c in choices.split(",") if c], [f for f in fields.split(",") if f])
    return layout.choice_index[choice]


# -- 1. a wrong total, consistently published ------------------------------------------------


@pytest.mark.parametrize("edited", [False, True], ids=["same-database", "edited-database"])
def test_a_vote_count_changed_in_the_database_is_caught_only_by_the_totals_check(
    clean: Clean, folder: Path, edited: bool
) -> None:
    region = clean.region
    if edited:
        db = sqlite3.connect(folder / "db" / "saksi.sqlite")
        with db:
            at = _choice_index(db, "01")
            where = (CONTEST, SOURCE, region)
            ((counts,),) = db.execute(
                "SELECT counts FROM tally WHERE contest = ? AND source = ? AND region = ?", where
            )
            row = json.loads(counts)
            row[at] += 7
            db.execute(
                "UPDATE tally SET counts = ? WHERE contest = ? AND source = ? AND region = ?",
                (json.dumps(row, separators=(",", ":")), *where),
            )
        db.close()
    # A new publication (exports asked for) writes the projection's totals, lists them in
    # the index and commits the index in a publication entry: consistent and signed.
    run_saksi("log", "publish", folder)
    index = json.loads((folder / "public" / "index.json").read_text())
    assert index["log_size"] == clean.size  # the publication shows the whole clean record
    published = json.loads((folder / "public" / TOTALS / f"{region}.json").read_text())
    wrong = published["choices"]["01"]

    outcome = verify(folder, clean.vkey)
    if not edited:
        outcome.passed()
        assert outcome.report["size"] == clean.size + 1
        return
    assert published["log_size"] == clean.size  # rewritten by the new publication
    [failure] = outcome.failed()
    assert failure["check"] == "totals"
    assert failure["region"] == region
    assert failure["file"] == f"{TOTALS}/{region}.json"
    assert "choices" in failure["message"]
    assert failure["found"]["choices"]["01"] == wrong
    assert failure["expected"]["choices"]["01"] == wrong - 7


@pytest.mark.parametrize("planted", [False, True], ids=["honest-tally", "miscounting-tally"])
def test_a_bug_planted_in_the_servers_tally_is_caught(
    clean: Clean, folder: Path, monkeypatch: pytest.MonkeyPatch, planted: bool
) -> None:
    new = clean.unreported[:9]
    with Election.open(folder) as election:
        target = election.state.registry.tps[new[0]].desa
        if planted:
            honest = Tally.add_region_totals

            def miscount(
                self: Tally, contest: str, source: str, totals: dict[str, list[int]]
            ) -> None:
                """The bulk tally, adding 10 votes for 01 in one region only."""
                if target in totals:
                    row = list(totals[target])
                    row[self.layout(contest, source).choice_index["01"]] += 10
                    totals = {**totals, target: row}
                honest(self, contest, source, totals)

            monkeypatch.setattr(Tally, "add_region_totals", miscount)
        election.import_forms([form(t) for t in new], election.importer_key(SOURCE))
        election.publish_log()
    monkeypatch.undo()

    outcome = verify(folder, clean.vkey)
    if not planted:
        outcome.passed()
        assert outcome.report["forms_checked"] == clean.forms + len(new)
        return
    [failure] = outcome.failed()
    assert failure["check"] == "totals"
    assert failure["region"] == target
    assert failure["file"] == f"{TOTALS}/{target}.json"
    assert failure["found"]["choices"]["01"] == failure["expected"]["choices"]["01"] + 10


# -- 2. a byte flipped in a tile, a bundle, the checkpoint -----------------------------------


@pytest.mark.parametrize("tile", ["log/tile/0/000", "log/tile/0/001.p/*", "log/tile/1/000.p/*"])
def test_a_byte_flipped_in_a_hash_tile(clean: Clean, folder: Path, tile: str) -> None:
    verify(folder, clean.vkey).passed()  # positive control on the same copy
    path = _one(tile, folder)
    _flip(path, 5)
    [failure] = verify(folder, clean.vkey).failed()
    assert failure["check"] == "tiles"
    assert failure["file"] == path.relative_to(folder / "public").as_posix()
    assert "hash tile differs" in failure["message"]


@pytest.mark.parametrize("bundle", ["log/tile/entries/000", "log/tile/entries/001.p/*"])
def test_a_byte_flipped_in_an_entry_bundle(clean: Clean, folder: Path, bundle: str) -> None:
    path = _one(bundle, folder)
    entries = read_bundle(path)
    # Inside the JSON of the fourth entry: its length prefix is intact, its leaf is not.
    offset = sum(2 + len(e) for e in entries[:3]) + 2 + len(entries[3]) // 2
    _flip(path, offset)
    [failure] = verify(folder, clean.vkey).failed()
    assert failure["check"] == "root"
    assert "differs from the signed checkpoint" in failure["message"]
    assert failure["expected"] == clean.root_hex
    assert failure["found"] != clean.root_hex


def test_a_byte_flipped_in_an_entry_length_breaks_the_bundle(clean: Clean, folder: Path) -> None:
    path = _one("log/tile/entries/000", folder)
    _flip(path, 0)  # the first entry's length prefix
    failures = verify(folder, clean.vkey).failed()
    assert failures[0]["check"] == "bundle"
    assert failures[0]["file"] == "log/tile/entries/000"


def _change_line(path: Path, startswith: str, index: int | None = None) -> None:
    """Change one character in the middle of a checkpoint line (of its base64 part, for a
    signature line) to another base64 character: the line still parses."""
    lines = path.read_text(encoding="utf-8").split("\n")
    at = (
        index
        if index is not None
        else next(i for i, line in enumerate(lines) if line.startswith(startswith))
    )
    line = lines[at]
    start = line.rfind(" ") + 1
    middle = start + (len(line) - start) // 2
    lines[at] = line[:middle] + ("B" if line[middle] == "A" else "A") + line[middle + 1 :]
    path.write_text("\n".join(lines), encoding="utf-8")


@pytest.mark.parametrize("line", [0, 1, 2, 4], ids=["origin", "size", "root", "signature"])
def test_a_byte_changed_in_the_checkpoint(clean: Clean, folder: Path, line: int) -> None:
    path = folder / "public" / "log" / "checkpoint"
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[3] == ""  # the blank line between the checkpoint text and its signatures
    assert lines[4].startswith("\u2014 saksi.local/")  # the log's own signature line
    _change_line(path, "", line)
    [failure] = verify(folder, clean.vkey).failed()
    assert failure["check"] == "checkpoint"
    assert failure["file"] == "log/checkpoint"
    assert "does not verify with the trusted log key" in failure["message"]


# -- 3. entries removed or reordered -----------------------------------------------------------


@pytest.mark.parametrize("bundle", ["log/tile/entries/000", "log/tile/entries/001.p/*"])
def test_an_entry_removed_from_a_bundle(clean: Clean, folder: Path, bundle: str) -> None:
    path = _one(bundle, folder)
    entries = read_bundle(path)
    write_bundle(path, entries[:5] + entries[6:])
    failures = verify(folder, clean.vkey).failed()
    assert failures[0]["check"] == "bundle"
    assert failures[0]["file"] == path.relative_to(folder / "public").as_posix()
    assert (failures[0]["expected"], failures[0]["found"]) == (len(entries), len(entries) - 1)


def test_two_entries_reordered_in_a_bundle(clean: Clean, folder: Path) -> None:
    path = _one("log/tile/entries/000", folder)
    entries = read_bundle(path)
    entries[10], entries[11] = entries[11], entries[10]
    write_bundle(path, entries)
    [failure] = verify(folder, clean.vkey).failed()
    assert failure["check"] == "root"
    assert failure["expected"] == clean.root_hex


@pytest.mark.parametrize("change", ["importer registration removed", "form before its key"])
def test_a_rewritten_record_validly_signed_fails_the_replay(
    clean: Clean, folder: Path, change: str
) -> None:
    """The log key signs the rewritten log, so the checkpoint and the root hold: only the
    replay of the entries by the record's rules can tell."""
    if change == "importer registration removed":
        at = clean.importer_leaf
        rewrite_record(folder, lambda e: e[:at] + e[at + 1 :])
        # Every attestation of the bulk import now names a key nobody registered.
        check, leaf, words = "attestation", at, "is not registered"
    else:
        at = clean.registration_leaf
        rewrite_record(folder, lambda e: [*e[:at], e[at + 1], e[at], *e[at + 2 :]])
        check, leaf, words = "result_form", at, "is not registered"
    failures = verify(folder, clean.vkey).failed()
    assert not {"checkpoint", "root", "tiles", "bundle", "signature"} & {
        f["check"] for f in failures
    }
    first = failures[0]
    assert (first["check"], first["leaf_index"]) == (check, leaf)
    assert words in first["message"]
    if change == "form before its key":
        submitter = SigningKey.load(clean.submitter).public_b64
        assert submitter in first["message"]
        assert first["tps"] == clean.signed_tps


# -- 4, 5. forms the server refuses, crafted into the record and signed ----------------------


def _crafted(clean: Clean, kind: str) -> tuple[bytes, str | None, str, list[str]]:
    """An entry to append: (bytes, expected check or None, TPS, words the message holds)."""
    importer = SigningKey.load(clean.folder / "keys" / f"importer-{SOURCE}.key")
    fresh = clean.unreported[0]
    if kind == "valid form":
        return entry_bytes(importer, EntryType.RESULT_FORM, form(fresh)), None, fresh, []
    if kind == "unregistered key":
        stranger = SigningKey.generate()
        data = entry_bytes(stranger, EntryType.RESULT_FORM, form(fresh))
        return data, "result_form", fresh, [stranger.public_b64, "is not registered"]
    if kind == "revoked key":
        submitter = SigningKey.load(clean.submitter)
        payload = {**form(clean.signed_tps, extra=9), "replaces": clean.signed_head}
        data = entry_bytes(submitter, EntryType.RESULT_FORM, payload)
        return data, "result_form", clean.signed_tps, [submitter.public_b64, "was revoked"]
    if kind == "correction of a missing version":
        tps = clean.reported[5]
        assert tps not in BROKEN
        ghost = hashlib.sha256(b"a version that was never recorded").hexdigest()
        payload = {**form(tps, extra=1), "replaces": ghost}
        data = entry_bytes(importer, EntryType.RESULT_FORM, payload)
        return data, "result_form", tps, [ghost, form_hash(form(tps)), "latest version"]
    if kind == "malformed photos":
        payload = {**form(fresh), "photos": [f"{i:064x}" for i in range(17)]}
        data = entry_bytes(importer, EntryType.RESULT_FORM, payload)
        return data, "result_form", fresh, ["'photos' must list 1 to 16 distinct SHA-256"]
    if kind == "photos that are not hashes":
        payload = {**form(fresh), "photos": [{"sha256": f"{1:064x}"}]}
        data = entry_bytes(importer, EntryType.RESULT_FORM, payload)
        return data, "result_form", fresh, ["'photos' must list 1 to 16 distinct SHA-256"]
    if kind == "malformed replaces":
        payload = {**form(clean.reported[5], extra=1), "replaces": "v1"}
        data = entry_bytes(importer, EntryType.RESULT_FORM, payload)
        words = ["'replaces' must be the 64-hex hash of a form version"]
        return data, "result_form", clean.reported[5], words
    if kind == "bad signature":
        good = entry_bytes(importer, EntryType.RESULT_FORM, form(fresh))
        votes = form(fresh)["votes"]["01"]
        data = good.replace(f'"01":{votes},'.encode(), f'"01":{votes + 1},'.encode(), 1)
        assert data != good  # one vote more than the importer signed
        return data, "signature", fresh, [importer.public_b64, "does not verify"]
    if kind == "non-canonical bytes":
        good = entry_bytes(importer, EntryType.RESULT_FORM, form(fresh))
        return good.replace(b'{"auth"', b'{ "auth"', 1), "canonical", fresh, []
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "valid form",
        "unregistered key",
        "revoked key",
        "correction of a missing version",
        "malformed photos",
        "photos that are not hashes",
        "malformed replaces",
        "bad signature",
        "non-canonical bytes",
    ],
)
def test_a_crafted_entry_in_a_validly_signed_log(clean: Clean, folder: Path, kind: str) -> None:
    data, check, tps, words = _crafted(clean, kind)
    leaf = append_and_sign(folder, [data])
    assert leaf == clean.size
    outcome = verify(folder, clean.vkey)
    if check is None:  # positive control: the crafting itself is not what fails
        outcome.passed()
        assert outcome.report["size"] == clean.size + 1
        assert outcome.report["forms_checked"] == clean.forms + 1
        return
    failures = outcome.failed()
    assert {f["check"] for f in failures} == {check}
    assert {f["leaf_index"] for f in failures} == {leaf}
    failure = failures[0]
    if check == "result_form":
        assert len(failures) == 1
        assert failure["tps"] == tps
    for word in words:
        assert word in failure["message"]


# -- 6. fork and rollback, in monitor mode -----------------------------------------------------


def test_a_fork_of_the_same_size_signed_by_the_log_key(
    clean: Clean, folder: Path, tmp_path: Path
) -> None:
    state = tmp_path / "monitor.json"
    verify(folder, clean.vkey, state=state).passed()
    saved = json.loads(state.read_text())
    assert saved["size"] == clean.size

    # Another history of the same size: two forms of one attestation batch swapped.
    entries = [json.loads(e) for e in record_entries(folder)]
    at = next(
        i
        for i in range(clean.importer_leaf + 2, clean.size - 1)
        if all(
            entries[j]["type"] == "result_form"
            and "attestation" in entries[j]["auth"]
            and entries[j]["payload"]["tps"] not in BROKEN
            for j in (i, i + 1)
        )
    )
    rewrite_record(folder, lambda e: [*e[:at], e[at + 1], e[at], *e[at + 2 :]])
    forked = verify(folder, clean.vkey)
    forked.passed()  # on its own, the fork is a valid log of the same size
    assert forked.report["size"] == clean.size
    assert base64.b64decode(forked.report["root"]).hex() != clean.root_hex

    [failure] = verify(folder, clean.vkey, state=state).failed()
    assert failure["check"] == "monitor"
    assert failure["message"].startswith("fork")
    assert failure["expected"] == saved["root"]
    assert failure["found"] == forked.report["root"]
    assert json.loads(state.read_text()) == saved  # a failed run keeps the old state


def test_a_rollback_to_an_older_checkpoint(clean: Clean, folder: Path, tmp_path: Path) -> None:
    state = tmp_path / "monitor.json"
    old = tmp_path / "old-public"
    shutil.copytree(folder / "public", old)
    verify(folder, clean.vkey, state=state).passed()
    grow(folder, clean.unreported[:9])
    grown = verify(folder, clean.vkey, state=state)
    grown.passed()  # the log grew: consistent with the state, which moves on
    size = grown.report["size"]
    assert size > clean.size
    assert json.loads(state.read_text())["size"] == size

    shutil.rmtree(folder / "public")
    shutil.copytree(old, folder / "public")  # the server puts back the older log
    verify(folder, clean.vkey).passed()  # on its own, the older log is valid
    [failure] = verify(folder, clean.vkey, state=state).failed()
    assert failure["check"] == "monitor"
    assert failure["message"].startswith("rollback")
    assert (failure["expected"], failure["found"]) == (f">= {size}", clean.size)


# -- 7, 8. published files edited ----------------------------------------------------------------


def _edit_json(path: Path, change: Any) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False, sort_keys=True) + "\n")


def test_an_edited_totals_file(clean: Clean, folder: Path) -> None:
    path = folder / "public" / TOTALS / "ID.json"
    _edit_json(path, lambda doc: doc["choices"].update({"02": doc["choices"]["02"] + 1000}))
    failures = verify(folder, clean.vkey).failed()
    assert {f["check"] for f in failures} == {"publication", "totals"}
    [publication] = [f for f in failures if f["check"] == "publication"]
    assert publication["file"] == f"{TOTALS}/ID.json"
    assert "differs from the hash in the index" in publication["message"]
    [totals] = [f for f in failures if f["check"] == "totals"]
    assert (totals["region"], totals["file"]) == ("ID", f"{TOTALS}/ID.json")
    assert totals["found"]["choices"]["02"] == totals["expected"]["choices"]["02"] + 1000


def test_an_edited_totals_file_is_caught_over_http(
    clean: Clean, folder: Path, tmp_path: Path
) -> None:
    path = folder / "public" / TOTALS / f"{clean.region}.json"
    _edit_json(path, lambda doc: doc.update({"valid": doc["valid"] - 3}))
    with serving_folder(folder / "public", tmp_path / "http.log") as url:
        outcome = verify(url, clean.vkey, "--mirror", tmp_path / "mirror")
    failures = outcome.failed()
    assert {f["check"] for f in failures} == {"publication", "totals"}
    assert {f["file"] for f in failures} == {f"{TOTALS}/{clean.region}.json"}


def test_an_edited_flags_file(clean: Clean, folder: Path) -> None:
    path = folder / "public" / "flags" / CONTEST / f"{SOURCE}.json"
    _edit_json(path, lambda doc: doc.update({"flags": doc["flags"][1:]}))
    failures = verify(folder, clean.vkey).failed()
    assert {f["check"] for f in failures} == {"publication", "flags"}
    assert {f["file"] for f in failures} == {f"flags/{CONTEST}/{SOURCE}.json"}


def test_an_edited_index(clean: Clean, folder: Path) -> None:
    path = folder / "public" / "index.json"
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"log_size":', b'"log_size": ', 1))
    failures = verify(folder, clean.vkey).failed()
    assert failures[0]["check"] == "publication"
    assert failures[0]["file"] == "index.json"


def test_a_listed_file_deleted(clean: Clean, folder: Path) -> None:
    (folder / "public" / TOTALS / f"{clean.region}.json").unlink()
    [failure] = verify(folder, clean.vkey).failed()
    assert (failure["check"], failure["file"]) == ("publication", f"{TOTALS}/{clean.region}.json")
    assert "missing" in failure["message"]


@pytest.mark.parametrize("how", ["replaced", "deleted"])
def test_a_replaced_or_missing_photo(clean: Clean, folder: Path, how: str) -> None:
    digest = clean.photos[1]
    name = f"photos/{digest[:2]}/{digest}"
    path = folder / "public" / name
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    if how == "replaced":
        path.write_bytes(b"another page, with other numbers")
    else:
        path.unlink()
    [failure] = verify(folder, clean.vkey).failed()
    assert (failure["check"], failure["file"]) == ("photos", name)
    if how == "replaced":
        assert failure["expected"] == digest
        assert failure["found"] == hashlib.sha256(path.read_bytes()).hexdigest()
    else:
        assert "missing" in failure["message"]


# -- 9. the witness policy -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("witnesses", "quorum", "cosigned"),
    [
        (["witness"], None, ["w1.example"]),
        (["witness", "stranger"], "1", ["w1.example"]),
        (["stranger"], "0", []),
        (["stranger"], None, None),
        (["witness", "stranger"], None, None),
    ],
    ids=["cosigned", "one-of-two", "quorum-0", "stranger-only", "two-of-two"],
)
def test_the_witness_policy(
    clean: Clean, witnesses: list[str], quorum: str | None, cosigned: list[str] | None
) -> None:
    args: list[str] = []
    for name in witnesses:
        args += ["--witness", getattr(clean, name)]
    if quorum is not None:
        args += ["--quorum", quorum]
    outcome = verify(clean.folder, clean.vkey, *args)
    if cosigned is not None:
        outcome.passed()
        assert outcome.report["witnesses"] == cosigned
        return
    [failure] = outcome.failed()
    assert failure["check"] == "witnesses"
    assert failure["file"] == "log/checkpoint"
    assert failure["expected"] == len(witnesses)
    assert failure["found"] == (["w1.example"] if "witness" in witnesses else [])
    assert f"needs {len(witnesses)} of {len(witnesses)}" in failure["message"]


def test_a_changed_cosignature_no_longer_counts(clean: Clean, folder: Path) -> None:
    path = folder / "public" / "log" / "checkpoint"
    verify(folder, clean.vkey, "--witness", clean.witness).passed()
    _change_line(path, "\u2014 w1.example ")
    [failure] = verify(folder, clean.vkey, "--witness", clean.witness).failed()
    assert (failure["check"], failure["found"]) == ("witnesses", [])
    verify(folder, clean.vkey).passed()  # the log's own signature is intact
