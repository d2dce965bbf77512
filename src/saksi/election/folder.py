"""The layout of an election folder and its small configuration file.

ELECTION_DIR/
  saksi.toml        election id and projection store
  manifest.toml     the manifest as given at init (the record holds the authoritative copy)
  record/entries    the append-only record (entries.pending: the batch being written)
  keys/             private keys of this machine's roles, owner-readable only
  photos/           form photos, each stored under its SHA-256 (photos/ab/abcd…)
  db/saksi.sqlite   the SQLite projection (when the store is SQLite)
  public/           files published for readers and mirrors
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from saksi.errors import SaksiError

__all__ = ["ElectionFolder"]


@dataclass(frozen=True)
class ElectionFolder:
    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / "saksi.toml"

    @property
    def record_path(self) -> Path:
        return self.root / "record" / "entries"

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    @property
    def sqlite_path(self) -> Path:
        return self.root / "db" / "saksi.sqlite"

    @property
    def photos_dir(self) -> Path:
        return self.root / "photos"

    def photo_path(self, sha256_hex: str) -> Path:
        return self.photos_dir / sha256_hex[:2] / f"{sha256_hex}"

    @property
    def public_dir(self) -> Path:
        return self.root / "public"

    def key_path(self, role: str, source: str | None = None) -> Path:
        return self.keys_dir / (f"{role}-{source}.key" if source else f"{role}.key")

    def exists(self) -> bool:
        return self.config_path.exists()

    def write_config(self, election_id: str, store: str | None) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.keys_dir.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.keys_dir, 0o700)
        lines = [f"election_id = {json.dumps(election_id)}"]
        if store is not None:
            lines.append(f"store = {json.dumps(store)}")
        self.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def read_cadence(self) -> tuple[int | None, float | None]:
        """When to sign checkpoints by themselves: ``[log] checkpoint_every_entries`` and
        ``checkpoint_every_seconds`` in saksi.toml; neither set means only on request."""
        try:
            config = tomllib.loads(self.config_path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            return None, None
        section = config.get("log", {})
        entries = section.get("checkpoint_every_entries") if isinstance(section, dict) else None
        seconds = section.get("checkpoint_every_seconds") if isinstance(section, dict) else None
        if entries is not None and (type(entries) is not int or entries < 1):
            raise SaksiError(f"{self.config_path}: checkpoint_every_entries must be >= 1")
        if seconds is not None and (not isinstance(seconds, int | float) or seconds <= 0):
            raise SaksiError(f"{self.config_path}: checkpoint_every_seconds must be > 0")
        return entries, float(seconds) if seconds is not None else None

    def read_witnesses(self) -> list[tuple[str, str]]:
        """(url, vkey) of each ``[[log.witness]]`` in saksi.toml."""
        try:
            config = tomllib.loads(self.config_path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            return []
        section = config.get("log", {})
        items = section.get("witness", []) if isinstance(section, dict) else []
        out = []
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or not all(
                isinstance(item.get(k), str) for k in ("url", "vkey")
            ):
                raise SaksiError(f"{self.config_path}: each [[log.witness]] needs url and vkey")
            out.append((item["url"], item["vkey"]))
        return out

    def read_config(self) -> tuple[str, str | None]:
        if not self.exists():
            raise SaksiError(
                f"{self.root} is not an election folder (no saksi.toml); create one with "
                "'saksi init'"
            )
        try:
            config = tomllib.loads(self.config_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SaksiError(f"{self.config_path} is not valid TOML: {exc}") from exc
        election_id = config.get("election_id")
        if not isinstance(election_id, str):
            raise SaksiError(f"{self.config_path} lacks election_id")
        store = config.get("store")
        return election_id, store if isinstance(store, str) else None
