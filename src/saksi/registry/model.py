"""The in-memory registry: regions national > provinsi > kabupaten/kota > kecamatan > desa > TPS."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from saksi.errors import RegistryError

__all__ = ["NATIONAL", "Level", "Region", "Registry", "Tps", "TpsKind"]


class Level(StrEnum):
    NATIONAL = "nasional"
    PROVINSI = "provinsi"
    KABUPATEN_KOTA = "kabupaten_kota"
    KECAMATAN = "kecamatan"
    DESA = "desa_kelurahan"


LEVELS_BELOW_NATIONAL = (Level.PROVINSI, Level.KABUPATEN_KOTA, Level.KECAMATAN, Level.DESA)


class TpsKind(StrEnum):
    DOMESTIC = "domestic"
    OVERSEAS = "overseas"  # TPSLN, postal (Pos) and mobile-box (KSK) voting abroad


@dataclass(frozen=True, slots=True)
class Region:
    id: str
    parent: str | None
    level: Level
    name: str


class Tps(NamedTuple):
    id: str
    desa: str
    number: int
    dpt: int | None  # None where the registry gives no DPT (overseas, some others)
    kind: TpsKind


NATIONAL = Region("ID", None, Level.NATIONAL, "Indonesia")


class Registry:
    """Regions and TPS as recorded so far, with the ancestor path of every desa."""

    def __init__(self) -> None:
        self.regions: dict[str, Region] = {NATIONAL.id: NATIONAL}
        self.tps: dict[str, Tps] = {}
        self.paths: dict[str, tuple[str, ...]] = {NATIONAL.id: (NATIONAL.id,)}
        self.tps_count: dict[str, int] = {NATIONAL.id: 0}
        self.dpt_total: dict[str, int] = {NATIONAL.id: 0}
        self.changed: set[str] = set()  # regions whose TPS totals changed since last taken
        self._children: dict[str, list[str]] = {}

    def add_region(self, region: Region) -> bool:
        """Add a region or confirm an identical one; returns True when it is new."""
        known = self.regions.get(region.id)
        if known is not None:
            if known != region:
                raise RegistryError(
                    f"region {region.id} is already registered as {known.level} "
                    f"{known.name!r} under {known.parent}; it cannot change to {region.name!r}"
                )
            return False
        if region.parent not in self.regions:
            raise RegistryError(f"region {region.id} names unknown parent {region.parent}")
        parent = self.regions[region.parent]
        expected = _next_level(parent.level)
        if region.level is not expected:
            raise RegistryError(
                f"region {region.id} is a {region.level} but its parent {parent.id} "
                f"is a {parent.level}; expected a {expected}"
            )
        self.regions[region.id] = region
        self._children.setdefault(parent.id, []).append(region.id)
        self.paths[region.id] = (*self.paths[region.parent], region.id)
        self.tps_count[region.id] = 0
        self.dpt_total[region.id] = 0
        return True

    def add_tps(self, tps: Tps) -> None:
        if tps.id in self.tps:
            raise RegistryError(f"TPS {tps.id} is already registered")
        desa = self.regions.get(tps.desa)
        if desa is None or desa.level is not Level.DESA:
            raise RegistryError(f"TPS {tps.id} names {tps.desa}, which is not a registered desa")
        self.tps[tps.id] = tps
        path = self.paths[tps.desa]
        self.changed.update(path)
        for region_id in path:
            self.tps_count[region_id] += 1
            if tps.dpt is not None:
                self.dpt_total[region_id] += tps.dpt

    def children(self, region_id: str) -> list[Region]:
        return [self.regions[c] for c in self.child_ids(region_id)]

    def child_ids(self, region_id: str) -> list[str]:
        """Ids of the region's children, ascending."""
        children = self._children.get(region_id, [])
        children.sort()
        return children


def _next_level(level: Level) -> Level:
    order = (Level.NATIONAL, *LEVELS_BELOW_NATIONAL)
    index = order.index(level)
    if index + 1 >= len(order):
        raise RegistryError("a desa cannot have child regions")
    return order[index + 1]
