"""A witness's folder: its key, the logs it follows, and its state.

WITNESS_DIR/
  witness.toml   name = "...", and one [[log]] per followed log: origin, vkey
  witness.key    the Ed25519 cosigner seed, owner-readable only
  state.json     per origin, the last cosigned size and root
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from saksi.errors import SaksiError
from saksi.keys.ed25519 import SigningKey
from saksi.log.note import NoteError, NoteVerifier
from saksi.witness.core import Witness
from saksi.witness.cosignature import Cosigner

__all__ = ["add_log", "create_witness", "load_witness"]


def _config(directory: Path) -> dict[str, object]:
    path = directory / "witness.toml"
    if not path.exists():
        raise SaksiError(f"{directory} is not a witness folder (no witness.toml)")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SaksiError(f"{path} is not valid TOML: {exc}") from exc


def _write(directory: Path, name: str, logs: list[dict[str, str]]) -> None:
    lines = [f"name = {json.dumps(name)}", ""]
    for log in logs:
        lines += [
            "[[log]]",
            f"origin = {json.dumps(log['origin'])}",
            f"vkey = {json.dumps(log['vkey'])}",
            "",
        ]
    (directory / "witness.toml").write_text("\n".join(lines), encoding="utf-8")


def create_witness(directory: Path, name: str) -> Cosigner:
    if (directory / "witness.toml").exists():
        raise SaksiError(f"{directory} already holds a witness")
    if not name or any(c.isspace() or c == "+" for c in name):
        raise SaksiError(f"witness name {name!r} is empty or holds a space or '+'")
    directory.mkdir(parents=True, exist_ok=True)
    key = SigningKey.generate()
    key.save(directory / "witness.key")
    _write(directory, name, [])
    return Cosigner(name, key.private)


def add_log(directory: Path, vkey: str) -> NoteVerifier:
    """Follow a log, given its verifier key; its origin is the key's name."""
    config = _config(directory)
    try:
        verifier = NoteVerifier.parse(vkey)
    except NoteError as exc:
        raise SaksiError(str(exc)) from exc
    logs = [dict(log) for log in config.get("log", [])]  # type: ignore[attr-defined]
    if any(log["origin"] == verifier.name for log in logs):
        raise SaksiError(f"the witness already follows log {verifier.name}")
    logs.append({"origin": verifier.name, "vkey": verifier.vkey()})
    _write(directory, str(config["name"]), logs)
    return verifier


def load_witness(directory: Path) -> Witness:
    config = _config(directory)
    logs: dict[str, list[NoteVerifier]] = {}
    try:
        for log in config.get("log", []):  # type: ignore[attr-defined]
            logs.setdefault(str(log["origin"]), []).append(NoteVerifier.parse(str(log["vkey"])))
    except (KeyError, TypeError, NoteError) as exc:
        raise SaksiError(f"{directory / 'witness.toml'}: a [[log]] is malformed: {exc}") from exc
    key = SigningKey.load(directory / "witness.key")
    return Witness(Cosigner(str(config["name"]), key.private), logs, directory / "state.json")
