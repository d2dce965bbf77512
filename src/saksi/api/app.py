"""The ASGI app: routes with their access rules, the election opened for the app's life."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute

from saksi.api.access import Access, check_guarded, guarded, guarded_mount
from saksi.api.admin import AdminRequests
from saksi.api.documents import Documents, prepare, totals_json
from saksi.api.errors import ApiError, exception_handlers
from saksi.api.forensics import ForensicsReports
from saksi.api.history import History
from saksi.api.ladder import LadderReads
from saksi.api.limits import BODY_SECONDS, RateLimiter
from saksi.api.openapi import openapi_document
from saksi.api.publishing import BackgroundPublication
from saksi.api.reads import Reads, respond
from saksi.api.static import PublicFiles
from saksi.api.submit import Submissions
from saksi.api.writer import Writer
from saksi.election.election import Election
from saksi.election.folder import ElectionFolder
from saksi.errors import SaksiError
from saksi.store.base import Store, open_store
from saksi.web.pages import Website

__all__ = ["Limits", "create_app", "routes"]

HOT_PATHS = ("/api/totals.json", "/.json", "/", "/api/results")


@dataclass(frozen=True)
class Limits:
    """Requests a second (and burst) per client address and per signing key."""

    per_address: float = 200.0
    address_burst: float = 400.0
    per_key: float = 2.0
    key_burst: float = 10.0
    body_seconds: float = BODY_SECONDS  # a request body must arrive within this


class _Api:
    """What the routes need, created when the app starts."""

    def __init__(self, election: Election, limits: Limits) -> None:
        self.election = election
        folder = election.folder
        url = folder.read_config()[1]

        def read_store() -> Store:
            return open_store(url, folder.sqlite_path, election.election_id)

        self.history = History(folder.root / "history.jsonl")
        election.publish_on_commit = False  # published off the writer's path instead
        self.writer = Writer(election, self._after_commit)
        self.publication = BackgroundPublication(self.writer, read_store, folder.read_cadence())
        self.documents = Documents(read_store, lambda: self.writer.size)
        self.forensics = ForensicsReports(
            (url, folder.sqlite_path, election.election_id), lambda: self.writer.size
        )
        self.reads = Reads(self.documents, self.writer)
        self.ladder = LadderReads(self.reads)
        self.submissions = Submissions(
            self.writer,
            RateLimiter(limits.per_address, limits.address_burst, "address"),
            RateLimiter(limits.per_key, limits.key_burst, "key"),
        )
        self.admin = AdminRequests(self.writer, self.publication)
        self.website = Website(
            self.documents, self.reads, self.writer, folder.root, self.history.of, self.forensics
        )
        self.openapi = prepare(orjson.dumps(openapi_document(election.election_id)), "json", 0)

    def _after_commit(self, election: Election) -> None:
        self.website.committed()
        self.history.maybe_record(election)
        self.publication.after_commit(election)

    def close(self) -> None:
        self.forensics.close()
        self.publication.close()
        self.writer.close()
        self.documents.close()


def routes(api: _Api, public_dir: Path) -> list[BaseRoute]:
    reads, submissions = api.reads, api.submissions

    async def openapi(request: Request) -> Response:
        return respond(request, api.openapi)

    async def index(request: Request) -> Response:
        path = public_dir / "index.json"
        if not path.exists():
            raise ApiError(404, "nothing is published yet: the election has no index.json")
        return FileResponse(path, headers={"Cache-Control": "no-cache"})

    async def history(request: Request) -> Response:
        contest = request.query_params.get("contest")
        source = request.query_params.get("source")
        try:  # the national totals name the contest and source, or say they do not exist
            national = await api.reads.documents.get(
                ("totals", "ID", contest, source, "json"), totals_json("ID", contest, source)
            )
        except SaksiError as exc:
            raise ApiError(404, str(exc)) from None
        head = orjson.loads(national.body)
        contest, source = head["contest"], head["source"]
        samples = api.history.of(str(contest), str(source))
        document = {"contest": contest, "source": source, "samples": samples}
        return Response(orjson.dumps(document), media_type="application/json")

    async def forensics(request: Request) -> Response:
        contest = request.query_params.get("contest")
        if contest is not None and (not contest or len(contest) > 64 or not contest.isprintable()):
            raise ApiError(400, "'contest' must be a contest id")
        try:
            report = await api.forensics.get(contest)
        except SaksiError as exc:
            raise ApiError(404, str(exc)) from None
        return respond(request, report)

    async def election(request: Request) -> Response:
        document = {"election_id": api.election.election_id, "log_size": api.writer.size}
        return Response(orjson.dumps(document), media_type="application/json")

    listed = [
        guarded("/openapi.json", openapi, Access.PUBLIC),
        guarded("/api/election.json", election, Access.PUBLIC),
        guarded("/api/totals.json", reads.national, Access.PUBLIC),
        guarded("/api/totals/{region}.json", reads.region_json, Access.PUBLIC),
        guarded("/api/totals/{region}.csv", reads.region_csv, Access.PUBLIC),
        guarded("/api/regions/{region}/children.json", reads.children, Access.PUBLIC),
        guarded("/api/tps/{tps_id}.json", reads.tps, Access.PUBLIC),
        guarded("/api/flags.json", reads.flags, Access.PUBLIC),
        guarded("/api/ladder/trail/{tps_id}.json", api.ladder.trail, Access.PUBLIC),
        guarded("/api/ladder/{region_id}.json", api.ladder.region, Access.PUBLIC),
        guarded("/api/history.json", history, Access.PUBLIC),
        guarded("/api/forensics.json", forensics, Access.PUBLIC),
        guarded("/api/results", submissions.result, Access.SIGNED_ENTRY, methods=["POST"]),
        guarded("/api/entries", submissions.entry, Access.SIGNED_ENTRY, methods=["POST"]),
        guarded("/api/photos", submissions.photo, Access.SUBMITTER, methods=["POST"]),
        guarded("/api/admin/publish", api.admin.publish, Access.ADMIN, methods=["POST"]),
        guarded("/api/admin/decisions", api.admin.decision, Access.ADMIN, methods=["POST"]),
        # The website: /, /region/{id}, /tps/{id}, /ladder/{id}, /ladder/trail/{tps_id},
        # /flags, /verify, /downloads (each also as .json and .csv) and its /static assets.
        *api.website.routes(),
        # Everything published: log/, index.json, totals/, flags/, photos/, exports/.
        guarded("/index.json", index, Access.PUBLIC),
        *(
            guarded_mount(f"/{name}", PublicFiles(public_dir, f"{name}/"), Access.PUBLIC)
            for name in ("log", "totals", "flags", "photos", "exports")
        ),
    ]

    # Starlette tries routes in order, about 1.5 µs each: the paths read most (totals, the
    # national page and its data) and the submissions go first. None of them overlaps
    # another route's pattern, so the order changes no answer.
    def rank(route: BaseRoute) -> int:
        path = getattr(route, "path", "")
        return HOT_PATHS.index(path) if path in HOT_PATHS else len(HOT_PATHS)

    return sorted(listed, key=rank)


def create_app(
    election_dir: Path, limits: Limits | None = None, *, extra: Sequence[BaseRoute] = ()
) -> Starlette:
    """The app for one election folder; ``extra`` routes are checked like the others."""
    folder = ElectionFolder(election_dir)
    state: dict[str, _Api] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        election = Election.open(election_dir)
        api = _Api(election, limits or Limits())
        state["api"] = api
        app.router.routes[:] = [*extra, *routes(api, folder.public_dir)]
        check_guarded(app.router.routes)
        try:
            yield
        finally:
            api.close()
            election.close()

    app = Starlette(
        routes=list(extra),
        lifespan=lifespan,
        exception_handlers=exception_handlers(),
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_methods=["GET", "HEAD"],
                expose_headers=["ETag", "Last-Modified"],
            )
        ],
    )
    app.state.body_seconds = (limits or Limits()).body_seconds
    check_guarded(app.router.routes)  # refuse unguarded extra routes before serving
    return app
