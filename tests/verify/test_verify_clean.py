"""`saksi verify` on a clean election: from its folder, its public/ folder, a copy, and a
real static HTTP server with a mirror that a second run only tops up; and the exit codes
for an unreadable source and bad trust input."""

from __future__ import annotations

import base64
import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from verify_helpers import (
    Clean,
    build_clean,
    grow,
    requests,
    serving_folder,
    verify,
)

from saksi.canonical import decode_canonical
from saksi.keys.ed25519 import SigningKey
from saksi.log.note import NoteSigner
from support import free_port

FULL_TILES = ("log/tile/0/000", "log/tile/entries/000")  # immutable once written


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Clean:
    return build_clean(tmp_path_factory.mktemp("clean"))


def _counts(report: dict[str, Any]) -> dict[str, Any]:
    keys = ["ok", "size", "root", "witnesses", "entries_checked", "forms_checked"]
    keys += ["signatures_checked", "totals_checked", "flags_checked", "photos_checked"]
    return {k: report[k] for k in keys}


def _index(public: Path) -> dict[str, str]:
    value: dict[str, Any] = decode_canonical((public / "index.json").read_bytes())
    return {f["path"]: f["sha256"] for f in value["files"]}


def _log_files(public: Path) -> set[str]:
    return {
        p.relative_to(public).as_posix() for p in (public / "log").rglob("*") if p.is_file()
    } - {"log/checkpoint"}


@pytest.mark.parametrize("where", ["election folder", "public folder", "copy of public"])
def test_a_clean_election_verifies_from_a_folder(clean: Clean, tmp_path: Path, where: str) -> None:
    source = {
        "election folder": clean.folder,
        "public folder": clean.folder / "public",
        "copy of public": tmp_path / "copy",
    }[where]
    if where == "copy of public":
        shutil.copytree(clean.folder / "public", source)
    outcome = verify(source, clean.vkey, "--witness", clean.witness)
    assert outcome.code == 0, outcome.report
    report = outcome.report
    assert report["ok"] is True
    assert report["failures"] == []
    assert report["size"] == report["entries_checked"] == clean.size
    assert bytes.fromhex(clean.root_hex) == base64.b64decode(report["root"])
    assert report["witnesses"] == ["w1.example"]
    assert report["forms_checked"] == clean.forms
    assert report["signatures_checked"] > 0
    assert report["totals_checked"] > 0
    assert report["flags_checked"] > 0
    assert report["photos_checked"] == len(clean.photos)


def test_the_text_report_of_a_clean_run(clean: Clean) -> None:
    outcome = verify(clean.folder, clean.vkey, "--witness", clean.witness, as_json=False)
    assert outcome.code == 0, outcome.stdout + outcome.stderr
    assert f"size {clean.size:,}" in outcome.stdout
    assert "witnesses w1.example (1 of 1 required)" in outcome.stdout
    assert f"{clean.forms:,} forms" in outcome.stdout
    assert "FAIL" not in outcome.stdout


def test_a_trust_file_gives_the_same_policy_as_options(clean: Clean, tmp_path: Path) -> None:
    trust = tmp_path / "trust.toml"
    trust.write_text(
        f'log = "{clean.vkey}"\nwitnesses = ["{clean.witness}", "{clean.stranger}"]\nquorum = 1\n'
    )
    passed = verify(clean.folder, None, "--trust", trust)
    assert (passed.code, passed.report["witnesses"]) == (0, ["w1.example"])
    trust.write_text(trust.read_text().replace("quorum = 1", "quorum = 2"))
    failed = verify(clean.folder, None, "--trust", trust)
    assert failed.code == 1
    assert [f["check"] for f in failed.failures()] == ["witnesses"]


def test_a_clean_election_verifies_over_http_and_a_second_run_fetches_nothing_old(
    clean: Clean, tmp_path: Path
) -> None:
    public = clean.folder / "public"
    mirror = tmp_path / "mirror"
    log = tmp_path / "http.log"
    local = verify(public, clean.vkey, "--witness", clean.witness)
    with serving_folder(public, log) as url:
        first = verify(url, clean.vkey, "--witness", clean.witness, "--mirror", mirror)
        assert first.code == 0, first.report
        assert _counts(first.report) == _counts(local.report)
        fetched = requests(log)
        assert "log/checkpoint" in fetched
        assert "index.json" in fetched
        assert set(FULL_TILES) <= set(fetched)
        assert len(fetched) == len(set(fetched)), "a file was fetched twice in one run"
        # The mirror is a copy of everything the verifier needed: it verifies as a folder.
        for name in FULL_TILES:
            assert (mirror / name).read_bytes() == (public / name).read_bytes()
        stamps = {name: (mirror / name).stat().st_mtime_ns for name in FULL_TILES}

        second = verify(url, clean.vkey, "--witness", clean.witness, "--mirror", mirror)
        assert second.code == 0, second.report
        assert _counts(second.report) == _counts(first.report)
        again = requests(log)[len(fetched) :]
        assert sorted(again) == ["index.json", "log/checkpoint"]
        assert {n: (mirror / n).stat().st_mtime_ns for n in FULL_TILES} == stamps
    assert verify(mirror, clean.vkey, "--witness", clean.witness).code == 0


