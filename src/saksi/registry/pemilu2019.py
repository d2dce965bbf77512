"""Import the 2019 ``tps.csv`` format, whose tree is given only as paths of names.

Region ids above the desa are derived from the path of names (docs/registry.md):

    id = "r" + first 16 hex digits of SHA-256(UTF-8 of the names joined by "/")

where the names run from the provinsi down to the region itself, each stripped of
surrounding whitespace with inner whitespace collapsed to one space. The same name under
two parents therefore gets two ids, and the ids never change between imports. Desa keep
the ids the data gives them (Situng's numbers; negative abroad).
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from pathlib import Path

from saksi.errors import RegistryError
from saksi.registry.entries import DesaRecord
from saksi.registry.model import Level, Region, Tps, TpsKind

__all__ = ["path_region_id", "read_pemilu2019"]

OVERSEAS_PROVINSI = "luar negeri"
_COLUMNS = (
    "tps_id",
    "provinsi",
    "kabupaten_kota",
    "kecamatan",
    "desa_kelurahan",
    "desa_id",
    "tps_no",
    "dpt",
)


def _clean(name: str) -> str:
    return " ".join(name.split())


def path_region_id(names: list[str]) -> str:
    joined = "/".join(_clean(n) for n in names)
    return "r" + hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]


def read_pemilu2019(tps_csv: Path) -> Iterator[DesaRecord]:
    """Yield (path, TPS list) per desa in file order of first appearance."""
    try:
        handle = tps_csv.open(newline="", encoding="utf-8")
    except FileNotFoundError as exc:
        raise RegistryError(f"{tps_csv} does not exist") from exc
    desas: dict[str, DesaRecord] = {}
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise RegistryError(f"{tps_csv.name} lacks column(s) {', '.join(missing)}")
        for line, row in enumerate(reader, start=2):
            names = [_clean(row[c]) for c in _COLUMNS[1:5]]
            if not all(names):
                raise RegistryError(f"{tps_csv.name} line {line}: a region name is empty")
            if any("/" in name for name in names[:3]):
                # "/" joins the names that the region ids are hashed from.
                raise RegistryError(
                    f"{tps_csv.name} line {line}: a provinsi, kabupaten/kota or kecamatan "
                    "name contains '/', which the path of names cannot hold unambiguously"
                )
            desa_id = row["desa_id"].strip()
            record = desas.get(desa_id)
            if record is None:
                ids = [path_region_id(names[: i + 1]) for i in range(3)] + [desa_id]
                levels = (Level.PROVINSI, Level.KABUPATEN_KOTA, Level.KECAMATAN, Level.DESA)
                parents = ["ID", *ids[:3]]
                path = tuple(Region(ids[i], parents[i], levels[i], names[i]) for i in range(4))
                record = (path, [])
                desas[desa_id] = record
            elif [r.name for r in record[0]] != names:
                raise RegistryError(
                    f"{tps_csv.name} line {line}: desa {desa_id} appears under two paths"
                )
            try:
                number = int(row["tps_no"])
                dpt = int(row["dpt"]) if row["dpt"].strip() else None
            except ValueError as exc:
                raise RegistryError(f"{tps_csv.name} line {line}: {exc}") from exc
            if dpt is not None and dpt < 0:
                raise RegistryError(f"{tps_csv.name} line {line}: DPT {dpt} is negative")
            overseas = names[0].casefold() == OVERSEAS_PROVINSI or desa_id.startswith("-")
            kind = TpsKind.OVERSEAS if overseas else TpsKind.DOMESTIC
            record[1].append(Tps(row["tps_id"].strip(), desa_id, number, dpt, kind))
    yield from desas.values()
