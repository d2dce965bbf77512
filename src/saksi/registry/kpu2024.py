"""Import the KPU 2024 region tree and TPS list (../shared/data/pemilu2024).

Region ids are KPU codes: 2, 4, 6 and 10 digits. A TPS id is the desa code followed by
the TPS number in three digits; special TPS are numbered 901 and up. DPT per TPS is not
part of this data set and comes from a separate ``tps_id,dpt`` file when known.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from pathlib import Path

from saksi.errors import RegistryError
from saksi.registry.entries import DesaRecord
from saksi.registry.model import Level, Region, Tps, TpsKind

__all__ = ["read_dpt_file", "read_kpu2024", "tps_numbers"]

_LEVELS = {
    "provinsi": Level.PROVINSI,
    "kabupaten_kota": Level.KABUPATEN_KOTA,
    "kecamatan": Level.KECAMATAN,
    "desa_kelurahan": Level.DESA,
}
_CODE_LENGTH = {Level.PROVINSI: 2, Level.KABUPATEN_KOTA: 4, Level.KECAMATAN: 6, Level.DESA: 10}


def _open(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    except FileNotFoundError as exc:
        raise RegistryError(f"{path} does not exist") from exc


def tps_numbers(count: int, special_first: int | None, special_last: int | None) -> list[int]:
    numbers = list(range(1, count + 1))
    if special_first is not None and special_last is not None:
        numbers.extend(range(special_first, special_last + 1))
    return numbers


def read_kpu2024(directory: Path, dpt: Mapping[str, int] | None = None) -> Iterator[DesaRecord]:
    """Yield (path, TPS list) per desa, in code order."""
    regions: dict[str, Region] = {}
    for line, row in enumerate(_open(directory / "regions.csv"), start=2):
        try:
            level = _LEVELS[row["level"]]
            code = row["code"]
            parent = row["parent"] or "ID"
        except KeyError as exc:
            raise RegistryError(f"regions.csv line {line}: unknown level or column {exc}") from exc
        if len(code) != _CODE_LENGTH[level] or not code.isdigit():
            raise RegistryError(f"regions.csv line {line}: {code!r} is not a {level} code")
        regions[code] = Region(code, parent, level, row["name"].strip())
    dpt = dpt or {}
    for line, row in enumerate(_open(directory / "tps_per_desa.csv"), start=2):
        desa = row["desa_code"]
        if desa not in regions:
            raise RegistryError(f"tps_per_desa.csv line {line}: desa {desa} is not in regions.csv")
        try:
            first = int(row["special_first"]) if row["special_first"] else None
            last = int(row["special_last"]) if row["special_last"] else None
            numbers = tps_numbers(int(row["tps_count"]), first, last)
        except ValueError as exc:
            raise RegistryError(f"tps_per_desa.csv line {line}: {exc}") from exc
        path = []
        cursor: str | None = desa
        while cursor is not None and cursor != "ID":
            region = regions.get(cursor)
            if region is None:
                raise RegistryError(f"regions.csv: region {cursor} is missing")
            path.append(region)
            cursor = region.parent
        path.reverse()
        tps = []
        for number in numbers:
            tps_id = f"{desa}{number:03d}"
            tps.append(Tps(tps_id, desa, number, dpt.get(tps_id), TpsKind.DOMESTIC))
        yield tuple(path), tps


def read_dpt_file(path: Path) -> dict[str, int]:
    """Read ``tps_id,dpt`` rows; an empty dpt means unknown and is left out."""
    out: dict[str, int] = {}
    for line, row in enumerate(_open(path), start=2):
        value = row.get("dpt", "")
        if value == "":
            continue
        if not value.isdigit():
            raise RegistryError(f"{path.name} line {line}: DPT {value!r} is not a whole number")
        out[row["tps_id"]] = int(value)
    return out
