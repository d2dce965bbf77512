"""What a client signs for the requests that are not log entries (docs/api.md): a photo
upload, and an admin request. Shared by the server and the client library, and free of
the web framework."""

from __future__ import annotations

import hashlib

__all__ = ["PHOTO_DOMAIN", "REQUEST_DOMAIN", "photo_signing_input", "request_signing_input"]

PHOTO_DOMAIN = b"saksi-photo-v1\n"
REQUEST_DOMAIN = b"saksi-request-v1\n"


def photo_signing_input(election: str, digest_hex: str) -> bytes:
    """What a submitter signs to upload a photo: it names the election and the photo."""
    return PHOTO_DOMAIN + election.encode() + b"\n" + digest_hex.encode()


def request_signing_input(
    method: str, path: str, election: str, nonce: str, when: str, body: bytes
) -> bytes:
    """What the admin signs for a request: method, path, election, nonce, time, body."""
    fields = (method, path, election, nonce, when, hashlib.sha256(body).hexdigest())
    return REQUEST_DOMAIN + "\n".join(fields).encode()
