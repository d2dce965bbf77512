"""Who may sign what: the admin, key managers, submitters, importers and the ladder's roles.

The admin registers key managers (and importers) for any source, and the recapitulation
ladder's recap bodies and Bawaslu keys, each bound to one region. A source's manager
registers and revokes its own source's submitters, importers and plenary witnesses
only, so no single operator controls every source. A signature counts only if its key was registered
earlier in the record and not yet revoked at the entry's position.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from saksi.errors import RejectedEntry
from saksi.keys.ed25519 import verify_auth
from saksi.log.entry import Auth

__all__ = ["REGION_ROLES", "SOURCE_ROLES", "KeyAuthority", "KeyInfo", "Role"]


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"  # enrols and revokes the submitters of one source
    SUBMITTER = "submitter"  # signs result forms for its assigned TPS and source
    IMPORTER = "importer"  # signs bulk imports (attestations) for one source
    RECAP_BODY = "recap_body"  # PPK or KPU of one region: signs its recap forms
    BAWASLU = "bawaslu"  # the supervisory body of one region: signs recommendations
    PLENARY_WITNESS = "plenary_witness"  # a party's witness at plenaries: signs objections


SOURCE_ROLES = frozenset({Role.MANAGER, Role.SUBMITTER, Role.IMPORTER, Role.PLENARY_WITNESS})
REGION_ROLES = frozenset({Role.RECAP_BODY, Role.BAWASLU})
MANAGED_ROLES = frozenset({Role.SUBMITTER, Role.IMPORTER, Role.PLENARY_WITNESS})


@dataclass(slots=True)
class KeyInfo:
    key: str
    role: Role
    source: str | None
    tps: frozenset[str] | None
    registered_seq: int
    registered_by: str
    revoked_seq: int | None = None
    region: str | None = None  # recap bodies and Bawaslu: the region they act for


def _short(key: str) -> str:
    return key[:12] + "…"


class KeyAuthority:
    def __init__(self) -> None:
        self.keys: dict[str, KeyInfo] = {}

    def signer(
        self, auth: Auth, entry_type: str, election: str, payload_bytes: bytes, *, verify: bool
    ) -> KeyInfo:
        """The active registered key that signed this entry; raises if there is none."""
        if auth.key is None:
            raise RejectedEntry(f"a {entry_type} entry must carry a signature")
        info = self.keys.get(auth.key)
        if info is None:
            raise RejectedEntry(f"key {_short(auth.key)} is not registered in this election")
        if info.revoked_seq is not None:
            raise RejectedEntry(
                f"key {_short(auth.key)} was revoked at entry {info.revoked_seq}; "
                "its signatures are no longer accepted"
            )
        if verify and not verify_auth(auth, entry_type, election, payload_bytes):
            raise RejectedEntry(
                f"the signature by key {_short(auth.key)} is not valid for this {entry_type} "
                f"in election {election} (signed for another election, or changed after "
                "signing)"
            )
        return info

    def parse_new_keys(
        self, payload: dict[str, Any], signer: KeyInfo | None
    ) -> list[dict[str, Any]]:
        """Check a keys_register payload; ``signer`` None means the admin bootstrap."""
        items = payload.get("keys")
        if set(payload) != {"keys"} or not isinstance(items, list) or not items:
            raise RejectedEntry("a key registration must list one or more keys")
        seen: set[str] = set()
        for item in items:
            if not isinstance(item, dict) or not set(item) <= {
                "key",
                "role",
                "source",
                "tps",
                "region",
            }:
                raise RejectedEntry(
                    "each registered key needs key, role and optional source, tps, region"
                )
            key = item.get("key")
            try:
                ok = isinstance(key, str) and len(base64.b64decode(key, validate=True)) == 32
            except ValueError:
                ok = False
            if (
                not ok
                or not isinstance(key, str)
                or base64.b64encode(base64.b64decode(key)).decode() != key
            ):
                raise RejectedEntry(f"key {key!r} is not a base64 Ed25519 public key")
            if key in self.keys or key in seen:
                raise RejectedEntry(f"key {_short(key)} is already registered")
            seen.add(key)
            try:
                role = Role(str(item.get("role")))
            except ValueError as exc:
                raise RejectedEntry(
                    f"key {_short(key)}: unknown role {item.get('role')!r}"
                ) from exc
            source, tps, region = item.get("source"), item.get("tps"), item.get("region")
            if (role in SOURCE_ROLES) != (source is not None):
                raise RejectedEntry(
                    f"key {_short(key)}: a {role} "
                    + ("must name its source" if role in SOURCE_ROLES else "has no source")
                )
            if (role in REGION_ROLES) != (region is not None):
                raise RejectedEntry(
                    f"key {_short(key)}: a {role} "
                    + ("must name its region" if role in REGION_ROLES else "has no region")
                )
            if region is not None and not isinstance(region, str):
                raise RejectedEntry(f"key {_short(key)}: region must be a region id")
            if tps is not None and (
                role is not Role.SUBMITTER
                or not isinstance(tps, list)
                or not tps
                or not all(isinstance(t, str) for t in tps)
            ):
                raise RejectedEntry(f"key {_short(key)}: only a submitter lists its TPS")
            if role is Role.SUBMITTER and tps is None:
                raise RejectedEntry(f"key {_short(key)}: a submitter must be assigned its TPS")
            if signer is None:
                if role is not Role.ADMIN or len(items) != 1:
                    raise RejectedEntry("the record must begin with the admin key alone")
            elif role is Role.ADMIN:
                raise RejectedEntry("an election has exactly one admin key")
            elif signer.role is Role.MANAGER:
                if role not in MANAGED_ROLES or source != signer.source:
                    raise RejectedEntry(
                        f"the key manager of source {signer.source} may only enrol "
                        f"submitters, importers and plenary witnesses of source "
                        f"{signer.source}"
                    )
            elif signer.role is not Role.ADMIN:
                raise RejectedEntry(f"a {signer.role} key may not register keys")
        return items

    def register(self, items: list[dict[str, Any]], seq: int, signer_key: str) -> list[KeyInfo]:
        added = []
        for item in items:
            tps = item.get("tps")
            info = KeyInfo(
                key=item["key"],
                role=Role(item["role"]),
                source=item.get("source"),
                tps=frozenset(tps) if tps is not None else None,
                registered_seq=seq,
                registered_by=signer_key,
                region=item.get("region"),
            )
            self.keys[info.key] = info
            added.append(info)
        return added

    def parse_revocation(self, payload: dict[str, Any], signer: KeyInfo) -> list[str]:
        items, reason = payload.get("keys"), payload.get("reason")
        if set(payload) != {"keys", "reason"} or not isinstance(items, list) or not items:
            raise RejectedEntry("a key revocation must list keys and give a reason")
        if not isinstance(reason, str) or not reason.strip():
            raise RejectedEntry("a key revocation must give a reason")
        for key in items:
            info = self.keys.get(key) if isinstance(key, str) else None
            if info is None:
                raise RejectedEntry(f"key {key!r} cannot be revoked: it is not registered")
            if info.revoked_seq is not None:
                raise RejectedEntry(f"key {_short(info.key)} is already revoked")
            if info.role is Role.ADMIN:
                raise RejectedEntry("the admin key cannot be revoked")
            allowed = signer.role is Role.ADMIN or (
                signer.role is Role.MANAGER
                and info.source == signer.source
                and info.role in MANAGED_ROLES
            )
            if not allowed:
                raise RejectedEntry(
                    f"a {signer.role} of source {signer.source} may not revoke key "
                    f"{_short(info.key)} ({info.role} of source {info.source})"
                )
        if len(set(items)) != len(items):
            raise RejectedEntry("a key revocation lists the same key twice")
        return list(items)

    def revoke(self, keys: list[str], seq: int) -> None:
        for key in keys:
            self.keys[key].revoked_seq = seq
