"""Write endpoints: signed result forms, key registrations and revocations, photos, and
the recapitulation ladder's entries (recap forms, objections, recommendations and a
recap body's decisions)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from saksi.api.errors import ApiError
from saksi.api.limits import RateLimiter, read_body
from saksi.api.photos import MAX_PHOTO_BYTES, PhotoRefused, check_photo
from saksi.api.signing import photo_signing_input
from saksi.api.writer import Writer
from saksi.canonical import CanonicalError, canonical_bytes
from saksi.election.election import Election, Receipt
from saksi.errors import RejectedEntry
from saksi.keys.authority import Role
from saksi.log.entry import Auth, Entry, EntryType, canonical_b64, payload_hash
from saksi.log.signature import signature_valid

__all__ = ["Submissions", "b64_field"]

MAX_ENTRY_BODY = 256 * 1024  # a form or key list of up to 65,535 bytes, with room for JSON
_HEX64 = re.compile("[0-9a-f]{64}")
# Entry types /api/entries takes: each refuses its own replay (a key cannot be
# registered or revoked twice, a code is issued or used once). Forms go to /api/results.
_KEY_ENTRIES = {
    EntryType.KEYS_REGISTER,
    EntryType.KEYS_REVOKE,
    EntryType.ENROLMENT_CODES,
    EntryType.ENROLMENT,
}
# The ladder's entries (record-format.md 6.7, 6.11 to 6.13). The state machine refuses a
# recap form already in its chain and a second certification; for the rest, a payload
# already recorded is answered with its original receipt (see Submissions._recorded), so a
# replayed answer cannot bring back an objection's earlier status.
_LADDER_ENTRIES = {
    EntryType.RECAP_FORM,
    EntryType.OBJECTION,
    EntryType.RECOMMENDATION,
    EntryType.DECISION,
}
_ENTRIES = {t.value: t for t in (*sorted(_KEY_ENTRIES), *sorted(_LADDER_ENTRIES))}


def _json_object(body: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the {what} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ApiError(400, f"the {what} must be a JSON object")
    return value


def b64_field(value: Any, size: int, what: str) -> str:
    """``value`` if it is canonical base64 of ``size`` bytes, as the record holds it."""
    try:
        return canonical_b64(value, size, what)
    except CanonicalError:
        raise ApiError(400, f"'{what}' must be base64 of {size} bytes, in canonical form") from None


def _receipt(receipt: Receipt) -> Response:
    body = json.dumps({**asdict(receipt), "status": "duplicate" if receipt.duplicate else "ok"})
    return Response(body, 200 if receipt.duplicate else 201, media_type="application/json")


class Submissions:
    def __init__(self, writer: Writer, by_address: RateLimiter, by_key: RateLimiter) -> None:
        self.writer = writer
        self.election_id = writer.election.election_id
        self.by_address, self.by_key = by_address, by_key

    def _limit_address(self, request: Request) -> None:
        self.by_address.take(request.client.host if request.client else "unknown")

    def _limit_key(self, key: Any) -> None:
        if isinstance(key, str):
            self.by_key.take(key)

    def _entry(self, entry_type: EntryType, payload: Any, key: Any, sig: Any) -> Entry:
        if not isinstance(payload, dict):
            raise ApiError(400, f"the {entry_type.value} payload must be a JSON object")
        key, sig = b64_field(key, 32, "key"), b64_field(sig, 64, "sig")
        try:
            body = canonical_bytes(payload)
        except CanonicalError as exc:
            raise ApiError(422, f"the payload cannot be recorded: {exc}") from None
        digest = payload_hash(entry_type.value, self.election_id, body)
        return Entry(entry_type, self.election_id, payload, Auth(key, sig), body, digest)

    async def _record(self, entry: Entry) -> Response:
        try:
            receipt = await self.writer.submit(entry)
        except RejectedEntry as exc:
            raise ApiError(422, str(exc)) from None
        return _receipt(receipt)

    async def result(self, request: Request) -> Response:
        """POST /api/results: {"form": {...}, "key": base64, "sig": base64}."""
        self._limit_address(request)
        body = _json_object(await read_body(request, MAX_ENTRY_BODY), "submission")
        unknown = set(body) - {"form", "key", "sig"}
        if unknown:
            raise ApiError(400, f"a submission holds form, key and sig; not {sorted(unknown)}")
        self._limit_key(body.get("key"))
        entry = self._entry(
            EntryType.RESULT_FORM, body.get("form"), body.get("key"), body.get("sig")
        )
        photos = entry.payload.get("photos")
        if isinstance(photos, list):
            missing = _missing_photos(self.writer.election, photos)  # files, not state
            if missing:
                raise ApiError(
                    422,
                    f"photo {missing[0]} has not been uploaded; send it to /api/photos first",
                )
        return await self._record(entry)

    async def entry(self, request: Request) -> Response:
        """POST /api/entries: a signed key registration or revocation, enrolment codes
        issued by a key manager, or a device's enrolment with its code."""
        self._limit_address(request)
        body = _json_object(await read_body(request, MAX_ENTRY_BODY), "submission")
        unknown = set(body) - {"type", "payload", "key", "sig"}
        if unknown:
            raise ApiError(400, f"an entry holds type, payload, key and sig; not {sorted(unknown)}")
        kind = body.get("type")
        if not isinstance(kind, str) or kind not in _ENTRIES:
            names = ", ".join(sorted(_ENTRIES))
            raise ApiError(400, f"/api/entries takes {names} entries, not {kind!r}")
        self._limit_key(body.get("key"))
        entry = self._entry(_ENTRIES[kind], body.get("payload"), body.get("key"), body.get("sig"))
        if entry.type in _LADDER_ENTRIES:
            if entry.type is EntryType.DECISION:
                if not isinstance(entry.payload.get("kind"), str):
                    # The state machine looks the kind up in a set: a list would not hash.
                    raise ApiError(422, "a decision's kind must be a string, such as certify")
                await self._recap_body_only(entry.auth.key or "")
            earlier = await self.writer.call(lambda e: _recorded(e, entry.payload_hash.hex()))
            if earlier is not None:
                return _receipt(earlier)
        return await self._record(entry)

    async def _recap_body_only(self, key: str) -> None:
        """The admin's decisions go to /api/admin/decisions, whose nonce refuses a replay;
        here a recap body records its own region's certify and answer_objection."""
        who = await self.writer.call(lambda e: e.state.authority.keys.get(key))
        if who is not None and who.role is Role.ADMIN:
            raise ApiError(
                403,
                "the admin's decisions are sent to /api/admin/decisions as admin requests; "
                "/api/entries takes the decisions of a recap body",
            )

    async def photo(self, request: Request) -> Response:
        """POST /api/photos: the image bytes, with Saksi-Key and Saksi-Signature headers."""
        self._limit_address(request)
        key = request.headers.get("saksi-key")
        signature = request.headers.get("saksi-signature")
        if key is None or signature is None:
            raise ApiError(
                401,
                "a photo upload needs the Saksi-Key and Saksi-Signature headers (a registered "
                "submitter's signature over the photo's hash)",
            )
        key, signature = (
            b64_field(key, 32, "Saksi-Key"),
            b64_field(signature, 64, "Saksi-Signature"),
        )
        self._limit_key(key)
        data = await read_body(request, MAX_PHOTO_BYTES, "a form photo")
        digest = hashlib.sha256(data).hexdigest()
        message = photo_signing_input(self.election_id, digest)
        if not signature_valid(base64.b64decode(key), base64.b64decode(signature), message):
            raise ApiError(
                401,
                f"the Saksi-Signature does not verify: key {key[:12]}… must sign "
                f"saksi-photo-v1, election {self.election_id} and the photo's SHA-256 {digest}",
            )
        who = await self.writer.call(lambda e: e.state.authority.keys.get(key))
        if (
            who is None
            or who.revoked_seq is not None
            or who.role
            not in (
                Role.SUBMITTER,
                Role.IMPORTER,
            )
        ):
            raise ApiError(
                403, f"key {key[:12]}… is not an active submitter or importer in this election"
            )
        try:
            # Decoding up to 40 megapixels: on a thread, not on the event loop.
            media_type = await asyncio.to_thread(check_photo, data)
        except PhotoRefused as exc:
            raise ApiError(exc.status, str(exc)) from None
        # Its fsync must not hold up the writer thread's batches of submissions.
        stored = await asyncio.to_thread(self.writer.election.store_photo, data)
        return Response(
            json.dumps({"sha256": stored, "size": len(data), "media_type": media_type}),
            201,
            media_type="application/json",
        )


def _recorded(election: Election, digest: str) -> Receipt | None:
    """The receipt of a ladder entry or decision already recorded with this payload hash."""
    store = election.store
    found = store.query(
        "SELECT seq FROM ladder_entries WHERE payload_hash = ?", (digest,)
    ) or store.query("SELECT seq FROM decisions WHERE payload_hash = ?", (digest,))
    if not found:
        return None
    seq = int(found[0][0])
    return Receipt(seq, hashlib.sha256(election.record[seq]).hexdigest(), digest, True)


def _missing_photos(election: Election, photos: list[Any]) -> list[str]:
    hashes = [h for h in photos if isinstance(h, str) and _HEX64.fullmatch(h)]
    return [h for h in hashes if not election.folder.photo_path(h).exists()]
