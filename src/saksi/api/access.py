"""Every route states who may call it; the app refuses to start with a route that does not.

Write routes take signed log entries: the state machine decides whether the entry's key
may record it (a submitter for its own TPS and source, a manager for its own source's
keys, the admin for the rest), so the route's rule names the roles it accepts and the
server never holds a password.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Any

from starlette.routing import BaseRoute, Mount, Route

__all__ = ["Access", "UnguardedRoute", "check_guarded", "guarded"]


class Access(enum.Enum):
    PUBLIC = "public"  # read only, anyone
    SIGNED_ENTRY = "signed-entry"  # the body is an entry signed by a registered key
    SUBMITTER = "submitter"  # a request signed by a registered submitter or importer key
    ADMIN = "admin"  # a request signed by the admin key, with a fresh nonce


class UnguardedRoute(RuntimeError):
    """A route without an access rule: the server must not start."""


_ACCESS = "saksi_access"


def guarded(
    path: str,
    endpoint: Callable[..., Any],
    access: Access,
    *,
    methods: Sequence[str] = ("GET",),
    name: str | None = None,
) -> Route:
    route = Route(path, endpoint, methods=list(methods), name=name)
    setattr(route, _ACCESS, access)
    return route


def guarded_mount(path: str, app: Any, access: Access, *, name: str | None = None) -> Mount:
    mount = Mount(path, app=app, name=name)
    setattr(mount, _ACCESS, access)
    return mount


def access_of(route: BaseRoute) -> Access | None:
    found = getattr(route, _ACCESS, None)
    return found if isinstance(found, Access) else None


def check_guarded(routes: Sequence[BaseRoute]) -> None:
    """Raise UnguardedRoute naming every route that lacks an access rule."""
    missing = [getattr(r, "path", repr(r)) for r in routes if access_of(r) is None]
    if missing:
        raise UnguardedRoute(
            f"route(s) {', '.join(missing)} declare no access rule; the API will not start"
        )
