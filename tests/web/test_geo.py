"""The province map: the generated provinces.json, joining results trees to it, and the SVG."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from saksi.web import geo

# tests/web/conftest.py shadows tests/conftest.py for ``from conftest import``, so the
# same paths are worked out here.
REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
GEOJSON = DATA / "geo" / "provinsi-38.geojson"
ASSET = REPO / "src" / "saksi" / "web" / "provinces.json"
SVG = "{http://www.w3.org/2000/svg}"
PATH_DATA = re.compile(r"(?:M-?\d+ -?\d+l(?:-?\d+(?: |(?=-))-?\d+(?: |(?=-)|(?=z)))*z)+")


def geojson_provinces() -> dict[str, str]:
    features = json.loads(GEOJSON.read_text(encoding="utf-8"))["features"]
    return {f["properties"]["KODE_PROV"]: f["properties"]["PROVINSI"] for f in features}


def geojson_extremes() -> dict[str, str]:
    """The province holding the country's westernmost, easternmost, ... point."""
    best: dict[str, tuple[float, str]] = {}
    for feature in json.loads(GEOJSON.read_text(encoding="utf-8"))["features"]:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"]
        if geometry["type"] == "Polygon":
            polygons = [polygons]
        code = feature["properties"]["KODE_PROV"]
        for lon, lat in (point for polygon in polygons for ring in polygon for point in ring):
            for side, value in (("west", -lon), ("east", lon), ("north", lat), ("south", -lat)):
                if side not in best or value > best[side][0]:
                    best[side] = (value, code)
    return {side: code for side, (_, code) in best.items()}


def rings(d: str) -> list[list[tuple[int, int]]]:
    """Absolute points of path data written as M x y, relative l steps, z."""
    result = []
    for part in d.split("z")[:-1]:
        start, steps = part[1:].split("l")
        x, y = (int(n) for n in start.split(" "))
        ring = [(x, y)]
        numbers = [int(n) for n in re.findall(r"-?\d+", steps)]
        for dx, dy in zip(numbers[::2], numbers[1::2], strict=True):
            x, y = x + dx, y + dy
            ring.append((x, y))
        result.append(ring)
    return result


def provinces_2024() -> list[tuple[str, str]]:
    with (DATA / "pemilu2024" / "regions.csv").open(encoding="utf-8") as file:
        return [
            (row["code"], row["name"]) for row in csv.DictReader(file) if row["level"] == "provinsi"
        ]


def names_2019() -> list[str]:
    with (DATA / "pemilu2019" / "tps.csv").open(encoding="utf-8") as file:
        return sorted({row["provinsi"] for row in csv.DictReader(file)})


def strictly_inside(inner: Sequence[float], outer: Sequence[float]) -> bool:
    """Whether box ``inner`` (x, y, width, height) lies inside ``outer``, off its edges."""
    x, y, width, height = inner
    ox, oy, owidth, oheight = outer
    return ox < x and oy < y and x + width < ox + owidth and y + height < oy + oheight


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def view_box(element: ET.Element) -> tuple[float, ...]:
    return tuple(float(n) for n in element.attrib["viewBox"].split())


# The asset


def test_every_province_of_the_geojson_is_on_the_map_with_its_code_and_name() -> None:
    province_map = geo.load_map()
    on_map = {p.code: p.name for p in province_map.provinces}
    assert on_map == geojson_provinces()
    assert len(on_map) == 38
    assert [p.code for p in province_map.provinces] == sorted(on_map)


def test_attribution_keeps_the_source_licence_and_changes() -> None:
    attribution = geo.load_map().attribution
    assert "denyherianto/indonesia-geojson-topojson-maps-with-38-provinces" in attribution
    assert "CC BY 4.0" in attribution
    assert "https://creativecommons.org/licenses/by/4.0/" in attribution
    assert "Changes made" in attribution
    assert "simplified" in attribution


def test_asset_is_small() -> None:
    assert ASSET.stat().st_size < 45_000


def test_build_map_reproduces_the_committed_asset_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "provinces.json"
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build-map"), str(GEOJSON), str(out)],
        check=True,
        capture_output=True,
    )
    assert out.read_bytes() == ASSET.read_bytes()


