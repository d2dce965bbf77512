"""Signed notes and checkpoints: the spec's own example, round trips and refusals."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from saksi.log.checkpoint import Checkpoint
from saksi.log.merkle import leaf_hash, root_of
from saksi.log.note import NoteError, NoteSigner, NoteVerifier, open_note, parse_note, sign_note

# ../shared/specs/signed-note.md, "Example".
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3"
    "mFXmRKuwHjG1Yu72IneyaQM=\n"
)


def test_the_spec_example_verifies() -> None:
    verifier = NoteVerifier.parse(SPEC_VKEY)
    assert verifier.vkey() == SPEC_VKEY
    text, signed = open_note(SPEC_NOTE.encode(), [verifier])
    assert text == "This is an example message.\n"
    assert signed == [verifier]


def test_the_spec_example_fails_when_the_text_changes() -> None:
    verifier = NoteVerifier.parse(SPEC_VKEY)
    with pytest.raises(NoteError, match="does not verify"):
        open_note(SPEC_NOTE.replace("example message", "example massage").encode(), [verifier])


def test_key_id_follows_the_spec_formula() -> None:
    verifier = NoteVerifier.parse(SPEC_VKEY)
    digest = hashlib.sha256(b"example.com/foo\n\x01" + verifier.public).digest()
    assert verifier.key_id == int.from_bytes(digest[:4], "big") == 0x530D903A


def _signer(name: str) -> NoteSigner:
    return NoteSigner(name, Ed25519PrivateKey.generate())


def test_unknown_keys_are_ignored_and_known_ones_must_verify() -> None:
    log, witness, stranger = _signer("saksi.local/e1"), _signer("w1"), _signer("w2")
    note = sign_note("saksi.local/e1\n3\nAAAA\n", [log, witness, stranger]).encode()
    text, signed = open_note(note, [log.verifier, witness.verifier])
    assert signed == [log.verifier, witness.verifier]
    assert text.startswith("saksi.local/e1\n")
    impostor = NoteVerifier.from_public("w1", stranger.verifier.public)  # same name, other key
    _, signed = open_note(note, [log.verifier, impostor])
    assert signed == [log.verifier]
    with pytest.raises(NoteError, match="no signature"):
        open_note(note, [_signer("other").verifier])


def test_a_bad_signature_from_a_known_key_rejects_the_note() -> None:
    log = _signer("log")
    note = sign_note("hello\n", [log])
    text, line = note.split("\n\n")
    raw = bytearray(base64.b64decode(line.split(" ")[2]))
    raw[-1] ^= 1
    bent = f"{text}\n\n\u2014 log {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(NoteError, match="does not verify"):
        open_note(bent.encode(), [log.verifier])


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("no blank line\n\u2014 a AAAAAAA=\n".encode(), "blank line"),
        ("text\n\n\u2014 a AAAAAAA=".encode(), "blank line"),
        (b"text\n\n- a AAAAAAA=\n", "em dash"),
        ("text\n\n\u2014 a !!!\n".encode(), "not base64"),
        ("text\n\n\u2014 a AAA=\n".encode(), "too short"),
        ("te\x01xt\n\n\u2014 a AAAAAAA=\n".encode(), "control characters"),
        ("text\n\n\u2014 a+b AAAAAAA=\n".encode(), "space or '\\+'"),
        (b"\xff\n\n", "UTF-8"),
    ],
)
def test_malformed_notes_are_refused(note: bytes, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        parse_note(note)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_parsing_garbage_raises_only_note_errors(data: bytes) -> None:
    try:
        text, signatures = parse_note(data)
    except NoteError:
        return
    # Whatever parses is a real note: text, a blank line, then its signature lines.
    assert text.endswith("\n")
    assert signatures
    assert data.decode().startswith(text + "\n")


def test_checkpoint_round_trip_and_the_spec_example_text() -> None:
    root = root_of([leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")])
    checkpoint = Checkpoint("saksi.local/e1", 3, root)
    text = checkpoint.text()
    assert text == f"saksi.local/e1\n3\n{base64.b64encode(root).decode()}\n"
    assert Checkpoint.parse(text) == checkpoint
    spec = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    parsed = Checkpoint.parse(spec)
    assert (parsed.origin, parsed.size) == ("example.com/behind-the-sofa", 20852163)
    assert parsed.text() == spec


@pytest.mark.parametrize(
    "text",
    [
        "origin\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "origin\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
        "origin\n1\nAAAA\n",
        "origin\n1\n",
        "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\nextra\n",
        "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(NoteError):
        Checkpoint.parse(text)


def test_a_vkey_whose_base64_holds_a_plus_parses() -> None:
    while True:  # about one key in four has a '+' in its base64
        verifier = _signer("log.example/a").verifier
        if "+" in verifier.vkey().split("+", 2)[2]:
            break
    assert NoteVerifier.parse(verifier.vkey()) == verifier
