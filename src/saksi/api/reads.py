"""Public read endpoints: totals (JSON and CSV), a region's children, one TPS, flags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from saksi.api.documents import (
    Documents,
    Prepared,
    children_document,
    dumps,
    totals_csv,
    totals_json,
    tps_document,
)
from saksi.api.errors import ApiError
from saksi.api.evidence import log_document, tps_evidence
from saksi.api.writer import Writer
from saksi.errors import SaksiError
from saksi.store.base import Store
from saksi.tally.query import default_contest, default_source

__all__ = ["Reads"]

_MEDIA = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


def respond(request: Request, prepared: Prepared, extra: dict[str, str] | None = None) -> Response:
    headers = {
        "ETag": prepared.etag,
        "Last-Modified": prepared.last_modified,
        "Cache-Control": "no-cache",
        **(extra or {}),
    }
    if request.headers.get("if-none-match") == prepared.etag:
        return Response(status_code=304, headers=headers)
    return Response(prepared.body, headers=headers, media_type=_MEDIA[prepared.media_type])


def _choice(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    if value is not None and (not value or len(value) > 64 or not value.isprintable()):
        raise ApiError(400, f"'{name}' must be a contest or source id")
    return value


class Reads:
    def __init__(self, documents: Documents, writer: Writer) -> None:
        self.documents = documents
        self.writer = writer
        self._log: dict[str, Any] | None = None

    async def cached(
        self, request: Request, key: tuple[Any, ...], build: Callable[[Store], tuple[bytes, str]]
    ) -> Response:
        """The prepared document under ``key`` (built by ``build`` when stale); an
        unknown region, TPS, contest or source is a 404."""
        try:
            prepared = await self.documents.get(key, build)
        except SaksiError as exc:
            raise ApiError(404, str(exc)) from None
        return respond(request, prepared)

    async def national(self, request: Request) -> Response:
        """GET /api/totals.json"""
        contest, source = _choice(request, "contest"), _choice(request, "source")
        return await self.cached(
            request, ("totals", "ID", contest, source, "json"), totals_json("ID", contest, source)
        )

    async def region_json(self, request: Request) -> Response:
        """GET /api/totals/{region}.json"""
        region = str(request.path_params["region"])
        contest, source = _choice(request, "contest"), _choice(request, "source")
        return await self.cached(
            request,
            ("totals", region, contest, source, "json"),
            totals_json(region, contest, source),
        )

    async def region_csv(self, request: Request) -> Response:
        """GET /api/totals/{region}.csv"""
        region = str(request.path_params["region"])
        contest, source = _choice(request, "contest"), _choice(request, "source")
        return await self.cached(
            request, ("totals", region, contest, source, "csv"), totals_csv(region, contest, source)
        )

    async def children(self, request: Request) -> Response:
        """GET /api/regions/{region}/children.json"""
        region = str(request.path_params["region"])
        contest, source = _choice(request, "contest"), _choice(request, "source")

        def build(store: Store) -> tuple[bytes, str]:
            c = contest or default_contest(store)
            s = source or default_source(store)
            return dumps(children_document(store, region, c, s)), "json"

        return await self.cached(request, ("children", region, contest, source), build)

    async def flags(self, request: Request) -> Response:
        """GET /api/flags.json: every current form that breaks a consistency rule."""
        contest, source = _choice(request, "contest"), _choice(request, "source")

        def build(store: Store) -> tuple[bytes, str]:
            c = contest or default_contest(store)
            s = source or default_source(store)
            if not store.query(
                "SELECT 1 FROM tally_layouts WHERE contest = ? AND source = ?", (c, s)
            ):
                raise SaksiError(f"no tally is kept for contest {c} and source {s}")
            rows = store.query(
                "SELECT tps, seq, flags FROM forms WHERE contest = ? AND source = ? "
                "AND is_current = 1 AND flags <> '' ORDER BY tps",
                (c, s),
            )
            items = [{"tps_id": t, "leaf_index": q, "rules": f.split(",")} for t, q, f in rows]
            document = {"contest": c, "source": s, "log_size": store.log_size(), "flags": items}
            return dumps(document), "json"

        return await self.cached(request, ("flags", contest, source), build)

    @staticmethod
    def tps_data(tps_id: str) -> tuple[tuple[Any, ...], Callable[[Store], tuple[bytes, str]]]:
        """The cache key and build of a TPS document (without proofs): the TPS page and
        its .csv are built from that same document."""
        return ("tps", tps_id), lambda store: (dumps(tps_document(store, tps_id)), "json")

    async def log_keys(self) -> dict[str, Any]:
        """The log's origin, key, fingerprint and witnesses, read once (they are fixed
        while the server runs)."""
        if self._log is None:
            self._log = await self.writer.call(log_document)
        return self._log

    async def tps(self, request: Request) -> Response:
        """GET /api/tps/{tps_id}.json: every source's versions; the current ones with
        inclusion proofs and the receipts of who vouches for them, and the log's keys."""
        tps_id = str(request.path_params["tps_id"])
        try:
            prepared = await self.documents.get(*self.tps_data(tps_id))
        except SaksiError as exc:
            raise ApiError(404, str(exc)) from None
        document = orjson.loads(prepared.body)
        current = [
            (v["leaf_index"], v["signer"], v["attestation_leaf"])
            for f in document["forms"]
            for v in f["versions"]
            if v["current"]
        ]
        # The receipts come from the writer thread in one call, so every one is against
        # the same published checkpoint (see evidence.py).
        evidence = await self.writer.call(lambda e: tps_evidence(e, current))
        document["log"] = await self.log_keys()
        for form in document["forms"]:
            for version in form["versions"]:
                if version["current"]:
                    version.update(evidence[version["leaf_index"]])
        return Response(dumps(document), media_type="application/json")
