"""The synthetic election's ladder (saksi.examples.synthetic_ladder) on Kalimantan Utara,
on both stores: every planted error is found with its exact amount, figure and place,
and nothing else differs; a clean ladder shows no difference; the re-vote (PSU) appears
in its kecamatan's ladder view and in the trail with its exact change; replaying the
record gives the same ladder."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA, drop_schema
from saksi.election.election import Election
from saksi.examples.synthetic import AnomalyPlan
from saksi.examples.synthetic_election import build_synthetic
from saksi.examples.synthetic_ladder import LADDER_KINDS, LadderPlan
from saksi.ladder.report import all_differences, current_recaps, region_ladder, trail
from saksi.registry.model import Level
from saksi.store.base import Store
from support import run_saksi

PROVINCE = "65"  # Kalimantan Utara: 5 kabupaten/kota, some 2,300 domestic TPS
PLAN = LadderPlan(inflated_rows=2, deflated_rows=1, copied_rows=1, revotes=1)
Key = tuple[str, str, str, str]  # recap_region, row, figure, against


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def new_store(request: pytest.FixtureRequest) -> Iterator[Callable[[], str | None]]:
    """Gives each election a store of its own: None for SQLite in its folder, or a
    PostgreSQL schema of its own, dropped at the end of the module."""
    if request.param == "sqlite":
        yield lambda: None
        return
    base = request.getfixturevalue("postgres_url")
    schemas: list[str] = []

    def make() -> str:
        schemas.append(f"test_{uuid.uuid4().hex[:12]}")
        return f"{base}?saksi_schema={schemas[-1]}"

    yield make
    for schema in schemas:
        drop_schema(schema)


def _build(folder: Path, store_url: str | None, plan: LadderPlan) -> list[dict[str, Any]]:
    truth = folder.with_suffix(".jsonl")
    election = build_synthetic(
        DATA / "pemilu2024",
        folder,
        seed=5,
        store=store_url,
        provinces=(PROVINCE,),
        anomalies=AnomalyPlan(),
        ladder=plan,
        ladder_truth_path=truth,
        say=lambda _: None,
    )
    election.close()
    return [json.loads(line) for line in truth.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def planted(
    tmp_path_factory: pytest.TempPathFactory, new_store: Callable[[], str | None]
) -> tuple[Path, list[dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("ladder") / "election"
    return folder, _build(folder, new_store(), PLAN)


@pytest.fixture
def election(planted: tuple[Path, list[dict[str, Any]]]) -> Iterator[Election]:
    with Election.open(planted[0]) as opened:
        yield opened


def official(store: Store) -> dict[Key, int]:
    """Every difference against the official TPS forms or the recap below."""
    return {
        (d.recap_region, d.row, d.figure, d.against): d.amount
        for d in all_differences(store, "PPWP")
        if d.against in ("kpps", "recap")
    }


def expected(election: Election, truth: list[dict[str, Any]]) -> dict[Key, int]:
    """What a faithful ladder above each planted row shows: the planted change at its row
    and at every row above (each plenary carries the recap's totals up), against the TPS
    forms; against the recap below only where the row itself was changed at a level above
    kecamatan. Where changes meet in one row they add up."""
    registry = election.state.registry
    found: dict[Key, int] = defaultdict(int)
    for item in truth:
        if item["kind"] == "revote":
            continue  # the recaps were signed after it, from the new form
        holder, row = item["recap_region"], item["row"]
        level = registry.regions[holder].level
        for figure, amount in item["figures"].items():
            if level is not Level.KECAMATAN:
                found[(holder, row, figure, "recap")] += amount
            at, below = holder, row
            while True:
                found[(at, below, figure, "kpps")] += amount
                parent = registry.regions[at].parent
                if parent is None:
                    break
                at, below = parent, at
    return {key: amount for key, amount in found.items() if amount}


def test_the_plan_is_planted_once_each(planted: tuple[Path, list[dict[str, Any]]]) -> None:
    _, truth = planted
    kinds = sorted(t["kind"] for t in truth)
    assert kinds == sorted(["inflated_row"] * 2 + ["deflated_row", "copied_row", "revote"])
    assert set(kinds) == set(LADDER_KINDS)
    recaps = [t for t in truth if t["kind"] != "revote"]
    places = {t["row"] if t["kind"] == "deflated_row" else t["recap_region"] for t in recaps}
    assert len(places) == len(recaps)  # each in a kecamatan of its own
    for item in truth:
        if item["kind"] in ("inflated_row", "deflated_row"):
            amount = item["amount"]
            assert (amount > 0) == (item["kind"] == "inflated_row")
            assert item["figures"] == {item["choice"]: amount, "valid": amount, "voters": amount}


def test_each_planted_error_is_found_with_its_amount_and_place_and_nothing_else(
    election: Election, planted: tuple[Path, list[dict[str, Any]]]
) -> None:
    _, truth = planted
    found = official(election.store)
    assert found == expected(election, truth)
    for item in truth:
        if item["kind"] == "revote":
            continue
        place = (item["recap_region"], item["row"])
        at_row = {(k[2], k[3]): v for k, v in found.items() if k[:2] == place}
        against = ("kpps", "recap") if item["kind"] == "deflated_row" else ("kpps",)
        assert at_row == {(f, a): n for f, n in item["figures"].items() for a in against}


def test_the_ladder_view_shows_each_planted_row(
    election: Election, planted: tuple[Path, list[dict[str, Any]]]
) -> None:
    _, truth = planted
    for item in truth:
        if item["kind"] == "revote":
            continue
        view = region_ladder(election.store, item["recap_region"], "PPWP")
        row = next(r for r in view["rows"] if r["region"]["id"] == item["row"])
        for figure, amount in item["figures"].items():
            shown = [
                d
                for d in row["differences"]
                if d["figure"] == figure and d["against"] in ("kpps", "recap")
            ]
            assert {d["against"]: d["amount"] for d in shown}["kpps"] == amount
            assert all(d["direction"] == ("up" if amount > 0 else "down") for d in shown)
            below = row["tps"]["kpps"][figure]
            assert row["recap"][figure] == below + amount
        if item["kind"] == "copied_row":
            source = next(r for r in view["rows"] if r["region"]["id"] == item["copied_from"])
            assert row["recap"] == source["recap"] == source["tps"]["kpps"]


def test_the_revote_is_shown_in_its_kecamatan_ladder_and_its_trail(
    election: Election, planted: tuple[Path, list[dict[str, Any]]]
) -> None:
    _, truth = planted
    revote = next(t for t in truth if t["kind"] == "revote")
    store = election.store
    view = region_ladder(store, revote["recap_region"], "PPWP")
    assert len(view["revotes"]) == 1
    shown = view["revotes"][0]
    assert shown["tps"] == revote["tps"]
    assert shown["decision"]["payload_hash"] == revote["decision"]
    assert shown["decision"]["kind"] == "order_revote"
    assert shown["decision"]["legal_basis"] == revote["legal_basis"]
    assert shown["old"]["payload_hash"] == revote["replaced"]
    assert shown["new"]["payload_hash"] == revote["form"]
    assert shown["new"]["current"] is True
    assert shown["change"] == revote["figures"]
    old, new = shown["old"]["figures"], shown["new"]["figures"]
    assert {f: new[f] - old[f] for f in new if new[f] != old[f]} == revote["figures"]
    # The desa row was recapped from the new form: no difference at the re-voted desa.
    row = next(r for r in view["rows"] if r["region"]["id"] == revote["row"])
    assert [d for d in row["differences"] if d["against"] in ("kpps", "recap")] == []
    # Seen from every region above it, and from no other kecamatan.
    path = election.state.registry.paths[revote["row"]]
    for region in path:
        assert [r["tps"] for r in region_ladder(store, region, "PPWP")["revotes"]] == [
            revote["tps"]
        ]
    other = next(
        r
        for r in sorted(election.state.registry.regions)
        if election.state.registry.regions[r].level is Level.KECAMATAN and r not in path
    )
    assert region_ladder(store, other, "PPWP")["revotes"] == []
    choice = next(iter(revote["figures"]))
    followed = trail(store, revote["tps"], choice, "PPWP")
    assert followed["steps"][0]["value"] == new[choice]
    assert [r["change"] for r in followed["revotes"]] == [revote["figures"]]


def test_a_clean_ladder_shows_no_difference(
    tmp_path: Path, new_store: Callable[[], str | None]
) -> None:
    folder = tmp_path / "clean"
    assert _build(folder, new_store(), LadderPlan()) == []
    with Election.open(folder) as election:
        assert official(election.store) == {}
        regions = election.state.registry.regions
        levels = (Level.KECAMATAN, Level.KABUPATEN_KOTA, Level.PROVINSI, Level.NATIONAL)
        recapped = {r for r in regions if regions[r].level in levels}
        assert set(current_recaps(election.store, "PPWP")) == recapped
        assert region_ladder(election.store, "ID", "PPWP")["revotes"] == []


def test_the_same_seed_plants_the_same_errors(
    tmp_path: Path,
    planted: tuple[Path, list[dict[str, Any]]],
    new_store: Callable[[], str | None],
) -> None:
    # On each store: the re-voted TPS is chosen by reading the forms back from it.
    assert _build(tmp_path / "again", new_store(), PLAN) == planted[1]


def test_a_rebuild_replays_the_same_ladder(planted: tuple[Path, list[dict[str, Any]]]) -> None:
    folder, truth = planted
    revote = next(t for t in truth if t["kind"] == "revote")
    with Election.open(folder) as election:
        before = official(election.store)
        view = region_ladder(election.store, revote["recap_region"], "PPWP")
    run_saksi("rebuild", folder)
    with Election.open(folder) as election:
        assert official(election.store) == before
        again = region_ladder(election.store, revote["recap_region"], "PPWP")
    assert again["revotes"] == view["revotes"]
    assert again["rows"] == view["rows"]


def test_rows_are_planted_where_every_official_form_arrived(tmp_path: Path) -> None:
    """With official forms missing, an inflated or copied desa row goes to a desa whose
    forms all arrived, where the ladder check compares it (it never compares a partial
    sum), and is found there with its amount."""
    truth_path = tmp_path / "ladder.jsonl"
    election = build_synthetic(
        DATA / "pemilu2024",
        tmp_path / "election",
        seed=5,
        provinces=(PROVINCE,),
        anomalies=AnomalyPlan(missing_forms=400),
        ladder=LadderPlan(inflated_rows=3, copied_rows=2),
        ladder_truth_path=truth_path,
        say=lambda _: None,
    )
    try:
        truth = [json.loads(line) for line in truth_path.read_text().splitlines()]
        store = election.store
        missing = dict(
            store.query(
                "SELECT t.desa, COUNT(*) FROM tps t WHERE NOT EXISTS (SELECT 1 FROM forms f "
                "WHERE f.tps = t.id AND f.source = 'kpps' AND f.is_current = 1) GROUP BY t.desa"
            )
        )
        parents = dict(store.query("SELECT id, parent FROM regions"))
        rows = [t for t in truth if t["kind"] in ("inflated_row", "copied_row")]
        assert len(rows) == 5
        # Each chosen kecamatan had a desa to avoid, so the choice was really made.
        assert sum(1 for d in missing if parents[d] in {t["recap_region"] for t in rows}) >= 3
        found = official(store)
        for item in rows:
            assert item["row"] not in missing
            for figure, amount in item["figures"].items():
                assert found[(item["recap_region"], item["row"], figure, "kpps")] == amount
    finally:
        election.close()
