"""The ladder's pages: /ladder/{region_id}, a region's recap rows beside the sums from
below with its objections and decisions, and /ladder/trail/{tps_id}, one choice's votes
from a TPS up to the national figure; each also as .json and .csv."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from saksi.api.documents import dumps
from saksi.api.errors import ApiError
from saksi.store.base import Store
from saksi.web.i18n import format_count
from saksi.web.ladder_data import ladder_page, ladder_rows, trail_page, trail_rows
from saksi.web.page_data import rows_csv

if TYPE_CHECKING:
    from saksi.web.pages import Website

__all__ = ["LadderPages", "signed"]


def signed(amount: int | None, lang: str) -> str:
    """A change with its sign and arrow, so it does not rest on colour: ▲ +25, ▼ −3."""
    if amount is None:
        return "–"
    if amount == 0:
        return "0"
    arrow, sign = ("▲", "+") if amount > 0 else ("▼", "−")
    return f"{arrow} {sign}{format_count(abs(amount), lang)}"


class LadderPages:
    def __init__(self, website: Website) -> None:
        self.site = website

    # -- a region's ladder -------------------------------------------------------------

    def _ladder(self, region: str, contest: str | None) -> tuple[tuple[Any, ...], Any]:
        documents = self.site.documents

        def build(store: Store) -> tuple[bytes, str]:
            return dumps(ladder_page(store, documents, region, contest)), "json"

        return ("page", "ladder", region, contest, "json"), build

    async def ladder_json(self, request: Request) -> Response:
        region = str(request.path_params["region_id"])
        contest = self.site._param(request, "contest")
        return await self.site.reads.cached(request, *self._ladder(region, contest))

    async def ladder_csv(self, request: Request) -> Response:
        region = str(request.path_params["region_id"])
        contest = self.site._param(request, "contest")
        documents = self.site.documents

        def build(store: Store) -> tuple[bytes, str]:
            page = ladder_page(store, documents, region, contest)
            return rows_csv(ladder_rows(page), last=("differences",)), "csv"

        return await self.site.reads.cached(
            request, ("page", "ladder", region, contest, "csv"), build
        )

    async def ladder_html(self, request: Request) -> Response:
        region = str(request.path_params["region_id"])
        lang = self.site._lang(request)
        try:
            contest, source = (
                self.site._param(request, "contest"),
                self.site._param(request, "source"),
            )
        except ApiError as exc:
            return self.site._error(request, exc)
        path, query = request.scope["path"], dict(request.query_params)
        documents = self.site.documents

        def render(store: Store) -> bytes:
            page = ladder_page(store, documents, region, contest)
            by_row: dict[str, dict[str, list[dict[str, Any]]]] = {}
            for item in page["rows"]:
                mine = by_row.setdefault(item["region"]["id"], {})
                for difference in item["differences"]:
                    mine.setdefault(difference["figure"], []).append(difference)
            mine_region: dict[str, list[dict[str, Any]]] = {}
            for difference in page["region_differences"]:
                mine_region.setdefault(difference["figure"], []).append(difference)
            row_names = {item["region"]["id"]: item["region"]["name"] for item in page["rows"]}
            return self.site.renderer.render(
                "ladder.html",
                lang,
                query,
                path,
                page=page,
                crumbs=page["path"],
                crumbs_link_last=False,
                crumb_base="/ladder/",
                figures=[c["id"] for c in page["choice_names"]] + ["valid", "invalid", "voters"],
                source_names={s["id"]: s["name"] for s in page["sources"]},
                row_differences=by_row,
                region_differences=mine_region,
                row_names=row_names,
                signed=lambda amount: signed(amount, lang),
            )

        key = ("html", "ladder", region, contest, source)  # links carry source on
        return await self.site._html(request, key, render)

    # -- the trail of one choice -------------------------------------------------------

    def _trail_params(self, request: Request) -> tuple[str, str | None, str | None]:
        tps_id = str(request.path_params["tps_id"])
        return tps_id, self.site._param(request, "choice"), self.site._param(request, "contest")

    async def trail_json(self, request: Request) -> Response:
        tps_id, choice, contest = self._trail_params(request)
        documents = self.site.documents

        def build(store: Store) -> tuple[bytes, str]:
            return dumps(trail_page(store, documents, tps_id, choice, contest)), "json"

        return await self.site.reads.cached(
            request, ("page", "trail", tps_id, choice, contest, "json"), build
        )

    async def trail_csv(self, request: Request) -> Response:
        tps_id, choice, contest = self._trail_params(request)
        documents = self.site.documents

        def build(store: Store) -> tuple[bytes, str]:
            page = trail_page(store, documents, tps_id, choice, contest)
            return rows_csv(trail_rows(page), last=()), "csv"

        return await self.site.reads.cached(
            request, ("page", "trail", tps_id, choice, contest, "csv"), build
        )

    async def trail_html(self, request: Request) -> Response:
        lang = self.site._lang(request)
        try:
            tps_id, choice, contest = self._trail_params(request)
            source = self.site._param(request, "source")
        except ApiError as exc:
            return self.site._error(request, exc)
        path, query = request.scope["path"], dict(request.query_params)
        documents = self.site.documents

        def render(store: Store) -> bytes:
            page = trail_page(store, documents, tps_id, choice, contest)
            crumbs = [*page["regions"], {"id": "", "name": f"TPS {page['number'] or 0:03d}"}]
            changed = [s for s in page["steps"] if s["change"]]
            return self.site.renderer.render(
                "trail.html",
                lang,
                query,
                path,
                page=page,
                crumbs=crumbs,
                crumbs_link_last=False,
                crumb_base="/ladder/",
                changed=changed,
                signed=lambda amount: signed(amount, lang),
            )

        key = ("html", "trail", tps_id, choice, contest, source)  # links carry source on
        return await self.site._html(request, key, render)

    def handlers(self) -> dict[str, tuple[Any, Any, Any]]:
        return {
            "/ladder/{region_id}": (self.ladder_html, self.ladder_json, self.ladder_csv),
            "/ladder/trail/{tps_id}": (self.trail_html, self.trail_json, self.trail_csv),
        }
