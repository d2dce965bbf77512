"""The neighbours' plausibility model against its definition, term by term: the kernel
mixture's arrays against a sum over log_dirichlet_multinomial, and the neighbours'
weights against ``gap``."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saksi.forensics.plausibility import (
    FLAT_MIX,
    MAX_SHARE_CHOICES,
    SHARE_CLOSENESS,
    Form,
    Kernels,
    Neighbourhood,
    Plausibility,
    gap,
    log_dirichlet_multinomial,
)

alphas = st.floats(min_value=0.05, max_value=500.0)


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    width=st.integers(min_value=2, max_value=5),
    rows=st.integers(min_value=1, max_value=12),
)
def test_the_mixture_is_the_weighted_sum_of_its_kernels(
    data: st.DataObject, width: int, rows: int
) -> None:
    table = [data.draw(st.lists(alphas, min_size=width, max_size=width)) for _ in range(rows)]
    weights = data.draw(st.lists(st.floats(0.001, 1.0), min_size=rows, max_size=rows))
    counts = data.draw(st.lists(st.integers(0, 300), min_size=width, max_size=width))
    flat = log_dirichlet_multinomial(counts, [1.0] * width)
    mean = sum(
        w * math.exp(log_dirichlet_multinomial(counts, row) - flat)
        for row, w in zip(table, weights, strict=True)
    ) / sum(weights)
    expected = FLAT_MIX + (1 - FLAT_MIX) * mean
    assert Kernels.of(table, weights).ratio(counts, flat) == pytest.approx(expected, rel=1e-9)


def placed(one: int, two: int, place: tuple[object, int] | None) -> Form:
    return Form({"01": one, "02": two}, {"suara_sah": one + two}, 250, place)  # type: ignore[arg-type]


@pytest.mark.parametrize("desa", ["3171011001", 3171011001, ("31", "71")])
def test_neighbours_weigh_by_their_gap_whatever_the_desa_id(desa: object) -> None:
    # Same desa near and far, another desa, no place at all, and one whose votes do not
    # add up (left out): the weights are gap ** -SHARE_CLOSENESS of the usable ones.
    neighbours = [
        placed(120, 100, (desa, 4)),
        placed(118, 104, (desa, 12)),
        placed(90, 130, ("elsewhere", 5)),
        placed(101, 99, None),
        Form({"01": 50, "02": 50}, {"suara_sah": 90}, 250, (desa, 6)),  # type: ignore[arg-type]
    ]
    form = placed(110, 111, (desa, 5))
    usable = neighbours[:4]
    raw = [gap(form, n) ** -SHARE_CLOSENESS for n in usable]
    assert [gap(form, n) for n in usable] == [1, 7, 10, 1]
    for given_as in (neighbours, Neighbourhood(neighbours)):
        model = Plausibility(form, given_as, past_ballots=0.1)
        assert list(model.shares.weights) == pytest.approx([w / sum(raw) for w in raw])


def test_without_a_place_every_neighbour_weighs_the_same() -> None:
    neighbours = [placed(120, 100, ("D", n)) for n in (1, 2, 9)]
    model = Plausibility(placed(110, 111, None), Neighbourhood(neighbours), past_ballots=0.1)
    assert list(model.shares.weights) == pytest.approx([1 / 3] * 3)


def test_too_few_neighbours_leave_the_flat_model() -> None:
    # Two usable neighbours are fewer than the model needs: the ratio is the flat one's.
    neighbours = [placed(200, 20, ("D", 1)), placed(205, 18, ("D", 2))]
    form = placed(20, 200, ("D", 3))
    model = Plausibility(form, neighbours, past_ballots=0.1)
    assert not model.shares
    assert not model.turnouts
    assert model.ratio(form) == 1.0


def test_shares_are_weighed_on_ballots_of_a_few_choices_only() -> None:
    # A party-list ballot's shares are not weighed; its turnout still is.
    def ballot(choices: int, number: int) -> Form:
        votes = {f"{i:03d}": (number + i) % 4 for i in range(1, choices + 1)}
        return Form(votes, {"suara_sah": sum(votes.values())}, 250, ("D", number))

    for choices, weighed in ((MAX_SHARE_CHOICES, True), (MAX_SHARE_CHOICES + 1, False)):
        form = ballot(choices, 1)
        model = Plausibility(form, [ballot(choices, n) for n in range(2, 8)], past_ballots=0.1)
        assert bool(model.shares) is weighed
        assert model.turnouts
