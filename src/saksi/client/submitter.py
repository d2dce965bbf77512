"""Submit to a Saksi server as an enrolled device (or a key manager) would."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Sequence
from typing import Any

import httpx

from saksi.api.signing import photo_signing_input, request_signing_input
from saksi.canonical import canonical_bytes
from saksi.client.metadata import strip_metadata
from saksi.errors import SaksiError
from saksi.keys.ed25519 import SigningKey
from saksi.keys.enrolment import MAX_CODES_PER_ENTRY, code_digest, new_code
from saksi.log.entry import EntryType

__all__ = ["Client", "SubmissionRefused"]


class SubmissionRefused(SaksiError):
    """The server refused; ``status`` and ``code`` are its answer, the message its words."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


class Client:
    """One key's client. Many keys can share one ``http`` connection pool (and skip
    asking for the election id by passing ``election``); closing such a client leaves
    the shared pool open."""

    def __init__(
        self,
        base_url: str,
        key: SigningKey,
        *,
        timeout: float = 30.0,
        http: httpx.Client | None = None,
        election: str | None = None,
    ) -> None:
        self.base_url, self.key = base_url, key
        self._owns_http = http is None
        self.http = http or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self._election = election

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def election(self) -> str:
        if self._election is None:
            self._election = str(self._send("GET", "/api/election.json")["election_id"])
        return self._election

    def _send(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise SaksiError(f"cannot reach the Saksi server at {self.base_url}: {exc}") from exc
        return self._check(response)

    def _check(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 400:
            try:
                error = response.json()["errors"][0]
                code, message = str(error["code"]), str(error["message"])
            except (ValueError, KeyError, IndexError, TypeError):
                code, message = "error", response.text[:200]
            raise SubmissionRefused(response.status_code, code, message)
        value = response.json()
        assert isinstance(value, dict)
        return value

    def upload_photo(self, image: bytes) -> str:
        """Strip the photo's metadata, then upload it; returns the SHA-256 a form lists."""
        clean = strip_metadata(image)
        digest = hashlib.sha256(clean).hexdigest()
        signature = self.key.private.sign(photo_signing_input(self.election, digest))
        headers = {
            "Saksi-Key": self.key.public_b64,
            "Saksi-Signature": base64.b64encode(signature).decode(),
            "Content-Type": "image/png" if clean.startswith(b"\x89PNG") else "image/jpeg",
        }
        return str(self._send("POST", "/api/photos", content=clean, headers=headers)["sha256"])

    def submit_form(
        self,
        form: dict[str, Any],
        photos: Sequence[bytes] = (),
        replaces: str | None = None,
    ) -> dict[str, Any]:
        """Sign and submit a result form (a correction when ``replaces`` names the
        payload hash of the version it corrects); returns the receipt."""
        payload = dict(form)
        hashes = [self.upload_photo(p) for p in photos]
        if hashes:
            payload["photos"] = hashes
        if replaces is not None:
            payload["replaces"] = replaces
        auth = self.key.sign(EntryType.RESULT_FORM.value, self.election, canonical_bytes(payload))
        body = {"form": payload, "key": auth.key, "sig": auth.signature}
        return self._send("POST", "/api/results", json=body)

    def issue_codes(self, source: str, tps_ids: Sequence[str]) -> dict[str, str]:
        """As a source's key manager: a new one-time enrolment code for each TPS, recorded
        as digests only. Returns the codes, to hand to each TPS's officer."""
        codes = {t: new_code() for t in tps_ids}
        for first in range(0, len(tps_ids), MAX_CODES_PER_ENTRY):
            chunk = list(tps_ids[first : first + MAX_CODES_PER_ENTRY])
            digests = b"".join(code_digest(self.election, source, t, codes[t]) for t in chunk)
            payload = {"codes": base64.b64encode(digests).decode(), "source": source, "tps": chunk}
            self.record(EntryType.ENROLMENT_CODES, payload)
        return codes

    def enrol(self, source: str, tps: str, code: str) -> dict[str, Any]:
        """As a new device: register this client's key for ``tps`` with its code."""
        clean = code.replace("-", "").replace(" ", "").upper()
        payload = {"code": clean, "key": self.key.public_b64, "source": source, "tps": tps}
        return self.record(EntryType.ENROLMENT, payload)

    def _admin(self, path: str, body: bytes) -> dict[str, Any]:
        """An admin request: this client's key must be the election's admin key."""
        nonce, when = secrets.token_urlsafe(24), str(int(time.time()))
        message = request_signing_input("POST", path, self.election, nonce, when, body)
        headers = {
            "Saksi-Key": self.key.public_b64,
            "Saksi-Nonce": nonce,
            "Saksi-Time": when,
            "Saksi-Signature": base64.b64encode(self.key.private.sign(message)).decode(),
            "Content-Type": "application/json",
        }
        return self._send("POST", path, content=body, headers=headers)

    def publish(self, *, exports: bool = False) -> dict[str, Any]:
        """As the admin: publish now; returns the signed checkpoint's size and root."""
        return self._admin("/api/admin/publish", json.dumps({"exports": exports}).encode())

    def decide(self, payload: dict[str, Any]) -> dict[str, Any]:
        """As the admin: record an official decision."""
        auth = self.key.sign(EntryType.DECISION.value, self.election, canonical_bytes(payload))
        body = json.dumps({"payload": payload, "sig": auth.signature}).encode()
        return self._admin("/api/admin/decisions", body)

    def record(self, entry_type: EntryType, payload: dict[str, Any]) -> dict[str, Any]:
        """Sign and record an entry /api/entries takes."""
        auth = self.key.sign(entry_type.value, self.election, canonical_bytes(payload))
        body = {
            "type": entry_type.value,
            "payload": payload,
            "key": auth.key,
            "sig": auth.signature,
        }
        return self._send("POST", "/api/entries", json=body)
