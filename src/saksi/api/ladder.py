"""Ladder reads: a region's recap figures beside the sums from below, and the trail of one
choice's votes from a TPS up to the national figure (saksi.ladder.report), as prepared
documents like the other reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from saksi.api.documents import dumps
from saksi.api.errors import ApiError
from saksi.api.reads import Reads
from saksi.errors import SaksiError
from saksi.ladder.recap import FIGURES
from saksi.ladder.report import region_ladder, trail
from saksi.store.base import Store
from saksi.tally.query import default_contest

__all__ = ["LadderReads", "ladder_data", "trail_choice", "trail_data"]

Build = Callable[[Store], tuple[bytes, str]]


def _param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    if value is not None and (not value or len(value) > 64 or not value.isprintable()):
        raise ApiError(400, f"'{name}' must be an id of this election")
    return value


def trail_choice(store: Store, contest: str | None, choice: str | None) -> tuple[str, str]:
    """The contest and the figure a trail follows: a choice of the contest's ballot, or
    valid, invalid or voters; without one, the ballot's first choice."""
    contest_id = contest or default_contest(store)
    choices = [
        str(c)
        for (c,) in store.query(
            "SELECT id FROM choices WHERE contest = ? GROUP BY id ORDER BY MIN(position), id",
            (contest_id,),
        )
    ]
    if not choices:
        raise SaksiError(f"contest {contest_id} is not part of this election")
    if choice is None:
        return contest_id, choices[0]
    if choice not in choices and choice not in FIGURES:
        raise SaksiError(
            f"{choice} is not a choice of contest {contest_id}, nor valid, invalid or voters"
        )
    return contest_id, choice


def ladder_data(region: str, contest: str | None) -> tuple[tuple[Any, ...], Build]:
    """The cache key and build of a region's ladder document; the ladder page and its
    .csv are built from that same document."""
    return ("ladder", region, contest), lambda s: (dumps(region_ladder(s, region, contest)), "json")


def trail_data(
    tps_id: str, choice: str | None, contest: str | None
) -> tuple[tuple[Any, ...], Build]:
    def build(store: Store) -> tuple[bytes, str]:
        contest_id, figure = trail_choice(store, contest, choice)
        return dumps(trail(store, tps_id, figure, contest_id)), "json"

    return ("ladder-trail", tps_id, choice, contest), build


class LadderReads:
    def __init__(self, reads: Reads) -> None:
        self.reads = reads

    async def region(self, request: Request) -> Response:
        """GET /api/ladder/{region_id}.json?contest=…"""
        region = str(request.path_params["region_id"])
        return await self.reads.cached(request, *ladder_data(region, _param(request, "contest")))

    async def trail(self, request: Request) -> Response:
        """GET /api/ladder/trail/{tps_id}.json?choice=…&contest=…"""
        tps_id = str(request.path_params["tps_id"])
        choice, contest = _param(request, "choice"), _param(request, "contest")
        return await self.reads.cached(request, *trail_data(tps_id, choice, contest))
