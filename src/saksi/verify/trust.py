"""What the verifier trusts: the log's key and a k-of-n witness policy (in the spirit of
C2SP tlog-policy), from options or a trust file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from saksi.errors import SaksiError
from saksi.log.note import NoteError, NoteVerifier
from saksi.witness.cosignature import CosignerKey

__all__ = ["Trust"]


@dataclass(frozen=True)
class Trust:
    log: NoteVerifier
    witnesses: tuple[CosignerKey, ...] = ()
    quorum: int = 0  # cosignatures required from distinct trusted witnesses

    @classmethod
    def build(cls, vkey: str, witnesses: list[str], quorum: int | None) -> Trust:
        try:
            log = NoteVerifier.parse(vkey)
        except NoteError as exc:
            raise SaksiError(f"the log's verifier key is not valid: {exc}") from exc
        keys = []
        for text in witnesses:
            try:
                keys.append(CosignerKey.parse(text))
            except (NoteError, ValueError) as exc:
                raise SaksiError(f"witness key {text!r} is not valid: {exc}") from exc
        if len({k.name for k in keys}) != len(keys):
            raise SaksiError("two witness keys have the same name")
        need = len(keys) if quorum is None else quorum
        if not 0 <= need <= len(keys):
            raise SaksiError(f"a quorum of {need} cannot be met by {len(keys)} witness key(s)")
        return cls(log, tuple(keys), need)

    @classmethod
    def load(cls, path: Path) -> Trust:
        """A trust file:

        log = "origin+keyid+key"          # the log's verifier key
        quorum = 2                         # cosignatures needed (default: all witnesses)
        witnesses = ["name+keyid+key", ...]
        """
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SaksiError(f"cannot read the trust file {path}: {exc}") from exc
        unknown = set(doc) - {"log", "quorum", "witnesses"}
        if unknown:
            raise SaksiError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
        log, witnesses, quorum = doc.get("log"), doc.get("witnesses", []), doc.get("quorum")
        if not isinstance(log, str):
            raise SaksiError(f"{path}: 'log' must be the log's verifier key")
        if not isinstance(witnesses, list) or not all(isinstance(w, str) for w in witnesses):
            raise SaksiError(f"{path}: 'witnesses' must be a list of witness verifier keys")
        if quorum is not None and type(quorum) is not int:
            raise SaksiError(f"{path}: 'quorum' must be a whole number")
        return cls.build(log, witnesses, quorum)
