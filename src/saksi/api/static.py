"""The publication folder served as it is on disk, with caching headers: tiles, entry
bundles and photos never change once written, so they are immutable; the checkpoint,
the index and totals files are revalidated by ETag."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

__all__ = ["PublicFiles"]

IMMUTABLE = "public, max-age=31536000, immutable"


def _image_type(path: Any) -> str:
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(b"\x89PNG"):
        return "image/png"
    return "image/jpeg" if head.startswith(b"\xff\xd8") else "application/octet-stream"


class PublicFiles(StaticFiles):
    """One folder of public/, mounted at its own name (``prefix``, e.g. "log/")."""

    def __init__(self, public_dir: Path, prefix: str) -> None:
        super().__init__(directory=public_dir / prefix, check_dir=False)
        self.prefix = prefix

    def file_response(
        self, full_path: Any, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        relative = self.prefix + os.path.relpath(full_path, str(self.directory))
        # Full and partial tiles and bundles (a partial tile has its own name), and photos.
        tile = relative.startswith("log/tile/")
        photo = relative.startswith("photos/") and not relative.startswith("photos/list/")
        response.headers["Cache-Control"] = IMMUTABLE if tile or photo else "no-cache"
        if tile:
            response.headers["Content-Type"] = "application/octet-stream"
        elif photo:
            response.headers["Content-Type"] = _image_type(full_path)
        elif relative == "log/checkpoint":
            response.headers["Content-Type"] = "text/plain; charset=utf-8"
        return response
