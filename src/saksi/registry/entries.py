"""Registry entries: one per desa, carrying its path of regions and its TPS with DPT.

A desa with more TPS than fit in one entry (large overseas posts) continues in further
entries with the same path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from saksi.canonical import canonical_bytes_ascii_keys
from saksi.errors import RegistryError
from saksi.registry.model import (
    LEVELS_BELOW_NATIONAL,
    NATIONAL,
    Level,
    Region,
    Registry,
    Tps,
    TpsKind,
)

__all__ = ["DesaRecord", "apply_registry_payload", "check_desa_records", "registry_payloads"]

TPS_PER_ENTRY = 600
ENTRY_BUDGET = 60_000  # payload bytes per entry, leaving room for the envelope

DesaRecord = tuple[tuple[Region, ...], list[Tps]]


def registry_payloads(desas: Iterable[DesaRecord]) -> Iterator[dict[str, Any]]:
    """Payloads for desa records: each is (path provinsi..desa, TPS of that desa).

    A desa whose TPS would make an entry too large continues in further entries; the
    budget counts the bytes each TPS adds to the canonical JSON (ids are short ASCII,
    but a name-only import may carry longer ones).
    """
    for path, tps_list in desas:
        regions = [{"id": r.id, "level": r.level.value, "name": r.name} for r in path]
        items = [_tps_json(t) for t in tps_list]
        chunk: list[dict[str, Any]] = []
        budget = ENTRY_BUDGET - len(canonical_bytes_ascii_keys(regions))
        used = 0
        for item in items:
            size = len(canonical_bytes_ascii_keys(item)) + 1
            if chunk and (used + size > budget or len(chunk) >= TPS_PER_ENTRY):
                yield {"path": regions, "tps": chunk}
                chunk, used = [], 0
            chunk.append(item)
            used += size
        yield {"path": regions, "tps": chunk}


def check_desa_records(registry: Registry, desas: Iterable[DesaRecord]) -> None:
    """Refuse, before anything is recorded, desa records that could not all be added."""
    regions: dict[str, Region] = {}
    seen: set[str] = set()
    for path, tps_list in desas:
        if [r.level for r in path] != list(LEVELS_BELOW_NATIONAL):
            desa = path[-1].id if path else "?"
            raise RegistryError(f"desa {desa}: its path must run provinsi > desa")
        parent = NATIONAL.id
        for region in path:
            if region.parent != parent:
                raise RegistryError(f"region {region.id} does not sit under {parent}")
            known = registry.regions.get(region.id) or regions.get(region.id)
            if known is not None and known != region:
                raise RegistryError(
                    f"region {region.id} is already registered as {known.level} "
                    f"{known.name!r} under {known.parent}; this one is {region.name!r} "
                    f"under {region.parent}"
                )
            regions[region.id] = region
            parent = region.id
        for tps in tps_list:
            if not tps.id:
                raise RegistryError(f"desa {path[-1].id} lists a TPS without an id")
            if tps.id in registry.tps or tps.id in seen:
                raise RegistryError(f"TPS {tps.id} is already registered")
            if tps.dpt is not None and (type(tps.dpt) is not int or tps.dpt < 0):
                raise RegistryError(f"TPS {tps.id} has an invalid DPT {tps.dpt!r}")
            seen.add(tps.id)


def _tps_json(tps: Tps) -> dict[str, Any]:
    out: dict[str, Any] = {"id": tps.id, "no": tps.number, "kind": tps.kind.value}
    if tps.dpt is not None:
        out["dpt"] = tps.dpt
    return out


def apply_registry_payload(
    registry: Registry, payload: dict[str, Any]
) -> tuple[list[Region], list[Tps]]:
    """Check a desa entry against the registry and add it; returns what was new."""
    try:
        path = payload["path"]
        if not isinstance(path, list) or len(path) != len(LEVELS_BELOW_NATIONAL):
            raise RegistryError("a registry entry's path must list provinsi..desa")
        regions: list[Region] = []
        parent = NATIONAL.id
        for item, level in zip(path, LEVELS_BELOW_NATIONAL, strict=True):
            if Level(item["level"]) is not level:
                raise RegistryError(f"region {item['id']} should be a {level}")
            region = Region(str(item["id"]), parent, level, str(item["name"]))
            regions.append(region)
            parent = region.id
        desa = regions[-1].id
        tps_list = [
            Tps(str(t["id"]), desa, int(t["no"]), t.get("dpt"), TpsKind(t["kind"]))
            for t in payload["tps"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise RegistryError(f"malformed registry entry: {exc}") from exc
    new_regions = []
    for region in regions:
        known = registry.regions.get(region.id)
        if known is None:
            new_regions.append(region)
        elif known != region:
            raise RegistryError(
                f"region {region.id} is already registered as {known.level} {known.name!r} "
                f"under {known.parent}; this entry says {region.name!r} under {region.parent}"
            )
    seen: set[str] = set()
    for tps in tps_list:
        if tps.id in registry.tps or tps.id in seen:
            raise RegistryError(f"TPS {tps.id} is already registered")
        if tps.dpt is not None and (type(tps.dpt) is not int or tps.dpt < 0):
            raise RegistryError(f"TPS {tps.id} has an invalid DPT {tps.dpt!r}")
        seen.add(tps.id)
    # Checked in full above, so these additions cannot fail half-way.
    for region in new_regions:
        registry.add_region(region)
    for tps in tps_list:
        registry.add_tps(tps)
    return new_regions, tps_list