def test_after_a_new_publication_a_mirror_fetches_only_new_files_and_verifies(
    clean: Clean, tmp_path: Path
) -> None:
    """Regression: the first version of the verifier read totals and flags from the
    mirror without checking their hash, so a mirror kept the previous run's copy of a
    changed totals file and failed with a spurious 'totals' mismatch."""
    folder = clean.copy(tmp_path / "e")
    public = folder / "public"
    mirror = tmp_path / "mirror"
    log = tmp_path / "http.log"
    with serving_folder(public, log) as url:
        assert verify(url, clean.vkey, "--mirror", mirror).code == 0
        before_index, before_log = _index(public), _log_files(public)
        stamps = {name: (mirror / name).stat().st_mtime_ns for name in FULL_TILES}
        seen = len(requests(log))

        grow(folder, clean.unreported[:9])  # an honest new publication, served at once
        after_index = _index(public)
        changed = {p for p, digest in after_index.items() if before_index.get(p) != digest}
        new_log = _log_files(public) - before_log
        assert changed
        assert new_log
        outcome = verify(url, clean.vkey, "--mirror", mirror)
        fetched = requests(log)[seen:]
        # Only the checkpoint, the index, the new tiles and the changed files are fetched.
        assert sorted(fetched) == sorted({"log/checkpoint", "index.json"} | new_log | changed)
        assert {n: (mirror / n).stat().st_mtime_ns for n in FULL_TILES} == stamps
        for path in changed:
            assert hashlib.sha256((mirror / path).read_bytes()).hexdigest() == after_index[path]
        assert outcome.code == 0, outcome.report["failures"]
        assert outcome.report["size"] > clean.size


def test_a_grown_election_verifies_from_a_fresh_mirror(clean: Clean, tmp_path: Path) -> None:
    """Positive control for the test above: the grown election itself is sound."""
    folder = clean.copy(tmp_path / "e")
    grow(folder, clean.unreported[:9])
    with serving_folder(folder / "public", tmp_path / "http.log") as url:
        outcome = verify(url, clean.vkey, "--mirror", tmp_path / "mirror")
    assert outcome.code == 0, outcome.report["failures"]
    assert outcome.report["forms_checked"] == clean.forms + 9


# -- exit codes ----------------------------------------------------------------------------


def test_an_unreachable_url_exits_3(clean: Clean, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/"  # nothing listens there
    outcome = verify(url, clean.vkey, "--mirror", tmp_path / "mirror")
    assert outcome.code == 3
    assert "cannot fetch" in outcome.stderr
    assert outcome.report == {}


def test_a_folder_without_a_checkpoint_exits_3(clean: Clean, tmp_path: Path) -> None:
    public = tmp_path / "public"
    shutil.copytree(clean.folder / "public", public)
    (public / "log" / "checkpoint").unlink()
    outcome = verify(public, clean.vkey)
    assert outcome.code == 3
    assert "no log/checkpoint" in outcome.stderr
    missing = verify(tmp_path / "nowhere", clean.vkey)
    assert missing.code == 3
    assert "is not a folder or an http(s) URL" in missing.stderr


def test_a_wrong_log_key_fails_the_checkpoint_check(clean: Clean) -> None:
    # Same log name, another key: the signature line does not belong to the pinned key.
    impostor = NoteSigner(clean.origin, SigningKey.generate().private).verifier.vkey()
    outcome = verify(clean.folder, impostor)
    assert outcome.code == 1
    [failure] = outcome.failures()
    assert failure["check"] == "checkpoint"
    assert failure["file"] == "log/checkpoint"
    assert "does not verify with the trusted log key" in failure["message"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vkey", "not a key"], "verifier key is not valid"),
        (["--vkey", "{vkey}", "--witness", "w1.example+123+AAAA"], "witness key"),
        (["--vkey", "{vkey}", "--witness", "{witness}", "--quorum", "2"], "quorum of 2"),
        (["--vkey", "{vkey}", "--quorum", "-1"], "quorum of -1"),
        (["--vkey", "{vkey}", "--witness", "{witness}", "--witness", "{witness}"], "same name"),
        ([], "--vkey"),
        (["--vkey", "{vkey}", "--trust", "{trust}"], "either --trust"),
        (["--trust", "{trust}"], "unknown setting(s) colour"),
        (["--trust", "{missing}"], "cannot read the trust file"),
    ],
)
def test_bad_trust_input_exits_2(
    clean: Clean, tmp_path: Path, args: list[str], message: str
) -> None:
    trust = tmp_path / "trust.toml"
    trust.write_text(f'log = "{clean.vkey}"\ncolour = "blue"\n')
    values = {
        "vkey": clean.vkey,
        "witness": clean.witness,
        "trust": str(trust),
        "missing": str(tmp_path / "absent.toml"),
    }
    filled = [a.format(**values) for a in args]
    outcome = verify(clean.folder, None, *filled)
    assert outcome.code == 2, outcome.stderr
    assert message in outcome.stderr
    assert outcome.stdout == ""
