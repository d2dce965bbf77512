"""`saksi serve`: the app on granian, the production ASGI server the benchmark chose.

One worker process: it is the election's only writer. Reads are prepared bytes, and the
publication folder is plain files any web server or CDN can also serve.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from starlette.applications import Starlette

from saksi.api.app import Limits

__all__ = ["app_from_environment", "serve"]

_ELECTION = "SAKSI_SERVE_ELECTION"
_LIMITS = "SAKSI_SERVE_LIMITS"


def app_from_environment() -> Starlette:
    from saksi.api.app import Limits, create_app

    limits = Limits(**json.loads(os.environ.get(_LIMITS, "{}")))
    return create_app(Path(os.environ[_ELECTION]), limits)


def serve(election_dir: Path, host: str, port: int, limits: Limits | None = None) -> None:
    from granian import Granian
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings

    from saksi.api.limits import HEADER_SECONDS

    os.environ[_ELECTION] = str(election_dir.resolve())
    os.environ[_LIMITS] = json.dumps(asdict(limits or Limits()))
    Granian(
        "saksi.api.server:app_from_environment",
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=1,
        factory=True,
        log_access=False,
        http1_settings=HTTP1Settings(header_read_timeout=HEADER_SECONDS * 1000),
    ).serve()