def test_path_data_is_svg_path_commands_and_bboxes_bound_the_paths() -> None:
    province_map = geo.load_map()
    for province in province_map.provinces:
        assert PATH_DATA.fullmatch(province.d), province.name
        points = [point for ring in rings(province.d) for point in ring]
        xs, ys = [x for x, _ in points], [y for _, y in points]
        assert province.bbox == (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
        assert strictly_inside(province.bbox, province_map.view_box), province.name


def test_projection_keeps_west_east_north_and_south() -> None:
    provinces = geo.load_map().provinces
    extremes = geojson_extremes()

    def extreme(key: Any) -> str:
        return str(max(provinces, key=key).code)

    assert extreme(lambda p: -p.bbox[0]) == extremes["west"]
    assert extreme(lambda p: p.bbox[0] + p.bbox[2]) == extremes["east"]
    assert extreme(lambda p: -p.bbox[1]) == extremes["north"]
    assert extreme(lambda p: p.bbox[1] + p.bbox[3]) == extremes["south"]


# Joining a results tree


def test_join_by_code_matches_every_2024_province() -> None:
    children = provinces_2024()
    joined = geo.join([*children, ("99", "LUAR NEGERI")])
    assert joined.by_code == {code: code for code, _ in children}
    assert set(joined.by_code) == set(geojson_provinces())
    assert joined.unmatched == [("99", "LUAR NEGERI")]


def test_join_by_name_matches_the_2019_provinces_and_leaves_overseas_beside_the_map() -> None:
    # The 2019 tree has names only; the 2024 list says which code each name has.
    code_of_name = {name: code for code, name in provinces_2024()}
    names = names_2019()
    children = [(f"region-{number}", name) for number, name in enumerate(names)]
    joined = geo.join(children)
    expected = {
        code_of_name[name]: region_id for region_id, name in children if name in code_of_name
    }
    assert len(expected) == len(names) - 1
    assert joined.by_code == expected
    assert joined.unmatched == [(rid, name) for rid, name in children if name == "Luar Negeri"]
    for code, region_id in expected.items():
        assert joined.code_of(region_id) == code


def test_join_by_name_ignores_case_and_extra_whitespace() -> None:
    code_of_name = {name: code for code, name in provinces_2024()}
    joined = geo.join([("a", "  daerah  istimewa\tYogyakarta "), ("b", "dki jakarta")])
    assert joined.by_code == {
        code_of_name["DAERAH ISTIMEWA YOGYAKARTA"]: "a",
        code_of_name["DKI JAKARTA"]: "b",
    }
    assert joined.unmatched == []


def test_a_province_claimed_twice_keeps_the_first_region() -> None:
    code_of_name = {name: code for code, name in provinces_2024()}
    joined = geo.join([("x", "BALI"), ("y", "Bali")])
    assert joined.by_code == {code_of_name["BALI"]: "x"}
    assert joined.unmatched == [("y", "Bali")]


# The SVG


def test_svg_has_one_labelled_path_per_province_with_its_region() -> None:
    children = provinces_2024()[:5]
    root = parse(geo.svg(geo.join(children), label="Peta provinsi"))
    assert root.tag == f"{SVG}svg"
    assert root.attrib["role"] == "img"
    title = root.find(f"{SVG}title")
    assert title is not None
    assert title.text == "Peta provinsi"
    assert root.attrib["aria-labelledby"] == title.attrib["id"]
    assert view_box(root) == geo.load_map().view_box
    paths = root.findall(f"{SVG}path")
    assert len(paths) == 38
    by_code = {p.attrib["data-code"]: p for p in paths}
    names = geojson_provinces()
    assert set(by_code) == set(names)
    for code, path in by_code.items():
        assert path.attrib["class"] == "province"
        assert path.findtext(f"{SVG}title") == names[code]
        assert PATH_DATA.fullmatch(path.attrib["d"])
        assert "style" not in path.attrib
    joined_codes = {code for code, _ in children}
    for code, path in by_code.items():
        assert path.attrib["data-region"] == (code if code in joined_codes else "")


def test_svg_escapes_labels_and_region_ids() -> None:
    hostile = '<script>alert("x")</script> & "quoted"'
    code_of_name = {name: code for code, name in provinces_2024()}
    markup = geo.svg(geo.join([(hostile, "BALI")]), label=hostile)
    assert "<script>" not in markup
    root = parse(markup)
    assert root.findtext(f"{SVG}title") == hostile
    bali = root.find(f"{SVG}path[@data-code='{code_of_name['BALI']}']")
    assert bali is not None
    assert bali.attrib["data-region"] == hostile
    assert "style=" not in markup


def test_focus_zooms_to_the_province_and_marks_it() -> None:
    province_map = geo.load_map()
    whole = province_map.view_box
    for province in province_map.provinces:
        root = parse(geo.svg(geo.join([]), focus=province.code, label="x"))
        box = view_box(root)
        assert strictly_inside(province.bbox, box), province.name
        assert box[2] < whole[2], province.name
        assert box[3] < whole[3], province.name
        focused = [p for p in root.findall(f"{SVG}path") if "focus" in p.attrib["class"]]
        assert [p.attrib["data-code"] for p in focused] == [province.code]
        assert focused[0].attrib["class"] == "province focus"


def test_focus_on_a_code_not_on_the_map_is_refused() -> None:
    with pytest.raises(ValueError, match="99"):
        geo.svg(geo.join([]), focus="99", label="x")


def test_join_by_name_knows_common_short_spellings() -> None:
    code_of_name = {name: code for code, name in provinces_2024()}
    joined = geo.join(
        [("a", "DI Yogyakarta"), ("b", "Kep. Riau"), ("c", "Nanggroe Aceh Darussalam")]
    )
    assert joined.by_code == {
        code_of_name["DAERAH ISTIMEWA YOGYAKARTA"]: "a",
        code_of_name["KEPULAUAN RIAU"]: "b",
        code_of_name["ACEH"]: "c",
    }
