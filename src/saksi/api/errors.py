"""Errors as {"errors": [{"code", "message"}]} with the right status; never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["ApiError", "error_response", "exception_handlers"]

log = logging.getLogger("saksi.api")

_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "timeout",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "rejected",
    429: "rate_limited",
    503: "unavailable",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _CODES.get(status, "error")


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    body = orjson.dumps({"errors": [{"code": code, "message": message}]})
    return Response(body, status, headers=headers, media_type="application/json")


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    headers = {"Retry-After": "1"} if exc.status == 429 else None
    return error_response(exc.status, exc.code, exc.message, headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: f"nothing is published at {request.url.path}"}.get(
        exc.status_code, str(exc.detail)
    )
    if exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    code = _CODES.get(exc.status_code, "error")
    return error_response(exc.status_code, code, message, exc.headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("internal error on %s %s", request.method, request.url.path)
    return error_response(500, "internal", "the server failed on this request")


def exception_handlers() -> dict[Any, Any]:
    return {ApiError: _api_error, HTTPException: _http_error, Exception: _unexpected}
