"""The published log read back with nothing but hashlib, base64 and the log's vkey."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from saksi.election.election import Election
from saksi.errors import RecordError, SaksiError
from saksi.log.note import NoteVerifier, open_note
from saksi.log.tlog_proof import parse_tlog_proof
from saksi.registry.pemilu2019 import read_pemilu2019
from support import TPS_HEADER, pemilu2019_election, run_saksi, tps_csv

REPO = Path(__file__).resolve().parents[2]


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 MTH written out again, independently of saksi.log."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def _index(n: int) -> str:
    parts = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        parts.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(parts))


def _entries_from_bundles(log: Path, size: int) -> list[bytes]:
    entries: list[bytes] = []
    for n in range((size + 255) // 256):
        width = min(256, size - 256 * n)
        name = _index(n) + ("" if width == 256 else f".p/{width}")
        data = (log / "tile" / "entries" / name).read_bytes()
        pos = 0
        while pos < len(data):
            length = int.from_bytes(data[pos : pos + 2], "big")
            entries.append(data[pos + 2 : pos + 2 + length])
            pos += 2 + length
    return entries


@pytest.fixture
def election(tmp_path: Path) -> Election:
    return pemilu2019_election(tmp_path / "e", tps_csv(tmp_path / "tps.csv", 399, 3))


def test_published_log_recomputes_from_its_own_files(election: Election, tmp_path: Path) -> None:
    folder = tmp_path / "e"
    election.publish_log()
    election.close()
    vkey = run_saksi("log", "vkey", folder).stdout.strip()
    log = folder / "public" / "log"
    text, _ = open_note((log / "checkpoint").read_bytes(), [NoteVerifier.parse(vkey)])
    origin, size_line, root_line = text.splitlines()
    size = int(size_line)
    assert origin == "saksi.local/pemilu2019"
    assert size == len(election.record) > 256  # more than one bundle
    entries = _entries_from_bundles(log, size)
    assert [json.loads(e)["type"] for e in entries[:2]] == ["keys_register", "manifest"]
    leaves = [hashlib.sha256(b"\x00" + e).digest() for e in entries]
    assert base64.b64encode(_mth(leaves)).decode() == root_line
    level0 = (log / "tile" / "0" / "000").read_bytes()
    assert level0 == b"".join(leaves[:256])
    partial = size % 256
    level1 = (log / "tile" / "1" / f"000.p/{size // 256}").read_bytes()
    assert level1 == b"".join(_mth(leaves[i : i + 256]) for i in range(0, size - partial, 256))


def test_the_log_never_signs_a_fork_or_a_smaller_size(election: Election, tmp_path: Path) -> None:
    first = election.publish_log()
    state = tmp_path / "e" / "log-state.json"
    saved = json.loads(state.read_text())
    assert saved == {"size": first.size, "root": base64.b64encode(first.root).decode()}
    again = election.publish_log()
    assert again == first  # same size, same root: signing again is harmless
    state.write_text(json.dumps({"size": first.size, "root": base64.b64encode(b"x" * 32).decode()}))
    with pytest.raises(RecordError, match="another root"):
        election.publish_log()
    state.write_text(json.dumps({"size": first.size + 5, "root": saved["root"]}))
    with pytest.raises(RecordError, match="smaller"):
        election.publish_log()
    election.close()


def test_saksi_proof_gives_a_receipt_that_verifies(election: Election, tmp_path: Path) -> None:
    from saksi.log.merkle import verify_inclusion

    folder = tmp_path / "e"
    form = {
        "tps": "7-002",
        "contest": "PPWP",
        "source": "kpps",
        "votes": {"01": 90, "02": 80},
        "fields": {"suara_sah": 170, "suara_tidak_sah": 2, "pengguna_hak_pilih": 172},
    }
    election.import_forms([form], election.importer_key("kpps"))
    election.close()
    early = run_saksi("proof", folder, "--tps", "7-002", check=False)
    assert early.returncode == 1
    assert "published no checkpoint" in early.stderr
    run_saksi("log", "publish", folder)
    kept = tmp_path / "7-002.tlog-proof"
    receipt = json.loads(run_saksi("proof", folder, "--tps", "7-002", "--tlog-proof", kept).stdout)
    vkey = run_saksi("log", "vkey", folder).stdout.strip()
    text, _ = open_note(receipt["checkpoint"].encode(), [NoteVerifier.parse(vkey)])
    assert text.splitlines()[1:3] == [str(receipt["tree_size"]), receipt["root"]]
    entry = base64.b64decode(receipt["entry"])
    assert json.loads(entry)["payload"]["tps"] == "7-002"
    assert hashlib.sha256(entry).hexdigest() == receipt["entry_hash"]
    proof = [base64.b64decode(p) for p in receipt["inclusion_proof"]]
    leaf = hashlib.sha256(b"\x00" + entry).digest()
    root = base64.b64decode(receipt["root"])
    assert verify_inclusion(leaf, receipt["leaf_index"], receipt["tree_size"], proof, root)
    assert not verify_inclusion(leaf, receipt["leaf_index"] - 1, receipt["tree_size"], proof, root)

    # The same proof as a C2SP tlog-proof file, which carries the entry in its extra line.
    text = kept.read_text()
    assert text == receipt["tlog_proof"]
    assert text.startswith(f"c2sp.org/tlog-proof@v1\nextra {receipt['entry']}\n")
    assert f"\nindex {receipt['leaf_index']}\n" in text
    assert text.endswith("\n\n" + receipt["checkpoint"])
    kept_proof = parse_tlog_proof(text)
    assert kept_proof.extra == entry
    signed = kept_proof.verify([NoteVerifier.parse(vkey)])
    assert (signed.size, signed.root) == (receipt["tree_size"], root)


def test_checkpoints_follow_the_configured_cadence(tmp_path: Path) -> None:
    tps_csv(tmp_path / "tps.csv", 300, 1)
    pemilu2019_election(tmp_path / "e").close()
    config = tmp_path / "e" / "saksi.toml"
    config.write_text(config.read_text() + "[log]\ncheckpoint_every_entries = 100\n")
    checkpoint = tmp_path / "e" / "public" / "log" / "checkpoint"
    with Election.open(tmp_path / "e") as election:
        assert not checkpoint.exists()
        election.import_registry(read_pemilu2019(tmp_path / "tps.csv"))
        size = len(election.record)
    assert checkpoint.read_text().splitlines()[1] == str(size)  # signed by itself
    state = json.loads((tmp_path / "e" / "log-state.json").read_text())
    assert state["size"] == size
    config.write_text(config.read_text() + "checkpoint_every_seconds = 0\n")
    with pytest.raises(SaksiError, match="checkpoint_every_seconds"):
        Election.open(tmp_path / "e")


def test_a_checkpoint_left_behind_by_a_crash_is_signed_again(
    election: Election, tmp_path: Path
) -> None:
    folder = tmp_path / "e"
    checkpoint = folder / "public" / "log" / "checkpoint"
    election.publish_log()
    older = checkpoint.read_bytes()
    (tmp_path / "more.csv").write_text(TPS_HEADER + "900-001,BALI,KAB 9,KEC 9,DESA 900,900,1,50\n")
    election.import_registry(read_pemilu2019(tmp_path / "more.csv"))
    newer = election.publish_log()
    election.close()
    # As if killed after saving the signed state and before writing the checkpoint file.
    checkpoint.write_bytes(older)
    with Election.open(folder) as reopened:
        assert reopened.maybe_publish() == newer  # no cadence is set, yet it is due
        assert reopened.maybe_publish() is None
    assert checkpoint.read_text().splitlines()[1] == str(newer.size)
