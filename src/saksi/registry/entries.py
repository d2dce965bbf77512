"""Registry entries: one per desa, carrying its path of regions and its TPS with DPT.

A desa with more TPS than fit in one entry (large overseas posts) continues in further
entries with the same path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

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

__all__ = ["DesaRecord", "apply_registry_payload", "registry_payloads"]

TPS_PER_ENTRY = 600

DesaRecord = tuple[tuple[Region, ...], list[Tps]]


def registry_payloads(desas: Iterable[DesaRecord]) -> Iterator[dict[str, Any]]:
    """Payloads for desa records: each is (path provinsi..desa, TPS of that desa)."""
    for path, tps_list in desas:
        for start in range(0, max(len(tps_list), 1), TPS_PER_ENTRY):
            chunk = tps_list[start : start + TPS_PER_ENTRY]
            yield {
                "path": [{"id": r.id, "level": r.level.value, "name": r.name} for r in path],
                "tps": [_tps_json(t) for t in chunk],
            }


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
