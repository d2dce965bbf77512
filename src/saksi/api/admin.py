"""Admin requests: signed by the admin key over the method, path, election, a nonce, the
time and the body's hash. A nonce is accepted once, within five minutes of its time, so
a captured request cannot be replayed. These are the only requests that need nonces:
every other write is a log entry that refuses its own replay."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from saksi.api.errors import ApiError
from saksi.api.limits import read_body
from saksi.api.publishing import BackgroundPublication
from saksi.api.signing import request_signing_input
from saksi.api.submit import b64_field
from saksi.api.writer import Writer
from saksi.canonical import CanonicalError, canonical_bytes
from saksi.errors import RejectedEntry
from saksi.keys.authority import Role
from saksi.log.entry import Auth, Entry, EntryType, payload_hash
from saksi.log.signature import signature_valid

__all__ = ["AdminRequests"]

WINDOW_SECONDS = 300
MAX_ADMIN_BODY = 256 * 1024


class AdminRequests:
    def __init__(self, writer: Writer, publication: BackgroundPublication) -> None:
        self.writer = writer
        self.publication = publication
        self.election_id = writer.election.election_id
        self._nonces: dict[str, float] = {}

    async def _authenticate(self, request: Request) -> bytes:
        headers = request.headers
        key, nonce = headers.get("saksi-key"), headers.get("saksi-nonce")
        when, signature = headers.get("saksi-time"), headers.get("saksi-signature")
        if not (key and nonce and when and signature):
            raise ApiError(
                401,
                "an admin request needs the Saksi-Key, Saksi-Nonce, Saksi-Time and "
                "Saksi-Signature headers",
            )
        if not when.isdigit() or abs(time.time() - int(when)) > WINDOW_SECONDS:
            raise ApiError(401, "Saksi-Time must be the Unix time, within five minutes of ours")
        if not 16 <= len(nonce) <= 128 or not nonce.isascii() or not nonce.isprintable():
            raise ApiError(400, "Saksi-Nonce must be 16 to 128 printable ASCII characters")
        body = await read_body(request, MAX_ADMIN_BODY)
        message = request_signing_input(
            request.method, request.url.path, self.election_id, nonce, when, body
        )
        try:
            raw_key, raw_signature = base64.b64decode(key), base64.b64decode(signature)
        except ValueError:
            raw_key = raw_signature = b""
        if not signature_valid(raw_key, raw_signature, message):
            raise ApiError(401, "the admin request's signature does not verify")
        who = await self.writer.call(lambda e: e.state.authority.keys.get(key))
        if who is None or who.role is not Role.ADMIN:
            raise ApiError(403, f"key {key[:12]}… is not this election's admin key")
        now = time.monotonic()
        self._nonces = {n: t for n, t in self._nonces.items() if now - t < 2 * WINDOW_SECONDS}
        if nonce in self._nonces:
            raise ApiError(409, "this admin request was received before (its nonce is used)")
        self._nonces[nonce] = now
        return body

    async def publish(self, request: Request) -> Response:
        """POST /api/admin/publish {"exports": bool}: publish now and sign a checkpoint."""
        body = await self._authenticate(request)
        try:
            options = json.loads(body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            options = None
        if not isinstance(options, dict) or not isinstance(options.get("exports", False), bool):
            raise ApiError(400, 'the body is {"exports": true or false}')
        exports = bool(options.get("exports", False))
        checkpoint = await asyncio.to_thread(self.publication.publish, exports=exports)
        document = {
            "size": checkpoint.size,
            "root": base64.b64encode(checkpoint.root).decode(),
            "origin": checkpoint.origin,
        }
        return Response(json.dumps(document), media_type="application/json")

    async def decision(self, request: Request) -> Response:
        """POST /api/admin/decisions {"payload": {...}, "sig": base64}: an official
        decision, its entry signed by the admin key that signs the request."""
        body = await self._authenticate(request)
        try:
            value: Any = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            value = None
        if not isinstance(value, dict) or set(value) != {"payload", "sig"}:
            raise ApiError(400, "a decision request holds exactly 'payload' and 'sig'")
        payload, sig = value["payload"], b64_field(value["sig"], 64, "sig")
        if not isinstance(payload, dict):
            raise ApiError(400, "'payload' must be an object")
        try:
            data = canonical_bytes(payload)
        except CanonicalError as exc:
            raise ApiError(422, f"the decision cannot be recorded: {exc}") from None
        key = request.headers["saksi-key"]
        kind = EntryType.DECISION
        digest = payload_hash(kind.value, self.election_id, data)
        entry = Entry(kind, self.election_id, payload, Auth(key, sig), data, digest)
        try:
            receipt = await self.writer.submit(entry)
        except RejectedEntry as exc:
            raise ApiError(422, str(exc)) from None
        document = {
            "leaf_index": receipt.leaf_index,
            "entry_hash": receipt.entry_hash,
            "payload_hash": receipt.payload_hash,
            "duplicate": receipt.duplicate,
            "status": "ok",
        }
        return Response(json.dumps(document), 201, media_type="application/json")
