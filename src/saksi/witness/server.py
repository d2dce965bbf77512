"""The witness's HTTP interface: POST /add-checkpoint (tlog-witness), on Starlette."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from saksi.witness.core import Witness
from saksi.witness.folder import load_witness

__all__ = ["MAX_BODY", "create_app", "make_app"]

MAX_BODY = 64 * 1024  # a checkpoint, 63 proof lines and a few dozen signatures fit easily


def make_app(witness: Witness) -> Starlette:
    async def add_checkpoint(request: Request) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return Response("request too large\n", status_code=413)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return Response("request too large\n", status_code=413)
        reply = witness.add_checkpoint(body)
        return Response(reply.body, status_code=reply.status, media_type=reply.content_type)

    return Starlette(routes=[Route("/add-checkpoint", add_checkpoint, methods=["POST"])])


def create_app() -> Starlette:
    """Factory for the ASGI server: the witness folder comes from SAKSI_WITNESS_DIR."""
    return make_app(load_witness(Path(os.environ["SAKSI_WITNESS_DIR"])))
