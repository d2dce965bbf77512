"""The website's routes: every page as HTML, and its data at the same path with `.json`
or `.csv` appended. Pages are built on the reader thread and cached like the API's reads."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.staticfiles import StaticFiles

from saksi.api.access import Access, guarded, guarded_mount
from saksi.api.documents import Documents, dumps
from saksi.api.errors import ApiError
from saksi.api.forensics import ForensicsReports
from saksi.api.reads import Reads, respond
from saksi.api.writer import Writer
from saksi.errors import SaksiError
from saksi.forensics.html import region_plots
from saksi.store.base import Store
from saksi.web import geo
from saksi.web.i18n import LANGUAGES, format_count, words
from saksi.web.ladder_pages import LadderPages
from saksi.web.page_data import (
    MAX_FLAGS_SHOWN,
    flag_rows,
    flags_page,
    last_minute,
    region_page,
    region_rows,
    rows_csv,
    tally_pair,
    tps_rows,
)
from saksi.web.render import Renderer

__all__ = ["PAGES", "Website"]

# The website's pages (docs/website.md); each also serves its data as .json and .csv.
PAGES = (
    "/",
    "/region/{region_id}",
    "/tps/{tps_id}",
    "/ladder/{region_id}",
    "/ladder/trail/{tps_id}",
    "/flags",
    "/verify",
    "/downloads",
)

# Pages load only this origin's files; no inline script or style can run.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

# Words the pages' scripts need, beyond numbers.
_SCRIPT_WORDS = (
    "leader", "lead_by", "votes", "live_updated", "last_minute_none", "new_tps", "valid",
    "no_result",
    "verified", "not_verified", "cannot_verify", "verifying", "check_ok", "check_failed",
    "check_skipped", "not_in_checkpoint", "check_entry", "check_leaf", "check_inclusion",
    "check_checkpoint", "check_witness", "check_signature", "check_attestation", "check_key",
    "differs", "photo_zoom", "compare", "source", "choice", "leaf", "entries",
    "tps", "kind_official", "kind_party_witness", "kind_crowd", "kind_import",
)  # fmt: skip


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _share(figures: dict[str, Any], choice: str) -> float | None:
    valid = figures.get("valid")
    return figures["choices"].get(choice, 0) / valid if valid else None


def _reporting(figures: dict[str, Any]) -> float | None:
    total = figures.get("tps_total")
    return figures["tps_reported"] / total if total else None


class Website:
    """The pages of one election, served by the API's process."""

    def __init__(
        self,
        documents: Documents,
        reads: Reads,
        writer: Writer,
        election_dir: Path,
        samples: Callable[[str, str], list[dict[str, Any]]],
        forensics: ForensicsReports | None = None,
    ) -> None:
        self.documents, self.reads, self.writer = documents, reads, writer
        self.public_dir = election_dir / "public"
        self.samples = samples
        self.forensics = forensics
        self.renderer = Renderer()
        self.map = geo.load_map()
        record = election_dir / "record" / "entries"
        self.last_commit = record.stat().st_mtime if record.exists() else None
        self.ladder = LadderPages(self)

    def committed(self) -> None:
        """Called by the writer after each commit: the time of the last update."""
        self.last_commit = time.time()

    # -- shared ---------------------------------------------------------------------

    def _checkpoint(self) -> dict[str, Any] | None:
        path = self.public_dir / "log" / "checkpoint"
        try:
            text = path.read_text(encoding="utf-8")
            stamp = path.stat().st_mtime
        except OSError:
            return None
        lines = text.split("\n")
        size = int(lines[1]) if len(lines) > 1 and lines[1].isdigit() else None
        return {"size": size, "time": _iso(stamp), "text": text}

    def _live(self, page: dict[str, Any]) -> dict[str, Any]:
        """The figures that change without the record growing: times and checkpoint."""
        checkpoint = self._checkpoint()
        if checkpoint is not None:
            checkpoint = {"size": checkpoint["size"], "time": checkpoint["time"]}
        page["last_update"] = _iso(self.last_commit) if self.last_commit else None
        page["checkpoint"] = checkpoint
        if page["region"]["id"] == "ID":
            samples = self.samples(page["contest"], page["source"])
            page["last_minute"] = last_minute(page["totals"], samples, datetime.now(UTC))
        return page

    @staticmethod
    def _lang(request: Request) -> str:
        lang = request.query_params.get("lang", "id")
        return lang if lang in LANGUAGES else "id"

    @staticmethod
    def _param(request: Request, name: str) -> str | None:
        value = request.query_params.get(name) or None
        if value is not None and (len(value) > 64 or not value.isprintable()):
            raise ApiError(400, f"'{name}' must be an id of this election")
        return value

    async def _html(
        self, request: Request, key: tuple[Any, ...], build: Callable[[Store], bytes]
    ) -> Response:
        lang = self._lang(request)
        try:
            prepared = await self.documents.get((*key, lang), lambda s: (build(s), "html"))
        except (SaksiError, ApiError) as exc:
            return self._error(request, exc)
        return respond(request, prepared, SECURITY_HEADERS)

    def _error(self, request: Request, exc: Exception) -> Response:
        lang = self._lang(request)
        status = exc.status if isinstance(exc, ApiError) else 404
        body = self.renderer.render(
            "error.html",
            lang,
            dict(request.query_params),
            request.scope["path"],
            title=words(lang)["not_found" if status == 404 else "error"],
            message=str(exc.message if isinstance(exc, ApiError) else exc),
        )
        return Response(body, status, media_type="text/html", headers=SECURITY_HEADERS)

    def _script_words(self, lang: str) -> dict[str, str]:
        table = words(lang)
        return {"lang": lang, **{k: table[k] for k in _SCRIPT_WORDS}}

    # -- regions --------------------------------------------------------------------

    def _region_data(
        self, region: str, contest: str | None, source: str | None
    ) -> tuple[tuple[Any, ...], Callable[[Store], tuple[bytes, str]]]:
        """The cache key and build of a region page's .json: the page and its .csv are
        built from that same document."""
        key = ("page", "region", region, contest, source, "json")
        return key, lambda s: (dumps(self._live(region_page(s, region, contest, source))), "json")

    def _region_document(
        self, store: Store, region: str, contest: str | None, source: str | None
    ) -> dict[str, Any]:
        prepared = self.documents.within(store, *self._region_data(region, contest, source))
        document: dict[str, Any] = orjson.loads(prepared.body)
        return document

    async def region_json(self, request: Request) -> Response:
        region = str(request.path_params.get("region_id", "ID"))
        contest, source = self._param(request, "contest"), self._param(request, "source")
        return await self.reads.cached(request, *self._region_data(region, contest, source))

    async def region_csv(self, request: Request) -> Response:
        region = str(request.path_params.get("region_id", "ID"))
        contest, source = self._param(request, "contest"), self._param(request, "source")
        return await self.reads.cached(
            request,
            ("page", "region", region, contest, source, "csv"),
            lambda store: (
                rows_csv(region_rows(self._region_document(store, region, contest, source))),
                "csv",
            ),
        )

    async def region_html(self, request: Request) -> Response:
        region = str(request.path_params.get("region_id", "ID"))
        lang = self._lang(request)
        try:
            contest, source = self._param(request, "contest"), self._param(request, "source")
        except ApiError as exc:
            return self._error(request, exc)
        path = request.scope["path"]
        query = dict(request.query_params)

        def render(store: Store) -> bytes:
            page = self._region_document(store, region, contest, source)
            return self._render_region(store, page, lang, query, path)

        key = ("html", "region", path, region, contest, source)  # "/" and "/region/ID" differ
        return await self._html(request, key, render)

    def _render_region(
        self, store: Store, page: dict[str, Any], lang: str, query: dict[str, str], path: str
    ) -> bytes:
        w = words(lang)
        totals = page["totals"]
        names = {c["id"]: c["name"] for c in page["choice_names"]}
        ranked = sorted(totals["choices"].items(), key=lambda item: -item[1])
        leader_text = w["no_result"]
        if ranked and ranked[0][1] > 0:
            margin = ranked[0][1] - (ranked[1][1] if len(ranked) > 1 else 0)
            leader_text = (
                f"{w['leader']}: {ranked[0][0]} · {names.get(ranked[0][0], '')}, "
                f"{w['lead_by']} {format_count(margin, lang)} {w['votes'].lower()}"
            )
        map_svg, outside = None, []
        level = page["region"]["level"]
        if level in ("nasional", "provinsi"):
            provinces = [(str(i), str(n)) for i, n in store.query(
                "SELECT id, name FROM regions WHERE parent = 'ID' ORDER BY id"
            )]  # fmt: skip
            joined = geo.join(provinces)
            focus = joined.code_of(page["region"]["id"]) if level == "provinsi" else None
            if level == "nasional" or focus is not None:
                map_svg = geo.svg(joined, focus=focus, label=w["map_label"])
            if level == "nasional":
                unmatched = {rid for rid, _ in joined.unmatched}
                outside = [c for c in page["children"] if c["region"]["id"] in unmatched]
        last = page.get("last_minute")
        last_text = w["last_minute_none"]
        if last and last["log_size"] > 0:
            parts = [f"+{format_count(last['tps_reported'], lang)} {w['new_tps']}"]
            parts += [f"{c} +{format_count(v, lang)}" for c, v in last["choices"].items()]
            last_text = ", ".join(parts)
        contest_name = next(
            (c["name"] for c in page["contests"] if c["id"] == page["contest"]), page["contest"]
        )
        source_name = next(
            (s["name"] for s in page["sources"] if s["id"] == page["source"]), page["source"]
        )
        return self.renderer.render(
            "region.html",
            lang,
            query,
            path,
            page=page,
            crumbs=page["path"],
            crumbs_link_last=False,
            share=_share,
            reporting=_reporting,
            leader_text=leader_text,
            last_minute_text=last_text,
            contest_name=contest_name,
            source_name=source_name,
            map_svg=map_svg,
            map_outside=outside,
            map_attribution=self.map.attribution,
            script_words=self._script_words(lang),
        )

    # -- TPS ------------------------------------------------------------------------

    def _tps_document(self, store: Store, tps_id: str) -> dict[str, Any]:
        """The TPS document that /tps/{id}.json serves (before its proofs are added)."""
        prepared = self.documents.within(store, *self.reads.tps_data(tps_id))
        return {"page": "tps", **orjson.loads(prepared.body)}

    async def tps_csv(self, request: Request) -> Response:
        tps_id = str(request.path_params["tps_id"])
        return await self.reads.cached(
            request,
            ("page", "tps", tps_id, "csv"),
            lambda store: (rows_csv(tps_rows(self._tps_document(store, tps_id))), "csv"),
        )

    async def tps_html(self, request: Request) -> Response:
        tps_id = str(request.path_params["tps_id"])
        lang = self._lang(request)
        try:  # links carry them on: checked, and part of the cache key like a region's
            contest, source = self._param(request, "contest"), self._param(request, "source")
        except ApiError as exc:
            return self._error(request, exc)
        log = await self.reads.log_keys()
        path, query = request.scope["path"], dict(request.query_params)
        etag, read = self._forensics(None)

        def render(store: Store) -> bytes:
            found = read()
            forensic = found[1].get(tps_id, []) if found else []
            if contest or source:
                tally_pair(store, contest, source)
            page = self._tps_document(store, tps_id)
            listed = store.query("SELECT id, name, kind FROM sources ORDER BY id")
            sources = {s: n for s, n, _ in listed}
            photos = []
            for form in page["forms"]:
                for version in form["versions"]:
                    if not version["current"]:
                        continue
                    for number, digest in enumerate(version["photos"], start=1):
                        photos.append(
                            {
                                "url": f"/photos/{digest[:2]}/{digest}",
                                "page": number,
                                "contest": form["contest"],
                                "source_name": sources.get(form["source"], form["source"]),
                            }
                        )
            crumbs = [*page["regions"], {"id": "", "name": f"TPS {page['number']:03d}"}]
            return self.renderer.render(
                "tps.html",
                lang,
                query,
                path,
                page=page,
                crumbs=crumbs,
                crumbs_link_last=False,
                photos=photos,
                source_names=sources,
                sources=[{"id": s, "name": n, "kind": k} for s, n, k in listed],
                fingerprint=log["fingerprint"],
                script_words=self._script_words(lang),
                forensic=forensic,
            )

        key = ("html", "tps", tps_id, contest, source, etag)
        return await self._html(request, key, render)

    # -- flags ----------------------------------------------------------------------

    def _flags_params(
        self, request: Request
    ) -> tuple[str | None, str | None, str | None, str | None]:
        value = self._param
        return (
            value(request, "contest"),
            value(request, "source"),
            value(request, "rule"),
            value(request, "region"),
        )

    def _forensics(
        self, contest: str | None
    ) -> tuple[str, Callable[[], tuple[dict[str, Any], dict[str, list[Any]]] | None]]:
        """The ETag of the contest's last forensics report, for the cache keys of the
        pages built with it ("" while none is ready; asking for one), and how to read
        it: on the reader thread, when a page is built, not per request."""
        forensics = self.forensics
        prepared = forensics.peek(contest) if forensics is not None else None
        if forensics is None or prepared is None:
            return "", lambda: None
        return prepared.etag, lambda: forensics.parsed(prepared)

    def _report(
        self, read: Callable[[], tuple[dict[str, Any], dict[str, list[Any]]] | None]
    ) -> dict[str, Any] | None:
        found = read()
        return found[0] if found else None

    async def flags_json(self, request: Request) -> Response:
        params = self._flags_params(request)
        etag, read = self._forensics(params[0])
        return await self.reads.cached(
            request,
            ("page", "flags", *params, etag, "json"),
            lambda store: (dumps(flags_page(store, *params, self._report(read))), "json"),
        )

    async def flags_csv(self, request: Request) -> Response:
        params = self._flags_params(request)
        etag, read = self._forensics(params[0])
        return await self.reads.cached(
            request,
            ("page", "flags", *params, etag, "csv"),
            lambda store: (
                rows_csv(flag_rows(flags_page(store, *params, self._report(read)))),
                "csv",
            ),
        )

    async def flags_html(self, request: Request) -> Response:
        lang = self._lang(request)
        try:
            params = self._flags_params(request)
        except ApiError as exc:
            return self._error(request, exc)
        path, query = request.scope["path"], dict(request.query_params)
        etag, read = self._forensics(params[0])

        def render(store: Store) -> bytes:
            page = flags_page(store, *params, self._report(read))
            shown = page["flags"][:MAX_FLAGS_SHOWN]
            desa = sorted({f["desa"] for f in shown})
            names: dict[str, str] = {}
            for start in range(0, len(desa), 500):
                chunk = desa[start : start + 500]
                marks = ", ".join("?" for _ in chunk)
                names.update(
                    store.query(f"SELECT id, name FROM regions WHERE id IN ({marks})", tuple(chunk))
                )
            regions = [{"id": "ID", "name": words(lang)["all"]}] + [
                {"id": i, "name": n}
                for i, n in store.query(
                    "SELECT id, name FROM regions WHERE parent = 'ID' ORDER BY name"
                )
            ]
            if page["region"] not in {r["id"] for r in regions}:
                found = store.query("SELECT name FROM regions WHERE id = ?", (page["region"],))
                regions.append({"id": page["region"], "name": found[0][0] if found else ""})
            return self.renderer.render(
                "flags.html",
                lang,
                query,
                path,
                page=page,
                shown=shown,
                desa_names=names,
                regions=regions,
                plots=lambda detail: Markup(region_plots(detail)),
            )

        return await self._html(request, ("html", "flags", *params, etag), render)

    # -- verify and downloads -------------------------------------------------------

    async def _verify_document(self, request: Request) -> dict[str, Any]:
        log = await self.reads.log_keys()
        checkpoint = self._checkpoint()
        base = f"{request.url.scheme}://{request.url.netloc}/"
        return {"page": "verify", **log, "url": base, "checkpoint": checkpoint}

    async def verify_json(self, request: Request) -> Response:
        return Response(
            orjson.dumps(await self._verify_document(request)), media_type="application/json"
        )

    async def verify_csv(self, request: Request) -> Response:
        document = await self._verify_document(request)
        rows = [
            {"item": "origin", "value": document["origin"]},
            {"item": "vkey", "value": document["vkey"]},
            {"item": "fingerprint", "value": document["fingerprint"]},
            *({"item": "witness", "value": v} for v in document["witnesses"]),
        ]
        return Response(rows_csv(rows), media_type="text/csv; charset=utf-8")

    async def verify_html(self, request: Request) -> Response:
        lang = self._lang(request)
        document = await self._verify_document(request)
        body = self.renderer.render(
            "verify.html", lang, dict(request.query_params), request.scope["path"], page=document
        )
        return Response(body, media_type="text/html", headers=SECURITY_HEADERS)

    def _downloads_document(self) -> dict[str, Any]:
        files: list[dict[str, Any]] = []

        def add(relative: str, about: str) -> None:
            path = self.public_dir / relative
            size = path.stat().st_size if path.is_file() else None
            files.append({"path": "/" + relative, "bytes": size, "about": about})

        add("index.json", "every published file with its SHA-256")
        add("log/checkpoint", "the signed checkpoint of the log (C2SP tlog-tiles)")
        exports = self.public_dir / "exports"
        for path in sorted(exports.rglob("*")) if exports.is_dir() else []:
            if path.is_file():
                relative = path.relative_to(self.public_dir).as_posix()
                add(relative, "open-data export")
        return {"page": "downloads", "files": files}

    async def downloads_json(self, request: Request) -> Response:
        return Response(orjson.dumps(self._downloads_document()), media_type="application/json")

    async def downloads_csv(self, request: Request) -> Response:
        rows = self._downloads_document()["files"]
        return Response(rows_csv(rows), media_type="text/csv; charset=utf-8")

    async def downloads_html(self, request: Request) -> Response:
        lang = self._lang(request)
        body = self.renderer.render(
            "downloads.html",
            lang,
            dict(request.query_params),
            request.scope["path"],
            page=self._downloads_document(),
        )
        return Response(body, media_type="text/html", headers=SECURITY_HEADERS)

    # -- routes ---------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        """Each page, then its data at the same path with .json or .csv appended (data
        routes first: ``/region/31.json`` must not be read as region ``31.json``)."""
        handlers = {
            "/": (self.region_html, self.region_json, self.region_csv),
            "/region/{region_id}": (self.region_html, self.region_json, self.region_csv),
            "/tps/{tps_id}": (self.tps_html, self.reads.tps, self.tps_csv),
            "/flags": (self.flags_html, self.flags_json, self.flags_csv),
            "/verify": (self.verify_html, self.verify_json, self.verify_csv),
            "/downloads": (self.downloads_html, self.downloads_json, self.downloads_csv),
            **self.ladder.handlers(),
        }
        out: list[BaseRoute] = []
        for path in PAGES:
            html, json_data, csv_data = handlers[path]
            out.append(guarded(path + ".json", json_data, Access.PUBLIC))
            out.append(guarded(path + ".csv", csv_data, Access.PUBLIC))
            out.append(guarded(path, html, Access.PUBLIC))
        assets = StaticFiles(packages=[("saksi.web", "static")])
        return [*out, guarded_mount("/static", assets, Access.PUBLIC)]
